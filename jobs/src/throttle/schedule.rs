//! One task queue's throttle state and the admission decision, as plain data and pure
//! functions of "now" (milliseconds on some clock).
//!
//! [`super::local::LocalThrottle`] runs it under a mutex; the Redis script (`redis/script.rs`)
//! is the same algorithm in Lua, step for step, so the two implementations cannot drift apart
//! in meaning. Read the module docs of [`super`] for the semantics.
//!
//! Time: `now` is real time. The rate schedule (the TAT and reservations) lives in *virtual*
//! time `v = now - paused`, where `paused` grows by the length of every hold-off. A hold-off
//! thus moves every future slot back by its length without visiting each reservation.

use std::collections::HashMap;

use super::{Limits, RESERVATION_GRACE};

/// What [`KeyState::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Decision {
    /// Dispatch now (a concurrency slot is held).
    Go,
    /// Come back after this many milliseconds (rate or hold-off).
    Wait(f64),
    /// The concurrency cap is full: come back after a short jittered wait.
    Full,
}

/// A slot reserved for one job, in virtual time.
#[derive(Debug, Clone, Copy)]
struct Reservation {
    slot: f64,
    valid_until: f64,
}

/// The state of one task queue.
#[derive(Debug, Default)]
pub(super) struct KeyState {
    /// Theoretical arrival time of the next free slot (virtual); `None` when fresh.
    tat: Option<f64>,
    /// No admissions before this (real).
    not_before: f64,
    /// Total length of the hold-offs so far: real minus virtual time.
    paused: f64,
    /// Jobs in flight and when their hold expires (real).
    running: HashMap<String, f64>,
    /// Reserved future slots by job.
    reserved: HashMap<String, Reservation>,
}

fn grace_ms() -> f64 {
    RESERVATION_GRACE.as_secs_f64() * 1000.0
}

impl KeyState {
    /// Decides for `job` at `now`; `hold_ms` bounds how long a `Go` holds its concurrency slot.
    pub(super) fn admit(&mut self, job: &str, limits: &Limits, hold_ms: f64, now: f64) -> Decision {
        self.running.retain(|_, until| *until > now);
        if let Some(until) = self.running.get_mut(job) {
            *until = now + hold_ms;
            return Decision::Go;
        }
        let v = now - self.paused;
        let mut reservation = self.reserved.get(job).copied();
        if reservation.is_some_and(|r| v > r.valid_until) {
            self.reserved.remove(job);
            reservation = None;
        }
        if now < self.not_before {
            let slot_real = reservation.map_or(now, |r| r.slot + self.paused);
            return Decision::Wait(slot_real.max(self.not_before) - now);
        }
        if let Some(r) = reservation
            && r.slot > v
        {
            return Decision::Wait(r.slot - v);
        }
        if limits.max_concurrent > 0 && self.running.len() >= limits.max_concurrent as usize {
            if let Some(r) = self.reserved.get_mut(job) {
                r.valid_until = r.valid_until.max(v + grace_ms());
            }
            return Decision::Full;
        }
        if reservation.is_some() {
            self.reserved.remove(job);
            self.running.insert(job.to_owned(), now + hold_ms);
            return Decision::Go;
        }
        let interval = limits.interval_ms();
        let tolerance = f64::from(limits.burst - 1) * interval;
        let tat = self.tat.unwrap_or(v);
        let slot = v.max(tat - tolerance);
        self.tat = Some(tat.max(v) + interval);
        if slot <= v {
            self.running.insert(job.to_owned(), now + hold_ms);
            return Decision::Go;
        }
        let valid_until = slot + grace_ms();
        self.reserved
            .insert(job.to_owned(), Reservation { slot, valid_until });
        Decision::Wait(slot - v)
    }

    /// Frees `job`'s concurrency slot.
    pub(super) fn release(&mut self, job: &str) {
        self.running.remove(job);
    }

    /// No admissions before `now + delay_ms`; the schedule pauses for as long as the
    /// hold-off grows.
    pub(super) fn hold_off(&mut self, delay_ms: f64, now: f64) {
        let until = now + delay_ms;
        if until > self.not_before {
            self.paused += until - self.not_before.max(now);
            self.not_before = until;
        }
    }

    /// Drops expired holds and reservations; true when what is left is the same as no state
    /// at all, so the caller may forget the key (idle queues leave nothing behind).
    pub(super) fn sweep(&mut self, now: f64) -> bool {
        let v = now - self.paused;
        self.running.retain(|_, until| *until > now);
        self.reserved.retain(|_, r| r.valid_until >= v);
        self.running.is_empty()
            && self.reserved.is_empty()
            && now >= self.not_before
            && self.tat.is_none_or(|tat| tat <= v)
    }
}
