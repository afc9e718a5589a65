//! `waba-bot` entry point: parse the command line and run the chosen command.

use clap::Parser;
use waba_bot::cli::Cli;

/// mimalloc: faster than the system allocator for the many small allocations of GraphQL responses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse().run().await
}
