//! The period a run reports on, computed from its tick in the schedule's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::PeriodKind;
use crate::reports::model::Period;

/// The first instant of local date `day` (midnight, or the first minute that exists when a
/// time-zone change skips midnight).
pub fn start_of_day(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for minutes in (0..=180).step_by(15) {
        if let Some(t) = tz
            .from_local_datetime(&(midnight + Duration::minutes(minutes)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&midnight)
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The period of the run fired at `tick`. `previous_tick` is the tick the previous run covered
/// (or the schedule's creation time), used by `since_last_run`.
pub fn period_for(kind: PeriodKind, tz: Tz, tick: DateTime<Utc>, previous_tick: i64) -> Period {
    let day = tick.with_timezone(&tz).date_naive();
    let (from, to) = match kind {
        PeriodKind::PreviousDay => (day - Duration::days(1), day),
        PeriodKind::PreviousWeek => {
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            (monday - Duration::days(7), monday)
        }
        PeriodKind::PreviousMonth => {
            let this = first_of_month(day);
            (first_of_month(this - Duration::days(1)), this)
        }
        PeriodKind::SinceLastRun => {
            let from = previous_tick.min(tick.timestamp_millis());
            return Period {
                from,
                to: tick.timestamp_millis(),
            };
        }
    };
    Period {
        from: start_of_day(tz, from).timestamp_millis(),
        to: start_of_day(tz, to).timestamp_millis(),
    }
}

/// The period of a run covering ticks `first..=last`: from the first's start to the last's end.
pub fn covering(
    kind: PeriodKind,
    tz: Tz,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    previous_tick: i64,
) -> Period {
    let a = period_for(kind, tz, first, previous_tick);
    let b = period_for(kind, tz, last, previous_tick);
    Period {
        from: a.from.min(b.from),
        to: a.to.max(b.to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn periods_follow_the_local_calendar() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // The day before the spring-forward day is 24 hours; that day itself is 23.
        let p = period_for(PeriodKind::PreviousDay, tz, utc("2026-03-30T06:00:00Z"), 0);
        assert_eq!(
            (p.from, p.to),
            (
                utc("2026-03-28T23:00:00Z").timestamp_millis(),
                utc("2026-03-29T22:00:00Z").timestamp_millis()
            )
        );
        let p = period_for(PeriodKind::PreviousWeek, tz, utc("2026-01-07T12:00:00Z"), 0);
        assert_eq!(p.from, utc("2025-12-28T23:00:00Z").timestamp_millis());
        assert_eq!(p.to, utc("2026-01-04T23:00:00Z").timestamp_millis());
        let p = period_for(
            PeriodKind::PreviousMonth,
            Tz::UTC,
            utc("2026-03-01T00:00:00Z"),
            0,
        );
        assert_eq!(
            (p.from, p.to),
            (
                utc("2026-02-01T00:00:00Z").timestamp_millis(),
                utc("2026-03-01T00:00:00Z").timestamp_millis()
            )
        );
        let p = period_for(
            PeriodKind::SinceLastRun,
            Tz::UTC,
            utc("2026-03-01T00:00:00Z"),
            5,
        );
        assert_eq!(
            (p.from, p.to),
            (5, utc("2026-03-01T00:00:00Z").timestamp_millis())
        );
        let c = covering(
            PeriodKind::PreviousDay,
            Tz::UTC,
            utc("2026-03-02T00:00:00Z"),
            utc("2026-03-04T00:00:00Z"),
            0,
        );
        assert_eq!(
            (c.from, c.to),
            (
                utc("2026-03-01T00:00:00Z").timestamp_millis(),
                utc("2026-03-04T00:00:00Z").timestamp_millis()
            )
        );
    }
}
