//! Emailing a built report: each recipient gets one email with the CSV and the PDF attached.
//!
//! One email per recipient, not one email to all: each recipient has their own delivery status,
//! bounce and one-click unsubscribe (an unsubscribe suppresses only that address), and no
//! recipient sees the others' addresses. Email ids derive from the report id and the recipient's
//! position ([`report_email_id`]) and are created idempotently, so a re-run build job (a retry,
//! a second scheduler) sends nothing twice.
//!
//! Failure policy: a report whose emails cannot be built (no sender default, an address the mail
//! layer refuses) stays `ready`; the reason is recorded in the report's `email_error`. Database
//! and queue failures are retried with the build job.

use chrono_tz::Tz;

use super::build::Deps;
use super::content::local_time;
use super::model::ReportOrder;
use super::repo::{self, Built};
use crate::attempt::JobMeta;
use crate::email::attachments::{NoDocuments, StoredFile};
use crate::email::service::{Creator, EmailError, InternalEmail, NewEmail};
use crate::error::JobError;
use crate::ids::{EmailId, ReportId};

/// The id of the email carrying report `report` to its `n`th recipient.
pub fn report_email_id(report: &ReportId, n: usize) -> EmailId {
    let suffix = report.as_str().trim_start_matches("rep_");
    EmailId::from_trusted(format!("em_report-{suffix}-{n}"))
}

/// The files a report's emails attach: the CSV and the PDF, named as the API serves them.
fn files(job: &ReportOrder, built: &Built) -> Vec<StoredFile> {
    let name = format!("{}-{}", job.kind, job.report_id);
    vec![
        StoredFile {
            key: built.csv_key.clone(),
            filename: format!("{name}.csv"),
            content_type: "text/csv; charset=utf-8".into(),
        },
        StoredFile {
            key: built.pdf_key.clone(),
            filename: format!("{name}.pdf"),
            content_type: "application/pdf".into(),
        },
    ]
}

/// The email to one recipient.
fn request(public_base: &str, job: &ReportOrder, tz: Tz, to: &str) -> NewEmail {
    let day = |ms: i64| local_time(tz, ms).chars().take(10).collect::<String>();
    let title = job.kind.as_str().replace('_', " ");
    let url = format!("{}/v1/reports/{}", public_base, job.report_id);
    let subject = format!(
        "Report: {title}, {} to {}",
        day(job.period.from),
        day(job.period.to)
    );
    let text = format!(
        "Your {title} report covering {} to {} ({}) is attached as CSV and PDF.\n\nReport {} is also available at {url}\n",
        local_time(tz, job.period.from),
        local_time(tz, job.period.to),
        job.timezone,
        job.report_id,
    );
    NewEmail {
        to: vec![to.to_owned()],
        subject: Some(subject),
        text: Some(text),
        tags: vec!["report".into()],
        metadata: Some(serde_json::json!({ "report_id": job.report_id })),
        track_opens: Some(false),
        track_clicks: Some(false),
        ..NewEmail::default()
    }
}

/// Creates the report's emails (see the module doc) and records their ids or the reason none
/// could be created.
pub async fn deliver(
    deps: &Deps<'_>,
    meta: &JobMeta,
    job: &ReportOrder,
    tz: Tz,
    built: &Built,
) -> Result<(), JobError> {
    if job.recipients.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(job.recipients.len());
    let mut errors = Vec::new();
    // Report emails attach stored files, never documents.
    let creator = Creator {
        db: deps.db,
        out: deps.out,
        documents: &NoDocuments,
        storage: deps.storage,
    };
    for (n, to) in job.recipients.iter().enumerate() {
        let email = InternalEmail {
            id: report_email_id(&job.report_id, n),
            request: request(deps.public_base, job, tz, to),
            files: files(job, built),
        };
        match creator
            .create_internal(&meta.tenant, email, meta.request_id.clone())
            .await
        {
            Ok(e) => ids.push(e.id.to_string()),
            Err(EmailError::Invalid(why)) => errors.push(format!("{to}: {why}")),
            Err(EmailError::NotFound(why) | EmailError::Conflict(why)) => {
                errors.push(format!("{to}: {why}"))
            }
            Err(e @ (EmailError::Db(_) | EmailError::Queue(_) | EmailError::Storage(_))) => {
                return Err(JobError::retryable(e));
            }
        }
    }
    let error = (!errors.is_empty()).then(|| format!("email not sent: {}", errors.join("; ")));
    if let Some(why) = &error {
        tracing::warn!(report_id = %job.report_id, reason = %why, "report email not created");
    }
    repo::set_emails(deps.db, &job.report_id, &ids, error.as_deref())
        .await
        .map_err(JobError::retryable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_ids_derive_from_the_report_and_parse() {
        let r = ReportId::from_trusted("rep_01HX-1767225600000");
        let id = report_email_id(&r, 3);
        assert_eq!(id.as_str(), "em_report-01HX-1767225600000-3");
        assert_eq!(id.as_str().parse::<EmailId>().unwrap(), id);
    }
}
