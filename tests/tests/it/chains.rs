//! Chains across capabilities over the real binaries and a real SMTP server: a succeeded
//! payment's receipt (PDF, then the email with it attached) arrives exactly once however often
//! the event is delivered and even when the receipt job runs again; receipts built from a
//! payment id (same tenant only); certificate batches emailed to their recipients; on-demand
//! reports emailed with their CSV and PDF.

use longshore_testkit::SmtpSink;
use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Client, Mode, eventually};
use mail_parser::MimeHeaders;
use serde_json::{Value, json};

use crate::documents::{download, pdftotext};
use crate::email::{self, DEADLINE, FROM};
use crate::in_both_modes;
use crate::webhooks::{about, deliver, payment, succeeded_type, wait_event};

/// Makes `pay` succeed through the gateway; returns the signed event body.
async fn succeed(client: &Client, gw: &Gateway, event: &str, pay: &str, amount: i64) -> Vec<u8> {
    let body = gw.event(
        event,
        succeeded_type(gw),
        now_secs(),
        about(gw, pay, json!({"amount": amount})),
    );
    let inbox = deliver(gw, event, &body).await;
    wait_event(client, &inbox, "processed").await;
    body
}

/// Waits until `check` holds for payment `pay`; returns it.
async fn wait_payment(
    client: &Client,
    pay: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(DEADLINE, what, || async {
        let r = client.get(&format!("/v1/payments/{pay}")).await;
        (r.status == 200 && check(&r.body)).then_some(r.body)
    })
    .await
}

/// The tenant's emails (first page).
async fn emails(client: &Client) -> Vec<Value> {
    let r = client.get("/v1/emails?limit=100").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

/// The attachments of a received message: (file name, bytes).
fn attachments(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let msg = email::parse(raw);
    msg.attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect()
}

async fn receipt_once(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    let client = email::tenant(&stack, "Acme Cranes").await;
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let pay = payment(&client, 1250, Some("ada@example.com")).await;
    let body = succeed(&client, &gw, "evt_receipt_1", &pay, 1250).await;
    // The gateway delivers the same event again, several times at once.
    let again = futures::future::join_all((0..5).map(|_| gw.deliver("evt_receipt_1", &body))).await;
    assert!(
        again
            .iter()
            .all(|r| r.status == 200 && r.body["duplicate"] == true)
    );

    let p = wait_payment(&client, &pay, "the receipt email", |p| {
        p["receipt"]["status"] == "done" && p["receipt"]["email_id"].is_string()
    })
    .await;
    let doc = p["receipt"]["document_id"].as_str().unwrap().to_owned();
    assert!(doc.starts_with("doc_receipt-"), "{p}");
    let email_id = p["receipt"]["email_id"].as_str().unwrap().to_owned();
    let sent = email::wait_status(&client, &email_id, "sent").await;
    assert_eq!(
        sent["attachments"][0]["document_id"],
        doc.as_str(),
        "{sent}"
    );
    assert_eq!(sent["to"][0], "ada@example.com");

    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["ada@example.com"]);
    let msg = email::parse(&received[0].data);
    assert!(
        msg.subject().unwrap().starts_with("Your receipt R-"),
        "{:?}",
        msg.subject()
    );
    let files = attachments(&received[0].data);
    assert_eq!(files.len(), 1, "one PDF attached");
    assert!(
        files[0].0.starts_with("receipt-R-") && files[0].0.ends_with(".pdf"),
        "{}",
        files[0].0
    );
    let text = pdftotext(&files[0].1);
    assert!(
        text.contains("EUR 12.50"),
        "the amount is on the receipt: {text}"
    );
    assert!(
        text.contains("order-1"),
        "the reference is on the receipt: {text}"
    );

    // Everything settled: one email was ever created for the payment, and the sink got one.
    let all = emails(&client).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(sink.count(), 1);
    let d = client.get(&format!("/v1/documents/{doc}")).await.body;
    assert_eq!(d["email_id"], email_id.as_str(), "{d}");
    assert_eq!(d["data"]["payment_id"], pay.as_str(), "{d}");
}
in_both_modes!(
    a_succeeded_payment_gets_exactly_one_receipt_email,
    receipt_once
);

