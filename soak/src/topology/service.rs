//! One Longshore process of the deployment (the API, a worker, a scheduler) that the fault plan
//! can kill, terminate, pause and start again with the same settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use longshore_tests::Proc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A binary with its arguments and environment, and the process running it (if any).
pub struct Service {
    name: String,
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
    /// The admin (or API) port, kept across restarts so probes keep working.
    pub port: u16,
    proc: Option<Proc>,
}

impl Service {
    /// A service that is not started yet. Its output goes to `<dir>/<name>.log`, appended across
    /// restarts.
    pub fn new(
        name: &str,
        binary: PathBuf,
        args: &[&str],
        env: Vec<(String, String)>,
        dir: &Path,
        port: u16,
    ) -> Service {
        Service {
            name: name.to_owned(),
            binary,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env,
            dir: dir.to_path_buf(),
            port,
            proc: None,
        }
    }

    /// Its log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.name))
    }

    /// Starts the process unless it runs.
    pub fn start(&mut self) {
        if self.is_running() {
            return;
        }
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.proc = Some(Proc::spawn(
            &self.name,
            &self.binary,
            &args,
            &self.env,
            &self.dir,
            self.log(),
            Some(self.port),
        ));
    }

    /// True while the process runs (a paused process runs).
    pub fn is_running(&mut self) -> bool {
        self.proc.as_mut().is_some_and(Proc::is_running)
    }

    /// SIGKILL: a crash or an out-of-memory kill; nothing is flushed.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            // A stopped process dies on SIGKILL too; no SIGCONT needed.
            p.kill();
        }
    }

    /// SIGTERM, and SIGKILL if it has not exited within `within` (an orchestrator's grace period).
    pub fn terminate(&mut self, within: Duration) {
        if let Some(mut p) = self.proc.take() {
            p.terminate(within);
        }
    }

    /// SIGSTOP: the process keeps its sockets and leases but runs nothing (a long pause, a
    /// partition seen from inside).
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self
            .proc
            .as_ref()
            .map(Proc::pid)
            .filter(|p| *p != 0)
            .ok_or_else(|| anyhow::anyhow!("{} is not running", self.name))?;
        let pid = i32::try_from(pid)?;
        kill(Pid::from_raw(pid), signal)?;
        Ok(())
    }
}
