//! `longshore-scheduler`: fires periodic work. Safe to run several: each tick's job id is derived
//! from (schedule, tick time) and enqueue is idempotent on it. The loop itself is
//! `longshore_jobs::scheduler::run`; this binary runs it next to the health server.

use std::net::TcpListener;

use anyhow::Context;
use longshore_jobs::config::Config;
use longshore_jobs::platform::Services;
use longshore_jobs::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    longshore_jobs::metrics::install();
    let admin = TcpListener::bind((config.host.as_str(), config.admin_port))
        .with_context(|| format!("bind admin port {}", config.admin_port))?;
    let services = Services::connect(config).await?;
    let token = shutdown::on_signals();
    tracing::info!(admin = %admin.local_addr()?, "scheduler started");
    let scheduler = tokio::spawn(longshore_jobs::scheduler::run(
        services.clone(),
        token.clone(),
    ));
    longshore_api::health_server::serve_health(services, admin, token.clone().cancelled_owned())
        .await?;
    token.cancel();
    scheduler.await?;
    tracing::info!("scheduler stopped");
    Ok(())
}
