//! The one HTTP client Longshore calls clients' endpoints with.
//!
//! One `reqwest::Client` per process (pooled keep-alive connections, HTTP/2 when a TLS server
//! offers it), built so that a client's URL cannot turn it against the operator's network:
//! every address is judged by the destination policy (literals here, names in the resolver),
//! redirects are returned rather than followed (a 302 to `http://169.254.169.254/` would
//! otherwise bypass the check), and proxies from the environment are ignored.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, LOCATION, RETRY_AFTER};
use tokio::time::Instant;

use super::destinations::{Destinations, Refused};
use super::resolver::GuardedResolver;
use super::response::{OutboundResponse, parse_retry_after, read_excerpt};

/// Longest TCP (and TLS) connection set-up; the request's own timeout bounds it too.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// The outbound HTTP client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    destinations: Arc<Destinations>,
}

/// One call to a client's endpoint.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Deadline for the response's status and headers, counted from the start of `send`;
    /// reading the excerpt stops at the same deadline.
    pub timeout: Duration,
}

/// Why a call got no answer. The messages never carry header values (they may hold
/// credentials), the body or the URL's query; they are safe to store in an attempt record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The destination is not allowed: permanent, retrying cannot help.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// No response before the request's deadline.
    #[error("no response within the deadline")]
    Timeout,
    /// No connection (DNS, TCP or TLS failure): usually worth retrying.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The exchange failed after connecting (reset, protocol error).
    #[error("request failed: {0}")]
    Other(String),
}

impl SendError {
    /// True when retrying the same request cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Refused(_))
    }
}

/// The client could not be built (the TLS set-up failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the outbound HTTP client: {0}")]
pub struct BuildError(String);

impl Outbound {
    /// Builds the client for `destinations` (from `LONGSHORE_OUTBOUND_ALLOW`).
    pub fn new(destinations: Destinations) -> Result<Self, BuildError> {
        let destinations = Arc::new(destinations);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                destinations: destinations.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE)
            .tcp_keepalive(Duration::from_secs(60))
            .user_agent(concat!("Longshore/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError(chain(&e)))?;
        Ok(Outbound {
            client,
            destinations,
        })
    }

    /// The policy this client enforces (for checking URLs when tasks are created).
    pub fn destinations(&self) -> &Destinations {
        &self.destinations
    }

    /// Sends one request and returns the endpoint's answer, whatever its status.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, SendError> {
        // IP literals never reach the resolver, so they are judged here.
        self.destinations.check_literal(&request.url)?;
        let started = Instant::now();
        let deadline = started + request.timeout;
        let sending = self
            .client
            .request(request.method, request.url)
            .headers(request.headers)
            .body(request.body)
            .send();
        let response = match tokio::time::timeout_at(deadline, sending).await {
            Err(_) => return Err(SendError::Timeout),
            Ok(result) => result.map_err(classify)?,
        };
        let headers = response.headers();
        let text = |name: HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let retry_after =
            text(RETRY_AFTER).and_then(|v| parse_retry_after(&v, crate::clock::now()));
        let content_type = text(CONTENT_TYPE);
        let location = text(LOCATION);
        let excerpt = read_excerpt(response, deadline).await;
        Ok(OutboundResponse {
            status,
            retry_after,
            content_type,
            location,
            excerpt,
            elapsed: started.elapsed(),
        })
    }
}

/// Sorts a reqwest error into the variants, finding a refusal by the resolver in its chain.
fn classify(error: reqwest::Error) -> SendError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return SendError::Refused(refused.clone());
        }
        source = e.source();
    }
    let connect = error.is_connect();
    let timeout = error.is_timeout();
    let detail = chain(&error.without_url());
    match (connect, timeout) {
        (true, _) => SendError::Connect(detail),
        (false, true) => SendError::Timeout,
        _ => SendError::Other(detail),
    }
}

/// The error and its causes, `: `-joined (reqwest's own message says only "error sending
/// request"; the cause, such as "Connection refused", is in the chain).
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
