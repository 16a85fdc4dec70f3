//! Transactional email: templates, MIME building, SMTP delivery with an idempotent send claim,
//! open and click tracking with signed tokens, machine-event classification, one-click
//! unsubscribe and the suppression list.
//!
//! Where to start: [`service`] (what the API calls to create, read and list emails),
//! [`delivery`] (the `email.send` job: claim, suppression, build, send, classify, record),
//! [`tracking`] (what the `/t/…` endpoints call), [`tokens`] (the signed token format),
//! [`app_events`] (the `email.*` events sent back to the tenant's app). SQL lives
//! in [`repo`], [`claim`], [`event_store`], [`suppressions`], [`settings`] and [`templates`].

pub mod address;
pub mod app_events;
#[cfg(test)]
mod app_events_tests;
pub mod attachments;
pub mod body;
pub mod claim;
pub mod claim_batch;
#[cfg(test)]
pub(crate) mod claim_tests;
pub mod delivery;
pub mod event_store;
pub mod event_writer;
pub mod inline;
#[cfg(test)]
mod inline_tests;
pub mod keys;
pub mod links;
pub mod machine;
pub mod message;
pub mod model;
pub mod repo;
pub mod send_log;
pub mod service;
pub mod settings;
pub mod smtp;
pub mod suppressions;
pub mod templates;
pub mod text;
pub mod tokens;
pub mod tracking;
pub mod transport;

use crate::config::Config;
use crate::db::Db;

/// The email capability's shared parts, built once per process and cheap to share.
pub struct Mail {
    /// Where messages go (SMTP pool or outbox folder).
    pub transport: transport::Transport,
    /// Signs and verifies tracking tokens.
    pub keys: tokens::KeyRing,
    /// Batches opens and clicks into the database.
    pub events: event_writer::EventWriter,
    /// Spots clients that follow many links at once.
    pub bursts: machine::BurstDetector,
    /// Writes the send claims (group-committed on PostgreSQL).
    pub sends: send_log::SendLog,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("transport", &self.transport)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// The email capability could not start.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error(transparent)]
    Keys(#[from] keys::LoadError),
}

impl Mail {
    /// Builds the transport from `config`, loads the key ring, and starts the event writer.
    pub async fn connect(config: &Config, db: &Db) -> Result<Mail, MailError> {
        let transport = transport::Transport::from_config(config)?;
        let keys = keys::load(config, db).await?;
        tracing::debug!(transport = %transport.describe(), signing_key = keys.signing_kid(), "email ready");
        Ok(Mail {
            transport,
            keys,
            events: event_writer::EventWriter::start(db.clone()),
            bursts: machine::BurstDetector::default(),
            sends: send_log::SendLog::start(db.clone()),
        })
    }
}
