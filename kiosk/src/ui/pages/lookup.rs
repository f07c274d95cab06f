//! 办件进度查询, steps 1 and 2: the case number (keypad, keyboard or scanner), then the code.
//! The lookup itself runs on the worker thread; its throttle lock is shown as a countdown.

use std::rc::Rc;

use chrono::{DateTime, Utc};
use slint::ComponentHandle;

use super::progress;
use crate::lookup::Lookup;
use crate::ui::entry::{self, CaseNumber};
use crate::ui::shell::Shell;
use crate::ui::worker::Job;
use crate::ui::{KioskWindow, LookupAdapter, LookupMessage, LookupStep, Page};

/// A lookup lock the screen counts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lock {
    pub until: DateTime<Utc>,
    /// Every lookup on the kiosk waits, not only this number's.
    pub kiosk_wide: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub step: LookupStep,
    pub case_no: String,
    pub code: String,
    pub message: LookupMessage,
    pub attempts_left: usize,
    pub lock: Option<Lock>,
    pub busy: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            step: LookupStep::CaseNo,
            case_no: String::new(),
            code: String::new(),
            message: LookupMessage::None,
            attempts_left: 0,
            lock: None,
            busy: false,
        }
    }
}

/// Whole seconds left, rounded up: the countdown shows 1 until the lock has ended.
fn cooldown_seconds(lock: Option<Lock>, now: DateTime<Utc>) -> i32 {
    lock.map_or(0, |l| {
        let ms = (l.until - now).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000) as i32
    })
}

pub(crate) fn render(shell: &Shell, ui: &KioskWindow) {
    let state = shell.state.borrow();
    let lookup = &state.session.lookup;
    let adapter = ui.global::<LookupAdapter>();
    adapter.set_step(lookup.step);
    adapter.set_case_no(lookup.case_no.as_str().into());
    adapter.set_code_dots("●".repeat(lookup.code.chars().count()).into());
    adapter.set_message(lookup.message);
    adapter.set_attempts_left(lookup.attempts_left as i32);
    adapter.set_cooldown_seconds(cooldown_seconds(lookup.lock, shell.now()));
    adapter.set_busy(lookup.busy);
    adapter.set_min_length(entry::MIN_CASE_NO as i32);
}

fn update(shell: &Shell, ui: &KioskWindow, f: impl FnOnce(&mut State)) {
    f(&mut shell.state.borrow_mut().session.lookup);
    render(shell, ui);
}

