//! The simulated approval workflow: procedures, their steps, and how a case moves on.
//!
//! Pure: every function takes the time and the random source it uses, so a seeded run is
//! reproducible and the seeding of a million cases is the same code as the live ticker.

use chrono::{DateTime, Duration, Utc};
use protocol::cases::{Case, CaseResult, CaseStatus, Outcome, Publicity, Step, StepState};
use rand::Rng;

pub struct StepTemplate {
    pub code: &'static str,
    pub label: &'static str,
    pub division: Option<&'static str>,
    pub group: u32,
}

pub struct Procedure {
    pub kind: &'static str,
    pub label: &'static str,
    /// Letters in the case number, e.g. `ZJD` for 宅基地.
    pub code: &'static str,
    /// Statutory time limit in calendar days.
    pub time_limit_days: i64,
    /// Share of the seeded cases, in per mille.
    pub share: u32,
    pub steps: &'static [StepTemplate],
    /// Days on public display after approval, if the procedure has a publicity step.
    pub publicity_days: Option<i64>,
}

const fn step(
    code: &'static str,
    label: &'static str,
    division: Option<&'static str>,
    group: u32,
) -> StepTemplate {
    StepTemplate {
        code,
        label,
        division,
        group,
    }
}

/// 受理 → 初审 → 会审 (four divisions in parallel) → 分管副厅长审批 → 公示 → 办结.
const APPROVAL_STEPS: &[StepTemplate] = &[
    step("accept", "受理", Some("政务服务窗口"), 0),
    step("preliminary", "初审", Some("业务科室"), 1),
    step("joint_review_land_use", "会审（用地处）", Some("用地处"), 2),
    step("joint_review_planning", "会审（规划处）", Some("规划处"), 2),
    step("joint_review_cadastre", "会审（地籍处）", Some("地籍处"), 2),
    step("joint_review_farmland", "会审（耕保处）", Some("耕保处"), 2),
    step("approval", "分管副厅长审批", Some("厅领导"), 3),
    step("publicity", "结果公示", None, 4),
    step("complete", "办结", None, 5),
];

/// 受理 → 审核 → 登簿 → 缮证发证.
const REGISTRATION_STEPS: &[StepTemplate] = &[
    step("accept", "受理", Some("政务服务窗口"), 0),
    step("review", "审核", Some("登记科"), 1),
    step("register", "登簿", Some("登记科"), 2),
    step("complete", "缮证发证", Some("发证窗口"), 3),
];

pub const PROCEDURES: &[Procedure] = &[
    Procedure {
        kind: "homestead",
        label: "农村宅基地审批",
        code: "ZJD",
        time_limit_days: 30,
        share: 400,
        steps: APPROVAL_STEPS,
        publicity_days: Some(7),
    },
    Procedure {
        kind: "construction_land",
        label: "建设用地审批",
        code: "JSYD",
        time_limit_days: 40,
        share: 150,
        steps: APPROVAL_STEPS,
        publicity_days: Some(10),
    },
    Procedure {
        kind: "mining_right",
        label: "采矿权审批",
        code: "CKQ",
        time_limit_days: 45,
        share: 60,
        steps: APPROVAL_STEPS,
        publicity_days: Some(10),
    },
    Procedure {
        kind: "exploration_right",
        label: "探矿权审批",
        code: "TKQ",
        time_limit_days: 40,
        share: 40,
        steps: APPROVAL_STEPS,
        publicity_days: Some(10),
    },
    Procedure {
        kind: "real_estate",
        label: "不动产登记",
        code: "BDC",
        time_limit_days: 10,
        share: 350,
        steps: REGISTRATION_STEPS,
        publicity_days: None,
    },
];

pub fn procedure(kind: &str) -> Option<&'static Procedure> {
    PROCEDURES.iter().find(|p| p.kind == kind)
}

/// Picks a procedure by its share of the caseload.
pub fn pick_procedure(rng: &mut impl Rng) -> &'static Procedure {
    let total: u32 = PROCEDURES.iter().map(|p| p.share).sum();
    let mut roll = rng.random_range(0..total);
    for p in PROCEDURES {
        if roll < p.share {
            return p;
        }
        roll -= p.share;
    }
    &PROCEDURES[0]
}

/// What happens to a case after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The case waits for its next event at this time.
    At(DateTime<Utc>),
    /// The case is finished (completed or rejected) and will not change again.
    Closed,
    /// The applicant withdrew the case; it leaves the feed as a delete.
    Withdrawn,
}

const MISSING_MATERIAL: &[&str] = &[
    "村民小组意见书",
    "宅基地申请人身份证明复印件",
    "四至界址确认签字",
    "用地红线图（盖章）",
    "矿产资源开发利用方案",
    "不动产权属来源证明",
];

