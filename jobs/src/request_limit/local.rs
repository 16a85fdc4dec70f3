//! [`LocalRequestLimits`]: each key's bucket in this process (the embedded default, one API).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::sync::Cache;

use super::{LimitsUnavailable, RequestLimits, Verdict, decide};
use crate::db::tenants::RateLimit;

/// Most keys kept; the least recently used go first (a forgotten bucket is a full one).
const MAX_KEYS: u64 = 100_000;

/// Buckets in memory, on this process's monotonic clock.
pub struct LocalRequestLimits {
    started: Instant,
    tats: Cache<String, Arc<Mutex<Option<f64>>>>,
}

impl Default for LocalRequestLimits {
    fn default() -> Self {
        LocalRequestLimits {
            started: Instant::now(),
            // A bucket idle for ten minutes is full again for any burst up to 600 × rate.
            tats: Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }
}

#[async_trait]
impl RequestLimits for LocalRequestLimits {
    async fn take(&self, key: &str, limit: RateLimit) -> Result<Verdict, LimitsUnavailable> {
        let now = self.started.elapsed().as_secs_f64() * 1000.0;
        let cell = self
            .tats
            .get_with_by_ref(key, || Arc::new(Mutex::new(None)));
        let mut tat = cell.lock().unwrap_or_else(|p| p.into_inner());
        let (verdict, next) = decide(*tat, now, limit);
        *tat = Some(next);
        Ok(verdict)
    }
}
