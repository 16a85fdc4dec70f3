//! The seeded fault plan. Faults run in two lanes at once, each one fault at a time with gaps
//! between: *processes* (Longshore's own processes, Redis, PostgreSQL) and *dependencies* (the
//! SMTP server, the tenant's apps, a scheduler). A lane repeats rounds of its faults in a
//! shuffled order until the load's end draws near; when a round does not fit, its durations
//! shrink (never a pause shorter than the lease) and what still does not fit is left out and
//! listed. The same seed and duration give the same plan.

use std::fmt;
use std::time::Duration;

use longshore_testkit::StopMode;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Fault;

/// Which lane a fault runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Processes,
    Dependencies,
}

/// A fault and when it starts, from the start of the load.
#[derive(Debug, Clone)]
pub struct Planned {
    pub at: Duration,
    pub lane: Lane,
    pub fault: Fault,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub faults: Vec<Planned>,
    /// Faults of a round that did not fit before the end.
    pub left_out: Vec<Fault>,
}

/// What the plan needs to know about the deployment.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub load: Duration,
    pub lease: Duration,
    pub workers: usize,
    pub schedulers: usize,
}

/// Kinds of fault per lane, before their details are drawn.
#[derive(Debug, Clone, Copy)]
enum Kind {
    KillWorker,
    RestartApi,
    KillRedis,
    RestartPostgres,
    PauseWorker,
    Smtp,
    TaskApp,
    EventApp,
    StopScheduler,
}

const PROCESSES: [Kind; 5] = [
    Kind::KillWorker,
    Kind::RestartApi,
    Kind::KillRedis,
    Kind::RestartPostgres,
    Kind::PauseWorker,
];
const DEPENDENCIES: [Kind; 4] = [
    Kind::Smtp,
    Kind::TaskApp,
    Kind::EventApp,
    Kind::StopScheduler,
];

impl Plan {
    /// Draws the plan for `seed`.
    pub fn generate(seed: u64, shape: Shape) -> Plan {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Faults start after a warm-up and end before a quiet tail, so that the steady state
        // before and the recovery after are both seen under load.
        let warmup = (shape.load / 8).clamp(Duration::from_secs(5), Duration::from_secs(20));
        let end = shape.load.saturating_sub(
            (shape.load / 8).clamp(Duration::from_secs(10), Duration::from_secs(30)),
        );
        let mut faults = Vec::new();
        let mut left_out = Vec::new();
        for (lane, kinds) in [
            (Lane::Processes, &PROCESSES[..]),
            (Lane::Dependencies, &DEPENDENCIES[..]),
        ] {
            let mut at = warmup + Duration::from_millis(rng.random_range(0..3000));
            for round_index in 0.. {
                let mut round = kinds.to_vec();
                round.shuffle(&mut rng);
                let mut drawn: Vec<(Fault, Duration)> = round
                    .iter()
                    .map(|k| {
                        (
                            draw(*k, &mut rng, shape),
                            Duration::from_millis(rng.random_range(3000..8000)),
                        )
                    })
                    .collect();
                let needed: Duration = drawn.iter().map(|(f, gap)| f.span() + *gap).sum();
                let left = end.saturating_sub(at);
                if needed > left {
                    let factor = (left.as_secs_f64() / needed.as_secs_f64()).max(0.4);
                    for (f, gap) in &mut drawn {
                        *f = shrink(f, factor, shape.lease);
                        *gap = gap.mul_f64(factor.max(0.6));
                    }
                }
                let mut placed = 0;
                for (fault, gap) in drawn {
                    if at + fault.span() > end {
                        // Only a first round's misses are faults this run never exercises.
                        if round_index == 0 {
                            left_out.push(fault);
                        }
                        continue;
                    }
                    let span = fault.span();
                    faults.push(Planned { at, lane, fault });
                    at += span + gap;
                    placed += 1;
                }
                if placed < kinds.len() {
                    break;
                }
            }
        }
        faults.sort_by_key(|p| p.at);
        Plan {
            seed,
            faults,
            left_out,
        }
    }
}

fn between(rng: &mut impl Rng, from_ms: u64, to_ms: u64) -> Duration {
    Duration::from_millis(rng.random_range(from_ms..=to_ms))
}