async fn receipt_rerun(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    // No sender default yet: the receipt cannot be emailed.
    let client = stack.tenant("Acme Cranes").await;
    let gw = Gateway::create(&client, &stack.base_url(), "standard").await;
    let pay = payment(&client, 4200, Some("grace@example.com")).await;
    let body = succeed(&client, &gw, "evt_rerun_1", &pay, 4200).await;
    let p = wait_payment(&client, &pay, "the receipt to fail", |p| {
        p["receipt"]["status"] == "failed"
    })
    .await;
    let detail = p["receipt"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("no sender default") && detail.contains("/retry"),
        "{p}"
    );
    let job = format!("job_receipt-{pay}");
    assert!(detail.contains(&job), "{p}");
    let j = eventually(DEADLINE, "the receipt job to be dead", || async {
        let r = client.get(&format!("/v1/jobs/{job}")).await;
        (r.body["state"] == "dead").then_some(r.body)
    })
    .await;
    assert!(
        j["last_error"]
            .as_str()
            .unwrap()
            .contains("no sender default"),
        "{j}"
    );

    // The tenant sets a sender and retries the job: the receipt job runs again.
    let r = client
        .send(reqwest::Method::PUT, "/v1/email-settings", |r| {
            r.header("content-type", "application/json")
                .body(json!({"from": FROM}).to_string())
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = client
        .post(&format!("/v1/jobs/{job}/retry"), &json!({}))
        .await;
    assert!(r.status < 300, "{}", r.text);
    let p = wait_payment(&client, &pay, "the receipt email", |p| {
        p["receipt"]["email_id"].is_string()
    })
    .await;
    let email_id = p["receipt"]["email_id"].as_str().unwrap();
    email::wait_status(&client, email_id, "sent").await;
    // The event again: a duplicate, no second receipt.
    let again = gw.deliver("evt_rerun_1", &body).await;
    assert_eq!(again.body["duplicate"], true, "{}", again.text);
    eventually(DEADLINE, "the receipt job to succeed", || async {
        let r = client.get(&format!("/v1/jobs/{job}")).await;
        (r.body["state"] == "succeeded").then_some(())
    })
    .await;
    assert_eq!(emails(&client).await.len(), 1);
    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received.len(), 1);
    let files = attachments(&received[0].data);
    assert!(pdftotext(&files[0].1).contains("EUR 42.00"));
}
in_both_modes!(a_receipt_job_run_again_sends_one_receipt, receipt_rerun);

async fn from_payment(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    let client = email::tenant(&stack, "Acme Cranes").await;
    let other = stack.tenant("Other").await;
    let gw = Gateway::create(&client, &stack.base_url(), "standard").await;
    let pay = payment(&client, 99_950, None).await;
    let r = client
        .post(
            "/v1/documents",
            &json!({"kind": "receipt", "data": {"payment_id": pay}}),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "a pending payment has no receipt: {}",
        r.text
    );
    assert_eq!(r.body["errors"][0]["field"], "data.payment_id");
    succeed(&client, &gw, "evt_doc_1", &pay, 99_950).await;

    let doc = crate::documents::create(
        &client,
        &json!({"kind": "receipt", "data": {"payment_id": pay}}),
    )
    .await;
    let id = doc["id"].as_str().unwrap();
    let ready = crate::documents::wait_status(&client, id, "ready").await;
    assert_eq!(ready["data"]["amount"], 99_950);
    assert_eq!(ready["data"]["currency"], "EUR");
    assert_eq!(ready["data"]["reference"], "order-1");
    assert_eq!(ready["data"]["line_items"].as_array().unwrap().len(), 1);
    let (pdf, _) = download(&stack, &client, id).await;
    let text = pdftotext(&pdf);
    assert!(text.contains("EUR 999.50"), "{text}");

    // Another tenant's payment is unknown; explicit amounts next to a payment id are refused.
    let r = other
        .post(
            "/v1/documents",
            &json!({"kind": "receipt", "data": {"payment_id": pay}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "data.payment_id");
    let r = client
        .post(
            "/v1/documents",
            &json!({"kind": "receipt", "data": {"payment_id": pay, "amount": 5}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "data.amount");
    let r = client
        .post(
            "/v1/documents",
            &json!({"kind": "receipt", "data": {"payment_id": "nope"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "data.payment_id");
}
in_both_modes!(
    receipts_are_built_from_payments_of_the_same_tenant,
    from_payment
);

async fn batch_emails(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    let client = email::tenant(&stack, "Harbour Academy").await;
    let r = client
        .post(
            "/v1/certificate-batches",
            &json!({"course_title": "Safe Lifting", "issued_on": "2026-03-14", "credits": 2,
                    "recipients": [{"name": "Zoë Ñúñez", "email": "zoe@example.com"},
                                   {"name": "No Address"},
                                   {"name": "Łukasz Wróbel", "email": "lukasz@example.com"}],
                    "email": {"subject": "Certificate for {{ recipient_name }}",
                              "html": "<p>Well done {{ recipient_name }}. Verify at {{ verification_url }}</p>"}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The address-less certificate may render after the two emails went out: wait for both.
    let batch = eventually(
        DEADLINE,
        "the batch rendered and its emails sent",
        || async {
            let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
            (r.body["emailed"] == 2 && r.body["rendered"] == 3).then_some(r.body)
        },
    )
    .await;
    assert_eq!(batch["rendered"], 3, "{batch}");
    assert_eq!(batch["email_recipients"], 2, "{batch}");
    assert_eq!(batch["email_failed"], 0, "{batch}");

    let received = sink.wait_for(2, DEADLINE);
    assert_eq!(received.len(), 2);
    let mut subjects = Vec::new();
    for m in &received {
        let msg = email::parse(&m.data);
        subjects.push(msg.subject().unwrap().to_owned());
        let html = msg.body_html(0).unwrap().into_owned();
        assert!(
            html.contains("Well done") && html.contains("Verify at http"),
            "the verification link: {html}"
        );
        let files = attachments(&m.data);
        assert_eq!(files.len(), 1);
        assert!(files[0].0.starts_with("certificate-"), "{}", files[0].0);
        assert!(pdftotext(&files[0].1).contains("Safe Lifting"));
    }
    subjects.sort();
    assert_eq!(
        subjects,
        ["Certificate for Zoë Ñúñez", "Certificate for Łukasz Wróbel"]
    );

    // A template that does not exist is refused up front.
    let r = client
        .post(
            "/v1/certificate-batches",
            &json!({"course_title": "X", "issued_on": "2026-03-14", "recipients": [{"name": "A", "email": "a@example.com"}],
                    "email": {"template": "missing"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "email.template");

    // Without an `email` spec, recipients get the default message with the verification link.
    let r = client
        .post(
            "/v1/certificate-batches",
            &json!({"course_title": "Rigging", "issued_on": "2026-03-15",
                    "recipients": [{"name": "Ada", "email": "ada@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    eventually(DEADLINE, "the default email to be sent", || async {
        let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
        (r.body["emailed"] == 1).then_some(())
    })
    .await;
    let received = sink.wait_for(3, DEADLINE);
    let msg = email::parse(&received[2].data);
    assert_eq!(msg.subject(), Some("Your certificate: Rigging"));
    let html = msg.body_html(0).unwrap().into_owned();
    assert!(
        html.contains("Hello Ada") && html.contains("/t/c/"),
        "a tracked verification link: {html}"
    );
    assert_eq!(attachments(&received[2].data).len(), 1);
}
in_both_modes!(
    batch_certificates_are_emailed_to_their_recipients,
    batch_emails
);

async fn report_emails(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    let client = email::tenant(&stack, "Acme Cranes").await;
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let r = client
        .post("/v1/reports", &json!({"kind": "jobs_health", "from": from, "to": to, "recipients": ["ops@example.com", "cfo@example.com"]}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let report = eventually(DEADLINE, "the report's emails", || async {
        let r = client.get(&format!("/v1/reports/{id}")).await;
        assert_ne!(r.body["status"], "failed", "{}", r.text);
        (r.body["email_ids"].as_array().is_some_and(|a| a.len() == 2)).then_some(r.body)
    })
    .await;
    for e in report["email_ids"].as_array().unwrap() {
        email::wait_status(&client, e.as_str().unwrap(), "sent").await;
    }
    let received = sink.wait_for(2, DEADLINE);
    assert_eq!(received.len(), 2, "one email per recipient");
    let mut rcpts: Vec<String> = received.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["cfo@example.com", "ops@example.com"]);
    for m in &received {
        let files = attachments(&m.data);
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("jobs_health-{id}.csv"),
                format!("jobs_health-{id}.pdf")
            ],
            "{names:?}"
        );
        let csv = String::from_utf8_lossy(&files[0].1);
        assert!(csv.lines().count() >= 1 && csv.contains(','), "{csv}");
        assert!(files[1].1.starts_with(b"%PDF"));
    }
    // Bad recipients are refused before anything is queued.
    let r = client
        .post(
            "/v1/reports",
            &json!({"kind": "jobs_health", "from": from, "to": to, "recipients": ["nope"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "recipients[0]");
}
in_both_modes!(
    on_demand_reports_are_emailed_with_csv_and_pdf,
    report_emails
);

async fn single_certificate_email(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = email::stack(mode, &sink).await;
    let client = email::tenant(&stack, "Harbour Academy").await;
    let certificate = |email: Value| {
        json!({"kind": "certificate",
               "data": {"recipient_name": "Ολυμπία", "course_title": "Knots", "issued_on": "2026-04-01",
                        "recipient_email": "olympia@example.com"},
               "email": email})
    };

    // Opting in with `{}` sends the default message with the PDF attached, once.
    let r = client.post("/v1/documents", &certificate(json!({}))).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let doc = eventually(
        DEADLINE,
        "the certificate's email to be created",
        || async {
            let r = client.get(&format!("/v1/documents/{id}")).await;
            r.body["email_id"].is_string().then_some(r.body)
        },
    )
    .await;
    let received = sink.wait_for(1, DEADLINE);
    let msg = email::parse(&received[0].data);
    assert_eq!(msg.subject(), Some("Your certificate: Knots"));
    assert_eq!(received[0].rcpt_to, ["olympia@example.com"]);
    let files = attachments(&received[0].data);
    assert_eq!(files.len(), 1);
    assert!(pdftotext(&files[0].1).contains("Ολυμπία"));
    let email_id = doc["email_id"].as_str().unwrap();
    let r = client.get(&format!("/v1/emails/{email_id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Without `email` nothing is sent, even with a recipient address.
    let mut plain = certificate(json!({}));
    plain.as_object_mut().unwrap().remove("email");
    let r = client.post("/v1/documents", &plain).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let doc = eventually(DEADLINE, "the plain certificate to render", || async {
        let r = client.get(&format!("/v1/documents/{id}")).await;
        (r.body["status"] == "ready").then_some(r.body)
    })
    .await;
    assert!(doc["email_id"].is_null(), "{doc}");

    // Mistakes are 422s naming the field, and nothing is recorded.
    let mut no_address = certificate(json!({}));
    no_address["data"]
        .as_object_mut()
        .unwrap()
        .remove("recipient_email");
    let r = client.post("/v1/documents", &no_address).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "data.recipient_email");
    let r = client
        .post(
            "/v1/documents",
            &certificate(json!({"template": "missing"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "email.template");
    let r = client
        .post(
            "/v1/documents",
            &certificate(json!({"subject": "only a subject"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "email");
    assert_eq!(sink.count(), 1);
}
in_both_modes!(
    a_single_certificate_can_be_emailed_to_its_recipient,
    single_certificate_email
);
