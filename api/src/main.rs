//! `longshore-api`: serve the API, run the embedded all-in-one platform, or administer tenants
//! and keys.

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    cli::run(cli).await
}