/// The kiosk-wide lock, read without a try, so the next visitor sees why the screen waits.
fn kiosk_lock(shell: &Shell) -> Option<Lock> {
    match shell.mirror.kiosk_locked_until(shell.now()) {
        Ok(until) => until.map(|until| Lock {
            until,
            kiosk_wide: true,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the lookup lock");
            None
        }
    }
}

fn with_lock(mut state: State, lock: Option<Lock>) -> State {
    if lock.is_some() {
        state.lock = lock;
        state.message = LookupMessage::KioskLocked;
    }
    state
}

/// Opens step 1 with nothing typed.
pub(crate) fn open(shell: &Shell, ui: &KioskWindow) {
    let lock = kiosk_lock(shell);
    update(shell, ui, |s| *s = with_lock(State::default(), lock));
    shell.show(Page::Lookup);
}

/// Back from the case page: step 1 again with the number kept.
pub(crate) fn again(shell: &Shell, ui: &KioskWindow) {
    let lock = kiosk_lock(shell);
    update(shell, ui, |s| {
        let case_no = std::mem::take(&mut s.case_no);
        *s = with_lock(
            State {
                case_no,
                ..State::default()
            },
            lock,
        );
    });
    shell.show(Page::Lookup);
}

/// 返回 on the lookup page: from the code back to the number; `false` from the number (home).
pub(crate) fn back(shell: &Shell, ui: &KioskWindow) -> bool {
    let on_code = shell.state.borrow().session.lookup.step == LookupStep::Code;
    if on_code {
        update(shell, ui, |s| {
            s.step = LookupStep::CaseNo;
            s.code.clear();
            if s.lock.is_none() {
                s.message = LookupMessage::None;
            }
        });
    }
    on_code
}

fn accepts_keys(s: &State, now: DateTime<Utc>) -> bool {
    !s.busy && cooldown_seconds(s.lock, now) == 0
}

/// A character from the keypad or a keyboard.
pub(crate) fn typed(shell: &Shell, ui: &KioskWindow, c: char) {
    let now = shell.now();
    update(shell, ui, |s| {
        if !accepts_keys(s, now) {
            return;
        }
        match s.step {
            LookupStep::CaseNo => {
                if let Some(c) = entry::case_char(c)
                    && s.case_no.len() < entry::MAX_CASE_NO
                {
                    s.case_no.push(c);
                }
            }
            LookupStep::Code => {
                if let Some(c) = entry::code_char(c)
                    && s.code.len() < entry::MAX_CODE
                {
                    s.code.push(c);
                }
            }
        }
        // A message about what was typed goes with the next key; "scanned" stays until
        // the code is sent, and a lock until it ends.
        if s.lock.is_none() && s.message != LookupMessage::Scanned {
            s.message = LookupMessage::None;
        }
    });
}

pub(crate) fn backspace(shell: &Shell, ui: &KioskWindow) {
    let now = shell.now();
    update(shell, ui, |s| {
        if accepts_keys(s, now) {
            match s.step {
                LookupStep::CaseNo => s.case_no.pop(),
                LookupStep::Code => s.code.pop(),
            };
        }
    });
}

fn clear(shell: &Shell, ui: &KioskWindow) {
    let now = shell.now();
    update(shell, ui, |s| {
        if accepts_keys(s, now) {
            match s.step {
                LookupStep::CaseNo => s.case_no.clear(),
                LookupStep::Code => s.code.clear(),
            }
        }
    });
}

/// What to say about a well-formed number before its code is asked for: nothing, or that
/// it belongs to another hall, or that the kiosk has no case data yet.
fn check_number(shell: &Shell, case_no: &str) -> Option<LookupMessage> {
    let has_data = shell
        .mirror
        .freshness(shell.now())
        .map(|f| f.cursor > 0)
        .unwrap_or(false);
    if !has_data {
        return Some(LookupMessage::NotReady);
    }
    match shell.mirror.holds_case_prefix(entry::hall_prefix(case_no)) {
        Ok(true) => None,
        Ok(false) => Some(LookupMessage::OtherHall),
        // The lookup itself will say what it can.
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the case number's hall");
            None
        }
    }
}

/// Takes a case number to step 2, or says why not.
fn to_code_step(shell: &Shell, s: &mut State, number: CaseNumber, said: LookupMessage) {
    match number {
        CaseNumber::Valid(case_no) => {
            let problem = check_number(shell, &case_no);
            s.case_no = case_no;
            s.code.clear();
            match problem {
                Some(message) => s.message = message,
                None => {
                    s.step = LookupStep::Code;
                    s.message = said;
                }
            }
        }
        CaseNumber::Invalid => {
            s.step = LookupStep::CaseNo;
            s.code.clear();
            s.message = LookupMessage::NotACaseNumber;
        }
    }
}

/// 下一步 (or Enter on step 1).
fn next(shell: &Shell, ui: &KioskWindow) {
    let now = shell.now();
    let mut s = shell.state.borrow().session.lookup.clone();
    if s.step != LookupStep::CaseNo || !accepts_keys(&s, now) {
        return;
    }
    let number = entry::case_number(&s.case_no);
    to_code_step(shell, &mut s, number, LookupMessage::None);
    update(shell, ui, |state| *state = s);
}

/// 查询 (or Enter on step 2).
fn submit(shell: &Shell, ui: &KioskWindow) {
    let now = shell.now();
    let session = shell.session_id();
    let job = {
        let mut state = shell.state.borrow_mut();
        let s = &mut state.session.lookup;
        if s.step != LookupStep::Code || s.code.is_empty() || !accepts_keys(s, now) {
            return;
        }
        s.busy = true;
        s.message = LookupMessage::None;
        Job::Lookup {
            session,
            case_no: s.case_no.clone(),
            code: std::mem::take(&mut s.code),
            now,
        }
    };
    shell.worker.send(job);
    render(shell, ui);
}

