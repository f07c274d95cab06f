use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use gps_bridge::nmea::FramerConfig;
use gps_bridge::replay::replay;

#[derive(Parser)]
#[command(
    version,
    about = "Land Hall gps-bridge: handheld GPS receivers to survey records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a recorded NMEA stream; print one JSON object per accepted sentence on stdout and a
    /// summary of rejects by cause on stderr.
    Replay {
        /// The recorded stream ("-" for stdin).
        file: PathBuf,
        /// Accept sentences that carry no checksum (gpsd rejects them).
        #[arg(long)]
        accept_missing_checksum: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gps-bridge: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Replay {
            file,
            accept_missing_checksum,
        } => {
            let input = read_input(&file)?;
            let config = FramerConfig {
                accept_missing_checksum,
            };
            let mut out = BufWriter::new(io::stdout().lock());
            match replay([&input[..]], config, &mut out).and_then(|tally| {
                out.flush()?;
                Ok(tally)
            }) {
                Ok(tally) => eprintln!("{}: {tally}", file.display()),
                // A reader that stopped listening (`| head`) is not a failure of the replay.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("writing to stdout"),
            }
            Ok(())
        }
    }
}

fn read_input(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    if file.as_os_str() == "-" {
        io::stdin().read_to_end(&mut input)?;
    } else {
        input = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(input)
}
