//! Emails and their opens and clicks.
//!
//! Emails (the load's, and those documents send once ready): every accepted email is delivered once (one copy at the SMTP server, counted by
//! `Message-ID`) or ends with a recorded reason (`bounced`, `failed`, `suppressed`,
//! `cancelled`, or `sent` flagged `unconfirmed`), and none of those reached the server more
//! than once. Two copies are forbidden whatever the record says: that is the zombie's or a
//! lost reply's second send. An email recorded `sent` (and not `unconfirmed`) that the server
//! never got is lost.
//!
//! Opens and clicks are best effort (guarantees.md: written from memory in batches), so one the
//! API answered but did not count is an allowed loss, shown for the record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Finding, Snapshot, Verdict, time};
use crate::ledger::{Email, Entries};

pub fn check(snapshot: &Snapshot, ledger: &Entries) -> (Verdict, Verdict) {
    (emails(snapshot, ledger), tracking(snapshot, ledger))
}

fn emails(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("emails");
    // Copies at the server: by Message-ID, and by the email id header for messages whose
    // email has no message id recorded.
    let mut by_message_id: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    let mut by_email_id: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    for c in &snapshot.copies {
        if let Some(m) = &c.message_id {
            by_message_id.entry(m.as_str()).or_default().push(c.at);
        }
        if let Some(e) = &c.email_id {
            by_email_id.entry(e.as_str()).or_default().push(c.at);
        }
    }
    let unconfirmed = unconfirmed_sends(&snapshot.events);
    let mut misrouted = Vec::new();
    // The load's emails, and the emails documents send once ready (an emailed certificate, a
    // batch's certificate to a recipient with an address): one each, created by the worker.
    let follow_ups: Vec<Email> = super::documents::owed(snapshot, ledger)
        .into_iter()
        .filter(|(_, emailed)| *emailed)
        .filter_map(|(doc, _)| snapshot.documents.get(&doc)?["email_id"].as_str())
        .map(|id| Email {
            id: id.to_owned(),
            bounces: false,
        })
        .collect();
    if !follow_ups.is_empty() {
        v.notes.push(format!(
            "{} of these are documents' emails (certificates sent to their recipients)",
            follow_ups.len()
        ));
    }
    for email in ledger.emails.iter().chain(&follow_ups) {
        v.accepted += 1;
        let Some(record) = snapshot.emails.get(&email.id) else {
            v.lost.push(Finding::new(&email.id, "no such email"));
            continue;
        };
        let copies = record["message_id"]
            .as_str()
            .map(|m| m.trim_matches(['<', '>']))
            .and_then(|m| by_message_id.get(m))
            .or_else(|| by_email_id.get(email.id.as_str()))
            .cloned()
            .unwrap_or_default();
        let status = record["status"].as_str().unwrap_or_default();
        if copies.len() > 1 {
            v.duplicated.push(Finding::new(
                &email.id,
                format!(
                    "{} copies reached the SMTP server (status {status}, Message-ID {})",
                    copies.len(),
                    record["message_id"]
                ),
            ));
            continue;
        }
        match status {
            "sent" if copies.len() == 1 => v.complete(copies.first().copied()),
            "sent" if unconfirmed.contains_key(email.id.as_str()) => {
                v.complete(time(&record["updated_at"]));
                v.notes.push(format!(
                    "{} recorded sent, unconfirmed, no copy (a recorded reason)",
                    email.id
                ));
            }
            "sent" => v.lost.push(Finding::new(
                &email.id,
                "recorded sent, but no copy reached the SMTP server",
            )),
            "bounced" | "failed" | "suppressed" | "cancelled" => {
                v.complete(time(&record["updated_at"]));
                if !email.bounces {
                    misrouted.push(format!(
                        "{} {status} ({})",
                        email.id, record["last_smtp_reply"]
                    ));
                }
            }
            other => v.pending.push(Finding::new(
                &email.id,
                format!("{other} after {} attempts", record["attempts"]),
            )),
        }
        if email.bounces && status == "sent" {
            misrouted.push(format!(
                "{} sent to an address the server refuses",
                email.id
            ));
        }
    }
    if !unconfirmed.is_empty() {
        v.notes.push(format!(
            "{} emails recorded sent, unconfirmed (the outcome of their SMTP transaction unknown)",
            unconfirmed.len()
        ));
    }
    if !misrouted.is_empty() {
        v.notes.push(format!(
            "unexpected outcomes (recorded, so not losses): {}",
            misrouted.join("; ")
        ));
    }
    v
}

/// Emails whose `email.sent` event says `unconfirmed: true`.
fn unconfirmed_sends(events: &[Value]) -> HashMap<&str, ()> {
    events
        .iter()
        .filter(|e| e["type"] == "email.sent" && e["payload"]["data"]["unconfirmed"] == true)
        .filter_map(|e| Some((e["payload"]["data"]["email_id"].as_str()?, ())))
        .collect()
}

fn tracking(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("opens/clicks");
    let mut hits: HashMap<(&str, bool), Vec<DateTime<Utc>>> = HashMap::new();
    for h in &ledger.tracking {
        hits.entry((h.email_id.as_str(), h.click))
            .or_default()
            .push(h.at);
    }
    for ((email, click), times) in hits {
        let record = snapshot.emails.get(email);
        let counters = record.map(|r| &r["counters"]);
        let field = if click { "clicks" } else { "opens" };
        let counted = counters
            .map(|c| c[field].as_u64().unwrap_or(0) + c["machine"][field].as_u64().unwrap_or(0))
            .unwrap_or(0) as usize;
        for (i, at) in times.iter().enumerate() {
            v.accepted += 1;
            if i < counted {
                v.complete(Some(*at));
            } else {
                v.allowed_lost.push(Finding::new(
                    email,
                    format!("{field}: answered, not counted"),
                ));
            }
        }
        if counted > times.len() {
            v.notes.push(format!(
                "{email}: {counted} {field} counted for {} made",
                times.len()
            ));
        }
    }
    v
}
