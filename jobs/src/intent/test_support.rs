//! A [`Dispatch`] for tests: it records what it is handed, and fails while told to (an
//! enqueue whose outcome the caller never learns).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use super::{Dispatch, Intent, Next};
use crate::ids::JobId;
use crate::queue::{Enqueued, JobRecord, JobState, QueueError};

/// Records every intent it accepts; refuses them all while [`Recorder::fail`] is set.
#[derive(Default)]
pub(crate) struct Recorder {
    handed: Mutex<Vec<Next>>,
    failing: AtomicBool,
}

impl Recorder {
    /// From now on, every dispatch fails (`true`) or succeeds (`false`).
    pub(crate) fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The intents accepted so far, in order.
    pub(crate) fn intents(&self) -> Vec<Intent> {
        let handed = self.handed.lock().expect("recorder lock");
        handed.iter().map(|n| n.intent.clone()).collect()
    }
}

#[async_trait]
impl Dispatch for Recorder {
    async fn dispatch(&self, next: Next) -> Result<Enqueued, QueueError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("the queue did not answer".into()));
        }
        let job = JobRecord {
            id: JobId::new(),
            tenant: next.tenant.clone(),
            job_type: "test.recorded".into(),
            queue: "default".into(),
            payload: serde_json::json!({}),
            state: JobState::Queued,
            attempts: 0,
            max_attempts: 1,
            run_at: 0,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
            last_error: None,
            request_id: next.request_id.clone(),
            worker: None,
            cancel_requested_at: None,
        };
        self.handed.lock().expect("recorder lock").push(next);
        Ok(Enqueued { job, created: true })
    }

    async fn dispatch_many(&self, next: Vec<Next>) -> Vec<Result<Enqueued, QueueError>> {
        let mut out = Vec::with_capacity(next.len());
        for n in next {
            out.push(self.dispatch(n).await);
        }
        out
    }
}
