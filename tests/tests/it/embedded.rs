//! The one-command embedded platform, and the scheduler process's lifecycle.

use std::time::Duration;

use longshore_tests::{Client, Mode, Proc, Stack, eventually};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_command_runs_everything_and_prints_a_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let port = longshore_testkit::free_port();
    let env = vec![
        ("PORT".to_owned(), port.to_string()),
        (
            "LONGSHORE_DATA_DIR".to_owned(),
            dir.path().join("data").display().to_string(),
        ),
    ];
    let mut dev = Proc::spawn(
        "dev",
        &longshore_tests::bin("longshore-api"),
        &["dev"],
        &env,
        dir.path(),
        dir.path().join("dev.log"),
        None,
    );
    let key = eventually(Duration::from_secs(60), "the dev banner", || {
        let out = dev.output();
        async move {
            out.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("API key")
                    .map(|k| k.trim().to_owned())
            })
        }
    })
    .await;
    let out = dev.output();
    assert!(out.contains(&format!("http://127.0.0.1:{port}")), "{out}");
    assert!(out.contains("/docs"), "{out}");
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(key));
    let id = eventually(
        Duration::from_secs(30),
        "the API to accept a job",
        || async {
            let r = client
                .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
                .await;
            (r.status == 202).then(|| r.body["id"].as_str().unwrap().to_owned())
        },
    )
    .await;
    client
        .wait_for_state(&id, "succeeded", Duration::from_secs(30))
        .await;
    assert!(dir.path().join("data/longshore.db").is_file());
    let status = dev
        .terminate(Duration::from_secs(30))
        .expect("dev exits on SIGTERM");
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_and_worker_serve_health_and_stop_cleanly() {
    let mut stack = Stack::start(Mode::Production).await;
    let mut scheduler = stack.spawn_scheduler();
    let http = reqwest::Client::new();
    for port in [
        scheduler.admin_port.unwrap(),
        stack.workers[0].admin_port.unwrap(),
    ] {
        let url = format!("http://127.0.0.1:{port}/readyz");
        eventually(Duration::from_secs(30), "admin readiness", || {
            let http = http.clone();
            let url = url.clone();
            async move {
                http.get(&url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status() == 200)
                    .map(|_| ())
            }
        })
        .await;
    }
    let status = scheduler
        .terminate(Duration::from_secs(15))
        .expect("scheduler exits");
    assert!(status.success(), "{status}");
    let status = stack.workers[0]
        .terminate(Duration::from_secs(15))
        .expect("worker exits");
    assert!(status.success(), "{status}");
}
