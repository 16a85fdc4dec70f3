//! HTTP tasks: every accepted task ends `succeeded` (the app answered 2xx at least once),
//! `dead` or `cancelled` (a recorded reason). Tasks are at least once and not fenced
//! (guarantees.md: a zombie may send the request again with the same `webhook-id`), so the app
//! answering 2xx more than once for one task is counted as an allowed duplicate; a task recorded
//! `succeeded` that the app never answered 2xx, or a request whose signature does not verify,
//! is forbidden.

use super::{Finding, Snapshot, Verdict, time};
use crate::ledger::Entries;

pub fn check(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("tasks");
    let mut dead = Vec::new();
    for task in &ledger.tasks {
        v.accepted += 1;
        let seen = snapshot.task_app.get(&task.id).cloned().unwrap_or_default();
        if seen.bad_signatures > 0 {
            v.violations.push(Finding::new(
                &task.id,
                format!("{} requests with a bad signature", seen.bad_signatures),
            ));
        }
        if seen.succeeded > 1 {
            v.allowed_duplicates.push(Finding::new(
                &task.id,
                format!(
                    "the app answered 2xx {} times ({} requests)",
                    seen.succeeded, seen.requests
                ),
            ));
        }
        let Some(record) = snapshot.tasks.get(&task.id) else {
            v.lost.push(Finding::new(&task.id, "no such task"));
            continue;
        };
        match record["status"].as_str().unwrap_or_default() {
            "succeeded" if seen.succeeded > 0 => {
                v.complete(seen.first_success.or_else(|| time(&record["finished_at"])))
            }
            "succeeded" => v.lost.push(Finding::new(
                &task.id,
                "recorded succeeded, but the app never answered 2xx",
            )),
            "dead" | "cancelled" => {
                v.complete(time(&record["finished_at"]));
                dead.push(format!(
                    "{} {} ({})",
                    task.id,
                    task.path,
                    record["last_error"].as_str().unwrap_or("no error")
                ));
            }
            status => v.pending.push(Finding::new(
                &task.id,
                format!(
                    "{status}/{} after {} attempts ({})",
                    record["job_state"], record["attempts"], task.path
                ),
            )),
        }
    }
    if !dead.is_empty() {
        v.notes.push(format!(
            "{} ended dead or cancelled (a recorded reason): {}",
            dead.len(),
            dead.join("; ")
        ));
    }
    v
}
