//! The one place an [`Intent`] becomes a job: its type, queue, attempt budget, payload and the
//! job id derived from the record it acts on (so handing the same intent over twice is a
//! no-op, which the recovery sweeps rely on).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use super::documents::{ExpandBatch, RenderDocument};
use super::email::SendEmail;
use super::http_task::DeliverTask;
use super::payments::{ApplyEvent, ApplyEvents, SendReceipt};
use super::reports::BuildReport;
use crate::documents::batches::expand_job_id;
use crate::documents::model::render_job_id;
use crate::email::model::send_job_id;
use crate::ids::JobId;
use crate::intent::{Dispatch, Intent, Next};
use crate::payments::effects::receipt_job_id;
use crate::queue::{Enqueued, NewJob, Queue, QueueError};
use crate::registry::JobKind;
use crate::reports::model::build_job_id;
use crate::tasks::model::delivery_job_id;
use crate::webhooks::inbox::apply_job_id;

/// Dispatches intents as jobs on a queue.
pub struct QueueDispatch {
    queue: Arc<dyn Queue>,
}

impl QueueDispatch {
    pub fn new(queue: Arc<dyn Queue>) -> QueueDispatch {
        QueueDispatch { queue }
    }
}

#[async_trait]
impl Dispatch for QueueDispatch {
    async fn dispatch(&self, next: Next) -> Result<Enqueued, QueueError> {
        let done = self.queue.enqueue(job_for(next)?).await?;
        crate::submit::counted(&done);
        Ok(done)
    }

    async fn dispatch_many(&self, next: Vec<Next>) -> Vec<Result<Enqueued, QueueError>> {
        let mut jobs = Vec::with_capacity(next.len());
        let mut refused = Vec::new();
        for (i, n) in next.into_iter().enumerate() {
            match job_for(n) {
                Ok(job) => jobs.push(job),
                Err(e) => refused.push((i, e)),
            }
        }
        let mut results = self.queue.enqueue_many(jobs).await;
        for done in results.iter().flatten() {
            crate::submit::counted(done);
        }
        for (i, e) in refused {
            results.insert(i, Err(e));
        }
        results
    }
}

/// The job that carries out `next`.
pub fn job_for(next: Next) -> Result<NewJob, QueueError> {
    let Next {
        tenant,
        intent,
        request_id,
    } = next;
    let (id, run_at, job) = match intent {
        Intent::SendEmail { email, not_before } => (
            send_job_id(&email),
            not_before,
            typed(SendEmail { email_id: email })?,
        ),
        Intent::RenderDocument { document } => (
            render_job_id(&document),
            None,
            typed(RenderDocument {
                document_id: document,
            })?,
        ),
        Intent::ExpandBatch { batch } => (
            expand_job_id(&batch),
            None,
            typed(ExpandBatch { batch_id: batch })?,
        ),
        Intent::ApplyEvent { event, replays } => (
            apply_job_id(&event, replays).map_err(corrupt)?,
            None,
            typed(ApplyEvent { event })?,
        ),
        Intent::ApplyEvents { events } => {
            let first = events
                .first()
                .ok_or_else(|| corrupt("an apply intent needs at least one event"))?;
            // The first row belongs to this intent only, so it names the job.
            let id = format!("job_{first}-batch")
                .parse::<JobId>()
                .map_err(|_| corrupt(format!("cannot derive a job id from {first}")))?;
            (id, None, typed(ApplyEvents { events })?)
        }
        Intent::SendReceipt { payment } => (
            receipt_job_id(&payment).map_err(corrupt)?,
            None,
            typed(SendReceipt { payment })?,
        ),
        Intent::BuildReport(order) => (
            build_job_id(&order.report_id),
            None,
            typed(BuildReport(order))?,
        ),
        Intent::DeliverTask(order) => (
            delivery_job_id(&order.task),
            Some(order.due_at),
            typed(DeliverTask(order))?,
        ),
    };
    Ok(NewJob {
        id,
        tenant,
        job_type: job.name.to_owned(),
        queue: job.queue.to_owned(),
        payload: job.payload,
        max_attempts: job.max_attempts,
        run_at,
        request_id,
    })
}

