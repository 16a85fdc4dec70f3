//! Schedules over the real binaries: validation and management here; in [`ticks`], several
//! schedulers firing each tick exactly once, missed runs after downtime (one catch-up under
//! `run_once`, none under `skip`), changes taking effect without a restart, and a prompt, clean
//! exit on SIGTERM.

mod ticks;

use std::time::Duration;

use chrono::{DateTime, Utc};
use longshore_tests::{Client, Mode, Stack};
use serde_json::{Value, json};

pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

pub(crate) fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

pub(crate) async fn create(client: &Client, body: Value) -> Value {
    let r = client.post("/v1/schedules", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// Every report of a schedule, oldest tick first.
pub(crate) async fn reports_of(client: &Client, schedule: &str) -> Vec<Value> {
    let r = client
        .get(&format!("/v1/reports?schedule_id={schedule}&limit=100"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut all: Vec<Value> = r.body["data"].as_array().cloned().unwrap_or_default();
    all.sort_by_key(|r| time(&r["ticks"]["first"]));
    all
}

/// The reports' ticks cover consecutive ticks `step` apart with no gap and no overlap.
pub(crate) fn assert_each_tick_once(reports: &[Value], step: chrono::Duration) {
    for pair in reports.windows(2) {
        let (a, b) = (&pair[0]["ticks"], &pair[1]["ticks"]);
        assert_eq!(
            time(&b["first"]) - time(&a["last"]),
            step,
            "gap or overlap between {a} and {b}"
        );
    }
    for r in reports {
        let t = &r["ticks"];
        let span = time(&t["last"]) - time(&t["first"]);
        assert_eq!(
            span,
            step * (t["count"].as_i64().unwrap() as i32 - 1),
            "{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_schedules_are_422_and_schedules_are_managed() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let good = json!({"name": "daily", "cron": "30 2 * * *", "timezone": "Europe/Berlin",
        "report": {"kind": "payments_summary", "period": "previous_day"}, "recipients": ["cfo@example.com"]});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("cron", json!("61 * * * *")), "cron"),
        (with("cron", json!("* * *")), "cron"),
        (with("cron", json!("0 0 30 2 *")), "cron"),
        (with("timezone", json!("Mars/Olympus")), "timezone"),
        (
            with("recipients", json!(["ok@example.com", "not-an-address"])),
            "recipients[1]",
        ),
        (
            with(
                "report",
                json!({"kind": "weather", "period": "previous_day"}),
            ),
            "report.kind",
        ),
        (with("missed_runs", json!("sometimes")), "missed_runs"),
        (with("name", json!("")), "name"),
        (
            json!({"cron": "* * * * *", "report": {"kind": "jobs_health", "period": "previous_day"}}),
            "name",
        ),
    ] {
        let r = client.post("/v1/schedules", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let s = create(&client, good).await;
    let id = s["id"].as_str().unwrap();
    assert!(id.starts_with("sch_"));
    assert_eq!(s["missed_runs"], "run_once");
    let next: Vec<DateTime<Utc>> = s["next_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(time)
        .collect();
    assert_eq!(next.len(), 5);
    for t in &next {
        // 02:30 in Berlin is 00:30 UTC in summer and 01:30 UTC in winter.
        let hm = t.format("%H:%M").to_string();
        assert!(hm == "00:30" || hm == "01:30", "{t}");
    }
    let r = client
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/schedules/{id}"),
            |r| {
                r.header("content-type", "application/json")
                    .body(json!({"timezone": "Nowhere/City"}).to_string())
            },
        )
        .await;
    assert_eq!(
        (r.status, r.body["errors"][0]["field"].as_str()),
        (422, Some("timezone")),
        "{}",
        r.text
    );
    let r = client
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/schedules/{id}"),
            |r| {
                r.header("content-type", "application/json")
                    .body(json!({"missed_runs": "skip", "enabled": false}).to_string())
            },
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.body["missed_runs"].as_str(),
            r.body["next_runs"].as_array().map(Vec::len)
        ),
        (Some("skip"), Some(0))
    );
    assert_eq!(
        client.get("/v1/schedules").await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let other = stack.tenant("other").await;
    assert_eq!(other.get(&format!("/v1/schedules/{id}")).await.status, 404);
    assert_eq!(
        client
            .send(
                reqwest::Method::DELETE,
                &format!("/v1/schedules/{id}"),
                |r| r
            )
            .await
            .status,
        204
    );
    assert_eq!(client.get(&format!("/v1/schedules/{id}")).await.status, 404);
}
