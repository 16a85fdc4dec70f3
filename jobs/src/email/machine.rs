//! Telling likely machine opens and clicks from people's, so engagement counts stay honest.
//!
//! Rules, first match wins (the reason is recorded with the event):
//! 1. no user agent at all → `no user agent`;
//! 2. automation and headless clients (HeadlessChrome, PhantomJS, curl, python-requests, …) →
//!    `automated client`;
//! 3. security scanners and link checkers (bot, crawler, scanner, Proofpoint, Mimecast, Barracuda,
//!    SafeLinks, …) → `security scanner`;
//! 4. opens through mail-privacy proxies that prefetch every image (Apple Mail Privacy
//!    Protection's bare `Mozilla/5.0`, Yahoo's proxy) → `privacy proxy prefetch`;
//! 5. an open within the prefetch window of sending → `opened at delivery`;
//! 6. a click within the scanner window of sending → `clicked at delivery`;
//! 7. a burst: the same client following several different links of one email within seconds
//!    → `clicked many links at once` (see [`BurstDetector`]).
//!
//! Gmail's image proxy fetches on a real open, so it counts as human.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use moka::sync::Cache;

/// An open or a click, as the tracking endpoint saw it.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub is_click: bool,
    pub user_agent: &'a str,
    /// Milliseconds between building the message and this request.
    pub since_sent_ms: i64,
}

/// The windows of rules 5 and 6.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub prefetch_ms: u64,
    pub scanner_ms: u64,
}

const AUTOMATION: &[&str] = &[
    "headless",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "curl/",
    "wget/",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "httpclient",
    "postmanruntime",
    "electron/",
];

const SCANNERS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "scanner",
    "preview",
    "proofpoint",
    "mimecast",
    "barracuda",
    "safelinks",
    "urldefense",
    "symantec",
    "trend micro",
    "trendmicro",
    "forcepoint",
    "sophos",
    "fortiguard",
    "ironport",
    "zscaler",
    "virustotal",
    "urlscan",
    "checkpoint",
    "appriver",
    "microsoft office protocol discovery",
    "ms-office",
    "skypeuripreview",
];

const PRIVACY_PROXIES: &[&str] = &["yahoomailproxy", "yahoo! slurp"];

/// Why a sighting looks automated, or `None` for a person.
pub fn classify(s: &Sighting<'_>, windows: Windows) -> Option<&'static str> {
    let ua = s.user_agent.trim();
    if ua.is_empty() {
        return Some("no user agent");
    }
    let lower = ua.to_ascii_lowercase();
    if AUTOMATION.iter().any(|m| lower.contains(m)) {
        return Some("automated client");
    }
    if SCANNERS.iter().any(|m| lower.contains(m)) {
        return Some("security scanner");
    }
    if !s.is_click && (ua == "Mozilla/5.0" || PRIVACY_PROXIES.iter().any(|m| lower.contains(m))) {
        return Some("privacy proxy prefetch");
    }
    let since = u64::try_from(s.since_sent_ms).unwrap_or(0);
    if !s.is_click && since <= windows.prefetch_ms {
        return Some("opened at delivery");
    }
    if s.is_click && since <= windows.scanner_ms {
        return Some("clicked at delivery");
    }
    None
}

/// Distinct links one client may follow in [`BURST_WINDOW`] before it counts as a scanner.
pub const BURST_LINKS: usize = 3;
/// The window of rule 7.
pub const BURST_WINDOW: Duration = Duration::from_secs(5);

/// A link (by hash) followed at a time (ms).
type Seen = (u64, i64);

/// Remembers, per (email, client fingerprint), the links followed in the last few seconds.
/// In memory and per API process: a best-effort signal on top of the stateless rules.
#[derive(Clone)]
pub struct BurstDetector {
    recent: Cache<(String, String), Arc<Mutex<Vec<Seen>>>>,
}

impl Default for BurstDetector {
    fn default() -> Self {
        BurstDetector {
            recent: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(BURST_WINDOW)
                .build(),
        }
    }
}

impl BurstDetector {
    /// Records a click on `link_hash` at `now_ms`; true when this client has now followed
    /// [`BURST_LINKS`] or more different links of the email within the window.
    pub fn click(&self, email: &str, fingerprint: &str, link_hash: u64, now_ms: i64) -> bool {
        let entry = self
            .recent
            .get_with((email.to_owned(), fingerprint.to_owned()), || {
                Arc::new(Mutex::new(Vec::new()))
            });
        let Ok(mut seen) = entry.lock() else {
            return false;
        };
        let horizon = now_ms - BURST_WINDOW.as_millis() as i64;
        seen.retain(|(_, at)| *at >= horizon);
        if !seen.iter().any(|(h, _)| *h == link_hash) {
            seen.push((link_hash, now_ms));
        }
        seen.len() >= BURST_LINKS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Windows = Windows {
        prefetch_ms: 2_000,
        scanner_ms: 10_000,
    };
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    fn open(ua: &str, since: i64) -> Option<&'static str> {
        classify(
            &Sighting {
                is_click: false,
                user_agent: ua,
                since_sent_ms: since,
            },
            W,
        )
    }

    fn click(ua: &str, since: i64) -> Option<&'static str> {
        classify(
            &Sighting {
                is_click: true,
                user_agent: ua,
                since_sent_ms: since,
            },
            W,
        )
    }

    #[test]
    fn people_are_people() {
        assert_eq!(open(FIREFOX, 60_000), None);
        assert_eq!(click(FIREFOX, 60_000), None);
        assert_eq!(
            open(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) via ggpht.com GoogleImageProxy",
                60_000
            ),
            None
        );
    }

    #[test]
    fn machines_are_recognised_with_a_reason() {
        assert_eq!(open("", 60_000), Some("no user agent"));
        assert_eq!(
            open("Mozilla/5.0 HeadlessChrome/120.0", 60_000),
            Some("automated client")
        );
        assert_eq!(click("curl/8.5.0", 60_000), Some("automated client"));
        assert_eq!(
            click("Mozilla/5.0 (compatible; Barracuda Sentinel)", 60_000),
            Some("security scanner")
        );
        assert_eq!(open("Mozilla/5.0", 60_000), Some("privacy proxy prefetch"));
        assert_eq!(
            open("YahooMailProxy; https://help.yahoo.com", 60_000),
            Some("privacy proxy prefetch")
        );
        assert_eq!(open(FIREFOX, 500), Some("opened at delivery"));
        assert_eq!(click(FIREFOX, 3_000), Some("clicked at delivery"));
        assert_eq!(click(FIREFOX, 11_000), None);
    }

    #[test]
    fn a_burst_of_different_links_is_a_scanner() {
        let b = BurstDetector::default();
        assert!(!b.click("em_1", "fp", 1, 1_000));
        assert!(
            !b.click("em_1", "fp", 1, 1_100),
            "the same link again is not a burst"
        );
        assert!(!b.click("em_1", "fp", 2, 1_200));
        assert!(b.click("em_1", "fp", 3, 1_300));
        assert!(!b.click("em_1", "other", 3, 1_300), "another client");
        assert!(!b.click("em_2", "fp", 9, 20_000));
        assert!(!b.click("em_2", "fp", 8, 26_000), "outside the window");
    }
}
