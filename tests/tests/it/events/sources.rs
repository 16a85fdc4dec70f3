//! Every event family other than email reaches the app after the real action that causes it,
//! with its documented data: documents rendered, revoked and failing, a certificate batch
//! completing (once), payments succeeding and refunded through signed gateway webhooks (one
//! event however many times the gateway delivers the webhook), a report built, and an HTTP
//! task refused with 489.

use chrono::{DateTime, Utc};
use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::receiver::Receiver;
use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use super::{DEADLINE, body, endpoint, stack};
use crate::in_both_modes;

/// The events of `kind` the app received at `/ok` whose `data.<field>` is `id`, in arrival
/// order.
fn received(app: &Receiver, kind: &str, field: &str, id: &str) -> Vec<Value> {
    app.requests()
        .iter()
        .filter(|r| r.path == "/ok")
        .map(body)
        .filter(|e| e["type"] == kind && e["data"][field] == id)
        .collect()
}

/// The first event of `kind` about `id` (`data.<field>`) the app received, waiting for it.
async fn arrived(app: &Receiver, kind: &str, field: &str, id: &str) -> Value {
    eventually(DEADLINE, &format!("{kind} about {id}"), || async {
        received(app, kind, field, id).into_iter().next()
    })
    .await
}

/// Asserts the API lists exactly one event of `event`'s type about `resource`, with the body
/// the app received; waits until its delivery is recorded as succeeded.
async fn recorded_once(client: &Client, event: &Value, resource: &str) {
    let kind = event["type"].as_str().expect("a type");
    let r = client
        .get(&format!("/v1/events?type={kind}&resource_id={resource}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = r.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "one {kind} about {resource}: {}", r.text);
    assert_eq!(listed[0]["id"], event["id"]);
    assert_eq!(listed[0]["resource_id"], resource);
    assert_eq!(listed[0]["payload"], *event);
    let id = event["id"].as_str().expect("an id");
    eventually(DEADLINE, &format!("{id} to be delivered"), || async {
        let r = client.get(&format!("/v1/events/{id}")).await;
        (r.body["deliveries"][0]["status"] == "succeeded").then_some(())
    })
    .await;
}

/// A time in the API's or an event's JSON.
fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
}

/// The bytes served at `path` (an authenticated download).
async fn download(stack: &Stack, client: &Client, path: &str) -> Vec<u8> {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", stack.base_url()))
        .bearer_auth(client.key().expect("a key"))
        .send()
        .await
        .expect("the download");
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.expect("its bytes").to_vec()
}

async fn document_events(mode: Mode) {
    use crate::documents::{certificate, create, wait_status};

    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let client = stack.tenant("Harbour Academy").await;
    endpoint(
        &client,
        &app.url("/ok"),
        json!(["document.*", "certificate_batch.completed"]),
    )
    .await;
    let meta = json!({"learner_id": "L-7", "cohort": "2026-spring"});
    let mut request = certificate("Zoë Ñúñez");
    request["metadata"] = meta.clone();
    let doc = create(&client, &request).await;
    let id = doc["id"].as_str().unwrap().to_owned();
    // A name the certificate fonts cannot draw fails to render, for good.
    let crab_meta = json!({"learner_id": "L-8"});
    let mut request = certificate("Ferris 🦀");
    request["metadata"] = crab_meta.clone();
    let crab = create(&client, &request).await;
    let crab = crab["id"].as_str().unwrap().to_owned();
    let r = client
        .post(
            "/v1/certificate-batches",
            &json!({"course_title": "Harbour Safety 2026", "issued_on": "2026-04-01",
                    "recipients": [{"name": "Ada Lovelace"}, {"name": "Grace Hopper"}, {"name": "Ferris 🦀"}]}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let batch = r.body["id"].as_str().unwrap().to_owned();

    // document.ready: the stored PDF's figures and the request's metadata.
    let ready = wait_status(&client, &id, "ready").await;
    let event = arrived(&app, "document.ready", "document_id", &id).await;
    let d = &event["data"];
    assert_eq!(d["kind"], "certificate", "{event}");
    assert_eq!(d["status"], "ready");
    assert_eq!(d["metadata"], meta);
    assert_eq!(d["verification_url"], doc["verification_url"]);
    assert!(d["verification_url"].as_str().is_some(), "{event}");
    assert_eq!(d["pages"], 1);
    assert_eq!(d["pages"], ready["pages"]);
    assert_eq!(d["bytes"], ready["bytes"]);
    assert_eq!(d["sha256"], ready["sha256"]);
    assert_eq!(instant(&d["rendered_at"]), instant(&ready["rendered_at"]));
    assert_eq!(instant(&d["created_at"]), instant(&ready["created_at"]));
    for absent in ["batch_id", "revoked_at", "failure_reason", "receipt_number"] {
        assert!(d.get(absent).is_none(), "{absent}: {event}");
    }
    recorded_once(&client, &event, &id).await;

    // document.revoked: still `ready`, with the revocation time; revoking again tells nothing.
    let r = client
        .post_empty(&format!("/v1/documents/{id}/revoke"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoked"], true);
    let revoked = arrived(&app, "document.revoked", "document_id", &id).await;
    let d = &revoked["data"];
    assert_eq!(d["status"], "ready", "{revoked}");
    assert_eq!(d["kind"], "certificate");
    assert_eq!(d["metadata"], meta);
    assert_eq!(d["sha256"], ready["sha256"]);
    assert_eq!(instant(&d["revoked_at"]), instant(&r.body["revoked_at"]));
    assert_eq!(instant(&revoked["timestamp"]), instant(&d["revoked_at"]));
    assert_ne!(revoked["id"], event["id"]);
    let again = client
        .post_empty(&format!("/v1/documents/{id}/revoke"))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        instant(&again.body["revoked_at"]),
        instant(&r.body["revoked_at"])
    );
    recorded_once(&client, &revoked, &id).await;

    // document.failed: why, as the document says.
    let failed = wait_status(&client, &crab, "failed").await;
    let event = arrived(&app, "document.failed", "document_id", &crab).await;
    let d = &event["data"];
    assert_eq!(d["status"], "failed", "{event}");
    assert_eq!(d["kind"], "certificate");
    assert_eq!(d["metadata"], crab_meta);
    assert_eq!(d["failure_reason"], failed["failure_reason"]);
    assert!(
        d["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("U+1F980")),
        "{event}"
    );
    for absent in ["pages", "bytes", "sha256", "rendered_at"] {
        assert!(d.get(absent).is_none(), "{absent}: {event}");
    }
    recorded_once(&client, &event, &crab).await;

    // certificate_batch.completed: once, with the counts the batch shows.
    let done = eventually(DEADLINE, "the batch to complete", || async {
        let r = client
            .get(&format!("/v1/certificate-batches/{batch}"))
            .await;
        (r.body["status"] == "completed").then_some(r.body)
    })
    .await;
    assert_eq!(
        (&done["total"], &done["rendered"], &done["failed"]),
        (&json!(3), &json!(2), &json!(1)),
        "{done}"
    );
    let completed = arrived(&app, "certificate_batch.completed", "batch_id", &batch).await;
    let d = &completed["data"];
    assert_eq!(
        (&d["total"], &d["rendered"], &d["failed"]),
        (&done["total"], &done["rendered"], &done["failed"]),
        "{completed}"
    );
    assert!(instant(&d["completed_at"]) >= instant(&done["created_at"]));
    // Each certificate of the batch was told of on its own, naming the batch.
    let ids = done["document_ids"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids.len(), 3, "{done}");
    let mut outcomes = Vec::new();
    for doc in &ids {
        let doc = doc.as_str().unwrap();
        let status = client.get(&format!("/v1/documents/{doc}")).await.body["status"].clone();
        let kind = format!("document.{}", status.as_str().unwrap_or("?"));
        let e = arrived(&app, &kind, "document_id", doc).await;
        assert_eq!(e["data"]["batch_id"], batch.as_str(), "{e}");
        assert_eq!(e["data"]["status"], status);
        outcomes.push(kind);
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        ["document.failed", "document.ready", "document.ready"]
    );
    // Every certificate is final, so every transaction that could record a completion has
    // committed: there is one, delivered once.
    recorded_once(&client, &completed, &batch).await;
    assert_eq!(
        received(&app, "certificate_batch.completed", "batch_id", &batch).len(),
        1
    );
}
in_both_modes!(document_and_batch_events_reach_the_app, document_events);

async fn payment_events(mode: Mode) {
    use crate::webhooks::{about, deliver};

    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let client = stack.tenant("acme").await;
    endpoint(&client, &app.url("/ok"), json!(["payment.*"])).await;
    let t = now_secs() - 60;
    // Stripe (cents, cumulative refunds, a partial refund) and Standard Webhooks (yen, this
    // refund's amount, a full refund).
    for (provider, currency, amount, refunded) in [
        ("stripe", "EUR", 1999, 500),
        ("standard", "JPY", 5000, 5000),
    ] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        let meta = json!({"order": format!("{provider}-42"), "customer": "ada"});
        let reference = format!("order-{provider}");
        let r = client
            .post(
                "/v1/payments",
                &json!({"amount": amount, "currency": currency, "reference": reference, "metadata": meta}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let pay = r.body["id"].as_str().unwrap().to_owned();

        // The gateway delivers its success 50 times at once: one is new, one event results.
        let (paid_id, paid) = if provider == "stripe" {
            let data = about(&gw, &pay, json!({"amount_received": amount}));
            let id = "evt_paid";
            (id, gw.event(id, "payment_intent.succeeded", t, data))
        } else {
            let data = about(&gw, &pay, json!({"amount": amount, "currency": currency}));
            let id = "msg_paid";
            (id, gw.event(id, "payment.succeeded", t, data))
        };
        let replies = futures::future::join_all((0..50).map(|_| gw.deliver(paid_id, &paid))).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{provider}: {:?}",
            replies.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let fresh: Vec<_> = replies
            .iter()
            .filter(|r| r.body["duplicate"] == false)
            .collect();
        assert_eq!(fresh.len(), 1, "{provider}: exactly one delivery is new");
        let inbox = fresh[0].body["id"].as_str().unwrap().to_owned();

        let event = arrived(&app, "payment.succeeded", "payment_id", &pay).await;
        let d = &event["data"];
        assert_eq!(d["status"], "succeeded", "{event}");
        assert_eq!(d["amount"], amount);
        assert_eq!(d["amount_captured"], amount);
        assert_eq!(d["amount_refunded"], 0);
        assert!(d.get("refund_amount").is_none(), "{event}");
        assert_eq!(d["currency"], currency);
        assert_eq!(d["reference"], reference.as_str());
        assert_eq!(d["metadata"], meta);
        assert_eq!(d["webhook_event_id"], inbox.as_str());
        assert_eq!(instant(&d["occurred_at"]).timestamp(), t);
        assert_eq!(instant(&event["timestamp"]).timestamp(), t);

        // A refund: its own amount, and the payment's totals after it.
        let (refund_id, refund) = if provider == "stripe" {
            let data = about(
                &gw,
                &pay,
                json!({"object": "charge", "amount_refunded": refunded}),
            );
            let id = "evt_refund";
            (id, gw.event(id, "charge.refunded", t + 1, data))
        } else {
            let data = about(&gw, &pay, json!({"amount": refunded, "currency": currency}));
            let id = "msg_refund";
            (id, gw.event(id, "refund.succeeded", t + 1, data))
        };
        let refund_inbox = deliver(&gw, refund_id, &refund).await;
        let event_r = arrived(&app, "payment.refunded", "payment_id", &pay).await;
        let d = &event_r["data"];
        let status = if refunded < amount {
            "partially_refunded"
        } else {
            "refunded"
        };
        assert_eq!(d["status"], status, "{event_r}");
        assert_eq!(d["amount"], amount);
        assert_eq!(d["amount_captured"], amount);
        assert_eq!(d["amount_refunded"], refunded);
        assert_eq!(d["refund_amount"], refunded);
        assert_eq!(d["currency"], currency);
        assert_eq!(d["reference"], reference.as_str());
        assert_eq!(d["metadata"], meta);
        assert_eq!(d["webhook_event_id"], refund_inbox.as_str());
        assert_eq!(instant(&d["occurred_at"]).timestamp(), t + 1);
        let p = client.get(&format!("/v1/payments/{pay}")).await.body;
        assert_eq!(p["status"], status, "{p}");
        assert_eq!(p["amount_refunded"], refunded);
        recorded_once(&client, &event_r, &pay).await;

        // One payment.succeeded recorded and received, though the webhook came 50 times.
        recorded_once(&client, &event, &pay).await;
        let got = received(&app, "payment.succeeded", "payment_id", &pay);
        assert_eq!(got.len(), 1, "{provider}: {got:?}");
    }
    // Nothing else about payments was recorded or told: one success and one refund each.
    let listed = client.get("/v1/events?type=payment.succeeded").await;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.text
    );
    let all: Vec<String> = app
        .requests()
        .iter()
        .map(body)
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        all.iter().filter(|t| *t == "payment.succeeded").count(),
        2,
        "{all:?}"
    );
    assert_eq!(all.len(), 4, "{all:?}");
}
in_both_modes!(payment_events_reach_the_app_once_per_change, payment_events);

async fn report_and_task_events(mode: Mode) {
    use crate::http_tasks::{queue, task, tenant, wait_status};
    use crate::reports::wait_ready;

    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let (client, _) = tenant(&stack).await;
    endpoint(
        &client,
        &app.url("/ok"),
        json!(["report.ready", "task.dead"]),
    )
    .await;

    // An HTTP task whose endpoint answers 489 ("do not retry") is dead at its first attempt.
    queue(&client, "sync", json!({})).await;
    let url = app.url("/stop");
    let task_id = task(&client, "sync", &url, json!({"name": "nightly-sync"})).await;
    let from = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let r = client
        .post(
            "/v1/reports",
            &json!({"kind": "payments_summary", "from": from, "to": to, "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let report_id = r.body["id"].as_str().unwrap().to_owned();

    let dead = wait_status(&client, &task_id, "dead").await;
    let event = arrived(&app, "task.dead", "task_id", &task_id).await;
    let d = &event["data"];
    assert_eq!(d["queue"], "sync", "{event}");
    assert_eq!(d["name"], "nightly-sync");
    assert_eq!(d["method"], "POST");
    assert_eq!(d["url"], url.as_str());
    assert_eq!(d["url"], dead["http_request"]["url"]);
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["attempts"], dead["attempts"]);
    assert_eq!(d["last_status"], 489);
    assert_eq!(d["last_error"], dead["last_error"]);
    assert!(
        d["last_error"].as_str().is_some_and(|e| e.contains("489")),
        "{event}"
    );
    assert_eq!(instant(&d["finished_at"]), instant(&dead["finished_at"]));
    assert_eq!(app.for_task(&task_id).len(), 1, "the task was not retried");
    recorded_once(&client, &event, &task_id).await;

    // report.ready: the figures and files as the API serves them.
    let report = wait_ready(&client, &report_id).await;
    let event = arrived(&app, "report.ready", "report_id", &report_id).await;
    let d = &event["data"];
    assert_eq!(d["kind"], "payments_summary", "{event}");
    assert_eq!(d["status"], "ready");
    assert_eq!(d["timezone"], "Europe/Berlin");
    assert_eq!(
        instant(&d["period_from"]),
        instant(&report["period"]["from"])
    );
    assert_eq!(instant(&d["period_to"]), instant(&report["period"]["to"]));
    assert_eq!(
        instant(&d["period_from"]).timestamp_millis(),
        instant(&json!(from)).timestamp_millis(),
        "the period asked for"
    );
    assert!(d["summary"].is_object(), "{event}");
    assert_eq!(d["summary"], report["summary"]);
    assert_eq!(d["summary"]["payments"], 0, "{event}");
    let csv = download(&stack, &client, &format!("/v1/reports/{report_id}/csv")).await;
    let pdf = download(&stack, &client, &format!("/v1/reports/{report_id}/pdf")).await;
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(d["csv_bytes"], csv.len());
    assert_eq!(d["pdf_bytes"], pdf.len());
    assert_eq!(instant(&d["finished_at"]), instant(&report["finished_at"]));
    assert!(d.get("schedule_id").is_none(), "{event}");
    assert!(d.get("failure_reason").is_none(), "{event}");
    recorded_once(&client, &event, &report_id).await;
}
in_both_modes!(report_and_task_events_reach_the_app, report_and_task_events);
