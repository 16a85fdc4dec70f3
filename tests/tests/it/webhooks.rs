//! Webhook intake over the real binaries: signatures of both schemes, deduplication under
//! concurrency, secret rotation, Redis down during intake, a worker killed mid-apply.

use std::time::Duration;

use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use crate::in_both_modes;

/// Creates a payment and returns its id.
pub async fn payment(client: &Client, amount: i64, email: Option<&str>) -> String {
    let r = client
        .post("/v1/payments", &json!({"amount": amount, "currency": "EUR", "reference": "order-1", "customer_email": email}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// The payment object of a gateway event about `payment`, in the gateway's format.
pub fn about(gw: &Gateway, payment: &str, extra: Value) -> Value {
    let mut data = if gw.provider == "stripe" {
        json!({"id": "pi_1", "object": "payment_intent", "currency": "eur", "metadata": {"longshore_payment_id": payment}})
    } else {
        json!({"payment_id": payment})
    };
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    data
}

/// The success event type of the gateway's provider.
pub fn succeeded_type(gw: &Gateway) -> &'static str {
    if gw.provider == "stripe" {
        "payment_intent.succeeded"
    } else {
        "payment.succeeded"
    }
}

/// Waits until inbox row `id` has `status`; returns the row.
pub async fn wait_event(client: &Client, id: &str, status: &str) -> Value {
    eventually(
        Duration::from_secs(60),
        &format!("event {id} to be {status}"),
        || async {
            let r = client.get(&format!("/v1/webhook-events/{id}")).await;
            (r.status == 200 && r.body["status"] == status).then_some(r.body)
        },
    )
    .await
}

/// Delivers an event (asserting it is accepted as new) and returns its inbox id.
pub async fn deliver(gw: &Gateway, id: &str, body: &[u8]) -> String {
    let r = gw.deliver(id, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["duplicate"], false, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn signatures(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    for provider in ["stripe", "standard"] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        let body = gw.event(
            "evt_sig_1",
            "customer.created",
            now_secs(),
            json!({"id": "cus_1"}),
        );
        let respaced =
            serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
        let mut tampered = body.clone();
        tampered.extend_from_slice(b" ");
        let now = now_secs();
        let refused = [
            (
                "tampered",
                gw.deliver_signed("evt_sig_1", &tampered, &body, now).await,
            ),
            (
                "re-serialised",
                gw.deliver_signed("evt_sig_1", &respaced, &body, now).await,
            ),
            (
                "expired",
                gw.deliver_signed("evt_sig_1", &body, &body, now - 400)
                    .await,
            ),
            (
                "future-dated",
                gw.deliver_signed("evt_sig_1", &body, &body, now + 400)
                    .await,
            ),
            ("unsigned", gw.post_raw(&body, &[]).await),
        ];
        for (what, r) in refused {
            assert_eq!(r.status, 400, "{provider} {what}: {}", r.text);
            assert_eq!(
                r.header("content-type"),
                Some("application/problem+json"),
                "{what}"
            );
            assert_eq!(r.body["status"], 400);
        }
        let listed = client.get("/v1/webhook-events").await;
        assert_eq!(
            listed.body["data"].as_array().map(Vec::len),
            Some(if provider == "stripe" { 0 } else { 1 })
        );
        // Correctly signed: stored; unknown types are marked ignored, not applied.
        let r = gw.deliver("evt_sig_1", &body).await;
        assert_eq!(
            (r.status, &r.body["received"], &r.body["duplicate"]),
            (200, &json!(true), &json!(false)),
            "{}",
            r.text
        );
        let id = r.body["id"].as_str().unwrap().to_owned();
        let again = gw.deliver("evt_sig_1", &body).await;
        assert_eq!(
            (again.status, &again.body["duplicate"]),
            (200, &json!(true)),
            "{}",
            again.text
        );
        let event = wait_event(&client, &id, "ignored").await;
        assert!(
            event["reason"]
                .as_str()
                .unwrap()
                .contains("customer.created"),
            "{event}"
        );
    }
    let nowhere = stack
        .anonymous()
        .post("/hooks/whe_01HZZZZZZZZZZZZZZZZZZZZZZZ", &json!({}))
        .await;
    assert_eq!(nowhere.status, 404, "{}", nowhere.text);
    let r = client
        .post(
            "/hooks/whe_01HZZZZZZZZZZZZZZZZZZZZZZZ",
            &json!({"pad": "x".repeat(2 * 1024 * 1024)}),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
}
in_both_modes!(
    signatures_of_both_schemes_are_checked_over_raw_bytes,
    signatures
);

async fn concurrent(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    for provider in ["stripe", "standard"] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        let pay = payment(&client, 1000, Some("ada@example.com")).await;
        let body = gw.event(
            "evt_same",
            succeeded_type(&gw),
            now_secs(),
            about(&gw, &pay, json!({"amount": 1000})),
        );
        let replies =
            futures::future::join_all((0..50).map(|_| gw.deliver("evt_same", &body))).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{:?}",
            replies.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let fresh: Vec<_> = replies
            .iter()
            .filter(|r| r.body["duplicate"] == false)
            .collect();
        assert_eq!(fresh.len(), 1, "exactly one delivery is new");
        wait_event(&client, fresh[0].body["id"].as_str().unwrap(), "processed").await;
        let p = client.get(&format!("/v1/payments/{pay}")).await.body;
        assert_eq!(p["status"], "succeeded", "{p}");
        assert_eq!(p["amount_captured"], 1000);
        assert_eq!(p["history"].as_array().unwrap().len(), 1, "{p}");
        // The receipt is due once, and says what is missing (this tenant has no sender).
        let p = eventually(Duration::from_secs(30), "the receipt step", || async {
            let p = client.get(&format!("/v1/payments/{pay}")).await.body;
            (p["receipt"]["status"] == "failed").then_some(p)
        })
        .await;
        assert!(
            p["receipt"]["detail"]
                .as_str()
                .unwrap()
                .contains("no sender default"),
            "{p}"
        );
    }
}
in_both_modes!(fifty_concurrent_deliveries_have_one_effect, concurrent);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_secrets_overlap_then_expire() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let old = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let rotate = |overlap: u64| {
        let client = client.clone();
        let path = format!("/v1/webhook-endpoints/{}/rotate-secret", old.endpoint_id);
        async move {
            let r = client.post(&path, &json!({"overlap_secs": overlap})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["secret"].as_str().unwrap().to_owned()
        }
    };
    let new = old.with_secret(&rotate(600).await);
    let body = |n: u32| {
        old.event(
            &format!("evt_rot_{n}"),
            "customer.created",
            now_secs(),
            json!({}),
        )
    };
    assert_eq!(
        old.deliver("evt_rot_1", &body(1)).await.status,
        200,
        "old secret within the overlap"
    );
    assert_eq!(
        new.deliver("evt_rot_2", &body(2)).await.status,
        200,
        "new secret"
    );
    let newest = old.with_secret(&rotate(0).await);
    assert_eq!(
        new.deliver("evt_rot_3", &body(3)).await.status,
        400,
        "retired at once with overlap 0"
    );
    assert_eq!(newest.deliver("evt_rot_4", &body(4)).await.status, 200);
    let listed = client
        .get(&format!("/v1/webhook-endpoints/{}", old.endpoint_id))
        .await;
    assert!(
        listed.body["secret"].is_null(),
        "secrets are shown only once: {}",
        listed.text
    );
    assert!(!listed.text.contains(&newest.secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_during_intake_is_stored_then_swept() {
    let mut stack = Stack::builder(Mode::Production)
        .env("LONGSHORE_WEBHOOK_SWEEP_AFTER_SECS", "1")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let pay = payment(&client, 700, None).await;
    stack.redis().stop();
    let body = gw.event(
        "evt_down",
        "payment_intent.succeeded",
        now_secs(),
        about(&gw, &pay, json!({"amount_received": 700})),
    );
    // The event is durably stored in the database, so 200 is safe: the gateway may stop retrying.
    let id = deliver(&gw, "evt_down", &body).await;
    let stored = client.get(&format!("/v1/webhook-events/{id}")).await;
    assert_eq!(stored.body["status"], "received", "{}", stored.text);
    assert_eq!(
        client.get(&format!("/v1/payments/{pay}")).await.body["status"],
        "pending"
    );
    stack.redis().start_again();
    wait_event(&client, &id, "processed").await;
    let p = client.get(&format!("/v1/payments/{pay}")).await.body;
    assert_eq!(
        (p["status"].as_str(), p["amount_captured"].as_i64()),
        (Some("succeeded"), Some(700)),
        "{p}"
    );
    // Intake's batch job never reached the queue; the sweeper enqueued the row's own job,
    // without a request id.
    let job = client.job(&format!("job_{id}")).await;
    assert!(job["request_id"].is_null(), "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_while_applying_applies_once_after_restart() {
    let mut stack = Stack::builder(Mode::Production)
        .env("LONGSHORE_LEASE_SECS", "3")
        .workers(0)
        .start()
        .await;
    let slow = stack.spawn_worker_with(&[("LONGSHORE_PAYMENTS_APPLY_PAUSE_MS", "60000")]);
    let client = stack.tenant("acme").await;
    let gw = Gateway::create(&client, &stack.base_url(), "standard").await;
    let pay = payment(&client, 1200, None).await;
    let body = gw.event(
        "msg_kill",
        "payment.succeeded",
        now_secs(),
        about(&gw, &pay, json!({})),
    );
    let id = deliver(&gw, "msg_kill", &body).await;
    // The worker has written everything and waits just before COMMIT.
    eventually(
        Duration::from_secs(30),
        "the apply to reach its commit",
        || {
            let out = stack.workers[slow].output();
            async move { out.contains("apply paused before commit").then_some(()) }
        },
    )
    .await;
    stack.workers[slow].kill();
    assert_eq!(
        client.get(&format!("/v1/payments/{pay}")).await.body["status"],
        "pending",
        "nothing committed"
    );
    stack.spawn_worker();
    wait_event(&client, &id, "processed").await;
    let p = client.get(&format!("/v1/payments/{pay}")).await.body;
    assert_eq!(p["status"], "succeeded", "{p}");
    assert_eq!(
        p["history"].as_array().unwrap().len(),
        1,
        "applied exactly once: {p}"
    );
    // Intake enqueues one `payment.apply_events` job per batch, named after its first row.
    let job = client.job(&format!("job_{id}-batch")).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "the killed attempt counted: {job}");
}

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_secrets_are_sealed_at_rest() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let pay = payment(&client, 1000, None).await;
    let body = gw.event(
        "evt_sealed",
        succeeded_type(&gw),
        now_secs(),
        about(&gw, &pay, json!({"amount": 1000})),
    );
    // The API unseals the secret to verify the delivery.
    let id = deliver(&gw, "evt_sealed", &body).await;
    wait_event(&client, &id, "processed").await;
    // Neither the secret nor its key part is anywhere in the data folder (database, WAL, files).
    let data = stack.dir().join("data");
    let key_part = gw.secret.trim_start_matches("whsec_").as_bytes().to_vec();
    let files = files_under(&data);
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "db")),
        "the embedded database is in {}",
        data.display()
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        assert!(
            !bytes
                .windows(key_part.len())
                .any(|w| w == key_part.as_slice()),
            "{} holds the signing secret in plaintext",
            file.display()
        );
    }
    // The generated master key is readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secrets.key"))
            .expect("the generated master key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secrets.key mode {mode:o}");
    }
}

/// Input a gateway (or anyone) can send that the database could not store, or that would cost
/// the API a MAC per candidate, is refused as the client's error, never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_and_oversized_signature_headers_are_refused() {
    let stack = Stack::start(Mode::Production).await;
    let client = stack.tenant("acme").await;
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let nul = gw.event(
        "evt_nul\u{0}",
        "payment_intent.succeeded",
        now_secs(),
        json!({"id": "pi_1", "metadata": {"reference": "ref\u{0}"}}),
    );
    let r = gw.deliver("evt_nul", &nul).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("NUL"), "{}", r.text);
    let body = gw.event(
        "evt_ok",
        "customer.created",
        now_secs(),
        json!({"id": "cus_1"}),
    );
    let many = format!(
        "t={},{}",
        now_secs(),
        vec![format!("v1={}", "00".repeat(32)); 500].join(",")
    );
    let r = gw
        .post_raw(&body, &[("Stripe-Signature".to_owned(), many)])
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("malformed"), "{}", r.text);
    let r = gw.deliver("evt_ok", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
