//! One snapshot of everything the checks compare: Longshore's records as the tenant reads them
//! through the API, and what the SMTP server and the tenant's apps received.

use std::collections::HashMap;

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
}

impl Snapshot {
    /// Reads everything (the listings page by page).
    pub async fn take(
        api: &Api,
        tenant: &Tenant,
        topology: &Topology,
        ledger: &Entries,
        anchor: (std::time::Instant, chrono::DateTime<chrono::Utc>),
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
        Ok(Snapshot {
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
