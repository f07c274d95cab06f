//! The display schedule, pure: is the screen on at a local time? `on`–`off` each listed
//! weekday; a window past midnight (`on` later than `off`) belongs to the weekday it starts on.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike};
use protocol::devices::DisplaySchedule;

fn time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// `None` when the schedule cannot be read: the screen stays on rather than going dark for
/// a typo (the data plane validates schedules before storing them, so this is a last guard).
pub fn is_on(schedule: &DisplaySchedule, local: NaiveDateTime) -> Option<bool> {
    let (on, off) = (time(&schedule.on)?, time(&schedule.off)?);
    let now = NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second())?;
    let weekday = |date: chrono::NaiveDate| date.weekday().number_from_monday() as u8;
    let listed = |day: u8| schedule.weekdays.contains(&day);
    let today = weekday(local.date());
    Some(if on <= off {
        listed(today) && on <= now && now < off
    } else {
        // Overnight: on from `on` until midnight today, and until `off` for yesterday's window.
        let yesterday = weekday(local.date().pred_opt()?);
        (listed(today) && now >= on) || (listed(yesterday) && now < off)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(on: &str, off: &str, weekdays: &[u8]) -> DisplaySchedule {
        DisplaySchedule {
            on: on.into(),
            off: off.into(),
            weekdays: weekdays.to_vec(),
        }
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn office_hours_on_weekdays() {
        // 2026-12-01 is a Tuesday, 2026-12-05 a Saturday.
        let office = schedule("08:00", "18:00", &[1, 2, 3, 4, 5]);
        assert_eq!(is_on(&office, local("2026-12-01 07:59")), Some(false));
        assert_eq!(is_on(&office, local("2026-12-01 08:00")), Some(true));
        assert_eq!(is_on(&office, local("2026-12-01 17:59")), Some(true));
        assert_eq!(is_on(&office, local("2026-12-01 18:00")), Some(false));
        assert_eq!(is_on(&office, local("2026-12-05 10:00")), Some(false));
    }

    #[test]
    fn a_window_past_midnight_belongs_to_the_day_it_starts() {
        let night = schedule("20:00", "02:00", &[5]); // Friday night
        assert_eq!(is_on(&night, local("2026-12-04 21:00")), Some(true));
        assert_eq!(
            is_on(&night, local("2026-12-05 01:59")),
            Some(true),
            "Saturday early"
        );
        assert_eq!(is_on(&night, local("2026-12-05 02:00")), Some(false));
        assert_eq!(
            is_on(&night, local("2026-12-05 21:00")),
            Some(false),
            "Saturday evening"
        );
        assert_eq!(
            is_on(&night, local("2026-12-04 01:00")),
            Some(false),
            "Friday early"
        );
    }

    #[test]
    fn an_unreadable_schedule_is_no_answer() {
        assert_eq!(
            is_on(&schedule("8 am", "18:00", &[1]), local("2026-12-01 09:00")),
            None
        );
    }
}
