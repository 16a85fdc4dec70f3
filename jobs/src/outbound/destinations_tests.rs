use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

const INTERNAL: [&str; 6] = [
    "http://127.0.0.1:8080/hook",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2130706433/", // 127.0.0.1 written as a number; the URL parser normalises it
    "http://10.0.0.7/",
];

#[test]
fn internal_literals_are_refused_by_default() {
    let d = Destinations::default();
    for u in INTERNAL {
        assert!(
            matches!(d.check_url(&url(u)), Err(Refused::Address { .. })),
            "{u}"
        );
    }
    let err = d.check_url(&url("http://169.254.169.254/")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination 169.254.169.254 refused: link-local addresses are not reachable"
    );
}

#[test]
fn localhost_names_are_refused_unless_named() {
    let d = Destinations::default();
    for u in [
        "http://localhost:9/",
        "http://LocalHost./",
        "http://api.localhost/",
    ] {
        assert!(
            matches!(d.check_url(&url(u)), Err(Refused::InternalName(_))),
            "{u}"
        );
    }
    let allowed = Destinations::parse("localhost").unwrap();
    assert_eq!(allowed.check_url(&url("http://LOCALHOST:9/")), Ok(()));
    // Naming localhost does not allow its subdomains.
    assert!(allowed.check_url(&url("http://api.localhost/")).is_err());
}

#[test]
fn public_literals_and_names_pass_without_any_lookup() {
    let d = Destinations::default();
    for u in [
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/x",
        "https://hooks.example.com/a?b=c",
        // Passes here; what it resolves to is checked when connecting.
        "http://internal.corp/",
    ] {
        assert_eq!(d.check_url(&url(u)), Ok(()), "{u}");
    }
}

#[test]
fn scheme_and_credentials_are_refused() {
    let d = Destinations::default();
    assert_eq!(
        d.check_url(&url("ftp://8.8.8.8/")),
        Err(Refused::Scheme("ftp".into()))
    );
    assert_eq!(
        d.check_url(&url("file:///etc/passwd")),
        Err(Refused::Scheme("file".into()))
    );
    assert_eq!(
        d.check_url(&url("https://user:pw@example.com/")),
        Err(Refused::Userinfo)
    );
    assert_eq!(
        d.check_url(&url("https://token@example.com/")),
        Err(Refused::Userinfo)
    );
}

#[test]
fn an_allowed_network_opens_its_addresses_only() {
    let d = Destinations::parse(" 127.0.0.1/32 , 10.1.0.0/16,fd00::1 ").unwrap();
    for u in [
        "http://127.0.0.1:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.200.3/",
        "http://[fd00::1]/",
    ] {
        assert_eq!(d.check_url(&url(u)), Ok(()), "{u}");
    }
    for u in [
        "http://127.0.0.2/",
        "http://10.2.0.1/",
        "http://[::1]/",
        "http://[fd00::2]/",
    ] {
        assert!(d.check_url(&url(u)).is_err(), "{u}");
    }
}

#[test]
fn resolved_addresses_are_filtered_unless_the_name_is_allowed() {
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    let public: IpAddr = "93.184.216.34".parse().unwrap();
    let d = Destinations::default();
    assert_eq!(
        d.keep_resolved("rebind.example", vec![lo, public]),
        vec![public]
    );
    assert!(d.keep_resolved("localhost", vec![lo]).is_empty());
    let named = Destinations::parse("Localhost").unwrap();
    assert_eq!(named.keep_resolved("localhost", vec![lo]), vec![lo]);
    let by_net = Destinations::parse("127.0.0.0/8").unwrap();
    assert_eq!(by_net.keep_resolved("anything.test", vec![lo]), vec![lo]);
}

#[test]
fn bad_entries_are_named() {
    for (list, why) in [
        ("10.0.0.0/33", "is not a CIDR network"),
        ("*.example.com", "has a wildcard: name each host"),
        ("http://example.com", "is a URL: give only its host name"),
        (
            "exa mple.com",
            "is not a host name, IP address or CIDR network",
        ),
        (
            "-bad-.com",
            "is not a host name, IP address or CIDR network",
        ),
    ] {
        let err = Destinations::parse(list).unwrap_err();
        assert_eq!(err.to_string(), format!("entry {list:?} {why}"));
    }
    assert_eq!(Destinations::parse(" , ").unwrap(), Destinations::default());
}

#[test]
fn allowing_the_loopback_address_allows_the_localhost_name() {
    let d = Destinations::parse("127.0.0.1/32").unwrap();
    assert_eq!(d.check_url(&url("http://localhost:8080/")), Ok(()));
    // The connect-time check leaves names to the resolver, localhost included.
    let strict = Destinations::default();
    assert_eq!(strict.check_literal(&url("http://localhost/")), Ok(()));
    assert!(strict.check_literal(&url("http://127.0.0.1/")).is_err());
    assert_eq!(
        strict.check_literal(&url("gopher://example.com/")),
        Err(Refused::Scheme("gopher".into()))
    );
}
