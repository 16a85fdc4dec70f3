use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::{find_binary, free_port, port_open, wait_until};

const ADVICE: &str = "Install PostgreSQL: `sudo apt-get install postgresql` (Debian/Ubuntu) or `brew install postgresql`.";

/// A PostgreSQL cluster of its own: `initdb` into a temp folder, random port, trust auth on
/// loopback, socket in the temp folder. Stopped with `pg_ctl stop -m immediate` on drop.
pub struct TestPostgres {
    dir: TempDir,
    port: u16,
    /// The server options it was started with (`pg_ctl -o`), to start it again the same way.
    options: String,
}

/// How [`TestPostgres::stop`] shuts the server down (`pg_ctl stop -m …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnects every client, rolls back open transactions and shuts down cleanly (an
    /// operator's restart).
    Fast,
    /// Quits at once without a shutdown checkpoint, like a crash: the next start replays the
    /// write-ahead log.
    Immediate,
}

impl TestPostgres {
    /// Creates and starts a cluster, and a database named `longshore`.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let initdb = find_binary("initdb", ADVICE);
        let pg_ctl = find_binary("pg_ctl", ADVICE);
        let postgres = find_binary("postgres", ADVICE);

        // PostgreSQL refuses to run as root; drop to the `postgres` user when we are root.
        let as_root = is_root();
        if as_root {
            chown_postgres(dir.path());
        }
        let port = free_port();
        let run = |program: &std::path::Path, args: &[&str]| {
            let mut cmd = if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                Command::new(program)
            };
            cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
            let out = cmd
                .output()
                .unwrap_or_else(|e| panic!("run {program:?}: {e}"));
            assert!(
                out.status.success(),
                "{program:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let data_s = data.display().to_string();
        run(
            &initdb,
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        // `LONGSHORE_TEST_PG_OPTIONS` adds server options, e.g. to profile a benchmark with
        // `-c shared_preload_libraries=pg_stat_statements`.
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200 {}",
            dir.path().display(),
            std::env::var("LONGSHORE_TEST_PG_OPTIONS").unwrap_or_default()
        );
        let log = dir.path().join("postgres.log").display().to_string();
        let _ = postgres;
        run(
            &pg_ctl,
            &[
                "-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "30", "start",
            ],
        );
        assert!(
            wait_until(Duration::from_secs(30), || port_open(port)),
            "postgres did not start"
        );
        let pg = TestPostgres {
            dir,
            port,
            options: opts,
        };
        pg.psql("CREATE DATABASE longshore");
        pg
    }

    /// One cluster shared by every test of this test binary (initdb costs a second or two);
    /// isolate tests with [`fresh_database`](Self::fresh_database). Statics are never dropped,
    /// so a watchdog stops the cluster and removes its folder when the test process exits.
    pub fn shared() -> &'static TestPostgres {
        static SHARED: std::sync::OnceLock<TestPostgres> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let pg = TestPostgres::start();
            pg.watch_parent();
            pg
        })
    }

    fn watch_parent(&self) {
        let pg_ctl = find_binary("pg_ctl", ADVICE);
        let data = self.dir.path().join("data");
        let stop = if is_root() {
            format!(
                "runuser -u postgres -- {} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        } else {
            format!(
                "{} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            dir = self.dir.path().display()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// `postgres://postgres@127.0.0.1:<port>/longshore`
    pub fn url(&self) -> String {
        self.url_for("longshore")
    }

    /// A URL for another database on the same server.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a fresh database and returns its URL: one per test keeps tests independent.
    pub fn fresh_database(&self) -> String {
        let name = format!("t{:016x}", rand::random::<u64>());
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url_for(&name)
    }

    /// Stops the server with `pg_ctl stop -m <mode>` and waits until it is down. Clients lose
    /// their connections; the data folder and port stay, for [`start_again`](Self::start_again).
    pub fn stop(&self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let data = self.dir.path().join("data").display().to_string();
        self.pg_ctl(&["-D", &data, "-m", mode, "-w", "-t", "60", "stop"]);
        wait_until(Duration::from_secs(10), || !port_open(self.port));
    }

    /// Starts a [`stop`](Self::stop)ped server again, on the same port and data folder with the
    /// same options, and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.dir.path().join("data").display().to_string();
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.pg_ctl(&[
            "-D",
            &data,
            "-o",
            &self.options,
            "-l",
            &log,
            "-w",
            "-t",
            "60",
            "start",
        ]);
        assert!(
            wait_until(Duration::from_secs(30), || port_open(self.port)),
            "postgres did not start again"
        );
    }

    /// Runs `pg_ctl <args>` (as the `postgres` user when we are root) and asserts it succeeded.
    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = find_binary("pg_ctl", ADVICE);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let out = cmd
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn psql(&self, sql: &str) {
        let psql = find_binary("psql", ADVICE);
        let out = Command::new(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let pg_ctl = find_binary("pg_ctl", ADVICE);
        let data = self.dir.path().join("data").display().to_string();
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown_postgres(path: &std::path::Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .expect("chown");
    assert!(
        status.success(),
        "chown to postgres failed (is there a `postgres` user?)"
    );
}
