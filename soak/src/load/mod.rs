//! Steady mixed load: one generator per kind, each submitting at its own rate until told to
//! stop, with a bounded number of submissions in flight (a submission retries through outages,
//! so during one they pile up; beyond the bound new ones are skipped and counted).

mod emails;
mod jobs;
mod payments;
mod tasks;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
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
    /// fail first); timing, and so the exact interleaving, is the machine's.
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
            let gateway = payments::Gateway::new(
                &topology.base_url(),
                &tenant.gateway_id,
                &tenant.gateway_secret,
            );
            let ctx = ctx.clone();
            let mut rng = mix(seed, Stream::Payments);
            generators.spawn(pace(rates.payments, stop, skipped, move |n| {
                payments::run(
                    ctx.clone(),
                    gateway.clone(),
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
