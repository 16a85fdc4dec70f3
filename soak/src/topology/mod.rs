//! The production topology on throwaway servers: PostgreSQL, Redis (AOF `everysec`), the API,
//! two workers and two schedulers as real processes, an SMTP sink behind a proxy that can drop
//! connections, and the tenant's app for HTTP tasks and for events. Everything listens on
//! loopback ports and lives in one temporary folder (the processes' logs among it).

mod receiver;
mod service;
mod smtp_proxy;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use longshore_testkit::{SmtpSink, TestPostgres, TestRedis, free_port};

pub use receiver::{Health, Receiver, Seen};
pub use service::Service;
pub use smtp_proxy::SmtpProxy;

/// Timings shortened from the production defaults so that a fault and its recovery fit in a
/// soak of minutes; each is an operator setting, named as the processes read it.
pub const TIMINGS: &[(&str, &str)] = &[
    // A worker's jobs are taken over 5 s after it stops renewing (the zombie fault pauses a
    // worker past this).
    ("LONGSHORE_LEASE_SECS", "5"),
    // The same for render and batch jobs (the `documents` queue; 120 s in production), so that
    // a killed or paused worker's documents are taken over within the fault too.
    ("LONGSHORE_DOCUMENTS_LEASE_SECS", "5"),
    // An email's send claim lapses after 2 × this + 15 s (25 s).
    ("LONGSHORE_SMTP_TIMEOUT_SECS", "5"),
    ("LONGSHORE_EMAIL_RETRY_BASE_MS", "2000"),
    ("LONGSHORE_EMAIL_RETRY_MAX_MS", "10000"),
    // An event delivery's lease is this + 5 s; a hanging receiver costs this per attempt.
    ("LONGSHORE_EVENT_TIMEOUT_SECS", "5"),
    // About five minutes of attempts: longer than any planned receiver outage.
    (
        "LONGSHORE_EVENT_RETRY_SCHEDULE",
        "0s,1s,2s,4s,8s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s",
    ),
    ("LONGSHORE_RECOVERY_AFTER_SECS", "10"),
    ("LONGSHORE_WEBHOOK_SWEEP_AFTER_SECS", "10"),
    ("LONGSHORE_SHUTDOWN_TIMEOUT_SECS", "10"),
    ("LONGSHORE_SCHEDULER_REFRESH_MS", "1000"),
];

/// The workers' lease, as [`TIMINGS`] sets it (the fault plan pauses a worker past it).
pub const LEASE: Duration = Duration::from_secs(5);

/// The Longshore binaries the topology runs.
pub const BINARIES: [&str; 3] = ["longshore-api", "longshore-worker", "longshore-scheduler"];

/// The processes of the deployment, each behind its own lock so that two fault lanes can act
/// on different ones at once.
pub struct Topology {
    pub dir: PathBuf,
    pub postgres: TestPostgres,
    redis: Mutex<TestRedis>,
    api: Mutex<Service>,
    workers: Vec<Mutex<Service>>,
    schedulers: Vec<Mutex<Service>>,
    pub sink: Arc<SmtpSink>,
    pub smtp_proxy: SmtpProxy,
    /// The app HTTP tasks call.
    pub task_app: Receiver,
    /// The app events are posted to.
    pub event_app: Receiver,
    env: Vec<(String, String)>,
    bin_dir: PathBuf,
    api_port: u16,
}

