//! The time the screen goes by. The kiosk reads the system clock; tests and screenshots give
//! their own (Slint's mock time, a fixed moment), so that nothing waits on real time.

use std::rc::Rc;

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};

#[derive(Clone)]
pub struct Clock {
    now: Rc<dyn Fn() -> DateTime<Utc>>,
    /// `None`: the system's time zone.
    offset: Option<FixedOffset>,
}

impl Clock {
    /// The system clock and time zone.
    pub fn system() -> Self {
        Self {
            now: Rc::new(Utc::now),
            offset: None,
        }
    }

    /// A clock that reads `now` and shows times at `offset` (China: UTC+8).
    pub fn new(now: impl Fn() -> DateTime<Utc> + 'static, offset: FixedOffset) -> Self {
        Self {
            now: Rc::new(now),
            offset: Some(offset),
        }
    }

    /// A clock standing at `at`.
    pub fn fixed(at: DateTime<Utc>, offset: FixedOffset) -> Self {
        Self::new(move || at, offset)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// `t` in the hall's local time.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = self
            .offset
            .unwrap_or_else(|| t.with_timezone(&Local).offset().fix());
        t.with_timezone(&offset)
    }

    /// A date as the screen shows it: 2026-11-01.
    pub fn date(&self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%d").to_string()
    }

    /// A time of day: 10:32.
    pub fn time(&self, t: DateTime<Utc>) -> String {
        self.local(t).format("%H:%M").to_string()
    }
}

/// China Standard Time, the halls' zone; tests and screenshots use it.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}
