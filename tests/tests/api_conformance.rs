//! What `scripts/api-conformance` (schemathesis, embedded only) found, held in both deployments
//! by the real binaries: NUL characters are refused before they reach PostgreSQL (a 422 or 404,
//! never a 5xx), an optional field without a value is absent rather than `null`, and every
//! operation documents the schema of the body it returns.

use longshore_tests::{Mode, Reply, Stack};
use reqwest::Method;
use serde_json::json;

fn invalid_field(r: &Reply) -> String {
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    r.body["errors"][0]["field"]
        .as_str()
        .expect("errors[0].field")
        .to_owned()
}

async fn nul_is_refused_and_nothing_is_null(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;

    // In a JSON body, wherever it is.
    let r = client
        .post(
            "/v1/payments",
            &json!({"amount": 1999, "currency": "EUR", "reference": "nul",
                    "metadata": {"a": ["ok", "x\u{0}y"]}}),
        )
        .await;
    assert_eq!(invalid_field(&r), "metadata.a[1]");
    let body = json!({"subject": "Hello\u{0}", "text": "hi"}).to_string();
    let r = client
        .send(Method::PUT, "/v1/templates/welcome", |r| {
            r.header("content-type", "application/json").body(body)
        })
        .await;
    assert_eq!(invalid_field(&r), "subject");
    // In a query parameter: 422 naming it; in a path: nothing has such a name.
    assert_eq!(
        invalid_field(&client.get("/v1/emails?tag=a%00b").await),
        "tag"
    );
    for path in ["/v1/templates/a%00b", "/v1/suppressions/a%00b@example.com"] {
        let r = client.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }

    // No `null`: an empty page has no next_cursor; a new endpoint has no rotation yet, and its
    // URL carries the API's real port.
    let r = client.get("/v1/jobs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"data": [], "has_more": false}));
    let created = client
        .post("/v1/webhook-endpoints", &json!({"provider": "standard"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id");
    assert!(created.body["secret"].is_string());
    assert_eq!(
        created.body["url"],
        format!("{}/hooks/{id}", stack.base_url())
    );
    let r = client.get(&format!("/v1/webhook-endpoints/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let endpoint = r.body.as_object().expect("object");
    for absent in ["secret", "rotated_at", "previous_secret_valid_until"] {
        assert!(!endpoint.contains_key(absent), "{absent} in {}", r.text);
    }
    assert!(endpoint.values().all(|v| !v.is_null()), "{}", r.text);

    // Operations that share a status each document their own body.
    let r = stack.anonymous().get("/openapi.json").await;
    let spec: openapiv3::OpenAPI = serde_json::from_str(&r.text).expect("OpenAPI 3");
    for (path, schema) in [
        ("/v1/webhook-endpoints", "EndpointList"),
        ("/v1/webhook-events", "WebhookEventList"),
        ("/v1/payouts", "PayoutList"),
        ("/v1/payouts/{id}", "PayoutView"),
        ("/v1/expenses", "ExpenseList"),
        ("/v1/expenses/{id}", "ExpenseView"),
    ] {
        let get = spec.paths.paths[path]
            .as_item()
            .and_then(|i| i.get.as_ref())
            .unwrap_or_else(|| panic!("GET {path}"));
        let ok = match &get.responses.responses[&openapiv3::StatusCode::Code(200)] {
            openapiv3::ReferenceOr::Item(r) => r,
            _ => panic!("GET {path}: 200 is a reference"),
        };
        let refs: Vec<String> = ok
            .content
            .values()
            .filter_map(|m| match &m.schema {
                Some(openapiv3::ReferenceOr::Reference { reference }) => Some(reference.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            refs,
            [format!("#/components/schemas/{schema}")],
            "GET {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    nul_is_refused_and_nothing_is_null(Mode::Embedded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production() {
    nul_is_refused_and_nothing_is_null(Mode::Production).await
}
