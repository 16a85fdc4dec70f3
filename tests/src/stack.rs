//! A whole Longshore deployment for one test: API and workers as real processes, on the embedded
//! SQLite default or on PostgreSQL + Redis.

use std::path::{Path, PathBuf};
use std::time::Duration;

use longshore_testkit::{TestPostgres, TestRedis, free_port};
use tempfile::TempDir;

use crate::{Client, Proc, eventually};

/// Which deployment to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite file for data and queue, no external services.
    Embedded,
    /// PostgreSQL (a fresh database) and Redis (a server of its own).
    Production,
}

/// Options before starting.
pub struct StackBuilder {
    mode: Mode,
    workers: usize,
    env: Vec<(String, String)>,
}

impl StackBuilder {
    /// Sets an environment variable for every process of the stack.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// How many worker processes to start (default 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Starts the servers and processes, and waits until the API is ready.
    pub async fn start(self) -> Stack {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = vec![
            (
                "LONGSHORE_DATA_DIR".to_owned(),
                dir.path().join("data").display().to_string(),
            ),
            ("LONGSHORE_RETRY_BASE_MS".to_owned(), "300".to_owned()),
            ("LONGSHORE_AUTH_CACHE_SECS".to_owned(), "1".to_owned()),
            (
                "LONGSHORE_SHUTDOWN_TIMEOUT_SECS".to_owned(),
                "20".to_owned(),
            ),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ];
        let mut redis = None;
        if self.mode == Mode::Production {
            let r = TestRedis::start();
            env.push(("REDIS_URL".to_owned(), r.url()));
            env.push((
                "DATABASE_URL".to_owned(),
                TestPostgres::shared().fresh_database(),
            ));
            redis = Some(r);
        }
        for (k, v) in self.env {
            env.retain(|(key, _)| key != &k);
            env.push((k, v));
        }
        let port = free_port();
        let mut stack = Stack {
            mode: self.mode,
            dir,
            redis,
            env,
            port,
            api: None,
            workers: Vec::new(),
            extra_apis: Vec::new(),
            spawned: 0,
        };
        // Migrations run once, before the processes race to apply them.
        stack.admin(&["migrate"]);
        stack.start_api().await;
        for _ in 0..self.workers {
            stack.spawn_worker();
        }
        stack
    }
}

/// A running deployment. Dropping it stops every process and server.
pub struct Stack {
    pub mode: Mode,
    dir: TempDir,
    redis: Option<TestRedis>,
    env: Vec<(String, String)>,
    port: u16,
    api: Option<Proc>,
    pub workers: Vec<Proc>,
    /// API processes beyond the first ([`Stack::spawn_api`]).
    extra_apis: Vec<Proc>,
    spawned: usize,
}

static BIN_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes [`bin`] look in `dir` (benchmarks point it at the release build).
pub fn set_bin_dir(dir: &Path) {
    let _ = BIN_DIR.set(dir.to_path_buf());
}

/// Where the binaries are: [`set_bin_dir`], `$LONGSHORE_BIN_DIR`, or the debug build.
pub fn bin(name: &str) -> PathBuf {
    if let Some(dir) = BIN_DIR.get() {
        return dir.join(name);
    }
    if let Ok(dir) = std::env::var("LONGSHORE_BIN_DIR") {
        return Path::new(&dir).join(name);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `scripts/test`, which builds the binaries before the tests",
        path.display()
    );
    path
}

impl Stack {
    /// Starts configuring a stack.
    pub fn builder(mode: Mode) -> StackBuilder {
        StackBuilder {
            mode,
            workers: 1,
            env: Vec::new(),
        }
    }

    /// A stack with one worker and default settings.
    pub async fn start(mode: Mode) -> Stack {
        Stack::builder(mode).start().await
    }

    /// The API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The API process's id (for memory readings).
    pub fn api_pid(&self) -> u32 {
        self.api.as_ref().map(Proc::pid).unwrap_or(0)
    }

