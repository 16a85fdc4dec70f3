//! One snapshot of everything the checks compare: Longshore's records as the tenant reads them
//! through the API, and what the SMTP server and the tenant's apps received.

use std::collections::HashMap;
use std::sync::Mutex;

use longshore_testkit::Received;
use mail_parser::MessageParser;
use serde_json::Value;

use crate::api::Api;
use crate::ledger::Entries;
use crate::tenant::{POLITE_QUEUE, QUEUE, Tenant};
use crate::topology::{Seen, Topology};

/// A message as the SMTP server stored it, reduced to what identifies it.
#[derive(Debug, Clone)]
pub struct Copy {
    pub message_id: Option<String>,
    pub email_id: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Everything read at one moment.
#[derive(Default)]
pub struct Snapshot {
    /// `diagnostic.*` jobs by id.
    pub jobs: HashMap<String, Value>,
    /// Emails by id (list shape: status, message id, counters).
    pub emails: HashMap<String, Value>,
    pub copies: Vec<Copy>,
    pub tasks: HashMap<String, Value>,
    /// Webhook inbox rows.
    pub inbox: Vec<Value>,
    /// Payments by id, with their history.
    pub payments: HashMap<String, Value>,
    /// Every event recorded for the tenant, with its deliveries.
    pub events: Vec<Value>,
    /// Per schedule id: the schedule (with its missed-run decisions) and its reports.
    pub schedules: HashMap<String, (Value, Vec<Value>)>,
    pub task_app: HashMap<String, Seen>,
    pub event_app: HashMap<String, Seen>,
    /// Every document by id (singles, batch members, receipts).
    pub documents: HashMap<String, Value>,
    /// The ledger's batches by id, as `GET /v1/certificate-batches/{id}` shows them.
    pub batches: HashMap<String, Value>,
    /// Ready documents' downloads: `Ok` for a PDF of the recorded size, else what was wrong.
    pub pdfs: HashMap<String, Result<(), String>>,
}

/// Downloads checked good already (a ready document's content does not change), so that each
/// snapshot of the settle loop downloads only what became ready since the last.
pub type PdfCache = Mutex<HashMap<String, ()>>;

/// Downloads `doc`'s content and checks it is the PDF its record describes.
async fn check_pdf(api: &Api, doc: &Value) -> Result<(), String> {
    let id = doc["id"].as_str().unwrap_or_default();
    let bytes = api
        .get_bytes(&format!("/v1/documents/{id}/content"))
        .await
        .map_err(|e| format!("download failed: {e:#}"))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(format!(
            "the download does not start with %PDF- ({:?})",
            String::from_utf8_lossy(&bytes[..bytes.len().min(16)])
        ));
    }
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err("the download does not end with %%EOF (truncated?)".into());
    }
    match doc["bytes"].as_u64() {
        Some(n) if n as usize == bytes.len() => Ok(()),
        n => Err(format!(
            "{} bytes downloaded, the record says {n:?}",
            bytes.len()
        )),
    }
}

impl Snapshot {
    /// Reads everything (the listings page by page).
    pub async fn take(
        api: &Api,
        tenant: &Tenant,
        topology: &Topology,
        ledger: &Entries,
        anchor: (std::time::Instant, chrono::DateTime<chrono::Utc>),
        checked: &PdfCache,
    ) -> anyhow::Result<Snapshot> {
        let mut jobs = HashMap::new();
        for kind in ["diagnostic.noop", "diagnostic.sleep"] {
            jobs.extend(by_id(api.list_all(&format!("/v1/jobs?type={kind}")).await?));
        }
        let mut tasks = HashMap::new();
        for queue in [QUEUE, POLITE_QUEUE] {
            tasks.extend(by_id(
                api.list_all(&format!("/v1/tasks?queue={queue}")).await?,
            ));
        }
        let mut payments = HashMap::new();
        for p in &ledger.payments {
            payments.insert(
                p.id.clone(),
                api.get(&format!("/v1/payments/{}", p.id)).await?,
            );
        }
        let mut schedules = HashMap::new();
        for s in &tenant.schedules {
            let schedule = api.get(&format!("/v1/schedules/{}", s.id)).await?;
            let reports = api
                .list_all(&format!("/v1/reports?schedule_id={}", s.id))
                .await?;
            schedules.insert(s.id.clone(), (schedule, reports));
        }
        let documents = by_id(api.list_all("/v1/documents").await?);
        let mut batches = HashMap::new();
        for b in &ledger.batches {
            batches.insert(
                b.id.clone(),
                api.get(&format!("/v1/certificate-batches/{}", b.id))
                    .await?,
            );
        }
        let mut pdfs = HashMap::new();
        let wanted = ledger.documents.iter().map(|d| d.id.as_str()).chain(
            batches
                .values()
                .flat_map(|b| b["document_ids"].as_array().into_iter().flatten())
                .filter_map(Value::as_str),
        );
        for id in wanted {
            let Some(doc) = documents.get(id).filter(|d| d["status"] == "ready") else {
                continue;
            };
            let done = checked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains_key(id);
            let outcome = if done {
                Ok(())
            } else {
                check_pdf(api, doc).await
            };
            if outcome.is_ok() {
                checked
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(id.to_owned(), ());
            }
            pdfs.insert(id.to_owned(), outcome);
        }
        Ok(Snapshot {
            documents,
            batches,
            pdfs,
            jobs,
            emails: by_id(api.list_all("/v1/emails").await?),
            copies: topology
                .sink
                .messages()
                .iter()
                .map(|m| copy(m, anchor))
                .collect(),
            tasks,
            inbox: api.list_all("/v1/webhook-events").await?,
            payments,
            events: api.list_all("/v1/events").await?,
            schedules,
            task_app: topology.task_app.seen(),
            event_app: topology.event_app.seen(),
        })
    }
}

fn by_id(items: Vec<Value>) -> HashMap<String, Value> {
    items
        .into_iter()
        .filter_map(|v| Some((v["id"].as_str()?.to_owned(), v)))
        .collect()
}

/// The identifying headers of a stored message, and when it arrived (the sink keeps an
/// `Instant`; `anchor` pairs one with the wall clock).
fn copy(m: &Received, anchor: (std::time::Instant, chrono::DateTime<chrono::Utc>)) -> Copy {
    let parsed = MessageParser::default().parse_headers(&m.data);
    let message_id = parsed
        .as_ref()
        .and_then(|p| p.message_id())
        .map(str::to_owned);
    let email_id = parsed
        .as_ref()
        .and_then(|p| p.header_raw("X-Longshore-Email-Id"))
        .map(|s| s.trim().to_owned());
    let since = m.at.saturating_duration_since(anchor.0);
    Copy {
        message_id,
        email_id,
        at: anchor.1 + chrono::Duration::from_std(since).unwrap_or_default(),
    }
}
