//! Schedule ticks (two schedulers, report schedules every minute and every 5 seconds): from the
//! schedule's creation to the moment the soak disabled it, every tick is covered by exactly one
//! report (a catch-up report covers several, and must have its `run_once` decision recorded),
//! or by a recorded `skip` decision. A tick covered twice ran twice; a tick covered by nothing
//! was skipped without a recorded reason. Every report must reach `ready` or `failed`.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{Context, Finding, Snapshot, Verdict, time};

/// Ticks this close to the pause may or may not have fired; they are not expected.
const SLACK: Duration = Duration::seconds(3);

pub fn check(snapshot: &Snapshot, ctx: &Context<'_>) -> Verdict {
    let mut v = Verdict::new("schedule ticks");
    for (id, (schedule, reports)) in &snapshot.schedules {
        let Some(every) = step(schedule) else {
            v.notes
                .push(format!("{id}: unknown cron {}", schedule["cron"]));
            continue;
        };
        let Some(created) = time(&schedule["created_at"]) else {
            continue;
        };
        let first = next_tick(created, every);
        let last = ctx.schedules_paused_at - SLACK;
        // Which report (or decision) covers each expected tick.
        let mut expected = Vec::new();
        let mut t = first;
        while t <= last {
            expected.push(t);
            t += every;
        }
        let mut covered: Vec<Vec<String>> = vec![Vec::new(); expected.len()];
        let index = |t: DateTime<Utc>| -> Option<usize> {
            let i = (t - first)
                .num_milliseconds()
                .checked_div(every.num_milliseconds())?;
            usize::try_from(i).ok().filter(|i| *i < expected.len())
        };
        let decisions = schedule["missed_run_decisions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in reports {
            let rid = r["id"].as_str().unwrap_or_default();
            let (Some(from), Some(to)) = (time(&r["ticks"]["first"]), time(&r["ticks"]["last"]))
            else {
                continue;
            };
            let mut t = from;
            while t <= to {
                if let Some(i) = index(t) {
                    covered[i].push(rid.to_owned());
                }
                t += every;
            }
            if r["catch_up"] == true && !decisions.iter().any(|d| d["report_id"] == rid) {
                v.notes.push(format!(
                    "{rid}: a catch-up report whose decision is not in the latest decisions"
                ));
            }
            match r["status"].as_str().unwrap_or_default() {
                "ready" | "failed" => {
                    if r["status"] == "failed" {
                        v.notes
                            .push(format!("{rid} failed: {}", r["failure_reason"]));
                    }
                }
                status => v
                    .pending
                    .push(Finding::new(rid, format!("report {status}"))),
            }
        }
        for d in decisions.iter().filter(|d| d["action"] == "skip") {
            let (Some(from), Some(to)) = (time(&d["first_tick"]), time(&d["last_tick"])) else {
                continue;
            };
            let mut t = from;
            while t <= to {
                if let Some(i) = index(t) {
                    covered[i].push("skip decision".into());
                }
                t += every;
            }
        }
        for (t, by) in expected.iter().zip(&covered) {
            let tick = format!("{id}@{}", t.format("%H:%M:%S"));
            v.accepted += 1;
            match by.len() {
                0 => v
                    .lost
                    .push(Finding::new(tick, "no report and no recorded skip")),
                1 => {
                    let done = reports
                        .iter()
                        .find(|r| r["id"] == by[0].as_str())
                        .and_then(|r| time(&r["finished_at"]));
                    v.complete(done.or(Some(*t)));
                }
                _ => v
                    .duplicated
                    .push(Finding::new(tick, format!("covered by {}", by.join(", ")))),
            }
        }
        let catch_ups = reports.iter().filter(|r| r["catch_up"] == true).count();
        v.notes.push(format!(
            "{} ({}): {} ticks, {} reports, {catch_ups} catch-up runs, counters {}",
            id,
            schedule["cron"].as_str().unwrap_or_default(),
            expected.len(),
            reports.len(),
            schedule["counters"]
        ));
    }
    v
}

/// The cron's step: the soak's schedules tick every minute or every few seconds.
fn step(schedule: &Value) -> Option<Duration> {
    match schedule["cron"].as_str()? {
        "* * * * *" => Some(Duration::minutes(1)),
        cron => {
            let secs = cron.strip_prefix("*/")?.split(' ').next()?.parse().ok()?;
            Some(Duration::seconds(secs))
        }
    }
}

/// The first tick strictly after `t` (ticks are multiples of `every` since the epoch).
fn next_tick(t: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let step = every.num_milliseconds();
    let ms = t.timestamp_millis();
    let next = (ms / step + 1) * step;
    DateTime::from_timestamp_millis(next).unwrap_or(t)
}
