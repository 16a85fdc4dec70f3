//! `/v1/reports`: on-demand reports, scheduled reports' results, and their CSV and PDF files.
//! Handlers call `longshore_jobs::reports::service`.

use longshore_jobs::ids::{ReportId, ScheduleId};
use longshore_jobs::reports::model::Period;
use longshore_jobs::reports::service::{self, File};
use longshore_jobs::validation::Invalid;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::report_views::{CreateReport, ReportList, ReportView};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum ReportsTag {
    /// Reports: payments summary, email engagement, jobs health; CSV and PDF.
    Reports,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the report is queued.
    #[oai(status = 202)]
    Report(Json<ReportView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The report.
    #[oai(status = 200)]
    Report(Json<ReportView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of reports.
    #[oai(status = 200)]
    Reports(Json<ReportList>),
}

#[derive(ApiResponse)]
enum CsvFile {
    /// The CSV (UTF-8 with BOM, header row, RFC 4180).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        Binary<Vec<u8>>,
        /// `attachment` with a file name.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
enum PdfFile {
    /// The PDF.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(
        Binary<Vec<u8>>,
        /// `inline` with a file name.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

fn parse_id(raw: &str) -> Result<ReportId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such report"))
}

fn not_found(e: longshore_jobs::reports::ReportsError) -> ApiError {
    match e {
        longshore_jobs::reports::ReportsError::NotFound => ApiError::not_found("no such report"),
        other => other.into(),
    }
}

/// The reports API.
pub struct ReportsApi;

#[OpenApi(prefix_path = "/v1", tag = "ReportsTag::Reports")]
impl ReportsApi {
    /// Request a report over `[from, to)`.
    ///
    /// With `recipients`, each gets one email with the CSV and the PDF attached once it is built
    /// (one email per recipient, each with its own delivery status and unsubscribe).
    #[oai(path = "/reports", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateReport>,
    ) -> Result<Accepted, ApiError> {
        let tenant = auth.0;
        let b = body.value;
        let period = Period {
            from: b.from.timestamp_millis(),
            to: b.to.timestamp_millis(),
        };
        let view = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/reports",
            &body.sha256,
            202,
            |work_key| async {
                let r = service::create(
                    &state.services.db,
                    state.services.out.as_ref(),
                    &tenant,
                    work_key.map(|k| k.id(ReportId::derived)),
                    service::NewReport {
                        kind: b.kind,
                        period,
                        timezone: b.timezone,
                        recipients: b.recipients.unwrap_or_default(),
                    },
                    Some(request_id.0.0.clone()),
                )
                .await?;
                Ok(ReportView::new(r, &state.services.config.public_base()))
            },
        )
        .await?;
        Ok(Accepted::Report(Json(view)))
    }

    /// Get a report: status, period, summary figures, CSV URL and PDF document.
    #[oai(path = "/reports/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let r = service::get(&state.services.db, &auth.0, &parse_id(&id.0)?)
            .await
            .map_err(not_found)?;
        Ok(Found::Report(Json(ReportView::new(
            r,
            &state.services.config.public_base(),
        ))))
    }

    /// List reports, newest first, optionally of one schedule.
    #[oai(path = "/reports", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only this schedule's reports.
        schedule_id: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let schedule = match schedule_id.0.as_deref() {
            Some(raw) => Some(
                raw.parse::<ScheduleId>()
                    .map_err(|e| Invalid::one("schedule_id", e.to_string()))?,
            ),
            None => None,
        };
        let cursor = id_cursor::<ReportId>(cursor.0)?;
        let base = state.services.config.public_base();
        let (items, next) = service::list(
            &state.services.db,
            &auth.0,
            schedule.as_ref(),
            cursor.as_ref().map(ReportId::as_str),
            limit,
        )
        .await?;
        Ok(Listed::Reports(Json(ReportList {
            has_more: next.is_some(),
            next_cursor: next,
            data: items
                .into_iter()
                .map(|r| ReportView::new(r, &base))
                .collect(),
        })))
    }

    /// Download a ready report's CSV.
    #[oai(path = "/reports/:id/csv", method = "get")]
    async fn csv(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<CsvFile, ApiError> {
        let (r, bytes) = service::file(
            &state.services.db,
            state.services.storage.as_ref(),
            &auth.0,
            &parse_id(&id.0)?,
            File::Csv,
        )
        .await
        .map_err(not_found)?;
        Ok(CsvFile::Csv(
            Binary(bytes),
            format!("attachment; filename=\"{}-{}.csv\"", r.kind, r.id),
        ))
    }

    /// Download a ready report's PDF.
    #[oai(path = "/reports/:id/pdf", method = "get")]
    async fn pdf(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<PdfFile, ApiError> {
        let (r, bytes) = service::file(
            &state.services.db,
            state.services.storage.as_ref(),
            &auth.0,
            &parse_id(&id.0)?,
            File::Pdf,
        )
        .await
        .map_err(not_found)?;
        Ok(PdfFile::Pdf(
            Binary(bytes),
            format!("inline; filename=\"{}-{}.pdf\"", r.kind, r.id),
        ))
    }
}

/// The schedules and reports APIs.
pub type ReportApis = (super::schedules::SchedulesApi, ReportsApi);

/// Builds [`ReportApis`].
pub fn report_apis() -> ReportApis {
    (super::schedules::SchedulesApi, ReportsApi)
}
