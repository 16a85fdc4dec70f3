//! Carrying the plan out: one task per lane, each fault injected at its time (or as soon as the
//! lane's previous fault is over) and undone at its end, with the times it really began and
//! ended recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Fault, Lane, Plan, Planned, Window};
use crate::tenant::BOUNCES;
use crate::topology::{Health, Topology};

/// Runs `plan` against `topology`, counting from `start`; returns every fault as it happened.
pub async fn run(plan: Plan, topology: Arc<Topology>, start: Instant) -> Vec<Window> {
    let windows = Arc::new(Mutex::new(Vec::new()));
    let mut lanes = JoinSet::new();
    for lane in [Lane::Processes, Lane::Dependencies] {
        let mine: Vec<Planned> = plan
            .faults
            .iter()
            .filter(|p| p.lane == lane)
            .cloned()
            .collect();
        let (topology, windows) = (topology.clone(), windows.clone());
        lanes.spawn(async move {
            for planned in mine {
                tokio::time::sleep_until(start + planned.at).await;
                let started = Utc::now();
                println!("  [{}] {}", started.format("%H:%M:%S"), planned.fault);
                let note = match inject(&topology, &planned.fault).await {
                    Ok(note) => note,
                    Err(e) => format!("injection failed: {e:#}"),
                };
                let window = Window {
                    planned,
                    started,
                    ended: Utc::now(),
                    note,
                };
                println!(
                    "  [{}]   {} over after {:.1}s{}",
                    window.ended.format("%H:%M:%S"),
                    window.planned.fault.short(),
                    (window.ended - window.started).as_seconds_f64(),
                    if window.note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", window.note)
                    }
                );
                windows
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(window);
            }
        });
    }
    while lanes.join_next().await.is_some() {}
    let mut all = std::mem::take(
        &mut *windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    all.sort_by_key(|w| w.started);
    all
}

/// Injects `fault`, waits its duration, undoes it; returns what was observed.
async fn inject(topology: &Arc<Topology>, fault: &Fault) -> anyhow::Result<String> {
    let t = topology.clone();
    match fault.clone() {
        Fault::KillWorker { worker, down } => {
            blocking(move || t.worker(worker).kill()).await?;
            tokio::time::sleep(down).await;
            topology.worker(worker).start();
            Ok(String::new())
        }
        Fault::RestartApi => {
            let began = Instant::now();
            blocking(move || t.api().terminate(Duration::from_secs(15))).await?;
            topology.api().start();
            topology.wait_api_ready(Duration::from_secs(60)).await?;
            Ok(format!(
                "ready again after {:.1}s",
                began.elapsed().as_secs_f64()
            ))
        }
        Fault::KillRedis { down } => {
            blocking(move || t.redis().kill()).await?;
            tokio::time::sleep(down).await;
            let t = topology.clone();
            blocking(move || t.redis().start_again()).await?;
            Ok(String::new())
        }
        Fault::RestartPostgres { mode, down } => {
            blocking(move || t.postgres.stop(mode)).await?;
            tokio::time::sleep(down).await;
            let t = topology.clone();
            blocking(move || t.postgres.start_again()).await?;
            Ok(String::new())
        }
        Fault::PauseWorker { worker, paused } => {
            let admin = topology.worker(worker).port;
            let before = fenced_acks(admin).await;
            topology.worker(worker).pause()?;
            tokio::time::sleep(paused).await;
            topology.worker(worker).resume()?;
            // Give the resumed handlers a moment to finish and try to acknowledge.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let after = fenced_acks(admin).await;
            Ok(match (before, after) {
                (Some(b), Some(a)) => format!("{} acknowledgements fenced off", a - b),
                _ => "fenced acknowledgements unknown (metrics unreadable)".into(),
            })
        }
        Fault::SmtpOutage { tempfail, drop } => {
            topology
                .sink
                .fail_next(100_000, 451, "4.3.0 soak: try again later");
            tokio::time::sleep(tempfail).await;
            topology.accept_mail(&BOUNCES);
            let swallowed = topology.smtp_proxy.swallowed();
            topology.smtp_proxy.set_dropping(true);
            tokio::time::sleep(drop).await;
            topology.smtp_proxy.set_dropping(false);
            Ok(format!(
                "{} stored messages' replies swallowed",
                topology.smtp_proxy.swallowed() - swallowed
            ))
        }
        Fault::TaskAppOutage { fail, hang } => {
            outage(&topology.task_app, fail, hang).await;
            Ok(String::new())
        }
        Fault::EventAppOutage { fail, hang } => {
            outage(&topology.event_app, fail, hang).await;
            Ok(String::new())
        }
        Fault::StopScheduler { scheduler, down } => {
            blocking(move || t.scheduler(scheduler).terminate(Duration::from_secs(15))).await?;
            tokio::time::sleep(down).await;
            topology.scheduler(scheduler).start();
            Ok(String::new())
        }
    }
}

async fn outage(app: &crate::topology::Receiver, fail: Duration, hang: Duration) {
    app.set_health(Health::Failing);
    tokio::time::sleep(fail).await;
    app.set_health(Health::Hanging);
    tokio::time::sleep(hang).await;
    app.set_health(Health::Normal);
}

/// Runs a blocking step (a signal and a wait, `pg_ctl`) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

/// The worker's `longshore_jobs_processed_total{outcome="fenced"}`, summed over its labels.
async fn fenced_acks(admin_port: u16) -> Option<u64> {
    let text = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{admin_port}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(
        text.lines()
            .filter(|l| {
                l.starts_with("longshore_jobs_processed_total") && l.contains("outcome=\"fenced\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64,
    )
}
