//! The tenant's app as Longshore sees it: a real HTTP server on a loopback port that receives
//! HTTP tasks or events, checks their Standard Webhooks signature, answers by path, and counts
//! every request by its `webhook-id`. The fault plan switches it to failing (500) or hanging.
//!
//! Paths (the HTTP task mix):
//! - `/ok`: 200;
//! - `/fail/{n}`: 500 for the first `n` requests with this `webhook-id`, then 200;
//! - `/retry-after/{secs}`: 429 with `Retry-After: secs` the first time, then 200;
//! - `/slow/{ms}`: 200 after `ms` milliseconds;
//! - anything else (the events endpoint): 200.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{Body, EndpointExt, IntoResponse, Request, Response, Route, Server, handler};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the app answers, whatever the path says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Normal,
    /// 500 to everything.
    Failing,
    /// Holds every request until the app is healthy again, then answers 503 (the caller has
    /// usually given up by then).
    Hanging,
}

/// What the app saw for one `webhook-id`.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Requests that arrived.
    pub requests: u32,
    /// Of those, answered with a 2xx.
    pub succeeded: u32,
    /// When the first 2xx answer was given.
    pub first_success: Option<DateTime<Utc>>,
    /// Requests whose signature did not verify with the secret the app holds.
    pub bad_signatures: u32,
    /// The first body (events: the event as JSON).
    pub body: Option<Value>,
}

struct State {
    health: watch::Sender<Health>,
    secret: Mutex<Option<String>>,
    seen: Mutex<HashMap<String, Seen>>,
}

/// A running app; stops when dropped.
pub struct Receiver {
    pub port: u16,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// Starts on a free loopback port and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<Receiver> {
        let port = longshore_testkit::free_port();
        let state = Arc::new(State {
            health: watch::channel(Health::Normal).0,
            secret: Mutex::new(None),
            seen: Mutex::new(HashMap::new()),
        });
        let app = Route::new().at("/*path", answer).data(state.clone());
        let server = tokio::spawn(async move {
            let _ = Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
                .run(app)
                .await;
        });
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Receiver {
                    port,
                    state,
                    server,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::bail!("the receiver did not start on port {port}")
    }

    /// The URL of `path` on this app.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The `whsec_` secret signatures are checked with (set once Longshore has shown it).
    pub fn set_secret(&self, secret: &str) {
        *lock(&self.state.secret) = Some(secret.to_owned());
    }

    /// Switches how it answers.
    pub fn set_health(&self, health: Health) {
        self.state.health.send_replace(health);
    }

    /// Everything seen so far, by `webhook-id`.
    pub fn seen(&self) -> HashMap<String, Seen> {
        lock(&self.state.seen).clone()
    }
}

/// A poisoned lock only means a handler panicked; its data is still what was recorded.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[handler]
async fn answer(req: &Request, body: Body, state: Data<&Arc<State>>) -> Response {
    let state = state.0.clone();
    let body = body.into_vec().await.unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let id = header("webhook-id").unwrap_or_default();
    let signed = signature_ok(
        lock(&state.secret).as_deref(),
        &id,
        header("webhook-timestamp").as_deref(),
        header("webhook-signature").as_deref(),
        &body,
    );
    let earlier = {
        let mut seen = lock(&state.seen);
        let entry = seen.entry(id.clone()).or_default();
        entry.requests += 1;
        if !signed {
            entry.bad_signatures += 1;
        }
        if entry.body.is_none() {
            entry.body = serde_json::from_slice(&body).ok();
        }
        entry.requests - 1
    };
    let health = *state.health.borrow();
    let response = match health {
        Health::Normal => by_path(req.uri().path(), earlier).await,
        Health::Failing => (StatusCode::INTERNAL_SERVER_ERROR, "soak: failing").into_response(),
        Health::Hanging => {
            hang_until_healthy(&state).await;
            (StatusCode::SERVICE_UNAVAILABLE, "soak: hung").into_response()
        }
    };
    if response.status().is_success() {
        let mut seen = lock(&state.seen);
        let entry = seen.entry(id).or_default();
        entry.succeeded += 1;
        entry.first_success.get_or_insert_with(Utc::now);
    }
    response
}

/// Waits until the app is switched back from [`Health::Hanging`].
async fn hang_until_healthy(state: &State) {
    let mut health = state.health.subscribe();
    let _ = health.wait_for(|h| *h != Health::Hanging).await;
}

/// The answer a healthy app gives on `path`, `earlier` requests with this id having come before.
async fn by_path(path: &str, earlier: u32) -> Response {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let number = parts
        .get(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    match parts.first().copied() {
        Some("fail") if u64::from(earlier) < number => {
            (StatusCode::INTERNAL_SERVER_ERROR, "soak: planned failure").into_response()
        }
        Some("retry-after") if earlier == 0 => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("Retry-After", number.to_string())
            .body("soak: slow down"),
        Some("slow") => {
            tokio::time::sleep(Duration::from_millis(number)).await;
            "done slowly".into_response()
        }
        _ => "done".into_response(),
    }
}

/// Verifies a Standard Webhooks signature as a receiving app would: one of the header's `v1,`
/// signatures must equal the HMAC computed here with the app's secret. Without a secret yet,
/// nothing can be checked and the request counts as signed.
fn signature_ok(
    secret: Option<&str>,
    id: &str,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
) -> bool {
    let Some(secret) = secret else {
        return true;
    };
    let (Some(ts), Some(sigs)) = (timestamp.and_then(|t| t.parse::<i64>().ok()), signatures) else {
        return false;
    };
    let expected = longshore_tests::gateway::standard_signature(secret, id, ts, body);
    sigs.split(' ').any(|s| s == expected)
}
