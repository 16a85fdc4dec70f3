//! What Longshore keeps of an endpoint's answer: the status, when to retry, and an excerpt.
//!
//! The body belongs to the client's endpoint and may be anything (a 2 GB file, an endless
//! stream), so only its first [`EXCERPT_BYTES`] are kept, for the task's attempt record. The
//! rest is read and thrown away up to [`DRAIN_LIMIT`] so the connection can go back to the pool;
//! past that the response is dropped, which closes the connection instead.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Bytes of the response body kept in [`OutboundResponse::excerpt`].
pub const EXCERPT_BYTES: usize = 4096;
/// Bytes read past the excerpt (and discarded) to keep the connection reusable.
pub const DRAIN_LIMIT: usize = 1024 * 1024;
/// The longest `Retry-After` honoured: an endpoint cannot park a task for longer than a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// An endpoint's answer. Any status is an answer, 3xx included (redirects are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    pub status: u16,
    /// The endpoint's `Retry-After` (seconds or HTTP-date), at most [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    /// `Content-Type`, to show the excerpt sensibly.
    pub content_type: Option<String>,
    /// `Location`, so a 3xx says where the endpoint moved.
    pub location: Option<String>,
    /// The first [`EXCERPT_BYTES`] of the body (less if the body is shorter, or if the
    /// deadline passed while it was being read).
    pub excerpt: Bytes,
    /// From sending the request to the end of reading the excerpt.
    pub elapsed: Duration,
}

impl OutboundResponse {
    /// The excerpt as text for an attempt log: lossy UTF-8, at most `max_chars` characters,
    /// without NUL characters (PostgreSQL text cannot hold them).
    pub fn excerpt_text(&self, max_chars: usize) -> String {
        String::from_utf8_lossy(&self.excerpt)
            .chars()
            .take(max_chars)
            .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
            .collect()
    }
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP-date (IMF-fixdate, as RFC 9110
/// requires senders to use; a date in the past means now). Capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is a very long delay, not an unreadable one.
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Reads the excerpt, then drains up to [`DRAIN_LIMIT`] more, all before `deadline`. A read
/// error or the deadline ends the reading with what was read: the status is already known.
pub(super) async fn read_excerpt(mut response: reqwest::Response, deadline: Instant) -> Bytes {
    let mut excerpt = BytesMut::new();
    let mut drained = 0usize;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            // End of body, a broken body or the deadline: keep what we have.
            _ => break,
        };
        let room = EXCERPT_BYTES - excerpt.len();
        excerpt.extend_from_slice(&chunk[..room.min(chunk.len())]);
        drained += chunk.len().saturating_sub(room);
        if drained > DRAIN_LIMIT {
            break; // dropping the response closes the connection
        }
    }
    excerpt.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn an_excerpt_holds_no_nul_and_at_most_its_length() {
        let answer = |body: &'static [u8]| OutboundResponse {
            status: 200,
            retry_after: None,
            content_type: None,
            location: None,
            excerpt: Bytes::from_static(body),
            elapsed: Duration::ZERO,
        };
        let kept = answer(b"ok\0\xffdone").excerpt_text(100);
        assert!(!kept.contains('\0'), "{kept:?}");
        assert!(kept.starts_with("ok") && kept.ends_with("done"));
        assert_eq!(
            answer(&[b'x'; 5000]).excerpt_text(2048).chars().count(),
            2048
        );
    }

    #[test]
    fn seconds_are_parsed() {
        assert_eq!(parse_retry_after("3", now()), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn an_http_date_is_a_delay_from_now() {
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 12:02:30 GMT", now()),
            Some(Duration::from_secs(150))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn more_than_a_day_is_capped() {
        assert_eq!(parse_retry_after("90000", now()), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now()),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 2027 00:00:00 GMT", now()),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn garbage_is_ignored() {
        for v in ["", "soon", "-5", "1.5", "Sun, 99 Mar 2026 12:00:00 GMT"] {
            assert_eq!(parse_retry_after(v, now()), None, "{v:?}");
        }
    }
}
