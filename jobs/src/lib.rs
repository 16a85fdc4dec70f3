//! Longshore's shared library: everything the `api`, `worker` and `scheduler` binaries agree on.
//!
//! Where to start reading:
//! - [`queue`]: the contract every queue backend honours (leases, fenced acks, durable retries)
//!   and the Redis and SQLite backends;
//! - [`intent`]: how domain code says what must happen next, and [`job_types`]: the job types,
//!   how they are registered ([`registry`]) and the one place intents become jobs;
//! - [`runtime`]: how apalis's worker runtime runs them over Longshore's queues;
//! - [`platform`]: the composition root every binary starts from ([`services`]: what it builds);
//!   [`config`]: its settings;
//! - [`db`]: tenants, API keys and idempotency records in PostgreSQL or SQLite.
//! - [`outbound`]: calling clients' own endpoints (HTTP tasks) without becoming an SSRF proxy.
//! - [`throttle`]: dispatch limits (rate, burst, concurrency, `Retry-After` hold-offs) for
//!   HTTP-task queues, shared by every worker process.

pub mod attempt;
#[cfg(test)]
mod backoff_props;
pub mod cancel;
pub mod clock;
pub mod config;
#[cfg(test)]
mod create_again_tests;
pub mod db;
pub mod documents;
pub mod email;
pub mod error;
pub mod events;
pub mod ids;
pub mod intent;
pub mod job_rate;
pub mod job_types;
pub mod memory;
pub mod metrics;
pub mod operator;
pub mod outbound;
pub mod payments;
pub mod platform;
pub mod proxies;
pub mod queue;
pub mod recovery;
pub mod registry;
pub mod reports;
pub mod request_limit;
pub mod retry;
pub mod runtime;
pub mod scheduler;
pub mod schedules;
pub mod secret_box;
pub mod services;
pub mod shutdown;
pub mod signature;
pub mod stats;
pub mod storage;
pub mod submit;
pub mod tasks;
pub mod telemetry;
pub mod throttle;
pub mod validation;
pub mod webhooks;
pub mod words;
