//! [`LocalThrottle`]: the throttle of the embedded (SQLite) mode, which runs a single worker
//! process, so the state can live in memory: one [`KeyState`] per task queue behind a mutex, on
//! a monotonic clock (a wall-clock step must not free or block slots).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::schedule::{Decision, KeyState};
use super::{Admission, Limits, Permit, Throttle, ThrottleError, concurrency_retry, wait_ms};

/// How often every key is checked for idleness (keys are also dropped when an operation on
/// them leaves them idle).
const SWEEP_EVERY_MS: f64 = 60_000.0;

/// Milliseconds on a monotonic clock.
type Clock = Box<dyn Fn() -> f64 + Send + Sync>;

/// The in-process throttle. Limits hold across the tasks of this process only.
pub struct LocalThrottle {
    clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, KeyState>,
    last_sweep: f64,
}

impl Default for LocalThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalThrottle {
    /// A throttle on this process's monotonic clock.
    pub fn new() -> Self {
        let origin = Instant::now();
        Self::with_clock(Box::new(move || origin.elapsed().as_secs_f64() * 1000.0))
    }

    /// A throttle on the given clock (tests drive time by hand).
    fn with_clock(clock: Clock) -> Self {
        LocalThrottle {
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// The state; a panic while holding the lock leaves consistent data (every update is a
    /// few field writes), so a poisoned lock is still used.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on `key`'s state, then forgets the key if that left it idle, and now and then
    /// sweeps every key so that queues nobody touches again leave nothing behind.
    fn with_key<T>(&self, key: &str, f: impl FnOnce(&mut KeyState, f64) -> T) -> T {
        let now = (self.clock)();
        let mut state = self.lock();
        let entry = state.keys.entry(key.to_owned()).or_default();
        let out = f(entry, now);
        if entry.sweep(now) {
            state.keys.remove(key);
        }
        if now - state.last_sweep >= SWEEP_EVERY_MS {
            state.last_sweep = now;
            state.keys.retain(|_, k| !k.sweep(now));
        }
        out
    }
}

#[async_trait]
impl Throttle for LocalThrottle {
    async fn admit(
        &self,
        key: &str,
        job: &str,
        limits: &Limits,
        hold: Duration,
    ) -> Result<Admission, ThrottleError> {
        limits.check()?;
        let hold_ms = hold.as_secs_f64() * 1000.0;
        let decision = self.with_key(key, |k, now| k.admit(job, limits, hold_ms, now));
        Ok(match decision {
            Decision::Go => Admission::Go(Permit::new(key, job)),
            Decision::Wait(ms) => Admission::Wait(wait_ms(ms)),
            Decision::Full => Admission::Wait(concurrency_retry()),
        })
    }

    async fn release(&self, permit: &Permit) -> Result<(), ThrottleError> {
        self.with_key(permit.key(), |k, _| k.release(permit.job()));
        Ok(())
    }

    async fn hold_off(&self, key: &str, delay: Duration) -> Result<(), ThrottleError> {
        let delay_ms = delay.as_secs_f64() * 1000.0;
        self.with_key(key, |k, now| k.hold_off(delay_ms, now));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
