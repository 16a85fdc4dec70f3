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

use crate::attempt::JobMeta;
use crate::config::Config;
use crate::error::JobError;
use crate::retry::RetryPolicy;
use crate::services::Services;
use crate::validation::{Invalid, decode};

/// Everything a handler may use: the platform's services and the job's own metadata.
#[derive(Clone)]
pub struct JobContext {
    pub services: Services,
    pub meta: JobMeta,
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
}

type RunFn = Arc<
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
