//! `report.ready` and `report.failed`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::from_ms;
use crate::reports::model::{Report, ReportKind, ReportStatus};

/// The data of `report.ready` and `report.failed`: the report right after the change. Its
/// files are served by `GET /v1/reports/{id}/csv` and `…/pdf`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ReportEventData {
    /// The report's id (`rep_…`).
    pub report_id: String,
    /// `payments_summary`, `email_engagement` or `jobs_health`.
    pub kind: ReportKind,
    /// The stored status after the change: `ready` or `failed`.
    pub status: ReportStatus,
    /// The schedule that ordered it (`sch_…`), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub schedule_id: Option<String>,
    /// The start of the period it covers (inclusive).
    pub period_from: DateTime<Utc>,
    /// The end of the period it covers (exclusive).
    pub period_to: DateTime<Utc>,
    /// The IANA time zone its days are cut in.
    pub timezone: String,
    /// Ready reports: the summary figures, as `GET /v1/reports/{id}` shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub summary: Option<serde_json::Value>,
    /// Ready reports: the CSV's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub csv_bytes: Option<i64>,
    /// Ready reports: the PDF's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub pdf_bytes: Option<i64>,
    /// Failed reports: why it could not be built.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub failure_reason: Option<String>,
    /// When it became ready or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Report> for ReportEventData {
    fn from(r: &Report) -> Self {
        ReportEventData {
            report_id: r.id.to_string(),
            kind: r.kind,
            status: r.status,
            schedule_id: r.schedule.as_ref().map(ToString::to_string),
            period_from: from_ms(r.period.from),
            period_to: from_ms(r.period.to),
            timezone: r.timezone.clone(),
            summary: r.summary.clone(),
            csv_bytes: r.csv_bytes,
            pdf_bytes: r.pdf_bytes,
            failure_reason: r.failure_reason.clone(),
            finished_at: r.finished_at.map(from_ms),
        }
    }
}
