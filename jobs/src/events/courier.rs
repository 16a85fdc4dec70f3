//! Delivering events: the loop every worker runs.
//!
//! Deliveries do not go through the job queue. Each one is a row already (written with its
//! event, [`super::record`]); a queue job per delivery would add a Redis write, a lease and an
//! ack to every one of them, which measured 0.89 ms of CPU per HTTP task on this machine
//! (`longshore-bench tasks`): about 2,300 per second at most, where fan-out asks for 5,000. So
//! the courier claims due rows in batches straight from the database, under a lease
//! ([`super::deliveries`]), sends them concurrently and records their outcomes group-committed
//! ([`crate::db::batcher`]): per delivery, one claimed row, one finished row and one attempt
//! row, written a few hundred at a time.
//!
//! The loop looks for due deliveries when its process records events ([`wake`], after a
//! short pause that lets the recording transaction commit), when one of its own attempts
//! ends (a slot of that endpoint is free again), and every `LONGSHORE_EVENT_POLL_MS`
//! otherwise (events recorded by other processes, retries coming due).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::sync::Cache;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{Notify, Semaphore};

use super::data::endpoint::EndpointEventData;
use super::deliveries::{self, Claimed, Outcome, Then};
use super::endpoints::{self, Target};
use super::kinds::EventType;
use super::model::NewEvent;
use super::schedule::RetrySchedule;
use crate::clock::{from_ms, now_ms};
use crate::config::{Config, Secret};
use crate::db::Db;
use crate::db::batcher::Batcher;
use crate::ids::{EventEndpointId, EventId};
use crate::outbound::{LazyOutbound, OutboundRequest, OutboundResponse, signing};
use crate::secret_box::Sealer;
use crate::throttle::{Admission, Limits, Throttle};

/// Wakes this process's courier when it records events.
static RECORDED: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells this process's courier that events were recorded (it looks after a short pause, so
/// the recording transaction has committed by then).
pub fn wake() {
    RECORDED.notify_one();
}

/// The pause between a wake-up (events recorded, attempts finished) and the next claim: lets
/// the recording transaction commit, and gathers what comes meanwhile into one claim. A claim
/// per finished attempt made each email event cost a claim statement of its own while emails
/// trickled in (`longshore-bench events`: email throughput 24 % lower with an endpoint, with
/// a 3 ms pause).
const SETTLE: Duration = Duration::from_millis(25);
/// Attempts out at once in one worker, across endpoints.
const MAX_IN_FLIGHT: usize = 2_000;
/// Rows claimed per statement, at most.
const CLAIM_BATCH: usize = 500;
/// Outcomes recorded per statement, at most.
const RECORD_BATCH: usize = 500;
/// Extra lease time beyond the answer's timeout (the outcome still has to be written, which
/// takes milliseconds; a worker that died is noticed this much after the timeout).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long an endpoint's settings and secrets are reused (a change applies within it).
const TARGET_TTL: Duration = Duration::from_secs(1);
/// Retry delay when the database or the secrets key cannot say how to send.
const UNAVAILABLE: Duration = Duration::from_secs(5);
/// How much of an answer's body is kept in the attempt log.
const EXCERPT_CHARS: usize = 1024;
/// How often at most one endpoint's failure run is checked against the disable limit.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);

/// What this worker last wrote about an endpoint's health, so a run of successes (or of
/// failures) costs one write, not one per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Healthy,
    Failing { checked: Instant },
}

/// Sends events for one worker process.
pub struct Courier {
    db: Db,
    outbound: Arc<LazyOutbound>,
    throttle: Arc<dyn Throttle>,
    sealer: Sealer,
    schedule: RetrySchedule,
    timeout: Duration,
    poll: Duration,
    disable_after_ms: i64,
    targets: Cache<EventEndpointId, Option<Arc<Target>>>,
    records: Batcher<Outcome, bool>,
    health: Mutex<HashMap<EventEndpointId, Health>>,
    slots: Arc<Semaphore>,
    finished: Notify,
}

