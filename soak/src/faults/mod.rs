//! Faults: what can go wrong in a deployment, a seeded plan of when (printed first, so that a
//! failing run can be replayed with `--seed`), and the injection of each into the topology.

mod inject;
pub mod plan;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use longshore_testkit::StopMode;

pub use inject::run;
pub use plan::{Lane, Plan, Planned};

/// One fault, with how long it lasts.
#[derive(Debug, Clone)]
pub enum Fault {
    /// SIGKILL a worker; start it again after `down`.
    KillWorker { worker: usize, down: Duration },
    /// SIGTERM the API (it drains for up to 10 s) and start it again at once.
    RestartApi,
    /// SIGKILL Redis (AOF `everysec`: up to the last second of writes lost); start it again on
    /// the same folder after `down`.
    KillRedis { down: Duration },
    /// `pg_ctl stop -m fast|immediate`; start again after `down`.
    RestartPostgres { mode: StopMode, down: Duration },
    /// SIGSTOP a worker for longer than its lease, then SIGCONT: a zombie whose acknowledgements
    /// must be fenced off and whose effects must not be applied twice.
    PauseWorker { worker: usize, paused: Duration },
    /// The SMTP server answers 4xx to every message for `tempfail`, then connections drop for
    /// `drop` (half at connect, half after the message was stored, before the reply).
    SmtpOutage { tempfail: Duration, drop: Duration },
    /// The app HTTP tasks call answers 500 for `fail`, then hangs for `hang`.
    TaskAppOutage { fail: Duration, hang: Duration },
    /// The app events go to answers 500 for `fail`, then hangs for `hang`.
    EventAppOutage { fail: Duration, hang: Duration },
    /// SIGTERM a scheduler; start it again after `down` (the other keeps ticking).
    StopScheduler { scheduler: usize, down: Duration },
}

impl Fault {
    /// How long the fault lasts, roughly (restarts take a moment on top).
    pub fn span(&self) -> Duration {
        match self {
            Fault::KillWorker { down, .. } => *down + Duration::from_secs(1),
            Fault::RestartApi => Duration::from_secs(4),
            Fault::KillRedis { down } => *down + Duration::from_secs(1),
            Fault::RestartPostgres { down, .. } => *down + Duration::from_secs(2),
            Fault::PauseWorker { paused, .. } => *paused + Duration::from_secs(3),
            Fault::SmtpOutage { tempfail, drop } => *tempfail + *drop,
            Fault::TaskAppOutage { fail, hang } | Fault::EventAppOutage { fail, hang } => {
                *fail + *hang
            }
            Fault::StopScheduler { down, .. } => *down + Duration::from_secs(1),
        }
    }

    /// A short name for tables.
    pub fn short(&self) -> String {
        match self {
            Fault::KillWorker { worker, .. } => format!("kill worker-{}", worker + 1),
            Fault::RestartApi => "restart api".into(),
            Fault::KillRedis { .. } => "kill redis".into(),
            Fault::RestartPostgres { mode, .. } => format!("restart pg ({})", mode_name(*mode)),
            Fault::PauseWorker { worker, .. } => format!("zombie worker-{}", worker + 1),
            Fault::SmtpOutage { .. } => "smtp 4xx+drops".into(),
            Fault::TaskAppOutage { .. } => "task app 500+hang".into(),
            Fault::EventAppOutage { .. } => "event app 500+hang".into(),
            Fault::StopScheduler { scheduler, .. } => format!("stop scheduler-{}", scheduler + 1),
        }
    }
}

fn mode_name(mode: StopMode) -> &'static str {
    match mode {
        StopMode::Fast => "fast",
        StopMode::Immediate => "immediate",
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::KillWorker { worker, down } => {
                write!(
                    f,
                    "SIGKILL worker-{}, start it again after {}",
                    worker + 1,
                    secs(*down)
                )
            }
            Fault::RestartApi => write!(f, "SIGTERM the API, start it again"),
            Fault::KillRedis { down } => {
                write!(
                    f,
                    "SIGKILL redis-server, start it again (same AOF) after {}",
                    secs(*down)
                )
            }
            Fault::RestartPostgres { mode, down } => write!(
                f,
                "pg_ctl stop -m {}, start again after {}",
                mode_name(*mode),
                secs(*down)
            ),
            Fault::PauseWorker { worker, paused } => {
                write!(
                    f,
                    "SIGSTOP worker-{} for {} (past its lease), then SIGCONT",
                    worker + 1,
                    secs(*paused)
                )
            }
            Fault::SmtpOutage { tempfail, drop } => write!(
                f,
                "SMTP answers 451 for {}, then drops connections for {}",
                secs(*tempfail),
                secs(*drop)
            ),
            Fault::TaskAppOutage { fail, hang } => {
                write!(
                    f,
                    "task app answers 500 for {}, then hangs for {}",
                    secs(*fail),
                    secs(*hang)
                )
            }
            Fault::EventAppOutage { fail, hang } => {
                write!(
                    f,
                    "event app answers 500 for {}, then hangs for {}",
                    secs(*fail),
                    secs(*hang)
                )
            }
            Fault::StopScheduler { scheduler, down } => {
                write!(
                    f,
                    "SIGTERM scheduler-{}, start it again after {}",
                    scheduler + 1,
                    secs(*down)
                )
            }
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct Window {
    pub planned: Planned,
    /// When the fault began (the signal, the first refused message).
    pub started: DateTime<Utc>,
    /// When the component was back (restarted and ready, answering normally again).
    pub ended: DateTime<Utc>,
    /// What was observed while injecting it (fenced acknowledgements, swallowed replies).
    pub note: String,
}