impl Topology {
    /// Starts the servers, migrates, starts the API (waiting until it is ready), the workers
    /// and the schedulers.
    pub async fn start(
        dir: &Path,
        bin_dir: &Path,
        workers: usize,
        schedulers: usize,
    ) -> anyhow::Result<Topology> {
        let bin_dir = &pin_binaries(bin_dir, &dir.join("bin"))?;
        let (postgres, redis) =
            tokio::task::spawn_blocking(|| (TestPostgres::start(), TestRedis::start())).await?;
        let sink = Arc::new(SmtpSink::start());
        let smtp_proxy = SmtpProxy::start(sink.port()).await?;
        let task_app = Receiver::start().await?;
        let event_app = Receiver::start().await?;
        let api_port = free_port();
        let secrets_key =
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), postgres.url()),
            ("REDIS_URL".into(), redis.url()),
            (
                "LONGSHORE_DATA_DIR".into(),
                dir.join("data").display().to_string(),
            ),
            (
                "LONGSHORE_SECRETS_KEYS".into(),
                format!("soak:{secrets_key}"),
            ),
            ("LONGSHORE_SMTP_URL".into(), smtp_proxy.url()),
            ("LONGSHORE_OUTBOUND_ALLOW".into(), "127.0.0.1/32".into()),
            ("RUST_LOG".into(), "info".into()),
            // Plain logs, to grep.
            ("NO_COLOR".into(), "1".into()),
        ];
        env.extend(
            TIMINGS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let topology = Topology {
            dir: dir.to_path_buf(),
            api: Mutex::new(Service::new(
                "api",
                bin_dir.join("longshore-api"),
                &["serve"],
                with(&env, "PORT", &api_port.to_string()),
                dir,
                api_port,
            )),
            workers: (1..=workers)
                .map(|n| {
                    Mutex::new(admin_service(
                        &format!("worker-{n}"),
                        bin_dir.join("longshore-worker"),
                        &env,
                        dir,
                    ))
                })
                .collect(),
            schedulers: (1..=schedulers)
                .map(|n| {
                    Mutex::new(admin_service(
                        &format!("scheduler-{n}"),
                        bin_dir.join("longshore-scheduler"),
                        &env,
                        dir,
                    ))
                })
                .collect(),
            postgres,
            redis: Mutex::new(redis),
            sink,
            smtp_proxy,
            task_app,
            event_app,
            env,
            bin_dir: bin_dir.to_path_buf(),
            api_port,
        };
        topology.accept_mail(&crate::tenant::BOUNCES);
        topology.admin(&["migrate"])?;
        topology.api().start();
        topology.wait_api_ready(Duration::from_secs(60)).await?;
        for w in &topology.workers {
            lock(w).start();
        }
        for s in &topology.schedulers {
            lock(s).start();
        }
        Ok(topology)
    }

    /// The API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn api(&self) -> MutexGuard<'_, Service> {
        lock(&self.api)
    }

    pub fn worker(&self, n: usize) -> MutexGuard<'_, Service> {
        lock(&self.workers[n])
    }

    pub fn scheduler(&self, n: usize) -> MutexGuard<'_, Service> {
        lock(&self.schedulers[n])
    }

    pub fn redis(&self) -> MutexGuard<'_, TestRedis> {
        lock(&self.redis)
    }

    /// Every worker's log file.
    pub fn worker_logs(&self) -> Vec<PathBuf> {
        self.workers.iter().map(|w| lock(w).log()).collect()
    }

    /// Polls `/readyz` until the API answers 200.
    pub async fn wait_api_ready(&self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/readyz", self.base_url());
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!(
            "the API was not ready within {within:?}; see {}",
            self.api().log().display()
        )
    }

    /// Runs `longshore-api <args>` (migrations, tenants, keys) and returns its standard output.
    pub fn admin(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = std::process::Command::new(self.bin_dir.join("longshore-api"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LONGSHORE_") {
                cmd.env_remove(&key);
            }
        }
        cmd.args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = cmd.output()?;
        anyhow::ensure!(
            out.status.success(),
            "longshore-api {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Brings everything back: every process running, Redis and PostgreSQL up, the sink
    /// accepting and the apps healthy. Used after the load, whatever the plan left behind.
    pub async fn restore(&self, bounces: &[&str]) -> anyhow::Result<()> {
        self.smtp_proxy.set_dropping(false);
        self.accept_mail(bounces);
        self.task_app.set_health(Health::Normal);
        self.event_app.set_health(Health::Normal);
        for w in &self.workers {
            let mut w = lock(w);
            let _ = w.resume();
            w.start();
        }
        for s in &self.schedulers {
            lock(s).start();
        }
        self.redis().start_again();
        self.api().start();
        self.wait_api_ready(Duration::from_secs(60)).await
    }

    /// The sink accepts every message again, except for the recipients that always bounce.
    pub fn accept_mail(&self, bounces: &[&str]) {
        self.sink.accept_all();
        for address in bounces {
            self.sink
                .reject_recipient(address, 550, "5.1.1 soak: no such mailbox");
        }
    }
}

/// Hard-links (or copies) the binaries into the run's folder: a build finishing during the soak
/// replaces the files in `target/debug`, and a process the plan restarts must be the same
/// program as the one it replaces.
fn pin_binaries(from: &Path, to: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(to)?;
    for name in BINARIES {
        let (source, pinned) = (from.join(name), to.join(name));
        if std::fs::hard_link(&source, &pinned).is_err() {
            std::fs::copy(&source, &pinned)?;
        }
    }
    Ok(to.to_path_buf())
}

fn with(env: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push((key.to_owned(), value.to_owned()));
    env
}

fn admin_service(name: &str, binary: PathBuf, env: &[(String, String)], dir: &Path) -> Service {
    let port = free_port();
    Service::new(
        name,
        binary,
        &[],
        with(env, "LONGSHORE_ADMIN_PORT", &port.to_string()),
        dir,
        port,
    )
}

/// A poisoned lock only means a fault lane panicked; the process handles are still valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lease_the_plan_knows_is_the_one_the_workers_get() {
        for name in ["LONGSHORE_LEASE_SECS", "LONGSHORE_DOCUMENTS_LEASE_SECS"] {
            let set = super::TIMINGS.iter().find(|(k, _)| *k == name);
            assert_eq!(
                set.map(|(_, v)| v.parse::<u64>().ok()),
                Some(Some(super::LEASE.as_secs())),
                "{name}"
            );
        }
    }
}
