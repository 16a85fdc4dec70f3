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
    let components = spec.components.expect("components");
    assert!(components.schemas.contains_key("Problem"));
    assert!(!components.security_schemes.is_empty());
    let docs = client.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger"), "Swagger UI served");
    let redoc = client.get("/redoc").await;
    assert_eq!(redoc.status, 200);
}
