//! The soak's report: the ledger table per kind, each fault with how long each kind took to
//! recover from it, and every finding by id.
//!
//! *Recovery* of a kind after a fault: the time from the fault's start to the first completion
//! from which the kind completes work at half its offered rate or more (over a window of 5 s,
//! or of four items' worth when the kind is slower); about zero when the fault did not slow it;
//! not computed for a kind with too few items to have a rate (a few batches a run). *Throughput during faults*:
//! completions per second while any fault was in progress, beside the rate outside them.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::checks::{Finding, Verdict};
use crate::faults::Window;

/// When the load ran.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    fn secs(&self) -> f64 {
        (self.end - self.start).as_seconds_f64().max(1e-3)
    }
}

/// Fewer items than this in a run (a few certificate batches) say nothing about a rate, so no
/// recovery is computed for the kind.
const MEASURABLE: usize = 10;

/// How fast one kind recovered from one fault (`None`: it had not by the end).
fn recovery(v: &Verdict, load: Span, w: &Window, horizon: DateTime<Utc>) -> Option<Duration> {
    let rate = v.accepted as f64 / load.secs();
    if rate <= 0.0 {
        return Some(Duration::ZERO);
    }
    let window = chrono::Duration::milliseconds((1000.0 * (4.0 / rate).max(5.0)) as i64);
    let need = (0.5 * rate * window.as_seconds_f64()).max(1.0);
    let mut times = v.completions.clone();
    times.sort();
    let first = times.partition_point(|c| *c < w.started);
    for (i, t) in times.iter().enumerate().skip(first) {
        if *t > horizon {
            break;
        }
        let to = times.partition_point(|c| *c < *t + window);
        if (to - i) as f64 >= need {
            return Some((*t - w.started).to_std().unwrap_or_default());
        }
    }
    None
}

/// Completions per second inside and outside the fault windows, during the load.
fn throughput(v: &Verdict, load: Span, windows: &[Window]) -> (f64, f64) {
    let in_fault = |t: &DateTime<Utc>| windows.iter().any(|w| *t >= w.started && *t <= w.ended);
    let mut faulted = 0.0;
    let mut covered: Vec<(DateTime<Utc>, DateTime<Utc>)> = windows
        .iter()
        .map(|w| (w.started.max(load.start), w.ended.min(load.end)))
        .collect();
    covered.sort();
    let mut until = load.start;
    for (a, b) in covered {
        let a = a.max(until);
        if b > a {
            faulted += (b - a).as_seconds_f64();
            until = b;
        }
    }
    let during: Vec<_> = v
        .completions
        .iter()
        .filter(|t| **t >= load.start && **t <= load.end)
        .collect();
    let inside = during.iter().filter(|t| in_fault(t)).count() as f64;
    let outside = during.len() as f64 - inside;
    let clear = (load.secs() - faulted).max(1e-3);
    (inside / faulted.max(1e-3), outside / clear)
}

fn secs(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.1}s", d.as_secs_f64()),
        None => "not resumed".into(),
    }
}

/// The whole report as text.
pub fn render(
    verdicts: &[Verdict],
    windows: &[Window],
    load: Span,
    horizon: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nLedger");
    let header = [
        "kind",
        "accepted",
        "completed",
        "lost",
        "duplicated",
        "longest recovery",
        "throughput during faults",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for v in verdicts {
        let longest = windows
            .iter()
            .map(|w| (recovery(v, load, w, horizon), w))
            .max_by_key(|(r, _)| r.unwrap_or(Duration::MAX));
        let longest = match longest {
            _ if v.accepted < MEASURABLE => "- (too few)".into(),
            Some((Some(r), _)) if r < Duration::from_millis(500) => secs(Some(r)),
            Some((r, w)) => format!("{} ({})", secs(r), w.planned.fault.short()),
            None => "-".into(),
        };
        let (inside, outside) = throughput(v, load, windows);
        rows.push(vec![
            v.kind.to_owned(),
            v.accepted.to_string(),
            v.completed.to_string(),
            with_allowed(v.lost.len() + v.pending.len(), v.allowed_lost.len()),
            with_allowed(v.duplicated.len(), v.allowed_duplicates.len()),
            longest,
            format!("{inside:.2}/s (else {outside:.2}/s)"),
        ]);
    }
    table(&mut out, &rows);
    let _ = writeln!(
        out,
        "  (n+m: n forbidden, m allowed by the documented guarantees)"
    );

    let _ = writeln!(out, "\nFaults, and each kind's recovery from its start");
    let mut rows = vec![
        ["at", "fault", "lasted"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(verdicts.iter().map(|v| v.kind.to_owned()))
            .collect::<Vec<_>>(),
    ];
    for w in windows {
        let mut row = vec![
            w.started.format("%H:%M:%S").to_string(),
            w.planned.fault.short(),
            format!("{:.1}s", (w.ended - w.started).as_seconds_f64()),
        ];
        row.extend(verdicts.iter().map(|v| {
            if v.accepted < MEASURABLE {
                "-".into()
            } else {
                secs(recovery(v, load, w, horizon))
            }
        }));
        rows.push(row);
    }
    table(&mut out, &rows);
    for w in windows.iter().filter(|w| !w.note.is_empty()) {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            w.started.format("%H:%M:%S"),
            w.planned.fault.short(),
            w.note
        );
    }

    let _ = writeln!(out, "\nFindings");
    for v in verdicts {
        list(&mut out, v.kind, "LOST", &v.lost, usize::MAX);
        list(&mut out, v.kind, "NOT FINAL", &v.pending, usize::MAX);
        list(&mut out, v.kind, "DUPLICATED", &v.duplicated, usize::MAX);
        list(&mut out, v.kind, "VIOLATION", &v.violations, usize::MAX);
        list(&mut out, v.kind, "lost (allowed)", &v.allowed_lost, 10);
        list(
            &mut out,
            v.kind,
            "duplicated (allowed)",
            &v.allowed_duplicates,
            10,
        );
        for note in &v.notes {
            let _ = writeln!(out, "  {}: {note}", v.kind);
        }
    }
    out
}

fn with_allowed(forbidden: usize, allowed: usize) -> String {
    if allowed == 0 {
        forbidden.to_string()
    } else {
        format!("{forbidden}+{allowed}")
    }
}

fn list(out: &mut String, kind: &str, label: &str, findings: &[Finding], at_most: usize) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {kind}: {label} ({})", findings.len());
    for f in findings.iter().take(at_most) {
        let _ = writeln!(out, "    {}  {}", f.id, f.what);
    }
    if findings.len() > at_most {
        let _ = writeln!(out, "    … and {} more", findings.len() - at_most);
    }
}

/// Writes `rows` as a Markdown table with aligned columns.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
    }
}
