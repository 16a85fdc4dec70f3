//! The composition root shared by every binary: config → database → queue → registry.

use std::sync::Arc;

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::queue::{Queue, QueueError};
use crate::registry::Registry;

/// The platform's shared services, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub queue: Arc<dyn Queue>,
    pub registry: Arc<Registry>,
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl Services {
    /// Connects to the database (running migrations) and to the configured queue backend:
    /// Redis when `REDIS_URL` is set, otherwise the embedded SQLite queue in the same file.
    pub async fn connect(config: Config) -> Result<Services, StartError> {
        let url = config.database_url();
        let db = Db::connect(&url).await?;
        let queue = open_queue(&config, &url).await?;
        Ok(Services {
            config: Arc::new(config),
            db,
            queue,
            registry: Arc::new(Registry::standard()),
        })
    }
}

/// Placeholder until the backends land (the helpers are writing them).
async fn open_queue(_config: &Config, _url: &str) -> Result<Arc<dyn Queue>, QueueError> {
    Err(QueueError::Unavailable("no queue backend built yet".into()))
}
