//! The idle countdown, pure: how long since the last touch decides whether the screen warns,
//! clears itself and goes home, or shows the attract slideshow.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The countdown is shown for this long before the screen clears itself.
pub const WARNING: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePolicy {
    /// Without a touch this long, every input is cleared and home is shown.
    pub timeout: Duration,
    /// On a clear home screen, the slideshow starts after this long.
    pub attract_after: Duration,
}

/// What the screen should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStep {
    /// In use, or a clear home screen waiting.
    Active,
    /// Seconds left before the reset, shown in the footer.
    Warning(u32),
    /// Clear every input and go home.
    Reset,
    /// Show the notices as a slideshow.
    Attract,
}

/// `at_rest`: the home screen with nothing typed or open — nothing to clear.
pub fn step(
    policy: IdlePolicy,
    last_activity: DateTime<Utc>,
    now: DateTime<Utc>,
    at_rest: bool,
) -> IdleStep {
    let idle = (now - last_activity).to_std().unwrap_or_default();
    if at_rest {
        return if idle >= policy.attract_after {
            IdleStep::Attract
        } else {
            IdleStep::Active
        };
    }
    if idle >= policy.timeout {
        IdleStep::Reset
    } else if idle + WARNING >= policy.timeout {
        let left = (policy.timeout - idle).as_secs_f64().ceil() as u32;
        IdleStep::Warning(left.max(1))
    } else {
        IdleStep::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: IdlePolicy = IdlePolicy {
        timeout: Duration::from_secs(60),
        attract_after: Duration::from_secs(180),
    };

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn warns_then_resets_a_screen_in_use() {
        assert_eq!(step(POLICY, at(0), at(49), false), IdleStep::Active);
        assert_eq!(step(POLICY, at(0), at(50), false), IdleStep::Warning(10));
        assert_eq!(step(POLICY, at(0), at(59), false), IdleStep::Warning(1));
        assert_eq!(step(POLICY, at(0), at(60), false), IdleStep::Reset);
        assert_eq!(step(POLICY, at(0), at(500), false), IdleStep::Reset);
    }

    #[test]
    fn a_screen_at_rest_turns_to_the_slideshow_later() {
        assert_eq!(step(POLICY, at(0), at(60), true), IdleStep::Active);
        assert_eq!(step(POLICY, at(0), at(179), true), IdleStep::Active);
        assert_eq!(step(POLICY, at(0), at(180), true), IdleStep::Attract);
    }

    #[test]
    fn a_clock_stepping_back_is_activity_now() {
        assert_eq!(step(POLICY, at(100), at(0), false), IdleStep::Active);
    }
}
