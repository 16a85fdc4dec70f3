//! What the API (and the scheduler) call: request a report, read one, list them, fetch its
//! files. A report is recorded first and its build intent handed over second; a report whose
//! build job never ran (the process stopped in between, or the queue lost the job) is found
//! again by the recovery sweep from its row, under the same derived job id.

use chrono_tz::Tz;

use super::ReportsError;
use super::model::{Period, Report, ReportKind, ReportOrder, ReportStatus};
use super::repo;
use crate::db::Db;
use crate::ids::{ReportId, ScheduleId, TenantId};
use crate::intent::{Dispatch, Intent, Next};
use crate::storage::{FileKey, FileStore, sha256_hex};
use crate::validation::{FieldError, Invalid, parse_timezone};

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

/// Records an ordered report and hands its build over; returns the report that landed under
/// the order's id (an earlier identical order, possibly another scheduler's, wins).
pub async fn order(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    order: &ReportOrder,
    request_id: Option<String>,
) -> Result<Report, ReportsError> {
    repo::ensure(db, tenant, order).await?;
    let landed = repo::get(db, tenant, &order.report_id)
        .await?
        .ok_or_else(|| ReportsError::Corrupt(format!("{} vanished", order.report_id)))?;
    if landed.status == ReportStatus::Queued {
        let intent = Intent::BuildReport(landed.order());
        out.dispatch(Next::new(tenant, intent, request_id)).await?;
    }
    Ok(landed)
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

/// A client's request for an on-demand report.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub kind: ReportKind,
    /// `[from, to)`.
    pub period: Period,
    /// IANA zone of per-day series and labels; UTC when not given.
    pub timezone: Option<String>,
    /// Emailed the CSV and the PDF once built.
    pub recipients: Vec<String>,
}

/// Validates, records and hands over an on-demand report. `id` is the report's id when the
/// caller derived it (from an `Idempotency-Key`): creating it again returns the recorded report
/// and hands its build over again while it is queued, as [`order`] does; a fresh id is minted
/// without it.
pub async fn create(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    id: Option<ReportId>,
    request: NewReport,
    request_id: Option<String>,
) -> Result<Report, ReportsError> {
    let NewReport {
        kind,
        period,
        timezone,
        recipients,
    } = request;
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
    let new = ReportOrder {
        report_id: id.unwrap_or_default(),
        kind,
        period,
        timezone,
        schedule_id: None,
        ticks: None,
        catch_up: false,
        recipients,
    };
    order(db, out, tenant, &new, request_id).await
}

/// One of the tenant's reports.
pub async fn get(db: &Db, tenant: &TenantId, id: &ReportId) -> Result<Report, ReportsError> {
    repo::get(db, tenant, id)
        .await?
        .ok_or(ReportsError::NotFound)
}

/// A page of the tenant's reports, newest first; returns the next cursor when there is more.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    schedule: Option<&ScheduleId>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Report>, Option<String>), ReportsError> {
    let mut items = repo::list(db, tenant, schedule, cursor, limit + 1).await?;
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
    db: &Db,
    storage: &dyn FileStore,
    tenant: &TenantId,
    id: &ReportId,
    which: File,
) -> Result<(Report, Vec<u8>), ReportsError> {
    let report = get(db, tenant, id).await?;
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
    let bytes = storage.get(&key).await?;
    if which == File::Pdf && report.pdf_sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(ReportsError::Corrupt(format!(
            "{id}: stored PDF does not match its sha256"
        )));
    }
    Ok((report, bytes))
}
