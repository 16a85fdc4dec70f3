//! Which address a request came from, when reverse proxies stand in front of the API
//! (`LONGSHORE_TRUSTED_PROXIES`).
//!
//! By default the client is the TCP peer. When the peer is a trusted proxy, its
//! `X-Forwarded-For` is read from the right: each proxy appends the address it received the
//! request from, so the right-most entries were written by proxies we trust and the first
//! untrusted entry, reading leftwards, is the address the outermost trusted proxy saw. Entries
//! further left were written by the client itself and are never believed. When every entry is
//! trusted, the left-most one is the client; an unreadable entry stops the walk at the last
//! trusted address.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The trusted proxies, parsed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// An entry of `LONGSHORE_TRUSTED_PROXIES` that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {0:?} is not an IP address or CIDR network")]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Parses a comma-separated list of IP addresses and CIDR networks (`10.0.0.0/8`).
    pub fn parse(list: &str) -> Result<Self, BadProxy> {
        let mut nets = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match raw.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => raw
                    .trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| BadProxy(raw.to_owned()))?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies { nets })
    }

    /// True when no proxy is trusted (the TCP peer is always the client).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For` header values (in
    /// the order they appear).
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| entry.trim_matches(['[', ']']).parse::<IpAddr>())
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(proxies: &str, peer: &str, xff: &[&str]) -> IpAddr {
        TrustedProxies::parse(proxies)
            .unwrap()
            .client(ip(peer), xff.iter().copied())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        assert_eq!(
            client("", "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let got = client("10.0.0.0/8", "203.0.113.9", &["198.51.100.1"]);
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        // The client forged the first entry; our proxies appended the rest.
        let xff = ["1.1.1.1, 198.51.100.7", "10.0.0.2"];
        assert_eq!(client("10.0.0.0/8", "10.0.0.1", &xff), ip("198.51.100.7"));
    }

    #[test]
    fn all_trusted_gives_the_left_most_and_no_header_gives_the_peer() {
        let got = client(
            "10.0.0.0/8, 192.168.1.1",
            "10.0.0.1",
            &["192.168.1.1, 10.0.0.3"],
        );
        assert_eq!(got, ip("192.168.1.1"));
        assert_eq!(client("10.0.0.0/8", "10.0.0.1", &[]), ip("10.0.0.1"));
    }

    #[test]
    fn an_unreadable_entry_stops_at_the_last_trusted_address() {
        let got = client(
            "10.0.0.0/8",
            "10.0.0.1",
            &["198.51.100.7, nonsense, 10.0.0.2"],
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read() {
        assert_eq!(
            client(
                "::ffff:10.0.0.0/104, 10.0.0.0/8",
                "::ffff:10.0.0.1",
                &["[2001:db8::1]:443"]
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("10.0.0.1", "10.0.0.1", &["198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client("10.0.0.1", "10.0.0.1", &["::ffff:198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, proxy.internal"),
            Err(BadProxy("proxy.internal".into()))
        );
        assert!(TrustedProxies::parse("10.0.0.0/99").is_err());
        assert!(TrustedProxies::parse(" ").unwrap().is_empty());
        assert!(
            !TrustedProxies::parse("[::1], 127.0.0.1")
                .unwrap()
                .is_empty()
        );
    }
}
