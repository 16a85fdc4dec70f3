//! Tracking: opens and clicks recorded (people and machines apart) and redirected; forged,
//! tampered and misused tokens record nothing and redirect nowhere; one-click unsubscribe.

use longshore_testkit::SmtpSink;
use longshore_tests::{Client, Mode, Stack};
use serde_json::json;

use super::*;
use crate::in_both_modes;

const LINKS: [&str; 2] = [
    "https://example.com/pricing?plan=pro&ref=mail",
    "http://example.org/docs",
];

/// Sends one tracked email and returns its id and the decoded HTML that arrived.
async fn sent_html(client: &Client, sink: &SmtpSink) -> (String, String, String) {
    let html = format!(
        "<p>Hello</p><a href=\"{}\">Pricing</a> <a href='{}'>Docs</a> <a href=\"mailto:a@b.example\">Mail</a>",
        LINKS[0].replace('&', "&amp;"),
        LINKS[1]
    );
    let email = send(
        client,
        json!({"to": ["ada@example.com"], "subject": "Tracked", "html": html}),
    )
    .await;
    let id = email["id"].as_str().unwrap().to_owned();
    wait_status(client, &id, "sent").await;
    let received = sink.wait_for(1, DEADLINE);
    let msg = parse(&received.last().unwrap().data);
    let html = msg.body_html(0).unwrap().into_owned();
    let unsubscribe = unsubscribe_path(&msg);
    (id, html, unsubscribe)
}

async fn get_with(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    ua: &str,
) -> longshore_tests::Reply {
    let ua = ua.to_owned();
    client
        .send(method, path, move |r| r.header("user-agent", ua))
        .await
}

