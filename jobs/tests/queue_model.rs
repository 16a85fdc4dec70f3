//! Property test (proptest) of the queue contract on both backends, embedded SQLite and Redis:
//! random interleavings of enqueue, fetch, ack (succeed, dead, release), lease expiry and
//! cancel, checked against a simple model after every step.
//!
//! Lease expiry needs time to pass on the clock each backend reads:
//! - SQLite reads this process's clock, moved by `clock::skew_for_tests`, which is global to the
//!   process: this file is its own test binary, and the Redis test beside it never reads that
//!   clock for anything it checks (its deadlines are the server's).
//! - Redis reads its server's `TIME` inside every script, and nothing moves a server's clock, so
//!   the test moves the deadlines instead: every score in the queue's `delayed`, `leased` and
//!   `expire` sorted sets (deadlines in ms, the only values the scripts compare with `TIME`) goes
//!   back by the same amount, which is what a clock moving forward looks like to the scripts.
//!
//! Time only moves forward, in steps of a minute, with leases of 30 s or 90 s, so the little
//! real time a case takes never decides whether a lease has lapsed. Each case has its own clock
//! origin; SQLite cases use their own queue name in one shared database, Redis cases start from
//! an empty server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use longshore_jobs::clock::skew_for_tests;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::redis::{RedisQueue, RedisQueueOptions};
use longshore_jobs::queue::sqlite::{SqliteQueue, SqliteQueueOptions, connect_sqlite};
use longshore_jobs::queue::{
    AckStatus, JobState, LeaseRef, NewJob, Outcome, Queue, QueueError, Retention, WorkerId,
};
use longshore_testkit::TestRedis;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct SqliteFixture {
    rt: tokio::runtime::Runtime,
    queue: Arc<SqliteQueue>,
    _dir: tempfile::TempDir,
}

fn sqlite() -> &'static SqliteFixture {
    static F: OnceLock<SqliteFixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let queue = rt.block_on(async {
            let pool = connect_sqlite(dir.path().join("model.db")).await.unwrap();
            Arc::new(SqliteQueue::open(pool, SqliteQueueOptions::default()))
        });
        SqliteFixture {
            rt,
            queue,
            _dir: dir,
        }
    })
}

/// The queue every Redis case uses (the server is emptied between cases).
const REDIS_QUEUE: &str = "model";

struct RedisFixture {
    rt: tokio::runtime::Runtime,
    queue: Arc<RedisQueue>,
    raw: redis::aio::MultiplexedConnection,
    _server: TestRedis,
}

fn redis_server() -> &'static RedisFixture {
    static F: OnceLock<RedisFixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = runtime();
        let server = TestRedis::start();
        let (queue, raw) = rt.block_on(async {
            let options = RedisQueueOptions {
                namespace: String::new(),
                queues: vec![REDIS_QUEUE.into()],
                retention: Retention::default(),
                tenant_concurrency: 0,
            };
            let queue = RedisQueue::connect(&server.url(), options).await.unwrap();
            let raw = redis::Client::open(server.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            (Arc::new(queue), raw)
        });
        RedisFixture {
            rt,
            queue,
            raw,
            _server: server,
        }
    })
}

/// The SQLite clock's skew so far (ms); only ever grows.
static SKEW: AtomicI64 = AtomicI64::new(0);
static CASE: AtomicU64 = AtomicU64::new(0);

/// One backend under test, and how time passes for it.
enum Backend {
    Sqlite(Arc<SqliteQueue>),
    Redis {
        queue: Arc<RedisQueue>,
        raw: redis::aio::MultiplexedConnection,
    },
}

impl Backend {
    fn queue(&self) -> Arc<dyn Queue> {
        match self {
            Backend::Sqlite(q) => q.clone(),
            Backend::Redis { queue, .. } => queue.clone(),
        }
    }

    /// The queue name for a new case, after clearing what earlier cases left where needed.
    async fn new_case(&mut self) -> String {
        match self {
            Backend::Sqlite(_) => format!("model-{}", CASE.fetch_add(1, Ordering::Relaxed)),
            Backend::Redis { raw, .. } => {
                let _: () = redis::cmd("FLUSHALL").query_async(raw).await.unwrap();
                REDIS_QUEUE.into()
            }
        }
    }

