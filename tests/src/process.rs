//! A child process of the stack, with its output in a log file and a kill on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running Longshore binary.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
    pub admin_port: Option<u16>,
}

impl Proc {
    /// Spawns `bin args…` with `env`, output appended to `log`.
    pub fn spawn(
        name: &str,
        bin: &Path,
        args: &[&str],
        env: &[(String, String)],
        cwd: &Path,
        log: PathBuf,
        admin_port: Option<u16>,
    ) -> Proc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let err = out.try_clone().expect("clone log handle");
        let mut cmd = Command::new(bin);
        isolate_env(&mut cmd);
        cmd.args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        Proc {
            name: name.to_owned(),
            child: Some(child),
            log,
            admin_port,
        }
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL, like a crash or an OOM kill.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `within` for the exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The process's output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Keeps the test runner's own settings out of a child: every `LONGSHORE_*` variable (the
/// harness's `LONGSHORE_BIN_DIR` among them, which the binaries' strict config would reject),
/// and the URLs and port a developer may have exported for their own stack.
pub(crate) fn isolate_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LONGSHORE_") {
            cmd.env_remove(&key);
        }
    }
    for key in ["DATABASE_URL", "REDIS_URL", "PORT"] {
        cmd.env_remove(key);
    }
}
