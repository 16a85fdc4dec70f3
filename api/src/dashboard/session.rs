//! Logging in and out, and the session every other page wants.
//!
//! `POST /dashboard/login` takes an operator key, checked exactly as `/v1/admin` checks one
//! ([`OperatorKeys::verify`](longshore_jobs::operator::OperatorKeys::verify)); a tenant key or
//! a wrong key gets the form again (401). Success opens a server-side session
//! ([`longshore_jobs::operator::dashboard`]) and sets the cookie [`COOKIE`] (`Secure`,
//! `HttpOnly`, `SameSite=Strict`, `Path=/dashboard`) to its random token. Both outcomes are in
//! the audit log with the client address. A session ends at logout, after 8 hours, or when its
//! operator's key is removed from `LONGSHORE_ADMIN_KEY`.

use longshore_jobs::db::api_keys::KEY_PREFIX;
use longshore_jobs::operator::Actor;
use longshore_jobs::operator::dashboard as sessions;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, FromRequest, Request, RequestBody, Response, handler};

use super::view::{self, Page};
use super::{PageError, csrf};
use crate::client_ip::ClientIp;
use crate::request_id::RequestId;
use crate::routes::rate_limit::RateLimiter;
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "longshore_dashboard";

/// Largest login form read.
const MAX_LOGIN_BYTES: usize = 4 * 1024;

/// Login attempts a client may make a minute (per API process), refused or not: operator
/// keys are long random secrets, so this only keeps a guesser from filling the audit log.
const LOGINS_PER_MINUTE: u32 = 20;

/// The per-client limit on login attempts.
#[derive(Clone)]
pub struct LoginLimiter(RateLimiter);

impl LoginLimiter {
    pub fn new() -> Self {
        LoginLimiter(RateLimiter::new(LOGINS_PER_MINUTE))
    }
}

/// The logged-in operator of a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie's token (never shown; logout ends the session it names).
    token: String,
    /// The operator key's label.
    pub operator: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Session {
    /// The request's live session, or [`PageError::LoginRequired`].
    pub async fn find(req: &Request) -> Result<Session, PageError> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| PageError::Internal("no application state".into()))?;
        let token = cookie(req).ok_or(PageError::LoginRequired)?;
        // A token is 64 hex digits: anything else is not worth a database lookup.
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PageError::LoginRequired);
        }
        let found = sessions::find_session(&state.services.db, token)
            .await?
            .filter(|s| state.operator_keys.has_label(&s.operator))
            .ok_or(PageError::LoginRequired)?;
        Ok(Session {
            token: token.to_owned(),
            operator: found.operator,
            csrf: csrf::token_for(token),
        })
    }

    /// The operator as the audit log names it, with where the request came from.
    pub fn actor(&self, req: &Request) -> Actor {
        Actor {
            operator: self.operator.clone(),
            ..anonymous_actor(req)
        }
    }
}

impl<'a> FromRequest<'a> for Session {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        // The guard found it (every non-public path).
        Ok(req
            .extensions()
            .get::<Session>()
            .cloned()
            .ok_or(PageError::LoginRequired)?)
    }
}

fn anonymous_actor(req: &Request) -> Actor {
    Actor {
        operator: "anonymous".into(),
        client_ip: Some(ClientIp::of(req).to_string()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The value of the session cookie, if the request has one.
fn cookie(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

fn set_cookie(value: &str, max_age_secs: i64) -> String {
    format!(
        "{COOKIE}={value}; Path=/dashboard; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Strict"
    )
}

fn form_page(status: StatusCode, error: Option<&str>) -> Result<Response, PageError> {
    let ctx = minijinja::context! { page => view::v(Page::anonymous()), error };
    view::html(status, "dashboard/login.html", ctx)
}

#[handler]
pub async fn login_form(req: &Request) -> Result<Response, PageError> {
    let mut resp = form_page(StatusCode::OK, None)?;
    // An htmx poll whose session ended was redirected here: make it a full page load.
    if req.headers().contains_key("hx-request") {
        resp.headers_mut().insert(
            "hx-redirect",
            poem::http::HeaderValue::from_static("/dashboard/login"),
        );
    }
    Ok(resp)
}

#[handler]
pub async fn login(
    req: &Request,
    body: Body,
    state: Data<&AppState>,
    limiter: Data<&LoginLimiter>,
) -> Result<Response, PageError> {
    if let Err(wait) = limiter.0.0.check(ClientIp::of(req)) {
        let mut resp = form_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many login attempts from your address. Wait a minute and try again."),
        )?;
        if let Ok(v) = wait.to_string().parse() {
            resp.headers_mut()
                .insert(poem::http::header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    let body = crate::body::read_limited(body, MAX_LOGIN_BYTES)
        .await
        .map_err(|_| PageError::BadRequest("the form is too large".into()))?;
    let form = view::Form::parse(&body);
    let key = form.get("key").unwrap_or("").trim();
    let db = &state.services.db;
    let refused = |reason: &'static str, message: &'static str| async move {
        sessions::record_failed_login(db, &anonymous_actor(req), reason).await?;
        form_page(StatusCode::UNAUTHORIZED, Some(message))
    };
    if key.is_empty() {
        return form_page(StatusCode::UNAUTHORIZED, Some("Enter an operator key."));
    }
    if key.starts_with(KEY_PREFIX) {
        return refused(
            "tenant_key",
            "That is a tenant API key (lsk_…). The dashboard needs an operator key (LONGSHORE_ADMIN_KEY).",
        )
        .await;
    }
    let Some(operator) = state.operator_keys.verify(key) else {
        let message = if state.operator_keys.is_empty() {
            "No operator key is configured (LONGSHORE_ADMIN_KEY): the dashboard is closed."
        } else {
            "That operator key is not valid."
        };
        return refused("unknown_key", message).await;
    };
    let actor = Actor {
        operator: operator.label,
        ..anonymous_actor(req)
    };
    let token = sessions::open_session(db, &actor).await?;
    let max_age = sessions::SESSION_TTL_MS / 1000;
    let mut resp = view::see_other("/dashboard");
    let cookie = set_cookie(token.expose(), max_age);
    resp.headers_mut().insert(
        poem::http::header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|_| PageError::Internal("cookie header".into()))?,
    );
    Ok(resp)
}

#[handler]
pub async fn logout(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
) -> Result<Response, PageError> {
    sessions::close_session(&state.services.db, &session.actor(req), &session.token).await?;
    let mut resp = view::see_other("/dashboard/login");
    resp.headers_mut().insert(
        poem::http::header::SET_COOKIE,
        set_cookie("", 0)
            .parse()
            .map_err(|_| PageError::Internal("cookie header".into()))?,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_set_with_every_flag() {
        let req = Request::builder()
            .header("cookie", "a=1; longshore_dashboard=abc; b=2")
            .finish();
        assert_eq!(cookie(&req), Some("abc"));
        let set = set_cookie("abc", 60);
        for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
            assert!(set.contains(flag), "{set}");
        }
    }
}
