//! How job types are registered: adding a job is one new module in `job_types/` and one line
//! in `job_types::registry`.
//!
//! A job type is a payload struct implementing [`JobKind`]: its name, queue, retry policy,
//! validation and logic. The registry erases the types so the API can validate payloads and the
//! worker can dispatch by name.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::attempt::JobMeta;
use crate::config::Config;
use crate::error::JobError;
use crate::retry::RetryPolicy;
use crate::services::Services;
use crate::validation::{Invalid, decode};

/// Everything a handler may use: the platform's services, the job's own metadata, and the
/// signal that its job was cancelled while it ran.
#[derive(Clone)]
pub struct JobContext {
    pub services: Services,
    pub meta: JobMeta,
    /// Cancelled when the job is cancelled while this attempt runs. A handler that can stop
    /// early (a long wait, an outbound call) selects on it and returns
    /// [`JobError::Cancelled`]; one that does not is dropped after `LONGSHORE_CANCEL_GRACE_SECS`.
    pub cancel: CancellationToken,
}

impl JobContext {
    /// A context whose job is never cancelled (hooks, tests).
    pub fn new(services: Services, meta: JobMeta) -> Self {
        JobContext {
            services,
            meta,
            cancel: CancellationToken::new(),
        }
    }
}

/// A job type: the payload is the type itself.
pub trait JobKind: DeserializeOwned + Send + Sized + 'static {
    /// The public name clients use in `POST /v1/jobs` (`area.action`).
    const NAME: &'static str;
    /// The queue that runs it.
    const QUEUE: &'static str;
    /// Default attempt budget when the client does not choose one.
    const MAX_ATTEMPTS: u32 = 5;
    /// Whether clients may submit it through `POST /v1/jobs`. Job types that act on records
    /// (emails, payments, documents) are enqueued by their own endpoints, which check the
    /// tenant owns the record; accepting them raw would let a client bypass those checks.
    const PUBLIC: bool = false;

    /// Retry spacing; the default is exponential from the configured base.
    fn policy(config: &Config) -> RetryPolicy {
        RetryPolicy::exponential(std::time::Duration::from_millis(config.retry_base_ms))
    }

    /// Checks beyond what the types say (ranges, lengths). Field names are relative to the payload.
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    /// Does the work.
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Ends what the job acts on once the job is dead, whoever decided it: a permanent error,
    /// the last attempt failing, or the last attempt's worker lost (its lease lapsed; the
    /// queue hands the job to another worker for burial, see [`crate::queue::Leased::bury`]).
    /// E.g. a document still `rendering` becomes `failed` with `error`.
    ///
    /// Runs in the worker's one dead path ([`crate::runtime::dead`]), before the `job.dead`
    /// event and the dead acknowledgement, and may run more than once: it must be idempotent
    /// and leave a record that is already final alone. A retryable error leaves the job
    /// unacknowledged; its lease lapses and the burial is tried again. The default does nothing
    /// (a job whose only record is itself).
    fn on_dead(
        self,
        ctx: JobContext,
        error: String,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        let _ = (ctx, error);
        async { Ok(()) }
    }

    /// Ends what the job acts on once the job was cancelled while it ran (its handler stopped,
    /// or its attempt ended in a way that would have run it again). Runs after the job is
    /// recorded `cancelled`, best effort: it must be idempotent and leave a final record alone;
    /// what it misses is reconciled by the recovery sweep. The default does nothing.
    fn on_cancelled(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }
}

