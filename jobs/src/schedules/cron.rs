//! Cron expressions, parsed once at the edge, and the pure "next time after" function the
//! scheduler and the API share.
//!
//! Syntax: the standard 5 fields (`minute hour day-of-month month day-of-week`), or 6 with
//! seconds first. Day-of-week follows standard cron (0 and 7 are Sunday, names `SUN`..`SAT`),
//! and when both day fields are restricted a day matching either fires (Vixie cron's rule). The
//! `cron` crate does the field matching; this module translates the day-of-week field (the crate
//! counts Sunday as 1) and owns the time-zone rules, which the crate leaves to `chrono`:
//!
//! - **wall-clock schedules** (the hour field is restricted, e.g. `30 2 * * *`) fire once per
//!   matching local time: a time skipped by a spring-forward change fires at the same instant it
//!   would have had before the change (02:30 → 03:30 summer time), and a time repeated by a
//!   fall-back change fires on its first occurrence only;
//! - **interval schedules** (hour `*`, e.g. `*/15 * * * *`) fire at every instant whose local
//!   time matches: through a repeated hour they keep their rhythm (both passes), and local
//!   times that do not exist are simply not instants.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The longest time-zone change handled exactly (real ones are at most 2 hours).
const FOLD_WINDOW: Duration = Duration::hours(3);

/// A validated cron expression.
#[derive(Clone)]
pub struct CronExpr {
    source: String,
    /// Matches on day-of-month (or on every day when neither day field is restricted).
    primary: cron::Schedule,
    /// When both day fields are restricted: the day-of-week half of Vixie's OR.
    by_weekday: Option<cron::Schedule>,
    wall_clock: bool,
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.source)
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn weekday_value(text: &str) -> Result<u32, String> {
    if let Some(i) = WEEKDAYS.iter().position(|d| d.eq_ignore_ascii_case(text)) {
        return Ok(i as u32);
    }
    match text.parse::<u32>() {
        Ok(n) if n <= 7 => Ok(n % 7),
        _ => Err(format!("day-of-week `{text}` must be 0-7 or SUN-SAT")),
    }
}

/// Standard day-of-week syntax → the set of weekdays (0 = Sunday), or `None` for "any day".
fn weekdays(field: &str) -> Result<Option<[bool; 7]>, String> {
    if field == "*" || field == "?" {
        return Ok(None);
    }
    let mut set = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| (1..=7).contains(s))
                    .ok_or_else(|| format!("day-of-week step `{s}` must be 1-7"))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = weekday_value(a)?;
            // `7` closes a range as Sunday at the end of the week (`5-7` = Fri, Sat, Sun).
            let hi = if b == "7" { 7 } else { weekday_value(b)? };
            if hi < lo {
                return Err(format!("day-of-week range `{range}` runs backwards"));
            }
            (lo, hi)
        } else {
            let v = weekday_value(range)?;
            (v, if item.contains('/') { 6 } else { v })
        };
        let mut d = lo;
        while d <= hi {
            set[(d % 7) as usize] = true;
            d += step;
        }
    }
    Ok(Some(set))
}

impl FromStr for CronExpr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let source = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut fields: Vec<&str> = source.split(' ').filter(|f| !f.is_empty()).collect();
        match fields.len() {
            5 => fields.insert(0, "0"),
            6 => {}
            _ => {
                return Err("must have 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first".into());
            }
        }
        if let Some(bad) = source.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?' | ' '))
        }) {
            return Err(format!("unexpected character `{bad}`"));
        }
        let dom = if fields[3] == "?" { "*" } else { fields[3] };
        let days = weekdays(fields[5])?;
        let build = |dom: &str, dow: &str| {
            let text = format!(
                "{} {} {} {} {} {}",
                fields[0], fields[1], fields[2], dom, fields[4], dow
            );
            cron::Schedule::from_str(&text).map_err(|e| format!("not a valid cron expression: {e}"))
        };
        let dow_names = days.map(|set| {
            let names: Vec<&str> = (0..7).filter(|&i| set[i]).map(|i| WEEKDAYS[i]).collect();
            names.join(",")
        });
        let (primary, by_weekday) = match (&dow_names, dom) {
            (None, dom) => (build(dom, "*")?, None),
            (Some(names), "*") => (build("*", names)?, None),
            (Some(names), dom) => (build(dom, "*")?, Some(build("*", names)?)),
        };
        Ok(CronExpr {
            wall_clock: fields[2] != "*",
            source,
            primary,
            by_weekday,
        })
    }
}

fn naive_next(schedule: &cron::Schedule, after: NaiveDateTime) -> Option<NaiveDateTime> {
    schedule
        .after(&Utc.from_utc_datetime(&after))
        .next()
        .map(|t| t.naive_utc())
}

/// True when the zone changes its offset within [FOLD_WINDOW] of `at`.
fn transition_near(tz: Tz, at: DateTime<Utc>) -> bool {
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    offset(at - FOLD_WINDOW) != offset(at + FOLD_WINDOW) || offset(at) != offset(at - FOLD_WINDOW)
}

impl CronExpr {
    /// The expression as given (whitespace normalised).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True for schedules with a restricted hour field (see the module doc).
    pub fn is_wall_clock(&self) -> bool {
        self.wall_clock
    }

    /// The next local wall-clock time strictly after `after` that the fields match.
    fn next_local(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let a = naive_next(&self.primary, after);
        let b = self.by_weekday.as_ref().and_then(|s| naive_next(s, after));
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The instants at which local time `local` fires, by this schedule's kind.
    fn instants(&self, tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
            chrono::LocalResult::Ambiguous(first, second) if self.wall_clock => {
                let _ = second;
                vec![first.with_timezone(&Utc)]
            }
            chrono::LocalResult::Ambiguous(first, second) => {
                vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
            }
            chrono::LocalResult::None if self.wall_clock => {
                // The offset in force before the change: a day earlier is after the previous
                // change and before this one in every real zone.
                let before = tz
                    .offset_from_utc_datetime(&(local - Duration::days(1)))
                    .fix();
                let utc = local - Duration::seconds(i64::from(before.local_minus_utc()));
                vec![Utc.from_utc_datetime(&utc)]
            }
            chrono::LocalResult::None => Vec::new(),
        }
    }

    /// The first firing instant strictly after `after` in time zone `tz`, or `None` if the
    /// expression never matches again.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_after = after.with_timezone(&tz).naive_local();
        // Near a change, local times before `after`'s can still be later instants.
        let mut cursor = if transition_near(tz, after) {
            local_after - FOLD_WINDOW
        } else {
            local_after
        };
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..200_000 {
            let Some(local) = self.next_local(cursor) else {
                break;
            };
            if let Some(b) = best
                && (!transition_near(tz, b)
                    || local > b.with_timezone(&tz).naive_local() + FOLD_WINDOW)
            {
                break;
            }
            for t in self.instants(tz, local) {
                if t > after && best.is_none_or(|b| t < b) {
                    best = Some(t);
                }
            }
            cursor = local;
        }
        best
    }

    /// The next `n` firing instants after `after`.
    pub fn upcoming(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            let Some(t) = self.next_after(tz, at) else {
                break;
            };
            out.push(t);
            at = t;
        }
        out
    }
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
