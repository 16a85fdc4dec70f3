//! Ticks over real scheduler processes: exactly once per tick with three schedulers, catch-up
//! after downtime, changes without restart, SIGTERM.

use std::time::Duration;

use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use super::{DEADLINE, assert_each_tick_once, create, reports_of, time};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_schedulers_fire_every_tick_exactly_once() {
    let mut stack = Stack::builder(Mode::Production)
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "500")
        .env("LONGSHORE_SCHEDULER_GRACE_MS", "20000")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let mut schedulers: Vec<_> = (0..3).map(|_| stack.spawn_scheduler()).collect();
    let report = json!({"kind": "jobs_health", "period": "since_last_run"});
    // One honest per-minute schedule, and one every 2 seconds for many more ticks.
    let minute = create(
        &client,
        json!({"name": "minutely", "cron": "* * * * *", "report": report}),
    )
    .await;
    let fast = create(
        &client,
        json!({"name": "every 2 s", "cron": "*/2 * * * * *", "report": report}),
    )
    .await;
    let (minute, fast) = (minute["id"].as_str().unwrap(), fast["id"].as_str().unwrap());
    eventually(DEADLINE, "the first fast ticks", || async {
        (reports_of(&client, fast).await.len() >= 5).then_some(())
    })
    .await;
    // A scheduler dying mid-run changes nothing: the other two carry on, still once per tick.
    schedulers[0].kill();
    eventually(Duration::from_secs(150), "two per-minute ticks", || async {
        (reports_of(&client, minute).await.len() >= 2).then_some(())
    })
    .await;
    for s in schedulers.iter_mut().skip(1) {
        let status = s
            .terminate(Duration::from_secs(15))
            .expect("scheduler exits on SIGTERM");
        assert!(status.success(), "{status}");
    }
    let minutes = reports_of(&client, minute).await;
    assert_each_tick_once(&minutes, chrono::Duration::minutes(1));
    assert!(
        minutes
            .iter()
            .all(|r| r["ticks"]["count"] == 1 && r["catch_up"] == false),
        "{minutes:?}"
    );
    let fasts = reports_of(&client, fast).await;
    assert!(fasts.len() >= 30, "only {} fast reports", fasts.len());
    assert_each_tick_once(&fasts, chrono::Duration::seconds(2));
    assert!(
        fasts.iter().all(|r| r["ticks"]["count"] == 1),
        "a tick was reported as missed"
    );
    // One build job per report, no more.
    let jobs = client
        .get("/v1/jobs?type=report.build&limit=100")
        .await
        .body;
    let mut count = jobs["data"].as_array().unwrap().len();
    let mut cursor = jobs["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = client
            .get(&format!("/v1/jobs?type=report.build&limit=100&cursor={c}"))
            .await
            .body;
        count += page["data"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(count, minutes.len() + fasts.len());
    let s = client.get(&format!("/v1/schedules/{fast}")).await.body;
    assert_eq!(
        s["counters"]["fired"].as_u64(),
        Some(fasts.len() as u64),
        "{s}"
    );
    assert_eq!(s["counters"]["missed"], 0, "{s}");
}

async fn report_with(client: &Client, schedule: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let reports = reports_of(client, schedule).await;
    reports.into_iter().filter(|r| pred(r)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_downtime_run_once_catches_up_once_and_skip_runs_none() {
    let mut stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "300")
        .env("LONGSHORE_SCHEDULER_GRACE_MS", "1500")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let report = json!({"kind": "payments_summary", "period": "since_last_run"});
    let once = create(&client, json!({"name": "once", "cron": "*/2 * * * * *", "report": report, "missed_runs": "run_once"})).await;
    let skip = create(
        &client,
        json!({"name": "skip", "cron": "*/2 * * * * *", "report": report, "missed_runs": "skip"}),
    )
    .await;
    let (once, skip) = (once["id"].as_str().unwrap(), skip["id"].as_str().unwrap());
    let mut first = stack.spawn_scheduler();
    for id in [once, skip] {
        eventually(DEADLINE, "a first run", || async {
            (!reports_of(&client, id).await.is_empty()).then_some(())
        })
        .await;
    }
    let status = first
        .terminate(Duration::from_secs(10))
        .expect("scheduler exits promptly on SIGTERM");
    assert!(status.success(), "{status}");
    // Downtime: several 2-second ticks pass unobserved.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let before = reports_of(&client, once).await.len();
    let _second = stack.spawn_scheduler();
    eventually(
        DEADLINE,
        "the catch-up run and a normal run after it",
        || async {
            let caught = report_with(&client, once, |r| r["catch_up"] == true).await;
            let later = reports_of(&client, once).await.len();
            (caught.len() == 1 && later >= before + 2).then_some(())
        },
    )
    .await;
    let skipped = eventually(
        DEADLINE,
        "the skip decision and a normal run after it",
        || async {
            let s = client.get(&format!("/v1/schedules/{skip}")).await.body;
            let decided = s["missed_run_decisions"]
                .as_array()
                .is_some_and(|d| !d.is_empty());
            let after = reports_of(&client, skip).await;
            let resumed = decided
                && after.iter().any(|r| {
                    time(&r["ticks"]["first"]) > time(&s["missed_run_decisions"][0]["last_tick"])
                });
            resumed.then_some(s)
        },
    )
    .await;
    // run_once: exactly one catch-up run, covering the missed ticks; every tick covered once.
    let all = reports_of(&client, once).await;
    let caught: Vec<_> = all.iter().filter(|r| r["catch_up"] == true).collect();
    assert_eq!(caught.len(), 1, "{all:?}");
    assert!(
        caught[0]["ticks"]["count"].as_i64().unwrap() >= 2,
        "{}",
        caught[0]
    );
    assert_each_tick_once(&all, chrono::Duration::seconds(2));
    let s = client.get(&format!("/v1/schedules/{once}")).await.body;
    assert_eq!(s["missed_run_decisions"][0]["action"], "run_once", "{s}");
    assert_eq!(
        s["missed_run_decisions"][0]["report_id"], caught[0]["id"],
        "{s}"
    );
    // skip: no catch-up run; the skipped ticks are recorded and exactly fill the gap.
    let runs = reports_of(&client, skip).await;
    assert!(
        runs.iter()
            .all(|r| r["catch_up"] == false && r["ticks"]["count"] == 1),
        "{runs:?}"
    );
    let d = &skipped["missed_run_decisions"][0];
    assert_eq!(d["action"], "skip", "{skipped}");
    assert!(d["ticks"].as_i64().unwrap() >= 2, "{d}");
    assert_eq!(skipped["counters"]["skipped"], d["ticks"], "{skipped}");
    let before_gap = runs
        .iter()
        .rfind(|r| time(&r["ticks"]["last"]) < time(&d["first_tick"]))
        .unwrap();
    let after_gap = runs
        .iter()
        .find(|r| time(&r["ticks"]["first"]) > time(&d["last_tick"]))
        .unwrap();
    assert_eq!(
        time(&d["first_tick"]) - time(&before_gap["ticks"]["last"]),
        chrono::Duration::seconds(2)
    );
    assert_eq!(
        time(&after_gap["ticks"]["first"]) - time(&d["last_tick"]),
        chrono::Duration::seconds(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_changes_take_effect_without_restart() {
    let mut stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let mut scheduler = stack.spawn_scheduler();
    let s = create(
        &client,
        json!({"name": "yearly", "cron": "0 0 1 1 *",
        "report": {"kind": "jobs_health", "period": "previous_day"}}),
    )
    .await;
    let id = s["id"].as_str().unwrap();
    let patch = |body: Value| {
        let client = client.clone();
        let path = format!("/v1/schedules/{id}");
        async move {
            let r = client
                .send(reqwest::Method::PATCH, &path, |r| {
                    r.header("content-type", "application/json")
                        .body(body.to_string())
                })
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body
        }
    };
    // The running scheduler picks the new expression up from the database.
    patch(json!({"cron": "* * * * * *"})).await;
    eventually(
        Duration::from_secs(20),
        "runs of the changed schedule",
        || async { (reports_of(&client, id).await.len() >= 2).then_some(()) },
    )
    .await;
    let s = patch(json!({"enabled": false})).await;
    assert_eq!(s["next_runs"].as_array().map(Vec::len), Some(0));
    let stopped_at = reports_of(&client, id).await.len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = reports_of(&client, id).await.len();
    assert!(
        later <= stopped_at + 1,
        "runs went on after disabling: {stopped_at} → {later}"
    );
    let status = scheduler
        .terminate(Duration::from_secs(10))
        .expect("scheduler exits promptly on SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        scheduler.output().contains("scheduler loop stopped"),
        "{}",
        scheduler.output()
    );
}