async fn opens_and_clicks(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = stack(mode, &sink).await;
    let client = tenant(&stack, "acme").await;
    let anon = stack.anonymous();
    let (id, html, _) = sent_html(&client, &sink).await;
    let clicks = tracking_paths(&html, "c");
    let opens = tracking_paths(&html, "o");
    assert_eq!((clicks.len(), opens.len()), (2, 1), "{html}");

    let head = get_with(&anon, reqwest::Method::HEAD, &opens[0], BROWSER).await;
    assert_eq!(head.status, 200);
    let pixel = get_with(&anon, reqwest::Method::GET, &opens[0], BROWSER).await;
    assert_eq!(pixel.status, 200);
    assert_eq!(pixel.header("content-type"), Some("image/gif"));
    assert_eq!(pixel.header("cache-control"), Some("no-store, private"));
    assert!(pixel.text.as_bytes().starts_with(b"GIF89a"));
    get_with(&anon, reqwest::Method::GET, &opens[0], BROWSER).await;

    for (path, link) in clicks.iter().zip(LINKS) {
        let r = get_with(&anon, reqwest::Method::GET, path, BROWSER).await;
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), Some(link));
    }
    // A scanner's click counts as a machine's.
    let r = get_with(&anon, reqwest::Method::GET, &clicks[0], "curl/8.5.0").await;
    assert_eq!(r.status, 302);

    let email = wait_email(&client, &id, "3 clicks recorded", |e| {
        e["counters"]["clicks"].as_u64().unwrap_or(0)
            + e["counters"]["machine"]["clicks"].as_u64().unwrap_or(0)
            == 3
    })
    .await;
    let c = &email["counters"];
    assert_eq!(
        (c["opens"].as_u64(), c["unique_opens"].as_u64()),
        (Some(2), Some(1)),
        "HEAD is not counted: {c}"
    );
    assert_eq!(
        (c["clicks"].as_u64(), c["unique_clicks"].as_u64()),
        (Some(2), Some(1)),
        "{c}"
    );
    assert_eq!(c["machine"]["clicks"], 1, "{c}");
    let events = email["events"].as_array().unwrap();
    let clicked: Vec<&Value> = events.iter().filter(|e| e["type"] == "clicked").collect();
    assert_eq!(clicked.len(), 3);
    assert_eq!(clicked[0]["link"], LINKS[0]);
    assert_eq!(clicked[0]["machine"], false);
    assert_eq!(clicked[0]["user_agent"], BROWSER);
    assert!(clicked[0]["ip"].as_str().unwrap().starts_with("127."));
    let scanner = clicked.iter().find(|e| e["machine"] == true).unwrap();
    assert_eq!(scanner["machine_reason"], "automated client");
}
in_both_modes!(pixel_and_links_record_events_and_redirect, opens_and_clicks);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_tampered_tokens_record_nothing_and_redirect_nowhere() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let anon = stack.anonymous();
    let (id, html, _) = sent_html(&client, &sink).await;
    let click = tracking_paths(&html, "c").remove(0);
    let open = tracking_paths(&html, "o").remove(0);

    let tamper = |path: &str, at: usize| {
        let mut b = path.as_bytes().to_vec();
        let i = b.len() - at;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let open_token = open.trim_start_matches("/t/o/");
    let forged = [
        tamper(&click, 3),            // the MAC
        tamper(&click, 40),           // the payload (and so the link)
        format!("/t/c/{open_token}"), // an open token at the click endpoint
        "/t/c/k1.aHR0cHM6Ly9ldmlsLmV4YW1wbGU.AAAAAAAAAAAAAAAAAAAAAA".into(),
        "/t/c/nonsense?url=https://evil.example".into(),
        format!("{}?url=https://evil.example", tamper(&click, 3)),
    ];
    for path in &forged {
        let r = get_with(&anon, reqwest::Method::GET, path, BROWSER).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(r.header("location").is_none(), "{path} redirected");
    }
    for path in [
        tamper(&open, 3),
        format!("/t/o/{}", click.trim_start_matches("/t/c/")),
    ] {
        let r = get_with(&anon, reqwest::Method::GET, &path, BROWSER).await;
        assert_eq!(r.status, 404, "{path}");
    }
    // A genuine token ignores `?url=`: it goes to the link that was sent, and nowhere else.
    let r = get_with(
        &anon,
        reqwest::Method::GET,
        &format!("{click}?url=https://evil.example"),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(LINKS[0]));
    // One genuine open after the forgeries: once it is recorded, everything before it would be.
    get_with(&anon, reqwest::Method::GET, &open, BROWSER).await;
    let email = wait_email(&client, &id, "the genuine open", |e| {
        e["counters"]["opens"] == 1
    })
    .await;
    let c = &email["counters"];
    assert_eq!(
        (
            c["clicks"].as_u64(),
            c["machine"]["clicks"].as_u64(),
            c["machine"]["opens"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "{c}"
    );
    let tracked = event_types(&email)
        .into_iter()
        .filter(|t| t == "opened" || t == "clicked")
        .count();
    assert_eq!(tracked, 2, "only the genuine click and open: {email}");
}

async fn unsubscribe_flow(stack: &Stack, client: &Client, sink: &SmtpSink) {
    let anon = stack.anonymous();
    let (id, _, path) = sent_html(client, sink).await;
    let page = anon.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    assert_eq!(
        client.get("/v1/suppressions/ada@example.com").await.status,
        404,
        "GET changed nothing"
    );

    let form = anon
        .send(reqwest::Method::POST, &path, |r| {
            r.header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
        })
        .await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(form.header("location").is_none());
    let multipart = anon
        .send(reqwest::Method::POST, &path, |r| {
            r.header("content-type", "multipart/form-data; boundary=XyZ").body(
                "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n",
            )
        })
        .await;
    assert_eq!(multipart.status, 200, "idempotent: {}", multipart.text);

    let s = client.get("/v1/suppressions/ada@example.com").await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["reason"], "unsubscribed");
    let email = client.get(&format!("/v1/emails/{id}")).await.body;
    assert_eq!(
        event_types(&email)
            .iter()
            .filter(|t| *t == "unsubscribed")
            .count(),
        1,
        "{email}"
    );

    let before = sink.count();
    let later = send(
        client,
        json!({"to": ["Ada <ADA@example.com>"], "subject": "Later", "text": "Hi"}),
    )
    .await;
    wait_status(client, later["id"].as_str().unwrap(), "suppressed").await;
    assert_eq!(
        sink.count(),
        before,
        "no SMTP conversation for a suppressed address"
    );

    let forged = anon
        .send(reqwest::Method::POST, &format!("{path}x"), |r| {
            r.body("List-Unsubscribe=One-Click")
        })
        .await;
    assert_eq!(forged.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_get_changes_nothing_and_one_click_post_suppresses() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    unsubscribe_flow(&stack, &client, &sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_and_clicks_soon_after_sending_count_as_machines() {
    let sink = SmtpSink::start();
    // Windows of ten minutes, so "soon after sending" holds however slow the machine is.
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_TRACKING_PREFETCH_WINDOW_MS", "600000")
        .env("LONGSHORE_TRACKING_SCANNER_WINDOW_MS", "600000")
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let (id, html, _) = sent_html(&client, &sink).await;
    let anon = stack.anonymous();
    get_with(
        &anon,
        reqwest::Method::GET,
        &tracking_paths(&html, "o")[0],
        BROWSER,
    )
    .await;
    get_with(
        &anon,
        reqwest::Method::GET,
        &tracking_paths(&html, "c")[0],
        BROWSER,
    )
    .await;
    let email = wait_email(&client, &id, "machine events", |e| {
        e["counters"]["machine"]["clicks"] == 1 && e["counters"]["machine"]["opens"] == 1
    })
    .await;
    assert_eq!(
        (
            email["counters"]["opens"].as_u64(),
            email["counters"]["clicks"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let reasons: Vec<&str> = email["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["machine_reason"].as_str())
        .collect();
    assert_eq!(reasons, ["opened at delivery", "clicked at delivery"]);
}
