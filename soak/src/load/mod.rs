//! Steady mixed load: one generator per kind, each submitting at its own rate until told to
//! stop, with a bounded number of submissions in flight (a submission retries through outages,
//! so during one they pile up; beyond the bound new ones are skipped and counted).

mod documents;
mod emails;
mod jobs;
mod payments;
mod tasks;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{Api, Created};
use crate::ledger::Ledger;
use crate::tenant::Tenant;
use crate::topology::Topology;

/// How long one submission keeps retrying through an outage before it gives up.
pub const SUBMIT_DEADLINE: Duration = Duration::from_secs(60);
/// Most submissions of one kind in flight at once.
const MAX_IN_FLIGHT: usize = 64;

/// Submissions per second, per kind.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub jobs: f64,
    pub emails: f64,
    pub payments: f64,
    pub tasks: f64,
    /// Certificates and receipts through `POST /v1/documents`.
    pub documents: f64,
    /// Certificate batches (20 to 50 recipients each).
    pub batches: f64,
}

impl Rates {
    /// The default mix times `scale`: light enough for debug builds on two cores, which also
    /// run PostgreSQL, Redis and the soak itself.
    pub fn scaled(scale: f64) -> Rates {
        Rates {
            jobs: 4.0 * scale,
            emails: 2.0 * scale,
            payments: 0.7 * scale,
            tasks: 3.0 * scale,
            documents: 0.5 * scale,
            // One a minute.
            batches: scale / 60.0,
        }
    }
}

/// The running generators.
pub struct Load {
    stop: CancellationToken,
    generators: JoinSet<()>,
    /// Ticks skipped because a kind had [`MAX_IN_FLIGHT`] submissions pending.
    pub skipped: Arc<AtomicU64>,
}

impl Load {
    /// Starts every generator. `seed` fixes each kind's mix (which emails bounce, which tasks
    /// fail first, which payments go through which gateway, a batch's recipients); timing, and so the exact interleaving, is the machine's.
    pub fn start(
        seed: u64,
        rates: Rates,
        tenant: &Tenant,
        topology: &Arc<Topology>,
        ledger: &Ledger,
    ) -> Load {
        let stop = CancellationToken::new();
        let skipped = Arc::new(AtomicU64::new(0));
        let mut generators = JoinSet::new();
        let ctx = Ctx {
            api: tenant.api.clone(),
            ledger: ledger.clone(),
        };
        {
            let (ctx, stop, skipped) = (ctx.clone(), stop.clone(), skipped.clone());
            let mut rng = mix(seed, Stream::Jobs);
            generators.spawn(pace(rates.jobs, stop, skipped, move |n| {
                jobs::submit(ctx.clone(), n, jobs::Mix::pick(&mut rng))
            }));
        }
        {
            let (ctx, stop, skipped) = (ctx.clone(), stop.clone(), skipped.clone());
            let mut rng = mix(seed, Stream::Emails);
            generators.spawn(pace(rates.emails, stop, skipped, move |n| {
                emails::submit(ctx.clone(), n, emails::Mix::pick(&mut rng))
            }));
        }
        {
            let tracker = emails::Tracker::new(ctx.clone(), topology.sink.clone());
            generators.spawn(tracker.run(stop.clone()));
        }
        {
            let (stop, skipped) = (stop.clone(), skipped.clone());
            let base = topology.base_url();
            let gateways = payments::Gateways {
                standard: payments::Gateway::new(
                    &base,
                    &tenant.gateway_id,
                    &tenant.gateway_secret,
                    payments::Provider::Standard,
                ),
                stripe: payments::Gateway::new(
                    &base,
                    &tenant.stripe_id,
                    &tenant.stripe_secret,
                    payments::Provider::Stripe,
                ),
            };
            let ctx = ctx.clone();
            let mut rng = mix(seed, Stream::Payments);
            generators.spawn(pace(rates.payments, stop, skipped, move |n| {
                payments::run(
                    ctx.clone(),
                    gateways.clone(),
                    n,
                    payments::Scenario::pick(&mut rng),
                )
            }));
        }
        {
            let (ctx, stop, skipped) = (ctx.clone(), stop.clone(), skipped.clone());
            let app = topology.task_app.url("");
            let mut rng = mix(seed, Stream::Tasks);
            generators.spawn(pace(rates.tasks, stop, skipped, move |n| {
                tasks::submit(ctx.clone(), app.clone(), n, tasks::Mix::pick(&mut rng))
            }));
        }
        {
            let (ctx, stop, skipped) = (ctx.clone(), stop.clone(), skipped.clone());
            let mut rng = mix(seed, Stream::Documents);
            generators.spawn(pace(rates.documents, stop, skipped, move |n| {
                documents::submit(ctx.clone(), n, documents::Mix::pick(&mut rng))
            }));
        }
        {
            let (ctx, stop, skipped) = (ctx.clone(), stop.clone(), skipped.clone());
            let mut rng = mix(seed, Stream::Batches);
            // The first batch comes after a seeded delay rather than at once, so that it expands
            // and renders while the faults (which start after a warm-up) are happening.
            let delay = Duration::from_secs(rng.random_range(10..=40));
            generators.spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                pace(rates.batches, stop, skipped, move |n| {
                    documents::submit_batch(ctx.clone(), n, documents::BatchMix::pick(&mut rng))
                })
                .await
            });
        }
        Load {
            stop,
            generators,
            skipped,
        }
    }

    /// Stops submitting and waits for the submissions in flight (each bounded by
    /// [`SUBMIT_DEADLINE`]).
    pub async fn stop(mut self) -> u64 {
        self.stop.cancel();
        while self.generators.join_next().await.is_some() {}
        self.skipped.load(Ordering::Relaxed)
    }
}

/// One random stream per kind (the fault plan draws from stream 0 of the same seed), so that a
/// change to one kind's mix leaves the others' and the plan as they were.
#[derive(Clone, Copy)]
enum Stream {
    Jobs = 1,
    Emails = 2,
    Payments = 3,
    Tasks = 4,
    Documents = 5,
    Batches = 6,
}

fn mix(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// What every submission needs.
#[derive(Clone)]
struct Ctx {
    api: Api,
    ledger: Ledger,
}

impl Ctx {
    /// Creates something through `POST path` with `Idempotency-Key: key`, retried through
    /// outages for up to [`SUBMIT_DEADLINE`]: the accepted resource's id, or `None` with the
    /// refusal or the abandonment recorded under `kind`.
    async fn create(
        &self,
        kind: &'static str,
        path: &str,
        body: &Value,
        key: &str,
    ) -> Option<String> {
        match self
            .api
            .create(Method::POST, path, body, key, SUBMIT_DEADLINE)
            .await
        {
            Created::Accepted(v) => Some(v["id"].as_str().unwrap_or_default().to_owned()),
            Created::Refused(a) => {
                self.ledger
                    .refused(kind, format!("{key}: {} {}", a.status, a.text));
                None
            }
            Created::GaveUp(last) => {
                self.ledger.gave_up(kind, key, &last);
                None
            }
        }
    }
}

/// Calls `submit(n)` for n = 0, 1, … at `rate` per second until `stop`, then waits for the
/// submissions still in flight.
async fn pace<F, Fut>(rate: f64, stop: CancellationToken, skipped: Arc<AtomicU64>, mut submit: F)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if rate <= 0.0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    let mut n = 0;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        while in_flight.try_join_next().is_some() {}
        if in_flight.len() >= MAX_IN_FLIGHT {
            skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        in_flight.spawn(submit(n));
        n += 1;
    }
    while in_flight.join_next().await.is_some() {}
}
