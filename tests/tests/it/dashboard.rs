//! The operators' dashboard over HTTP, on the real API binary: only an operator key logs in,
//! the session cookie is locked down, every page carries the strict CSP, POSTs need this
//! origin and the session's CSRF token, payloads are escaped, a dead job retried from the
//! dashboard runs again, and every action is in the audit log.

use std::time::Duration;

use longshore_tests::{Client, Mode, Stack, eventually};

use crate::in_both_modes;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const OPERATOR_SECRET: &str = "op-secret-0123456789abcdef0123456789abcdef";
const DEADLINE: Duration = Duration::from_secs(60);
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
struct Page {
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
struct Dashboard {
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

async fn audit_actions(stack: &Stack) -> Vec<Value> {
    let op = Client::new(&stack.base_url(), Some(OPERATOR_SECRET.to_owned()));
    let r = op.get("/v1/admin/audit?limit=100").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_operators_log_in_and_the_session_is_locked_down() {
    let stack = stack(Mode::Embedded).await;
    let (_tenant, tenant_client) = onboard(&stack, "Acme").await;
    let mut dash = Dashboard::new(&stack);

    // Without a session every page is a 303 to the login page, unknown ones included.
    for path in [
        "/dashboard",
        "/dashboard/jobs",
        "/dashboard/audit",
        "/dashboard/nope",
    ] {
        let r = dash.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/dashboard/login"), "{path}");
    }
    let form = dash.get("/dashboard/login").await;
    assert_eq!(form.status, 200);
    assert!(form.text.contains("htmx-2.0.11.min.js"), "{}", form.text);
    assert!(form.text.contains(r#""includeIndicatorStyles":false"#));
    let js = dash.get("/dashboard/assets/htmx-2.0.11.min.js").await;
    assert_eq!(js.status, 200);
    assert!(js.header("cache-control").unwrap().contains("immutable"));

    // A tenant key and a wrong key get the form again, 401, and no cookie.
    let r = dash.login(tenant_client.key().unwrap()).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("tenant API key"), "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    let r = dash.login(&"x".repeat(40)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("not valid"), "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    assert!(!r.text.contains(&"x".repeat(40)), "the key is never echoed");

    // The operator key opens a session whose cookie is Secure, HttpOnly, SameSite=Strict,
    // scoped to /dashboard.
    let r = dash.login(OPERATOR_SECRET).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/dashboard"));
    let cookie = r.header("set-cookie").unwrap().to_owned();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.split("; ").any(|p| p == flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains(OPERATOR_SECRET));

    let overview = dash.get("/dashboard").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    for queue in ["default", "email", "documents"] {
        assert!(
            overview.text.contains(&format!("<td>{queue}</td>")),
            "{queue}"
        );
    }
    assert!(overview.text.contains(r#"hx-trigger="every 5s""#));
    assert!(overview.text.contains("hx-headers="));
    let fragment = dash.get("/dashboard/fragments/queues").await;
    assert_eq!(fragment.status, 200);
    assert!(
        fragment.text.trim_start().starts_with("<table"),
        "{}",
        fragment.text
    );
    for path in ["/dashboard/jobs", "/dashboard/tenants", "/dashboard/audit"] {
        let r = dash.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let missing = dash.get("/dashboard/nope").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.text.contains("<h1>Not found</h1>"),
        "{}",
        missing.text
    );

    // Logout needs the CSRF token too; afterwards the same cookie opens nothing.
    let csrf = overview.csrf();
    assert_eq!(dash.post("/dashboard/logout", &[], &[]).await.status, 403);
    let r = dash
        .post("/dashboard/logout", &[("csrf", &csrf)], &[])
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = dash.get("/dashboard").await;
    assert_eq!(r.status, 303, "a closed session opens nothing");

    // The log has both refusals (what was presented, never the key) and the session.
    let entries = audit_actions(&stack).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "dashboard.login_failed",
        "dashboard.login",
        "dashboard.logout",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let failed: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "dashboard.login_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed.iter().all(|e| e["client_ip"] == "127.0.0.1"),
        "{failed:?}"
    );
    let login = entries
        .iter()
        .find(|e| e["action"] == "dashboard.login")
        .unwrap();
    assert_eq!(login["actor"], "ops");
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains(OPERATOR_SECRET) && !all.contains(&"x".repeat(40)));

    // A guesser is slowed down: 20 attempts a minute per client (3 made above), then 429,
    // for the right key too, and nothing more in the log.
    let mut refused = 0;
    while dash.login(&"y".repeat(40)).await.status == 401 {
        refused += 1;
        assert!(refused <= 20, "never limited");
    }
    assert!(refused >= 17, "limited after {refused} more attempts");
    let limited = dash.login(OPERATOR_SECRET).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(limited.header("retry-after").is_some());
    assert!(limited.header("set-cookie").is_none());
    assert!(limited.text.contains("Too many login attempts"));
    let failed_now = audit_actions(&stack)
        .await
        .iter()
        .filter(|e| e["action"] == "dashboard.login_failed")
        .count();
    assert_eq!(failed_now, 2 + refused, "limited attempts are not logged");
}

async fn dead_job_retried(mode: Mode) {
    let stack = stack(mode).await;
    let (tenant, client) = onboard(&stack, "Acme <b>Cranes</b>").await;
    let id = client
        .submit(json!({
            "type": "diagnostic.sleep",
            "payload": {"fail_times": 1, "note": "<script>alert(1)</script>"},
            "max_attempts": 1,
        }))
        .await;
    client.wait_for_state(&id, "dead", DEADLINE).await;

    let mut dash = Dashboard::new(&stack);
    assert_eq!(dash.login(OPERATOR_SECRET).await.status, 303);

    // The tenant picker escapes the tenant's name; the dead job is listed.
    let jobs = dash.get("/dashboard/jobs").await;
    assert!(
        jobs.text.contains("Acme &lt;b&gt;Cranes&lt;&#x2f;b&gt;"),
        "{}",
        jobs.text
    );
    assert!(!jobs.text.contains("<b>Cranes"));
    let listed = dash
        .get(&format!("/dashboard/jobs?tenant={tenant}&state=dead"))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(listed.text.contains(&id), "{}", listed.text);

    // The payload is shown as text.
    let path = format!("/dashboard/jobs/{tenant}/{id}");
    let page = dash.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(page.text.contains(r#"id="retry""#));
    let csrf = page.csrf();

    // Without the token, with a wrong one, or from another origin: 403 and nothing changes.
    let retry = format!("{path}/retry");
    let refused = [
        dash.post(&retry, &[], &[]).await,
        dash.post(&retry, &[("csrf", "0".repeat(64).as_str())], &[])
            .await,
        dash.post(&retry, &[], &[("x-csrf-token", "nope")]).await,
        dash.post(
            &retry,
            &[("csrf", &csrf)],
            &[("origin", "http://evil.example")],
        )
        .await,
        dash.post(
            &retry,
            &[("csrf", &csrf)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await,
        dash.post(&retry, &[("csrf", &csrf)], &[("origin", "null")])
            .await,
    ];
    for r in &refused {
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.text.contains("Forbidden"), "{}", r.text);
    }
    assert_eq!(client.job(&id).await["state"], "dead", "nothing changed");

    // With the token (the hidden field, as the form sends it) the job runs again.
    let r = dash
        .post(
            &retry,
            &[("csrf", &csrf)],
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("{path}?notice=retried").as_str())
    );
    let job = client.wait_for_state(&id, "succeeded", DEADLINE).await;
    assert_eq!(job["attempts"], 2);
    let done = dash.get(&path).await;
    assert!(
        done.text.contains(r#"id="job-state">succeeded<"#),
        "{}",
        done.text
    );
    assert!(!done.text.contains(r#"id="retry""#));

    // A retry of a job that is not dead any more is refused with a page, not an error.
    let again = dash.post(&retry, &[("csrf", &csrf)], &[]).await;
    assert_eq!(again.status, 409, "{}", again.text);

    // htmx requests carry the token in a header: cancel a job scheduled for later that way.
    let run_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let later = client
        .submit(json!({"type": "diagnostic.noop", "run_at": run_at}))
        .await;
    let r = dash
        .post(
            &format!("/dashboard/jobs/{tenant}/{later}/cancel"),
            &[],
            &[("x-csrf-token", &csrf), ("hx-request", "true")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(client.job(&later).await["state"], "cancelled");

    // Tenants: disable from the tenant page (CSRF too), and the tenant's key is refused.
    let tenant_page = dash.get(&format!("/dashboard/tenants/{tenant}")).await;
    assert!(
        tenant_page.text.contains(r#"id="disable""#),
        "{}",
        tenant_page.text
    );
    let disable = format!("/dashboard/tenants/{tenant}/disable");
    assert_eq!(dash.post(&disable, &[], &[]).await.status, 403);
    let r = dash.post(&disable, &[("csrf", &csrf)], &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let disabled = dash.get(&format!("/dashboard/tenants/{tenant}")).await;
    assert!(
        disabled.text.contains("disabled since"),
        "{}",
        disabled.text
    );
    eventually(DEADLINE, "the disabled tenant's key refused", || async {
        (client.get("/v1/jobs?limit=1").await.status == 401).then_some(())
    })
    .await;

    // The audit log, on the dashboard and through the API, names each action and its target.
    let audit = dash.get("/dashboard/audit").await;
    for action in [
        "job.retry",
        "job.cancel",
        "tenant.disabled",
        "dashboard.login",
    ] {
        assert!(audit.text.contains(action), "{action}: {}", audit.text);
    }
    let entries = audit_actions(&stack).await;
    let retried: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "job.retry")
        .collect();
    assert_eq!(
        retried.len(),
        1,
        "refused attempts are not actions: {entries:?}"
    );
    assert_eq!(retried[0]["target"], id.as_str());
    assert_eq!(retried[0]["actor"], "ops");
    let cancelled = entries
        .iter()
        .find(|e| e["action"] == "job.cancel")
        .unwrap();
    assert_eq!(cancelled["target"], later.as_str());
}
in_both_modes!(
    a_dead_job_is_retried_from_the_dashboard_with_its_payload_escaped,
    dead_job_retried
);
