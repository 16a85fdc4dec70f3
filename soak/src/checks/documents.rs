//! Documents and certificate batches.
//!
//! Documents (the certificates and receipts of `POST /v1/documents`, and every batch's
//! certificates): each reaches one final state, once: `ready` with exactly one `document.ready`
//! event and a download that is a whole PDF (starts with `%PDF-`, ends with `%%EOF`, the size
//! the record gives), or `failed` with a recorded reason and exactly one `document.failed`
//! event. Both events for one document (a failure recorded, then a late render making it ready)
//! is two final states: a duplicate. A certificate to be emailed must get its email created
//! (or a recorded `email_error`); the email itself is judged with the other emails.
//!
//! Batches: each accepted batch ends `completed` with exactly as many certificates as it was
//! given recipients, none recorded twice, each of them this batch's, `rendered + failed` equal
//! to the total, and one `certificate_batch.completed` event.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Finding, Snapshot, Verdict, time};
use crate::ledger::Entries;

/// `document.ready` and `document.failed` events per document id.
fn final_events(events: &[Value]) -> HashMap<&str, (usize, usize)> {
    let mut by_doc: HashMap<&str, (usize, usize)> = HashMap::new();
    for e in events {
        let ready = match e["type"].as_str() {
            Some("document.ready") => true,
            Some("document.failed") => false,
            _ => continue,
        };
        if let Some(id) = e["payload"]["data"]["document_id"].as_str() {
            let n = by_doc.entry(id).or_default();
            if ready {
                n.0 += 1;
            } else {
                n.1 += 1;
            }
        }
    }
    by_doc
}

/// Every document the load is owed: its id and whether it is to be emailed (singles as the
/// ledger says, batch members by their recipient's address).
pub fn owed(snapshot: &Snapshot, ledger: &Entries) -> Vec<(String, bool)> {
    let mut owed: Vec<(String, bool)> = ledger
        .documents
        .iter()
        .map(|d| (d.id.clone(), d.emailed))
        .collect();
    for b in &ledger.batches {
        let Some(batch) = snapshot.batches.get(&b.id) else {
            continue;
        };
        for id in batch["document_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let emailed = snapshot
                .documents
                .get(id)
                .is_some_and(|d| d["data"]["recipient_email"].is_string());
            owed.push((id.to_owned(), emailed));
        }
    }
    owed
}

