//! Which jobs a tenant may cancel through `POST /v1/jobs/{id}/cancel`.
//!
//! Only the public job types (those clients submit themselves) are theirs to cancel. Longshore's
//! own job types act on a record (an email, a document, a report, a payment) whose state the job
//! moves; cancelling the job alone would leave that record `queued` forever. Such a job is
//! cancelled through its record's endpoint, when there is one. Retrying a dead one through the
//! jobs API stays allowed: the record's flow asks for it (a receipt without a sender).

use crate::job_types::email::SendEmail;
use crate::queue::JobRecord;
use crate::registry::{JobKind, Registry};

/// Why `job` cannot be cancelled through the jobs API, or `None` when it can.
pub fn refusal(registry: &Registry, job: &JobRecord) -> Option<String> {
    if registry.get(&job.job_type).is_some_and(|kind| kind.public) {
        return None;
    }
    let kind = &job.job_type;
    if kind == SendEmail::NAME
        && let Some(email) = job.payload.get("email_id").and_then(|v| v.as_str())
    {
        return Some(format!(
            "a `{kind}` job delivers email {email}: cancel the email instead, with \
             POST /v1/emails/{email}/cancel"
        ));
    }
    Some(format!(
        "a `{kind}` job is Longshore's own work on one of your records and cannot be cancelled; \
         only the job types you submit yourself ({}) can",
        registry.public_names().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{JobId, TenantId};
    use crate::queue::JobState;

    fn job(job_type: &str, payload: serde_json::Value) -> JobRecord {
        JobRecord {
            id: JobId::new(),
            tenant: TenantId::new(),
            job_type: job_type.into(),
            queue: "default".into(),
            payload,
            state: JobState::Queued,
            attempts: 0,
            max_attempts: 1,
            run_at: 0,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
            last_error: None,
            request_id: None,
            worker: None,
            cancel_requested_at: None,
        }
    }

    #[test]
    fn only_public_types_are_cancellable_and_emails_point_at_their_endpoint() {
        let registry = crate::job_types::registry();
        assert_eq!(
            refusal(registry, &job("diagnostic.sleep", serde_json::json!({}))),
            None
        );
        let email = job("email.send", serde_json::json!({"email_id": "em_1"}));
        let why = refusal(registry, &email).expect("refused");
        assert!(why.contains("POST /v1/emails/em_1/cancel"), "{why}");
        for internal in [
            "document.render",
            "report.build",
            "certificate_batch.expand",
            "payment.apply_event",
            "payment.apply_events",
            "payment.receipt",
            "no.longer.registered",
        ] {
            let why = refusal(registry, &job(internal, serde_json::json!({})));
            assert!(
                why.is_some_and(|w| w.contains("cannot be cancelled")),
                "{internal}"
            );
        }
    }
}
