//! Outbound HTTP: how Longshore calls its clients' own endpoints (HTTP tasks, Cloud Tasks
//! style), safely.
//!
//! - [`destinations`]: which hosts may be called (public addresses, plus the operator's
//!   `LONGSHORE_OUTBOUND_ALLOW`), checked when a task is created and again on connect.

mod address;
pub mod destinations;

pub use destinations::{Destinations, Refused};
