//! A client's queue settings and new tasks, parsed into trusted values with every field error
//! at once (`422` naming `retry_config.min_backoff`, `http_request.url`, …). Field names and
//! formats are Cloud Tasks' (durations as `"3.5s"`, bodies as base64), so a migration is a
//! configuration change.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::model::{RateLimits, TaskRequest};
use super::policy::{RetryConfig, UNLIMITED_ATTEMPTS};
use crate::validation::{FieldError, Invalid};

/// Longest queue name (Cloud Tasks' limit).
pub const MAX_QUEUE_NAME: usize = 100;
/// Longest task name (Cloud Tasks' limit).
pub const MAX_TASK_NAME: usize = 500;
/// Largest task body, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most headers a task may set, and their total size.
pub const MAX_HEADERS: usize = 50;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest URL.
pub const MAX_URL: usize = 2048;
/// A task's dispatch deadline: default and bounds (Cloud Tasks' for HTTP targets).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(600);
pub const MIN_DEADLINE: Duration = Duration::from_secs(15);
pub const MAX_DEADLINE: Duration = Duration::from_secs(1800);
/// Bounds on queue settings.
pub const MAX_ATTEMPTS_LIMIT: i64 = 100_000;
pub const MAX_BACKOFF_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);
pub const MAX_DOUBLINGS_LIMIT: u32 = 62;
pub const MAX_RATE: f64 = 100_000.0;
pub const MAX_BURST: u32 = 100_000;
pub const MAX_CONCURRENT: u32 = 100_000;

/// Methods a task may use.
pub const METHODS: [&str; 7] = ["POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// Headers a task may not set: the transport's own, and the ones Longshore signs and sets.
fn reserved_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-authorization"
            | "proxy-connection"
    ) || n.starts_with("webhook-")
        || n.starts_with("longshore-")
}

/// A queue or task name: letters, digits, hyphens and underscores.
fn plain_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a queue name (for a path or a body field).
pub fn check_queue_name(field: &str, name: &str) -> Result<(), FieldError> {
    if plain_name(name, MAX_QUEUE_NAME) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be 1 to {MAX_QUEUE_NAME} letters, digits, '-' or '_'"),
        ))
    }
}

/// A duration in Cloud Tasks' JSON form: seconds with up to 9 decimals and an `s` (`"0.1s"`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("must be a duration such as \"10s\" or \"0.5s\", not {s:?}");
    let number = s.strip_suffix('s').ok_or_else(err)?;
    if number.is_empty() || number.starts_with(['-', '+']) || number.len() > 30 {
        return Err(err());
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(err());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 9
    {
        return Err(err());
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err())?
    };
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().map_err(|_| err())?
    };
    Ok(Duration::new(secs, nanos))
}

/// Formats a duration as Cloud Tasks does (`"0.100s"` style trimmed: `"0.1s"`).
pub fn format_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{}s", d.as_secs());
    }
    let fraction = format!("{nanos:09}");
    format!("{}.{}s", d.as_secs(), fraction.trim_end_matches('0'))
}

/// Retry settings as received; absent fields keep their current (or default) value.
#[derive(Debug, Clone, Default)]
pub struct RetryInput {
    pub max_attempts: Option<i64>,
    pub min_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub max_doublings: Option<i64>,
    pub max_retry_duration: Option<String>,
}

/// Rate limits as received; absent fields keep their current (or default) value.
#[derive(Debug, Clone, Default)]
pub struct RateInput {
    pub max_dispatches_per_second: Option<f64>,
    pub max_burst_size: Option<i64>,
    pub max_concurrent_dispatches: Option<i64>,
}

