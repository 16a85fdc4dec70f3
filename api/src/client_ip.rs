//! The client's IP address, found once per request: the TCP peer, or, behind trusted reverse
//! proxies (`LONGSHORE_TRUSTED_PROXIES`), the right-most untrusted `X-Forwarded-For` entry (see
//! `longshore_jobs::proxies`). Rate limits and tracking records read it from the request.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use longshore_jobs::proxies::TrustedProxies;
use poem::Request;

/// The client of the request being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The client of `req`, if it came over IP.
    pub fn find(req: &Request) -> Option<IpAddr> {
        req.extensions()
            .get::<ClientIp>()
            .map(|c| c.0)
            .or_else(|| peer(req))
    }

    /// The client of `req` (the unspecified address when it has no IP peer, as in unit tests).
    pub fn of(req: &Request) -> IpAddr {
        Self::find(req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

fn peer(req: &Request) -> Option<IpAddr> {
    req.remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_canonical())
}

/// Puts the [`ClientIp`] on each request.
pub fn resolver(proxies: TrustedProxies) -> impl Fn(Request) -> ClientIpFuture + Send + Sync {
    let proxies = Arc::new(proxies);
    move |mut req: Request| {
        if let Some(peer) = peer(&req) {
            let forwarded = req.headers().get_all("x-forwarded-for");
            let client = proxies.client(peer, forwarded.iter().filter_map(|v| v.to_str().ok()));
            req.extensions_mut().insert(ClientIp(client));
        }
        std::future::ready(Ok(req))
    }
}

/// What [`resolver`] returns (never an error).
pub type ClientIpFuture = std::future::Ready<poem::Result<Request>>;
