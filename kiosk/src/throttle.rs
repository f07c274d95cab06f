//! Lookup throttling, pure: given the times of recent failed attempts, is the lookup locked?
//! A verification code is only four digits, so without a limit anyone at the screen could
//! try them all.

/// At most `max_failures` failures within `window_s`; then locked for `cool_down_s` after
/// the latest failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max_failures: usize,
    pub window_s: i64,
    pub cool_down_s: i64,
}

/// Five wrong codes for one case number: five minutes' pause for that case.
pub const PER_CASE: Limit = Limit {
    max_failures: 5,
    window_s: 15 * 60,
    cool_down_s: 5 * 60,
};

/// Thirty failures on the whole kiosk: a pause for every lookup, which stops someone from
/// walking through case numbers instead of codes.
pub const PER_KIOSK: Limit = Limit {
    max_failures: 30,
    window_s: 15 * 60,
    cool_down_s: 2 * 60,
};

impl Limit {
    /// The failures inside the window that ends at `now` (later ones, from a clock step, do
    /// not count).
    fn recent<'a>(&self, failures: &'a [i64], now: i64) -> impl Iterator<Item = i64> + 'a {
        let since = now - self.window_s;
        failures
            .iter()
            .copied()
            .filter(move |&t| t > since && t <= now)
    }

    /// `failures`: Unix times of failed attempts, any order. Returns when the lock ends,
    /// if the lookup is locked at `now`.
    pub fn locked_until(&self, failures: &[i64], now: i64) -> Option<i64> {
        let (count, latest) = self
            .recent(failures, now)
            .fold((0, i64::MIN), |(n, latest), t| (n + 1, latest.max(t)));
        let until = latest.saturating_add(self.cool_down_s);
        (count >= self.max_failures && until > now).then_some(until)
    }

    /// Failures remaining before the lock, for the message shown (还可尝试 N 次).
    pub fn remaining(&self, failures: &[i64], now: i64) -> usize {
        self.max_failures
            .saturating_sub(self.recent(failures, now).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        max_failures: 3,
        window_s: 100,
        cool_down_s: 50,
    };

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_cool_down() {
        let now = 1_000;
        assert_eq!(LIMIT.locked_until(&[990, 995], now), None);
        assert_eq!(LIMIT.remaining(&[990, 995], now), 1);
        assert_eq!(LIMIT.locked_until(&[990, 995, 999], now), Some(1_049));
        assert_eq!(LIMIT.locked_until(&[990, 995, 999], 1_049), None);
    }

    #[test]
    fn old_failures_fall_out_of_the_window() {
        assert_eq!(LIMIT.locked_until(&[800, 850, 999], 1_000), None);
        assert_eq!(LIMIT.remaining(&[800, 850, 999], 1_000), 2);
    }

    #[test]
    fn future_times_from_a_clock_step_do_not_lock_forever() {
        assert_eq!(LIMIT.locked_until(&[5_000, 5_001, 5_002], 1_000), None);
    }
}
