//! Periodic and on-demand reports: `payments_summary`, `email_engagement` and `jobs_health`,
//! each aggregated in SQL over an indexed period, stored as CSV and PDF, with headline figures
//! inline as JSON.
//!
//! Where to start: [`model`] (a report and its ids), [`service`] (what the API calls),
//! [`build`] (the `report.build` job: aggregate → CSV + PDF → storage), then one module per
//! kind ([`payments`], [`email`], [`jobs_health`]) and the formats ([`csv`], [`pdf`]).
//! [`job_runs`] records the job history that `jobs_health` reads. Schedules that produce
//! reports live in [`crate::schedules`]; the loop that fires them in [`crate::scheduler`].

pub mod build;
pub mod content;
pub mod csv;
pub mod deliver;
pub mod email;
pub mod event_data;
pub mod job_runs;
pub mod jobs_health;
pub mod model;
pub mod payments;
pub mod pdf;
pub mod repo;
pub mod service;

use crate::db::DbError;
use crate::queue::QueueError;
use crate::storage::StorageError;
use crate::validation::Invalid;

/// Why a report or schedule operation failed; the API maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("corrupt: {0}")]
    Corrupt(String),
}

#[cfg(test)]
mod tests;
