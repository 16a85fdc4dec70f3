//! PDF documents: certificates anyone can verify, receipts, investor updates, and certificate
//! batches with progress.
//!
//! Where to start: [`kinds`] (the typed data of each kind, parsed once at the edge),
//! [`service`] (what the API calls: create, read, list, revoke, verify), [`render`] (data → PDF
//! bytes, deterministic), and `job_types::documents` (the `document.render` and
//! `certificate_batch.expand` jobs). [`repo`] and [`batches`] hold the SQL; files go through
//! [`crate::storage`]. Chains to other capabilities: [`follow_up`] (email a document once it is
//! ready) and [`from_payment`] (receipts of Longshore payments).

pub mod attach;
pub mod batch_service;
pub mod batches;
pub mod certificate;
#[cfg(test)]
mod chain_tests;
pub mod code;
#[cfg(test)]
mod create_tests;
pub mod event_data;
pub mod events;
#[cfg(test)]
mod events_tests;
pub mod fields;
pub mod follow_up;
pub mod from_payment;
pub mod investor;
pub mod kinds;
pub mod model;
pub mod money;
pub mod receipt;
pub mod render;
pub mod render_log;
#[cfg(test)]
mod render_log_tests;
pub mod repo;
pub mod service;
pub mod work;
