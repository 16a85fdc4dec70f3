//! Where outbound HTTP may go: public addresses, plus what the operator allows.
//!
//! A client's task names a URL, and Longshore's worker calls it from inside the operator's
//! network; without a policy a client could make Longshore call `http://169.254.169.254/` (the
//! cloud metadata service) or an internal admin port and read the answer back (SSRF). So every
//! non-public address is refused unless the operator's allow-list
//! (`LONGSHORE_OUTBOUND_ALLOW`) names the host, the address or a network holding it.
//!
//! The policy is applied twice: [`Destinations::check_url`] when a task is created (a quick,
//! friendly refusal; no DNS), and again by the client's resolver on the addresses actually
//! connected to ([`Destinations::keep_resolved`]), so a name that resolves somewhere internal,
//! or changes its answer later (DNS rebinding), is still refused.

use std::net::IpAddr;

use ipnet::IpNet;
use url::{Host, Url};

use super::address::non_public;

/// The operator's allow-list on top of the default "public addresses only" policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Host names allowed whatever they resolve to: lower case, no trailing dot.
    hosts: Vec<String>,
    /// Networks (a single address is a /32 or /128) allowed though not public.
    nets: Vec<IpNet>,
}

/// An allow-list entry that is neither a host name, an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {entry:?} {why}")]
pub struct BadEntry {
    entry: String,
    why: &'static str,
}

/// Why a destination is refused. The message is safe to show to the API client that gave the
/// URL: it names only what they sent and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("URL scheme {0:?} is not allowed: use http or https")]
    Scheme(String),
    #[error("credentials in the URL are not allowed: send them in a header")]
    Userinfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("destination {host} refused: {class} addresses are not reachable")]
    Address { host: String, class: &'static str },
    #[error("destination {0} refused: internal host names are not reachable")]
    InternalName(String),
    #[error("destination {0} refused: it resolves to no public address")]
    Resolved(String),
}

impl Destinations {
    /// Parses the allow-list: comma-separated host names (exact, case-insensitive), IP
    /// addresses and CIDR networks. Empty entries are ignored, so an empty string allows only
    /// public destinations.
    pub fn parse(list: &str) -> Result<Self, BadEntry> {
        let mut out = Destinations::default();
        for raw in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |why| BadEntry {
                entry: raw.to_owned(),
                why,
            };
            if raw.contains("://") {
                return Err(bad("is a URL: give only its host name"));
            } else if raw.contains('/') {
                out.nets
                    .push(raw.parse().map_err(|_| bad("is not a CIDR network"))?);
            } else if let Ok(ip) = raw.trim_matches(['[', ']']).parse::<IpAddr>() {
                out.nets.push(IpNet::from(ip));
            } else if raw.contains('*') {
                return Err(bad("has a wildcard: name each host"));
            } else if is_host_name(raw) {
                out.hosts.push(normalize(raw));
            } else {
                return Err(bad("is not a host name, IP address or CIDR network"));
            }
        }
        Ok(out)
    }

    /// True when the operator named this host (compared case-insensitively).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize(host);
        self.hosts.contains(&host)
    }

    /// Why `ip` may not be connected to, or `None` when it may: it is public, or inside an
    /// allowed network (an IPv4-mapped IPv6 address is matched as its IPv4 address).
    pub fn refuses_addr(&self, ip: IpAddr) -> Option<&'static str> {
        let why = non_public(ip)?;
        let canonical = ip.to_canonical();
        let allowed = self
            .nets
            .iter()
            .any(|n| n.contains(&ip) || n.contains(&canonical));
        (!allowed).then_some(why)
    }

    /// The check at task creation: http(s) only, no credentials in the URL, an IP literal
    /// must be public or allowed, and `localhost` (or `*.localhost`) must be allowed, by name or
    /// by allowing the loopback address. Other host names pass here; the client checks what
    /// they resolve to when it connects.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        self.check_literal(url)?;
        if let Some(Host::Domain(name)) = url.host() {
            let n = normalize(name);
            let internal = n == "localhost" || n.ends_with(".localhost");
            let loopback_allowed = [
                IpAddr::from([127, 0, 0, 1]),
                IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
            ]
            .iter()
            .any(|ip| self.refuses_addr(*ip).is_none());
            if internal && !self.allows_host(&n) && !loopback_allowed {
                return Err(Refused::InternalName(n));
            }
        }
        Ok(())
    }

    /// The check before connecting: everything [`check_url`](Self::check_url) checks except
    /// host names, which the client's resolver judges by what they resolve to. (IP literals
    /// never reach a resolver, so they are judged here.)
    pub fn check_literal(&self, url: &Url) -> Result<(), Refused> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(Refused::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Userinfo);
        }
        match url.host().ok_or(Refused::NoHost)? {
            Host::Ipv4(ip) => self.check_ip(IpAddr::V4(ip)),
            Host::Ipv6(ip) => self.check_ip(IpAddr::V6(ip)),
            Host::Domain(_) => Ok(()),
        }
    }

    /// The addresses a host name resolved to that may be connected to: all of them when the
    /// name is allowed, else the public or allowed ones. Empty means refused.
    pub fn keep_resolved(&self, host: &str, addrs: Vec<IpAddr>) -> Vec<IpAddr> {
        if self.allows_host(host) {
            return addrs;
        }
        addrs
            .into_iter()
            .filter(|ip| self.refuses_addr(*ip).is_none())
            .collect()
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        match self.refuses_addr(ip) {
            None => Ok(()),
            Some(class) => Err(Refused::Address {
                host: ip.to_string(),
                class,
            }),
        }
    }
}

fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 characters, 253 at most.
fn is_host_name(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
#[path = "destinations_tests.rs"]
mod tests;
