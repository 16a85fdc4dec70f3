//! No secret reaches a log: a realistic run of every feature that handles one, on the real
//! binaries logging at `debug` (their own code and every library's), then every process's
//! whole log searched for every secret it saw.
//!
//! The run: an API key; gateway endpoints (Stripe and Standard Webhooks) with a secret rotated,
//! signed deliveries applied and a forged one refused; a task signing secret and HTTP tasks
//! carrying an `Authorization` header and a token in their URL's query, failing once, then
//! delivered; an event endpoint whose URL holds a key, answering 503 + `Retry-After` once; an
//! email sent through a STARTTLS sink that requires AUTH (the password in the SMTP URL), opened,
//! clicked and unsubscribed; a certificate verified at `/v/{code}`; `/metrics` scraped with its
//! token. The sealing key, the tracking key and the metrics token are set by the operator.
//! The embedded deployment logs text, the production one JSON.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use longshore_testkit::SmtpSink;
use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::in_both_modes;

const DEADLINE: Duration = Duration::from_secs(120);

/// A fresh random-looking value (hex), unique to this run and label.
fn unique(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    hex::encode(Sha256::digest(format!(
        "{label}.{nanos}.{}",
        std::process::id()
    )))
}

/// Every secret the run handled, with a name for failure messages.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: &str, value: &str) {
        assert!(
            value.len() >= 8,
            "{name} is too short to search for: {value:?}"
        );
        self.0.push((name.to_owned(), value.to_owned()));
    }

    /// A `whsec_` secret: the whole value and its base64 part.
    fn add_whsec(&mut self, name: &str, value: &str) {
        self.add(name, value);
        if let Some(key) = value.strip_prefix("whsec_") {
            self.add(&format!("{name} (base64 part)"), key);
        }
    }

    /// The names of the secrets that occur in `text`.
    fn found_in(&self, text: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, v)| text.contains(v.as_str()))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Every process log of the stack (`NN-name.log` in its folder), by file name.
fn process_logs(dir: &Path) -> Vec<(String, String)> {
    let mut logs: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the stack's folder")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect();
    logs.sort();
    logs
}

