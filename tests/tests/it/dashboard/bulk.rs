//! Bulk operations over HTTP: "Retry all N matching" on 30 dead jobs of a filter ends `done`
//! with 30 retried and the jobs then succeed; "Cancel all matching" cancels every scheduled job
//! of the filter; the POST needs the session's CSRF token and this origin; each operation is
//! audited when it starts and when it ends.

use longshore_tests::{Mode, eventually};
use serde_json::{Value, json};

use super::{
    DEADLINE, Dashboard, OPERATOR_SECRET, Page, audit_actions, count_jobs, onboard, stack,
    submit_many, wait_for_count,
};
use crate::in_both_modes;

/// Dies on its one attempt and succeeds on the next (a retry).
fn dying_job() -> Value {
    json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 1}, "max_attempts": 1})
}

/// The jobs page's bulk form.
fn form<'a>(
    tenant: &'a str,
    action: &'a str,
    state: &'a str,
    kind: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("action", action),
        ("tenant", tenant),
        ("state", state),
        ("type", kind),
    ]
}

fn with_token<'a>(form: &[(&'a str, &'a str)], token: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut f = form.to_vec();
    if let Some(t) = token {
        f.push(("csrf", t));
    }
    f
}

/// Follows a bulk POST's redirect to the operation page until it says `done`.
async fn until_done(dash: &Dashboard, started: &Page) -> Page {
    assert_eq!(started.status, 303, "{}", started.text);
    let location = started.header("location").expect("a location").to_owned();
    assert!(
        location.starts_with("/dashboard/operations/bulk_"),
        "{location}"
    );
    eventually(DEADLINE, "the operation to be done", || async {
        let page = dash.get(&location).await;
        assert_eq!(page.status, 200, "{}", page.text);
        page.text.contains(r#"id="op-state">done<"#).then_some(page)
    })
    .await
}

async fn bulk_retry_and_cancel(mode: Mode) {
    let stack = stack(mode).await;
    let (tenant, client) = onboard(&stack, "Bulk Co").await;
    submit_many(&client, 30, dying_job()).await;
    wait_for_count(&client, "dead", "diagnostic.sleep", 30).await;

    let mut dash = Dashboard::new(&stack);
    assert_eq!(dash.login(OPERATOR_SECRET).await.status, 303);
    let jobs = dash
        .get(&format!(
            "/dashboard/jobs?tenant={tenant}&state=dead&type=diagnostic.sleep"
        ))
        .await;
    assert_eq!(jobs.status, 200, "{}", jobs.text);
    assert!(
        jobs.text.contains("Retry all 30 matching"),
        "all 30, not the 25 on the page: {}",
        jobs.text
    );
    assert!(!jobs.text.contains(r#"id="bulk-cancel""#), "dead jobs");
    let csrf = jobs.csrf();
    let retry = form(&tenant, "retry", "dead", "diagnostic.sleep");

    // Without the token, with a wrong one, or from another site: 403 and nothing starts.
    let wrong = "0".repeat(64);
    for (token, headers) in [
        (None, vec![]),
        (Some(wrong.as_str()), vec![]),
        (Some(csrf.as_str()), vec![("origin", "http://evil.example")]),
        (Some(csrf.as_str()), vec![("sec-fetch-site", "cross-site")]),
    ] {
        let r = dash
            .post(
                "/dashboard/operations",
                &with_token(&retry, token),
                &headers,
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
    }
    let none = dash.get("/dashboard/operations").await;
    assert!(
        none.text.contains("No bulk operations yet."),
        "{}",
        none.text
    );
    assert_eq!(count_jobs(&client, "dead", "diagnostic.sleep").await, 30);

    // A retry of jobs that are not dead is refused.
    let not_dead = form(&tenant, "retry", "queued", "");
    let r = dash
        .post(
            "/dashboard/operations",
            &with_token(&not_dead, Some(&csrf)),
            &[],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);

    // With the token: the operation runs to the end, and every job runs again and succeeds.
    let started = dash
        .post(
            "/dashboard/operations",
            &with_token(&retry, Some(&csrf)),
            &[],
        )
        .await;
    let done = until_done(&dash, &started).await;
    assert!(
        done.text.contains(r#"id="op-succeeded">30<"#),
        "{}",
        done.text
    );
    assert!(done.text.contains(r#"id="op-skipped">0<"#), "{}", done.text);
    assert!(
        !done.text.contains("hx-trigger"),
        "no polling once done: {}",
        done.text
    );
    let op = started.header("location").unwrap().to_owned();
    let op_id = op.rsplit('/').next().unwrap().to_owned();
    let fragment = dash.get(&format!("{op}/progress")).await;
    assert_eq!(fragment.status, 200);
    assert!(fragment.text.starts_with(r#"<div id="progress">"#));
    wait_for_count(&client, "succeeded", "diagnostic.sleep", 30).await;
    assert_eq!(count_jobs(&client, "dead", "diagnostic.sleep").await, 0);

    // Cancel every scheduled job of a type.
    let run_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    submit_many(
        &client,
        20,
        json!({"type": "diagnostic.noop", "run_at": run_at}),
    )
    .await;
    let scheduled = dash
        .get(&format!(
            "/dashboard/jobs?tenant={tenant}&state=scheduled&type=diagnostic.noop"
        ))
        .await;
    assert!(
        scheduled.text.contains(r#"id="bulk-cancel""#),
        "{}",
        scheduled.text
    );
    assert!(!scheduled.text.contains(r#"id="bulk-retry""#));
    let cancel = form(&tenant, "cancel", "scheduled", "diagnostic.noop");
    let started = dash
        .post(
            "/dashboard/operations",
            &with_token(&cancel, Some(&csrf)),
            &[],
        )
        .await;
    let done = until_done(&dash, &started).await;
    assert!(
        done.text.contains(r#"id="op-succeeded">20<"#),
        "{}",
        done.text
    );
    assert_eq!(
        count_jobs(&client, "cancelled", "diagnostic.noop").await,
        20
    );
    assert_eq!(count_jobs(&client, "scheduled", "diagnostic.noop").await, 0);

    // Both are listed, and audited when they started and when they ended.
    let list = dash.get("/dashboard/operations").await;
    assert_eq!(list.text.matches(r#"class="badge done""#).count(), 2);
    let entries = audit_actions(&stack).await;
    let of_op: Vec<&Value> = entries.iter().filter(|e| e["target"] == op_id).collect();
    let actions: Vec<&str> = of_op.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["bulk.finished", "bulk.started"], "{entries:?}");
    assert_eq!(of_op[0]["actor"], "ops");
    assert_eq!(of_op[0]["detail"]["succeeded"], 30, "{entries:?}");
    assert_eq!(of_op[1]["detail"]["filter"]["state"], "dead", "{entries:?}");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "job.retry")
            .count(),
        0,
        "one entry for the bulk action, not one per job"
    );
}
in_both_modes!(
    bulk_retry_and_cancel_run_as_tracked_operations,
    bulk_retry_and_cancel
);
