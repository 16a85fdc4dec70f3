//! What the API (and the scheduler) call: request a report, read one, list them, fetch its
//! files. A report is enqueued first and recorded second: the job carries the whole report, so
//! a crash between the two leaves a job that records the report itself, never a row without a job.

use chrono_tz::Tz;

use super::ReportsError;
use super::model::{Period, Report, ReportKind, ReportStatus, build_job_id};
use super::repo;
use crate::ids::{ReportId, ScheduleId, TenantId};
use crate::job_types::reports::BuildReport;
use crate::platform::Services;
use crate::queue::Enqueued;
use crate::registry::JobKind;
use crate::schedules::cron::parse_timezone;
use crate::storage::{FileKey, sha256_hex};
use crate::submit::{JobRequest, submit_with_id};
use crate::validation::{FieldError, Invalid};

/// The longest period one report may cover.
pub const MAX_PERIOD_DAYS: i64 = 400;

/// Checks a requested period and zone (`from` before `to`, at most [`MAX_PERIOD_DAYS`]).
pub fn check_period(period: &Period, timezone: &str) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    if period.to <= period.from {
        errors.push(FieldError::new("to", "must be after `from`"));
    } else if period.to - period.from > MAX_PERIOD_DAYS * 86_400_000 {
        errors.push(FieldError::new(
            "to",
            format!("the period may cover at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    if let Err(why) = parse_timezone(timezone) {
        errors.push(FieldError::new("timezone", why));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid(errors))
    }
}

/// Enqueues a report's build job under its derived id; returns what landed (an earlier
/// identical enqueue, possibly by another scheduler, wins).
pub async fn enqueue(
    services: &Services,
    tenant: &TenantId,
    job: &BuildReport,
    request_id: Option<String>,
) -> Result<(Enqueued, BuildReport), ReportsError> {
    let payload = serde_json::to_value(job).map_err(|e| ReportsError::Corrupt(e.to_string()))?;
    let request = JobRequest {
        job_type: BuildReport::NAME.to_owned(),
        payload,
        run_at: None,
        max_attempts: None,
    };
    let enqueued = submit_with_id(
        services,
        tenant,
        build_job_id(&job.report_id),
        request,
        request_id,
    )
    .await?;
    let landed: BuildReport = serde_json::from_value(enqueued.job.payload.clone())
        .map_err(|e| ReportsError::Corrupt(format!("landed report job does not decode: {e}")))?;
    repo::ensure(&services.db, tenant, &landed).await?;
    Ok((enqueued, landed))
}

/// Most recipients of an on-demand report.
pub const MAX_RECIPIENTS: usize = 50;

/// Checks the recipients of an on-demand report (`recipients[i]` names a bad address).
pub fn check_recipients(recipients: &[String]) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    if recipients.len() > MAX_RECIPIENTS {
        errors.push(FieldError::new(
            "recipients",
            format!("at most {MAX_RECIPIENTS} addresses"),
        ));
    }
    crate::email::address::parse_list("recipients", recipients, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid(errors))
    }
}

/// Requests an on-demand report of `kind` over `[from, to)`, emailed to `recipients` (CSV and
/// PDF attached) once built.
pub async fn create(
    services: &Services,
    tenant: &TenantId,
    kind: ReportKind,
    period: Period,
    timezone: Option<String>,
    recipients: Vec<String>,
    request_id: Option<String>,
) -> Result<Report, ReportsError> {
    let timezone = timezone.unwrap_or_else(|| Tz::UTC.name().to_owned());
    let checks = [
        check_period(&period, &timezone),
        check_recipients(&recipients),
    ];
    let errors: Vec<FieldError> = checks
        .into_iter()
        .filter_map(Result::err)
        .flat_map(|Invalid(e)| e)
        .collect();
    if !errors.is_empty() {
        return Err(Invalid(errors).into());
    }
    let job = BuildReport {
        report_id: ReportId::new(),
        kind,
        period,
        timezone,
        schedule_id: None,
        ticks: None,
        catch_up: false,
        recipients,
    };
    enqueue(services, tenant, &job, request_id).await?;
    get(services, tenant, &job.report_id).await
}

/// One of the tenant's reports.
pub async fn get(
    services: &Services,
    tenant: &TenantId,
    id: &ReportId,
) -> Result<Report, ReportsError> {
    repo::get(&services.db, tenant, id)
        .await?
        .ok_or(ReportsError::NotFound)
}

/// A page of the tenant's reports, newest first; returns the next cursor when there is more.
pub async fn list(
    services: &Services,
    tenant: &TenantId,
    schedule: Option<&ScheduleId>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Report>, Option<String>), ReportsError> {
    let mut items = repo::list(&services.db, tenant, schedule, cursor, limit + 1).await?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok((items, next))
}

/// Which stored file of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Csv,
    Pdf,
}

/// A ready report's file bytes (the PDF checked against its recorded SHA-256).
pub async fn file(
    services: &Services,
    tenant: &TenantId,
    id: &ReportId,
    which: File,
) -> Result<(Report, Vec<u8>), ReportsError> {
    let report = get(services, tenant, id).await?;
    if report.status != ReportStatus::Ready {
        return Err(ReportsError::Conflict(format!(
            "the report is {}; its files exist once it is ready",
            report.status
        )));
    }
    let key = match which {
        File::Csv => report.csv_key.clone(),
        File::Pdf => report.pdf_key.clone(),
    }
    .ok_or_else(|| ReportsError::Corrupt("ready without a storage key".into()))?;
    let key = FileKey::new(key).map_err(|e| ReportsError::Corrupt(e.to_string()))?;
    let bytes = services.storage.get(&key).await?;
    if which == File::Pdf && report.pdf_sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(ReportsError::Corrupt(format!(
            "{id}: stored PDF does not match its sha256"
        )));
    }
    Ok((report, bytes))
}
