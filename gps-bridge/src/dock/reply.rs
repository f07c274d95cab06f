//! What the bridge answers on its control socket, typed. On the wire each reply is one JSON
//! object with `"ok": true` and the answer's fields, or `"ok": false` and an `"error"`.

use serde::{Deserialize, Serialize, Serializer};

use super::fix::Fix;
use std::collections::BTreeMap;

use crate::survey::{Corner, PlotCandidate};

/// One reply line.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Answer(Box<Answer>),
    /// The request was refused; the text says why, for the officer.
    Refused(String),
}

impl Reply {
    pub fn refused(message: impl std::fmt::Display) -> Self {
        Reply::Refused(message.to_string())
    }
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Self {
        Reply::Answer(Box::new(answer))
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            ok: bool,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            answer: Option<&'a Answer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
        }
        let wire = match self {
            Reply::Answer(answer) => Wire {
                ok: true,
                answer: Some(answer),
                error: None,
            },
            Reply::Refused(error) => Wire {
                ok: false,
                answer: None,
                error: Some(error),
            },
        };
        wire.serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Status(StatusReply),
    Marked(MarkReply),
    PlotClosed(ClosePlotReply),
}

/// A corner recorded by `mark`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkReply {
    pub mark_id: i64,
    pub port: String,
    pub corner: Corner,
    /// The capture ended before its time: the unit went away or the bridge is stopping.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut_short: bool,
}

/// The candidate `close-plot` made, and what the plot checks said of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosePlotReply {
    /// The candidate's id in the survey store.
    pub plot_id: i64,
    pub plot: PlotCandidate,
    /// The checked plot in the outbox, once the checks ran (boxed: the other answers are
    /// small).
    #[serde(default)]
    pub outbox: Option<Box<crate::outbox::PlotSummary>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReply {
    #[serde(flatten)]
    pub dock: DockStatus,
    /// Marks waiting for `close-plot`.
    pub open_marks: i64,
    pub plot_candidates: i64,
    pub outbox: crate::outbox::OutboxCounts,
}

/// What the dock itself knows: its units and the corner being marked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockStatus {
    pub units: Vec<UnitStatus>,
    pub capture: Option<CaptureStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitStatus {
    pub port: String,
    pub docked: bool,
    /// USB ids, hex.
    pub vid: Option<String>,
    pub pid: Option<String>,
    pub model: Option<String>,
    pub baud: Option<u32>,
    pub framing: Option<crate::device::Framing>,
    /// Sentences accepted (checksum-valid).
    pub sentences: u64,
    /// Framing and checksum rejects, by cause.
    pub rejects: BTreeMap<&'static str, u64>,
    pub undecodable: BTreeMap<&'static str, u64>,
    /// Fixes not used because they were impossible or implausible, by cause.
    pub implausible: BTreeMap<&'static str, u64>,
    pub fix: Option<Fix>,
    pub routes_in_progress: Vec<RouteProgress>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteProgress {
    pub route: String,
    pub sentences: usize,
    pub of: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureStatus {
    pub corner: String,
    pub port: String,
    pub fixes_accepted: usize,
    pub fixes_seen: u32,
    pub remaining_s: f64,
}
