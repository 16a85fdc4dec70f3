//! `longshore-bench <scenario>`: starts the real release binaries against throwaway servers,
//! drives them, and prints the figures as JSON. Build first: `cargo build --release --bins`.
//!
//! Scenarios live one per module; each prints one JSON object on standard output.

mod core;
mod measure;

use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Benchmarks run the release binaries.
    if std::env::var_os("LONGSHORE_BIN_DIR").is_none() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release");
        longshore_tests::set_bin_dir(&dir);
    }
    match Cli::parse().scenario {
        Scenario::Core(args) => core::run(args).await,
    }
}
