//! Property tests (proptest) for [`super::cron::CronExpr::next_after`] across daylight-saving
//! changes. Expressions come from a small grammar of valid ones, built together with the sets
//! of values they mean, so matching here is an independent reading of the fields. Instants are
//! drawn around real transitions (Europe/Berlin, America/New_York, Australia/Lord_Howe's
//! 30-minute shift) and elsewhere, and the firing instants are found by scanning minute by minute
//! with the module's documented rules:
//! - interval schedules (hour `*`) fire at every instant whose local time matches;
//! - wall-clock schedules (hour restricted) fire at the first occurrence of a matching local time,
//!   and a matching local time skipped by a spring-forward change fires at the instant that local
//!   time would have had under the offset before the change.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::cron::CronExpr;

/// One cron field: its text and the values it means.
#[derive(Debug, Clone)]
struct Field {
    text: String,
    values: Vec<u32>,
}

impl Field {
    fn any(&self) -> bool {
        self.text == "*"
    }
    fn has(&self, v: u32) -> bool {
        self.values.contains(&v)
    }
}

/// A field over `lo..=hi`: `*`, `*/k`, a value, a list of values, or a range.
fn field(lo: u32, hi: u32, steps: &'static [u32]) -> impl Strategy<Value = Field> {
    let all = move || (lo..=hi).collect::<Vec<_>>();
    prop_oneof![
        3 => Just(Field { text: "*".into(), values: all() }),
        2 => prop::sample::select(steps).prop_map(move |k| Field {
            text: format!("*/{k}"),
            values: (lo..=hi).filter(|v| (v - lo).is_multiple_of(k)).collect(),
        }),
        2 => (lo..=hi).prop_map(|v| Field { text: v.to_string(), values: vec![v] }),
        1 => prop::collection::btree_set(lo..=hi, 2..4).prop_map(|s| Field {
            text: s.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
            values: s.into_iter().collect(),
        }),
        1 => (lo..=hi, lo..=hi).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            Field { text: format!("{a}-{b}"), values: (a..=b).collect() }
        }),
    ]
}

/// Day-of-week: `*`, one day (0-7, 7 = Sunday), a weekday range, or a list.
fn weekday_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        4 => Just(Field { text: "*".into(), values: (0..7).collect() }),
        1 => (0u32..=7).prop_map(|v| Field { text: v.to_string(), values: vec![v % 7] }),
        1 => Just(Field { text: "1-5".into(), values: (1..=5).collect() }),
        1 => prop::collection::btree_set(0u32..7, 2..4).prop_map(|s| Field {
            text: s.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
            values: s.into_iter().collect(),
        }),
    ]
}

#[derive(Debug, Clone)]
struct Expr {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

impl Expr {
    fn text(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.minute.text, self.hour.text, self.dom.text, self.month.text, self.dow.text
        )
    }

    fn wall_clock(&self) -> bool {
        !self.hour.any()
    }

    /// Whether local time `l` matches the fields (Vixie cron's OR when both day fields are
    /// restricted).
    fn matches(&self, l: NaiveDateTime) -> bool {
        let day = match (self.dom.any(), self.dow.any()) {
            (true, true) => true,
            (false, true) => self.dom.has(l.day()),
            (true, false) => self.dow.has(l.weekday().num_days_from_sunday()),
            (false, false) => {
                self.dom.has(l.day()) || self.dow.has(l.weekday().num_days_from_sunday())
            }
        };
        l.second() == 0
            && self.minute.has(l.minute())
            && self.hour.has(l.hour())
            && self.month.has(l.month())
            && day
    }

