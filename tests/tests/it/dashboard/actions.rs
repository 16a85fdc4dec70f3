//! What operators do on the dashboard: retry and cancel jobs, disable and enable tenants, read
//! the audit log and page through jobs; CSRF and origin checks on every action.

use longshore_tests::{Mode, eventually};
use serde_json::{Value, json};

use super::{DEADLINE, Dashboard, OPERATOR_SECRET, Page, audit_actions, onboard, stack};
use crate::in_both_modes;

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
    let enable = format!("/dashboard/tenants/{tenant}/enable");
    let r = dash.post(&enable, &[("csrf", &csrf)], &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    eventually(DEADLINE, "the enabled tenant's key accepted", || async {
        (client.get("/v1/jobs?limit=1").await.status == 200).then_some(())
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
    assert!(audit.text.contains("tenant.enabled"), "{}", audit.text);
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

#[tokio::test]
async fn the_jobs_list_pages_with_the_queue_cursor() {
    let stack = stack(Mode::Embedded).await;
    let (tenant, client) = onboard(&stack, "Many").await;
    let mut ids = Vec::new();
    for _ in 0..27 {
        ids.push(client.submit(json!({"type": "diagnostic.noop"})).await);
    }
    let mut dash = Dashboard::new(&stack);
    assert_eq!(dash.login(OPERATOR_SECRET).await.status, 303);

    // 25 a page, newest first; the link to the next page carries the filter and the cursor.
    let first = dash
        .get(&format!(
            "/dashboard/jobs?tenant={tenant}&type=diagnostic.noop"
        ))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let on = |page: &Page| {
        ids.iter()
            .filter(|id| page.text.contains(id.as_str()))
            .count()
    };
    assert_eq!(on(&first), 25);
    assert!(first.text.contains(&ids[26]) && !first.text.contains(&ids[0]));
    let start = first
        .text
        .find(r#"<a class="button" href=""#)
        .expect("a next link")
        + r#"<a class="button" href=""#.len();
    let end = first.text[start..].find('"').unwrap() + start;
    let next = first.text[start..end]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(
        next.contains("type=diagnostic.noop") && next.contains("cursor="),
        "{next}"
    );
    let second = dash.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(on(&second), 2, "{}", second.text);
    assert!(
        !second.text.contains(r#"<a class="button" href=""#),
        "no page after the last"
    );

    // Without a tenant the page asks for one; a bad state or cursor is a 400 page.
    let pick = dash.get("/dashboard/jobs").await;
    assert!(pick.text.contains("pick a tenant first"), "{}", pick.text);
    let bad = dash
        .get(&format!("/dashboard/jobs?tenant={tenant}&state=nope"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let bad = dash
        .get(&format!("/dashboard/jobs?tenant={tenant}&cursor=nope"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // An htmx poll whose session ended lands on the login page, told to reload fully.
    let anonymous = Dashboard::new(&stack);
    let r = anonymous
        .send(
            anonymous
                .http
                .get(format!("{}/dashboard/login", stack.base_url()))
                .header("hx-request", "true"),
        )
        .await;
    assert_eq!(r.header("hx-redirect"), Some("/dashboard/login"));
}