pub fn documents(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("documents");
    let events = final_events(&snapshot.events);
    let (mut failed, mut emailed, mut email_errors) = (Vec::new(), 0, 0);
    let owed = owed(snapshot, ledger);
    for (id, to_email) in &owed {
        v.accepted += 1;
        let Some(doc) = snapshot.documents.get(id) else {
            v.lost.push(Finding::new(id, "no such document"));
            continue;
        };
        let (ready_events, failed_events) = events.get(id.as_str()).copied().unwrap_or_default();
        let status = doc["status"].as_str().unwrap_or_default();
        let reason = doc["failure_reason"].as_str().unwrap_or_default();
        if ready_events > 0 && failed_events > 0 {
            v.duplicated.push(Finding::new(
                id,
                format!(
                    "two final states: {failed_events} document.failed and {ready_events} document.ready events (now {status}; failure reason {reason:?})"
                ),
            ));
            continue;
        }
        match status {
            "ready" => {
                if ready_events > 1 {
                    v.duplicated.push(Finding::new(
                        id,
                        format!("{ready_events} document.ready events"),
                    ));
                    continue;
                }
                if ready_events == 0 {
                    v.lost
                        .push(Finding::new(id, "ready without a document.ready event"));
                    continue;
                }
                match snapshot.pdfs.get(id) {
                    Some(Ok(())) => {}
                    Some(Err(why)) => {
                        v.violations.push(Finding::new(id, why.clone()));
                        continue;
                    }
                    None => {
                        v.pending
                            .push(Finding::new(id, "ready, not downloaded yet"));
                        continue;
                    }
                }
                if *to_email {
                    match (doc["email_id"].as_str(), doc["email_error"].as_str()) {
                        (Some(_), _) => emailed += 1,
                        (None, Some(e)) => {
                            email_errors += 1;
                            v.notes.push(format!("{id}: no email created ({e})"));
                        }
                        (None, None) => {
                            v.pending
                                .push(Finding::new(id, "ready, its email not created yet"));
                            continue;
                        }
                    }
                }
                v.complete(time(&doc["rendered_at"]));
            }
            "failed" if failed_events > 1 => v.duplicated.push(Finding::new(
                id,
                format!("{failed_events} document.failed events"),
            )),
            "failed" if failed_events == 0 => v
                .lost
                .push(Finding::new(id, "failed without a document.failed event")),
            "failed" if reason.is_empty() => v
                .lost
                .push(Finding::new(id, "failed without a recorded reason")),
            "failed" => {
                v.complete(time(&doc["updated_at"]));
                failed.push(format!("{id} ({reason})"));
            }
            other => v.pending.push(Finding::new(
                id,
                format!("{other} (render job {})", doc["job_id"]),
            )),
        }
    }
    let singles = ledger.documents.len();
    let receipts = ledger
        .documents
        .iter()
        .filter(|d| d.kind == "receipt")
        .count();
    v.notes.push(format!(
        "{singles} documents ({} certificates, {receipts} receipts) and {} certificates of {} batches; {emailed} emailed certificates have their email, {email_errors} an email error; {} PDFs downloaded and checked",
        singles - receipts,
        owed.len() - singles,
        ledger.batches.len(),
        snapshot.pdfs.values().filter(|p| p.is_ok()).count(),
    ));
    if !failed.is_empty() {
        v.notes.push(format!(
            "{} ended failed (a recorded reason): {}",
            failed.len(),
            failed.join(", ")
        ));
    }
    v
}