    /// Moves the backend's clock forward by `ms`.
    async fn advance(&mut self, ms: i64) {
        match self {
            Backend::Sqlite(_) => skew_for_tests(SKEW.fetch_add(ms, Ordering::Relaxed) + ms),
            Backend::Redis { raw, .. } => {
                let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(raw).await.unwrap();
                for key in keys.iter().filter(|k| {
                    k.ends_with(":delayed") || k.ends_with(":leased") || k.ends_with(":expire")
                }) {
                    let scored: Vec<(String, i64)> = redis::cmd("ZRANGE")
                        .arg(key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query_async(raw)
                        .await
                        .unwrap();
                    for (member, score) in scored {
                        let _: () = redis::cmd("ZADD")
                            .arg(key)
                            .arg(score - ms)
                            .arg(member)
                            .query_async(raw)
                            .await
                            .unwrap();
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue { max_attempts: u32 },
    Fetch { max: usize, long: bool },
    Ack { lease: usize, how: u8 },
    Cancel { job: usize },
    Advance { minutes: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u32..=3).prop_map(|max_attempts| Op::Enqueue { max_attempts }),
        3 => (1usize..=3, any::<bool>()).prop_map(|(max, long)| Op::Fetch { max, long }),
        3 => (any::<usize>(), 0u8..3).prop_map(|(lease, how)| Op::Ack { lease, how }),
        1 => any::<usize>().prop_map(|job| Op::Cancel { job }),
        2 => (1i64..=2).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// The model of one job.
#[derive(Debug, Clone)]
struct Model {
    state: JobState,
    attempts: u32,
    max: u32,
    /// Index (into `leases`) of the lease currently held, and when it lapses (model ms).
    lease: Option<(usize, i64)>,
    /// A cancel was asked for while it ran.
    cancel_requested: bool,
}

async fn run(mut backend: Backend, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let q = backend.queue();
    let name = backend.new_case().await;
    let tenant = TenantId::new();
    let me = WorkerId("model".into());
    let mut ids: Vec<JobId> = Vec::new();
    let mut jobs: HashMap<JobId, Model> = HashMap::new();
    let mut leases: Vec<LeaseRef> = Vec::new();
    // Model time (ms since the case began), moved only by `Advance`.
    let mut clock = 0i64;
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Enqueue { max_attempts } => {
                let id = JobId::new();
                let done = q
                    .enqueue(NewJob {
                        id: id.clone(),
                        tenant: tenant.clone(),
                        job_type: "test.model".into(),
                        queue: name.clone(),
                        payload: serde_json::json!({ "step": step }),
                        max_attempts,
                        run_at: None,
                        request_id: None,
                    })
                    .await
                    .unwrap();
                prop_assert!(done.created);
                ids.push(id.clone());
                jobs.insert(
                    id,
                    Model {
                        state: JobState::Queued,
                        attempts: 0,
                        max: max_attempts,
                        lease: None,
                        cancel_requested: false,
                    },
                );
            }
            Op::Fetch { max, long } => {
                let t = clock;
                let lease_ms = if long { 90_000 } else { 30_000 };
                // Lapsed leases: asked to cancel they end cancelled; with attempts left they go
                // back to the queue; without, they are handed over for burial first.
                let mut lapsed = 0;
                for m in jobs.values_mut() {
                    if let (JobState::Running, Some((_, until))) = (m.state, m.lease)
                        && until <= t
                    {
                        if m.cancel_requested {
                            m.state = JobState::Cancelled;
                            m.lease = None;
                        } else if m.attempts < m.max {
                            m.state = JobState::Queued;
                            m.lease = None;
                        } else {
                            lapsed += 1;
                        }
                    }
                }
                let queued = jobs
                    .values()
                    .filter(|m| m.state == JobState::Queued)
                    .count();
                let got = q
                    .fetch(&name, &me, max, Duration::from_millis(lease_ms as u64))
                    .await
                    .unwrap();
                let burials = got.iter().filter(|l| l.bury.is_some()).count();
                prop_assert_eq!(burials, lapsed.min(max), "step {}: burials", step);
                prop_assert_eq!(
                    got.len() - burials,
                    queued.min(max - burials),
                    "step {}: runnable jobs leased",
                    step
                );
                for l in got {
                    let m = jobs.get_mut(&l.job.id).expect("a job of this case");
                    if l.bury.is_some() {
                        prop_assert!(m.state == JobState::Running && m.attempts >= m.max);
                        prop_assert!(m.lease.is_some_and(|(_, until)| until <= t));
                    } else {
                        prop_assert_eq!(m.state, JobState::Queued);
                        m.attempts += 1;
                        m.state = JobState::Running;
                    }
                    prop_assert_eq!(l.job.attempts, m.attempts);
                    leases.push(l.lease);
                    m.lease = Some((leases.len() - 1, t + lease_ms));
                }
            }
            Op::Ack { lease, how } => {
                if leases.is_empty() {
                    continue;
                }
                let k = lease % leases.len();
                let l = leases[k].clone();
                let m = jobs.get_mut(&l.id).unwrap();
                let held = m.state == JobState::Running && m.lease.is_some_and(|(i, _)| i == k);
                let outcome = match how {
                    0 => Outcome::Succeeded,
                    1 => Outcome::Dead {
                        error: "model".into(),
                    },
                    _ => Outcome::Released,
                };
                let got = q.complete(&l, outcome).await.unwrap();
                let instead = held && how > 1 && m.cancel_requested;
                prop_assert_eq!(
                    got,
                    if instead {
                        AckStatus::Cancelled
                    } else if held {
                        AckStatus::Applied
                    } else {
                        AckStatus::Stale
                    },
                    "step {}: ack of lease {} ({:?})",
                    step,
                    k,
                    m
                );
                if held {
                    m.lease = None;
                    match how {
                        0 => m.state = JobState::Succeeded,
                        1 => m.state = JobState::Dead,
                        _ => {
                            m.state = if instead {
                                JobState::Cancelled
                            } else {
                                JobState::Queued
                            };
                            m.attempts = m.attempts.saturating_sub(1);
                        }
                    }
                }
            }
            Op::Cancel { job } => {
                if ids.is_empty() {
                    continue;
                }
                let id = ids[job % ids.len()].clone();
                let m = jobs.get_mut(&id).unwrap();
                let got = q.cancel(&tenant, &id).await;
                if m.state == JobState::Queued {
                    let rec =
                        got.map_err(|e| TestCaseError::fail(format!("step {step}: {e:?}")))?;
                    prop_assert_eq!(rec.state, JobState::Cancelled);
                    m.state = JobState::Cancelled;
                } else if m.state == JobState::Running {
                    // Its lease holder is told; the job ends when the holder says so.
                    let rec =
                        got.map_err(|e| TestCaseError::fail(format!("step {step}: {e:?}")))?;
                    prop_assert_eq!(rec.state, JobState::Running);
                    prop_assert!(rec.cancel_requested_at.is_some());
                    m.cancel_requested = true;
                } else {
                    prop_assert!(
                        matches!(got, Err(QueueError::InvalidState(s)) if s == m.state),
                        "step {}: cancel of a {:?} job gave {:?}",
                        step,
                        m.state,
                        got
                    );
                }
            }
            Op::Advance { minutes } => {
                clock += minutes * 60_000;
                backend.advance(minutes * 60_000).await;
            }
        }
        for id in &ids {
            let m = &jobs[id];
            let rec = q.get(&tenant, id).await.unwrap().expect("job kept");
            prop_assert_eq!(
                (rec.state, rec.attempts),
                (m.state, m.attempts),
                "step {}: job {} ({:?})",
                step,
                id,
                m
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sqlite_queue_follows_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let f = sqlite();
        f.rt.block_on(run(Backend::Sqlite(f.queue.clone()), ops))?;
    }

    #[test]
    fn redis_queue_follows_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let f = redis_server();
        let backend = Backend::Redis { queue: f.queue.clone(), raw: f.raw.clone() };
        f.rt.block_on(run(backend, ops))?;
    }
}
