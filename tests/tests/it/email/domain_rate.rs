//! `LONGSHORE_EMAIL_PER_DOMAIN_PER_MINUTE`: the send job's per-key rate, shared by the workers.
//! Over it an email waits in the queue for its slot (not refused, not failed); other domains
//! are not held up.

use std::time::Duration;

use longshore_testkit::SmtpSink;
use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::{send, tenant, wait_status};
use crate::in_both_modes;

/// 12 a minute: a burst of 2, then one every 5 s.
const PER_MINUTE: &str = "12";
const SLOT: Duration = Duration::from_secs(5);

async fn domain_rate(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_EMAIL_PER_DOMAIN_PER_MINUTE", PER_MINUTE)
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let mut busy = Vec::new();
    for n in 0..3 {
        let body = json!({"to": [format!("user{n}@busy.example")], "subject": "S", "text": "T"});
        busy.push(send(&client, body).await["id"].as_str().unwrap().to_owned());
    }
    let other = send(
        &client,
        json!({"to": ["ada@quiet.example"], "subject": "S", "text": "T"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for id in busy.iter().chain([&other]) {
        wait_status(&client, id, "sent").await;
    }
    let at = |domain: &str| {
        let mut times: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.ends_with(domain)))
            .map(|m| m.at)
            .collect();
        times.sort();
        times
    };
    let busy_at = at("@busy.example");
    let quiet_at = at("@quiet.example");
    assert_eq!((busy_at.len(), quiet_at.len()), (3, 1), "one copy each");
    // The third to busy.example waited for its slot, a rate slot after the burst of two (less a
    // little: the limit's clock and the sink's are not the same one).
    let gap = busy_at[2] - busy_at[0];
    assert!(
        gap >= SLOT - Duration::from_secs(1),
        "the third went after {gap:?}"
    );
    assert!(
        quiet_at[0] < busy_at[2],
        "quiet.example's email did not wait behind busy.example's"
    );
    let third = client.get(&format!("/v1/emails/{}", busy[2])).await;
    assert_eq!(third.body["status"], "sent", "{}", third.text);
}
in_both_modes!(a_domain_over_its_rate_waits_its_turn, domain_rate);