pub fn batches(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("certificate batches");
    let mut completed_events: HashMap<&str, usize> = HashMap::new();
    for e in &snapshot.events {
        if e["type"] == "certificate_batch.completed"
            && let Some(id) = e["payload"]["data"]["batch_id"].as_str()
        {
            *completed_events.entry(id).or_default() += 1;
        }
    }
    for b in &ledger.batches {
        v.accepted += 1;
        let Some(batch) = snapshot.batches.get(&b.id) else {
            v.lost.push(Finding::new(&b.id, "no such batch"));
            continue;
        };
        let ids: Vec<&str> = batch["document_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        let count = |field: &str| batch[field].as_u64().unwrap_or(0) as usize;
        let (total, rendered, failed) = (count("total"), count("rendered"), count("failed"));
        let status = batch["status"].as_str().unwrap_or_default();
        if unique.len() != ids.len() || ids.len() > b.recipients || total > b.recipients {
            v.duplicated.push(Finding::new(
                &b.id,
                format!(
                    "{} recipients given; total {total}, {} documents ({} distinct)",
                    b.recipients,
                    ids.len(),
                    unique.len()
                ),
            ));
            continue;
        }
        if status != "completed" {
            v.pending.push(Finding::new(
                &b.id,
                format!(
                    "{status}: {} of {} certificates recorded, {rendered} rendered, {failed} failed",
                    ids.len(),
                    b.recipients
                ),
            ));
            continue;
        }
        let foreign: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| {
                snapshot
                    .documents
                    .get(*id)
                    .is_none_or(|d| d["batch_id"] != b.id.as_str())
            })
            .collect();
        if total != b.recipients || ids.len() != b.recipients || rendered + failed != total {
            v.lost.push(Finding::new(
                &b.id,
                format!(
                    "completed with {} recipients given: total {total}, {} documents, {rendered} rendered + {failed} failed",
                    b.recipients,
                    ids.len()
                ),
            ));
            continue;
        }
        if !foreign.is_empty() {
            v.violations.push(Finding::new(
                &b.id,
                format!("documents not of this batch: {}", foreign.join(", ")),
            ));
            continue;
        }
        if count("email_recipients") != b.emailed {
            v.violations.push(Finding::new(
                &b.id,
                format!(
                    "{} recipients given an address, the batch counts {}",
                    b.emailed,
                    count("email_recipients")
                ),
            ));
        }
        match completed_events.get(b.id.as_str()).copied().unwrap_or(0) {
            1 => {}
            0 => {
                v.lost.push(Finding::new(
                    &b.id,
                    "completed without a certificate_batch.completed event",
                ));
                continue;
            }
            n => {
                v.duplicated.push(Finding::new(
                    &b.id,
                    format!("{n} certificate_batch.completed events"),
                ));
                continue;
            }
        }
        let done = ids
            .iter()
            .filter_map(|id| snapshot.documents.get(*id))
            .filter_map(|d| time(&d["updated_at"]))
            .max();
        v.complete(done);
        v.notes.push(format!(
            "{}: {total} certificates ({rendered} rendered, {failed} failed), {} emailed, {} email failures",
            b.id, batch["emailed"], batch["email_failed"]
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ledger::{Batch, Document};

    fn event(kind: &str, data: Value) -> Value {
        json!({"id": format!("msg_{}", rand::random::<u32>()), "type": kind, "payload": {"data": data}})
    }

    fn ready(id: &str, batch: Option<&str>) -> Value {
        json!({"id": id, "status": "ready", "bytes": 10, "batch_id": batch, "job_id": "job_x",
               "rendered_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
               "data": {}})
    }

    #[test]
    fn a_document_failed_then_made_ready_is_two_final_states() {
        let mut s = Snapshot::default();
        for id in ["doc_a", "doc_b"] {
            s.documents.insert(id.into(), ready(id, None));
            s.pdfs.insert(id.into(), Ok(()));
            s.events
                .push(event("document.ready", json!({"document_id": id})));
        }
        s.events.push(event(
            "document.failed",
            json!({"document_id": "doc_b", "failure_reason": "lease expired"}),
        ));
        let ledger = Entries {
            documents: ["doc_a", "doc_b"]
                .map(|id| Document {
                    id: id.into(),
                    kind: "certificate",
                    emailed: false,
                })
                .to_vec(),
            ..Entries::default()
        };
        let v = documents(&s, &ledger);
        assert_eq!((v.accepted, v.completed), (2, 1));
        assert_eq!(v.duplicated.len(), 1);
        assert_eq!(v.duplicated[0].id, "doc_b");
        assert!(v.failed());
    }

    #[test]
    fn a_batch_must_end_with_as_many_certificates_as_recipients() {
        let mut s = Snapshot::default();
        let ids = ["doc_1", "doc_2", "doc_3"];
        for id in ids {
            s.documents.insert(id.into(), ready(id, Some("cbat_1")));
        }
        s.batches.insert(
            "cbat_1".into(),
            json!({"id": "cbat_1", "status": "completed", "total": 2, "rendered": 3,
                   "failed": 0, "email_recipients": 0, "document_ids": ids}),
        );
        s.events.push(event(
            "certificate_batch.completed",
            json!({"batch_id": "cbat_1"}),
        ));
        let ledger = Entries {
            batches: vec![Batch {
                id: "cbat_1".into(),
                recipients: 2,
                emailed: 0,
            }],
            ..Entries::default()
        };
        let v = batches(&s, &ledger);
        assert_eq!(v.duplicated.len(), 1, "{v:?}");

        // The right count completes.
        let right = json!({"id": "cbat_1", "status": "completed", "total": 2, "rendered": 2,
                           "failed": 0, "email_recipients": 0, "document_ids": &ids[..2]});
        s.batches.insert("cbat_1".into(), right);
        let v = batches(&s, &ledger);
        assert_eq!((v.completed, v.failed()), (1, false), "{v:?}");
    }
}