    /// The business database's URL, as the processes get it (`None`: the embedded SQLite file
    /// in the data folder).
    pub fn database_url(&self) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == "DATABASE_URL")
            .map(|(_, v)| v.clone())
    }

    /// The stack's temporary folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The Redis server (production mode).
    pub fn redis(&mut self) -> &mut TestRedis {
        self.redis.as_mut().expect("no Redis in embedded mode")
    }

    fn env_with(&self, extra: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.extend_from_slice(extra);
        env
    }

    fn log(&mut self, name: &str) -> PathBuf {
        self.spawned += 1;
        self.dir
            .path()
            .join(format!("{:02}-{name}.log", self.spawned))
    }

    /// Starts `longshore-api serve` on `port`.
    fn spawn_api_on(&mut self, port: u16) -> Proc {
        let env = self.env_with(&[("PORT".into(), port.to_string())]);
        let log = self.log("api");
        Proc::spawn(
            "api",
            &bin("longshore-api"),
            &["serve"],
            &env,
            self.dir.path(),
            log,
            None,
        )
    }

    async fn start_api(&mut self) {
        let api = self.spawn_api_on(self.port);
        self.api = Some(api);
        let http = reqwest::Client::new();
        let url = format!("{}/readyz", self.base_url());
        eventually(Duration::from_secs(30), "the API to be ready", || {
            let http = http.clone();
            let url = url.clone();
            async move {
                let r = http.get(&url).send().await.ok()?;
                r.status().is_success().then_some(())
            }
        })
        .await;
    }

    /// SIGKILLs the API, as a crash or an OOM kill: requests in flight get no answer and record
    /// nothing more. [`Stack::start_api_again`] brings it back.
    pub fn crash_api(&mut self) {
        if let Some(mut api) = self.api.take() {
            api.kill();
        }
    }

    /// Starts the API again (after [`Stack::crash_api`]) on the same port; waits until ready.
    pub async fn start_api_again(&mut self) {
        self.crash_api();
        self.start_api().await;
    }

    /// Starts one more API process on a port of its own, sharing the stack's database and
    /// queue (as a second replica behind a load balancer would); returns a client of it with
    /// `key`. It runs until the stack is dropped.
    pub async fn spawn_api(&mut self, key: Option<String>) -> Client {
        let port = free_port();
        let proc = self.spawn_api_on(port);
        self.extra_apis.push(proc);
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::new(&base, key);
        eventually(
            Duration::from_secs(30),
            "the second API to be ready",
            || {
                let client = client.clone();
                async move { (client.get("/readyz").await.status == 200).then_some(()) }
            },
        )
        .await;
        client
    }

    /// Starts one more worker process; returns its index in `workers`.
    pub fn spawn_worker(&mut self) -> usize {
        self.spawn_worker_with(&[])
    }

    /// Starts a worker with extra environment variables.
    pub fn spawn_worker_with(&mut self, extra: &[(&str, &str)]) -> usize {
        let admin = free_port();
        let mut more: Vec<(String, String)> =
            vec![("LONGSHORE_ADMIN_PORT".into(), admin.to_string())];
        more.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env = self.env_with(&more);
        let log = self.log("worker");
        let proc = Proc::spawn(
            "worker",
            &bin("longshore-worker"),
            &[],
            &env,
            self.dir.path(),
            log,
            Some(admin),
        );
        self.workers.push(proc);
        self.workers.len() - 1
    }

    /// Starts a scheduler process.
    pub fn spawn_scheduler(&mut self) -> Proc {
        self.spawn_scheduler_with(&[])
    }

    /// Starts a scheduler process with extra environment variables.
    pub fn spawn_scheduler_with(&mut self, extra: &[(&str, &str)]) -> Proc {
        let admin = free_port();
        let mut more: Vec<(String, String)> =
            vec![("LONGSHORE_ADMIN_PORT".into(), admin.to_string())];
        more.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env = self.env_with(&more);
        let log = self.log("scheduler");
        Proc::spawn(
            "scheduler",
            &bin("longshore-scheduler"),
            &[],
            &env,
            self.dir.path(),
            log,
            Some(admin),
        )
    }

    /// Runs `longshore-api <args>` to completion and returns its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new(bin("longshore-api"));
        crate::process::isolate_env(&mut cmd);
        cmd.args(args).current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run longshore-api");
        assert!(
            out.status.success(),
            "longshore-api {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a tenant and an API key with the admin commands; returns a client using the key.
    pub async fn tenant(&self, name: &str) -> Client {
        let tenant = self.admin(&["tenants", "create", name]).trim().to_owned();
        let key = self
            .admin(&["keys", "create", "--tenant", &tenant])
            .trim()
            .to_owned();
        assert!(key.starts_with("lsk_"), "unexpected key {key}");
        Client::new(&self.base_url(), Some(key))
    }

    /// A client without an API key.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base_url(), None)
    }

    /// Every process's output, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in self.api.iter().chain(self.workers.iter()) {
            out.push_str(&format!("==== {} ({})\n", p.name, p.log.display()));
            let text = p.output();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}
