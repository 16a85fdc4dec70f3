//! Key naming and the listing cursor.
//!
//! Every key of queue `q` carries the hash tag `{ls:q}` (or `{<ns>:ls:q}` with a namespace), so
//! all of a queue's keys live in one Redis Cluster slot and each Lua script touches one slot.
//! Scripts build job keys from the prefix they are given (`{ls:q}:job:` + id); that is safe in
//! a cluster because the tag, not the declared key list, decides the slot.

use std::borrow::Cow;

/// The names of one queue's keys.
#[derive(Debug, Clone)]
pub(super) struct QueueKeys {
    tag: String,
}

impl QueueKeys {
    /// Keys of `queue` under `namespace` (empty: no namespace).
    pub(super) fn new(namespace: &str, queue: &str) -> Self {
        let tag = if namespace.is_empty() {
            format!("{{ls:{}}}", escape(queue))
        } else {
            format!("{{{}:ls:{}}}", escape(namespace), escape(queue))
        };
        QueueKeys { tag }
    }

    /// `{tag}:job:`, to which a job id is appended (scripts do the same).
    pub(super) fn job_prefix(&self) -> String {
        format!("{}:job:", self.tag)
    }

    /// The hash holding one job.
    pub(super) fn job(&self, id: &str) -> String {
        format!("{}:job:{id}", self.tag)
    }

    /// The list of ready ids of versions before fair dequeue (one list for every tenant):
    /// nothing new goes there, fetch drains what an older process left in it.
    pub(super) fn ready(&self) -> String {
        format!("{}:ready", self.tag)
    }

    /// `{tag}:rq:`, to which a tenant id is appended: that tenant's list of ready ids
    /// (producers LPUSH, fetch RPOPs: FIFO per tenant). Scripts build it the same way.
    pub(super) fn tenant_ready_prefix(&self) -> String {
        format!("{}:rq:", self.tag)
    }

    /// One tenant's list of ready ids (see [`Self::tenant_ready_prefix`]).
    pub(super) fn tenant_ready(&self, tenant: &str) -> String {
        format!("{}:rq:{tenant}", self.tag)
    }

    /// The ring of tenants whose ready list is not empty: fetch takes the tail, serves it one
    /// job and puts it back at the head (`RPOPLPUSH`), so tenants take turns. A tenant joins
    /// when its list goes from empty to one, and leaves when fetch empties it.
    pub(super) fn turns(&self) -> String {
        format!("{}:turns", self.tag)
    }

    /// Hash of tenant → how many of its jobs are running, for the per-tenant cap.
    pub(super) fn running(&self) -> String {
        format!("{}:running", self.tag)
    }

    /// Sorted set of scheduled and retrying ids, scored by `run_at`.
    pub(super) fn delayed(&self) -> String {
        format!("{}:delayed", self.tag)
    }

    /// Sorted set of running ids, scored by lease expiry.
    pub(super) fn leased(&self) -> String {
        format!("{}:leased", self.tag)
    }

    /// Sorted set of finished ids, scored by the time their retention ends.
    pub(super) fn expire(&self) -> String {
        format!("{}:expire", self.tag)
    }

    /// `{tag}:idx:`, to which a tenant id is appended (the purge script does the same).
    pub(super) fn index_prefix(&self) -> String {
        format!("{}:idx:", self.tag)
    }

    /// A tenant's listing index: a sorted set, all scores 0, members from [`index_member`].
    pub(super) fn index(&self, tenant: &str) -> String {
        format!("{}:idx:{tenant}", self.tag)
    }
}

/// Keeps braces out of the tag (and the escape itself unambiguous), so a queue name can never
/// move a key into another queue's slot or collide with another queue's keys.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '{', '}']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace('%', "%25")
            .replace('{', "%7B")
            .replace('}', "%7D"),
    )
}

/// Digits of the zero-padded creation time in an index member (good until the year 2286).
const MS_DIGITS: usize = 13;

/// The index member of a job: `<created_at ms, 13 digits>:<id>`.
///
/// All members share score 0, so the set orders them lexicographically: by creation time, ties
/// broken by id. That total order lets a cursor be an exact position (ZREVRANGEBYLEX from
/// `(member`), with no duplicates or gaps even when many jobs share a millisecond. The purge
/// script rebuilds the same string from the stored `ca` field.
pub(super) fn index_member(created_at: i64, id: &str) -> String {
    format!("{:0width$}:{id}", created_at.max(0), width = MS_DIGITS)
}

/// The cursor for the position after `member`: the member itself, checked on the way back in.
pub(super) fn encode_cursor(member: &str) -> String {
    member.to_owned()
}

/// The index member a client's cursor points after, if the cursor is well formed.
pub fn decode_cursor(cursor: &str) -> Option<&str> {
    let (ms, id) = cursor.split_once(':')?;
    let ms_ok = ms.len() >= MS_DIGITS && ms.bytes().all(|b| b.is_ascii_digit());
    let id_ok = !id.is_empty()
        && id.len() <= 120
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (ms_ok && id_ok).then_some(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_queue_shares_its_hash_tag() {
        let k = QueueKeys::new("", "email");
        for key in [
            k.job("job_1"),
            k.ready(),
            k.tenant_ready("ten_1"),
            k.turns(),
            k.running(),
            k.delayed(),
            k.leased(),
            k.expire(),
            k.index("ten_1"),
        ] {
            assert!(key.starts_with("{ls:email}:"), "{key}");
        }
        assert_eq!(k.job("job_1"), format!("{}job_1", k.job_prefix()));
        assert_eq!(k.index("ten_1"), format!("{}ten_1", k.index_prefix()));
    }

    #[test]
    fn the_namespace_goes_inside_the_braces() {
        let k = QueueKeys::new("t123", "email");
        assert_eq!(k.ready(), "{t123:ls:email}:ready");
    }

    #[test]
    fn braces_in_names_cannot_escape_the_tag() {
        let k = QueueKeys::new("n}s", "a{b}");
        assert_eq!(k.ready(), "{n%7Ds:ls:a%7Bb%7D}:ready");
        assert_ne!(
            QueueKeys::new("", "a%7D").ready(),
            QueueKeys::new("", "a}").ready()
        );
    }

    #[test]
    fn index_members_sort_by_time_then_id() {
        let a = index_member(999, "job_b");
        let b = index_member(1_000, "job_a");
        let c = index_member(1_000, "job_b");
        assert_eq!(a, "0000000000999:job_b");
        assert!(a < b && b < c);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let m = index_member(1_712_345_678_901, "job_01J");
        assert_eq!(decode_cursor(&encode_cursor(&m)), Some(m.as_str()));
        for bad in [
            "",
            "abc",
            "123:job_1",
            "1712345678901:",
            "1712345678901:job 1",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
        assert_eq!(decode_cursor("1712345678901:job_1 ["), None);
    }
}