/// Enter from a keyboard: the step's button.
pub(crate) fn enter(shell: &Shell, ui: &KioskWindow) {
    let step = shell.state.borrow().session.lookup.step;
    match step {
        LookupStep::CaseNo => next(shell, ui),
        LookupStep::Code => submit(shell, ui),
    }
}

/// A scanner's burst, on any page: its number goes into step 1 and the code is asked for.
pub(crate) fn scanned(shell: &Shell, ui: &KioskWindow, text: &str) {
    let now = shell.now();
    let lock = kiosk_lock(shell);
    let mut s = shell.state.borrow().session.lookup.clone();
    if s.busy {
        return;
    }
    // A new receipt: whatever was typed for the last one goes.
    s = State {
        lock: s.lock.filter(|l| l.until > now),
        ..State::default()
    };
    to_code_step(
        shell,
        &mut s,
        entry::case_number(text),
        LookupMessage::Scanned,
    );
    let s = with_lock(s, lock);
    update(shell, ui, |state| *state = s);
    shell.show(Page::Lookup);
}

/// The worker's answer to this session's lookup.
pub(crate) fn answered(shell: &Shell, ui: &KioskWindow, outcome: crate::Result<Lookup>) {
    let now = shell.now();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(error = %e, "case lookup failed");
            update(shell, ui, |s| {
                s.busy = false;
                s.message = LookupMessage::Failed;
            });
            return;
        }
    };
    match outcome {
        Lookup::Found { case, freshness } => {
            update(shell, ui, |s| {
                s.busy = false;
                s.code.clear();
                s.message = LookupMessage::None;
                s.attempts_left = 0;
            });
            progress::show_case(shell, ui, *case, freshness);
        }
        Lookup::NoMatch { attempts_left } => update(shell, ui, |s| {
            s.busy = false;
            s.message = LookupMessage::NoMatch;
            s.attempts_left = attempts_left;
        }),
        Lookup::CoolingDown { until } => {
            let kiosk_wide = kiosk_lock(shell).is_some_and(|l| l.until >= until);
            update(shell, ui, |s| {
                s.busy = false;
                s.lock = Some(Lock { until, kiosk_wide }).filter(|l| l.until > now);
                s.message = if kiosk_wide {
                    LookupMessage::KioskLocked
                } else {
                    LookupMessage::CoolingDown
                };
            });
        }
        Lookup::NotReady => update(shell, ui, |s| {
            s.busy = false;
            s.message = LookupMessage::NotReady;
        }),
    }
}

/// Once a second: the lock's countdown, and the lock lifted when it ends.
pub(crate) fn tick(shell: &Shell, ui: &KioskWindow, now: DateTime<Utc>) {
    let lock = shell.state.borrow().session.lookup.lock;
    let Some(lock) = lock else { return };
    if lock.until <= now {
        update(shell, ui, |s| {
            s.lock = None;
            if matches!(
                s.message,
                LookupMessage::CoolingDown | LookupMessage::KioskLocked
            ) {
                s.message = LookupMessage::None;
            }
        });
    } else {
        ui.global::<LookupAdapter>()
            .set_cooldown_seconds(cooldown_seconds(Some(lock), now));
    }
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let adapter = window.global::<LookupAdapter>();
    let on = |f: fn(&Shell, &KioskWindow)| {
        let weak = Rc::downgrade(shell);
        move || {
            if let Some(shell) = weak.upgrade()
                && let Some(ui) = shell.ui()
            {
                f(&shell, &ui);
            }
        }
    };
    adapter.on_backspace(on(backspace));
    adapter.on_clear(on(clear));
    adapter.on_next(on(next));
    adapter.on_submit(on(submit));
    adapter.on_change_case_no(on(|shell, ui| {
        back(shell, ui);
    }));
    let weak = Rc::downgrade(shell);
    adapter.on_key(move |text| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            for c in text.chars() {
                typed(&shell, &ui, c);
            }
        }
    });
}
