//! 好差评: five levels, reasons if the visitor wants to give them, stored in the ratings
//! outbox (by the worker) and delivered by the data plane.

use std::rc::Rc;

use protocol::ratings::REASON_CODES;
use slint::ComponentHandle;

use super::{model, progress};
use crate::ui::shell::Shell;
use crate::ui::worker::Job;
use crate::ui::{KioskWindow, Page, RatingAdapter, RatingStage, ReasonChip};

/// Reasons offered with a good score, and with a poor one (codes of `REASON_CODES`).
const GOOD: &[&str] = &["fast", "polite", "clear_guidance", "other"];
const POOR: &[&str] = &[
    "slow",
    "unclear_guidance",
    "repeat_visits",
    "impolite",
    "other",
];

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub stage: RatingStage,
    /// 0: none chosen yet.
    pub score: u8,
    pub reasons: Vec<String>,
    pub case_no: Option<String>,
    pub busy: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            stage: RatingStage::Choose,
            score: 0,
            reasons: Vec::new(),
            case_no: None,
            busy: false,
        }
    }
}

fn offered(score: u8) -> &'static [&'static str] {
    match score {
        0 => &[],
        4 | 5 => GOOD,
        _ => POOR,
    }
}

pub(crate) fn render(shell: &Shell, ui: &KioskWindow) {
    let state = shell.state.borrow().session.rating.clone();
    let adapter = ui.global::<RatingAdapter>();
    adapter.set_stage(state.stage);
    adapter.set_score(state.score.into());
    adapter.set_case_no(state.case_no.as_deref().unwrap_or_default().into());
    adapter.set_busy(state.busy);
    adapter.set_reasons(model(
        offered(state.score)
            .iter()
            .map(|code| ReasonChip {
                code: (*code).into(),
                chosen: state.reasons.iter().any(|r| r == code),
            })
            .collect(),
    ));
}

fn update(shell: &Shell, ui: &KioskWindow, f: impl FnOnce(&mut State)) {
    f(&mut shell.state.borrow_mut().session.rating);
    render(shell, ui);
}

/// Opens the rating of `case_no` (after a case view) or of the hall's service (from home).
pub(crate) fn open(shell: &Shell, ui: &KioskWindow, case_no: Option<String>) {
    let from = shell.state.borrow().page;
    {
        let mut state = shell.state.borrow_mut();
        state.session.rating_from = (from != Page::Home).then_some(from);
    }
    update(shell, ui, |s| {
        *s = State {
            case_no,
            ..State::default()
        };
    });
    shell.show(Page::Rating);
}

fn choose(shell: &Shell, ui: &KioskWindow, score: i32) {
    let Ok(score) = u8::try_from(score) else {
        return;
    };
    if !(1..=5).contains(&score) {
        return;
    }
    update(shell, ui, |s| {
        if s.busy || s.stage != RatingStage::Choose {
            return;
        }
        s.score = score;
        // Reasons that do not go with the new score go.
        s.reasons.retain(|r| offered(score).contains(&r.as_str()));
    });
}

fn toggle(shell: &Shell, ui: &KioskWindow, code: &str) {
    update(shell, ui, |s| {
        if s.busy || !offered(s.score).contains(&code) {
            return;
        }
        if let Some(i) = s.reasons.iter().position(|r| r == code) {
            s.reasons.remove(i);
        } else {
            s.reasons.push(code.to_owned());
        }
    });
}

fn submit(shell: &Shell, ui: &KioskWindow) {
    let session = shell.session_id();
    let now = shell.now();
    let job = {
        let mut state = shell.state.borrow_mut();
        let s = &mut state.session.rating;
        if s.busy || s.score == 0 || s.stage == RatingStage::Thanks {
            return;
        }
        s.busy = true;
        // In the order of the national scheme's list, whatever order they were tapped in.
        let mut reasons = s.reasons.clone();
        reasons.sort_by_key(|r| REASON_CODES.iter().position(|(code, _)| code == r));
        Job::Rate {
            session,
            case_no: s.case_no.clone(),
            score: s.score,
            reasons,
            now,
        }
    };
    shell.worker.send(job);
    render(shell, ui);
}

/// The worker stored the rating (or could not).
pub(crate) fn answered(shell: &Shell, ui: &KioskWindow, outcome: crate::Result<()>) {
    let stored = match outcome {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "a rating could not be stored");
            false
        }
    };
    let rated_case = shell.state.borrow().session.rating.case_no.is_some();
    update(shell, ui, |s| {
        s.busy = false;
        s.stage = if stored {
            RatingStage::Thanks
        } else {
            RatingStage::Failed
        };
    });
    if stored && rated_case {
        progress::mark_rated(shell, ui);
    }
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let adapter = window.global::<RatingAdapter>();
    let weak = Rc::downgrade(shell);
    adapter.on_choose(move |score| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            choose(&shell, &ui, score);
        }
    });
    let weak = Rc::downgrade(shell);
    adapter.on_toggle_reason(move |code| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            toggle(&shell, &ui, &code);
        }
    });
    let weak = Rc::downgrade(shell);
    adapter.on_submit(move || {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            submit(&shell, &ui);
        }
    });
    let weak = Rc::downgrade(shell);
    adapter.on_done(move || {
        if let Some(shell) = weak.upgrade() {
            // Back to the case (the same visitor) or home.
            let from = shell.state.borrow().session.rating_from;
            match from {
                Some(page) => shell.show(page),
                None => shell.reset(),
            }
        }
    });
}
