//! The queue conformance suite: every backend proven against the `Queue` contract.
//!
//! `suite` holds the backend-neutral tests (and how to add a backend); each other module runs
//! them against one backend. Run with `cargo test -p longshore-jobs --test conformance`.

mod redis;
mod sqlite;
mod suite;
