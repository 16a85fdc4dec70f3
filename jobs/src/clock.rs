//! Wall-clock time as the queue stores it: milliseconds since the Unix epoch.

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch, the unit every backend stores.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Converts stored milliseconds back into a UTC time for the API.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
