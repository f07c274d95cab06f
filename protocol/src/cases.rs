//! Cases and the case change feed (`GET /api/v1/cases/changes`).
//!
//! The feed is compacted: each case appears at most once, with its latest state, at the
//! sequence number of its latest change. A reader that pages with `after = next_after` until
//! `has_more` is false has seen every case's latest state; changes made while it paged get
//! new, higher sequence numbers and arrive on a later page.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a case stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// 已受理: accepted, waiting for the first review.
    Received,
    /// 审查中: one or more review steps are under way.
    InReview,
    /// 待补正: returned to the applicant for more material; the clock is stopped.
    AwaitingMaterial,
    /// 公示中: approved, the result is on public display.
    Publicity,
    /// 已办结: finished with approval.
    Completed,
    /// 不予许可: finished with a rejection.
    Rejected,
}

impl CaseStatus {
    /// The status as shown to applicants.
    pub fn label(self) -> &'static str {
        match self {
            Self::Received => "已受理",
            Self::InReview => "审查中",
            Self::AwaitingMaterial => "待补正",
            Self::Publicity => "公示中",
            Self::Completed => "已办结",
            Self::Rejected => "不予许可",
        }
    }

    /// Whether the case can still change.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Completed | Self::Rejected)
    }
}

/// Where one workflow step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Active,
    Done,
    /// Sent back for more material.
    Returned,
    Rejected,
    /// Not needed for this case (e.g. no publicity for a rejected case).
    Skipped,
}

/// One step of a case's workflow. Steps sharing a `group` run in parallel, like the joint
/// review (会审) by four divisions; groups run in ascending order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable code, e.g. `accept`, `joint_review_planning`.
    pub code: String,
    /// Display label, e.g. `会审（规划处）`.
    pub label: String,
    /// The division that does the step, e.g. `规划处`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    pub group: u32,
    pub state: StepState,
    #[serde(
        default,
        with = "crate::wire_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "crate::wire_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<DateTime<Utc>>,
    /// A public remark, e.g. what material is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Rejected,
}

/// The decision on a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub outcome: Outcome,
    #[serde(with = "crate::wire_time")]
    pub decided_at: DateTime<Utc>,
    /// Approval document number, e.g. `桂自然资宅批〔2026〕123号`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    /// Why, for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The public-display period of an approved result (结果公示).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publicity {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// A case as mirrored by kiosks. It holds no personal data beyond a masked name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Case number as printed on the receipt, e.g. `GY2026-ZJD-000123`.
    pub case_no: String,
    pub hall_id: String,
    /// Procedure code, e.g. `homestead`.
    pub kind: String,
    /// Procedure name, e.g. `农村宅基地审批`.
    pub kind_label: String,
    /// Masked applicant name, e.g. `张*三`.
    pub applicant: String,
    /// The argon2id digest of the case number and the applicant's verification code, with
    /// this case's own salt and cost, as a PHC string; see [`crate::lookup`].
    pub lookup_digest: String,
    #[serde(with = "crate::wire_time")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "crate::wire_time")]
    pub due_at: DateTime<Utc>,
    pub status: CaseStatus,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CaseResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicity: Option<Publicity>,
    #[serde(with = "crate::wire_time")]
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// Open past its due time (超期).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && now > self.due_at
    }
}

/// One entry of the change feed.
///
/// Read through [`ChangeRepr`]: serde's internally tagged enums buffer every entry into a
/// generic tree before decoding it, which made decoding a feed page several times slower
/// than fetching it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", try_from = "ChangeRepr")]
pub enum Change {
    Upsert { seq: u64, case: Box<Case> },
    Delete { seq: u64, case_no: String },
}

/// The wire form of a [`Change`], decoded in one pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRepr {
    op: ChangeOp,
    seq: u64,
    #[serde(default)]
    case: Option<Box<Case>>,
    #[serde(default)]
    case_no: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChangeOp {
    Upsert,
    Delete,
}

impl TryFrom<ChangeRepr> for Change {
    type Error = &'static str;

    fn try_from(repr: ChangeRepr) -> Result<Self, Self::Error> {
        match (repr.op, repr.case, repr.case_no) {
            (ChangeOp::Upsert, Some(case), None) => Ok(Self::Upsert {
                seq: repr.seq,
                case,
            }),
            (ChangeOp::Delete, None, Some(case_no)) => Ok(Self::Delete {
                seq: repr.seq,
                case_no,
            }),
            (ChangeOp::Upsert, ..) => Err("an upsert carries a case and no case_no"),
            (ChangeOp::Delete, ..) => Err("a delete carries a case_no and no case"),
        }
    }
}

impl Change {
    pub fn seq(&self) -> u64 {
        match self {
            Self::Upsert { seq, .. } | Self::Delete { seq, .. } => *seq,
        }
    }

    pub fn case_no(&self) -> &str {
        match self {
            Self::Upsert { case, .. } => &case.case_no,
            Self::Delete { case_no, .. } => case_no,
        }
    }
}

/// `GET /api/v1/cases/changes?hall=H&after=SEQ&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Cursor for the next request: the last `seq` on this page, or `after` when empty.
    pub next_after: u64,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_wire_form_is_tagged_by_op() {
        let change = Change::Delete {
            seq: 7,
            case_no: "X1".into(),
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"op": "delete", "seq": 7, "case_no": "X1"})
        );
        assert_eq!(serde_json::from_value::<Change>(json).unwrap(), change);
        for bad in [
            r#"{"op":"merge","seq":1,"case_no":"X"}"#,
            r#"{"op":"upsert","seq":1,"case_no":"X"}"#,
            r#"{"op":"delete","seq":1}"#,
        ] {
            assert!(serde_json::from_str::<Change>(bad).is_err(), "{bad}");
        }
    }
}
