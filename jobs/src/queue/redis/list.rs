//! Merging the per-queue index scans of `list` into one newest-first page.
//!
//! Each queue's scan (the `LIST` script) reads at most a budget of index members, so a scan may
//! stop early ("truncated") at some member. Items older than that member are unknown for that
//! queue, so the page may only hold items at or above the highest such stopping point (the
//! *frontier*); the cursor then resumes from the frontier. This keeps every call's work bounded
//! and still gives no duplicates and no gaps across pages.

use crate::queue::{JobRecord, Page};

use super::keys::encode_cursor;

/// One queue's scan: the matches (index member, record) newest first, and where it stopped.
pub(super) struct QueueScan {
    /// True when the index has nothing after `last`: the scan saw everything.
    pub(super) exhausted: bool,
    /// The last member scanned (empty if none).
    pub(super) last: String,
    pub(super) matches: Vec<(String, JobRecord)>,
}

/// The page of at most `limit` items across all scans, and the cursor to go on.
pub(super) fn merge(scans: Vec<QueueScan>, limit: usize) -> Page<JobRecord> {
    let frontier = scans
        .iter()
        .filter(|s| !s.exhausted && !s.last.is_empty())
        .map(|s| s.last.clone())
        .max();
    let mut items: Vec<(String, JobRecord)> = scans
        .into_iter()
        .flat_map(|s| s.matches)
        .filter(|(member, _)| frontier.as_ref().is_none_or(|f| member >= f))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(member, _)| encode_cursor(member))
    } else {
        frontier.as_deref().map(encode_cursor)
    };
    Page {
        items: items.into_iter().map(|(_, record)| record).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{JobId, TenantId};
    use crate::queue::JobState;

    fn rec(id: &str) -> JobRecord {
        JobRecord {
            id: JobId::from_trusted(id),
            tenant: TenantId::from_trusted("ten_1"),
            job_type: "t".into(),
            queue: "q".into(),
            payload: serde_json::Value::Null,
            state: JobState::Queued,
            attempts: 0,
            max_attempts: 1,
            run_at: 0,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
            last_error: None,
            request_id: None,
            worker: None,
            cancel_requested_at: None,
        }
    }

    fn scan(exhausted: bool, last: &str, members: &[&str]) -> QueueScan {
        QueueScan {
            exhausted,
            last: last.into(),
            matches: members.iter().map(|m| (m.to_string(), rec(m))).collect(),
        }
    }

    fn ids(page: &Page<JobRecord>) -> Vec<&str> {
        page.items.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn exhausted_scans_merge_newest_first_and_end() {
        let page = merge(
            vec![scan(true, "1", &["5", "3"]), scan(true, "2", &["4", "2"])],
            10,
        );
        assert_eq!(ids(&page), ["5", "4", "3", "2"]);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn a_full_page_points_after_its_last_item() {
        let page = merge(
            vec![scan(true, "1", &["5", "3"]), scan(true, "2", &["4", "2"])],
            3,
        );
        assert_eq!(ids(&page), ["5", "4", "3"]);
        assert_eq!(page.next_cursor.as_deref(), Some("3"));
    }

    #[test]
    fn a_truncated_scan_holds_the_page_at_its_frontier() {
        // Queue A stopped at "6" (unknown below); queue B saw everything.
        let page = merge(
            vec![scan(false, "6", &["8"]), scan(true, "1", &["7", "5", "2"])],
            10,
        );
        assert_eq!(ids(&page), ["8", "7"]);
        assert_eq!(page.next_cursor.as_deref(), Some("6"));
    }

    #[test]
    fn a_scan_with_nothing_is_an_empty_last_page() {
        let page = merge(vec![scan(true, "", &[])], 10);
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }
}
