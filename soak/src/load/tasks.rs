//! HTTP tasks through `POST /v1/tasks` to the tenant's app, whose answers make the mix: 200 at
//! once, 500 twice before a 200, 429 with `Retry-After` once (in a queue of their own, since it
//! holds the whole queue), and slow 200s (running when a worker is killed or paused).

use rand::Rng;
use serde_json::json;

use super::Ctx;
use crate::ledger::Task;
use crate::tenant::{POLITE_QUEUE, QUEUE};

/// Which answer the app gives the task.
#[derive(Debug, Clone, Copy)]
pub enum Mix {
    Ok,
    FailTwice,
    RetryAfter,
    Slow,
}

impl Mix {
    pub fn pick(rng: &mut impl Rng) -> Mix {
        match rng.random_range(0..20) {
            0..11 => Mix::Ok,
            11..14 => Mix::FailTwice,
            14..16 => Mix::RetryAfter,
            _ => Mix::Slow,
        }
    }

    fn path_and_queue(self) -> (&'static str, &'static str) {
        match self {
            Mix::Ok => ("/ok", QUEUE),
            Mix::FailTwice => ("/fail/2", QUEUE),
            Mix::RetryAfter => ("/retry-after/1", POLITE_QUEUE),
            Mix::Slow => ("/slow/1500", QUEUE),
        }
    }
}

/// Submits task `n` calling `app` and records it once accepted.
pub async fn submit(ctx: Ctx, app: String, n: u64, mix: Mix) {
    let (path, queue) = mix.path_and_queue();
    let body = json!({"queue": queue, "dispatch_deadline": "15s",
        "http_request": {"url": format!("{app}{path}"), "body_text": format!("{{\"n\": {n}}}"),
                         "headers": {"Content-Type": "application/json"}}});
    if let Some(id) = ctx
        .create("tasks", "/v1/tasks", &body, &format!("task-{n}"))
        .await
    {
        ctx.ledger.lock().tasks.push(Task {
            id,
            path: path.to_owned(),
        });
    }
}
