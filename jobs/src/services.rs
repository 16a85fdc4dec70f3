//! The platform's shared services: what job handlers, the API and the scheduler reach the
//! outside world through. Built by [`crate::platform`]; domain code never takes the whole of
//! it, only the parts a function uses.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::intent::Dispatcher;
use crate::queue::Queue;

/// The platform's shared services, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub queue: Arc<dyn Queue>,
    /// Where domain code's follow-up work goes (turned into jobs on `queue`).
    pub out: Dispatcher,
    /// Where rendered files are kept (`LONGSHORE_STORAGE_URL`).
    pub storage: Arc<dyn crate::storage::FileStore>,
    /// Email transport, tracking keys and the tracking-event writer.
    pub mail: Arc<crate::email::Mail>,
    /// Batched writer of the job history that `jobs_health` reports read.
    pub job_runs: crate::reports::job_runs::JobRunLog,
    /// Group-committed claim and `ready` writes of render jobs.
    pub renders: crate::documents::render_log::RenderLog,
    /// HTTP-task delivery: the outbound client, the shared dispatch limits, settings caches.
    pub couriers: Arc<crate::tasks::Couriers>,
    /// The process's one outbound HTTP client (tasks and events), built at first use.
    pub outbound: Arc<crate::outbound::LazyOutbound>,
    /// Dispatch limits: shared through Redis when there is one, in this process otherwise.
    pub throttle: Arc<dyn crate::throttle::Throttle>,
    /// Request limits per API key: shared through Redis when there is one.
    pub request_limits: Arc<dyn crate::request_limit::RequestLimits>,
}

impl Services {
    /// The webhook path's part of the services.
    pub fn hooks(&self) -> crate::webhooks::Hooks {
        crate::webhooks::Hooks {
            db: self.db.clone(),
            config: self.config.clone(),
            out: self.out.clone(),
        }
    }

    /// The documents emails attach, read through this database and storage.
    pub fn pdfs(&self) -> crate::documents::attach::Pdfs<'_> {
        crate::documents::attach::Pdfs {
            db: &self.db,
            storage: self.storage.as_ref(),
        }
    }
}
