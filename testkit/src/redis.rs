use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::{find_binary, free_port, port_open, wait_until};

const ADVICE: &str =
    "Install Redis: `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis`.";

/// A `redis-server` of its own: random port, AOF on (as in production), data in a temp folder.
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl TestRedis {
    /// Starts a server and waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut redis = TestRedis {
            child: None,
            port,
            dir,
        };
        redis.spawn();
        redis
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port the server listens on (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL, like a crash: writes of the last second may be lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_until(Duration::from_secs(5), || !port_open(self.port));
    }

    /// Kills the server with SIGKILL and starts it again without its files: a Redis that lost
    /// its data (a failover to an empty replica, a lost disk, a `FLUSHALL`).
    pub fn lose_data(&mut self) {
        self.kill();
        for entry in std::fs::read_dir(self.dir.path()).expect("redis data folder") {
            let path = entry.expect("entry").path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
        self.spawn();
    }

    /// Stops the server with SIGTERM, as an operator's restart does (Redis flushes its AOF).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        wait_until(Duration::from_secs(5), || !port_open(self.port));
    }

    /// Freezes the server with SIGSTOP: connections stay open, commands wait unanswered in
    /// its socket buffers (a network stall, or a reply lost on the way back).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`pause`](Self::pause)d server run again: it executes the commands that waited.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} redis-server failed");
    }

    /// Starts a stopped server again on the same port and data folder (AOF replays the data).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// A graceful restart: [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let bin = find_binary("redis-server", ADVICE);
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", ""])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        // A server held by a static fixture is never dropped: a watchdog kills it once this
        // test process is gone (and ends by itself when the server does).
        let script = format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {server} 2>/dev/null; do sleep 1; done; \
             kill -9 {server} 2>/dev/null",
            me = std::process::id(),
            server = child.id()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        self.child = Some(child);
        assert!(
            wait_until(Duration::from_secs(10), || port_open(self.port)),
            "redis-server did not start on port {}",
            self.port
        );
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
