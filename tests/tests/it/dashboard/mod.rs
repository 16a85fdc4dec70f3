//! The operators' dashboard on the real API binary: over HTTP ([`session`]: only an operator
//! key logs in, the session cookie is locked down, every page carries the strict CSP;
//! [`actions`]: POSTs need this origin and the session's CSRF token, payloads are escaped, a dead
//! job retried from the dashboard runs again, every action is in the audit log, lists page;
//! [`bulk`]: retry or cancel every job matching a filter as a tracked operation; [`pages`]:
//! schedules, payment webhooks, events, find by id), and in headless Chromium ([`browser`],
//! [`browser_bulk`]). What they share is here.

mod actions;
mod browser;
mod browser_bulk;
mod bulk;
mod history;
mod pages;
mod session;

use std::time::Duration;

use longshore_tests::{Client, Mode, Stack};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const OPERATOR_SECRET: &str = "op-secret-0123456789abcdef0123456789abcdef";
pub const DEADLINE: Duration = Duration::from_secs(60);
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

pub async fn stack(mode: Mode) -> Stack {
    Stack::builder(mode)
        .env("LONGSHORE_ADMIN_KEY", &format!("ops:{OPERATOR_SECRET}"))
        .workers(1)
        .start()
        .await
}

/// A tenant made through `/v1/admin`: its id and a client with its key.
pub async fn onboard(stack: &Stack, name: &str) -> (String, Client) {
    let op = Client::new(&stack.base_url(), Some(OPERATOR_SECRET.to_owned()));
    let created = op.post("/v1/admin/tenants", &json!({"name": name})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let tenant = created.body["id"].as_str().unwrap().to_owned();
    let issued = op
        .post(&format!("/v1/admin/tenants/{tenant}/keys"), &json!({}))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let token = issued.body["token"].as_str().unwrap().to_owned();
    (tenant, Client::new(&stack.base_url(), Some(token)))
}

/// A dashboard answer.
pub struct Page {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let start = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.text))
            + "name=\"csrf\" value=\"".len();
        let end = self.text[start..].find('"').unwrap() + start;
        self.text[start..end].to_owned()
    }
}

/// A browser-like client of the dashboard: no redirects followed, the session cookie kept by
/// hand; asserts the security headers on every answer.
pub struct Dashboard {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Dashboard {
    fn new(stack: &Stack) -> Dashboard {
        Dashboard {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: stack.base_url(),
            cookie: None,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", format!("longshore_dashboard={c}")),
            None => req,
        };
        let resp = req.send().await.expect("request");
        let page = Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap_or_default(),
        };
        assert_eq!(
            page.header("content-security-policy"),
            Some(CSP),
            "CSP on every answer"
        );
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        page
    }

    async fn get(&self, path: &str) -> Page {
        let page = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await;
        if page
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
        {
            assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
            assert_no_inline_code(&page.text);
        }
        page
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded(form));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// Logs in with `key`; keeps the session cookie on success.
    async fn login(&mut self, key: &str) -> Page {
        let page = self.post("/dashboard/login", &[("key", key)], &[]).await;
        if page.status == 303 {
            let set = page.header("set-cookie").expect("a session cookie");
            let value = set
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix("longshore_dashboard="))
                .expect("the longshore_dashboard cookie");
            self.cookie = Some(value.to_owned());
        }
        page
    }
}

fn serde_urlencoded(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// No inline script or style: every `<script>` has a `src`, no `<style>`, no `style=`, no
/// `on…=` handler attributes.
fn assert_no_inline_code(html: &str) {
    for (i, _) in html.match_indices("<script") {
        let tag_end = html[i..].find('>').unwrap() + i;
        assert!(html[i..tag_end].contains(" src="), "inline script: {html}");
    }
    assert!(!html.contains("<style"), "inline style: {html}");
    assert!(!html.contains(" style="), "inline style attribute: {html}");
    assert!(!html.contains(" onclick="), "inline handler: {html}");
}

/// Submits `n` copies of `job` (32 at a time); returns their ids.
pub async fn submit_many(client: &Client, n: usize, job: Value) -> Vec<String> {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|_| client.submit(job.clone()))
        .buffer_unordered(32)
        .collect()
        .await
}

/// How many of the tenant's jobs of `job_type` are in `state`, through the jobs API.
pub async fn count_jobs(client: &Client, state: &str, job_type: &str) -> usize {
    let mut n = 0;
    let mut cursor = String::new();
    loop {
        let mut path = format!("/v1/jobs?state={state}&type={job_type}&limit=100");
        if !cursor.is_empty() {
            path.push_str(&format!("&cursor={}", enc(&cursor)));
        }
        let r = client.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        n += r.body["data"].as_array().map_or(0, Vec::len);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return n,
        }
    }
}

/// Waits until `n` of the tenant's jobs of `job_type` are in `state`.
pub async fn wait_for_count(client: &Client, state: &str, job_type: &str, n: usize) {
    let deadline = 3 * DEADLINE;
    longshore_tests::eventually(
        deadline,
        &format!("{n} {job_type} jobs {state}"),
        || async { (count_jobs(client, state, job_type).await == n).then_some(()) },
    )
    .await;
}

pub async fn audit_actions(stack: &Stack) -> Vec<Value> {
    let op = Client::new(&stack.base_url(), Some(OPERATOR_SECRET.to_owned()));
    let r = op.get("/v1/admin/audit?limit=100").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}
