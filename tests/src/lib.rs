//! The end-to-end harness: starts the real `longshore-api`, `longshore-worker` and
//! `longshore-scheduler` binaries against throwaway servers, and drives them over HTTP.
//!
//! The binaries must be built first (`scripts/test` does it): they are looked up in
//! `$CARGO_TARGET_DIR/debug` (or `target/debug`), or in `$LONGSHORE_BIN_DIR`.

mod client;
pub mod gateway;
mod process;
pub mod receiver;
mod stack;

pub use client::{Client, Reply};
pub use process::Proc;
pub use stack::{Mode, Stack, StackBuilder, bin, set_bin_dir};

use std::time::{Duration, Instant};

/// Polls `check` every 25 ms until it returns `Some`, or panics with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
