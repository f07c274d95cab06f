//! The plot outbox: every checked plot is committed here before anything else happens to it,
//! then delivered to the upstream exactly once by [`upload`]. A plot is `pending` until the
//! upstream accepts it (`delivered`, with the upstream's plot id and overlaps) or refuses it for
//! good (`rejected`, with the reason); plots the checks refused (`refused`) or found to
//! duplicate an earlier one (`duplicate`) are kept with their report and never sent.

mod store;
pub mod upload;

use chrono::{DateTime, Utc};
use protocol::plots::{PlotReceipt, PlotSubmission};
use serde::{Deserialize, Serialize};

use crate::layers::PreCheck;
use crate::plot::{Finding, PlotReport};

pub use store::{Outbox, idempotency_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlotState {
    Pending,
    Delivered,
    Rejected,
    Refused,
    Duplicate,
}

impl PlotState {
    pub const ALL: [PlotState; 5] = [
        PlotState::Pending,
        PlotState::Delivered,
        PlotState::Rejected,
        PlotState::Refused,
        PlotState::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlotState::Pending => "pending",
            PlotState::Delivered => "delivered",
            PlotState::Rejected => "rejected",
            PlotState::Refused => "refused",
            PlotState::Duplicate => "duplicate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How the officer reads it.
    pub fn zh(self) -> &'static str {
        match self {
            PlotState::Pending => "待上传",
            PlotState::Delivered => "已送达",
            PlotState::Rejected => "被退回",
            PlotState::Refused => "未通过检查",
            PlotState::Duplicate => "重复",
        }
    }

    /// Chinese first, then the state's name.
    pub fn label(self) -> String {
        format!("{} {}", self.zh(), self.as_str())
    }
}

/// What the checks said of a plot, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotChecks {
    pub report: PlotReport,
    /// The overlap pre-check against the cached layers, with their freshness; `None` for a
    /// plot refused before it (its shape was not a plot).
    pub precheck: Option<PreCheck>,
}

/// A checked plot to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlot {
    pub candidate_id: i64,
    pub name: String,
    pub checks: PlotChecks,
    pub area_m2: Option<f64>,
    pub area_sigma_m2: Option<f64>,
    /// The earlier plot this one surveys again: kept, never sent.
    pub duplicate_of: Option<i64>,
    /// What to send, for a plot the checks passed; `None` for a refused one.
    pub submission: Option<PlotSubmission>,
}

/// A pending plot due for an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePlot {
    pub id: i64,
    pub idempotency_key: String,
    pub submission: PlotSubmission,
    /// Attempts made so far.
    pub attempts: u32,
}

/// How many plots are in each state, and the times the heartbeat reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub pending: u32,
    pub delivered: u32,
    pub rejected: u32,
    pub refused: u32,
    pub duplicate: u32,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub last_delivery_at: Option<DateTime<Utc>>,
}

/// One plot as `plots` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotSummary {
    pub id: i64,
    pub candidate_id: i64,
    pub name: String,
    pub state: PlotState,
    pub area_m2: Option<f64>,
    pub area_sigma_m2: Option<f64>,
    pub duplicate_of: Option<i64>,
    pub recorded_at: DateTime<Utc>,
    pub attempts: u32,
    pub upstream_plot_id: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The upstream's reason, for a rejected plot.
    pub rejection: Option<String>,
    /// The checks' first reason, for a plot they refused (or found a duplicate).
    #[serde(default)]
    pub refusal: Option<Finding>,
    /// How many warnings the checks found (`show` lists them).
    #[serde(default)]
    pub warnings: u32,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// `delivered`, `replayed` (the upstream had it already), `rejected` or `failed`.
    pub outcome: String,
    /// The upstream's plot id, or the error.
    pub detail: String,
}

/// Everything the outbox holds of one plot, for `show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotRecord {
    #[serde(flatten)]
    pub summary: PlotSummary,
    pub checks: PlotChecks,
    pub submission: Option<PlotSubmission>,
    pub receipt: Option<PlotReceipt>,
    pub attempts: Vec<Attempt>,
}
