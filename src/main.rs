//! `waba-bot` entry point: parse the command line and run the chosen command.

use clap::Parser;
use waba_bot::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse().run().await
}
