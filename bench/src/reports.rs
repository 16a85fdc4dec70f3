//! Issue 6's figures: `payments_summary` over a month of seeded payments on PostgreSQL, end to
//! end from the enqueue (`POST /v1/reports`) to the stored PDF (`status: ready`); and the
//! scheduler's idle memory and CPU with 1,000 active schedules (utime + stime from
//! /proc/<pid>/stat over a quiet window). Release binaries, PostgreSQL + Redis on loopback.

use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use longshore_testkit::TestPostgres;
use longshore_tests::{Client, Mode};
use serde_json::json;

use crate::measure::{peak_rss_kib, rss_kib};

/// Options of the reports scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Payments seeded over one month.
    #[arg(long, default_value_t = 1_000_000)]
    payments: u64,
    /// Reports built one after the other (the first meets a cold cache).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Active schedules during the idle measurement.
    #[arg(long, default_value_t = 1000)]
    schedules: usize,
    /// Seconds of the idle CPU window.
    #[arg(long, default_value_t = 30)]
    idle_secs: u64,
}

const MONTH_FROM: &str = "2026-03-01T00:00:00+01:00";
const MONTH_TO: &str = "2026-04-01T00:00:00+02:00";

/// Seeds `n` payments of tenant `tenant` spread over the month with one INSERT … SELECT.
async fn seed(url: &str, tenant: &str, n: u64) -> anyhow::Result<f64> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let from = DateTime::parse_from_rfc3339(MONTH_FROM)?.timestamp_millis();
    let to = DateTime::parse_from_rfc3339(MONTH_TO)?.timestamp_millis();
    let step = (to - from) / n as i64;
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, amount, currency, reference, status, captured_amount, refunded_amount, history_len, created_at, updated_at) \
         SELECT 'pay_bench' || g, $1, 100 + g % 9900, (ARRAY['EUR','USD','GBP'])[1 + g % 3], 'ref-' || g, \
           (ARRAY['succeeded','succeeded','succeeded','failed','pending','refunded','partially_refunded'])[1 + g % 7], \
           CASE WHEN g % 7 IN (0, 1, 2, 5, 6) THEN 100 + g % 9900 ELSE 0 END, \
           CASE WHEN g % 7 = 5 THEN 100 + g % 9900 WHEN g % 7 = 6 THEN 50 ELSE 0 END, \
           0, $2 + (g - 1) * $3, $2 + (g - 1) * $3 \
         FROM generate_series(1::bigint, $4::bigint) AS g",
    )
    .bind(tenant)
    .bind(from)
    .bind(step)
    .bind(n as i64)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE payments").execute(&pool).await?;
    pool.close().await;
    Ok(started.elapsed().as_secs_f64())
}

/// One report, enqueue to ready; returns (seconds, report).
async fn one_report(client: &Client) -> anyhow::Result<(f64, serde_json::Value)> {
    let started = Instant::now();
    let r = client
        .post("/v1/reports", &json!({"kind": "payments_summary", "from": MONTH_FROM, "to": MONTH_TO, "timezone": "Europe/Berlin"}))
        .await;
    anyhow::ensure!(r.status == 202, "POST /v1/reports: {}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    loop {
        let r = client.get(&format!("/v1/reports/{id}")).await;
        match r.body["status"].as_str() {
            Some("ready") => return Ok((started.elapsed().as_secs_f64(), r.body)),
            Some("failed") => anyhow::bail!("report failed: {}", r.text),
            _ if started.elapsed() > Duration::from_secs(300) => {
                anyhow::bail!("report not ready after 300 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let db_url = TestPostgres::shared().fresh_database();
    let mut stack = crate::bench_stack(Mode::Production)
        .env("DATABASE_URL", &db_url)
        .env("RUST_LOG", "warn")
        .start()
        .await;
    let tenant = stack
        .admin(&["tenants", "create", "bench"])
        .trim()
        .to_owned();
    let key = stack
        .admin(&["keys", "create", "--tenant", &tenant])
        .trim()
        .to_owned();
    let client = Client::new(&stack.base_url(), Some(key));

    let seed_secs = seed(&db_url, &tenant, args.payments).await?;
    let mut runs = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..args.runs {
        let (secs, report) = one_report(&client).await?;
        runs.push(secs);
        last = report;
    }

    // 1,000 daily schedules, none due in the next hour, then a quiet scheduler.
    let hour = Utc::now().hour() as usize;
    for i in 0..args.schedules {
        let cron = format!("{} {} * * *", i % 60, (hour + 2 + i % 20) % 24);
        let r = client
            .post("/v1/schedules", &json!({"name": format!("s{i}"), "cron": cron,
                "report": {"kind": "payments_summary", "period": "previous_day"}, "recipients": ["ops@example.com"]}))
            .await;
        anyhow::ensure!(r.status == 201, "create schedule: {}", r.text);
    }
    let mut scheduler = stack.spawn_scheduler();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = scheduler.pid();
    let (cpu0, t0) = (cpu_ticks(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let (cpu1, window) = (cpu_ticks(pid), t0.elapsed().as_secs_f64());
    let rss = rss_kib(pid).map(|k| k as f64 / 1024.0);
    let peak = peak_rss_kib(pid).map(|k| k as f64 / 1024.0);
    scheduler.kill();
    let cpu_secs = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some((b - a) as f64 / 100.0),
        _ => None,
    };

    let report = json!({
        "scenario": "reports",
        "deployment": "postgres + redis on loopback",
        "build_profile": crate::measure::build_profile(),
        "payments_summary": {
            "payments": args.payments,
            "period": [MONTH_FROM, MONTH_TO],
            "seed_seconds": seed_secs,
            "enqueue_to_stored_pdf_seconds": runs,
            "summary_payments": last["summary"]["payments"],
        },
        "scheduler_idle": {
            "active_schedules": args.schedules,
            "window_seconds": window,
            "cpu_seconds": cpu_secs,
            "cpu_percent": cpu_secs.map(|c| c / window * 100.0),
            "rss_mib": rss,
            "peak_rss_mib": peak,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
