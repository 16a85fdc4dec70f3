//! Report figures over data seeded straight into a throwaway SQLite database, and the files
//! they produce.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::model::Period;
use super::{csv, email, job_runs, jobs_health, payments, pdf};
use crate::db::Db;
use crate::ids::TenantId;

fn ms(s: &str) -> i64 {
    s.parse::<DateTime<Utc>>().unwrap().timestamp_millis()
}

async fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url).await.unwrap();
    (dir, db)
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn payments_summary_over_seeded_rows() {
    let (_dir, db) = db().await;
    let t = TenantId::new();
    let at = |s: &str| ms(s);
    for (i, (amount, cur, status, captured, refunded, created)) in [
        (
            1000,
            "EUR",
            "succeeded",
            1000,
            0,
            at("2026-03-28T22:30:00Z"),
        ),
        (
            2500,
            "EUR",
            "partially_refunded",
            2500,
            300,
            at("2026-03-29T10:00:00Z"),
        ),
        (500, "JPY", "succeeded", 500, 0, at("2026-03-29T12:00:00Z")),
        (
            9999,
            "EUR",
            "succeeded",
            9999,
            0,
            at("2026-03-30T22:00:00Z"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        exec(&db, &format!(
            "INSERT INTO payments (id, tenant_id, amount, currency, reference, status, captured_amount, refunded_amount, history_len, created_at, updated_at) \
             VALUES ('pay_{i}', '{t}', {amount}, '{cur}', 'r', '{status}', {captured}, {refunded}, 0, {created}, {created})"
        ))
        .await;
    }
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    // Berlin's 29 March (23 hours) and 30 March: the last payment is 31 March local time.
    let period = Period {
        from: at("2026-03-28T23:00:00Z"),
        to: at("2026-03-30T22:00:00Z"),
    };
    let c = payments::gather(&db, &t, &period, tz).await.unwrap();
    assert_eq!(
        c.summary["payments"], 2,
        "22:30 UTC on the 28th is still the 28th in Berlin"
    );
    let eur = &c.summary["by_currency"][0];
    assert_eq!(
        (
            eur["currency"].as_str(),
            eur["count"].as_i64(),
            eur["refunded"].as_i64()
        ),
        (Some("EUR"), Some(1), Some(300))
    );
    assert_eq!(c.summary["by_currency"][1]["amount"], 500);
    let csv = String::from_utf8(csv::write(&c.tables[c.csv_table]).unwrap()).unwrap();
    assert!(
        csv.contains("2026-03-29,JPY,succeeded,1,500,500,0,0\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("2026-03-29,EUR,partially_refunded,1,25.00,25.00,3.00,1\r\n"),
        "{csv}"
    );
    assert_eq!(c.series[0].points.len(), 2);
    assert_eq!(c.series[0].points[0].1, 2);
    let bytes = pdf::render(&c, &["Period: test".into()]).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    if let Ok(out) = std::env::var("LONGSHORE_WRITE_REPORT_PDF") {
        std::fs::write(out, &bytes).unwrap();
    }
}

#[tokio::test]
async fn email_engagement_leaves_machines_out() {
    let (_dir, db) = db().await;
    let t = TenantId::new();
    let base = ms("2026-05-04T09:00:00Z");
    let rows = [
        ("em_1", "sent", None, None, None),
        ("em_2", "sent", None, None, None),
        ("em_3", "bounced", None, None, None),
        ("em_1", "opened", Some("proxy"), Some("fp0"), None),
        ("em_1", "opened", None, Some("fp1"), None),
        ("em_1", "opened", None, Some("fp1"), None),
        ("em_1", "opened", None, Some("fp2"), None),
        ("em_2", "opened", None, Some("fp3"), None),
        (
            "em_1",
            "clicked",
            Some("scanner"),
            Some("fp9"),
            Some("https://a.test/x"),
        ),
        (
            "em_1",
            "clicked",
            None,
            Some("fp1"),
            Some("https://a.test/x"),
        ),
        (
            "em_2",
            "clicked",
            None,
            Some("fp3"),
            Some("https://a.test/x"),
        ),
        (
            "em_2",
            "clicked",
            None,
            Some("fp3"),
            Some("https://a.test/y"),
        ),
    ];
    for (i, (email, kind, machine, fp, link)) in rows.into_iter().enumerate() {
        let q = |v: Option<&str>| v.map(|s| format!("'{s}'")).unwrap_or("NULL".into());
        exec(&db, &format!(
            "INSERT INTO email_events (email_id, tenant_id, kind, at, machine, fingerprint, link) VALUES ('{email}', '{t}', '{kind}', {}, {}, {}, {})",
            base + i as i64 * 1000, q(machine), q(fp), q(link)
        ))
        .await;
    }
    let period = Period {
        from: base,
        to: base + 86_400_000,
    };
    let c = email::gather(&db, &t, &period, Tz::UTC).await.unwrap();
    let s = &c.summary;
    assert_eq!(
        (s["sent"].as_i64(), s["bounced"].as_i64()),
        (Some(2), Some(1)),
        "{s}"
    );
    assert_eq!(
        (s["unique_opens"].as_i64(), s["emails_opened"].as_i64()),
        (Some(3), Some(2)),
        "{s}"
    );
    assert_eq!(
        (s["unique_clicks"].as_i64(), s["emails_clicked"].as_i64()),
        (Some(2), Some(2)),
        "{s}"
    );
    assert_eq!(s["machine_events"], 2);
    assert_eq!(s["top_links"][0]["link"], "https://a.test/x");
    assert_eq!(
        (
            s["top_links"][0]["clicks"].as_i64(),
            s["top_links"][0]["emails"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert!(pdf::render(&c, &[]).unwrap().starts_with(b"%PDF"));
}

#[tokio::test]
async fn jobs_health_from_the_batched_history() {
    let (_dir, db) = db().await;
    let t = TenantId::new();
    let run = |job_type: &str, state: &'static str, latency: i64| job_runs::JobRun {
        job_id: "job_1".into(),
        tenant: t.to_string(),
        job_type: job_type.into(),
        queue: "default".into(),
        state,
        attempts: 1,
        created_at: 1_000_000,
        started_at: Some(1_000_000),
        finished_at: 1_000_000 + latency,
    };
    let mut runs: Vec<_> = (1..=100).map(|i| run("a", "succeeded", i)).collect();
    runs.push(run("a", "retrying", 5));
    runs.push(run("b", "dead", 5));
    job_runs::insert(&db, &runs).await.unwrap();
    let c = jobs_health::gather(
        &db,
        &t,
        &Period {
            from: 0,
            to: 2_000_000,
        },
        Tz::UTC,
    )
    .await
    .unwrap();
    let a = &c.summary["by_type"][0];
    assert_eq!(
        (
            a["succeeded"].as_i64(),
            a["retries"].as_i64(),
            a["latency_p50_ms"].as_i64(),
            a["latency_p99_ms"].as_i64()
        ),
        (Some(100), Some(1), Some(50), Some(99))
    );
    assert_eq!(
        (c.summary["dead"].as_i64(), c.summary["retries"].as_i64()),
        (Some(1), Some(1))
    );
}
