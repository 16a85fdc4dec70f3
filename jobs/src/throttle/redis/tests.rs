//! [`RedisThrottle`] against a throwaway `redis-server` (one per test). Waits are checked
//! through the slot they imply (`server time + wait`), so the test's own latency cannot make
//! them fail; the only real waiting is polling, bounded, for holds that must expire.

use std::time::{Duration, Instant};

use longshore_testkit::TestRedis;

use super::*;
use crate::throttle::{CONCURRENCY_RETRY_MAX, CONCURRENCY_RETRY_MIN};

const KEY: &str = "ten_1/hooks";
const OTHER: &str = "ten_2/mail";
const HOLD: Duration = Duration::from_secs(30);
const DEADLINE: Duration = Duration::from_secs(10);

fn open(redis: &TestRedis) -> RedisThrottle {
    RedisThrottle::connect(&redis.url(), "t1").expect("connect")
}

fn limits(per_second: f64, burst: u32, max_concurrent: u32) -> Limits {
    Limits::new(per_second, burst, max_concurrent).unwrap()
}

/// Admits `job`; returns the answer and the server time it was decided at.
async fn admit(t: &RedisThrottle, job: &str, l: &Limits) -> (Admission, i64) {
    t.admit_on_server(KEY, job, l, HOLD).await.expect("admit")
}

fn goes(a: &Admission) -> bool {
    matches!(a, Admission::Go(_))
}

/// The server time (ms) of the slot a rate wait points at.
fn slot_of((a, now): &(Admission, i64)) -> i64 {
    match a {
        Admission::Wait(d) => now + d.as_millis() as i64,
        Admission::Go(_) => panic!("expected a wait, got {a:?}"),
    }
}

fn is_concurrency_wait(a: &Admission) -> bool {
    matches!(a, Admission::Wait(d) if (CONCURRENCY_RETRY_MIN..=CONCURRENCY_RETRY_MAX).contains(d))
}

/// Admits `job` until it goes, polling no faster than every 10 ms; panics after [`DEADLINE`].
async fn admit_until_go(t: &RedisThrottle, job: &str, l: &Limits, hold: Duration) -> i64 {
    let start = Instant::now();
    loop {
        let (a, now) = t.admit_on_server(KEY, job, l, hold).await.unwrap();
        if goes(&a) {
            return now;
        }
        assert!(start.elapsed() < DEADLINE, "{job} never went: {a:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_burst_goes_at_once_then_jobs_wait_for_the_next_slot() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(10.0, 3, 0);
    let first = admit(&t, "a", &l).await;
    assert!(goes(&first.0));
    assert!(goes(&admit(&t, "b", &l).await.0));
    assert!(goes(&admit(&t, "c", &l).await.0));
    let slot = slot_of(&admit(&t, "d", &l).await);
    assert!((first.1 + 99..=first.1 + 101).contains(&slot), "{slot}");
}

#[tokio::test]
async fn a_backlog_gets_distinct_slots_one_interval_apart() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(20.0, 1, 0);
    assert!(goes(&admit(&t, "first", &l).await.0));
    let mut slots = Vec::new();
    for i in 1..=10 {
        slots.push(slot_of(&admit(&t, &format!("job{i}"), &l).await));
    }
    for pair in slots.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((49..=51).contains(&gap), "slots {slots:?}");
    }
}

#[tokio::test]
async fn a_job_back_at_its_slot_goes_without_taking_another() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(10.0, 1, 0);
    assert!(goes(&admit(&t, "a", &l).await.0));
    let b_slot = slot_of(&admit(&t, "b", &l).await);
    let c_slot = slot_of(&admit(&t, "c", &l).await);
    let again = slot_of(&admit(&t, "b", &l).await);
    assert!(
        (again - b_slot).abs() <= 1,
        "b keeps its slot: {b_slot} then {again}"
    );
    let went = admit_until_go(&t, "b", &l, HOLD).await;
    assert!(
        went >= b_slot - 1,
        "b went at {went}, before its slot {b_slot}"
    );
    let d_slot = slot_of(&admit(&t, "d", &l).await);
    assert!(
        (d_slot - c_slot - 100).abs() <= 1,
        "b took no new slot: c {c_slot}, d {d_slot}"
    );
}

#[tokio::test]
async fn concurrency_is_capped_and_release_frees_a_slot() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(1000.0, 100, 2);
    let (a, _) = admit(&t, "a", &l).await;
    assert!(goes(&admit(&t, "b", &l).await.0));
    assert!(is_concurrency_wait(&admit(&t, "c", &l).await.0));
    assert!(
        goes(&admit(&t, "b", &l).await.0),
        "admitting b again is idempotent"
    );
    assert!(is_concurrency_wait(&admit(&t, "c", &l).await.0), "still 2");
    let Admission::Go(permit) = a else {
        panic!("a was not admitted: {a:?}")
    };
    t.release(&permit).await.unwrap();
    assert!(goes(&admit(&t, "c", &l).await.0));
    assert!(is_concurrency_wait(&admit(&t, "d", &l).await.0));
}

#[tokio::test]
async fn release_many_frees_every_slot_given_in_one_call() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(1000.0, 100, 3);
    let mut permits = Vec::new();
    for job in ["a", "b", "c"] {
        let Admission::Go(p) = admit(&t, job, &l).await.0 else {
            panic!("{job} was not admitted")
        };
        permits.push(p);
    }
    assert!(is_concurrency_wait(&admit(&t, "d", &l).await.0));
    // Another queue's permit in the same call is freed in its own queue.
    let other = limits(1000.0, 100, 1);
    let Admission::Go(elsewhere) = t.admit(OTHER, "x", &other, HOLD).await.unwrap() else {
        panic!("x was not admitted")
    };
    permits.push(elsewhere);
    t.release_many(&permits[1..]).await.unwrap();
    for job in ["d", "e"] {
        assert!(
            goes(&admit(&t, job, &l).await.0),
            "{job} goes after the release"
        );
    }
    assert!(
        is_concurrency_wait(&admit(&t, "f", &l).await.0),
        "a still holds one"
    );
    assert!(goes(&t.admit(OTHER, "y", &other, HOLD).await.unwrap()));
}

