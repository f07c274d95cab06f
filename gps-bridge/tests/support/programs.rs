//! The real `gps-bridge` binary as test processes: each killed (SIGKILL) when the test ends,
//! however it ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const BRIDGE: &str = env!("CARGO_BIN_EXE_gps-bridge");

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `gps-bridge simulate ARGS`, and the pseudo-terminal it printed on its first line.
pub fn simulate(args: &[&str]) -> (Killed, String) {
    let mut simulator = Killed(
        Command::new(BRIDGE)
            .arg("simulate")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gps-bridge simulate starts"),
    );
    let mut first_line = String::new();
    BufReader::new(simulator.0.stdout.take().expect("stdout is piped"))
        .read_line(&mut first_line)
        .expect("the simulator prints its pty");
    (simulator, first_line.trim_end().to_owned())
}