type RunFn = Arc<
    dyn Fn(
            serde_json::Value,
            JobContext,
        ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>
        + Send
        + Sync,
>;
type OnDeadFn = Arc<
    dyn Fn(
            serde_json::Value,
            JobContext,
            String,
        ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>
        + Send
        + Sync,
>;
type OnCancelledFn = Arc<
    dyn Fn(
            serde_json::Value,
            JobContext,
        ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>
        + Send
        + Sync,
>;
type ValidateFn = fn(&serde_json::Value) -> Result<(), Invalid>;

/// A registered job type with its types erased.
#[derive(Clone)]
pub struct Registered {
    pub name: &'static str,
    pub queue: &'static str,
    pub max_attempts: u32,
    /// See [`JobKind::PUBLIC`].
    pub public: bool,
    pub policy: fn(&Config) -> RetryPolicy,
    validate: ValidateFn,
    run: RunFn,
    on_dead: OnDeadFn,
    on_cancelled: OnCancelledFn,
}

impl Registered {
    /// Validates a payload as the API receives it (field names prefixed with `payload`).
    pub fn validate(&self, payload: &serde_json::Value) -> Result<(), Invalid> {
        (self.validate)(payload)
    }

    /// Decodes and runs a payload. A payload that no longer decodes is a permanent failure.
    pub fn run(
        &self,
        payload: serde_json::Value,
        ctx: JobContext,
    ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>> {
        (self.run)(payload, ctx)
    }

    /// Decodes a payload and runs [`JobKind::on_dead`] with `error`. A payload that no longer
    /// decodes has nothing to end (the job died of that).
    pub fn on_dead(
        &self,
        payload: serde_json::Value,
        ctx: JobContext,
        error: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>> {
        (self.on_dead)(payload, ctx, error)
    }

    /// Decodes a payload and runs [`JobKind::on_cancelled`]. A payload that no longer decodes
    /// has nothing to end.
    pub fn on_cancelled(
        &self,
        payload: serde_json::Value,
        ctx: JobContext,
    ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>> {
        (self.on_cancelled)(payload, ctx)
    }
}

/// The job types this build knows.
#[derive(Clone, Default)]
pub struct Registry {
    types: HashMap<&'static str, Registered>,
}

impl Registry {
    /// Registers `J`.
    pub fn register<J: JobKind>(&mut self) -> &mut Self {
        fn validate<J: JobKind>(payload: &serde_json::Value) -> Result<(), Invalid> {
            let job: J = decode("payload", payload)?;
            job.validate().map_err(|Invalid(errors)| {
                Invalid(
                    errors
                        .into_iter()
                        .map(|mut e| {
                            e.field = format!("payload.{}", e.field);
                            e
                        })
                        .collect(),
                )
            })
        }
        let run: RunFn = Arc::new(|payload, ctx| {
            Box::pin(async move {
                let job: J = serde_json::from_value(payload)
                    .map_err(|e| JobError::Permanent(format!("payload does not decode: {e}")))?;
                job.run(ctx).await
            })
        });
        let on_dead: OnDeadFn = Arc::new(|payload, ctx, error| {
            Box::pin(async move {
                match serde_json::from_value::<J>(payload) {
                    Ok(job) => job.on_dead(ctx, error).await,
                    Err(_) => Ok(()),
                }
            })
        });
        let on_cancelled: OnCancelledFn = Arc::new(|payload, ctx| {
            Box::pin(async move {
                match serde_json::from_value::<J>(payload) {
                    Ok(job) => job.on_cancelled(ctx).await,
                    Err(_) => Ok(()),
                }
            })
        });
        self.types.insert(
            J::NAME,
            Registered {
                name: J::NAME,
                queue: J::QUEUE,
                max_attempts: J::MAX_ATTEMPTS,
                public: J::PUBLIC,
                policy: J::policy,
                validate: validate::<J>,
                run,
                on_dead,
                on_cancelled,
            },
        );
        self
    }

    /// A job type by name.
    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.types.get(name)
    }

    /// Every registered name, sorted (for error messages and docs).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.types.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// A job type clients may submit themselves, by name.
    pub fn get_public(&self, name: &str) -> Option<&Registered> {
        self.get(name).filter(|r| r.public)
    }

    /// The names clients may submit, sorted.
    pub fn public_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .types
            .values()
            .filter(|r| r.public)
            .map(|r| r.name)
            .collect();
        names.sort_unstable();
        names
    }
}
