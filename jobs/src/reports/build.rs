//! The `report.build` job: records the report if nobody did, aggregates its period, writes the
//! CSV and PDF to storage, records the summary, then hands the files to delivery.
//!
//! Safe to run twice: files are written under the report's id (atomically replaced) and the
//! row update is the same. Database and storage failures are retryable; a bad zone or a PDF
//! the engine refuses is permanent. When the job dies (a permanent error, its last attempt
//! failing or its worker lost), [`fail_dead`] marks the report `failed`.

use chrono::{TimeZone, Utc};

use super::content::{Content, local_time};
use super::model::ReportKind;
use super::model::ReportOrder;
use super::repo::{self, Built};
use super::{csv, deliver, email, jobs_health, payments, pdf};
use crate::attempt::JobMeta;
use crate::db::Db;
use crate::error::JobError;
use crate::ids::ReportId;
use crate::intent::Dispatch;
use crate::storage::{FileKey, FileStore};
use crate::validation::parse_timezone;

/// What a build uses.
pub struct Deps<'a> {
    pub db: &'a Db,
    pub storage: &'a dyn FileStore,
    /// Where the report emails' send intents go.
    pub out: &'a dyn Dispatch,
    /// The API's public URL (links in the report emails).
    pub public_base: &'a str,
}

fn retryable(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

/// Lines printed under the PDF's title.
fn header_lines(job: &ReportOrder, tz: chrono_tz::Tz) -> Vec<String> {
    let mut lines = vec![format!(
        "Period: {} to {} ({})",
        local_time(tz, job.period.from),
        local_time(tz, job.period.to),
        job.timezone
    )];
    if job.catch_up
        && let Some(t) = job.ticks
    {
        lines.push(format!(
            "Catch-up run covering {} scheduled run(s) missed while no scheduler was running",
            t.count
        ));
    }
    let at = Utc
        .timestamp_millis_opt(job.period.to)
        .single()
        .unwrap_or_default();
    lines.push(format!(
        "Report {} · Longshore · data up to {}",
        job.report_id,
        at.to_rfc3339()
    ));
    lines
}

async fn gather(
    db: &Db,
    meta: &JobMeta,
    job: &ReportOrder,
    tz: chrono_tz::Tz,
) -> Result<Content, JobError> {
    let result = match job.kind {
        ReportKind::PaymentsSummary => payments::gather(db, &meta.tenant, &job.period, tz).await,
        ReportKind::EmailEngagement => email::gather(db, &meta.tenant, &job.period, tz).await,
        ReportKind::JobsHealth => jobs_health::gather(db, &meta.tenant, &job.period, tz).await,
    };
    result.map_err(retryable)
}

async fn build(deps: &Deps<'_>, meta: &JobMeta, job: &ReportOrder) -> Result<Built, JobError> {
    let tz = parse_timezone(&job.timezone).map_err(JobError::Permanent)?;
    let content = gather(deps.db, meta, job, tz).await?;
    let table = content
        .tables
        .get(content.csv_table)
        .ok_or_else(|| JobError::Permanent("report has no CSV table".into()))?;
    let csv_bytes = csv::write(table).map_err(|e| JobError::Permanent(format!("CSV: {e}")))?;
    let lines = header_lines(job, tz);
    let summary = content.summary.clone();
    let pdf_bytes = tokio::task::spawn_blocking(move || pdf::render(&content, &lines))
        .await
        .map_err(retryable)?
        .map_err(|e| JobError::Permanent(format!("PDF: {e}")))?;
    let base = format!("reports/{}/{}", meta.tenant, job.report_id);
    let key = |ext: &str| {
        FileKey::new(format!("{base}.{ext}")).map_err(|e| JobError::Permanent(e.to_string()))
    };
    let csv = deps
        .storage
        .put(&key("csv")?, csv_bytes)
        .await
        .map_err(retryable)?;
    let pdf = deps
        .storage
        .put(&key("pdf")?, pdf_bytes)
        .await
        .map_err(retryable)?;
    Ok(Built {
        summary,
        csv_key: csv.key.as_str().to_owned(),
        csv_bytes: csv.bytes as i64,
        pdf_key: pdf.key.as_str().to_owned(),
        pdf_bytes: pdf.bytes as i64,
        pdf_sha256: pdf.sha256,
    })
}

/// Runs the job (see the module doc).
pub async fn run(deps: &Deps<'_>, meta: &JobMeta, job: ReportOrder) -> Result<(), JobError> {
    let db = deps.db;
    repo::ensure(db, &meta.tenant, &job)
        .await
        .map_err(retryable)?;
    repo::mark_running(db, &job.report_id)
        .await
        .map_err(retryable)?;
    let started = std::time::Instant::now();
    // A permanent error or the last attempt failing kills the job, and `fail_dead` marks the
    // report failed.
    let built = build(deps, meta, &job).await?;
    repo::mark_ready(db, &job.report_id, &built)
        .await
        .map_err(retryable)?;
    tracing::info!(
        report_id = %job.report_id,
        kind = %job.kind,
        ms = started.elapsed().as_millis() as u64,
        csv_bytes = built.csv_bytes,
        pdf_bytes = built.pdf_bytes,
        "report built"
    );
    let tz = parse_timezone(&job.timezone).map_err(JobError::Permanent)?;
    deliver::deliver(deps, meta, &job, tz, &built).await
}

/// The build job of `report` is dead with `error`: a report still `queued` or `running` is
/// marked `failed` with it (its `report.failed` event with it); a built one is left alone
/// (its job died delivering it).
pub async fn fail_dead(db: &Db, report: &ReportId, error: &str) -> Result<(), JobError> {
    repo::fail_unfinished(db, report, error)
        .await
        .map(|_| ())
        .map_err(retryable)
}
