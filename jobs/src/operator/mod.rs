//! What operators do to the deployment (as opposed to what tenants do to their own work):
//! manage tenants, their keys and limits, every action written to the audit log in the same
//! transaction as the change, so the log can never miss an action that happened.
//!
//! Operators authenticate with an operator key ([`OperatorKeys`], `LONGSHORE_ADMIN_KEY`),
//! never with a tenant key; the API's `/v1/admin` routes and the dashboard call in here.

pub mod audit;
pub mod bulk;
pub mod dashboard;
pub mod keys;
pub mod tenants;

pub use audit::{Actor, AuditAction, AuditEntry};
pub use keys::{Operator, OperatorKeys};
