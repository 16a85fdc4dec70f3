//! `/v1/schedules`: cron schedules (in a time zone) that produce periodic reports. Handlers
//! call `longshore_jobs::schedules::service`; the scheduler process picks changes up from the
//! database within its refresh interval.

use longshore_jobs::ids::ScheduleId;
use longshore_jobs::schedules::input::ScheduleInput;
use longshore_jobs::schedules::service;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::report_views::{ReportView, ScheduleBody, ScheduleList, ScheduleView};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum SchedulesTag {
    /// Report schedules: cron expressions in a time zone; each tick runs one report.
    Schedules,
}

#[derive(ApiResponse)]
enum Created {
    /// Created; `next_runs` lists the next 5 run times.
    #[oai(status = 201)]
    Schedule(Json<ScheduleView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The schedule.
    #[oai(status = 200)]
    Schedule(Json<ScheduleView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of schedules.
    #[oai(status = 200)]
    Schedules(Json<ScheduleList>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Deleted; its reports stay.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum Started {
    /// Accepted: the report is queued.
    #[oai(status = 202)]
    Report(Json<ReportView>),
    /// A task schedule's HTTP task, recorded and queued.
    #[oai(status = 201)]
    Task(Json<super::task_views::TaskView>),
}

fn parse_id(raw: &str) -> Result<ScheduleId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such schedule"))
}

fn input(b: ScheduleBody) -> ScheduleInput {
    ScheduleInput {
        name: b.name,
        cron: b.cron,
        timezone: b.timezone,
        report: b.report.map(|r| (r.kind, r.period)),
        recipients: b.recipients,
        task: b.task.map(Into::into),
        missed_runs: b.missed_runs,
        enabled: b.enabled,
    }
}

fn not_found(e: longshore_jobs::reports::ReportsError) -> ApiError {
    match e {
        longshore_jobs::reports::ReportsError::NotFound => ApiError::not_found("no such schedule"),
        other => other.into(),
    }
}

/// The schedules API.
pub struct SchedulesApi;

#[OpenApi(prefix_path = "/v1", tag = "SchedulesTag::Schedules")]
impl SchedulesApi {
    /// Create a schedule.
    ///
    /// A bad `cron`, an unknown `timezone` or a malformed recipient is a 422 naming the field.
    #[oai(path = "/schedules", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<ScheduleBody>,
    ) -> Result<Created, ApiError> {
        let tenant = auth.0;
        let view = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/schedules",
            &body.sha256,
            201,
            |work_key| async {
                let s = service::create(
                    &state.services.db,
                    state.services.couriers.destinations(),
                    &tenant,
                    work_key.map(|k| k.id(ScheduleId::derived)),
                    input(body.value),
                )
                .await?;
                Ok(ScheduleView::new(s, Vec::new()))
            },
        )
        .await?;
        Ok(Created::Schedule(Json(view)))
    }

    /// Get a schedule, with its next run times, counters and latest missed-run decisions.
    #[oai(path = "/schedules/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let id = parse_id(&id.0)?;
        let s = service::get(&state.services.db, &auth.0, &id)
            .await
            .map_err(not_found)?;
        let decisions = service::decisions(&state.services.db, &id).await?;
        Ok(Found::Schedule(Json(ScheduleView::new(s, decisions))))
    }

    /// List schedules, newest first.
    #[oai(path = "/schedules", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<ScheduleId>(cursor.0)?;
        let (items, next) = service::list(
            &state.services.db,
            &auth.0,
            cursor.as_ref().map(ScheduleId::as_str),
            limit,
        )
        .await?;
        Ok(Listed::Schedules(Json(ScheduleList {
            has_more: next.is_some(),
            next_cursor: next,
            data: items
                .into_iter()
                .map(|s| ScheduleView::new(s, Vec::new()))
                .collect(),
        })))
    }

    /// Change a schedule: send only what changes. A new `cron`, `timezone` or `enabled`
    /// restarts the schedule from now; running schedulers pick it up within seconds.
    #[oai(path = "/schedules/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: JsonBody<ScheduleBody>,
    ) -> Result<Found, ApiError> {
        let id = parse_id(&id.0)?;
        let s = service::update(
            &state.services.db,
            state.services.couriers.destinations(),
            &auth.0,
            &id,
            input(body.value),
        )
        .await
        .map_err(not_found)?;
        Ok(Found::Schedule(Json(ScheduleView::new(s, Vec::new()))))
    }

    /// Delete a schedule (its reports stay).
    #[oai(path = "/schedules/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Deleted, ApiError> {
        let id = parse_id(&id.0)?;
        service::delete(&state.services.db, &auth.0, &id)
            .await
            .map_err(not_found)?;
        Ok(Deleted::Done)
    }

    /// Run a schedule now, out of band (its ticks are not affected): a report schedule's
    /// report (202), or a task schedule's HTTP task (201, fresh id, no name).
    #[oai(path = "/schedules/:id/run", method = "post")]
    async fn run(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        id: Path<String>,
    ) -> Result<Started, ApiError> {
        let id = parse_id(&id.0)?;
        let started = service::run_now(
            &state.services.db,
            state.services.out.as_ref(),
            &auth.0,
            &id,
            Some(request_id.0.0.clone()),
        )
        .await
        .map_err(not_found)?;
        Ok(match started {
            service::Started::Report(report) => Started::Report(Json(ReportView::new(
                report,
                &state.services.config.public_base(),
            ))),
            service::Started::Task(task) => Started::Task(Json(super::task_views::TaskView::new(
                task,
                None,
                None,
                super::task_views::ResponseView::Basic,
            ))),
        })
    }
}
