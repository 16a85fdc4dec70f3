//! Emails through `POST /v1/emails` to the SMTP sink, some to recipients that bounce; and the
//! reader who opens a third of them and clicks their link (tracking through the API's public
//! `/t/o/…` and `/t/c/…` routes).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use longshore_testkit::SmtpSink;
use mail_parser::MessageParser;
use rand::Rng;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Ctx, SUBMIT_DEADLINE};
use crate::ledger::{Email, TrackingHit};
use crate::tenant::BOUNCES;

/// Subjects of emails the reader opens end with this.
const TRACKED: &str = "(tracked)";

/// Which email to send.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// To one of [`BOUNCES`] (index).
    bounce: Option<usize>,
    tracked: bool,
}

impl Mix {
    pub fn pick(rng: &mut impl Rng) -> Mix {
        let bounce = rng
            .random_bool(0.04)
            .then(|| rng.random_range(0..BOUNCES.len()));
        Mix {
            bounce,
            tracked: bounce.is_none() && rng.random_bool(0.33),
        }
    }
}

/// Submits email `n` and records it once accepted.
pub async fn submit(ctx: Ctx, n: u64, mix: Mix) {
    let to = match mix.bounce {
        Some(i) => BOUNCES[i].to_owned(),
        None => format!("reader-{n}@soak.example"),
    };
    let subject = if mix.tracked {
        format!("Soak #{n} {TRACKED}")
    } else {
        format!("Soak #{n}")
    };
    let body = json!({
        "to": [to], "subject": subject,
        "html": format!("<p>Hello reader {n}.</p><p><a href=\"https://soak.example/read/{n}\">Read more</a></p>"),
        "track_opens": true, "track_clicks": true, "tags": ["soak"], "metadata": {"n": n.to_string()},
    });
    if let Some(id) = ctx
        .create("emails", "/v1/emails", &body, &format!("email-{n}"))
        .await
    {
        ctx.ledger.lock().emails.push(Email {
            id,
            bounces: mix.bounce.is_some(),
        });
    }
}

/// The reader: watches the sink and, for each tracked email's first copy, loads the open pixel
/// and follows the first tracked link, as a mail client and a person would.
pub struct Tracker {
    ctx: Ctx,
    sink: Arc<SmtpSink>,
    http: reqwest::Client,
    base: String,
}

impl Tracker {
    pub fn new(ctx: Ctx, sink: Arc<SmtpSink>) -> Tracker {
        let base = ctx.api.base().to_owned();
        Tracker {
            ctx,
            sink,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base,
        }
    }

    /// Reads new messages every second until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut read = 0;
        let mut opened: HashSet<String> = HashSet::new();
        let mut hits = tokio::task::JoinSet::new();
        while !stop.is_cancelled() {
            let messages = self.sink.messages();
            for m in messages.iter().skip(read) {
                let Some((email_id, paths)) = tracked_paths(&m.data) else {
                    continue;
                };
                if !opened.insert(email_id.clone()) {
                    continue;
                }
                for (path, click) in paths {
                    let hit = Hit {
                        http: self.http.clone(),
                        url: format!("{}{path}", self.base),
                        email_id: email_id.clone(),
                        click,
                        ctx: self.ctx.clone(),
                    };
                    hits.spawn(hit.send());
                }
            }
            read = messages.len();
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        while hits.join_next().await.is_some() {}
    }
}

/// One open or click, retried through API restarts for up to a minute.
struct Hit {
    http: reqwest::Client,
    url: String,
    email_id: String,
    click: bool,
    ctx: Ctx,
}

impl Hit {
    async fn send(self) {
        let deadline = tokio::time::Instant::now() + SUBMIT_DEADLINE;
        while tokio::time::Instant::now() < deadline {
            let r = self
                .http
                .get(&self.url)
                .header(
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                )
                .send()
                .await;
            if let Ok(r) = r
                && matches!(r.status().as_u16(), 200 | 302)
            {
                self.ctx.ledger.lock().tracking.push(TrackingHit {
                    email_id: self.email_id,
                    click: self.click,
                    at: chrono::Utc::now(),
                });
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        self.ctx
            .ledger
            .gave_up("opens/clicks", &self.url, "no 200/302 answer");
    }
}

/// For a tracked message: its email id and the paths of its open pixel and first tracked link
/// (`/t/o/…` with `false`, `/t/c/…` with `true`).
fn tracked_paths(raw: &[u8]) -> Option<(String, Vec<(String, bool)>)> {
    let message = MessageParser::default().parse(raw)?;
    if !message.subject()?.ends_with(TRACKED) {
        return None;
    }
    let email_id = message
        .header("X-Longshore-Email-Id")?
        .as_text()?
        .trim()
        .to_owned();
    let html = message.body_html(0)?;
    let paths = [("/t/o/", false), ("/t/c/", true)]
        .into_iter()
        .filter_map(|(needle, click)| {
            let at = html.find(needle)?;
            let tail = &html[at..];
            let end = tail.find(['"', '\'', ' ', '>']).unwrap_or(tail.len());
            Some((tail[..end].replace("&amp;", "&"), click))
        })
        .collect();
    Some((email_id, paths))
}
