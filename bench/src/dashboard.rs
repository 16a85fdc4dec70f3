//! Issue 17's dashboard figures: with 1,000,000 stored jobs of 100 job types (ten tenants, the
//! six queues, 1 % scheduled for later), how long each dashboard page and the API's `/metrics`
//! take, timed from the client over loopback (so server time plus a loopback round trip): p50
//! and p99 of 30 requests each. The jobs are stored through the queue library itself (the same
//! enqueue the API does), which is much faster than 1,000,000 HTTP requests.

use std::sync::Arc;
use std::time::Instant;

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::redis::{RedisQueue, RedisQueueOptions};
use longshore_jobs::queue::sqlite::{SqliteQueue, SqliteQueueOptions, connect_sqlite};
use longshore_jobs::queue::{NewJob, QUEUES, Queue};
use longshore_tests::{Client, Mode, Stack};
use serde_json::{Value, json};

use crate::measure::{Deployments, deployment_name, percentile};

const OPERATOR_KEY: &str = "bench-operator-0123456789abcdef0123456789abcdef";
/// Requests per page.
const SAMPLES: usize = 30;
/// Jobs per `enqueue_many` call.
const BATCH: usize = 2_000;

/// Options of the dashboard scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Jobs stored before the pages are timed.
    #[arg(long, default_value_t = 1_000_000)]
    jobs: usize,
    /// Job types they are spread over.
    #[arg(long, default_value_t = 100)]
    types: usize,
    /// The deployments to measure.
    #[arg(long, value_enum, default_value_t = Deployments::Both)]
    mode: Deployments,
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for mode in args.mode.modes() {
        results.push(one_deployment(mode, &args).await?);
    }
    let report = json!({
        "scenario": "dashboard",
        "build_profile": crate::measure::build_profile(),
        "stored_jobs": args.jobs,
        "job_types": args.types,
        "samples_per_page": SAMPLES,
        "deployments": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn one_deployment(mode: Mode, args: &Args) -> anyhow::Result<Value> {
    let mut stack = crate::bench_stack(mode)
        .workers(0)
        .env("RUST_LOG", "warn")
        .env("LONGSHORE_ADMIN_KEY", &format!("bench:{OPERATOR_KEY}"))
        .start()
        .await;
    for n in 0..10 {
        stack.tenant(&format!("tenant-{n}")).await;
    }
    let queue: Arc<dyn Queue> = match mode {
        Mode::Embedded => {
            let path = stack.dir().join("data").join("longshore.db");
            let pool = connect_sqlite(&path).await?;
            Arc::new(SqliteQueue::open(pool, SqliteQueueOptions::default()))
        }
        Mode::Production => {
            let options = RedisQueueOptions {
                queues: QUEUES.iter().map(|q| q.to_string()).collect(),
                ..Default::default()
            };
            Arc::new(RedisQueue::connect(&stack.redis().url(), options).await?)
        }
    };
    let tenant_ids = tenant_ids(&stack).await?;
    let started = Instant::now();
    let some_job = store(&queue, &tenant_ids, args).await?;
    let store_secs = started.elapsed().as_secs_f64();

    let dash = Dashboard::login(&stack.base_url()).await?;
    let t = &tenant_ids[0];
    let pages = [
        ("overview", "/dashboard".to_owned()),
        (
            "overview_fragment",
            "/dashboard/fragments/queues".to_owned(),
        ),
        ("jobs_of_a_tenant", format!("/dashboard/jobs?tenant={t}")),
        (
            "jobs_by_state",
            format!("/dashboard/jobs?tenant={t}&state=scheduled"),
        ),
        (
            "jobs_by_type",
            format!("/dashboard/jobs?tenant={t}&type=bench.type-07"),
        ),
        ("job", format!("/dashboard/jobs/{t}/{some_job}")),
        ("tenants", "/dashboard/tenants".to_owned()),
        ("tenant", format!("/dashboard/tenants/{t}")),
        ("audit", "/dashboard/audit".to_owned()),
    ];
    let mut timings = serde_json::Map::new();
    for (name, path) in pages {
        timings.insert(name.to_owned(), dash.time(&path, true).await?);
    }
    timings.insert(
        "api_metrics".to_owned(),
        dash.time("/metrics", false).await?,
    );
    Ok(json!({
        "deployment": deployment_name(mode),
        "store_seconds": store_secs,
        "ms": timings,
    }))
}

/// The tenants' ids, from the operator API.
async fn tenant_ids(stack: &Stack) -> anyhow::Result<Vec<TenantId>> {
    let op = Client::new(&stack.base_url(), Some(OPERATOR_KEY.to_owned()));
    let r = op.get("/v1/admin/tenants?limit=100").await;
    anyhow::ensure!(r.status == 200, "tenants: {}", r.text);
    let ids = r.body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["id"].as_str())
                .filter_map(|id| id.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(ids)
}

/// Stores `args.jobs` jobs round robin over the tenants and types; returns one job's id.
async fn store(queue: &Arc<dyn Queue>, tenants: &[TenantId], args: &Args) -> anyhow::Result<JobId> {
    anyhow::ensure!(!tenants.is_empty(), "no tenants");
    let later = now_ms() + 86_400_000;
    let mut first = None;
    let mut stored = 0;
    while stored < args.jobs {
        let n = BATCH.min(args.jobs - stored);
        let jobs: Vec<NewJob> = (stored..stored + n)
            .map(|i| {
                let kind = i % args.types.max(1);
                NewJob {
                    id: JobId::new(),
                    tenant: tenants[i % tenants.len()].clone(),
                    job_type: format!("bench.type-{kind:02}"),
                    queue: QUEUES[kind % QUEUES.len()].to_owned(),
                    payload: json!({"n": i, "customer": format!("cus_{i:07}")}),
                    max_attempts: 5,
                    run_at: (i % 100 == 0).then_some(later),
                    request_id: None,
                }
            })
            .collect();
        if first.is_none() {
            first = jobs.first().map(|j| j.id.clone());
        }
        for done in queue.enqueue_many(jobs).await {
            done.map_err(|e| anyhow::anyhow!("enqueue: {e}"))?;
        }
        stored += n;
    }
    first.ok_or_else(|| anyhow::anyhow!("no job stored"))
}

/// A logged-in dashboard client.
struct Dashboard {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Dashboard {
    async fn login(base: &str) -> anyhow::Result<Dashboard> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let r = http
            .post(format!("{base}/dashboard/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("key={OPERATOR_KEY}"))
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 303, "login: {}", r.status());
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
            .to_owned();
        Ok(Dashboard {
            http,
            base: base.to_owned(),
            cookie,
        })
    }

    /// p50 and p99 (ms) of [`SAMPLES`] GETs of `path`, after one unmeasured warm-up.
    async fn time(&self, path: &str, with_session: bool) -> anyhow::Result<Value> {
        let mut ms = Vec::with_capacity(SAMPLES);
        for i in 0..=SAMPLES {
            let mut req = self.http.get(format!("{}{path}", self.base));
            if with_session {
                req = req.header("cookie", &self.cookie);
            }
            let began = Instant::now();
            let r = req.send().await?;
            let status = r.status().as_u16();
            let _ = r.bytes().await?;
            let took = began.elapsed();
            anyhow::ensure!(status == 200, "{path}: {status}");
            if i > 0 {
                ms.push(took.as_secs_f64() * 1000.0);
            }
        }
        ms.sort_by(f64::total_cmp);
        Ok(json!({
            "p50": percentile(&ms, 50.0),
            "p99": percentile(&ms, 99.0),
        }))
    }
}