/// The last path segment of a `/t/x/<token>` or `/v/<code>` path.
fn tail(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

async fn no_secret_in_any_log(mode: Mode) {
    let mut secrets = Secrets::default();
    let sealing_key = BASE64.encode(&Sha256::digest(unique("sealing"))[..]);
    let tracking_key = unique("tracking");
    let metrics_token = unique("metrics");
    let smtp_password = unique("smtp");
    secrets.add("LONGSHORE_SECRETS_KEYS key", &sealing_key);
    secrets.add("LONGSHORE_TRACKING_KEYS secret", &tracking_key);
    secrets.add("LONGSHORE_METRICS_TOKEN", &metrics_token);
    secrets.add("SMTP password", &smtp_password);

    let log_format = match mode {
        Mode::Embedded => "text",
        Mode::Production => "json",
    };
    let sink = SmtpSink::start_tls("mailer", &smtp_password);
    let smtp_url = format!(
        "smtp://mailer:{smtp_password}@127.0.0.1:{}?tls=required",
        sink.port()
    );
    let ca = SmtpSink::tls_ca_file();
    let mut stack = Stack::builder(mode)
        .env("RUST_LOG", "debug")
        // Both log formats: text on the embedded deployment, JSON on the production one.
        .env("LONGSHORE_LOG_FORMAT", log_format)
        .env("LONGSHORE_SECRETS_KEYS", &format!("s1:{sealing_key}"))
        .env("LONGSHORE_TRACKING_KEYS", &format!("t1:{tracking_key}"))
        .env("LONGSHORE_METRICS_TOKEN", &metrics_token)
        .env("LONGSHORE_SMTP_URL", &smtp_url)
        .env("LONGSHORE_SMTP_CA_FILE", ca.to_str().unwrap())
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .env("LONGSHORE_EVENT_RETRY_SCHEDULE", "0s,1s,1s,2s")
        .env("LONGSHORE_EVENT_POLL_MS", "100")
        .env("LONGSHORE_TRACKING_PREFETCH_WINDOW_MS", "0")
        .env("LONGSHORE_TRACKING_SCANNER_WINDOW_MS", "0")
        .start()
        .await;
    let _scheduler = stack.spawn_scheduler();
    let client = crate::email::tenant(&stack, "acme").await;
    let key = client.key().unwrap().to_owned();
    secrets.add("API key", &key);
    secrets.add(
        "API key (secret part)",
        key.rsplit('_').next().unwrap_or_default(),
    );
    let anon = stack.anonymous();

    // An event endpoint first, so that everything below sends it events.
    let app = longshore_tests::receiver::Receiver::start().await;
    let event_key = unique("event-url-key");
    secrets.add("event endpoint URL key", &event_key);
    let (_, event_secret) = crate::events::endpoint(
        &client,
        &app.url(&format!("/retry-after/1?key={event_key}")),
        json!([]),
    )
    .await;
    secrets.add_whsec("event endpoint secret", &event_secret);

    // Gateway webhooks: both schemes, a rotation, signed deliveries and a forged one.
    for provider in ["stripe", "standard"] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        secrets.add_whsec(&format!("{provider} webhook secret"), &gw.secret);
        let rotated = client
            .post(
                &format!("/v1/webhook-endpoints/{}/rotate-secret", gw.endpoint_id),
                &json!({"overlap_secs": 3600}),
            )
            .await;
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
        secrets.add_whsec(&format!("{provider} rotated webhook secret"), &new_secret);
        let gw = gw.with_secret(&new_secret);
        let pay = crate::webhooks::payment(&client, 1000, None).await;
        let body = gw.event(
            &format!("evt_{provider}_1"),
            crate::webhooks::succeeded_type(&gw),
            now_secs(),
            crate::webhooks::about(&gw, &pay, json!({"amount": 1000, "amount_received": 1000})),
        );
        let id = crate::webhooks::deliver(&gw, &format!("evt_{provider}_1"), &body).await;
        crate::webhooks::wait_event(&client, &id, "processed").await;
        let forged = gw
            .with_secret("whsec_Zm9yZ2VkIGtleSBmb3IgdGhlIHRlc3Q=")
            .deliver("evt_forged", &body)
            .await;
        assert_eq!(forged.status, 400, "{}", forged.text);
        assert!(secrets.found_in(&forged.text).is_empty(), "{}", forged.text);
    }

    // HTTP tasks: signed, with a secret header and a token in the query, failing once.
    let r = client.post_empty("/v1/task-signing-secret").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let task_secret = r.body["secret"].as_str().unwrap().to_owned();
    secrets.add_whsec("task signing secret", &task_secret);
    crate::http_tasks::queue(&client, "hooks-out", crate::http_tasks::quick_retries()).await;
    let url_token = unique("task-url-token");
    let bearer = unique("task-header");
    secrets.add("task URL token", &url_token);
    secrets.add("task Authorization header", &bearer);
    let task = crate::http_tasks::task(
        &client,
        "hooks-out",
        &app.url(&format!("/fail/1?token={url_token}")),
        json!({"http_request": {"url": app.url(&format!("/fail/1?token={url_token}")),
            "body_text": "{\"n\": 1}",
            "headers": {"Content-Type": "application/json", "Authorization": format!("Bearer {bearer}")}}}),
    )
    .await;
    crate::http_tasks::wait_status(&client, &task, "succeeded").await;
    let delivered = app.for_task(&task);
    assert_eq!(delivered.len(), 2, "failed once, then delivered");
    assert!(crate::http_tasks::signature_valid(
        &delivered[1],
        &task_secret
    ));
    assert_eq!(
        delivered[1].header("authorization"),
        Some(format!("Bearer {bearer}").as_str())
    );

    // Email through the authenticated sink: opened, clicked, unsubscribed.
    let html = "<p>Hello</p><a href=\"https://example.com/pricing\">Pricing</a>";
    let email = crate::email::send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Tracked", "html": html}),
    )
    .await;
    let email_id = email["id"].as_str().unwrap().to_owned();
    crate::email::wait_status(&client, &email_id, "sent").await;
    let received = sink.wait_for(1, DEADLINE);
    let msg = crate::email::parse(&received[0].data);
    let body = msg.body_html(0).unwrap().into_owned();
    let opens = crate::email::tracking_paths(&body, "o");
    let clicks = crate::email::tracking_paths(&body, "c");
    let unsubscribe = crate::email::unsubscribe_path(&msg);
    assert_eq!((opens.len(), clicks.len()), (1, 1), "{body}");
    for path in opens.iter().chain(&clicks).chain([&unsubscribe]) {
        secrets.add(&format!("tracking token of {}", &path[..4]), tail(path));
    }
    let browser = crate::email::BROWSER;
    let open = anon
        .send(reqwest::Method::GET, &opens[0], |r| {
            r.header("user-agent", browser)
        })
        .await;
    assert_eq!(open.status, 200);
    let click = anon
        .send(reqwest::Method::GET, &clicks[0], |r| {
            r.header("user-agent", browser)
        })
        .await;
    assert_eq!(click.status, 302);
    assert_eq!(anon.get(&unsubscribe).await.status, 200);
    let unsubscribed = anon
        .send(reqwest::Method::POST, &unsubscribe, |r| {
            r.header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
        })
        .await;
    assert_eq!(unsubscribed.status, 200, "{}", unsubscribed.text);
    crate::email::wait_email(&client, &email_id, "the open and the click", |e| {
        e["counters"]["opens"].as_u64() >= Some(1) && e["counters"]["clicks"].as_u64() >= Some(1)
    })
    .await;

    // A certificate, verified publicly (JSON and HTML), and an unknown code.
    let doc =
        crate::documents::create(&client, &crate::documents::certificate("Ada Lovelace")).await;
    let code = doc["verification_code"].as_str().unwrap().to_owned();
    secrets.add("verification code", &code);
    secrets.add("verification code (plain)", &code.replace('-', ""));
    secrets.add("verification code (lower case)", &code.to_lowercase());
    crate::documents::wait_status(&client, doc["id"].as_str().unwrap(), "ready").await;
    let verified = anon
        .send(reqwest::Method::GET, &format!("/v/{code}"), |r| {
            r.header("accept", "application/json")
        })
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(
        anon.get(&format!("/v/{}", code.to_lowercase()))
            .await
            .status,
        200
    );

    // Events reached the app, after one 503 each; signed with the endpoint's secret.
    let event = eventually(DEADLINE, "an event delivered after a 503", || async {
        let requests: Vec<_> = app
            .requests()
            .into_iter()
            .filter(|r| r.path == "/retry-after/1")
            .collect();
        requests
            .iter()
            .find(|r| {
                requests
                    .iter()
                    .filter(|o| o.header("webhook-id") == r.header("webhook-id"))
                    .count()
                    >= 2
            })
            .cloned()
    })
    .await;
    assert!(crate::http_tasks::signature_valid(&event, &event_secret));

    // Metrics, scraped with the token, hold none of it.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", stack.base_url()))
        .bearer_auth(&metrics_token)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.unwrap();
    assert!(
        secrets.found_in(&metrics).is_empty(),
        "metrics: {:?}",
        secrets.found_in(&metrics)
    );

    // Let the last deliveries and writes log what they log, then read every process's log.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let logs = process_logs(stack.dir());
    let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("api.log"))
            && names.iter().any(|n| n.ends_with("worker.log"))
            && names.iter().any(|n| n.ends_with("scheduler.log")),
        "{names:?}"
    );
    let mut leaks = Vec::new();
    for (name, text) in &logs {
        assert!(
            text.contains("DEBUG"),
            "{name} was not logging at debug level"
        );
        for secret in secrets.found_in(text) {
            let line = text
                .lines()
                .find(|l| secrets.found_in(l).contains(&secret))
                .unwrap_or_default();
            leaks.push(format!("{name}: {secret}: {line}"));
        }
    }
    assert!(leaks.is_empty(), "secrets in logs:\n{}", leaks.join("\n"));
    // The redacted forms are what the request spans show instead.
    let api_log = &logs.iter().find(|(n, _)| n.ends_with("api.log")).unwrap().1;
    assert!(
        api_log.contains("/t/u/…redacted") && api_log.contains("/v/…redacted"),
        "the unsubscribe's and the lookup's spans are logged, redacted"
    );
}

in_both_modes!(no_secret_reaches_a_log, no_secret_in_any_log);
