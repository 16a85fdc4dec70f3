//! The one outbound client of a process, built at its first use.

use std::sync::OnceLock;

use super::client::Outbound;
use super::destinations::Destinations;

/// Shared by HTTP-task deliveries and event deliveries (one connection pool per process).
/// Built on first use: its TLS roots cost every process that never sends (the API, the
/// scheduler) about 5 MiB of resident memory (idle RSS in `longshore-bench core`).
#[derive(Debug)]
pub struct LazyOutbound {
    destinations: Destinations,
    built: OnceLock<Result<Outbound, String>>,
}

impl LazyOutbound {
    pub fn new(destinations: Destinations) -> LazyOutbound {
        LazyOutbound {
            destinations,
            built: OnceLock::new(),
        }
    }

    /// Where requests may go (checked when tasks and endpoints are created, too).
    pub fn destinations(&self) -> &Destinations {
        &self.destinations
    }

    /// The client; the build error (the TLS set-up failed) for every caller when it cannot be
    /// built.
    pub fn get(&self) -> Result<&Outbound, &str> {
        self.built
            .get_or_init(|| Outbound::new(self.destinations.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}
