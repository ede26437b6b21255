//! The `cairn` binary.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cairn_server::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli::load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cairn: {e:#}");
            return ExitCode::from(2);
        }
    };
    // `inspect` prints a report for people; the server's informational log would bury it.
    let log = match cli.command {
        Command::Inspect { .. } => "warn",
        _ => config.raw.log.as_str(),
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cairn: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cairn: {e:#}");
            ExitCode::FAILURE
        }
    }
}
