//! `diagnostic.*` jobs: each accepted job must reach `succeeded`, `dead` or `cancelled`.
//!
//! These jobs exist only in the queue (guarantees.md: "lost if Redis loses them"), so a job
//! that is gone is an allowed loss when it was accepted within Redis's AOF `everysec` window
//! (up to two seconds, as Redis documents for a slow fsync) before a Redis SIGKILL; gone at any
//! other time is a forbidden loss. Running twice is allowed (at least once); what must not
//! happen is a zombie's acknowledgement overriding the live worker's, which the queue fences:
//! the zombie faults' notes and the workers' logs count the fenced acknowledgements.

use chrono::Duration;

use super::{Context, Finding, Snapshot, Verdict, time};
use crate::faults::Fault;
use crate::ledger::Entries;

/// How much of its last writes a SIGKILLed Redis with `appendfsync everysec` may lose.
const AOF_WINDOW: Duration = Duration::seconds(2);

pub fn check(snapshot: &Snapshot, ledger: &Entries, ctx: &Context<'_>) -> Verdict {
    let mut v = Verdict::new("jobs");
    let redis_kills: Vec<_> = ctx
        .windows
        .iter()
        .filter(|w| matches!(w.planned.fault, Fault::KillRedis { .. }))
        .map(|w| w.started)
        .collect();
    let mut dead = Vec::new();
    for job in &ledger.jobs {
        v.accepted += 1;
        let Some(record) = snapshot.jobs.get(&job.id) else {
            let killed = redis_kills
                .iter()
                .find(|k| job.accepted_at <= **k && **k - job.accepted_at <= AOF_WINDOW);
            match killed {
                Some(k) => v.allowed_lost.push(Finding::new(
                    &job.id,
                    format!(
                        "gone: accepted {:.1}s before Redis was SIGKILLed (inside the AOF everysec window)",
                        (*k - job.accepted_at).as_seconds_f64()
                    ),
                )),
                None => v.lost.push(Finding::new(&job.id, "gone from the queue (not within an AOF window)")),
            }
            continue;
        };
        match record["state"].as_str().unwrap_or_default() {
            "succeeded" | "cancelled" => v.complete(time(&record["finished_at"])),
            "dead" => {
                v.complete(time(&record["finished_at"]));
                dead.push(format!(
                    "{} ({})",
                    job.id,
                    record["last_error"].as_str().unwrap_or("no error")
                ));
            }
            state => v.pending.push(Finding::new(
                &job.id,
                format!("{state} after {} attempts", record["attempts"]),
            )),
        }
    }
    if !dead.is_empty() {
        v.notes.push(format!(
            "{} ended dead (a recorded reason): {}",
            dead.len(),
            dead.join(", ")
        ));
    }
    v
}
