//! Which IP addresses are public: the classification behind the outbound destination policy.
//!
//! Written here rather than taken from a crate, deliberately: `IpAddr::is_global` is still
//! unstable, the stable back-ports (`ip_rfc`) are unmaintained copies of an older nightly, and
//! none of them looks *inside* the IPv6 forms that carry an IPv4 address (`::ffff:127.0.0.1`,
//! NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), which an SSRF check must do: a connection to one of
//! those can end up at the embedded IPv4 address. The ranges are data (the IANA special-purpose
//! registries), in two tables below; the logic is only "unwrap, then look up".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// IPv4 ranges that are not publicly routable, with the name a refusal shows.
const V4_SPECIAL: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "unspecified"), // "this network", incl. 0.0.0.0
    (v4(10, 0, 0, 0, 8), "private"),
    (v4(100, 64, 0, 0, 10), "shared (carrier-grade NAT)"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local"), // incl. cloud metadata 169.254.169.254
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 88, 99, 0, 24), "6to4 relay"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(240, 0, 0, 0, 4), "reserved"), // incl. broadcast 255.255.255.255
];

/// IPv6 ranges inside global unicast (`2000::/3`) that are still not public. Everything
/// outside `2000::/3` (loopback, unspecified, ULA `fc00::/7`, link-local `fe80::/10`,
/// multicast, discard `100::/64`, SRv6 `5f00::/16`, …) is refused before this table.
const V6_SPECIAL: &[(Ipv6Net, &str)] = &[
    // IETF protocol assignments, incl. Teredo 2001::/32 (which tunnels to an IPv4 host).
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignment",
    ),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
];

const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);
const NAT64_WELL_KNOWN: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// Why `ip` is not public (`"loopback"`, `"private"`, …), or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_SPECIAL
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(embedded) = embedded_v4(ip) {
        return non_public_v4(embedded);
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    let s = ip.segments()[0];
    if !GLOBAL_UNICAST.contains(&ip) {
        return Some(match s {
            0xfc00..=0xfdff => "private",
            0xfe80..=0xfebf => "link-local",
            0xff00..=0xffff => "multicast",
            _ => "reserved",
        });
    }
    V6_SPECIAL
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`), the well-known
/// NAT64 prefix (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::/48`). The deprecated
/// IPv4-compatible form (`::a.b.c.d`) is judged as the IPv4 address too.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    if NAT64_WELL_KNOWN.contains(&ip) {
        return Some(tail);
    }
    if SIX_TO_FOUR.contains(&ip) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    // ::a.b.c.d, but not :: and ::1 (handled as themselves by the caller).
    if o[..12].iter().all(|b| *b == 0) && u32::from(tail) > 1 {
        return Some(tail);
    }
    None
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<&'static str> {
        non_public(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81c::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_special_range_is_refused_with_its_name() {
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("10.1.2.3", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("198.19.0.1", "benchmarking"),
            ("192.0.2.1", "documentation"),
            ("203.0.113.5", "documentation"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("100::1", "reserved"),
            ("2001:db8::1", "documentation"),
            ("2001:0:4136:e378::1", "IETF protocol assignment"),
            ("3fff::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:7f00:1::", "loopback"),
            ("2002:c0a8:101::1", "private"),
        ] {
            assert_eq!(class(ip), Some(why), "{ip}");
        }
    }
}