const REJECTION_REASONS: &[&str] = &[
    "拟用地涉及永久基本农田",
    "不符合国土空间规划用途管制要求",
    "申请人已有宅基地，不符合一户一宅规定",
    "矿区范围与已设矿业权重叠",
];

/// A new case, received at `received_at`, with every step pending.
pub fn new_case(
    procedure: &Procedure,
    case_no: String,
    hall_id: String,
    applicant: String,
    lookup_digest: String,
    received_at: DateTime<Utc>,
) -> Case {
    Case {
        case_no,
        hall_id,
        kind: procedure.kind.to_owned(),
        kind_label: procedure.label.to_owned(),
        applicant,
        lookup_digest,
        received_at,
        due_at: received_at + Duration::days(procedure.time_limit_days),
        status: CaseStatus::Received,
        steps: procedure
            .steps
            .iter()
            .map(|t| Step {
                code: t.code.to_owned(),
                label: t.label.to_owned(),
                division: t.division.map(str::to_owned),
                group: t.group,
                state: StepState::Pending,
                started_at: None,
                finished_at: None,
                note: None,
            })
            .collect(),
        result: None,
        publicity: None,
        updated_at: received_at,
    }
}

/// A random wait of `min..max` hours.
fn wait(rng: &mut impl Rng, now: DateTime<Utc>, min_hours: i64, max_hours: i64) -> DateTime<Utc> {
    now + Duration::minutes(rng.random_range(min_hours * 60..max_hours * 60))
}

/// The lowest group that still has unfinished steps.
fn current_group(case: &Case) -> Option<u32> {
    case.steps
        .iter()
        .filter(|s| !matches!(s.state, StepState::Done | StepState::Skipped))
        .map(|s| s.group)
        .min()
}

fn start_group(case: &mut Case, group: u32, now: DateTime<Utc>) {
    for s in case.steps.iter_mut().filter(|s| s.group == group) {
        s.state = StepState::Active;
        s.started_at = Some(now);
    }
}

