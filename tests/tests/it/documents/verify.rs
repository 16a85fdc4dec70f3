//! Public verification: JSON and HTML for a valid certificate; revoked, unknown and malformed
//! codes get the same 404 answer; lookups are rate-limited per client.

use longshore_tests::{Client, Mode, Stack};

use super::*;
use crate::in_both_modes;

async fn lookup(client: &Client, code: &str, accept: &str) -> longshore_tests::Reply {
    let accept = accept.to_owned();
    client
        .send(reqwest::Method::GET, &format!("/v/{code}"), move |r| {
            r.header("accept", accept)
        })
        .await
}

fn assert_not_valid(r: &longshore_tests::Reply, what: &str) {
    assert_eq!(r.status, 404, "{what}: {}", r.text);
    assert_eq!(r.body["valid"], false, "{what}: {}", r.text);
    assert_eq!(r.body["status"], 404, "{what}");
}

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A well-formed code (Luhn mod 32 check symbol, as the server computes it) that nobody issued:
/// a real code with its first symbol changed and the check symbol recomputed.
fn unknown_code(real: &str) -> String {
    let plain: Vec<char> = real.chars().filter(|c| *c != '-').collect();
    let mut body: Vec<char> = plain[..17].to_vec();
    body[0] = if body[0] == '0' { '1' } else { '0' };
    let value = |c: char| ALPHABET.find(c).unwrap();
    let mut double = true;
    let mut sum = 0;
    for &c in body.iter().rev() {
        let mut addend = value(c) * if double { 2 } else { 1 };
        addend = addend / 32 + addend % 32;
        sum += addend;
        double = !double;
    }
    let check = ALPHABET.chars().nth((32 - sum % 32) % 32).unwrap();
    body.push(check);
    body.into_iter().collect()
}

async fn verification(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("Harbour Academy").await;
    let public = stack.anonymous();
    let doc = create(&client, &certificate("Zoë Ñúñez")).await;
    let code = doc["verification_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 20, "three groups of six: {code}");
    assert!(
        doc["verification_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v/{code}"))
    );
    let ready = wait_status(&client, doc["id"].as_str().unwrap(), "ready").await;

    let r = lookup(&public, &code, "application/json").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["valid"], true);
    assert_eq!(r.body["kind"], "certificate");
    assert_eq!(r.body["recipient_name"], "Zoë Ñúñez");
    assert_eq!(r.body["title"], "Safe Lifting Practice");
    assert_eq!(r.body["issued_on"], "2026-03-14");
    assert_eq!(r.body["issuer"], "Harbour Academy");
    assert_eq!(r.body["sha256"], ready["sha256"]);
    // People type codes in lower case, without hyphens.
    let typed = code.replace('-', "").to_lowercase();
    assert_eq!(
        lookup(&public, &typed, "application/json").await.status,
        200
    );

    let page = lookup(&public, &code, "text/html,application/xhtml+xml,*/*;q=0.8").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text.contains("Valid certificate") && page.text.contains("Zoë Ñúñez"),
        "{}",
        page.text
    );

    // A mistyped code fails its check symbol: the same answer as an unknown one.
    let mut symbols: Vec<char> = code.chars().collect();
    let last = symbols.len() - 1;
    symbols[last] = if symbols[last] == 'A' { 'B' } else { 'A' };
    let malformed: String = symbols.into_iter().collect();
    assert_not_valid(
        &lookup(&public, &malformed, "application/json").await,
        "bad check symbol",
    );
    assert_not_valid(
        &lookup(&public, "not-a-code", "application/json").await,
        "garbage",
    );
    let unknown = unknown_code(&code);
    assert_not_valid(
        &lookup(&public, &unknown, "application/json").await,
        "unknown",
    );
    let page = lookup(&public, &unknown, "text/html").await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("Not valid"), "{}", page.text);

    let r = client
        .post_empty(&format!(
            "/v1/documents/{}/revoke",
            doc["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoked"], true);
    assert_not_valid(&lookup(&public, &code, "application/json").await, "revoked");
    assert_eq!(lookup(&public, &code, "text/html").await.status, 404);
    // Only certificates can be revoked.
    let rec = create(&client, &receipt()).await;
    let r = client
        .post_empty(&format!(
            "/v1/documents/{}/revoke",
            rec["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
}
in_both_modes!(certificates_verify_publicly_until_revoked, verification);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_lookups_are_rate_limited() {
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_VERIFY_RATE_PER_MINUTE", "5")
        .start()
        .await;
    let public = stack.anonymous();
    for i in 0..5 {
        let r = lookup(&public, "AAAAAA-AAAAAA-AAAAAA", "application/json").await;
        assert_eq!(r.status, 404, "lookup {i}: {}", r.text);
    }
    let r = lookup(&public, "AAAAAA-AAAAAA-AAAAAA", "application/json").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body["type"], "/problems/rate-limited");
    assert!(r.header("retry-after").unwrap().parse::<u32>().unwrap() >= 1);
    let page = lookup(&public, "AAAAAA-AAAAAA-AAAAAA", "text/html").await;
    assert_eq!(page.status, 429);
    assert!(page.text.contains("Too many"), "{}", page.text);
}
