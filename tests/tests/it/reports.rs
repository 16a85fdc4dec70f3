//! Reports over the real binaries: exact figures over seeded data, the CSV and PDF files,
//! validation, tenant isolation, and the job history behind `jobs_health`.

use std::time::Duration;

use chrono::Utc;
use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::webhooks::{about, deliver, payment, wait_event};

const DEADLINE: Duration = Duration::from_secs(60);

/// Requests a report over the last hour (and the next minute) and waits until it is ready.
pub async fn report_now(client: &Client, kind: &str) -> Value {
    let from = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let r = client
        .post(
            "/v1/reports",
            &json!({"kind": kind, "from": from, "to": to, "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(
        ["queued", "running", "ready"].contains(&r.body["status"].as_str().unwrap_or("")),
        "{}",
        r.text
    );
    wait_ready(client, r.body["id"].as_str().unwrap()).await
}

/// Waits until report `id` is ready; returns it.
pub async fn wait_ready(client: &Client, id: &str) -> Value {
    eventually(DEADLINE, &format!("report {id} to be ready"), || async {
        let r = client.get(&format!("/v1/reports/{id}")).await;
        assert_ne!(r.body["status"], "failed", "{}", r.text);
        (r.status == 200 && r.body["status"] == "ready").then_some(r.body)
    })
    .await
}

async fn apply(
    client: &Client,
    gw: &Gateway,
    id: &str,
    event_type: &str,
    data: Value,
    status: &str,
) {
    let body = gw.event(id, event_type, now_secs() - 10, data);
    let inbox = deliver(gw, id, &body).await;
    wait_event(client, &inbox, status).await;
}

async fn payments_summary(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let other = stack.tenant("other").await;
    let gw = Gateway::create(&client, &stack.base_url(), "standard").await;
    let a = payment(&client, 1000, None).await;
    let b = payment(&client, 2500, None).await;
    let c = payment(&client, 4000, None).await;
    let _pending = payment(&client, 700, None).await;
    let _elsewhere = payment(&other, 99_999, None).await;
    apply(
        &client,
        &gw,
        "a-ok",
        "payment.succeeded",
        about(&gw, &a, json!({})),
        "processed",
    )
    .await;
    apply(
        &client,
        &gw,
        "b-ok",
        "payment.succeeded",
        about(&gw, &b, json!({})),
        "processed",
    )
    .await;
    apply(
        &client,
        &gw,
        "b-refund",
        "refund.succeeded",
        about(&gw, &b, json!({"amount": 300})),
        "processed",
    )
    .await;
    apply(
        &client,
        &gw,
        "c-failed",
        "payment.failed",
        about(&gw, &c, json!({})),
        "processed",
    )
    .await;

    let report = report_now(&client, "payments_summary").await;
    let s = &report["summary"];
    assert_eq!(s["payments"], 4, "{report}");
    let eur = &s["by_currency"][0];
    assert_eq!(eur["currency"], "EUR");
    assert_eq!(
        (eur["count"].as_i64(), eur["amount"].as_i64()),
        (Some(4), Some(8200)),
        "{eur}"
    );
    assert_eq!(
        (
            eur["captured"].as_i64(),
            eur["refunded"].as_i64(),
            eur["refunds"].as_i64()
        ),
        (Some(3500), Some(300), Some(1)),
        "{eur}"
    );
    let st = &eur["by_status"];
    assert_eq!(
        (
            st["succeeded"]["count"].as_i64(),
            st["succeeded"]["amount"].as_i64()
        ),
        (Some(1), Some(1000)),
        "{st}"
    );
    assert_eq!(
        (
            st["partially_refunded"]["count"].as_i64(),
            st["partially_refunded"]["refunded"].as_i64()
        ),
        (Some(1), Some(300)),
        "{st}"
    );
    assert_eq!(
        (
            st["failed"]["count"].as_i64(),
            st["pending"]["amount"].as_i64()
        ),
        (Some(1), Some(700)),
        "{st}"
    );
    // Its PDF is the report's file, not a document: no id that /v1/documents would not know.
    assert!(report.get("pdf_document_id").is_none(), "{report}");
    assert!(
        report["pdf_url"].as_str().unwrap().ends_with(&format!(
            "/v1/reports/{}/pdf",
            report["id"].as_str().unwrap()
        )),
        "{report}"
    );

    // The CSV: UTF-8 with BOM, a header row, one row per (day, currency, status).
    let id = report["id"].as_str().unwrap();
    let csv = client.get(&format!("/v1/reports/{id}/csv")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text.strip_prefix('\u{feff}').expect("BOM");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Date,Currency,Status,Payments,Amount,Captured,Refunded,Refunds"
    );
    // Four statuses on one local day (or split across midnight): the rows add up either way.
    let column = |i: usize| -> f64 {
        lines[1..]
            .iter()
            .map(|l| l.split(',').nth(i).unwrap().parse::<f64>().unwrap())
            .sum()
    };
    assert_eq!(
        (column(3), column(4), column(5), column(6)),
        (4.0, 82.0, 35.0, 3.0),
        "{text}"
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.split(',').nth(1) == Some("EUR")),
        "{text}"
    );
    // The PDF.
    let pdf = client.get(&format!("/v1/reports/{id}/pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.text.starts_with("%PDF"), "not a PDF");
    // Another tenant sees none of it.
    assert_eq!(other.get(&format!("/v1/reports/{id}")).await.status, 404);
    assert_eq!(
        other.get(&format!("/v1/reports/{id}/csv")).await.status,
        404
    );
    let theirs = report_now(&other, "payments_summary").await;
    assert_eq!(theirs["summary"]["payments"], 1, "{theirs}");
}
in_both_modes!(
    payments_summary_has_exact_figures_csv_and_pdf,
    payments_summary
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_requests_are_422_naming_the_field() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let now = Utc::now();
    let (a, b) = (
        now.to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339(),
    );
    for (body, field) in [
        (
            json!({"kind": "payments_summary", "from": b, "to": a}),
            "to",
        ),
        (
            json!({"kind": "payments_summary", "from": a, "to": b, "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (json!({"kind": "weather", "from": a, "to": b}), "kind"),
        (
            json!({"kind": "jobs_health", "from": "yesterday", "to": b}),
            "from",
        ),
    ] {
        let r = client.post("/v1/reports", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    assert_eq!(
        client
            .get("/v1/reports/rep_01HZZZZZZZZZZZZZZZZZZZZZZZ")
            .await
            .status,
        404
    );
    assert_eq!(client.get("/v1/reports?schedule_id=nope").await.status, 422);
}

async fn jobs_health(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push((
            client.submit(json!({"type": "diagnostic.noop"})).await,
            "succeeded",
        ));
    }
    ids.push((
        client
            .submit(json!({"type": "diagnostic.sleep", "payload": {"fail_times": 1}}))
            .await,
        "succeeded",
    ));
    ids.push((client.submit(json!({"type": "diagnostic.sleep", "payload": {"fail_times": 5}, "max_attempts": 1})).await, "dead"));
    for (id, state) in &ids {
        client.wait_for_state(id, state, DEADLINE).await;
    }
    // The history is written in batches about 100 ms after each outcome: ask until it shows.
    let report = eventually(DEADLINE, "job history in the report", || async {
        let r = report_now(&client, "jobs_health").await;
        let types = r["summary"]["by_type"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let of = |t: &str| {
            types
                .iter()
                .find(|x| x["job_type"] == t)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let (noop, sleep) = (of("diagnostic.noop"), of("diagnostic.sleep"));
        (noop["succeeded"] == 3
            && sleep["succeeded"] == 1
            && sleep["dead"] == 1
            && sleep["retries"] == 1)
            .then_some(r)
    })
    .await;
    let noop = report["summary"]["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["job_type"] == "diagnostic.noop")
        .unwrap()
        .clone();
    assert!(noop["latency_p50_ms"].as_i64().unwrap() >= 0, "{noop}");
    assert!(
        noop["latency_p99_ms"].as_i64() >= noop["latency_p50_ms"].as_i64(),
        "{noop}"
    );
}
in_both_modes!(
    jobs_health_counts_outcomes_retries_and_dead_jobs,
    jobs_health
);
