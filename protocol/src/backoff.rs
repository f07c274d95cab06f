//! Capped exponential backoff with jitter, pure: the caller supplies the random share. Used by
//! every client of the upstream that retries (the kiosk's syncs, the bridge's uploader).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const DEFAULT: Self = Self {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(300),
    };

    /// The wait before retry number `attempt` (0 for the first retry). `jitter` in `[0, 1)`
    /// spreads the wait over its upper half, so a hall full of kiosks that lost the network
    /// together do not all come back in the same second.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
        let capped = exp.min(self.cap);
        capped.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_within_the_jitter_band() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        };
        assert_eq!(b.delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(20, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX, 0.5), Duration::from_secs(45));
    }
}
