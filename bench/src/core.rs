//! Issue 2's figures (filled in by the core benchmark).

/// Options of the core scenario.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the scenario.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("the core benchmark is not written yet")
}
