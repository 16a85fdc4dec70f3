//! Giving memory back after a burst.
//!
//! glibc's malloc keeps the pages freed after a burst of requests in its arenas, so a process
//! that served thousands of requests per second sits at its high-water mark long after the load
//! has gone. Once a process has been quiet for a moment, asking malloc to hand free pages back
//! (`malloc_trim`) brings it down to its working set. Elsewhere (other C libraries) this is a
//! no-op.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Units of work (requests) since start; [`note_activity`] counts them.
static ACTIVITY: AtomicU64 = AtomicU64::new(0);

/// How often the process looks at its activity.
const TICK: Duration = Duration::from_secs(2);

/// Fewer units of work than this in a tick counts as quiet (health checks and scrapes are not
/// load).
const QUIET_BELOW: u64 = 20;

/// Counts a unit of work (one request): cheap, one relaxed atomic add.
pub fn note_activity() {
    ACTIVITY.fetch_add(1, Ordering::Relaxed);
}

/// Trims once after each busy period, when a tick sees the process quiet.
pub fn spawn_idle_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = ACTIVITY.load(Ordering::Relaxed);
        let mut busy_since_trim = false;
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = ACTIVITY.load(Ordering::Relaxed);
            let work = now.wrapping_sub(last);
            last = now;
            if work >= QUIET_BELOW {
                busy_since_trim = true;
            } else if busy_since_trim {
                busy_since_trim = false;
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    })
}

/// The workspace denies `unsafe`; this is its one exception, a call with no arguments to own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim only walks malloc's own arenas under their locks; 0 keeps no pad.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
