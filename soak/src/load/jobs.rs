//! `diagnostic.*` jobs through `POST /v1/jobs`: mostly no-ops, some that sleep past a worker's
//! pause (so a paused worker holds leases when it resumes), some that fail once.

use rand::Rng;
use serde_json::{Value, json};

use super::Ctx;
use crate::ledger::Job;

/// Which job to submit.
#[derive(Debug, Clone, Copy)]
pub enum Mix {
    Noop,
    /// Sleeps 2 s: long enough to be running when a worker is killed or paused.
    Sleep,
    /// Fails its first attempt, then succeeds.
    FailOnce,
}

impl Mix {
    pub fn pick(rng: &mut impl Rng) -> Mix {
        match rng.random_range(0..10) {
            0..7 => Mix::Noop,
            7..9 => Mix::Sleep,
            _ => Mix::FailOnce,
        }
    }

    fn body(self) -> Value {
        match self {
            Mix::Noop => json!({"type": "diagnostic.noop"}),
            Mix::Sleep => json!({"type": "diagnostic.sleep", "payload": {"ms": 2000}}),
            Mix::FailOnce => {
                json!({"type": "diagnostic.sleep", "payload": {"ms": 10, "fail_times": 1}})
            }
        }
    }
}

/// Submits job `n` and records it once accepted.
pub async fn submit(ctx: Ctx, n: u64, mix: Mix) {
    if let Some(id) = ctx
        .create("jobs", "/v1/jobs", &mix.body(), &format!("job-{n}"))
        .await
    {
        ctx.ledger.lock().jobs.push(Job {
            id,
            accepted_at: chrono::Utc::now(),
        });
    }
}
