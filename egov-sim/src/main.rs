use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "egov_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log in a file or the journal carries no escape codes.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match egov_sim::server::run(egov_sim::server::Options::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("egov-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
