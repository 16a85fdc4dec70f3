//! Longshore's shared library: everything the `api`, `worker` and `scheduler` binaries agree on.
//!
//! Where to start reading:
//! - [`queue`]: the contract every queue backend honours (leases, fenced acks, durable retries)
//!   and the Redis and SQLite backends;
//! - [`registry`] and [`job_types`]: the job types and how they are registered;
//! - [`runtime`]: how apalis's worker runtime runs them over Longshore's queues;
//! - [`platform`]: the composition root every binary starts from; [`config`]: its settings;
//! - [`db`]: tenants, API keys and idempotency records in PostgreSQL or SQLite.

pub mod cancel;
pub mod clock;
pub mod config;
pub mod db;
pub mod documents;
pub mod email;
pub mod error;
pub mod ids;
pub mod job_types;
pub mod memory;
pub mod metrics;
pub mod payments;
pub mod platform;
pub mod queue;
pub mod registry;
pub mod reports;
pub mod retry;
pub mod runtime;
pub mod scheduler;
pub mod schedules;
pub mod shutdown;
pub mod storage;
pub mod submit;
pub mod telemetry;
pub mod validation;
pub mod webhooks;
