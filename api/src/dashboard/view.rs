//! What every dashboard page shares: the layout's context ([`Page`]), rendering to a response,
//! parsed forms, and how times read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody, Response};
use serde::Serialize;

use super::PageError;
use super::assets;
use super::session::Session;

/// The layout's context: who is logged in, the CSRF token, the current section, assets.
#[derive(Debug, Serialize)]
pub struct Page {
    pub operator: Option<String>,
    pub csrf: Option<String>,
    pub section: &'static str,
    pub css: &'static str,
    pub htmx: &'static str,
    /// A message after an action (a fixed text chosen by [`notice`], never request input).
    pub notice: Option<&'static str>,
}

impl Page {
    /// A page of `section` for the logged-in operator.
    pub fn of(session: &Session, section: &'static str) -> Page {
        Page {
            operator: Some(session.operator.clone()),
            csrf: Some(session.csrf.clone()),
            section,
            css: assets::css_url(),
            htmx: assets::HTMX_URL,
            notice: None,
        }
    }

    /// A page without a session (login, errors).
    pub fn anonymous() -> Page {
        Page {
            operator: None,
            csrf: None,
            section: "",
            css: assets::css_url(),
            htmx: assets::HTMX_URL,
            notice: None,
        }
    }

    /// With the notice named by a `?notice=` code, if it is one of ours.
    pub fn with_notice(mut self, code: Option<&str>) -> Page {
        self.notice = code.and_then(notice);
        self
    }
}

/// The fixed texts a redirect after an action may ask for.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "retried" => "The job was put back in its queue.",
        "cancelled" => "The job was cancelled.",
        "disabled" => "The tenant is disabled: its keys are refused.",
        "enabled" => "The tenant is enabled again.",
        _ => return None,
    })
}

/// A serialisable value for a template's context.
pub fn v(value: impl Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// Renders `template` with `ctx` as an HTML response of `status`.
pub fn html(
    status: StatusCode,
    template: &str,
    ctx: minijinja::Value,
) -> Result<Response, PageError> {
    let body = crate::html::render(template, ctx)?;
    Ok(Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// The error page (no session context: it may be shown to anyone).
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let ctx = minijinja::context! { page => v(Page::anonymous()), heading, message };
    match html(status, "dashboard/error.html", ctx) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "dashboard: the error page did not render");
            Response::builder()
                .status(status)
                .content_type("text/plain; charset=utf-8")
                .body(heading.to_owned())
        }
    }
}

/// A 303 to `location` (after a POST).
pub fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("Location", location)
        .finish()
}

/// A form body, parsed (`application/x-www-form-urlencoded`); the last value of a name wins.
#[derive(Debug, Clone, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<'a> FromRequest<'a> for Form {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        // The guard parsed it (after checking the CSRF token).
        Ok(req.extensions().get::<Form>().cloned().unwrap_or_default())
    }
}

/// Ms since the Unix epoch as `2026-12-08 00:19:43` (UTC).
pub fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A duration in ms as `850 ms`, `42 s`, `7 min`, `3 h`.
pub fn age(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..120_000 => format!("{} s", ms / 1_000),
        120_000..7_200_000 => format!("{} min", ms / 60_000),
        _ => format!("{} h", ms / 3_600_000),
    }
}

/// A URL of `path` with `params` (empty values left out), encoded.
pub fn url_with(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            query.append_pair(name, v);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The position a "next page" link carries (`?cursor=`, `?before=`, `?after=`): absent when
/// empty, a 400 page when it is not an id of the listed kind.
pub fn page_link<T: std::str::FromStr>(raw: &Option<String>) -> Result<Option<T>, PageError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| PageError::BadRequest("that page link is not valid".into())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_right_unit() {
        assert_eq!(age(850), "850 ms");
        assert_eq!(age(42_000), "42 s");
        assert_eq!(age(7 * 60_000), "7 min");
        assert_eq!(age(3 * 3_600_000), "3 h");
    }

    #[test]
    fn urls_are_encoded_and_skip_empty_values() {
        assert_eq!(
            url_with(
                "/dashboard/jobs",
                &[
                    ("tenant", Some("ten_1")),
                    ("state", Some("")),
                    ("type", Some("a&b"))
                ]
            ),
            "/dashboard/jobs?tenant=ten_1&type=a%26b"
        );
        assert_eq!(url_with("/x", &[("a", None)]), "/x");
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert!(notice("retried").is_some());
        assert!(notice("<script>").is_none());
    }
}
