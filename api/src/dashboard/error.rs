//! What goes wrong on a dashboard page, as an HTML page: one mapping from error to status and
//! message. Internal details are logged, never shown; a missing session is a 303 to the login
//! page.

use longshore_jobs::db::DbError;
use longshore_jobs::operator::dashboard::JobActionError;
use longshore_jobs::queue::QueueError;
use poem::Response;
use poem::error::ResponseError;
use poem::http::StatusCode;

use super::view;
use crate::html::RenderError;

/// Why a dashboard request did not get its page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No live session: go and log in.
    #[error("login required")]
    LoginRequired,
    /// A POST without this origin or without the session's CSRF token.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Bad input in a query or form (the message names it; templates escape it).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The action does not apply (a retry of a job that is not dead, say).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database or the queue could not be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug; logged, shown as a generic message.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => PageError::Unavailable(m),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<QueueError> for PageError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(m) => PageError::Unavailable(m),
            QueueError::NotFound => PageError::NotFound("no such job"),
            QueueError::InvalidCursor => {
                PageError::BadRequest("that page link is not valid".into())
            }
            QueueError::InvalidState(s) => PageError::Conflict(format!("the job is {s}")),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<JobActionError> for PageError {
    fn from(e: JobActionError) -> Self {
        match e {
            JobActionError::NotFound => PageError::NotFound("no such job"),
            JobActionError::Refused(why) => PageError::Conflict(why),
            JobActionError::Unavailable(m) => PageError::Unavailable(m),
            JobActionError::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<RenderError> for PageError {
    fn from(e: RenderError) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl ResponseError for PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::LoginRequired => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let (heading, message) = match self {
            PageError::LoginRequired => {
                return Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header("Location", "/dashboard/login")
                    .finish();
            }
            PageError::Forbidden(why) => ("Forbidden", (*why).to_owned()),
            PageError::NotFound(what) => ("Not found", format!("{what}.")),
            PageError::BadRequest(why) => ("Bad request", why.clone()),
            PageError::Conflict(why) => ("Not possible", why.clone()),
            PageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dashboard: a backend is unavailable");
                (
                    "Unavailable",
                    "The database or the queue could not be reached. Try again in a moment.".into(),
                )
            }
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "dashboard: internal error");
                (
                    "Something went wrong",
                    "An internal error occurred; it has been logged.".into(),
                )
            }
        };
        view::error_page(self.status(), heading, &message)
    }
}

/// Any error reaching the dashboard's edge, as an HTML page (poem's own 404 and 405 too).
pub fn page_of(err: poem::Error) -> Response {
    if err.is::<PageError>() {
        return err.into_response();
    }
    let status = err.status();
    let (heading, message) = match status {
        StatusCode::NOT_FOUND => ("Not found", "There is no such dashboard page."),
        StatusCode::METHOD_NOT_ALLOWED => ("Not allowed", "This page does not take that method."),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "dashboard: internal error");
            (
                "Something went wrong",
                "An internal error occurred; it has been logged.",
            )
        }
        _ => ("Bad request", "The request could not be understood."),
    };
    view::error_page(status, heading, message)
}