/// A fault of `kind` with its details drawn.
fn draw(kind: Kind, rng: &mut impl Rng, shape: Shape) -> Fault {
    let lease_ms = shape.lease.as_millis() as u64;
    match kind {
        Kind::KillWorker => Fault::KillWorker {
            worker: rng.random_range(0..shape.workers),
            down: between(rng, 500, 4000),
        },
        Kind::RestartApi => Fault::RestartApi,
        Kind::KillRedis => Fault::KillRedis {
            down: between(rng, 500, 5000),
        },
        Kind::RestartPostgres => Fault::RestartPostgres {
            mode: if rng.random_bool(0.5) {
                StopMode::Fast
            } else {
                StopMode::Immediate
            },
            down: between(rng, 500, 5000),
        },
        Kind::PauseWorker => Fault::PauseWorker {
            worker: rng.random_range(0..shape.workers),
            paused: between(rng, lease_ms + 2000, lease_ms + 6000),
        },
        Kind::Smtp => Fault::SmtpOutage {
            tempfail: between(rng, 5000, 12_000),
            drop: between(rng, 5000, 12_000),
        },
        Kind::TaskApp => Fault::TaskAppOutage {
            fail: between(rng, 4000, 10_000),
            hang: between(rng, 4000, 10_000),
        },
        Kind::EventApp => Fault::EventAppOutage {
            fail: between(rng, 4000, 10_000),
            hang: between(rng, 4000, 10_000),
        },
        Kind::StopScheduler => Fault::StopScheduler {
            scheduler: rng.random_range(0..shape.schedulers),
            down: between(rng, 8000, 20_000),
        },
    }
}

/// `fault` with its durations times `factor`, a pause still past the lease.
fn shrink(fault: &Fault, factor: f64, lease: Duration) -> Fault {
    let s = |d: &Duration| d.mul_f64(factor).max(Duration::from_millis(500));
    match fault {
        Fault::KillWorker { worker, down } => Fault::KillWorker {
            worker: *worker,
            down: s(down),
        },
        Fault::RestartApi => Fault::RestartApi,
        Fault::KillRedis { down } => Fault::KillRedis { down: s(down) },
        Fault::RestartPostgres { mode, down } => Fault::RestartPostgres {
            mode: *mode,
            down: s(down),
        },
        Fault::PauseWorker { worker, paused } => Fault::PauseWorker {
            worker: *worker,
            paused: s(paused).max(lease + Duration::from_secs(2)),
        },
        Fault::SmtpOutage { tempfail, drop } => Fault::SmtpOutage {
            tempfail: s(tempfail),
            drop: s(drop),
        },
        Fault::TaskAppOutage { fail, hang } => Fault::TaskAppOutage {
            fail: s(fail),
            hang: s(hang),
        },
        Fault::EventAppOutage { fail, hang } => Fault::EventAppOutage {
            fail: s(fail),
            hang: s(hang),
        },
        Fault::StopScheduler { scheduler, down } => Fault::StopScheduler {
            scheduler: *scheduler,
            down: s(down),
        },
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Fault plan (seed {}): {} faults",
            self.seed,
            self.faults.len()
        )?;
        for p in &self.faults {
            let lane = match p.lane {
                Lane::Processes => "processes",
                Lane::Dependencies => "dependencies",
            };
            writeln!(
                f,
                "  +{:>6.1}s  [{lane:<12}] {}",
                p.at.as_secs_f64(),
                p.fault
            )?;
        }
        for fault in &self.left_out {
            writeln!(f, "  (left out, no time: {fault})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(secs: u64) -> Shape {
        Shape {
            load: Duration::from_secs(secs),
            lease: Duration::from_secs(5),
            workers: 2,
            schedulers: 2,
        }
    }

    #[test]
    fn a_seed_replays_the_same_plan() {
        let a = Plan::generate(7, shape(120)).to_string();
        let b = Plan::generate(7, shape(120)).to_string();
        assert_eq!(a, b);
        assert_ne!(a, Plan::generate(8, shape(120)).to_string());
    }

    #[test]
    fn every_kind_fits_in_two_minutes_and_lanes_do_not_overlap() {
        for seed in 0..50 {
            let plan = Plan::generate(seed, shape(120));
            assert!(plan.left_out.is_empty(), "seed {seed}: {plan}");
            assert!(plan.faults.len() >= 9, "seed {seed}: {plan}");
            for lane in [Lane::Processes, Lane::Dependencies] {
                let mine: Vec<_> = plan.faults.iter().filter(|p| p.lane == lane).collect();
                for pair in mine.windows(2) {
                    assert!(
                        pair[0].at + pair[0].fault.span() <= pair[1].at,
                        "seed {seed}: {plan}"
                    );
                }
                let last = mine.last().expect("a fault");
                assert!(
                    last.at + last.fault.span() <= Duration::from_secs(110),
                    "seed {seed}: {plan}"
                );
            }
            for p in &plan.faults {
                if let Fault::PauseWorker { paused, .. } = p.fault {
                    assert!(paused > Duration::from_secs(5), "past the lease");
                }
            }
        }
    }
}
