//! Longshore's shared library: everything the `api`, `worker` and `scheduler` binaries agree on.
//!
//! Start with [`queue`]: the contract every queue backend honours (leases, fenced acks, durable
//! retries) and the Redis and SQLite backends. [`ids`] holds the typed, prefixed identifiers.

pub mod clock;
pub mod ids;
pub mod queue;