impl Courier {
    /// A courier over `db`, sending with `outbound`, rate-limited by `throttle`.
    pub fn new(
        config: Arc<Config>,
        db: Db,
        outbound: Arc<LazyOutbound>,
        throttle: Arc<dyn Throttle>,
    ) -> Courier {
        let schedule = RetrySchedule::parse(&config.event_retry_schedule)
            .unwrap_or_else(|_| RetrySchedule::parse("0s").expect("a literal schedule"));
        let now = || now_ms();
        let records = Batcher::start(db.clone(), RECORD_BATCH, move |db, batch| async move {
            deliveries::finish(&db, batch, now()).await
        });
        Courier {
            timeout: Duration::from_secs(config.event_timeout_secs),
            poll: Duration::from_millis(config.event_poll_ms),
            disable_after_ms: i64::try_from(config.event_disable_after_secs)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(1000),
            sealer: Sealer::new(config),
            schedule,
            db,
            outbound,
            throttle,
            targets: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TARGET_TTL)
                .build(),
            records,
            health: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            finished: Notify::new(),
        }
    }

    /// Claims and sends due deliveries until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            let free = self.slots.available_permits().min(CLAIM_BATCH);
            if free == 0 {
                self.finished.notified().await;
                continue;
            }
            let lease = millis(self.timeout + LEASE_MARGIN);
            let token = format!("{:016x}", rand::random::<u64>());
            match deliveries::claim(&self.db, lease, &token, free).await {
                Ok(claims) if !claims.is_empty() => {
                    let full = claims.len() == free;
                    self.start(claims).await;
                    if full {
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim event deliveries"),
            }
            tokio::select! {
                _ = RECORDED.notified() => tokio::time::sleep(SETTLE).await,
                _ = self.finished.notified() => tokio::time::sleep(SETTLE).await,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Waits (up to `limit`) for the attempts under way once the loop is stopped: what they
    /// do not finish is sent again after their lease, under the same event id.
    pub async fn drain(&self, limit: Duration) {
        let all = u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX);
        match tokio::time::timeout(limit, self.slots.acquire_many(all)).await {
            Ok(Ok(permits)) => drop(permits),
            _ => tracing::warn!(
                "event attempts still under way at shutdown; their leases expire and they are sent again"
            ),
        }
    }

    /// Starts an attempt for each claim.
    async fn start(self: &Arc<Self>, claims: Vec<Claimed>) {
        let ids: Vec<&EventId> = claims.iter().map(|c| &c.event).collect();
        let bodies: HashMap<EventId, Bytes> = match deliveries::bodies(&self.db, &ids).await {
            Ok(found) => found
                .into_iter()
                .map(|(id, body)| (id, Bytes::from(body)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read events; their deliveries wait");
                if let Err(e) = deliveries::give_back(&self.db, &claims, millis(UNAVAILABLE)).await
                {
                    tracing::warn!(error = %e, "could not give deliveries back; their leases expire");
                }
                return;
            }
        };
        for claim in claims {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let body = bodies.get(&claim.event).cloned();
            let me = self.clone();
            tokio::spawn(async move {
                me.attempt(claim, body).await;
                drop(slot);
                me.finished.notify_one();
            });
        }
    }

    async fn target(&self, id: &EventEndpointId) -> Result<Option<Arc<Target>>, String> {
        if let Some(hit) = self.targets.get(id) {
            return Ok(hit);
        }
        let sealer = self.sealer.get().map_err(|e| e.to_string())?;
        let found = endpoints::target(&self.db, &sealer, id, now_ms())
            .await
            .map_err(|e| e.to_string())?
            .map(Arc::new);
        self.targets.insert(id.clone(), found.clone());
        Ok(found)
    }

    /// One attempt: send, judge, record.
    async fn attempt(&self, claim: Claimed, body: Option<Bytes>) {
        let target = match self.target(&claim.endpoint).await {
            Ok(Some(t)) => t,
            // Deleted with its deliveries: nothing left to record.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, endpoint = %claim.endpoint, "cannot read an event endpoint; retrying later");
                self.give_back(&[claim], UNAVAILABLE).await;
                return;
            }
        };
        let Some(body) = body else {
            let why = Unsent::permanent("the event is no longer kept");
            self.settle(claim, now_ms(), None, Err(why), Then::Failed)
                .await;
            return;
        };
        if !target.enabled {
            let why = Unsent::permanent("the endpoint is disabled");
            self.settle(claim, now_ms(), None, Err(why), Then::Failed)
                .await;
            return;
        }
        let permit = match target.rate_per_second {
            None => None,
            Some(rate) => match self.admit(&claim, rate).await {
                Ok(permit) => permit,
                Err(wait) => {
                    self.give_back(&[claim], wait).await;
                    return;
                }
            },
        };
        let started = now_ms();
        let sent = self.send(&claim, &target, body).await;
        if let Some(permit) = permit
            && let Err(e) = self.throttle.release(&permit).await
        {
            tracing::debug!(error = %e, "could not free an event rate slot; it expires by itself");
        }
        let then = self.judge(&claim, &sent);
        self.settle(claim, started, Some(&target), sent, then).await;
    }

    /// Asks the endpoint's rate limit for a turn: a permit to release, or how long to wait.
    async fn admit(
        &self,
        claim: &Claimed,
        rate: f64,
    ) -> Result<Option<crate::throttle::Permit>, Duration> {
        let limits = Limits {
            per_second: rate,
            burst: rate.ceil().max(1.0) as u32,
            max_concurrent: 0,
        };
        let key = format!("evt/{}", claim.endpoint.as_str());
        let who = format!("{}/{}", claim.event.as_str(), claim.attempt);
        match self
            .throttle
            .admit(&key, &who, &limits, self.timeout + LEASE_MARGIN)
            .await
        {
            Ok(Admission::Go(permit)) => Ok(Some(permit)),
            Ok(Admission::Wait(delay)) => Err(delay),
            Err(e) => {
                tracing::warn!(error = %e, "event rate limits unreachable; waiting");
                Err(UNAVAILABLE)
            }
        }
    }

    /// Signs and sends the event; the endpoint's answer, or why there was none.
    async fn send(
        &self,
        claim: &Claimed,
        target: &Target,
        body: Bytes,
    ) -> Result<OutboundResponse, Unsent> {
        let retry = |why: String| Unsent {
            why,
            permanent: false,
        };
        let client = self.outbound.get().map_err(|e| retry(e.to_owned()))?;
        let keys: Vec<&str> = target.secrets.iter().map(Secret::expose).collect();
        let signed = signing::sign(&keys, claim.event.as_str(), now_ms() / 1000, &body)
            .map_err(|e| retry(format!("cannot sign: {e}")))?;
        let url = url::Url::parse(&target.url).map_err(|e| Unsent {
            why: format!("bad URL: {e}"),
            permanent: true,
        })?;
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in signed.headers() {
            let value = HeaderValue::from_str(value).map_err(|e| retry(e.to_string()))?;
            headers.insert(HeaderName::from_static(name), value);
        }
        let request = OutboundRequest {
            method: reqwest::Method::POST,
            url,
            headers,
            body,
            timeout: self.timeout,
        };
        client.send(request).await.map_err(|e| Unsent {
            permanent: e.is_permanent(),
            why: e.to_string(),
        })
    }

    /// What comes after this attempt: 2xx succeeds; 410 Gone fails the delivery (and disables
    /// the endpoint, see [`Self::settle`]); a refused destination fails it; anything else is
    /// retried by the schedule, at the endpoint's `Retry-After` when it gives one.
    fn judge(&self, claim: &Claimed, sent: &Result<OutboundResponse, Unsent>) -> Then {
        let retry_after = match sent {
            Ok(r) if (200..300).contains(&r.status) => return Then::Succeeded,
            Ok(r) if r.status == GONE => return Then::Failed,
            Ok(r) => r.retry_after,
            Err(u) if u.permanent => return Then::Failed,
            Err(_) => None,
        };
        match self.schedule.after_failure(claim.in_schedule, retry_after) {
            Some(delay) => Then::RetryIn(millis(delay)),
            None => Then::Failed,
        }
    }

    /// Records the attempt, then keeps the endpoint's health up to date.
    async fn settle(
        &self,
        claim: Claimed,
        started: i64,
        target: Option<&Target>,
        sent: Result<OutboundResponse, Unsent>,
        then: Then,
    ) {
        let (status, error, excerpt, latency) = match &sent {
            Ok(r) => (
                Some(i64::from(r.status)),
                (!(200..300).contains(&r.status)).then(|| format!("HTTP {}", r.status)),
                Some(r.excerpt_text(EXCERPT_CHARS)),
                millis(r.elapsed),
            ),
            Err(u) => (None, Some(u.why.clone()), None, now_ms() - started),
        };
        let gone = matches!(&sent, Ok(r) if r.status == GONE);
        let endpoint = claim.endpoint.clone();
        let tenant = claim.tenant.clone();
        let outcome = Outcome {
            claimed: claim,
            started_at: started,
            latency_ms: latency,
            status,
            error,
            excerpt,
            then,
        };
        match self.records.call(outcome).await {
            Ok(true) => {}
            // A late outcome: another worker holds the delivery now.
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not record an event attempt; its lease expires and it is tried again");
                return;
            }
        }
        let Some(target) = target else {
            return;
        };
        if gone {
            self.disable(&endpoint, &tenant, &target.url, "gone").await;
        } else if then == Then::Succeeded {
            self.healthy(&endpoint).await;
        } else {
            self.failing(&endpoint, &tenant, &target.url).await;
        }
    }

    async fn healthy(&self, endpoint: &EventEndpointId) {
        let known = self
            .health
            .lock()
            .map(|h| h.get(endpoint).copied())
            .ok()
            .flatten();
        if known == Some(Health::Healthy) {
            return;
        }
        match endpoints::mark_healthy(&self.db, endpoint).await {
            Ok(()) => {
                if let Ok(mut h) = self.health.lock() {
                    h.insert(endpoint.clone(), Health::Healthy);
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not clear an endpoint's failure run"),
        }
    }

    async fn failing(&self, endpoint: &EventEndpointId, tenant: &crate::ids::TenantId, url: &str) {
        let due = match self.health.lock() {
            Ok(mut h) => match h.get(endpoint) {
                Some(Health::Failing { checked }) if checked.elapsed() < HEALTH_CHECK_EVERY => {
                    false
                }
                _ => {
                    h.insert(
                        endpoint.clone(),
                        Health::Failing {
                            checked: Instant::now(),
                        },
                    );
                    true
                }
            },
            Err(_) => true,
        };
        if !due {
            return;
        }
        let now = now_ms();
        match endpoints::mark_failing(&self.db, endpoint, now).await {
            Ok(Some(since)) if now - since >= self.disable_after_ms => {
                self.disable(endpoint, tenant, url, "failing").await;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "could not note an endpoint's failure"),
        }
    }

    /// Disables the endpoint and tells the tenant's other endpoints (`endpoint.disabled`).
    async fn disable(
        &self,
        endpoint: &EventEndpointId,
        tenant: &crate::ids::TenantId,
        url: &str,
        reason: &str,
    ) {
        let now = now_ms();
        match endpoints::disable(&self.db, endpoint, reason, now, |failing_since| {
            let data = EndpointEventData {
                endpoint_id: endpoint.as_str().to_owned(),
                url: url.to_owned(),
                reason: reason.to_owned(),
                failing_since: failing_since.map(from_ms),
                disabled_at: from_ms(now),
            };
            NewEvent::of_change(
                tenant,
                EventType::EndpointDisabled,
                endpoint.as_str(),
                now,
                &format!("{}/{now}", endpoint.as_str()),
                &data,
            )
        })
        .await
        {
            Ok(true) => {
                tracing::warn!(endpoint = %endpoint, reason, "event endpoint disabled");
                self.targets.invalidate(endpoint);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not disable an event endpoint"),
        }
    }

    async fn give_back(&self, claims: &[Claimed], wait: Duration) {
        if let Err(e) = deliveries::give_back(&self.db, claims, millis(wait)).await {
            tracing::warn!(error = %e, "could not give event deliveries back; their leases expire");
        }
    }
}

/// 410 Gone: the endpoint asks never to be called again.
const GONE: u16 = 410;

/// Why an attempt got no answer; `permanent` when trying again cannot help.
#[derive(Debug, Clone)]
struct Unsent {
    why: String,
    permanent: bool,
}

impl Unsent {
    fn permanent(why: &str) -> Unsent {
        Unsent {
            why: why.to_owned(),
            permanent: true,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
