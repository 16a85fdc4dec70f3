//! An app that receives HTTP tasks, as a client's would: a real HTTP server on a random
//! loopback port that records every request and answers by its path.
//!
//! Paths (per task, counted by its `webhook-id`):
//! - `/ok`: 200 with a small body;
//! - `/fail/{n}`: 500 for the first `n` requests of a task, then 200;
//! - `/retry-after/{secs}`: 503 with `Retry-After: secs` the first time, then 200;
//! - `/stop`: 489, "do not retry";
//! - `/slow/{ms}`: waits `ms` milliseconds, then 200 (for concurrency and kills);
//! - `/slow-first/{ms}`: the first request of a task waits `ms`, later ones answer at once;
//! - `/gone`: 410 Gone ("never call again").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::{Body, EndpointExt, IntoResponse, Request, Response, Route, Server, handler};
use tokio::task::JoinHandle;

/// One request as the app saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When it arrived, since the receiver started.
    pub at: Duration,
    /// When its answer was sent (for `/slow`: after the wait).
    pub answered: Option<Duration>,
}

impl Received {
    /// A header's value (names are lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
struct Log {
    requests: Vec<Received>,
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Clone)]
struct State {
    log: Arc<Mutex<Log>>,
    started: Instant,
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    pub port: u16,
    state: State,
    server: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// Starts on a random loopback port.
    pub async fn start() -> Receiver {
        let port = longshore_testkit::free_port();
        let state = State {
            log: Arc::default(),
            started: Instant::now(),
        };
        let app = Route::new().at("/*path", answer).data(state.clone());
        let server = tokio::spawn(async move {
            let _ = Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
                .run(app)
                .await;
        });
        // Ready when it accepts a connection.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the receiver did not start");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Receiver {
            port,
            state,
            server,
        }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().requests.clone()
    }

    /// The requests that carried `webhook-id: id`.
    pub fn for_task(&self, id: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.header("webhook-id") == Some(id))
            .collect()
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.log.lock().unwrap().max_in_flight
    }
}

#[handler]
async fn answer(req: &Request, body: Body, state: poem::web::Data<&State>) -> Response {
    let state = state.0.clone();
    let body = body.into_vec().await.unwrap_or_default();
    let path = req.uri().path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect::<HashMap<_, _>>();
    let task = headers.get("webhook-id").cloned().unwrap_or_default();
    let (index, seen) = {
        let mut log = state.log.lock().unwrap();
        let seen = log
            .requests
            .iter()
            .filter(|r| r.path == path && r.header("webhook-id") == Some(task.as_str()))
            .count();
        log.requests.push(Received {
            method: req.method().to_string(),
            path: path.clone(),
            headers,
            body,
            at: state.started.elapsed(),
            answered: None,
        });
        log.in_flight += 1;
        log.max_in_flight = log.max_in_flight.max(log.in_flight);
        (log.requests.len() - 1, seen)
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let number = |i: usize| {
        parts
            .get(i)
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let response = match parts.first().copied() {
        Some("ok") => "done".into_response(),
        Some("fail") if (seen as u64) < number(1) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
        }
        Some("fail") => "done at last".into_response(),
        Some("retry-after") if seen == 0 => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("Retry-After", number(1).to_string())
            .body("busy"),
        Some("retry-after") => "done after waiting".into_response(),
        Some("stop") => Response::builder()
            .status(StatusCode::from_u16(489).expect("489 is a status"))
            .body("never again"),
        Some("slow") => {
            tokio::time::sleep(Duration::from_millis(number(1))).await;
            "done slowly".into_response()
        }
        Some("slow-first") if seen == 0 => {
            tokio::time::sleep(Duration::from_millis(number(1))).await;
            "too late".into_response()
        }
        Some("slow-first") => "done quickly".into_response(),
        Some("gone") => (StatusCode::GONE, "gone for good").into_response(),
        _ => (StatusCode::NOT_FOUND, "no such path").into_response(),
    };
    let mut log = state.log.lock().unwrap();
    log.in_flight -= 1;
    log.requests[index].answered = Some(state.started.elapsed());
    response
}
