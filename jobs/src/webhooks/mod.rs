//! Payment-gateway webhooks: signed callbacks in, exactly-once effects out.
//!
//! The path of one callback:
//! 1. [`intake::receive`] (the API's `POST /hooks/{endpoint}`): verify the signature over the raw
//!    bytes ([`crate::signature`]), insert the event into the inbox ([`inbox`], unique per endpoint and
//!    gateway event id), enqueue `payment.apply_event` under a job id derived from the inbox row.
//!    The answer is 200 only once the row is stored; if the enqueue fails the row stays
//!    `received` and the [`sweeper`] enqueues it later.
//! 2. [`apply::apply_event`] (the job): in one transaction, lock the inbox row (already handled →
//!    nothing to do), normalise the body ([`normalize`]), lock the payment, run the state machine
//!    ([`crate::payments::machine`]), write state, history and outbox, mark the row handled.
//!    Under load the jobs of a worker share transactions ([`applier`]): a batch is read with one
//!    statement, its payments locked with one, decided in memory, and written with one
//!    ([`apply_batch`], [`batch_writes`]), with the same effect as the rows applied one by one.
//!
//! The inbox carries no index on the columns the apply changes, so marking a row handled is a
//! HOT update; the rows still open (received, deferred, failed) are found through a narrow
//! mirror of them ([`open_events`]).
//!
//! Endpoints and their signing secrets (with rotation overlap) live in [`endpoints`]; the secrets
//! are sealed at rest by [`crate::secret_box`].

pub mod applier;
pub mod apply;
pub mod apply_batch;
pub mod batch_writes;
pub mod claims;
pub mod endpoints;
mod enqueuer;
#[cfg(test)]
mod events_tests;
pub mod inbox;
pub mod intake;
pub mod normalize;
pub mod open_events;
pub mod record;
pub mod sweeper;

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::intent::Dispatcher;
use crate::words::word_enum;

/// What the webhook path uses, cheap to clone (intake's and the applier's tasks hold one).
#[derive(Clone)]
pub struct Hooks {
    pub db: Db,
    pub config: Arc<Config>,
    /// Where apply and receipt intents go.
    pub out: Dispatcher,
}

word_enum!(
    /// The signature scheme and event format a gateway endpoint speaks.
    Provider {
        /// `Stripe-Signature` and Stripe's event objects.
        Stripe => "stripe",
        /// The Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
        Standard => "standard",
    }
);
