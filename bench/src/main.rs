//! `longshore-bench <scenario>`: starts the real optimised binaries against throwaway servers,
//! drives them, and prints the figures as JSON. Build first, with the profile deployments use:
//! `cargo build --profile production --bins` (then run `target/production/longshore-bench`).
//!
//! Scenarios live one per module; each prints one JSON object on standard output.

mod core;
mod dashboard;
mod documents;
mod email;
mod events;
mod fairness;
mod http1;
mod measure;
mod reports;
mod tasks;
mod webhooks;

use clap::{Parser, Subcommand};
use longshore_tests::{Mode, StackBuilder};

/// A stack for a benchmark. Request limits stay on, as in production, but far above any rate
/// a benchmark reaches: their cost (a Redis round trip per request in production mode) is part
/// of every figure, their refusals are not.
fn bench_stack(mode: Mode) -> StackBuilder {
    longshore_tests::Stack::builder(mode)
        .env("LONGSHORE_RATE_LIMIT_PER_SECOND", "1000000")
        .env("LONGSHORE_RATE_LIMIT_BURST", "1000000")
}

#[derive(Parser)]
#[command(name = "longshore-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Platform core: HTTP enqueue rate, worker drain rate, latency at a steady rate, idle memory.
    Core(core::Args),
    /// PDF documents: certificates/s through the queue, bytes per certificate, worker memory.
    Documents(documents::Args),
    /// Email: 20 KB HTML emails/s through an SMTP sink, tracking endpoints requests/s and p99.
    Email(email::Args),
    /// Payment webhooks: signed 1.5 KB Stripe events, accepted/s, p99, time to process all.
    Webhooks(webhooks::Args),
    /// Reports: payments_summary over 1,000,000 payments end to end; idle scheduler with 1,000 schedules.
    Reports(reports::Args),
    /// HTTP tasks: tasks/s one worker delivers, enqueue → delivered p99 at 500/s, worker
    /// memory with 10,000 tasks in flight against a slow endpoint.
    Tasks(tasks::Args),
    /// Events: email throughput with and without an endpoint for every email event, event
    /// lag p99, and 10,000 events fanned out to 10 endpoints by one worker (deliveries/s).
    Events(events::Args),
    /// Fairness between tenants: tenant A's 50,000-job burst, then tenant B's 100 jobs on the
    /// same queue with one worker; B's wait p99, and A's drain (B's wait under FIFO).
    Fairness(fairness::Args),
    /// Dashboard pages and `/metrics` with 1,000,000 stored jobs of 100 types: p50/p99 ms each.
    Dashboard(dashboard::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Benchmarks run the binaries built with the same profile as this one, next to it
    // (`target/production/` for the figures in the README).
    if std::env::var_os("LONGSHORE_BIN_DIR").is_none() {
        let exe = std::env::current_exe()?;
        let dir = exe
            .parent()
            .ok_or_else(|| anyhow::anyhow!("{} has no folder", exe.display()))?;
        longshore_tests::set_bin_dir(dir);
    }
    match Cli::parse().scenario {
        Scenario::Core(args) => core::run(args).await,
        Scenario::Documents(args) => documents::run(args).await,
        Scenario::Email(args) => email::run(args).await,
        Scenario::Webhooks(args) => webhooks::run(args).await,
        Scenario::Reports(args) => reports::run(args).await,
        Scenario::Tasks(args) => tasks::run(args).await,
        Scenario::Events(args) => events::run(args).await,
        Scenario::Fairness(args) => fairness::run(args).await,
        Scenario::Dashboard(args) => dashboard::run(args).await,
    }
}
