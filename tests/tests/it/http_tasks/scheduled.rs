//! Schedules that call the app: a cron expression creates an HTTP task per tick, once per tick
//! whatever the number of schedulers.

use std::collections::HashSet;
use std::time::Duration;

use longshore_tests::{Mode, eventually};
use serde_json::json;

use super::{DEADLINE, queue, receiver, stack, tenant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_task_fires_once_per_tick_with_two_schedulers() {
    let app = receiver().await;
    let mut stack = stack(Mode::Production)
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "500")
        .env("LONGSHORE_SCHEDULER_GRACE_MS", "20000")
        .start()
        .await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "beat", json!({})).await;
    let mut schedulers: Vec<_> = (0..2).map(|_| stack.spawn_scheduler()).collect();
    let r = client
        .post(
            "/v1/schedules",
            &json!({"name": "every 2 s", "cron": "*/2 * * * * *",
                "task": {"queue": "beat", "http_request": {"url": app.url("/ok"),
                    "body_text": "tick"}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["task"]["queue"], "beat");
    assert!(r.body.get("report").is_none(), "{}", r.body);
    let schedule = r.body["id"].as_str().unwrap().to_owned();

    eventually(DEADLINE, "ten ticks delivered", || async {
        (app.requests().len() >= 10).then_some(())
    })
    .await;
    for s in &mut schedulers {
        assert!(s.terminate(Duration::from_secs(15)).is_some());
    }
    // Let the last hand-overs land, then count: one task per tick, each delivered once.
    let tasks = eventually(DEADLINE, "every created task to be delivered", || async {
        let listed = client.get("/v1/tasks?queue=beat&limit=100").await.body;
        let tasks = listed["data"].as_array().unwrap().clone();
        tasks
            .iter()
            .all(|t| t["status"] == "succeeded")
            .then_some(tasks)
    })
    .await;
    let names: Vec<String> = tasks
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    let distinct: HashSet<_> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "a tick created two tasks");
    assert!(names.iter().all(|n| n.starts_with(&format!("{schedule}-"))));
    let mut ticks: Vec<i64> = names
        .iter()
        .map(|n| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    ticks.sort();
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            2000,
            "ticks 2 s apart, none skipped: {ticks:?}"
        );
    }
    let ids: Vec<_> = app
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    let distinct_ids: HashSet<_> = ids.iter().collect();
    assert_eq!(distinct_ids.len(), ids.len(), "a task was delivered twice");
    assert_eq!(ids.len(), tasks.len());
    let s = client.get(&format!("/v1/schedules/{schedule}")).await.body;
    assert_eq!(
        s["counters"]["fired"].as_u64(),
        Some(tasks.len() as u64),
        "{s}"
    );
    assert!(s["last_task_id"].is_string(), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_schedule_is_checked_like_a_task() {
    let stack = stack(Mode::Embedded).start().await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "beat", json!({})).await;
    let cases = [
        (
            json!({"queue": "nope", "http_request": {"url": "https://example.com/"}}),
            "task.queue",
        ),
        (
            json!({"queue": "beat", "http_request": {"url": "http://10.0.0.1/"}}),
            "task.http_request.url",
        ),
        (
            json!({"queue": "beat", "http_request": {"url": "https://example.com/"},
            "dispatch_deadline": "1s"}),
            "task.dispatch_deadline",
        ),
    ];
    for (task, field) in cases {
        let r = client
            .post(
                "/v1/schedules",
                &json!({"name": "n", "cron": "* * * * *", "task": task}),
            )
            .await;
        assert_eq!(r.status, 422, "{task}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let both = client
        .post(
            "/v1/schedules",
            &json!({"name": "n", "cron": "* * * * *",
                "report": {"kind": "jobs_health", "period": "since_last_run"},
                "task": {"queue": "beat", "http_request": {"url": "https://example.com/"}}}),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.text);

    // Run now, out of band: one task from the template, delivered, the ticks untouched.
    let app = receiver().await;
    let r = client
        .post(
            "/v1/schedules",
            &json!({"name": "weekly", "cron": "0 3 * * 1",
                "task": {"queue": "beat", "http_request": {"url": app.url("/ok")}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let run = client.post_empty(&format!("/v1/schedules/{id}/run")).await;
    assert_eq!(run.status, 201, "{}", run.text);
    let task = run.body["id"].as_str().unwrap().to_owned();
    super::wait_status(&client, &task, "succeeded").await;
    assert_eq!(app.for_task(&task).len(), 1);
    let s = client.get(&format!("/v1/schedules/{id}")).await.body;
    assert_eq!(s["counters"]["fired"], 0, "{s}");
}
