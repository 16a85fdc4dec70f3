//! How messages leave: SMTP through a pool of lettre connections ([`super::smtp`]: plain,
//! STARTTLS or TLS, with or without auth, all from `LONGSHORE_SMTP_URL`), or, for the embedded default, an outbox
//! folder of `.eml` files (`<data_dir>/outbox/<email id>.eml`, written atomically, so writing the
//! same email twice leaves one file).
//!
//! Every outcome is classified here: accepted, deferred (4xx, timeouts, connection and TLS
//! trouble: try again later), bounced (5xx: the server refuses for good), failed (our side
//! could not produce a valid conversation) or unconfirmed (the message was handed over and no
//! reply came: the server may have it, so it must not be sent again).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;

use super::smtp::{Server, SmtpPool};
use crate::config::Config;
use crate::ids::EmailId;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server, through a connection pool shared by all jobs of the process.
    Smtp {
        pool: Arc<SmtpPool>,
        timeout: Duration,
    },
    /// `.eml` files in a folder (the embedded default; nothing is really sent).
    Outbox(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        match self {
            Transport::Smtp { .. } => f.write_str("Transport::Smtp"),
            Transport::Outbox(dir) => write!(f, "Transport::Outbox({})", dir.display()),
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server accepted the message; its reply.
    Accepted(String),
    /// Try again later: a 4xx reply, a timeout, or the server could not be reached.
    Deferred(String),
    /// The server refused for good (5xx).
    Bounced(String),
    /// Our side could not hold a valid conversation (e.g. an address the server cannot take).
    Failed(String),
    /// Nothing was transmitted: the attempt could not mark its claim transmitted (the claim
    /// was taken over, or the database did not answer).
    NotSent(String),
    /// The claim was marked transmitted and the message went out, but no reply came (the
    /// connection dropped or the reply timed out): the server may have accepted it, and SMTP
    /// cannot tell. Recorded `sent`, flagged unconfirmed, as when a worker dies in that window;
    /// what happened instead of the reply.
    Unconfirmed(String),
}

/// The transport could not be configured.
#[derive(Debug, thiserror::Error)]
#[error("LONGSHORE_SMTP_URL: {0}")]
pub struct TransportError(String);

impl Transport {
    /// The transport `config` asks for.
    pub fn from_config(config: &Config) -> Result<Transport, TransportError> {
        let url = config
            .smtp_url
            .as_ref()
            .map(|u| u.expose().trim())
            .unwrap_or("");
        if url.is_empty() {
            return Ok(Transport::Outbox(config.data_dir.join("outbox")));
        }
        let roots = match &config.smtp_ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                TransportError(format!(
                    "cannot read LONGSHORE_SMTP_CA_FILE {}: {e}",
                    path.display()
                ))
            })?),
            None => None,
        };
        let mut server = Server::from_url(url, roots.as_deref()).map_err(TransportError)?;
        if let Some(user) = config.smtp_username.as_deref().filter(|u| !u.is_empty()) {
            let password = config
                .smtp_password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            server.credentials = Some(Credentials::new(user.to_owned(), password));
        }
        if let Some(name) = config.smtp_hello_name.as_deref().filter(|n| !n.is_empty()) {
            server.hello = ClientId::Domain(name.to_owned());
        }
        let timeout = Duration::from_secs(config.smtp_timeout_secs);
        Ok(Transport::Smtp {
            pool: Arc::new(SmtpPool::new(
                server,
                config.smtp_pool_size as usize,
                timeout,
            )),
            timeout,
        })
    }

    /// Where messages go, for logs (never with credentials).
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { .. } => "SMTP server (LONGSHORE_SMTP_URL)".into(),
            Transport::Outbox(dir) => format!("outbox folder {}", dir.display()),
        }
    }

    /// Sends one message. The whole conversation, and the wait for a connection, is bounded
    /// by twice the configured timeout.
    ///
    /// `transmitting` runs once the server has agreed to take the message (its 354 after DATA),
    /// right before the message is written: it records the point after which the server may
    /// have the message (see [`super::claim::mark_transmitted`]); unless it answers `Ok(())`
    /// nothing is sent. After it answered `Ok(())`, only the server's reply can make the outcome
    /// anything but [`Delivery::Accepted`] or [`Delivery::Unconfirmed`]: running out of time
    /// then is unconfirmed too. The outbox does not need it: writing the same email twice
    /// leaves one file.
    pub async fn send(
        &self,
        email: &EmailId,
        envelope: &Envelope,
        message: &[u8],
        transmitting: impl std::future::Future<Output = Result<(), String>>,
    ) -> Delivery {
        match self {
            Transport::Smtp { pool, .. } => {
                let whole = self.max_duration();
                let marked = AtomicBool::new(false);
                let transmitting = async {
                    let result = transmitting.await;
                    marked.store(result.is_ok(), Ordering::Release);
                    result
                };
                match tokio::time::timeout(whole, pool.send(envelope, message, transmitting)).await
                {
                    Ok(delivery) => delivery,
                    Err(_) if marked.load(Ordering::Acquire) => Delivery::Unconfirmed(format!(
                        "no reply within {}s after the message was written",
                        whole.as_secs()
                    )),
                    Err(_) => Delivery::Deferred(format!("timed out after {}s", whole.as_secs())),
                }
            }
            Transport::Outbox(dir) => write_outbox(dir.clone(), email, message.to_vec()).await,
        }
    }

    /// The longest one [`Transport::send`] can take (sizes the send claim).
    pub fn max_duration(&self) -> Duration {
        match self {
            Transport::Smtp { timeout, .. } => *timeout * 2 + Duration::from_secs(5),
            Transport::Outbox(_) => Duration::from_secs(30),
        }
    }
}

/// Classifies an SMTP failure by the reply code, or by what went wrong without one.
pub fn classify(e: &lettre::transport::smtp::Error) -> Delivery {
    let text = e.to_string();
    if e.is_permanent() {
        Delivery::Bounced(text)
    } else if e.is_transient() || e.is_timeout() {
        Delivery::Deferred(text)
    } else if e.is_client() {
        Delivery::Failed(text)
    } else {
        // Connection, network, TLS, an unreadable reply, a pool shutting down: try again later.
        Delivery::Deferred(text)
    }
}

async fn write_outbox(dir: PathBuf, email: &EmailId, message: Vec<u8>) -> Delivery {
    let path = dir.join(format!("{email}.eml"));
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&message)?;
        file.sync_data()?;
        std::fs::rename(&tmp, &path)
    })
    .await;
    match result {
        Ok(Ok(())) => Delivery::Accepted("250 written to the outbox folder".into()),
        Ok(Err(e)) => Delivery::Deferred(format!("outbox write failed: {e}")),
        Err(e) => Delivery::Deferred(format!("outbox write task failed: {e}")),
    }
}
