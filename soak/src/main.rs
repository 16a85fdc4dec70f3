//! `longshore-soak`: the chaos soak of issue #18. Starts the production topology on throwaway
//! servers (the real binaries built next to it), runs steady mixed load while a seeded plan of
//! faults is injected, restores everything, waits for the work in flight to settle, and checks
//! the ledger: nothing accepted lost, nothing applied twice, beyond what docs/guarantees.md
//! documents. Prints the plan first (replay it with `--seed`), the ledger table last, and exits
//! 1 on any forbidden loss or duplicate, naming the ids.

mod api;
mod checks;
mod faults;
mod ledger;
mod load;
mod report;
mod tenant;
mod topology;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::checks::{Context, Snapshot};
use crate::faults::Plan;
use crate::faults::plan::Shape;
use crate::ledger::Ledger;
use crate::load::{Load, Rates};
use crate::tenant::{BOUNCES, Tenant};
use crate::topology::Topology;

/// Workers and schedulers of the topology (two of each, as a production deployment runs).
const WORKERS: usize = 2;
const SCHEDULERS: usize = 2;

#[derive(Parser)]
#[command(
    name = "longshore-soak",
    about = "Chaos soak: mixed load, seeded faults, a ledger of what was lost or done twice"
)]
struct Args {
    /// How long the load (and the faults) run, e.g. `10m`, `2m`, `90s`.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The fault plan's seed (random when not given; printed, so a run can be replayed).
    #[arg(long)]
    seed: Option<u64>,
    /// Multiplies every kind's submission rate.
    #[arg(long, default_value_t = 1.0)]
    load: f64,
    /// The longest wait, after the load, for work in flight to reach its final state.
    #[arg(long, default_value = "3m", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// Keep the run's folder (process logs, findings) even when the soak passes.
    #[arg(long)]
    keep: bool,
    /// Where the Longshore binaries are (default: `$LONGSHORE_BIN_DIR`, else next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Ctrl-C drops the run, and with it every server and process it started.
    let outcome = tokio::select! {
        outcome = run(args) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The soak; `Ok(false)` when the ledger has forbidden findings.
async fn run(args: Args) -> anyhow::Result<bool> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let bin_dir = bin_dir(args.bin_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("longshore-soak-")
        .tempdir()?;
    let plan = Plan::generate(
        seed,
        Shape {
            load: args.duration,
            lease: topology::LEASE,
            workers: WORKERS,
            schedulers: SCHEDULERS,
        },
    );
    let rates = Rates::scaled(args.load);
    println!(
        "Longshore chaos soak: seed {seed}, load {}, settle ≤ {}\n  replay: scripts/soak --duration {} --seed {seed}{}\n  rates/s: {rates:?}\n  binaries: {} (longshore-api built {})\n  timings: {}\n  run folder: {}\n",
        humantime::format_duration(args.duration),
        humantime::format_duration(args.settle),
        humantime::format_duration(args.duration),
        if args.load == 1.0 {
            String::new()
        } else {
            format!(" --load {}", args.load)
        },
        bin_dir.display(),
        built_at(&bin_dir.join("longshore-api")),
        topology::TIMINGS
            .iter()
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("LONGSHORE_")))
            .collect::<Vec<_>>()
            .join(" "),
        dir.path().display(),
    );
    print!("{plan}");

    let topology = Arc::new(Topology::start(dir.path(), &bin_dir, WORKERS, SCHEDULERS).await?);
    let tenant = Tenant::set_up(&topology).await?;
    let ledger = Ledger::default();
    // The sink stamps messages with `Instant`s; this pairs one with the wall clock.
    let anchor = (std::time::Instant::now(), chrono::Utc::now());

    println!(
        "\nLoad and faults ({}):",
        humantime::format_duration(args.duration)
    );
    let start = tokio::time::Instant::now();
    let load_start = chrono::Utc::now();
    let load = Load::start(seed, rates, &tenant, &topology, &ledger);
    let faults = tokio::spawn(faults::run(plan, topology.clone(), start));
    tokio::time::sleep_until(start + args.duration).await;
    let load_end = chrono::Utc::now();
    let windows = faults.await?;
    let skipped = load.stop().await;
    println!(
        "Load stopped; {} submissions skipped (too many in flight).",
        skipped
    );

