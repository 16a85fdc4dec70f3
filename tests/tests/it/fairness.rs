//! Fairness between tenants through the real worker: a tenant's burst does not hold the queue
//! while another tenant's job waits, and `LONGSHORE_TENANT_CONCURRENCY` caps how many of one
//! tenant's jobs run at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::json;

use crate::in_both_modes;

const DEADLINE: Duration = Duration::from_secs(60);

/// How many of `client`'s jobs are running now.
async fn running(client: &Client) -> usize {
    let r = client.get("/v1/jobs?state=running&limit=100").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["data"].as_array().map_or(0, Vec::len)
}

in_both_modes!(a_capped_burst_leaves_room_for_another_tenant, capped_burst);
async fn capped_burst(mode: Mode) {
    let stack = Stack::builder(mode)
        .env("LONGSHORE_TENANT_CONCURRENCY", "2")
        .workers(0)
        .start()
        .await;
    let a = stack.tenant("burst").await;
    let b = stack.tenant("small").await;
    let mut burst = Vec::new();
    for _ in 0..8 {
        burst.push(
            a.submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1_500}}))
                .await,
        );
    }
    let small = b
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1}}))
        .await;

    let mut stack = stack;
    stack.spawn_worker();
    let most = AtomicUsize::new(0);
    let b_done = eventually(DEADLINE, "B's job to succeed", || async {
        most.fetch_max(running(&a).await, Ordering::SeqCst);
        let job = b.job(&small).await;
        (job["state"] == "succeeded").then_some(job)
    })
    .await;
    // B's job ran while A's burst was still under way: it did not wait for the burst.
    let a_left = {
        let r = a.get("/v1/jobs?state=succeeded&limit=100").await;
        burst.len() - r.body["data"].as_array().map_or(0, Vec::len)
    };
    assert!(a_left > 0, "B finished before A's burst: {b_done}");
    for id in &burst {
        eventually(DEADLINE, "A's burst to finish", || async {
            most.fetch_max(running(&a).await, Ordering::SeqCst);
            (a.job(id).await["state"] == "succeeded").then_some(())
        })
        .await;
    }
    let most = most.into_inner();
    assert!(most <= 2, "at most 2 of A's jobs ran at once, saw {most}");
    assert!(most >= 1, "A's jobs were seen running");
}
