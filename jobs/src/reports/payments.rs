//! `payments_summary`: payments created in the period, counted and summed per currency and
//! status, with refunds and a per-day series. One SQL statement over the
//! `payments (tenant_id, created_at)` index reduces the period to rows per (15-minute bucket,
//! currency, status); everything else is folded here from those few thousand rows.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::content::{BUCKET_MS, Content, Table, Unit, bucket_day, minor, series};
use super::model::Period;
use crate::db::{Db, DbError};
use crate::ids::TenantId;
use crate::payments::money::Currency;

/// Figures of one currency (and, inside it, of one status).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub count: i64,
    /// Asked for, in minor units.
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    /// Payments with any refund.
    pub refunds: i64,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.count += o.count;
        self.amount += o.amount;
        self.captured += o.captured;
        self.refunded += o.refunded;
        self.refunds += o.refunds;
    }
}

/// One currency's totals and per-status breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CurrencySummary {
    pub currency: String,
    #[serde(flatten)]
    pub totals: Figures,
    pub by_status: BTreeMap<String, Figures>,
}

/// The inline summary of a `payments_summary` report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub payments: i64,
    pub by_currency: Vec<CurrencySummary>,
}

struct BucketRow {
    bucket: i64,
    currency: String,
    status: String,
    f: Figures,
}

async fn rows(db: &Db, tenant: &TenantId, period: &Period) -> Result<Vec<BucketRow>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT created_at / {BUCKET_MS}, currency, status, COUNT(*), CAST(SUM(amount) AS BIGINT), \
         CAST(SUM(captured_amount) AS BIGINT), CAST(SUM(refunded_amount) AS BIGINT), \
         CAST(SUM(CASE WHEN refunded_amount > 0 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM payments WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY created_at / {BUCKET_MS}, currency, status"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(period.from)
        .bind(period.to)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BucketRow {
                bucket: r.try_get(0)?,
                currency: r.try_get(1)?,
                status: r.try_get(2)?,
                f: Figures {
                    count: r.try_get(3)?,
                    amount: r.try_get(4)?,
                    captured: r.try_get(5)?,
                    refunded: r.try_get(6)?,
                    refunds: r.try_get(7)?,
                },
            })
        })
        .collect()
}

fn decimals(code: &str) -> u8 {
    code.parse::<Currency>()
        .map(|c| c.minor_units())
        .unwrap_or(2)
}

/// Folds bucket rows into the summary, tables and series.
pub fn fold(rows_in: &[(i64, String, String, Figures)], period: &Period, tz: Tz) -> Content {
    let mut currencies: BTreeMap<String, CurrencySummary> = BTreeMap::new();
    let mut daily: BTreeMap<(chrono::NaiveDate, String, String), Figures> = BTreeMap::new();
    let mut count_buckets = Vec::new();
    let mut captured_buckets: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (bucket, currency, status, f) in rows_in {
        let c = currencies
            .entry(currency.clone())
            .or_insert_with(|| CurrencySummary {
                currency: currency.clone(),
                ..Default::default()
            });
        c.totals.add(f);
        c.by_status.entry(status.clone()).or_default().add(f);
        daily
            .entry((bucket_day(tz, *bucket), currency.clone(), status.clone()))
            .or_default()
            .add(f);
        count_buckets.push((*bucket, f.count));
        captured_buckets
            .entry(currency.clone())
            .or_default()
            .push((*bucket, f.captured));
    }
    let summary = Summary {
        payments: currencies.values().map(|c| c.totals.count).sum(),
        by_currency: currencies.values().cloned().collect(),
    };
    let money = |code: &str, n: i64| minor(n, decimals(code));
    let mut totals = Table::new(
        "By currency and status",
        &[
            "Currency",
            "Status",
            "Payments#",
            "Amount#",
            "Captured#",
            "Refunded#",
            "Refunds#",
        ],
    );
    for c in currencies.values() {
        for (status, f) in &c.by_status {
            totals.push(vec![
                c.currency.clone(),
                status.clone(),
                f.count.to_string(),
                money(&c.currency, f.amount),
                money(&c.currency, f.captured),
                money(&c.currency, f.refunded),
                f.refunds.to_string(),
            ]);
        }
        let t = &c.totals;
        totals.push(vec![
            c.currency.clone(),
            "all".into(),
            t.count.to_string(),
            money(&c.currency, t.amount),
            money(&c.currency, t.captured),
            money(&c.currency, t.refunded),
            t.refunds.to_string(),
        ]);
    }
    let mut per_day = Table::new(
        "Per day",
        &[
            "Date",
            "Currency",
            "Status",
            "Payments#",
            "Amount#",
            "Captured#",
            "Refunded#",
            "Refunds#",
        ],
    );
    for ((day, currency, status), f) in &daily {
        per_day.push(vec![
            day.to_string(),
            currency.clone(),
            status.clone(),
            f.count.to_string(),
            money(currency, f.amount),
            money(currency, f.captured),
            money(currency, f.refunded),
            f.refunds.to_string(),
        ]);
    }
    let mut charts = vec![series(
        "Payments per day",
        period,
        tz,
        &count_buckets,
        Unit::Count,
    )];
    for (currency, buckets) in captured_buckets.iter().take(3) {
        charts.push(series(
            &format!("Captured per day ({currency})"),
            period,
            tz,
            buckets,
            Unit::Minor(decimals(currency)),
        ));
    }
    Content {
        title: "Payments summary".into(),
        summary: serde_json::to_value(&summary).unwrap_or_default(),
        tables: vec![totals, per_day],
        csv_table: 1,
        series: charts,
    }
}

/// Aggregates the tenant's payments created in `period`.
pub async fn gather(
    db: &Db,
    tenant: &TenantId,
    period: &Period,
    tz: Tz,
) -> Result<Content, DbError> {
    let rows: Vec<_> = rows(db, tenant, period)
        .await?
        .into_iter()
        .map(|r| (r.bucket, r.currency, r.status, r.f))
        .collect();
    Ok(fold(&rows, period, tz))
}
