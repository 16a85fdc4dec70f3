//! The OpenAPI document is valid and lists every route; the docs pages are served.

use longshore_tests::{Mode, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.anonymous();
    let r = client.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    let spec: openapiv3::OpenAPI =
        serde_json::from_str(&r.text).expect("a valid OpenAPI 3 document");
    assert!(spec.openapi.starts_with("3."));
    let routes = [
        ("/v1/jobs", vec!["get", "post"]),
        ("/v1/jobs/{id}", vec!["get"]),
        ("/v1/jobs/{id}/retry", vec!["post"]),
        ("/v1/jobs/{id}/cancel", vec!["post"]),
        ("/healthz", vec!["get"]),
        ("/readyz", vec!["get"]),
    ];
    for (path, methods) in routes {
        let item = spec
            .paths
            .paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing"));
        let item = item.as_item().expect("inline path item");
        for m in methods {
            let op = match m {
                "get" => item.get.as_ref(),
                "post" => item.post.as_ref(),
                _ => None,
            };
            let op = op.unwrap_or_else(|| panic!("{m} {path} missing"));
            if path.starts_with("/v1") {
                assert!(
                    !op.security.as_ref().map(|s| s.is_empty()).unwrap_or(true),
                    "{m} {path} has no security"
                );
                let statuses: Vec<String> = op
                    .responses
                    .responses
                    .keys()
                    .map(|k| k.to_string())
                    .collect();
                for s in ["401", "422", "503"] {
                    assert!(
                        statuses.iter().any(|x| x == s),
                        "{m} {path} does not document {s}: {statuses:?}"
                    );
                }
            }
        }
    }
    // The public verification page: no security, both media types of each answer.
    let verify = spec
        .paths
        .paths
        .get("/v/{code}")
        .expect("/v/{code} missing");
    let verify = verify
        .as_item()
        .and_then(|i| i.get.as_ref())
        .expect("GET /v/{code}");
    assert!(
        verify.security.as_ref().is_none_or(|s| s.is_empty()),
        "verification needs no API key"
    );
    let media = |status: u16| -> Vec<String> {
        let code = openapiv3::StatusCode::Code(status);
        match verify.responses.responses.get(&code) {
            Some(openapiv3::ReferenceOr::Item(r)) => r.content.keys().cloned().collect(),
            _ => panic!("GET /v/{{code}} does not document {status}"),
        }
    };
    for status in [200, 404] {
        let types = media(status);
        assert!(
            types.iter().any(|t| t.starts_with("application/json"))
                && types.iter().any(|t| t.starts_with("text/html")),
            "{status}: {types:?}"
        );
    }
    assert!(media(429).iter().any(|t| t == "application/problem+json"));
    let components = spec.components.expect("components");
    for schema in ["ValidCertificate", "NotValid"] {
        assert!(components.schemas.contains_key(schema), "{schema} schema");
    }
    assert!(components.schemas.contains_key("Problem"));
    assert!(!components.security_schemes.is_empty());
    let docs = client.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger"), "Swagger UI served");
    let redoc = client.get("/redoc").await;
    assert_eq!(redoc.status, 200);
}
