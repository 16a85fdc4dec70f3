//! Throwaway real servers for tests: `redis-server` and PostgreSQL on random loopback ports in
//! temporary folders, stopped and removed on drop. Nothing here is mocked.
//! [`SmtpSink`] is a real SMTP server in the test process, for the email tests and benchmarks.
//! [`TestS3`] is a real S3-compatible server (`s3s-fs`) for the file storage tests.
//!
//! When a server binary is missing, the panic says how to install it.

mod postgres;
mod redis;
mod s3;
mod smtp;

pub use postgres::{StopMode, TestPostgres};
pub use redis::TestRedis;
pub use s3::TestS3;
pub use smtp::{Received, SmtpSink};

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Finds a server binary on PATH or in the usual Debian folders, or panics with install advice.
pub fn find_binary(name: &str, advice: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for version in ["17", "16", "15", "14", "13"] {
        dirs.push(format!("/usr/lib/postgresql/{version}/bin").into());
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` not found. {advice}"))
}

/// Polls `ready` until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}