#[tokio::test]
async fn an_expired_hold_frees_its_slot() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(1000.0, 100, 1);
    let hold = Duration::from_millis(200);
    let (a, a_at) = t.admit_on_server(KEY, "a", &l, hold).await.unwrap();
    assert!(goes(&a));
    let (b, _) = t.admit_on_server(KEY, "b", &l, hold).await.unwrap();
    assert!(is_concurrency_wait(&b));
    let b_at = admit_until_go(&t, "b", &l, hold).await;
    assert!(b_at - a_at >= 200, "b went {} ms after a", b_at - a_at);
}

#[tokio::test]
async fn hold_off_stops_admissions_and_pauses_the_schedule() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(10.0, 1, 0);
    assert!(goes(&admit(&t, "a", &l).await.0));
    let b_slot = slot_of(&admit(&t, "b", &l).await);
    let (_, before) = admit(&t, "probe", &l).await;
    t.hold_off(KEY, Duration::from_secs(1)).await.unwrap();
    t.hold_off(KEY, Duration::from_millis(10)).await.unwrap();
    let new = admit(&t, "new", &l).await;
    let not_before = slot_of(&new);
    assert!(
        not_before >= before + 1_000 && not_before <= new.1 + 1_000,
        "{new:?}"
    );
    let moved = slot_of(&admit(&t, "b", &l).await);
    assert!(
        moved >= b_slot + 1_000 && moved <= b_slot + 1_000 + (new.1 - before) + 1,
        "{moved}"
    );
}

/// Every key on the server, with its PTTL; all must be in the test's namespace.
async fn keys_and_ttls(redis: &TestRedis) -> Vec<(String, i64)> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        assert!(key.starts_with("{t1:ls-throttle:ten_1/hooks}:"), "{key}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        out.push((key, ttl));
    }
    out
}

#[tokio::test]
async fn every_key_is_namespaced_and_expires() {
    let redis = TestRedis::start();
    let t = open(&redis);
    let l = limits(10.0, 1, 1);
    let (a, _) = admit(&t, "a", &l).await;
    let Admission::Go(permit) = a else {
        panic!("a was not admitted: {a:?}")
    };
    let held = keys_and_ttls(&redis).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held[0].0.ends_with(":running") && held[0].1 > 29_000 && held[0].1 <= 30_000,
        "{held:?}"
    );
    assert!(is_concurrency_wait(&admit(&t, "b", &l).await.0));
    t.release(&permit).await.unwrap();
    let b_at = admit_until_go(&t, "b", &l, HOLD).await;
    t.release(&Permit::new(KEY, "b")).await.unwrap();
    assert!(
        slot_of(&admit(&t, "c", &l).await) > b_at,
        "c waits for its rate slot"
    );
    t.hold_off(KEY, Duration::from_millis(100)).await.unwrap();

    let left = keys_and_ttls(&redis).await;
    let names: Vec<&str> = left
        .iter()
        .map(|(k, _)| k.rsplit_once("}:").unwrap().1)
        .collect();
    assert_eq!(names, ["slot:c", "state"], "running emptied on release");
    for &(ref key, ttl) in &left {
        assert!(ttl > 0 && ttl <= 700_000, "{key} has PTTL {ttl}");
    }
    assert!(
        left[1].1 <= 3_000,
        "the state outlives its schedule by seconds: {left:?}"
    );
}

/// Three workers (separate clients and connections), eight jobs in flight each, for three
/// seconds at 20/s: in every window between two admissions, the admissions stay within
/// `burst + rate × window` (10 % tolerance for millisecond timestamps), and the rate is
/// actually reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_together_never_exceed_the_rate() {
    let redis = TestRedis::start();
    let l = limits(20.0, 5, 0);
    let run_for = Duration::from_secs(3);
    let mut lanes = tokio::task::JoinSet::new();
    for worker in 0..3 {
        let t = open(&redis);
        for lane in 0..8 {
            let t = t.clone();
            lanes.spawn(async move {
                let start = Instant::now();
                let mut went = Vec::new();
                while start.elapsed() < run_for {
                    let job = format!("w{worker}-l{lane}-{}", went.len());
                    match t.admit_on_server(KEY, &job, &l, HOLD).await.unwrap() {
                        (Admission::Go(permit), at) => {
                            went.push(at);
                            t.release(&permit).await.unwrap();
                        }
                        (Admission::Wait(d), _) => tokio::time::sleep(d).await,
                    }
                }
                went
            });
        }
    }
    let mut times: Vec<i64> = lanes.join_all().await.into_iter().flatten().collect();
    times.sort_unstable();
    let span_s = (times[times.len() - 1] - times[0]) as f64 / 1000.0;
    assert!(
        times.len() as f64 >= 0.9 * (f64::from(l.burst) + l.per_second * span_s),
        "only {} admissions in {span_s} s",
        times.len()
    );
    for i in 0..times.len() {
        for j in i..times.len() {
            let count = (j - i + 1) as f64;
            let window_s = (times[j] - times[i]) as f64 / 1000.0;
            let allowed = f64::from(l.burst) + l.per_second * window_s;
            assert!(
                count <= allowed * 1.1,
                "{count} admissions in {window_s} s (allowed {allowed})"
            );
        }
    }
}