/// Applies `input` over `current`, checking every field.
pub fn apply_settings(
    current: (RetryConfig, RateLimits),
    retry: Option<RetryInput>,
    rate: Option<RateInput>,
) -> Result<(RetryConfig, RateLimits), Invalid> {
    let (mut r, mut l) = current;
    let mut errors = Vec::new();
    let mut duration = |field: &str, raw: Option<String>, into: &mut Duration| {
        if let Some(raw) = raw {
            match parse_duration(&raw) {
                Ok(d) => *into = d,
                Err(m) => errors.push(FieldError::new(format!("retry_config.{field}"), m)),
            }
        }
    };
    let retry = retry.unwrap_or_default();
    duration("min_backoff", retry.min_backoff, &mut r.min_backoff);
    duration("max_backoff", retry.max_backoff, &mut r.max_backoff);
    duration(
        "max_retry_duration",
        retry.max_retry_duration,
        &mut r.max_retry_duration,
    );
    if let Some(n) = retry.max_attempts {
        if n == UNLIMITED_ATTEMPTS || (1..=MAX_ATTEMPTS_LIMIT).contains(&n) {
            r.max_attempts = n;
        } else {
            errors.push(FieldError::new(
                "retry_config.max_attempts",
                format!("must be -1 (no limit) or 1 to {MAX_ATTEMPTS_LIMIT}"),
            ));
        }
    }
    if let Some(n) = retry.max_doublings {
        match u32::try_from(n) {
            Ok(n) if n <= MAX_DOUBLINGS_LIMIT => r.max_doublings = n,
            _ => errors.push(FieldError::new(
                "retry_config.max_doublings",
                format!("must be 0 to {MAX_DOUBLINGS_LIMIT}"),
            )),
        }
    }
    if r.max_backoff > MAX_BACKOFF_LIMIT {
        errors.push(FieldError::new(
            "retry_config.max_backoff",
            "must be at most 7 days",
        ));
    }
    if r.min_backoff > r.max_backoff {
        errors.push(FieldError::new(
            "retry_config.min_backoff",
            "must not be longer than max_backoff",
        ));
    }
    let rate = rate.unwrap_or_default();
    if let Some(per_second) = rate.max_dispatches_per_second {
        if per_second.is_finite() && per_second > 0.0 && per_second <= MAX_RATE {
            l.max_dispatches_per_second = per_second;
        } else {
            errors.push(FieldError::new(
                "rate_limits.max_dispatches_per_second",
                format!("must be above 0 and at most {MAX_RATE}"),
            ));
        }
    }
    let mut count = |field: &str, raw: Option<i64>, max: u32, into: &mut u32| {
        if let Some(n) = raw {
            match u32::try_from(n) {
                Ok(n) if (1..=max).contains(&n) => *into = n,
                _ => errors.push(FieldError::new(
                    format!("rate_limits.{field}"),
                    format!("must be 1 to {max}"),
                )),
            }
        }
    };
    count(
        "max_burst_size",
        rate.max_burst_size,
        MAX_BURST,
        &mut l.max_burst_size,
    );
    count(
        "max_concurrent_dispatches",
        rate.max_concurrent_dispatches,
        MAX_CONCURRENT,
        &mut l.max_concurrent_dispatches,
    );
    if errors.is_empty() {
        Ok((r, l))
    } else {
        Err(Invalid(errors))
    }
}

/// A task's request as received (Cloud Tasks' `httpRequest`).
#[derive(Debug, Clone, Default)]
pub struct RequestInput {
    pub url: Option<String>,
    pub http_method: Option<String>,
    pub headers: Option<Vec<(String, String)>>,
    /// Base64, as Cloud Tasks sends it.
    pub body: Option<String>,
    /// The body as text (UTF-8), for clients that have no bytes to encode.
    pub body_text: Option<String>,
}

/// A new task as received.
#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    pub queue: Option<String>,
    pub name: Option<String>,
    pub http_request: Option<RequestInput>,
    /// Milliseconds since the epoch; `None` means now.
    pub schedule_time: Option<i64>,
    pub dispatch_deadline: Option<String>,
}

/// A new task, checked (its URL's destination is checked by the caller, which knows the
/// operator's allow-list).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTask {
    pub queue: String,
    pub name: Option<String>,
    pub request: TaskRequest,
    pub schedule_time: Option<i64>,
}

