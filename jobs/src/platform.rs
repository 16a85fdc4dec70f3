//! The composition root shared by every binary: config → database → queue → services.

use std::sync::Arc;

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::job_types::dispatch::QueueDispatch;
use crate::queue::{QUEUES, Queue, QueueError};
pub use crate::services::Services;

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Mail(#[from] crate::email::MailError),
    #[error("outbound HTTP: {0}")]
    Outbound(String),
    #[error(transparent)]
    Limits(#[from] crate::request_limit::LimitsUnavailable),
}

impl Services {
    /// Connects to the database (running migrations) and to the configured queue backend:
    /// Redis when `REDIS_URL` is set, otherwise the embedded SQLite queue in the same file.
    pub async fn connect(config: Config) -> Result<Services, StartError> {
        let url = config.database_url();
        let db = Db::connect(&url).await?;
        let queue = open_queue(&config, &url).await?;
        let out = Arc::new(QueueDispatch::new(queue.clone()));
        let storage = crate::storage::open(&config)?;
        tracing::info!(storage = %storage.describe(), "file storage ready");
        let mail = Arc::new(crate::email::Mail::connect(&config, &db).await?);
        let job_runs = crate::reports::job_runs::JobRunLog::new(db.clone());
        let renders = crate::documents::render_log::RenderLog::start(db.clone());
        let config = Arc::new(config);
        let (outbound, throttle) = outbound(&config)?;
        let request_limits = request_limits(&config)?;
        let couriers = Arc::new(crate::tasks::Couriers::new(
            config.clone(),
            db.clone(),
            outbound.clone(),
            throttle.clone(),
        ));
        Ok(Services {
            config,
            db,
            queue,
            out,
            storage,
            mail,
            job_runs,
            renders,
            couriers,
            outbound,
            throttle,
            request_limits,
        })
    }
}

/// Per-key request limits: in Redis when there is one (every API process shares each bucket),
/// in this process otherwise.
fn request_limits(
    config: &Config,
) -> Result<Arc<dyn crate::request_limit::RequestLimits>, StartError> {
    use crate::request_limit::{local::LocalRequestLimits, redis::RedisRequestLimits};
    Ok(match config.redis_url() {
        Some(url) => Arc::new(RedisRequestLimits::connect(url, &config.redis_namespace)?),
        None => Arc::new(LocalRequestLimits::default()),
    })
}

/// The outbound client (HTTP tasks, events) and the dispatch limits: shared through Redis when
/// there is one (every worker process then holds them together), in this process otherwise
/// (the embedded default runs one worker).
fn outbound(
    config: &Config,
) -> Result<
    (
        Arc<crate::outbound::LazyOutbound>,
        Arc<dyn crate::throttle::Throttle>,
    ),
    StartError,
> {
    let destinations = config
        .outbound_destinations()
        .map_err(|e| StartError::Outbound(e.to_string()))?;
    let throttle: Arc<dyn crate::throttle::Throttle> = match config.redis_url() {
        Some(url) => Arc::new(
            crate::throttle::redis::RedisThrottle::connect(url, &config.redis_namespace)
                .map_err(|e| StartError::Outbound(e.to_string()))?,
        ),
        None => Arc::new(crate::throttle::local::LocalThrottle::new()),
    };
    Ok((
        Arc::new(crate::outbound::LazyOutbound::new(destinations)),
        throttle,
    ))
}

/// Redis when `REDIS_URL` is set; otherwise the embedded SQLite queue in the database file (or,
/// when PostgreSQL holds the business records but no Redis is configured, in the data folder).
async fn open_queue(config: &Config, database_url: &str) -> Result<Arc<dyn Queue>, QueueError> {
    if let Some(redis_url) = config.redis_url() {
        let options = crate::queue::redis::RedisQueueOptions {
            namespace: config.redis_namespace.clone(),
            queues: QUEUES.iter().map(|q| q.to_string()).collect(),
            retention: config.retention(),
            tenant_concurrency: config.tenant_concurrency,
        };
        return Ok(Arc::new(
            crate::queue::redis::RedisQueue::connect(redis_url, options).await?,
        ));
    }
    let queue_url = if database_url.starts_with("sqlite:") {
        database_url.to_owned()
    } else {
        Config {
            database_url: None,
            ..config.clone()
        }
        .database_url()
    };
    let pool = crate::queue::sqlite::connect_sqlite(&queue_url).await?;
    let options = crate::queue::sqlite::SqliteQueueOptions {
        retention: config.retention(),
        tenant_concurrency: config.tenant_concurrency,
        ..Default::default()
    };
    Ok(Arc::new(crate::queue::sqlite::SqliteQueue::open(
        pool, options,
    )))
}
