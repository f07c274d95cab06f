//! `land-hall-site`: see the library's documentation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use land_hall_site::apply::{Paths, Source, apply};
use land_hall_site::overlay::Program;

#[derive(Parser)]
#[command(
    version,
    about = "Land Hall image: the site overlay into each program's configuration"
)]
struct Cli {
    /// The overlay the installer wrote.
    #[arg(long, default_value = "/data/site.toml")]
    site: PathBuf,
    /// The last overlay that worked (kept by this program).
    #[arg(long, default_value = "/data/site.last-good.toml")]
    last_good: PathBuf,
    /// The image defaults (kiosk.toml, gps-bridge.toml).
    #[arg(long, default_value = "/usr/share/land-hall/defaults")]
    defaults: PathBuf,
    /// Where the programs' configurations go.
    #[arg(long, default_value = "/run/land-hall-site")]
    out: PathBuf,
    /// The group file naming the programs' groups.
    #[arg(long, default_value = "/etc/group")]
    group_file: PathBuf,
    /// The kiosk binary, for --check-config ("" to skip the check).
    #[arg(long, default_value = "/usr/bin/kiosk")]
    kiosk: PathBuf,
    /// The gps-bridge binary, for --check-config ("" to skip the check).
    #[arg(long, default_value = "/usr/bin/gps-bridge")]
    gps_bridge: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let checkers = [
        (Program::Kiosk, cli.kiosk),
        (Program::GpsBridge, cli.gps_bridge),
    ]
    .into_iter()
    .filter(|(_, path)| !path.as_os_str().is_empty())
    .collect();
    let paths = Paths {
        site: cli.site,
        last_good: cli.last_good,
        defaults: cli.defaults,
        out: cli.out,
        group_file: cli.group_file,
        checkers,
    };
    match apply(&paths) {
        Ok(outcome) => {
            let source = match outcome.source {
                Source::Site => paths.site.display().to_string(),
                Source::LastGood => paths.last_good.display().to_string(),
                Source::Defaults => "the image defaults".to_owned(),
            };
            println!("land-hall-site: settings from {source}");
            if let Some(fault) = outcome.fault {
                println!("land-hall-site: FAULT: {fault}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("land-hall-site: {e:#}");
            ExitCode::FAILURE
        }
    }
}