    topology.restore(&BOUNCES).await?;
    tenant.pause_schedules().await?;
    let paused_at = chrono::Utc::now();
    println!(
        "Everything restored; waiting (≤ {}) for work in flight to settle:",
        humantime::format_duration(args.settle)
    );
    let entries = std::mem::take(&mut *ledger.lock());
    let ctx = Context {
        windows: &windows,
        schedules_paused_at: paused_at,
    };
    let pdfs = checks::PdfCache::default();
    let (verdicts, waited) = checks::settle(
        args.settle,
        async || Snapshot::take(&tenant.api, &tenant, &topology, &entries, anchor, &pdfs).await,
        &entries,
        &ctx,
    )
    .await?;
    let unsettled: usize = verdicts.iter().map(|v| v.pending.len()).sum();
    if unsettled == 0 {
        println!("Settled after {:.0}s.", waited.as_secs_f64());
    } else {
        println!(
            "Stopped waiting after {:.0}s: {unsettled} items not final.",
            waited.as_secs_f64()
        );
    }

    let mut text = report::render(
        &verdicts,
        &windows,
        report::Span {
            start: load_start,
            end: load_end,
        },
        chrono::Utc::now(),
    );
    text.push_str(&not_accepted(&entries));
    text.push_str(&format!(
        "  workers: {} acknowledgements fenced off (worker logs)\n",
        fenced_in_logs(&topology)
    ));
    print!("{text}");
    let passed = !verdicts.iter().any(checks::Verdict::failed);
    std::fs::write(dir.path().join("report.txt"), &text)?;
    if passed && !args.keep {
        println!("\nPASSED (seed {seed}).");
    } else {
        // The logs and the report stay; the pinned binaries (hundreds of MB) go.
        let _ = std::fs::remove_dir_all(dir.path().join("bin"));
        let kept = dir.keep();
        println!(
            "\n{} (seed {seed}). Logs and report kept in {}",
            if passed { "PASSED" } else { "FAILED" },
            kept.display()
        );
    }
    Ok(passed)
}

/// Where the Longshore binaries are.
fn bin_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match given.or_else(|| std::env::var_os("LONGSHORE_BIN_DIR").map(PathBuf::from)) {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow::anyhow!("the soak binary has no folder"))?
            .to_path_buf(),
    };
    for name in topology::BINARIES {
        anyhow::ensure!(
            dir.join(name).is_file(),
            "{} is missing: build the binaries first (scripts/soak does)",
            dir.join(name).display()
        );
    }
    Ok(dir)
}

/// When a binary was built (its modification time), for the report's header.
fn built_at(binary: &std::path::Path) -> String {
    std::fs::metadata(binary)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| "at an unknown time".into())
}

/// Submissions the API never accepted, as the client saw them: a refusal, or a deadline passed
/// (with the `Idempotency-Key` and the last answer, e.g. a key left "in progress").
fn not_accepted(entries: &ledger::Entries) -> String {
    let mut out = String::new();
    for (kind, n) in &entries.not_accepted {
        out.push_str(&format!(
            "  {kind}: {} submissions not accepted after {}s of retries, {} refused\n",
            n.gave_up.len(),
            load::SUBMIT_DEADLINE.as_secs(),
            n.refused.len()
        ));
        for (key, last) in n.gave_up.iter().take(10) {
            out.push_str(&format!("    gave up: {key}: last {last}\n"));
        }
        for why in n.refused.iter().take(10) {
            out.push_str(&format!("    refused: {why}\n"));
        }
    }
    out
}

/// `ack fenced off` lines in every worker's log (across restarts).
fn fenced_in_logs(topology: &Topology) -> usize {
    topology
        .worker_logs()
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|text| {
            text.lines()
                .filter(|l| l.contains("ack fenced off"))
                .count()
        })
        .sum()
}
