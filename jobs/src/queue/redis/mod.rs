//! The production queue: [`RedisQueue`], the [`Queue`] contract on Redis (≥ 6.2).
//!
//! - **Layout**: per queue, under the hash tag `{ls:<queue>}` (or `{<ns>:ls:<queue>}`): a hash per
//!   job (`:job:<id>`, fields in `codec.rs`), the `:ready` list, the `:delayed`, `:leased` and
//!   `:expire` sorted sets, and a listing index per tenant (`:idx:<tenant>`). See `keys.rs`.
//! - **One round trip** per operation: each is a Lua script (`scripts.rs`, EVALSHA with automatic
//!   load after a restart). Operations that do not name a queue (`get`, `cancel`, `retry_dead`,
//!   `list`) send one command or script per known queue, concurrently on the multiplexed
//!   connection, so they cost one round trip too. Known queues are those given at construction
//!   plus any this process has seen since; the configuration must name every queue in use.
//! - **Time**: one clock, the Redis server's. Scripts read `TIME` and the client passes
//!   durations (lease, retry delay, retention), so leases, takeovers, due retries and retention
//!   never depend on a worker's clock: one 60 s fast cannot steal a live lease, one 60 s slow
//!   cannot renew a lease into the past. An enqueue's `run_at` is an instant its producer chose
//!   and stays one; `created_at` and similar stamps written by clients are informational.
//! - **Connections**: a [`ConnectionManager`] (reconnects by itself, 5 s response timeout) for
//!   every operation, and separate dedicated connections for the blocking wait (`wait.rs`).
//!   Any Redis failure is reported as [`QueueError::Unavailable`].

mod codec;
mod keys;
mod list;
mod ops;
mod scripts;
mod tenant;
mod wait;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use crate::queue::{QueueError, Retention};

use keys::QueueKeys;

// For the dispatch throttle, whose keys and scripts follow the same rules.
pub(crate) use keys::escape;
pub(crate) use scripts::on_server_clock;

// A client's listing cursor, read as `list` reads it: for the fuzz targets, not the API.
#[doc(hidden)]
pub use keys::decode_cursor;

/// Decodes a stored job hash (an `HGETALL` reply, flat or RESP3 map) as every read of a job
/// does: its record, or `None` for no hash. For the fuzz targets, not the API.
#[doc(hidden)]
pub fn decode_stored(reply: &redis::Value) -> Result<Option<crate::queue::JobRecord>, QueueError> {
    codec::decode(reply).map(|d| d.map(|d| d.record))
}

/// How long one command may take before it is reported as `Unavailable`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a [`RedisQueue`] needs besides the URL.
#[derive(Debug, Clone, Default)]
pub struct RedisQueueOptions {
    /// Key namespace (empty for none), so deployments or tests can share one server.
    pub namespace: String,
    /// Every queue jobs may be routed to: `get`, `list`, `cancel` and `retry_dead` look there.
    pub queues: Vec<String>,
    /// How long finished jobs stay readable.
    pub retention: Retention,
    /// At most this many of one tenant's jobs run at once per queue, across all workers
    /// (0: no cap). See [`crate::queue::Queue::fetch`].
    pub tenant_concurrency: u32,
}

/// The Redis queue backend. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct RedisQueue {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    blocking: wait::Blocking,
    namespace: String,
    queues: RwLock<Vec<String>>,
    retention: Retention,
    tenant_concurrency: u32,
    /// The URL's password, scrubbed from error messages should a driver message ever echo it.
    password: Option<String>,
}

impl RedisQueue {
    /// Prepares a queue on the Redis at `url` (`redis://[:password@]host:port/[db]`).
    ///
    /// Connecting is lazy: if Redis is down the queue is still returned (with a warning logged)
    /// and works once Redis is up. Only an unparsable URL is an error.
    pub async fn connect(url: &str, options: RedisQueueOptions) -> Result<RedisQueue, QueueError> {
        let client =
            Client::open(url).map_err(|_| QueueError::Unavailable("invalid Redis URL".into()))?;
        let password = client
            .get_connection_info()
            .redis_settings()
            .password()
            .map(str::to_owned);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|_| QueueError::Unavailable("cannot set up the Redis connection".into()))?;
        let mut queues: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for q in options.queues {
            if seen.insert(q.clone()) {
                queues.push(q);
            }
        }
        let queue = RedisQueue {
            inner: Arc::new(Inner {
                conn,
                blocking: wait::Blocking::new(client, CONNECT_TIMEOUT),
                namespace: options.namespace,
                queues: RwLock::new(queues),
                retention: options.retention,
                tenant_concurrency: options.tenant_concurrency,
                password,
            }),
        };
        if let Err(e) = crate::queue::Queue::ping(&queue).await {
            tracing::warn!(error = %e, "Redis is not reachable yet; the queue connects when it is");
        }
        Ok(queue)
    }
}

impl Inner {
    fn keys(&self, queue: &str) -> QueueKeys {
        QueueKeys::new(&self.namespace, queue)
    }

    /// The known queues, in configuration order.
    fn queues(&self) -> Vec<String> {
        self.queues.read().map(|q| q.clone()).unwrap_or_default()
    }

    /// Remembers a queue this process used, so `get`/`list` of this process look there too.
    fn note_queue(&self, queue: &str) {
        let known = self
            .queues
            .read()
            .map(|q| q.iter().any(|k| k == queue))
            .unwrap_or(true);
        if !known
            && let Ok(mut q) = self.queues.write()
            && !q.iter().any(|k| k == queue)
        {
            tracing::warn!(queue, "queue missing from the Redis queue configuration");
            q.push(queue.to_owned());
        }
    }

    /// A Redis failure as the contract's retryable error, without secrets.
    fn unavailable(&self, e: RedisError) -> QueueError {
        let mut msg = format!("redis: {e}");
        if let Some(p) = self.password.as_deref().filter(|p| !p.is_empty()) {
            msg = msg.replace(p, "***");
        }
        QueueError::Unavailable(msg)
    }

    /// `d` in milliseconds, as the scripts take durations (saturating).
    fn ms(d: Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }
}
