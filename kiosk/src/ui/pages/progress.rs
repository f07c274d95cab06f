//! The case: who, what, where it stands, its steps — and the way on to 好差评 and the guide.

use std::rc::Rc;

use protocol::cases::{CaseStatus, Outcome};
use slint::ComponentHandle;

use super::{Layout, guides, lookup, model, rating};
use crate::mirror::cases::{CaseView, Freshness};
use crate::ui::shell::Shell;
use crate::ui::{CaseState, CaseSummary, KioskWindow, Page, ProgressAdapter, timeline};

#[derive(Default)]
pub(crate) struct State {
    pub case: Option<CaseView>,
    pub freshness: Option<Freshness>,
    pub rated: bool,
    /// Counts the cases shown, so each starts at the top of its timeline.
    pub shown: i32,
}

fn case_state(status: CaseStatus) -> CaseState {
    match status {
        CaseStatus::Received => CaseState::Received,
        CaseStatus::InReview => CaseState::InReview,
        CaseStatus::AwaitingMaterial => CaseState::AwaitingMaterial,
        CaseStatus::Publicity => CaseState::Publicity,
        CaseStatus::Completed => CaseState::Completed,
        CaseStatus::Rejected => CaseState::Rejected,
    }
}

fn summary(shell: &Shell, case: &CaseView) -> CaseSummary {
    let date = |t| shell.clock.date(t).into();
    let result = case.result.as_ref();
    CaseSummary {
        case_no: case.case_no.as_str().into(),
        kind_label: case.kind_label.as_str().into(),
        applicant: case.applicant.as_str().into(),
        state: case_state(case.status),
        received: date(case.received_at),
        due: date(case.due_at),
        overdue: case.overdue,
        has_result: result.is_some(),
        approved: result.is_some_and(|r| r.outcome == Outcome::Approved),
        decided: result.map(|r| date(r.decided_at)).unwrap_or_default(),
        document_no: result
            .and_then(|r| r.document_no.as_deref())
            .unwrap_or_default()
            .into(),
        reason: result
            .and_then(|r| r.reason.as_deref())
            .unwrap_or_default()
            .into(),
        has_publicity: case.publicity.is_some(),
        publicity_from: case
            .publicity
            .as_ref()
            .map(|p| p.starts_on.to_string())
            .unwrap_or_default()
            .into(),
        publicity_to: case
            .publicity
            .as_ref()
            .map(|p| p.ends_on.to_string())
            .unwrap_or_default()
            .into(),
    }
}

pub(crate) fn render(shell: &Shell, ui: &KioskWindow) {
    let layout = Layout::of(shell, ui);
    let state = shell.state.borrow();
    let progress = &state.session.progress;
    let adapter = ui.global::<ProgressAdapter>();
    adapter.set_rated(progress.rated);
    adapter.set_generation(progress.shown);
    let Some(case) = &progress.case else {
        adapter.set_case(CaseSummary::default());
        adapter.set_rows(model(Vec::new()));
        adapter.set_has_guide(false);
        return;
    };
    adapter.set_case(summary(shell, case));
    let rows = timeline::rows(&case.steps, layout.timeline_columns(), |t| {
        shell.clock.date(t)
    });
    adapter.set_rows(model(rows));
    let freshness = progress.freshness;
    let as_of = freshness
        .and_then(|f| f.caught_up_at)
        .map(|t| {
            let local = shell.clock.local(t);
            format!("{} {}", shell.clock.date(t), local.format("%H:%M"))
        })
        .unwrap_or_default();
    adapter.set_as_of(as_of.into());
    adapter.set_stale(freshness.is_none_or(|f| f.is_stale(shell.config.stale_after_s)));
    adapter.set_has_guide(guides::guide_for(shell, &case.kind).is_some());
}

/// Shows a case the lookup found.
pub(crate) fn show_case(shell: &Shell, ui: &KioskWindow, case: CaseView, freshness: Freshness) {
    {
        let mut state = shell.state.borrow_mut();
        let progress = &mut state.session.progress;
        let same = progress
            .case
            .as_ref()
            .is_some_and(|c| c.case_no == case.case_no);
        progress.rated &= same;
        progress.case = Some(case);
        progress.freshness = Some(freshness);
        progress.shown += 1;
    }
    render(shell, ui);
    shell.show(Page::Progress);
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let adapter = window.global::<ProgressAdapter>();
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
    adapter.on_rate(on(|shell, ui| {
        let case_no = shell
            .state
            .borrow()
            .session
            .progress
            .case
            .as_ref()
            .map(|c| c.case_no.clone());
        rating::open(shell, ui, case_no);
    }));
    adapter.on_open_guide(on(|shell, ui| {
        let kind = shell
            .state
            .borrow()
            .session
            .progress
            .case
            .as_ref()
            .map(|c| c.kind.clone());
        if let Some(id) = kind.and_then(|k| guides::guide_for(shell, &k)) {
            guides::open_item(shell, ui, &id, Some(Page::Progress));
        }
    }));
    adapter.on_lookup_another(on(lookup::open));
}

/// The visitor rated the case shown.
pub(crate) fn mark_rated(shell: &Shell, ui: &KioskWindow) {
    shell.state.borrow_mut().session.progress.rated = true;
    ui.global::<ProgressAdapter>().set_rated(true);
}
