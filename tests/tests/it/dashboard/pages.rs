//! The per-tenant pages: schedules (cron, zone, next run, last outcome), inbound payment
//! webhooks and events sent to the tenant's app, each picking the tenant like the jobs page and
//! escaping every value; and "find by id" on the jobs page.

use longshore_tests::gateway::Gateway;
use longshore_tests::receiver::Receiver;
use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use super::{DEADLINE, Dashboard, OPERATOR_SECRET, onboard};

const SCRIPT: &str = "<script>alert(1)</script>";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";

#[tokio::test]
async fn schedules_webhooks_and_events_pages_escape_every_value() {
    let app = Receiver::start().await;
    let stack = Stack::builder(Mode::Embedded)
        .env(
            "LONGSHORE_ADMIN_KEY",
            &format!("ops:{}", super::OPERATOR_SECRET),
        )
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .env("LONGSHORE_EVENT_POLL_MS", "100")
        .workers(1)
        .start()
        .await;
    let (tenant, client) = onboard(&stack, "Pages <i>Inc</i>").await;

    // A schedule whose name holds a script.
    let r = client
        .post(
            "/v1/schedules",
            &json!({"name": format!("nightly {SCRIPT}"), "cron": "30 2 * * *",
                "timezone": "Europe/Berlin",
                "report": {"kind": "payments_summary", "period": "previous_day"},
                "recipients": ["cfo@example.com"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let schedule = r.body["id"].as_str().unwrap().to_owned();

    // A gateway event of a type Longshore does not act on, named like a script.
    let gateway = Gateway::create(&client, &stack.base_url(), "standard").await;
    let body = gateway.event(
        "evt_1",
        SCRIPT,
        longshore_tests::gateway::now_secs(),
        json!({}),
    );
    let r = gateway.deliver("msg_dashboard_1", &body).await;
    assert!(r.status < 300, "{}", r.text);

    // An event to the tenant's app: a job that dies, with an endpoint listening.
    let r = client
        .post(
            "/v1/event-endpoints",
            &json!({"url": app.url("/ok"), "event_types": ["job.dead"], "description": SCRIPT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let endpoint = r.body["id"].as_str().unwrap().to_owned();
    let dead = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 5}, "max_attempts": 1}))
        .await;
    client.wait_for_state(&dead, "dead", DEADLINE).await;

    let mut dash = Dashboard::new(&stack);
    assert_eq!(dash.login(OPERATOR_SECRET).await.status, 303);

    // Every page offers the tenant picker (its name escaped) and a nav link.
    for section in ["schedules", "webhooks", "events", "operations"] {
        let page = dash.get(&format!("/dashboard/{section}")).await;
        assert_eq!(page.status, 200, "{section}: {}", page.text);
        assert!(
            page.text.contains(&format!(
                r#"<a href="/dashboard/{section}" aria-current="page">"#
            )),
            "{section}: {}",
            page.text
        );
        if section != "operations" {
            assert!(
                page.text.contains("Pages &lt;i&gt;Inc&lt;&#x2f;i&gt;"),
                "{section}: {}",
                page.text
            );
        }
    }

    let schedules = dash
        .get(&format!("/dashboard/schedules?tenant={tenant}"))
        .await;
    assert_eq!(schedules.status, 200, "{}", schedules.text);
    for want in [
        ESCAPED,
        schedule.as_str(),
        "<code>30 2 * * *</code>",
        "Europe&#x2f;Berlin",
        "payments_summary report (previous_day) to cfo@example.com",
    ] {
        assert!(schedules.text.contains(want), "{want}: {}", schedules.text);
    }
    assert!(schedules.text.contains(" UTC<br>"), "a next run");
    assert!(!schedules.text.contains(SCRIPT), "{}", schedules.text);

    let webhooks = eventually(DEADLINE, "the webhook event listed", || async {
        let page = dash
            .get(&format!("/dashboard/webhooks?tenant={tenant}"))
            .await;
        page.text.contains("msg_dashboard_1").then_some(page)
    })
    .await;
    assert!(webhooks.text.contains(ESCAPED), "{}", webhooks.text);
    assert!(!webhooks.text.contains(SCRIPT), "{}", webhooks.text);
    assert!(
        webhooks.text.contains(r#"class="badge ignored""#),
        "{}",
        webhooks.text
    );

    // The job.dead event, delivered to the app: its delivery's state and attempts.
    let events = eventually(DEADLINE, "the event delivered", || async {
        let page = dash
            .get(&format!("/dashboard/events?tenant={tenant}"))
            .await;
        (page.text.contains(&endpoint) && page.text.contains(r#"class="badge succeeded""#))
            .then_some(page)
    })
    .await;
    assert!(events.text.contains("job.dead"), "{}", events.text);
    assert!(events.text.contains(&dead), "its resource: {}", events.text);
    assert!(events.text.contains("1 attempt "), "{}", events.text);
    assert!(!events.text.contains(SCRIPT), "{}", events.text);

    // Another tenant sees none of it; an unknown tenant is a 404 page.
    let (other, _) = onboard(&stack, "Other").await;
    let empty = dash
        .get(&format!("/dashboard/schedules?tenant={other}"))
        .await;
    assert!(empty.text.contains("This tenant has no schedules."));
    let unknown = dash.get("/dashboard/events?tenant=nope").await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let bad = dash
        .get(&format!("/dashboard/webhooks?tenant={tenant}&cursor=x"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // Find by id: the job's page for its tenant, a clear 404 otherwise.
    let found = dash
        .get(&format!("/dashboard/jobs/find?tenant={tenant}&id={dead}"))
        .await;
    assert_eq!(found.status, 303, "{}", found.text);
    assert_eq!(
        found.header("location"),
        Some(format!("/dashboard/jobs/{tenant}/{dead}").as_str())
    );
    for id in [dead.as_str(), "job_nope", "%3Cscript%3E"] {
        let missing = dash
            .get(&format!("/dashboard/jobs/find?tenant={other}&id={id}"))
            .await;
        assert_eq!(missing.status, 404, "{}", missing.text);
        assert!(
            missing.text.contains("no job with that id for this tenant"),
            "{}",
            missing.text
        );
    }
    let jobs = dash.get(&format!("/dashboard/jobs?tenant={tenant}")).await;
    assert!(jobs.text.contains(r#"action="/dashboard/jobs/find""#));
}
