//! Cron schedules with time zones, as a client sends them (`POST /v1/schedules`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use longshore_jobs::schedules::cron::CronExpr;
use longshore_jobs::validation::parse_timezone;

use crate::input::text;

/// The latest instant a run is computed from: 2100-01-01 (schedules are for this century).
const LAST_SECOND: i64 = 4_102_444_800;
/// Runs computed per input.
const RUNS: usize = 4;

/// A schedule's `cron` and `timezone` fields, and the instant its next runs are computed from.
/// Input: the expression, `\n`, the zone name (absent: UTC), `\n`, seconds since the epoch
/// (folded into 1970–2100; absent: November 2023).
///
/// Asserts that an expression that parses reads back equal from its normalised text, and
/// that its next runs (computed as the scheduler does, through DST changes) come strictly after
/// the instant and strictly after each other.
pub fn cron_schedule(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let expr = lines.next().unwrap_or_default();
    let zone = lines.next().unwrap_or_default();
    let instant = lines.next().unwrap_or_default();
    let Ok(cron) = expr.parse::<CronExpr>() else {
        return;
    };
    let again: CronExpr = cron
        .as_str()
        .parse()
        .expect("a normalised expression parses");
    assert_eq!(again, cron);
    let tz = if zone.trim().is_empty() {
        Tz::UTC
    } else {
        match parse_timezone(zone.trim()) {
            Ok(tz) => tz,
            Err(_) => return,
        }
    };
    let secs = instant
        .trim()
        .parse::<i64>()
        .map_or(1_700_000_000, |s| s.rem_euclid(LAST_SECOND));
    let after: DateTime<Utc> = DateTime::from_timestamp(secs, 0).expect("within chrono's range");
    let runs = cron.upcoming(tz, after, RUNS);
    let mut previous = after;
    for run in runs {
        assert!(
            run > previous,
            "{cron} in {tz}: {run} does not follow {previous}"
        );
        previous = run;
    }
}
