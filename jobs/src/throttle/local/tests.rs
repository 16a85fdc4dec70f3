//! [`LocalThrottle`] on a clock the tests move by hand: exact waits, no sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::throttle::{CONCURRENCY_RETRY_MAX, CONCURRENCY_RETRY_MIN};

const KEY: &str = "ten_1/hooks";
const HOLD: Duration = Duration::from_secs(30);

/// A throttle and the hand of its clock (milliseconds).
fn throttle() -> (LocalThrottle, Arc<Mutex<f64>>) {
    let now = Arc::new(Mutex::new(0.0));
    let hand = now.clone();
    let t = LocalThrottle::with_clock(Box::new(move || *hand.lock().unwrap()));
    (t, now)
}

fn advance(clock: &Mutex<f64>, ms: f64) {
    *clock.lock().unwrap() += ms;
}

fn limits(per_second: f64, burst: u32, max_concurrent: u32) -> Limits {
    Limits::new(per_second, burst, max_concurrent).unwrap()
}

async fn admit(t: &LocalThrottle, job: &str, l: &Limits) -> Admission {
    t.admit(KEY, job, l, HOLD).await.unwrap()
}

fn ms(n: u64) -> Admission {
    Admission::Wait(Duration::from_millis(n))
}

fn is_concurrency_wait(a: &Admission) -> bool {
    matches!(a, Admission::Wait(d) if (CONCURRENCY_RETRY_MIN..=CONCURRENCY_RETRY_MAX).contains(d))
}

#[tokio::test]
async fn a_burst_goes_at_once_then_jobs_wait_for_the_next_slot() {
    let (t, _) = throttle();
    let l = limits(10.0, 3, 0);
    for job in ["a", "b", "c"] {
        assert!(
            matches!(admit(&t, job, &l).await, Admission::Go(_)),
            "{job}"
        );
    }
    assert_eq!(admit(&t, "d", &l).await, ms(100));
}

#[tokio::test]
async fn a_backlog_gets_distinct_slots_one_interval_apart() {
    let (t, _) = throttle();
    let l = limits(20.0, 1, 0);
    assert!(matches!(admit(&t, "first", &l).await, Admission::Go(_)));
    for i in 1..=10u64 {
        assert_eq!(
            admit(&t, &format!("job{i}"), &l).await,
            ms(50 * i),
            "job{i}"
        );
    }
}

#[tokio::test]
async fn a_job_back_at_its_slot_goes_without_taking_another() {
    let (t, clock) = throttle();
    let l = limits(10.0, 1, 0);
    assert!(matches!(admit(&t, "a", &l).await, Admission::Go(_)));
    assert_eq!(admit(&t, "b", &l).await, ms(100));
    assert_eq!(admit(&t, "c", &l).await, ms(200));
    advance(&clock, 50.0);
    assert_eq!(
        admit(&t, "b", &l).await,
        ms(50),
        "early: same slot, not a new one"
    );
    advance(&clock, 50.0);
    assert_eq!(
        admit(&t, "b", &l).await,
        Admission::Go(Permit::new(KEY, "b"))
    );
    assert_eq!(admit(&t, "d", &l).await, ms(200), "b took no new slot");
    assert_eq!(admit(&t, "c", &l).await, ms(100), "c kept its slot");
}

#[tokio::test]
async fn a_reservation_is_dropped_once_its_grace_has_passed() {
    let (t, clock) = throttle();
    let l = limits(10.0, 1, 0);
    assert!(matches!(admit(&t, "a", &l).await, Admission::Go(_)));
    assert_eq!(admit(&t, "b", &l).await, ms(100));
    advance(&clock, 100.0 + 1_001.0);
    assert!(matches!(admit(&t, "c", &l).await, Admission::Go(_)));
    assert_eq!(admit(&t, "b", &l).await, ms(100), "b queues behind c");
}

#[tokio::test]
async fn concurrency_is_capped_and_release_frees_a_slot() {
    let (t, _) = throttle();
    let l = limits(1000.0, 100, 2);
    let a = admit(&t, "a", &l).await;
    assert!(matches!(admit(&t, "b", &l).await, Admission::Go(_)));
    assert!(is_concurrency_wait(&admit(&t, "c", &l).await));
    assert!(
        matches!(admit(&t, "b", &l).await, Admission::Go(_)),
        "admitting b again is idempotent"
    );
    assert!(is_concurrency_wait(&admit(&t, "c", &l).await), "still 2");
    let Admission::Go(permit) = a else {
        panic!("a was not admitted: {a:?}")
    };
    t.release(&permit).await.unwrap();
    assert!(matches!(admit(&t, "c", &l).await, Admission::Go(_)));
    assert!(is_concurrency_wait(&admit(&t, "d", &l).await));
}

