//! Request bodies that define outbound calls: HTTP tasks and their queues (`POST /v1/tasks`,
//! `POST /v1/queues`) and event endpoints (`POST /v1/event-endpoints`), read as the API reads
//! them (`JsonBody`: size aside, the same decoding).

use std::net::IpAddr;

use longshore_api::body::parse;
use longshore_api::routes::event_views::EventEndpointBody;
use longshore_api::routes::task_views::{QueueBody, TaskBody};
use longshore_jobs::events::endpoints::check_new;
use longshore_jobs::outbound::Destinations;
use longshore_jobs::tasks::input::{
    TaskInput, apply_settings, check_auth_headers, check_queue_name, format_duration,
    parse_duration,
};
use url::{Host, Url};

/// The JSON body of a new task, then of a new queue (the same bytes are tried as both).
///
/// Asserts, for a task that is accepted: its stored URL parses back to itself and passes the
/// destination check again when the received one did, naming a public address if it is an IP
/// literal (no SSRF through URL normalisation); its dispatch deadline prints and reads back
/// equal. For a queue: accepted retry settings keep `min_backoff <= max_backoff`.
pub fn task_request(data: &[u8]) {
    if let Ok(body) = parse::<TaskBody>(data) {
        let received = Url::parse(&body.http_request.url).ok();
        let deadline = body.dispatch_deadline.clone();
        if let Ok(task) = TaskInput::from(body).parse() {
            let stored = Url::parse(&task.request.url).expect("a stored task URL parses");
            assert_eq!(stored.as_str(), task.request.url);
            let policy = Destinations::default();
            if received.is_some_and(|u| policy.check_url(&u).is_ok()) {
                assert_eq!(policy.check_url(&stored), Ok(()));
                assert_public(&policy, &stored);
            }
            if let Some(d) = deadline {
                let d = parse_duration(&d).expect("an accepted deadline parses");
                assert_eq!(parse_duration(&format_duration(d)), Ok(d));
            }
        }
    }
    if let Ok(queue) = parse::<QueueBody>(data) {
        let _ = check_queue_name("name", &queue.name);
        let settings = apply_settings(
            Default::default(),
            queue.retry_config.map(Into::into),
            queue.rate_limits.map(Into::into),
        );
        if let Ok((retry, _)) = settings {
            assert!(retry.min_backoff <= retry.max_backoff);
        }
        if let Some(headers) = queue.http_auth_headers {
            let _ = check_auth_headers(&headers.into_iter().collect::<Vec<_>>());
        }
    }
}

/// The JSON body of a new event endpoint.
///
/// Asserts that an accepted endpoint's URL parses and, if its host is an IP literal, names a
/// public address (the default policy allows nothing else).
pub fn event_endpoint(data: &[u8]) {
    let Ok(body) = parse::<EventEndpointBody>(data) else {
        return;
    };
    let url = body.url.clone();
    let policy = Destinations::default();
    if check_new(body.into(), &policy).is_ok() {
        let parsed = Url::parse(&url).expect("an accepted endpoint URL parses");
        assert_public(&policy, &parsed);
    }
}

/// An IP-literal host of an accepted URL is one the policy lets Longshore connect to.
fn assert_public(policy: &Destinations, url: &Url) {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return,
    };
    assert_eq!(policy.refuses_addr(ip), None, "{url} was accepted");
}
