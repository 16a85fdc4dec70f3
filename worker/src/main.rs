//! `longshore-worker`: runs jobs. Start as many as you like; each has a unique identity, and a
//! job whose worker dies runs again on another within the lease (30 s by default).

use std::net::TcpListener;

use anyhow::Context;
use longshore_jobs::config::Config;
use longshore_jobs::platform::Services;
use longshore_jobs::queue::QUEUES;
use longshore_jobs::queue::WorkerId;
use longshore_jobs::{shutdown, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    longshore_jobs::metrics::install();
    let queues = queues_to_serve(&config.worker_queues)?;
    let admin = TcpListener::bind((config.host.as_str(), config.admin_port))
        .with_context(|| format!("bind admin port {}", config.admin_port))?;
    let services = Services::connect(config).await?;
    let worker = WorkerId::generate("worker");
    let token = shutdown::on_signals();
    tracing::info!(worker = %worker, ?queues, admin = %admin.local_addr()?, "worker started");
    tokio::spawn(longshore_api::health_server::serve_health(
        services.clone(),
        admin,
        token.clone().cancelled_owned(),
    ));
    longshore_jobs::runtime::run_workers(services, worker, queues, token.cancelled_owned()).await?;
    tracing::info!("worker stopped");
    Ok(())
}

/// Parses `LONGSHORE_WORKER_QUEUES` (comma-separated); empty means every queue.
fn queues_to_serve(raw: &str) -> anyhow::Result<Vec<String>> {
    let wanted: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned)
        .collect();
    if wanted.is_empty() {
        return Ok(QUEUES.iter().map(|q| q.to_string()).collect());
    }
    for q in &wanted {
        anyhow::ensure!(
            QUEUES.contains(&q.as_str()),
            "LONGSHORE_WORKER_QUEUES: unknown queue `{q}` (known: {})",
            QUEUES.join(", ")
        );
    }
    Ok(wanted)
}
