//! The HTTP surface: one module per resource. Handlers extract, call `longshore-jobs`, and map.

pub mod certificate_batches;
pub mod document_views;
pub mod documents;
pub mod email_views;
pub mod emails;
pub mod event_payloads;
pub mod event_views;
pub mod events;
pub mod health;
pub mod jobs;
pub mod ledger;
pub mod paging;
pub mod payments;
pub mod rate_limit;
pub mod report_views;
pub mod reports;
pub mod schedules;
pub mod suppressions;
pub mod task_views;
pub mod tasks;
pub mod templates;
pub mod tracking;
pub mod verify;
pub mod webhook_admin;
pub mod webhooks;
