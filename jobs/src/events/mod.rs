//! Events back to the tenant's app: signed webhooks when an email is opened, a document is
//! ready, a payment changes (issue 15).
//!
//! - Domain code records an event with the change that causes it, in the same transaction
//!   ([`record::record`]); the same call writes one delivery row per endpoint subscribed to
//!   the type (the fan-out), so an event is never recorded without its deliveries.
//! - Every worker runs a [`courier`]: it claims due deliveries (per endpoint, within the
//!   endpoint's concurrency), signs and sends them with the outbound client of HTTP tasks
//!   (destination allow-list, pooled connections), logs each attempt and schedules the next
//!   one by the published retry schedule ([`schedule`]).
//! - Endpoints and their secrets ([`endpoints`]), listings and replays ([`service`]) are what
//!   the API serves.

pub mod courier;
pub mod data;
pub mod deliveries;
pub mod endpoints;
pub mod kinds;
pub mod model;
pub mod record;
pub mod retention;
pub mod schedule;
pub mod service;
#[cfg(test)]
pub(crate) mod test_support;

pub use kinds::EventType;
pub use model::NewEvent;
pub use record::record;
