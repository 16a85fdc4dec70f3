//! What a built report contains, independent of format: headline figures (stored inline as
//! JSON), tables (drawn in the PDF; one of them is the CSV), and per-day series (one bar chart
//! each). Each report kind's query module fills one in.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::Period;

/// SQL groups rows by this many milliseconds; every real zone's offset is a multiple of it, so
/// each bucket falls inside one local day.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// A table: header and rows of already formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Which columns hold numbers (right-aligned in the PDF).
    pub numeric: Vec<bool>,
}

impl Table {
    /// An empty table with these columns; names ending in `#` are numeric (the `#` is dropped).
    pub fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.to_owned(),
            columns: columns
                .iter()
                .map(|c| c.trim_end_matches('#').to_owned())
                .collect(),
            numeric: columns.iter().map(|c| c.ends_with('#')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// A value per local day, every day of the period present (zero when nothing happened).
#[derive(Debug, Clone, PartialEq)]
pub struct DaySeries {
    pub title: String,
    pub points: Vec<(NaiveDate, i64)>,
    /// How to print a value.
    pub unit: Unit,
}

/// What a number means, for printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Minor units of a currency with this many decimals.
    Minor(u8),
    Millis,
}

impl Unit {
    /// `n` as text in this unit.
    pub fn format(self, n: i64) -> String {
        match self {
            Unit::Count => n.to_string(),
            Unit::Minor(decimals) => minor(n, decimals),
            Unit::Millis => millis(n),
        }
    }
}

/// A report's content.
#[derive(Debug, Clone)]
pub struct Content {
    pub title: String,
    pub summary: serde_json::Value,
    pub tables: Vec<Table>,
    /// Index into `tables` of the one written as CSV.
    pub csv_table: usize,
    pub series: Vec<DaySeries>,
}

/// Local date of a bucket start.
pub fn bucket_day(tz: Tz, bucket: i64) -> NaiveDate {
    let at = Utc
        .timestamp_millis_opt(bucket * BUCKET_MS)
        .single()
        .unwrap_or_default();
    at.with_timezone(&tz).date_naive()
}

/// Every local date the period touches, in order (at most 400: longer periods are clipped).
pub fn days_of(period: &Period, tz: Tz) -> Vec<NaiveDate> {
    let at = |ms: i64| -> DateTime<Tz> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .unwrap_or_default()
            .with_timezone(&tz)
    };
    let first = at(period.from).date_naive();
    let last = at((period.to - 1).max(period.from)).date_naive();
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .take(400)
        .collect()
}

/// Sums per-bucket values into a full per-day series over the period.
pub fn series(
    title: &str,
    period: &Period,
    tz: Tz,
    buckets: &[(i64, i64)],
    unit: Unit,
) -> DaySeries {
    let mut by_day: BTreeMap<NaiveDate, i64> =
        days_of(period, tz).into_iter().map(|d| (d, 0)).collect();
    for (bucket, value) in buckets {
        if let Some(v) = by_day.get_mut(&bucket_day(tz, *bucket)) {
            *v += value;
        }
    }
    DaySeries {
        title: title.to_owned(),
        points: by_day.into_iter().collect(),
        unit,
    }
}

/// Minor units as a decimal amount (`12345` with 2 decimals → `123.45`).
pub fn minor(n: i64, decimals: u8) -> String {
    if decimals == 0 {
        return n.to_string();
    }
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    let scale = 10u64.pow(u32::from(decimals));
    format!(
        "{sign}{}.{:0width$}",
        n / scale,
        n % scale,
        width = usize::from(decimals)
    )
}

/// Milliseconds as a duration for people (`850 ms`, `2.4 s`).
pub fn millis(n: i64) -> String {
    if n < 1000 {
        format!("{n} ms")
    } else {
        format!("{:.1} s", n as f64 / 1000.0)
    }
}

/// A time as RFC 3339 in the report's zone.
pub fn local_time(tz: Tz, ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz)
        .to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_cover_every_local_day() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let from = "2026-03-28T23:00:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp_millis();
        let to = "2026-03-30T22:00:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp_millis();
        let p = Period { from, to };
        // 23:15 UTC on the 28th is 00:15 on the 29th in Berlin.
        let b = (from + BUCKET_MS) / BUCKET_MS;
        let s = series("x", &p, tz, &[(b, 3), (b + 1, 4)], Unit::Count);
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.points[0], ("2026-03-29".parse().unwrap(), 7));
        assert_eq!(minor(-12345, 2), "-123.45");
        assert_eq!(minor(5, 2), "0.05");
        assert_eq!(minor(500, 0), "500");
        assert_eq!(minor(1500, 3), "1.500");
    }
}