/// Runs the case's next event at `now` and says when the one after it is due.
pub fn advance(
    case: &mut Case,
    procedure: &Procedure,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
) -> Next {
    if !case.status.is_open() {
        return Next::Closed;
    }
    case.updated_at = now;

    if case.status == CaseStatus::AwaitingMaterial {
        // The applicant brought the material: the returned step resumes.
        for s in case
            .steps
            .iter_mut()
            .filter(|s| s.state == StepState::Returned)
        {
            s.state = StepState::Active;
            s.note = Some("已补正材料，继续审查".to_owned());
        }
        case.status = CaseStatus::InReview;
        return Next::At(wait(rng, now, 12, 72));
    }

    let Some(group) = current_group(case) else {
        case.status = CaseStatus::Completed;
        return Next::Closed;
    };
    let active: Vec<usize> = (0..case.steps.len())
        .filter(|&i| case.steps[i].group == group && case.steps[i].state == StepState::Active)
        .collect();

    if active.is_empty() {
        // The group has not started yet (only the very first one waits for an event).
        if group == 0 && rng.random_bool(0.005) {
            return Next::Withdrawn;
        }
        start_group(case, group, now);
        return Next::At(wait(rng, now, 2, 48));
    }

    let index = active[rng.random_range(0..active.len())];
    let code = case.steps[index].code.clone();
    let reviewing = code == "preliminary" || code == "review" || code.starts_with("joint_review");
    if reviewing && rng.random_bool(0.04) {
        let step = &mut case.steps[index];
        step.state = StepState::Returned;
        step.note = Some(format!(
            "请补充：{}",
            MISSING_MATERIAL[rng.random_range(0..MISSING_MATERIAL.len())]
        ));
        case.status = CaseStatus::AwaitingMaterial;
        return Next::At(wait(rng, now, 48, 240));
    }
    if (code.starts_with("joint_review") || code == "approval") && rng.random_bool(0.025) {
        let reason = REJECTION_REASONS[rng.random_range(0..REJECTION_REASONS.len())];
        for (i, s) in case.steps.iter_mut().enumerate() {
            if i == index {
                s.state = StepState::Rejected;
                s.finished_at = Some(now);
                s.note = Some(reason.to_owned());
            } else if !matches!(s.state, StepState::Done) {
                s.state = StepState::Skipped;
            }
        }
        case.status = CaseStatus::Rejected;
        case.result = Some(CaseResult {
            outcome: Outcome::Rejected,
            decided_at: now,
            document_no: None,
            reason: Some(reason.to_owned()),
        });
        return Next::Closed;
    }

    let step = &mut case.steps[index];
    step.state = StepState::Done;
    step.finished_at = Some(now);
    step.note = None;
    if code == "approval" || (procedure.publicity_days.is_none() && code == "register") {
        case.result = Some(CaseResult {
            outcome: Outcome::Approved,
            decided_at: now,
            document_no: Some(format!(
                "湘自然资{}批〔{}〕{}号",
                procedure.code,
                now.format("%Y"),
                rng.random_range(1..2000)
            )),
            reason: None,
        });
    }
    if active.len() > 1 {
        // Parallel steps of the group are still under way.
        return Next::At(wait(rng, now, 2, 36));
    }

    match current_group(case) {
        None => {
            case.status = CaseStatus::Completed;
            Next::Closed
        }
        Some(next) => {
            start_group(case, next, now);
            let next_is = |code: &str| case.steps.iter().any(|s| s.group == next && s.code == code);
            if next_is("publicity") {
                let days = procedure.publicity_days.unwrap_or(7);
                let today = now.date_naive();
                case.publicity = Some(Publicity {
                    starts_on: today,
                    ends_on: today + Duration::days(days),
                });
                case.status = CaseStatus::Publicity;
                Next::At(now + Duration::days(days))
            } else if next_is("complete") && procedure.publicity_days.is_some() {
                for s in case.steps.iter_mut().filter(|s| s.group == next) {
                    s.state = StepState::Done;
                    s.finished_at = Some(now);
                }
                case.status = CaseStatus::Completed;
                Next::Closed
            } else {
                case.status = CaseStatus::InReview;
                Next::At(wait(rng, now, 12, 96))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn run_to_end(seed: u64, procedure: &Procedure) -> (Case, Next, usize) {
        let mut rng = StdRng::seed_from_u64(seed);
        let start: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
        let mut case = new_case(
            procedure,
            "T1".into(),
            "h".into(),
            "张*三".into(),
            "00".into(),
            start,
        );
        let mut now = start;
        let mut events = 0;
        loop {
            events += 1;
            let before = case.updated_at;
            match advance(&mut case, procedure, now, &mut rng) {
                Next::At(t) => {
                    assert!(t > now, "time moves forward");
                    assert!(case.updated_at >= before);
                    now = t;
                }
                end => return (case, end, events),
            }
            assert!(events < 200, "a case ends");
        }
    }

    #[test]
    fn every_case_ends_consistently() {
        let mut outcomes = std::collections::HashMap::new();
        for procedure in PROCEDURES {
            for seed in 0..300 {
                let (case, end, _) = run_to_end(seed, procedure);
                match end {
                    Next::Closed => {
                        assert!(!case.status.is_open());
                        let result = case.result.as_ref().expect("a closed case has a result");
                        match case.status {
                            CaseStatus::Completed => {
                                assert_eq!(result.outcome, Outcome::Approved);
                                assert!(case.steps.iter().all(|s| s.state == StepState::Done));
                                assert_eq!(
                                    case.publicity.is_some(),
                                    procedure.publicity_days.is_some()
                                );
                            }
                            CaseStatus::Rejected => {
                                assert_eq!(result.outcome, Outcome::Rejected);
                                assert_eq!(
                                    case.steps
                                        .iter()
                                        .filter(|s| s.state == StepState::Rejected)
                                        .count(),
                                    1
                                );
                            }
                            other => panic!("closed with {other:?}"),
                        }
                    }
                    Next::Withdrawn => assert_eq!(case.status, CaseStatus::Received),
                    Next::At(_) => unreachable!(),
                }
                *outcomes.entry(case.status).or_insert(0) += 1;
            }
        }
        // The simulation exercises every ending, not just the happy path.
        assert!(outcomes[&CaseStatus::Completed] > 1000);
        assert!(outcomes[&CaseStatus::Rejected] > 10);
    }

    #[test]
    fn joint_review_runs_in_parallel_and_some_cases_are_returned_or_overdue() {
        let homestead = procedure("homestead").unwrap();
        let (mut returned, mut overdue) = (0, 0);
        for seed in 0..300 {
            let (case, _, _) = run_to_end(seed, homestead);
            let joint: Vec<_> = case.steps.iter().filter(|s| s.group == 2).collect();
            assert_eq!(joint.len(), 4);
            if joint.iter().all(|s| s.started_at.is_some()) {
                let first = joint[0].started_at;
                assert!(
                    joint.iter().all(|s| s.started_at == first),
                    "started together"
                );
            }
            if case
                .steps
                .iter()
                .any(|s| s.note.as_deref() == Some("已补正材料，继续审查"))
            {
                returned += 1;
            }
            if case.updated_at > case.due_at {
                overdue += 1;
            }
        }
        assert!(returned > 0, "some cases are returned for material");
        assert!(overdue > 0, "some cases run past their time limit");
    }
}
