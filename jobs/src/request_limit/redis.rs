//! [`RedisRequestLimits`]: each key's bucket in Redis, shared by every API process; one
//! script call per request, on the server's clock (API hosts' clocks never matter).
//! Keys: `{ls-limit:<key>}` (or `{<ns>:ls-limit:<key>}`), each expiring once its bucket is
//! full again, so idle keys leave nothing behind.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::{LimitsUnavailable, RequestLimits, Verdict, interval_ms};
use crate::db::tenants::RateLimit;
use crate::queue::redis::{escape, on_server_clock};

/// [`super::decide`] in Lua. KEYS: the bucket. ARGV: interval (ms, fractional), burst.
/// Returns {allowed, remaining, reset ms, retry-after ms}.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(on_server_clock!(
        r#"
local t, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local room = (burst - 1) * t
local backlog = 0
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat and tat > now then backlog = tat - now end
if backlog > room + 0.001 then
  return {0, 0, math.ceil(backlog), math.ceil(backlog - room)}
end
local next = now + backlog + t
redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.ceil(backlog + t) + 1000)
return {1, math.floor(math.max(0, room - backlog) / t + 1e-6), math.ceil(backlog + t), 0}
"#
    ))
});

/// How long one call may take before the request goes on unchecked.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// Buckets in Redis. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisRequestLimits {
    conn: ConnectionManager,
    namespace: String,
}

impl RedisRequestLimits {
    /// Limits on the Redis at `url`, keys under `namespace` (empty for none). Connecting is
    /// lazy: only an unparsable URL is an error.
    pub fn connect(url: &str, namespace: &str) -> Result<Self, LimitsUnavailable> {
        let client =
            Client::open(url).map_err(|_| LimitsUnavailable("invalid Redis URL".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|_| LimitsUnavailable("cannot set up the Redis connection".into()))?;
        Ok(RedisRequestLimits {
            conn,
            namespace: namespace.to_owned(),
        })
    }

    fn bucket(&self, key: &str) -> String {
        if self.namespace.is_empty() {
            format!("{{ls-limit:{}}}", escape(key))
        } else {
            format!("{{{}:ls-limit:{}}}", escape(&self.namespace), escape(key))
        }
    }
}

#[async_trait]
impl RequestLimits for RedisRequestLimits {
    async fn take(&self, key: &str, limit: RateLimit) -> Result<Verdict, LimitsUnavailable> {
        let reply: Vec<i64> = TAKE
            .key(self.bucket(key))
            .arg(interval_ms(limit))
            .arg(limit.burst.max(1))
            .invoke_async(&mut self.conn.clone())
            .await
            // The error names no secret: the URL's password is not in a command's error.
            .map_err(|e| LimitsUnavailable(format!("{:?}", e.kind())))?;
        let [allowed, remaining, reset, retry] = reply[..] else {
            return Err(LimitsUnavailable("unexpected script reply".into()));
        };
        Ok(Verdict {
            allowed: allowed == 1,
            limit: limit.burst,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset_ms: u64::try_from(reset).unwrap_or(0),
            retry_after_ms: u64::try_from(retry).unwrap_or(0),
        })
    }
}