#[tokio::test]
async fn a_full_concurrency_cap_takes_no_rate_slot() {
    let (t, clock) = throttle();
    let l = limits(10.0, 1, 1);
    assert!(matches!(admit(&t, "a", &l).await, Admission::Go(_)));
    for job in ["b", "c", "d"] {
        assert!(is_concurrency_wait(&admit(&t, job, &l).await), "{job}");
    }
    t.release(&Permit::new(KEY, "a")).await.unwrap();
    advance(&clock, 100.0);
    assert!(matches!(admit(&t, "b", &l).await, Admission::Go(_)));
    t.release(&Permit::new(KEY, "b")).await.unwrap();
    assert_eq!(admit(&t, "c", &l).await, ms(100), "c's slot follows b's");
}

#[tokio::test]
async fn an_expired_hold_frees_its_slot() {
    let (t, clock) = throttle();
    let l = limits(1000.0, 100, 1);
    let hold = Duration::from_millis(200);
    assert!(matches!(
        t.admit(KEY, "a", &l, hold).await.unwrap(),
        Admission::Go(_)
    ));
    advance(&clock, 199.0);
    assert!(is_concurrency_wait(
        &t.admit(KEY, "b", &l, hold).await.unwrap()
    ));
    advance(&clock, 1.0);
    assert!(matches!(
        t.admit(KEY, "b", &l, hold).await.unwrap(),
        Admission::Go(_)
    ));
}

#[tokio::test]
async fn hold_off_stops_admissions_and_pauses_the_schedule() {
    let (t, clock) = throttle();
    let l = limits(10.0, 1, 0);
    assert!(matches!(admit(&t, "a", &l).await, Admission::Go(_)));
    assert_eq!(admit(&t, "b", &l).await, ms(100));
    t.hold_off(KEY, Duration::from_secs(1)).await.unwrap();
    t.hold_off(KEY, Duration::from_millis(10)).await.unwrap();
    assert_eq!(admit(&t, "new", &l).await, ms(1_000));
    assert_eq!(admit(&t, "b", &l).await, ms(1_100), "b's slot moved back");
    advance(&clock, 1_100.0);
    assert!(matches!(admit(&t, "b", &l).await, Admission::Go(_)));
    assert_eq!(admit(&t, "c", &l).await, ms(100), "the schedule resumes");
}

#[tokio::test]
async fn idle_queues_leave_nothing_behind() {
    let (t, clock) = throttle();
    let l = limits(10.0, 1, 1);
    let Admission::Go(permit) = admit(&t, "a", &l).await else {
        panic!("a was not admitted")
    };
    assert_eq!(t.lock().keys.len(), 1);
    t.release(&permit).await.unwrap();
    assert_eq!(t.lock().keys.len(), 1, "the rate schedule is still running");
    advance(&clock, 100.0);
    t.admit("other", "x", &l, HOLD).await.unwrap();
    advance(&clock, SWEEP_EVERY_MS);
    t.release(&Permit::new("other", "x")).await.unwrap();
    assert_eq!(t.lock().keys.len(), 0);
}

#[tokio::test]
async fn invalid_limits_are_refused() {
    let (t, _) = throttle();
    for bad in [
        Limits {
            per_second: 0.0,
            burst: 1,
            max_concurrent: 1,
        },
        Limits {
            per_second: f64::NAN,
            burst: 1,
            max_concurrent: 1,
        },
        Limits {
            per_second: 1.0,
            burst: 0,
            max_concurrent: 1,
        },
    ] {
        let got = t.admit(KEY, "a", &bad, HOLD).await;
        assert!(
            matches!(got, Err(ThrottleError::InvalidLimits(_))),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn the_real_clock_throttles_too() {
    let t = LocalThrottle::new();
    let l = limits(1.0, 1, 0);
    assert!(matches!(
        t.admit(KEY, "a", &l, HOLD).await.unwrap(),
        Admission::Go(_)
    ));
    let Admission::Wait(d) = t.admit(KEY, "b", &l, HOLD).await.unwrap() else {
        panic!("b went within the same second")
    };
    assert!(
        d > Duration::from_millis(900) && d <= Duration::from_secs(1),
        "{d:?}"
    );
}
