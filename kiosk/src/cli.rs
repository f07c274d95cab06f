//! What the kiosk's programs (`kiosk`, `kiosk-admin`) do at their edge: logging to stderr,
//! output to stdout, and the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

/// Logs to stderr with `RUST_LOG`'s filter (else `default_filter`), in colour only on a
/// terminal: a log written to a file or the journal carries no escape codes. `NO_COLOR`
/// (<https://no-color.org>) turns colour off on a terminal too.
pub fn init_logging(default_filter: &str) {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

/// Whether `error` comes from writing to a reader that went away (`kiosk lookup … | head
/// -1`): as for any Unix tool, that ends the program quietly, not with an error.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code of a program's outcome: its own code, success for a reader that went away,
/// else the error on stderr (every cause once: see [`crate::error`]) and 2.
pub fn exit_code(program: &str, outcome: anyhow::Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `println!` that returns the write's error instead of panicking on it (a closed pipe), for
/// [`exit_code`] to judge.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        ::std::writeln!(::std::io::stdout().lock(), $($arg)*)
    }};
}
