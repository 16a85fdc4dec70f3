//! `jobs_health`: the tenant's job outcomes in the period, from the `job_runs` history the
//! workers record (see [`super::job_runs`]): outcomes per type and state, retries, dead jobs,
//! and latency percentiles (enqueue to finish of succeeded jobs). SQL groups by (type, state)
//! and by (type, latency in ms); percentiles are read off that exact histogram.

use std::collections::{BTreeMap, HashMap};

use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::content::{BUCKET_MS, Content, Table, Unit, millis, series};
use super::model::Period;
use crate::db::{Db, DbError};
use crate::ids::TenantId;
use crate::queue::JobState;

/// One job type's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeHealth {
    pub job_type: String,
    pub succeeded: i64,
    pub dead: i64,
    /// Failed attempts that were scheduled to run again.
    pub retries: i64,
    pub latency_p50_ms: Option<i64>,
    pub latency_p95_ms: Option<i64>,
    pub latency_p99_ms: Option<i64>,
}

/// The inline summary of a `jobs_health` report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub succeeded: i64,
    pub dead: i64,
    pub retries: i64,
    pub by_type: Vec<TypeHealth>,
}

const WHERE: &str = "tenant_id = $1 AND finished_at >= $2 AND finished_at < $3";

/// The `p`th percentile (nearest rank) of a histogram sorted by value.
pub fn percentile(histogram: &[(i64, i64)], p: f64) -> Option<i64> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (value, n) in histogram {
        seen += n;
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.last().map(|(v, _)| *v)
}

/// Aggregates the tenant's job outcomes in `period`.
pub async fn gather(
    db: &Db,
    tenant: &TenantId,
    period: &Period,
    tz: Tz,
) -> Result<Content, DbError> {
    let bind = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(period.from)
            .bind(period.to)
    };
    let mut types: BTreeMap<String, TypeHealth> = BTreeMap::new();
    let rows = bind(format!(
        "SELECT job_type, state, COUNT(*) FROM job_runs WHERE {WHERE} GROUP BY job_type, state"
    ))
    .fetch_all(db.pool())
    .await?;
    for r in &rows {
        let (job_type, state, n): (String, String, i64) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let t = types.entry(job_type.clone()).or_insert_with(|| TypeHealth {
            job_type,
            ..Default::default()
        });
        match state.parse() {
            Ok(JobState::Succeeded) => t.succeeded += n,
            Ok(JobState::Dead) => t.dead += n,
            Ok(JobState::Retrying) => t.retries += n,
            _ => {}
        }
    }
    let rows = bind(format!(
        "SELECT job_type, finished_at - created_at, COUNT(*) FROM job_runs WHERE {WHERE} AND state = 'succeeded' \
         GROUP BY job_type, finished_at - created_at ORDER BY job_type, finished_at - created_at"
    ))
    .fetch_all(db.pool())
    .await?;
    let mut histograms: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for r in &rows {
        histograms
            .entry(r.try_get(0)?)
            .or_default()
            .push((r.try_get(1)?, r.try_get(2)?));
    }
    for (job_type, h) in &histograms {
        if let Some(t) = types.get_mut(job_type) {
            t.latency_p50_ms = percentile(h, 50.0);
            t.latency_p95_ms = percentile(h, 95.0);
            t.latency_p99_ms = percentile(h, 99.0);
        }
    }
    let rows = bind(format!(
        "SELECT finished_at / {BUCKET_MS}, state, COUNT(*) FROM job_runs WHERE {WHERE} GROUP BY finished_at / {BUCKET_MS}, state"
    ))
    .fetch_all(db.pool())
    .await?;
    let mut by_state: HashMap<JobState, Vec<(i64, i64)>> = HashMap::new();
    for r in &rows {
        let Ok(state) = r.try_get::<String, _>(1)?.parse() else {
            continue;
        };
        by_state
            .entry(state)
            .or_default()
            .push((r.try_get(0)?, r.try_get(2)?));
    }
    let summary = Summary {
        succeeded: types.values().map(|t| t.succeeded).sum(),
        dead: types.values().map(|t| t.dead).sum(),
        retries: types.values().map(|t| t.retries).sum(),
        by_type: types.values().cloned().collect(),
    };
    let mut table = Table::new(
        "Per job type",
        &[
            "Job type",
            "Succeeded#",
            "Dead#",
            "Retries#",
            "Latency p50#",
            "Latency p95#",
            "Latency p99#",
        ],
    );
    let ms = |v: Option<i64>| v.map(millis).unwrap_or_default();
    for t in &summary.by_type {
        table.push(vec![
            t.job_type.clone(),
            t.succeeded.to_string(),
            t.dead.to_string(),
            t.retries.to_string(),
            ms(t.latency_p50_ms),
            ms(t.latency_p95_ms),
            ms(t.latency_p99_ms),
        ]);
    }
    let empty = Vec::new();
    let charts = vec![
        series(
            "Succeeded jobs per day",
            period,
            tz,
            by_state.get(&JobState::Succeeded).unwrap_or(&empty),
            Unit::Count,
        ),
        series(
            "Retries per day",
            period,
            tz,
            by_state.get(&JobState::Retrying).unwrap_or(&empty),
            Unit::Count,
        ),
        series(
            "Dead jobs per day",
            period,
            tz,
            by_state.get(&JobState::Dead).unwrap_or(&empty),
            Unit::Count,
        ),
    ];
    Ok(Content {
        title: "Jobs health".into(),
        summary: serde_json::to_value(&summary).unwrap_or_default(),
        tables: vec![table],
        csv_table: 0,
        series: charts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let h = [(10, 50), (20, 45), (900, 5)];
        assert_eq!(percentile(&h, 50.0), Some(10));
        assert_eq!(percentile(&h, 95.0), Some(20));
        assert_eq!(percentile(&h, 99.0), Some(900));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
