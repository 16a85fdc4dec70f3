//! What every handler can reach: the platform's services and the API's own caches.

use std::sync::Arc;
use std::time::Duration;

use longshore_jobs::operator::OperatorKeys;
use longshore_jobs::platform::Services;

use crate::auth::AuthCache;

/// Shared by all requests; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub auth_cache: AuthCache,
    /// `LONGSHORE_ADMIN_KEY`, parsed (validated when the configuration was loaded).
    pub operator_keys: Arc<OperatorKeys>,
}

impl AppState {
    /// State for an API over `services`.
    pub fn new(services: Services) -> Self {
        let ttl = Duration::from_secs(services.config.auth_cache_secs.max(1));
        let operator_keys = Arc::new(services.config.operator_keys().unwrap_or_default());
        AppState {
            services,
            auth_cache: AuthCache::new(ttl),
            operator_keys,
        }
    }
}