    /// Whether the schedule fires at instant `t` (whole minutes) in `tz`, by the documented rules.
    fn fires_at(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&tz).naive_local();
        if !self.wall_clock() {
            return self.matches(local);
        }
        // The first occurrence of a matching local time.
        if self.matches(local) {
            let first = match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(a, b) => {
                    a.with_timezone(&Utc).min(b.with_timezone(&Utc))
                }
                chrono::LocalResult::None => unreachable!("a real instant's local time exists"),
            };
            if first == t {
                return true;
            }
        }
        // A skipped local time, placed with the offset in force before the change.
        let before = tz
            .offset_from_utc_datetime(&(t - Duration::hours(4)).naive_utc())
            .fix();
        let shifted = t.naive_utc() + Duration::seconds(i64::from(before.local_minus_utc()));
        matches!(tz.from_local_datetime(&shifted), chrono::LocalResult::None)
            && self.matches(shifted)
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    (
        field(0, 59, &[5, 10, 15, 20, 30]),
        field(0, 23, &[2, 3, 6]),
        prop_oneof![
            6 => Just(Field { text: "*".into(), values: (1..=31).collect() }),
            1 => (1u32..=28).prop_map(|v| Field { text: v.to_string(), values: vec![v] }),
        ],
        prop_oneof![
            6 => Just(Field { text: "*".into(), values: (1..=12).collect() }),
            1 => prop::collection::btree_set(1u32..=12, 1..4).prop_map(|s| Field {
                text: s.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                values: s.into_iter().collect(),
            }),
        ],
        weekday_field(),
    )
        .prop_map(|(minute, hour, dom, month, dow)| Expr {
            minute,
            hour,
            dom,
            month,
            dow,
        })
}

const ZONES: [Tz; 5] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kolkata,
    chrono_tz::UTC,
];

/// The zone's offset changes in `year` (found by scanning in 30-minute steps).
fn transitions(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    let mut t = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0).unwrap();
    let mut out = Vec::new();
    while t < end {
        let next = t + Duration::minutes(30);
        if offset(t) != offset(next) {
            out.push(next);
        }
        t = next;
    }
    out
}

/// An instant: near one of the zone's changes in 2024-2030 (when it has any), or anywhere in
/// those years; whole minutes, or with seconds.
fn instant(tz: Tz, year: i32, pick: usize, minutes: i64, seconds: i64) -> DateTime<Utc> {
    let changes = transitions(tz, year);
    let base = if changes.is_empty() || pick % 4 == 3 {
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes.abs() * 97)
    } else {
        changes[pick % changes.len()] + Duration::minutes(minutes)
    };
    base + Duration::seconds(seconds)
}

/// How far the scan looks (minutes).
const WINDOW: i64 = 3 * 24 * 60;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// next > now, next fires, nothing fires between now and next (minute scan over a bounded
    /// window), and repeated application is strictly increasing with nothing skipped.
    #[test]
    fn next_after_is_the_first_firing_instant(
        e in expr(),
        zone in 0usize..ZONES.len(),
        year in 2024i32..=2030,
        pick in any::<usize>(),
        minutes in -300i64..300,
        seconds in prop_oneof![Just(0i64), 0i64..60],
    ) {
        let tz = ZONES[zone];
        let c: CronExpr = e.text().parse().map_err(|why| TestCaseError::fail(format!("{}: {why}", e.text())))?;
        let start = instant(tz, year, pick, minutes, seconds);
        let scan_end = start + Duration::minutes(WINDOW);
        let mut now = start;
        for step in 0..4 {
            let Some(next) = c.next_after(tz, now) else {
                // Only an expression that never matches may say so (none in this grammar
                // within a window: check the window is indeed empty).
                let mut m = now.with_second(0).unwrap() + Duration::minutes(1);
                while m <= scan_end {
                    prop_assert!(!e.fires_at(tz, m), "{}: None after {now}, but fires at {m}", e.text());
                    m += Duration::minutes(1);
                }
                break;
            };
            prop_assert!(next > now, "{}: step {step}: {next} not after {now}", e.text());
            prop_assert_eq!(next.second(), 0);
            prop_assert!(
                e.fires_at(tz, next),
                "{} in {tz}: {next} ({}) is not a firing instant",
                e.text(),
                next.with_timezone(&tz)
            );
            // Every whole minute strictly between now and next (within the window) must not fire.
            let mut m = now.with_second(0).unwrap() + Duration::minutes(1);
            while m < next && m <= scan_end {
                prop_assert!(
                    !e.fires_at(tz, m),
                    "{} in {tz}: after {now}, {m} ({}) fires but next_after said {next} ({})",
                    e.text(),
                    m.with_timezone(&tz),
                    next.with_timezone(&tz)
                );
                m += Duration::minutes(1);
            }
            if next > scan_end {
                break;
            }
            now = next;
        }
    }
}
