//! The operators' API over HTTP: a multi-tenant product onboards a customer without a shell
//! (tenant, key, limits, disable, revoke), only with an operator key, and every action lands
//! in the audit log with who, what, when and from where.

use std::time::Duration;

use longshore_tests::{Client, Mode, Reply, Stack, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const OPERATOR_SECRET: &str = "op-secret-0123456789abcdef0123456789abcdef";

async fn stack() -> Stack {
    Stack::builder(Mode::Embedded)
        .env("LONGSHORE_ADMIN_KEY", &format!("ops:{OPERATOR_SECRET}"))
        .workers(1)
        .start()
        .await
}

fn operator(stack: &Stack) -> Client {
    Client::new(&stack.base_url(), Some(OPERATOR_SECRET.to_owned()))
}

async fn put(client: &Client, path: &str, body: &Value) -> Reply {
    let body = body.clone();
    client.send(Method::PUT, path, move |r| r.json(&body)).await
}

fn assert_operator_refused(r: &Reply, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("operator key"),
        "{what}: {}",
        r.text
    );
}

/// Waits until `client`'s key is accepted (`true`) or refused (`false`): the API caches a
/// verified key for `LONGSHORE_AUTH_CACHE_SECS` (1 s in tests).
async fn until_key_accepted(client: &Client, accepted: bool) {
    eventually(
        Duration::from_secs(10),
        "the key's new standing",
        || async {
            let status = client.get("/v1/jobs?limit=1").await.status;
            (status == if accepted { 200 } else { 401 }).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn operators_onboard_a_tenant_and_every_action_is_audited() {
    let stack = stack().await;
    let op = operator(&stack);

    // Only an operator key opens /v1/admin: not none, not a wrong one, not a tenant's.
    assert_operator_refused(&stack.anonymous().get("/v1/admin/tenants").await, "no key");
    let wrong = Client::new(&stack.base_url(), Some("x".repeat(40)));
    assert_operator_refused(&wrong.get("/v1/admin/tenants").await, "wrong key");
    let other = stack.tenant("Existing").await;
    assert_operator_refused(&other.get("/v1/admin/tenants").await, "tenant key");

    // Bad input is a 422 naming each field.
    let r = op
        .post(
            "/v1/admin/tenants",
            &json!({"name": "", "rate_limit": {"per_second": 5, "burst": 0}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"name"), "{}", r.text);
    let r = op
        .post(
            "/v1/admin/tenants",
            &json!({"name": "Acme", "rate_limit": {"per_second": 5, "burst": 0}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "rate_limit.burst");

    // Onboard: a tenant, a key, and the key works.
    let created = op
        .post("/v1/admin/tenants", &json!({"name": "Acme Cranes"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let tenant = created.body["id"].as_str().unwrap().to_owned();
    assert!(tenant.starts_with("ten_"));
    assert_eq!(created.body["status"], "active");
    let create_request_id = created.header("x-request-id").unwrap().to_owned();
    let issued = op
        .post(
            &format!("/v1/admin/tenants/{tenant}/keys"),
            &json!({"name": "backend"}),
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let token = issued.body["token"].as_str().unwrap().to_owned();
    let key_id = issued.body["key"]["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("lsk_"));
    let acme = Client::new(&stack.base_url(), Some(token.clone()));
    acme.submit(json!({"type": "diagnostic.noop"})).await;

    let keys = op.get(&format!("/v1/admin/tenants/{tenant}/keys")).await;
    assert_eq!(keys.status, 200);
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(keys.body["data"][0]["status"], "active");
    assert!(
        !keys.text.contains(&token[20..]),
        "a listing never shows a secret"
    );
    let unknown = op
        .get("/v1/admin/tenants/ten_01ARZ3NDEKTSV4RRFFQ69G5FAV/keys")
        .await;
    assert_eq!(unknown.status, 404);

    // Limits: set, then read back.
    let limited = put(
        &op,
        &format!("/v1/admin/tenants/{tenant}/rate-limit"),
        &json!({"per_second": 50, "burst": 100}),
    )
    .await;
    assert_eq!(limited.status, 200, "{}", limited.text);
    assert_eq!(
        limited.body["rate_limit"],
        json!({"per_second": 50, "burst": 100})
    );

    // Disable: the key is refused; enable: it works again. Doing it twice changes nothing.
    let disabled = op
        .post_empty(&format!("/v1/admin/tenants/{tenant}/disable"))
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.body["status"], "disabled");
    assert_eq!(
        op.post_empty(&format!("/v1/admin/tenants/{tenant}/disable"))
            .await
            .status,
        200
    );
    until_key_accepted(&acme, false).await;
    let enabled = op
        .post_empty(&format!("/v1/admin/tenants/{tenant}/enable"))
        .await;
    assert_eq!(enabled.body["status"], "active");
    until_key_accepted(&acme, true).await;

    // Revoke: refused from then on; revoking again answers the key as it is.
    let revoked = op
        .post_empty(&format!("/v1/admin/keys/{key_id}/revoke"))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.body["status"], "revoked");
    assert_eq!(
        op.post_empty(&format!("/v1/admin/keys/{key_id}/revoke"))
            .await
            .status,
        200
    );
    until_key_accepted(&acme, false).await;
    assert_eq!(
        op.post_empty("/v1/admin/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV/revoke")
            .await
            .status,
        404
    );

    // The audit log, newest first: each change once, by `ops`, from this machine, with the
    // request id of the logs; the command line's actions are there too, by the shell user.
    let audit = op.get("/v1/admin/audit?limit=100").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(
        !audit.text.contains(&token[4..]),
        "the log never holds a key's secret"
    );
    let entries = audit.body["data"].as_array().unwrap();
    let ours: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e["actor"] == "ops")
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ours,
        vec![
            ("key.revoked", key_id.as_str()),
            ("tenant.enabled", tenant.as_str()),
            ("tenant.disabled", tenant.as_str()),
            ("tenant.limits_set", tenant.as_str()),
            ("key.created", key_id.as_str()),
            ("tenant.created", tenant.as_str()),
        ]
    );
    let first = entries
        .iter()
        .find(|e| e["action"] == "tenant.created" && e["actor"] == "ops");
    let first = first.unwrap();
    assert_eq!(first["client_ip"], "127.0.0.1");
    assert_eq!(first["request_id"], create_request_id.as_str());
    assert_eq!(first["detail"]["name"], "Acme Cranes");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "tenant.created"
                && e["actor"].as_str().unwrap().starts_with("cli:")),
        "the command line's tenant is audited: {}",
        audit.text
    );

    // Paging walks the whole log once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/audit?limit=2&cursor={c}"),
            None => "/v1/admin/audit?limit=2".to_owned(),
        };
        let page = op.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for e in page.body["data"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let all: Vec<String> = entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all);

    // Tenants list: both, oldest first.
    let tenants = op.get("/v1/admin/tenants").await;
    let names: Vec<&str> = tenants.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Existing", "Acme Cranes"]);
}

#[tokio::test]
async fn without_an_operator_key_the_admin_api_is_off() {
    let stack = Stack::builder(Mode::Embedded).workers(0).start().await;
    let anyone = Client::new(&stack.base_url(), Some("y".repeat(40)));
    let r = anyone.get("/v1/admin/tenants").await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("LONGSHORE_ADMIN_KEY"),
        "{}",
        r.text
    );
}
