//! A case's steps as the timeline's lines, pure: groups in order, each step of a group side
//! by side (the joint review's four divisions), split into lines of `columns` where the
//! screen is narrow.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use protocol::cases::{Step, StepState as WireState};
use slint::{ModelRc, SharedString, VecModel};

use super::{StepState, StepView, TimelineRow};

fn state(state: WireState) -> StepState {
    match state {
        WireState::Pending => StepState::Pending,
        WireState::Active => StepState::Active,
        WireState::Done => StepState::Done,
        WireState::Returned => StepState::Returned,
        WireState::Rejected => StepState::Rejected,
        WireState::Skipped => StepState::Skipped,
    }
}

fn view(step: &Step, date: &impl Fn(DateTime<Utc>) -> String) -> StepView {
    let shown = |t: Option<DateTime<Utc>>| SharedString::from(t.map(date).unwrap_or_default());
    StepView {
        label: step.label.as_str().into(),
        division: step.division.as_deref().unwrap_or_default().into(),
        state: state(step.state),
        started: shown(step.started_at),
        finished: shown(step.finished_at),
        note: step.note.as_deref().unwrap_or_default().into(),
    }
}

/// The lines of the timeline; `date` formats a time as the visitor reads it.
pub fn rows(
    steps: &[Step],
    columns: usize,
    date: impl Fn(DateTime<Utc>) -> String,
) -> Vec<TimelineRow> {
    let mut groups: BTreeMap<u32, Vec<&Step>> = BTreeMap::new();
    for step in steps {
        groups.entry(step.group).or_default().push(step);
    }
    let mut rows = Vec::new();
    for group in groups.values() {
        let parallel = group.len() > 1;
        for (line, chunk) in group.chunks(columns.max(1)).enumerate() {
            let views: Vec<StepView> = chunk.iter().map(|s| view(s, &date)).collect();
            rows.push(TimelineRow {
                steps: ModelRc::new(VecModel::from(views)),
                parallel,
                group_start: line == 0,
                group_size: group.len() as i32,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use slint::Model;

    fn step(code: &str, group: u32, state: WireState) -> Step {
        Step {
            code: code.into(),
            label: format!("步骤 {code}"),
            division: Some("用地处".into()),
            group,
            state,
            started_at: Some("2026-11-01T08:00:00Z".parse().unwrap()),
            finished_at: None,
            note: None,
        }
    }

    fn labels(row: &TimelineRow) -> Vec<String> {
        row.steps.iter().map(|s| s.label.to_string()).collect()
    }

    #[test]
    fn parallel_steps_share_a_line_and_groups_keep_their_order() {
        let steps = vec![
            step("approval", 3, WireState::Pending),
            step("accept", 0, WireState::Done),
            step("land", 2, WireState::Active),
            step("planning", 2, WireState::Done),
            step("cadastre", 2, WireState::Active),
            step("farmland", 2, WireState::Pending),
        ];
        let rows = rows(&steps, 4, |t| t.format("%Y-%m-%d").to_string());
        assert_eq!(rows.len(), 3);
        assert_eq!(labels(&rows[0]), ["步骤 accept"]);
        assert!(!rows[0].parallel);
        assert_eq!(
            labels(&rows[1]),
            [
                "步骤 land",
                "步骤 planning",
                "步骤 cadastre",
                "步骤 farmland"
            ]
        );
        assert!(rows[1].parallel && rows[1].group_start && rows[1].group_size == 4);
        assert_eq!(labels(&rows[2]), ["步骤 approval"]);
        let first = rows[1].steps.row_data(0).unwrap();
        assert_eq!(first.state, StepState::Active);
        assert_eq!(first.started, "2026-11-01");
        assert_eq!(first.finished, "");
    }

    #[test]
    fn a_narrow_screen_splits_a_group_into_lines() {
        let steps: Vec<Step> = (0..4)
            .map(|i| step(&i.to_string(), 2, WireState::Active))
            .collect();
        let rows = rows(&steps, 2, |_| String::new());
        assert_eq!(rows.len(), 2);
        assert!(rows[0].group_start && !rows[1].group_start);
        assert!(rows.iter().all(|r| r.parallel && r.group_size == 4));
    }

    #[test]
    fn forty_sequential_steps_are_forty_lines() {
        let steps: Vec<Step> = (0..40)
            .map(|i| step(&i.to_string(), i, WireState::Done))
            .collect();
        assert_eq!(rows(&steps, 4, |_| String::new()).len(), 40);
    }
}
