//! The ledger checks: after the load, with everything restored, Longshore's records are read
//! until nothing is left in flight (or a bound passes), then held against what was accepted and
//! what the SMTP server and the apps received. Each kind gets a [`Verdict`]: what was accepted
//! and completed, and every item lost or done twice, by id, split into what the guarantees
//! forbid (the soak fails) and what they document (counted, shown, not a failure).

mod collect;
mod documents;
mod emails;
mod events;
mod jobs;
mod tasks;
mod ticks;
mod webhooks;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use collect::{PdfCache, Snapshot};

use crate::faults::Window;
use crate::ledger::Entries;

/// One item worth a look, by id.
#[derive(Debug, Clone)]
pub struct Finding {
    pub id: String,
    pub what: String,
}

impl Finding {
    pub fn new(id: impl Into<String>, what: impl Into<String>) -> Finding {
        Finding {
            id: id.into(),
            what: what.into(),
        }
    }
}

/// The outcome for one kind of work.
#[derive(Debug, Default)]
pub struct Verdict {
    pub kind: &'static str,
    pub accepted: usize,
    /// Reached a final state the guarantees accept (done, or ended with a recorded reason).
    pub completed: usize,
    /// Not final yet: lost if still so when the bound passes.
    pub pending: Vec<Finding>,
    /// Forbidden: accepted and never done, without a recorded reason.
    pub lost: Vec<Finding>,
    /// Forbidden: done (or applied, or sent) more than once.
    pub duplicated: Vec<Finding>,
    /// Forbidden otherwise: a bad signature, a ledger total off.
    pub violations: Vec<Finding>,
    /// Lost where the guarantees say it can be (e.g. a `diagnostic.*` job inside Redis's AOF
    /// window when Redis was killed).
    pub allowed_lost: Vec<Finding>,
    /// More than once where the guarantee is at least once (same id every time).
    pub allowed_duplicates: Vec<Finding>,
    /// When each completed item completed, for throughput and recovery.
    pub completions: Vec<DateTime<Utc>>,
    pub notes: Vec<String>,
}

impl Verdict {
    fn new(kind: &'static str) -> Verdict {
        Verdict {
            kind,
            ..Verdict::default()
        }
    }

    /// Any forbidden finding.
    pub fn failed(&self) -> bool {
        !(self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.violations.is_empty()
            && self.pending.is_empty())
    }

    fn complete(&mut self, at: Option<DateTime<Utc>>) {
        self.completed += 1;
        if let Some(at) = at {
            self.completions.push(at);
        }
    }
}

/// What the checks know about the run besides the records.
pub struct Context<'a> {
    pub windows: &'a [Window],
    /// When the schedules were disabled (no tick after it is expected).
    pub schedules_paused_at: DateTime<Utc>,
}

/// Every kind's verdict on one snapshot.
pub fn judge(snapshot: &Snapshot, ledger: &Entries, ctx: &Context<'_>) -> Vec<Verdict> {
    let (emails, tracking) = emails::check(snapshot, ledger);
    vec![
        jobs::check(snapshot, ledger, ctx),
        emails,
        webhooks::check(snapshot, ledger),
        tasks::check(snapshot, ledger),
        documents::documents(snapshot, ledger),
        documents::batches(snapshot, ledger),
        events::check(snapshot, ledger),
        ticks::check(snapshot, ctx),
        tracking,
    ]
}

/// Takes snapshots until nothing is pending or `within` has passed; returns the last verdicts
/// (pending items then count as lost).
pub async fn settle(
    within: Duration,
    mut snapshot: impl AsyncFnMut() -> anyhow::Result<Snapshot>,
    ledger: &Entries,
    ctx: &Context<'_>,
) -> anyhow::Result<(Vec<Verdict>, Duration)> {
    let started = tokio::time::Instant::now();
    loop {
        let verdicts = judge(&snapshot().await?, ledger, ctx);
        let pending: usize = verdicts.iter().map(|v| v.pending.len()).sum();
        let waited = started.elapsed();
        if pending == 0 || waited >= within {
            return Ok((verdicts, waited));
        }
        println!(
            "  {pending} items still in flight after {:.0}s …",
            waited.as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// A JSON timestamp.
fn time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str()?.parse().ok()
}
