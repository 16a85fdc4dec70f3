//! The next-time function across the 2026 daylight-saving changes, and the parser's edges.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;
use crate::validation::parse_timezone;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn cron(s: &str) -> CronExpr {
    s.parse().unwrap()
}

/// Every firing instant in [from, to).
fn fires(expr: &str, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let c = cron(expr);
    let mut out = Vec::new();
    let mut at = from - chrono::Duration::milliseconds(1);
    while let Some(t) = c.next_after(tz, at) {
        if t >= to {
            break;
        }
        out.push(t);
        at = t;
    }
    out
}

/// Firing instants whose local date is `day`.
fn on_local_day(expr: &str, tz: Tz, day: NaiveDate) -> Vec<String> {
    let from = utc(&format!("{day}T00:00:00Z")) - chrono::Duration::days(1);
    let to = from + chrono::Duration::days(3);
    fires(expr, tz, from, to)
        .into_iter()
        .filter(|t| t.with_timezone(&tz).date_naive() == day)
        .map(|t| t.with_timezone(&tz).to_rfc3339())
        .collect()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn berlin_0230_daily_runs_once_on_the_spring_forward_day() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    // 02:00 CET jumps to 03:00 CEST: 02:30 does not exist; it fires at 03:30 summer time.
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-03-29")),
        ["2026-03-29T03:30:00+02:00"]
    );
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-03-28")),
        ["2026-03-28T02:30:00+01:00"]
    );
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-03-30")),
        ["2026-03-30T02:30:00+02:00"]
    );
}

#[test]
fn berlin_0230_daily_runs_once_not_twice_on_the_fall_back_day() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    // 03:00 CEST falls back to 02:00 CET: 02:30 happens twice; it fires on the first.
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-10-25")),
        ["2026-10-25T02:30:00+02:00"]
    );
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-10-26")),
        ["2026-10-26T02:30:00+01:00"]
    );
    // Starting the search inside the repeated hour (second pass) does not fire it again.
    let c = cron("30 2 * * *");
    let next = c.next_after(tz, utc("2026-10-25T01:10:00Z")).unwrap();
    assert_eq!(next, utc("2026-10-26T01:30:00Z"));
    // Nor does starting at the first occurrence itself.
    let next = c.next_after(tz, utc("2026-10-25T00:30:00Z")).unwrap();
    assert_eq!(next, utc("2026-10-26T01:30:00Z"));
}

#[test]
fn new_york_across_both_2026_changes() {
    let tz: Tz = "America/New_York".parse().unwrap();
    // 8 March: 02:00 EST → 03:00 EDT; 1 November: 02:00 EDT → 01:00 EST.
    assert_eq!(
        on_local_day("30 2 * * *", tz, date("2026-03-08")),
        ["2026-03-08T03:30:00-04:00"]
    );
    assert_eq!(
        on_local_day("30 1 * * *", tz, date("2026-11-01")),
        ["2026-11-01T01:30:00-04:00"]
    );
    assert_eq!(
        on_local_day("0 9 * * *", tz, date("2026-03-08")),
        ["2026-03-08T09:00:00-04:00"]
    );
    assert_eq!(
        on_local_day("0 9 * * *", tz, date("2026-11-01")),
        ["2026-11-01T09:00:00-05:00"]
    );
    let days: Vec<_> = fires(
        "0 9 * * *",
        tz,
        utc("2026-03-06T00:00:00Z"),
        utc("2026-03-11T00:00:00Z"),
    )
    .into_iter()
    .map(|t| t.to_rfc3339())
    .collect();
    assert_eq!(
        days,
        [
            "2026-03-06T14:00:00+00:00",
            "2026-03-07T14:00:00+00:00",
            "2026-03-08T13:00:00+00:00",
            "2026-03-09T13:00:00+00:00",
            "2026-03-10T13:00:00+00:00"
        ]
    );
}

#[test]
fn interval_schedules_keep_their_rhythm_through_both_changes() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    for (from, to, hours) in [
        ("2026-03-28T22:00:00Z", "2026-03-29T04:00:00Z", 6),
        ("2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z", 6),
    ] {
        let every15 = fires("*/15 * * * *", tz, utc(from), utc(to));
        assert_eq!(every15.len(), hours * 4, "{every15:?}");
        for pair in every15.windows(2) {
            assert_eq!(pair[1] - pair[0], chrono::Duration::minutes(15), "{pair:?}");
        }
        let hourly = fires("0 * * * *", tz, utc(from), utc(to));
        assert_eq!(hourly.len(), hours);
    }
}

#[test]
fn utc_schedules_and_seconds() {
    let tz = Tz::UTC;
    let five = fires(
        "*/5 * * * * *",
        tz,
        utc("2026-01-01T00:00:00Z"),
        utc("2026-01-01T00:01:00Z"),
    );
    assert_eq!(five.len(), 12);
    let c = cron("0 0 1 * *");
    assert_eq!(
        c.next_after(tz, utc("2026-01-15T00:00:00Z")),
        Some(utc("2026-02-01T00:00:00Z"))
    );
    assert_eq!(c.upcoming(tz, utc("2026-01-15T00:00:00Z"), 5).len(), 5);
}

#[test]
fn day_of_week_is_standard_cron() {
    let tz = Tz::UTC;
    // 2026-01-05 is a Monday.
    let monday = utc("2026-01-05T00:00:00Z");
    for expr in ["0 9 * * 1", "0 9 * * MON", "0 9 * * mon"] {
        assert_eq!(
            cron(expr).next_after(tz, monday),
            Some(utc("2026-01-05T09:00:00Z")),
            "{expr}"
        );
    }
    for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
        assert_eq!(
            cron(expr).next_after(tz, monday),
            Some(utc("2026-01-11T09:00:00Z")),
            "{expr}"
        );
    }
    let weekdays = fires(
        "0 9 * * 1-5",
        tz,
        monday,
        monday + chrono::Duration::days(7),
    );
    assert_eq!(weekdays.len(), 5);
    let weekend = fires(
        "0 9 * * 6-7",
        tz,
        monday,
        monday + chrono::Duration::days(7),
    );
    assert_eq!(weekend.len(), 2);
    // Both day fields restricted: either matches (the 1st of the month, and every Monday).
    let either = fires(
        "0 9 1 * 1",
        tz,
        utc("2026-01-01T00:00:00Z"),
        utc("2026-02-01T00:00:00Z"),
    );
    assert_eq!(either.len(), 1 + 4, "{either:?}");
}

#[test]
fn malformed_expressions_are_refused_with_a_reason() {
    for bad in [
        "",
        "* * * *",
        "* * * * * * *",
        "61 * * * *",
        "* 25 * * *",
        "* * * * 8",
        "* * * * MOO",
        "@daily",
        "* * * * 5-1",
        "0 0 ; * *",
    ] {
        let err = bad.parse::<CronExpr>().err();
        assert!(err.is_some(), "{bad:?} was accepted");
    }
    assert!(parse_timezone("Mars/Olympus").is_err());
    assert!(parse_timezone("Europe/Berlin").is_ok());
}

#[test]
fn a_day_that_never_comes_never_fires() {
    let c = cron("0 0 30 2 *");
    assert_eq!(
        c.next_after(Tz::UTC, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
        None
    );
}
