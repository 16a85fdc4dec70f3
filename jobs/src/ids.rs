//! Prefixed, sortable identifiers (`job_01J…`, `ten_01J…`), parsed once at the edge.
//!
//! A prefix makes an id self-describing in logs and support tickets (the Stripe habit), and
//! ULIDs sort by creation time, which keeps listings and cursors cheap.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an id string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected an id of the form {prefix}_<26 characters>")]
pub struct InvalidId {
    /// The prefix that was expected.
    pub prefix: &'static str,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The textual prefix shared by every id of this kind.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id, unique and ordered by creation time.
            pub fn new() -> Self {
                Self(format!("{}_{}", $prefix, ulid::Ulid::new()))
            }

            /// The smallest id minted at `epoch_ms`: every id minted earlier sorts below it,
            /// so a time bound becomes a key range.
            pub fn first_at(epoch_ms: i64) -> Self {
                let ms = u64::try_from(epoch_ms).unwrap_or(0);
                Self(format!("{}_{}", $prefix, ulid::Ulid::from_parts(ms, 0)))
            }

            /// The id of what the work identified by `key`, begun at `at_ms`, creates (say a
            /// request's idempotency claim): the same for the same work, so doing the work
            /// again finds the record instead of making a second; a ULID of `at_ms` like every
            /// id, so it sorts with the ids minted then.
            pub fn derived(at_ms: i64, key: &str) -> Self {
                Self(format!("{}_{}", $prefix, derived_ulid(at_ms, key)))
            }

            /// The id as text, prefix included.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Rebuilds an id read back from storage without re-validating it.
            pub fn from_trusted(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(InvalidId { prefix: $prefix })?;
                // A caller-chosen suffix is allowed (derived ids such as schedule ticks),
                // but only from a safe alphabet and a bounded length.
                let ok = !rest.is_empty()
                    && rest.len() <= 100
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok { Ok(Self(s.to_owned())) } else { Err(InvalidId { prefix: $prefix }) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A job: chosen at enqueue, so a retried request or a scheduler tick can reuse it.
    JobId,
    "job"
);
prefixed_id!(
    /// A tenant: every resource belongs to exactly one.
    TenantId,
    "ten"
);
prefixed_id!(
    /// An API key's public part, used to find the key before its secret is compared.
    ApiKeyId,
    "key"
);
prefixed_id!(
    /// One entry of the operators' audit log; ids sort by time.
    AuditId,
    "aud"
);
prefixed_id!(
    /// An operator's bulk action on the jobs matching a filter (the dashboard's "retry all").
    BulkOperationId,
    "bulk"
);
prefixed_id!(
    /// A payment whose lifecycle gateway webhooks drive.
    PaymentId,
    "pay"
);
prefixed_id!(
    /// A gateway endpoint: the `/hooks/{id}` URL a tenant gives its payment gateway.
    WebhookEndpointId,
    "whe"
);
prefixed_id!(
    /// A received webhook event (an inbox row); the apply job's id is derived from it.
    WebhookEventId,
    "evt"
);
prefixed_id!(
    /// A payout reported by a gateway.
    PayoutId,
    "po"
);
prefixed_id!(
    /// An expense reported by a gateway.
    ExpenseId,
    "exp"
);
prefixed_id!(
    /// A rendered (or to-be-rendered) PDF document; its render job's id is derived from it.
    DocumentId,
    "doc"
);
prefixed_id!(
    /// A certificate batch; its documents' ids are derived from it, so expansion is idempotent.
    BatchId,
    "cbat"
);
prefixed_id!(
    /// An email to deliver; its send job's id and its Message-ID are derived from it.
    EmailId,
    "em"
);
prefixed_id!(
    /// A report schedule; its ticks' report and job ids are derived from it and the tick time.
    ScheduleId,
    "sch"
);
prefixed_id!(
    /// A built (or to-be-built) report; its build job's id is derived from it.
    ReportId,
    "rep"
);
prefixed_id!(
    /// An HTTP task; its delivery job's id is derived from it (`job_task-…`).
    TaskId,
    "task"
);

prefixed_id!(
    /// An event sent back to a tenant's app (the `webhook-id` receivers de-duplicate on);
    /// `msg` as Standard Webhooks and Svix name them, `evt` being the gateway inbox's.
    EventId,
    "msg"
);
prefixed_id!(
    /// An endpoint of the tenant's app that receives events.
    EventEndpointId,
    "ep"
);

/// A ULID of `at_ms` whose 80 random bits come from `key`'s SHA-256.
fn derived_ulid(at_ms: i64, key: &str) -> ulid::Ulid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ms = u64::try_from(at_ms).unwrap_or(0);
    ulid::Ulid::from_parts(ms, u128::from_be_bytes(random))
}

impl EventId {
    /// The id of the event a change at `at_ms` identified by `key` causes: the same for the
    /// same change, so recording it twice (a retried handler) is one event; still ordered by
    /// time like every id.
    pub fn for_change(at_ms: i64, key: &str) -> EventId {
        Self::derived(at_ms, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_round_trip_through_text() {
        let id = JobId::new();
        let parsed: JobId = id.as_str().parse().unwrap();
        assert_eq!(parsed, id);
        assert!(id.as_str().starts_with("job_"));
    }

    #[test]
    fn wrong_prefix_and_unsafe_characters_are_refused() {
        assert!("ten_01ABC".parse::<JobId>().is_err());
        assert!("job_".parse::<JobId>().is_err());
        assert!("job_a b".parse::<JobId>().is_err());
        assert!("job_{x}".parse::<JobId>().is_err());
        assert!("job_sched-1-2".parse::<JobId>().is_ok());
    }

    #[test]
    fn first_at_splits_ids_by_minting_time() {
        let at = |ms: u64, random: u128| {
            JobId::from_trusted(format!("job_{}", ulid::Ulid::from_parts(ms, random)))
        };
        let bound = JobId::first_at(1_700_000_000_000);
        assert!(at(1_699_999_999_999, u128::MAX) < bound);
        assert!(at(1_700_000_000_000, 0) >= bound);
        assert!(at(1_700_000_000_001, 0) > bound);
        assert!(JobId::new() > JobId::first_at(crate::clock::now_ms() - 1000));
    }

    #[test]
    fn derived_ids_are_stable_valid_and_sort_by_their_time() {
        let at = 1_700_000_000_000;
        let id = DocumentId::derived(at, "work");
        assert_eq!(
            DocumentId::derived(at, "work"),
            id,
            "the same work, the same id"
        );
        assert_ne!(DocumentId::derived(at, "other"), id);
        assert_eq!(id.as_str().parse::<DocumentId>().unwrap(), id);
        assert_eq!(id.as_str().len(), DocumentId::new().as_str().len());
        assert!(DocumentId::first_at(at) <= id && id < DocumentId::first_at(at + 1));
    }
}
