//! Outbound HTTP: how Longshore calls its clients' own endpoints (HTTP tasks, Cloud Tasks
//! style), safely.
//!
//! - [`destinations`]: which hosts may be called (public addresses, plus the operator's
//!   `LONGSHORE_OUTBOUND_ALLOW`), checked when a task is created and again on connect;
//! - [`client`]: [`Outbound`], the one pooled HTTP client, and [`Outbound::send`];
//! - [`response`]: what is kept of an answer (status, `Retry-After`, a bounded excerpt);
//! - [`signing`]: Standard Webhooks signatures on outgoing requests.

mod address;
pub mod client;
pub mod destinations;
mod lazy;
mod resolver;
pub mod response;
pub mod signing;

pub use client::{Outbound, OutboundRequest, SendError};
pub use destinations::{Destinations, Refused};
pub use lazy::LazyOutbound;
pub use response::{EXCERPT_BYTES, OutboundResponse};
