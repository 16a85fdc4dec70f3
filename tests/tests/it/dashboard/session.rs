//! Logging in and out: only an operator key opens a session, its cookie is locked down, every
//! answer has the security headers, refusals and sessions are audited, guessing is limited.

use longshore_tests::Mode;
use serde_json::Value;

use super::{Dashboard, OPERATOR_SECRET, audit_actions, onboard, stack};

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
