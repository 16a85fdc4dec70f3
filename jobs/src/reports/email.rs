//! `email_engagement`: what happened to the tenant's email in the period, from the
//! `email_events (tenant_id, at)` index: sent and bounced, unique human opens and clicks (events
//! the tracker marked as machine — privacy-proxy prefetches, link scanners — are left out), the
//! most followed links, and per-day series.

use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::content::{BUCKET_MS, Content, Table, Unit, series};
use super::model::Period;
use crate::db::{Db, DbError};
use crate::email::model::EventKind;
use crate::ids::TenantId;

/// A followed link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub link: String,
    pub clicks: i64,
    /// Distinct emails whose reader followed it.
    pub emails: i64,
}

/// The inline summary of an `email_engagement` report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub sent: i64,
    pub bounced: i64,
    /// Distinct (email, reader) pairs among human opens.
    pub unique_opens: i64,
    /// Distinct emails opened by a person.
    pub emails_opened: i64,
    pub unique_clicks: i64,
    pub emails_clicked: i64,
    /// Opens and clicks left out as automated.
    pub machine_events: i64,
    pub top_links: Vec<Link>,
}

const WHERE: &str = "tenant_id = $1 AND at >= $2 AND at < $3";

async fn scalar(
    db: &Db,
    tenant: &TenantId,
    period: &Period,
    select: &str,
    and: &str,
) -> Result<i64, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {select} FROM email_events WHERE {WHERE} AND {and}"
    ));
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(period.from)
        .bind(period.to)
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

/// Aggregates the tenant's email events in `period`.
pub async fn gather(
    db: &Db,
    tenant: &TenantId,
    period: &Period,
    tz: Tz,
) -> Result<Content, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT at / {BUCKET_MS}, kind, COUNT(*) FROM email_events WHERE {WHERE} \
         AND kind IN ('sent', 'bounced', 'opened', 'clicked') AND machine IS NULL GROUP BY at / {BUCKET_MS}, kind"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(period.from)
        .bind(period.to)
        .fetch_all(db.pool())
        .await?;
    let mut buckets: [Vec<(i64, i64)>; 4] = Default::default();
    let mut summary = Summary::default();
    for r in &rows {
        let (bucket, kind, n): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let i = match kind.parse() {
            Ok(EventKind::Sent) => {
                summary.sent += n;
                0
            }
            Ok(EventKind::Bounced) => {
                summary.bounced += n;
                1
            }
            Ok(EventKind::Opened) => 2,
            _ => 3,
        };
        buckets[i].push((bucket, n));
    }
    let human = "machine IS NULL AND kind =";
    let pair = "COUNT(DISTINCT email_id || ':' || COALESCE(fingerprint, ''))";
    summary.unique_opens = scalar(db, tenant, period, pair, &format!("{human} 'opened'")).await?;
    summary.emails_opened = scalar(
        db,
        tenant,
        period,
        "COUNT(DISTINCT email_id)",
        &format!("{human} 'opened'"),
    )
    .await?;
    summary.unique_clicks = scalar(db, tenant, period, pair, &format!("{human} 'clicked'")).await?;
    summary.emails_clicked = scalar(
        db,
        tenant,
        period,
        "COUNT(DISTINCT email_id)",
        &format!("{human} 'clicked'"),
    )
    .await?;
    summary.machine_events = scalar(
        db,
        tenant,
        period,
        "COUNT(*)",
        "machine IS NOT NULL AND kind IN ('opened', 'clicked')",
    )
    .await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT link, COUNT(*), COUNT(DISTINCT email_id) FROM email_events WHERE {WHERE} \
         AND kind = 'clicked' AND machine IS NULL AND link IS NOT NULL GROUP BY link ORDER BY COUNT(*) DESC, link LIMIT 10"
    ));
    for r in sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(period.from)
        .bind(period.to)
        .fetch_all(db.pool())
        .await?
    {
        summary.top_links.push(Link {
            link: r.try_get(0)?,
            clicks: r.try_get(1)?,
            emails: r.try_get(2)?,
        });
    }
    let charts = vec![
        series("Emails sent per day", period, tz, &buckets[0], Unit::Count),
        series("Human opens per day", period, tz, &buckets[2], Unit::Count),
        series("Human clicks per day", period, tz, &buckets[3], Unit::Count),
    ];
    let mut figures = Table::new("Engagement", &["Measure", "Value#"]);
    for (name, v) in [
        ("Sent", summary.sent),
        ("Bounced", summary.bounced),
        ("Unique opens (people)", summary.unique_opens),
        ("Emails opened", summary.emails_opened),
        ("Unique clicks (people)", summary.unique_clicks),
        ("Emails clicked", summary.emails_clicked),
        (
            "Machine opens and clicks (left out)",
            summary.machine_events,
        ),
    ] {
        figures.push(vec![name.into(), v.to_string()]);
    }
    let mut links = Table::new("Top links", &["Link", "Clicks#", "Emails#"]);
    for l in &summary.top_links {
        links.push(vec![
            l.link.clone(),
            l.clicks.to_string(),
            l.emails.to_string(),
        ]);
    }
    let mut per_day = Table::new(
        "Per day",
        &["Date", "Sent#", "Bounced#", "Human opens#", "Human clicks#"],
    );
    let sent = series("", period, tz, &buckets[0], Unit::Count);
    let bounced = series("", period, tz, &buckets[1], Unit::Count);
    for (i, (day, s)) in sent.points.iter().enumerate() {
        let at = |c: &super::content::DaySeries| c.points.get(i).map(|p| p.1).unwrap_or(0);
        per_day.push(vec![
            day.to_string(),
            s.to_string(),
            at(&bounced).to_string(),
            at(&charts[1]).to_string(),
            at(&charts[2]).to_string(),
        ]);
    }
    Ok(Content {
        title: "Email engagement".into(),
        summary: serde_json::to_value(&summary).unwrap_or_default(),
        tables: vec![figures, links, per_day],
        csv_table: 2,
        series: charts,
    })
}
