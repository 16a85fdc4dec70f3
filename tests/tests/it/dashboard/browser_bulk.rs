//! Bulk retry in a real browser (headless Chromium, as [`super::browser`]): a tenant key typed
//! into the login form is refused; the operator filters 500 dead jobs, presses "Retry all 500
//! matching", and watches the operation page (refreshed by htmx, not reloaded) reach `done`;
//! the jobs API then shows all 500 succeeded. The schedules page renders with a schedule.
//! `LONGSHORE_SCREENSHOTS=1` saves the operation and schedules pages to `docs/screenshots/`.

use std::time::Duration;

use fantoccini::{Client as Browser, Locator};
use longshore_tests::{Mode, eventually};
use serde_json::json;

use super::browser::{ChromeDriver, browser, screenshot, text_of, until_at};
use super::{OPERATOR_SECRET, count_jobs, onboard, stack, submit_many, wait_for_count};

/// The operation and its 500 retries, in a debug build on a shared machine.
const DEADLINE: Duration = Duration::from_secs(180);

/// Types `key` into the login form and submits it.
async fn log_in(b: &Browser, base: &str, key: &str) {
    b.goto(&format!("{base}/dashboard/login"))
        .await
        .expect("goto login");
    let field = b.find(Locator::Id("key")).await.expect("key field");
    field.send_keys(key).await.expect("type the key");
    b.find(Locator::Css("form.login button[type=submit]"))
        .await
        .expect("login button")
        .click()
        .await
        .expect("log in");
}

#[tokio::test]
async fn an_operator_bulk_retries_500_dead_jobs_in_a_real_browser() {
    let stack = stack(Mode::Embedded).await;
    let (tenant, client) = onboard(&stack, "Acme Bulk").await;
    let r = client
        .post(
            "/v1/schedules",
            &json!({"name": "Monthly payments", "cron": "0 6 1 * *", "timezone": "America/New_York",
                "report": {"kind": "payments_summary", "period": "previous_month"},
                "recipients": ["cfo@example.com"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let dying = json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 1}, "max_attempts": 1});
    submit_many(&client, 500, dying).await;
    wait_for_count(&client, "dead", "diagnostic.sleep", 500).await;

    let profile = tempfile::tempdir().expect("browser profile");
    let driver = ChromeDriver::start(&stack.dir().join("chromedriver.log")).await;
    let b = browser(&driver, profile.path()).await;
    let base = stack.base_url();

    // A tenant key typed into the login form is refused, and opens nothing.
    log_in(&b, &base, client.key().expect("a tenant key")).await;
    let refused = eventually(DEADLINE, "the refusal", || async {
        text_of(&b, "#login-error").await
    })
    .await;
    assert!(refused.contains("tenant API key"), "{refused}");
    b.goto(&format!("{base}/dashboard/jobs"))
        .await
        .expect("goto");
    until_at(&b, "/dashboard/login").await;

    // The operator key opens the dashboard; the filtered jobs page counts all 500.
    log_in(&b, &base, OPERATOR_SECRET).await;
    until_at(&b, "/dashboard").await;
    let filtered = format!("/dashboard/jobs?tenant={tenant}&state=dead&type=diagnostic.sleep");
    b.goto(&format!("{base}{filtered}"))
        .await
        .expect("goto jobs");
    let button = b
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("bulk-retry"))
        .await
        .expect("the bulk retry button");
    assert_eq!(
        button.text().await.expect("its label"),
        "Retry all 500 matching"
    );
    button.click().await.expect("press it");

    // The operation page follows the progress by itself (htmx), up to done.
    let op_path = eventually(DEADLINE, "the operation page", || async {
        let url = b.current_url().await.ok()?;
        url.path()
            .starts_with("/dashboard/operations/bulk_")
            .then(|| url.path().to_owned())
    })
    .await;
    // A mark on this document: still there at the end means the page was never reloaded, so
    // a progress that moved on came through htmx.
    let first = b
        .execute(
            "window.longshoreMark = 1; return document.getElementById('op-state').textContent;",
            vec![],
        )
        .await
        .expect("script");
    let seen = std::cell::RefCell::new(Vec::new());
    eventually(DEADLINE, "the operation to be done", || async {
        let state = text_of(&b, "#op-state").await?;
        let n = text_of(&b, "#op-succeeded").await?;
        let mut seen = seen.borrow_mut();
        if seen.last() != Some(&n) {
            seen.push(n);
        }
        (state == "done").then_some(())
    })
    .await;
    assert_eq!(
        text_of(&b, "#op-succeeded").await.as_deref(),
        Some("500"),
        "progress seen: {:?}",
        seen.borrow()
    );
    assert_eq!(text_of(&b, "#op-skipped").await.as_deref(), Some("0"));
    assert_eq!(b.current_url().await.expect("url").path(), op_path);
    let marked = b
        .execute("return window.longshoreMark === 1;", vec![])
        .await
        .expect("script");
    assert_eq!(marked, json!(true), "the page was not reloaded");
    if first == json!("running") {
        let polls = b
            .execute(
                "return document.getElementById('progress').hasAttribute('hx-trigger');",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(polls, json!(false), "polling stops once done");
    }
    screenshot(&b, "operation").await;

    // Every job ran again and succeeded.
    wait_for_count(&client, "succeeded", "diagnostic.sleep", 500).await;
    assert_eq!(count_jobs(&client, "dead", "diagnostic.sleep").await, 0);

    // The operations list and the schedules page.
    b.goto(&format!("{base}/dashboard/operations"))
        .await
        .expect("goto operations");
    let listed = text_of(&b, "table.operations").await.expect("the list");
    assert!(
        listed.contains("done") && listed.contains("retry"),
        "{listed}"
    );
    b.goto(&format!("{base}/dashboard/schedules?tenant={tenant}"))
        .await
        .expect("goto schedules");
    let table = text_of(&b, "table.schedules").await.expect("schedules");
    assert!(
        table.contains("Monthly payments") && table.contains("America/New_York"),
        "{table}"
    );
    screenshot(&b, "schedules").await;

    b.close().await.expect("close the browser");
}