impl TaskInput {
    /// Checks every field, reporting all problems at once.
    pub fn parse(self) -> Result<ParsedTask, Invalid> {
        let mut errors = Vec::new();
        let queue = match self.queue {
            Some(q) => {
                if let Err(e) = check_queue_name("queue", &q) {
                    errors.push(e);
                }
                q
            }
            None => {
                errors.push(FieldError::new("queue", "is required"));
                String::new()
            }
        };
        if let Some(name) = &self.name
            && !plain_name(name, MAX_TASK_NAME)
        {
            errors.push(FieldError::new(
                "name",
                format!("must be 1 to {MAX_TASK_NAME} letters, digits, '-' or '_'"),
            ));
        }
        let dispatch_deadline = match self.dispatch_deadline.as_deref().map(parse_duration) {
            None => DEFAULT_DEADLINE,
            Some(Ok(d)) if (MIN_DEADLINE..=MAX_DEADLINE).contains(&d) => d,
            Some(Ok(_)) => {
                errors.push(FieldError::new(
                    "dispatch_deadline",
                    "must be between 15s and 1800s",
                ));
                DEFAULT_DEADLINE
            }
            Some(Err(m)) => {
                errors.push(FieldError::new("dispatch_deadline", m));
                DEFAULT_DEADLINE
            }
        };
        if let Some(at) = self.schedule_time
            && at < 0
        {
            errors.push(FieldError::new("schedule_time", "must be after 1970"));
        }
        let request = match self.http_request {
            Some(r) => parse_request(r, dispatch_deadline, &mut errors),
            None => {
                errors.push(FieldError::new("http_request", "is required"));
                None
            }
        };
        match request {
            Some(request) if errors.is_empty() => Ok(ParsedTask {
                queue,
                name: self.name,
                request,
                schedule_time: self.schedule_time,
            }),
            _ => Err(Invalid(errors)),
        }
    }
}

fn parse_request(
    r: RequestInput,
    dispatch_deadline: Duration,
    errors: &mut Vec<FieldError>,
) -> Option<TaskRequest> {
    let before = errors.len();
    let url = match r.url {
        Some(u) => match url::Url::parse(&u) {
            Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => {
                errors.push(FieldError::new("http_request.url", "must be http or https"));
                u
            }
            Ok(_) if u.len() > MAX_URL => {
                errors.push(FieldError::new(
                    "http_request.url",
                    format!("must be at most {MAX_URL} characters"),
                ));
                u
            }
            Ok(parsed) if parsed.host_str().is_none() => {
                errors.push(FieldError::new("http_request.url", "must name a host"));
                u
            }
            Ok(parsed) => parsed.to_string(),
            Err(e) => {
                errors.push(FieldError::new(
                    "http_request.url",
                    format!("is not a URL: {e}"),
                ));
                u
            }
        },
        None => {
            errors.push(FieldError::new("http_request.url", "is required"));
            String::new()
        }
    };
    let method = r
        .http_method
        .unwrap_or_else(|| "POST".into())
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        errors.push(FieldError::new(
            "http_request.http_method",
            format!("must be one of {}", METHODS.join(", ")),
        ));
    }
    let headers = r.headers.unwrap_or_default();
    check_headers(&headers, errors);
    let body = match (r.body, r.body_text) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "http_request.body",
                "give either body (base64) or body_text, not both",
            ));
            Vec::new()
        }
        (Some(b64), None) => match BASE64.decode(b64.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => {
                errors.push(FieldError::new("http_request.body", "must be base64"));
                Vec::new()
            }
        },
        (None, Some(text)) => text.into_bytes(),
        (None, None) => Vec::new(),
    };
    if body.len() > MAX_BODY_BYTES {
        errors.push(FieldError::new(
            "http_request.body",
            format!("must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    (errors.len() == before).then_some(TaskRequest {
        method,
        url,
        headers,
        body,
        dispatch_deadline,
    })
}

/// Checks a queue's static headers (`http_auth_headers`) as a task's are checked.
pub fn check_auth_headers(headers: &[(String, String)]) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    check_headers_at("http_auth_headers", headers, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid(errors))
    }
}

