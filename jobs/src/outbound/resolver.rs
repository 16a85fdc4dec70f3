//! The outbound client's DNS resolver: the system resolver, then the destination policy on
//! the answers.
//!
//! Judging the addresses here, inside the connection path, is what makes the policy hold: the
//! client connects only to addresses this resolver returned, so a name that resolves to an
//! internal address (or flips to one after the task was checked: DNS rebinding) is refused on
//! the connection actually made. Checking a name once up front and connecting later would not.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::destinations::{Destinations, Refused};

/// Resolves with the system resolver (`getaddrinfo` through tokio, so `/etc/hosts` counts)
/// and keeps only the addresses the policy allows.
pub(super) struct GuardedResolver {
    pub(super) destinations: Arc<Destinations>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let destinations = self.destinations.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is a placeholder: the connector sets the URL's own on every address.
            let found: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect();
            let kept = destinations.keep_resolved(&host, found);
            if kept.is_empty() {
                return Err(Box::new(Refused::Resolved(host)) as _);
            }
            let addrs: Addrs = Box::new(kept.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow: &str) -> GuardedResolver {
        GuardedResolver {
            destinations: Arc::new(Destinations::parse(allow).unwrap()),
        }
    }

    async fn resolve(r: &GuardedResolver, host: &str) -> Result<Vec<IpAddr>, String> {
        match r.resolve(host.parse().unwrap()).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_by_default() {
        assert_eq!(
            resolve(&resolver(""), "localhost").await,
            Err("destination localhost refused: it resolves to no public address".into())
        );
    }

    #[tokio::test]
    async fn allowing_the_name_or_the_network_keeps_the_addresses() {
        let by_name = resolve(&resolver("localhost"), "localhost").await.unwrap();
        assert!(by_name.iter().all(|ip| ip.is_loopback()) && !by_name.is_empty());
        let by_net = resolve(&resolver("127.0.0.0/8"), "localhost")
            .await
            .unwrap();
        // `::1`, if the machine lists it for localhost, is outside the allowed network.
        assert!(!by_net.is_empty());
        assert!(by_net.iter().all(|ip| *ip == IpAddr::from([127, 0, 0, 1])));
    }
}
