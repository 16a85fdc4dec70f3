//! Every job type of this build, one module per family, and the two places that know them all:
//! [`registry`] (name → handler, for the worker and the API) and [`dispatch`] (intent → job).
//!
//! A new job kind is one file here (its payload type implementing
//! [`crate::registry::JobKind`]), one line in [`registry`], and, when domain code asks for it,
//! one [`crate::intent::Intent`] variant with its arm in [`dispatch`].

pub mod diagnostic;
pub mod dispatch;
pub mod documents;
pub mod email;
pub mod http_task;
pub mod payments;
pub mod reports;

use std::sync::LazyLock;

use crate::registry::Registry;

/// The job types this build knows: fixed at compile time, so one table serves the process.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let mut r = Registry::default();
        r.register::<diagnostic::Noop>()
            .register::<diagnostic::Sleep>()
            .register::<payments::ApplyEvent>()
            .register::<payments::ApplyEvents>()
            .register::<payments::SendReceipt>()
            .register::<documents::RenderDocument>()
            .register::<documents::ExpandBatch>()
            .register::<reports::BuildReport>()
            .register::<email::SendEmail>()
            .register::<http_task::DeliverTask>();
        r
    });
    &REGISTRY
}
