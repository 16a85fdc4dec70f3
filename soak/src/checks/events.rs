//! Events to the tenant's app (an endpoint subscribed to everything): every recorded event is
//! delivered at least once (the app answered 2xx to its `webhook-id`), with a valid signature;
//! more than one 2xx for an id is an allowed duplicate. One change gets one event id: two
//! events for the same change (say two `email.sent` for one email) are forbidden, except
//! `job.dead`, which guarantees.md allows twice. And no change goes without its event: every
//! email that ended sent, bounced or failed, every job or task that ended dead, every gateway
//! event applied to a payment, and every report built must have its event.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Finding, Snapshot, Verdict};
use crate::ledger::Entries;

pub fn check(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("events");
    let mut changes: HashMap<String, Vec<&str>> = HashMap::new();
    for event in &snapshot.events {
        let id = event["id"].as_str().unwrap_or_default();
        v.accepted += 1;
        let seen = snapshot.event_app.get(id).cloned().unwrap_or_default();
        if seen.bad_signatures > 0 {
            v.violations.push(Finding::new(
                id,
                format!("{} requests with a bad signature", seen.bad_signatures),
            ));
        }
        if seen.succeeded > 1 {
            v.allowed_duplicates.push(Finding::new(
                id,
                format!("{}: delivered {} times", event["type"], seen.succeeded),
            ));
        }
        if seen.succeeded > 0 {
            v.complete(seen.first_success);
        } else {
            let delivery = &event["deliveries"][0];
            let what = format!(
                "{} delivery {} after {} attempts",
                event["type"], delivery["status"], delivery["attempts"]
            );
            if delivery["status"] == "failed" {
                v.lost.push(Finding::new(id, what));
            } else {
                v.pending.push(Finding::new(id, what));
            }
        }
        if let Some(key) = change(event) {
            changes.entry(key).or_default().push(id);
        }
    }
    for (key, ids) in &changes {
        if ids.len() > 1 {
            let finding = Finding::new(
                ids.join(","),
                format!("{} events for one change ({key})", ids.len()),
            );
            if key.starts_with("job.dead") {
                v.allowed_duplicates.push(finding);
            } else {
                v.duplicated.push(finding);
            }
        }
    }
    for missing in changes_without_events(snapshot, ledger, &changes) {
        v.lost.push(missing);
    }
    let listed: HashSet<&str> = snapshot
        .events
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    let unknown = snapshot
        .event_app
        .keys()
        .filter(|id| !listed.contains(id.as_str()))
        .count();
    if unknown > 0 {
        v.notes.push(format!(
            "{unknown} webhook-ids received that the events listing does not show"
        ));
    }
    v
}

/// What an event is about, for types that happen once per thing (`None` for opens, clicks and
/// the like, which happen any number of times).
fn change(event: &Value) -> Option<String> {
    let kind = event["type"].as_str()?;
    let d = &event["payload"]["data"];
    let field = |name: &str| {
        d[name]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| d[name].to_string())
    };
    let key = match kind {
        "email.sent" | "email.bounced" | "email.failed" => field("email_id"),
        "email.deferred" => format!("{}#{}", field("email_id"), field("attempt")),
        "email.suppressed" => format!("{}/{}", field("email_id"), field("recipient")),
        "payment.succeeded" | "payment.failed" | "payment.refunded" => field("webhook_event_id"),
        "report.ready" | "report.failed" => field("report_id"),
        "job.dead" => field("job_id"),
        "task.dead" => field("task_id"),
        "document.ready" | "document.failed" => field("document_id"),
        "certificate_batch.completed" => field("batch_id"),
        _ => return None,
    };
    Some(format!("{kind} {key}"))
}

/// Changes Longshore recorded that have no event.
fn changes_without_events(
    snapshot: &Snapshot,
    ledger: &Entries,
    changes: &HashMap<String, Vec<&str>>,
) -> Vec<Finding> {
    let mut missing = Vec::new();
    let has = |key: String| changes.contains_key(&key);
    let accepted: HashSet<&str> = ledger.emails.iter().map(|e| e.id.as_str()).collect();
    for (id, email) in &snapshot.emails {
        let status = email["status"].as_str().unwrap_or_default();
        if accepted.contains(id.as_str())
            && matches!(status, "sent" | "bounced" | "failed")
            && !has(format!("email.{status} {id}"))
        {
            missing.push(Finding::new(
                id,
                format!("email {status} without an email.{status} event"),
            ));
        }
    }
    for job in &ledger.jobs {
        if snapshot
            .jobs
            .get(&job.id)
            .is_some_and(|j| j["state"] == "dead")
            && !has(format!("job.dead {}", job.id))
        {
            missing.push(Finding::new(&job.id, "job dead without a job.dead event"));
        }
    }
    for task in &ledger.tasks {
        if snapshot
            .tasks
            .get(&task.id)
            .is_some_and(|t| t["status"] == "dead")
            && !has(format!("task.dead {}", task.id))
        {
            missing.push(Finding::new(
                &task.id,
                "task dead without a task.dead event",
            ));
        }
    }
    for payment in snapshot.payments.values() {
        for h in payment["history"].as_array().into_iter().flatten() {
            let kind = match h["kind"].as_str() {
                Some("succeeded") => "payment.succeeded",
                Some("refunded") => "payment.refunded",
                _ => continue,
            };
            if h["outcome"] == "applied"
                && !has(format!(
                    "{kind} {}",
                    h["event"].as_str().unwrap_or_default()
                ))
            {
                missing.push(Finding::new(
                    h["event"].as_str().unwrap_or_default(),
                    format!("applied without a {kind} event"),
                ));
            }
        }
    }
    for (_, reports) in snapshot.schedules.values() {
        for r in reports {
            let status = r["status"].as_str().unwrap_or_default();
            let id = r["id"].as_str().unwrap_or_default();
            if matches!(status, "ready" | "failed") && !has(format!("report.{status} {id}")) {
                missing.push(Finding::new(
                    id,
                    format!("report {status} without a report.{status} event"),
                ));
            }
        }
    }
    missing
}