fn check_headers(headers: &[(String, String)], errors: &mut Vec<FieldError>) {
    check_headers_at("http_request.headers", headers, errors)
}

fn check_headers_at(at: &str, headers: &[(String, String)], errors: &mut Vec<FieldError>) {
    if headers.len() > MAX_HEADERS {
        errors.push(FieldError::new(
            at,
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    let total: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_HEADER_BYTES {
        errors.push(FieldError::new(
            at,
            format!("at most {MAX_HEADER_BYTES} bytes in all"),
        ));
    }
    for (name, value) in headers {
        let field = format!("{at}.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(FieldError::new(field, "is not a valid header name"));
        } else if reserved_header(name) {
            errors.push(FieldError::new(
                field,
                "is set by Longshore or the transport and cannot be given",
            ));
        } else if reqwest::header::HeaderValue::from_str(value).is_err() {
            errors.push(FieldError::new(
                field,
                "must be visible ASCII without line breaks",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: Invalid) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn durations_parse_and_print_in_cloud_tasks_form() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("0.1s").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration(".5s").unwrap(), Duration::from_millis(500));
        for bad in ["10", "-1s", "1.2.3s", "s", "1e3s", "1.0000000001s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(100)), "0.1s");
        assert_eq!(format_duration(Duration::from_secs(600)), "600s");
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = TaskInput {
            queue: Some("bad queue".into()),
            name: Some("x/y".into()),
            http_request: Some(RequestInput {
                url: Some("ftp://example.com/".into()),
                http_method: Some("BREW".into()),
                headers: Some(vec![("Host".into(), "x".into())]),
                body: Some("***".into()),
                body_text: None,
            }),
            schedule_time: None,
            dispatch_deadline: Some("5s".into()),
        };
        let got = fields(input.parse().unwrap_err());
        for f in [
            "queue",
            "name",
            "dispatch_deadline",
            "http_request.url",
            "http_request.http_method",
            "http_request.headers.Host",
            "http_request.body",
        ] {
            assert!(got.iter().any(|g| g == f), "{f} missing from {got:?}");
        }
    }

    #[test]
    fn a_body_over_one_mebibyte_is_refused() {
        let input = TaskInput {
            queue: Some("q".into()),
            http_request: Some(RequestInput {
                url: Some("https://example.com/work".into()),
                body_text: Some("x".repeat(MAX_BODY_BYTES + 1)),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(input.parse().unwrap_err()),
            vec!["http_request.body"]
        );
    }

    #[test]
    fn settings_apply_over_the_current_ones() {
        let current = (RetryConfig::default(), RateLimits::default());
        let (r, l) = apply_settings(
            current,
            Some(RetryInput {
                max_attempts: Some(-1),
                min_backoff: Some("1s".into()),
                ..Default::default()
            }),
            Some(RateInput {
                max_dispatches_per_second: Some(20.0),
                ..Default::default()
            }),
        )
        .unwrap();
        assert_eq!(r.max_attempts, -1);
        assert_eq!(r.min_backoff, Duration::from_secs(1));
        assert_eq!(r.max_backoff, RetryConfig::default().max_backoff);
        assert_eq!(l.max_dispatches_per_second, 20.0);
        let bad = apply_settings(
            current,
            Some(RetryInput {
                max_attempts: Some(0),
                min_backoff: Some("2h".into()),
                ..Default::default()
            }),
            Some(RateInput {
                max_dispatches_per_second: Some(0.0),
                max_concurrent_dispatches: Some(0),
                ..Default::default()
            }),
        )
        .unwrap_err();
        assert_eq!(
            fields(bad),
            vec![
                "retry_config.min_backoff",
                "retry_config.max_attempts",
                "rate_limits.max_dispatches_per_second",
                "rate_limits.max_concurrent_dispatches"
            ]
        );
    }
}
