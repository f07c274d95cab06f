//! Logs each cause at most once a minute per port, so a flooding unit or a port that fails
//! every scan cannot fill the journal. What is not logged is still counted where it is counted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

const PERIOD: Duration = Duration::from_secs(60);

/// Bounded by ports × causes, both few.
#[derive(Debug, Default)]
pub struct LogLimiter {
    last: HashMap<(String, &'static str), Instant>,
}

impl LogLimiter {
    /// Whether `cause` on `port` may be logged at `now`; if so, the next minute's are not.
    pub fn allow(&mut self, port: &str, cause: &'static str, now: Instant) -> bool {
        match self.last.get_mut(&(port.to_owned(), cause)) {
            Some(at) if now.saturating_duration_since(*at) < PERIOD => false,
            Some(at) => {
                *at = now;
                true
            }
            None => {
                self.last.insert((port.to_owned(), cause), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_minute_per_port_and_cause() {
        let t0 = Instant::now();
        let mut log = LogLimiter::default();
        assert!(log.allow("/dev/ttyUSB0", "junk", t0));
        assert!(!log.allow("/dev/ttyUSB0", "junk", t0 + Duration::from_secs(59)));
        assert!(log.allow("/dev/ttyUSB0", "bad_checksum", t0));
        assert!(log.allow("/dev/ttyUSB1", "junk", t0));
        assert!(log.allow("/dev/ttyUSB0", "junk", t0 + PERIOD));
        assert!(!log.allow("/dev/ttyUSB0", "junk", t0 + PERIOD + Duration::from_secs(1)));
    }
}
