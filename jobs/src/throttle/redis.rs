//! [`RedisThrottle`]: the production throttle. Every worker process shares one state per task
//! queue in Redis, so the limits hold across all of them.
//!
//! - **One round trip** per operation: `admit` and `hold_off` are Lua scripts (`scripts.rs`),
//!   `release` is one `ZREM`.
//! - **Time**: the scripts read the server's `TIME`, so workers with skewed clocks agree on
//!   slots, holds and hold-offs; the client passes only durations.
//! - **Layout**: per task queue, under the hash tag `{ls-throttle:<key>}` (or
//!   `{<ns>:ls-throttle:<key>}`; the `ls-throttle:` prefix cannot collide with a queue's `ls:`):
//!   `:state`, `:running` and one `:slot:<job>` per reservation. Every key has a TTL, so a task
//!   queue that goes idle leaves nothing behind.

mod scripts;

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use super::{
    Admission, Limits, Permit, RESERVATION_GRACE, Throttle, ThrottleError, concurrency_retry,
    wait_ms,
};
use crate::queue::redis::escape;

/// How long one command may take before it is reported as `Unavailable`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a reservation's key outlives its validity. A hold-off moves reserved slots back
/// without visiting their keys, so the keys must survive hold-offs of up to this long; a
/// reservation lost to a longer one only costs its job a new slot.
const RESERVATION_SLACK: Duration = Duration::from_secs(600);

/// The Redis throttle. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisThrottle {
    conn: ConnectionManager,
    namespace: String,
    /// The URL's password, scrubbed from error messages.
    password: Option<String>,
}

/// The names of one task queue's keys.
struct Keys {
    tag: String,
}

impl Keys {
    fn new(namespace: &str, key: &str) -> Self {
        let tag = if namespace.is_empty() {
            format!("{{ls-throttle:{}}}", escape(key))
        } else {
            format!("{{{}:ls-throttle:{}}}", escape(namespace), escape(key))
        };
        Keys { tag }
    }

    fn state(&self) -> String {
        format!("{}:state", self.tag)
    }

    fn running(&self) -> String {
        format!("{}:running", self.tag)
    }

    fn slot(&self, job: &str) -> String {
        format!("{}:slot:{job}", self.tag)
    }
}

impl RedisThrottle {
    /// A throttle on the Redis at `url`, keys under `namespace` (empty for none).
    ///
    /// Connecting is lazy, like the queue's: only an unparsable URL is an error; while Redis
    /// is down every operation answers [`ThrottleError::Unavailable`].
    pub fn connect(url: &str, namespace: &str) -> Result<Self, ThrottleError> {
        let client = Client::open(url)
            .map_err(|_| ThrottleError::Unavailable("invalid Redis URL".into()))?;
        let password = client
            .get_connection_info()
            .redis_settings()
            .password()
            .map(str::to_owned);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|_| ThrottleError::Unavailable("cannot set up the Redis connection".into()))?;
        Ok(RedisThrottle {
            conn,
            namespace: namespace.to_owned(),
            password,
        })
    }

    fn keys(&self, key: &str) -> Keys {
        Keys::new(&self.namespace, key)
    }

    /// A Redis failure as a retryable error, without secrets.
    fn unavailable(&self, e: RedisError) -> ThrottleError {
        let mut msg = format!("redis: {e}");
        if let Some(p) = self.password.as_deref().filter(|p| !p.is_empty()) {
            msg = msg.replace(p, "***");
        }
        ThrottleError::Unavailable(msg)
    }

    /// [`Throttle::admit`], with the server time (epoch ms) at which it was decided: what the
    /// tests check the rate against, since no worker's clock is the reference.
    async fn admit_on_server(
        &self,
        key: &str,
        job: &str,
        limits: &Limits,
        hold: Duration,
    ) -> Result<(Admission, i64), ThrottleError> {
        limits.check()?;
        let keys = self.keys(key);
        let reply: Vec<i64> = scripts::ADMIT
            .key(keys.state())
            .key(keys.running())
            .key(keys.slot(job))
            .arg(job)
            .arg(limits.interval_ms())
            .arg(limits.burst)
            .arg(limits.max_concurrent)
            .arg(ms(hold).max(1))
            .arg(ms(RESERVATION_GRACE))
            .arg(ms(RESERVATION_SLACK))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.unavailable(e))?;
        let admission = match reply[..] {
            [1, _, _] => Admission::Go(Permit::new(key, job)),
            [0, wait, _] => Admission::Wait(wait_ms(wait as f64)),
            [2, _, _] => Admission::Wait(concurrency_retry()),
            _ => return Err(ThrottleError::Corrupt(format!("admit replied {reply:?}"))),
        };
        Ok((admission, reply[2]))
    }
}

/// `d` in milliseconds, as the scripts take durations (saturating).
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Throttle for RedisThrottle {
    async fn admit(
        &self,
        key: &str,
        job: &str,
        limits: &Limits,
        hold: Duration,
    ) -> Result<Admission, ThrottleError> {
        Ok(self.admit_on_server(key, job, limits, hold).await?.0)
    }

    async fn release(&self, permit: &Permit) -> Result<(), ThrottleError> {
        let _: i64 = redis::cmd("ZREM")
            .arg(self.keys(permit.key()).running())
            .arg(permit.job())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    async fn release_many(&self, permits: &[Permit]) -> Result<(), ThrottleError> {
        let mut pipe = redis::pipe();
        for permit in permits {
            pipe.cmd("ZREM")
                .arg(self.keys(permit.key()).running())
                .arg(permit.job())
                .ignore();
        }
        let () = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    async fn hold_off(&self, key: &str, delay: Duration) -> Result<(), ThrottleError> {
        let _: i64 = scripts::HOLD_OFF
            .key(self.keys(key).state())
            .arg(ms(delay))
            .arg(ms(RESERVATION_GRACE))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