/// A payload with its type's registered name, queue and attempt budget.
struct Typed {
    name: &'static str,
    queue: &'static str,
    max_attempts: u32,
    payload: serde_json::Value,
}

fn typed<J: JobKind + Serialize>(job: J) -> Result<Typed, QueueError> {
    Ok(Typed {
        name: J::NAME,
        queue: J::QUEUE,
        max_attempts: J::MAX_ATTEMPTS,
        payload: serde_json::to_value(&job).map_err(corrupt)?,
    })
}

fn corrupt(e: impl std::fmt::Display) -> QueueError {
    QueueError::Corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TenantId, WebhookEventId};

    #[test]
    fn an_intake_batch_becomes_one_job_named_after_its_first_event() {
        let tenant = TenantId::new();
        let events = vec![WebhookEventId::new(), WebhookEventId::new()];
        let next = |events| Next::new(&tenant, Intent::ApplyEvents { events }, None);
        let job = job_for(next(events.clone())).unwrap();
        assert_eq!(job.id.as_str(), format!("job_{}-batch", events[0]));
        assert_eq!(job.job_type, ApplyEvents::NAME);
        assert_eq!(job.queue, "payments");
        let payload: ApplyEvents = serde_json::from_value(job.payload.clone()).unwrap();
        assert_eq!(payload.events, events);
        // The same batch handed over again names the same job: the queue keeps one.
        assert_eq!(job_for(next(events)).unwrap().id, job.id);
    }

    #[test]
    fn an_empty_batch_is_not_a_job() {
        let next = Next::new(
            &TenantId::new(),
            Intent::ApplyEvents { events: vec![] },
            None,
        );
        assert!(job_for(next).is_err());
    }

    #[test]
    fn every_intent_maps_to_a_registered_type_on_its_queue_under_its_derived_id() {
        let tenant = TenantId::new();
        let email = crate::ids::EmailId::new();
        let job = job_for(Next::new(
            &tenant,
            Intent::SendEmail {
                email: email.clone(),
                not_before: Some(42),
            },
            Some("req-1".into()),
        ))
        .unwrap();
        assert_eq!(job.id, send_job_id(&email));
        assert_eq!(job.run_at, Some(42));
        assert_eq!(job.request_id.as_deref(), Some("req-1"));
        let kind = super::super::registry().get(&job.job_type).unwrap();
        assert_eq!(kind.queue, job.queue);
        assert_eq!(job.payload, serde_json::json!({ "email_id": email }));
    }

    /// A rolling deploy: a newer build adds a field to a payload while this build's workers
    /// still run. Every job this build can be handed decodes with the field it does not know.
    #[test]
    fn a_payload_written_by_a_newer_build_runs_on_this_one() {
        use crate::ids::{BatchId, DocumentId, EmailId, PaymentId, ReportId};
        use crate::reports::model::{Period, ReportKind, ReportOrder};
        let tenant = TenantId::new();
        let order = ReportOrder {
            report_id: ReportId::new(),
            kind: ReportKind::JobsHealth,
            period: Period {
                from: 0,
                to: 86_400_000,
            },
            timezone: "UTC".into(),
            schedule_id: None,
            ticks: None,
            catch_up: false,
            recipients: vec![],
        };
        let intents = [
            Intent::SendEmail {
                email: EmailId::new(),
                not_before: None,
            },
            Intent::RenderDocument {
                document: DocumentId::new(),
            },
            Intent::ExpandBatch {
                batch: BatchId::new(),
            },
            Intent::ApplyEvent {
                event: WebhookEventId::new(),
                replays: 0,
            },
            Intent::ApplyEvents {
                events: vec![WebhookEventId::new()],
            },
            Intent::SendReceipt {
                payment: PaymentId::new(),
            },
            Intent::BuildReport(order),
        ];
        let registry = super::super::registry();
        for intent in intents {
            let job = job_for(Next::new(&tenant, intent, None)).unwrap();
            let mut payload = job.payload.clone();
            payload["added_by_a_newer_build"] = serde_json::json!({"priority": 3});
            let kind = registry.get(&job.job_type).unwrap();
            assert_eq!(kind.validate(&payload), Ok(()), "{}", job.job_type);
        }
    }
}
