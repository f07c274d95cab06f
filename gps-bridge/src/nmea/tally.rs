//! Counts of what a stream contained, by cause: the figures behind `replay`'s summary and
//! `status`.

use std::collections::BTreeMap;
use std::fmt;

use super::fields::Problem;
use super::framer::Reject;
use super::sentence::DecodeError;

/// The anomaly cause of a latitude beyond 90° or a longitude beyond 180°.
const POSITION_OUT_OF_RANGE: &str = "position_out_of_range";

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub accepted: u64,
    /// Framing and checksum rejects, by [`Reject::name`].
    pub rejected: BTreeMap<&'static str, u64>,
    /// Accepted sentences of a known type whose fields did not decode, by type.
    pub undecodable: BTreeMap<&'static str, u64>,
    /// Sentences whose content is impossible or implausible (a latitude beyond 90°, a jump,
    /// time going backwards), by cause.
    pub anomalies: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn reject(&mut self, reject: Reject) {
        *self.rejected.entry(reject.name()).or_default() += 1;
    }

    /// Counts a sentence that did not decode: by type, unless it was well formed but named a
    /// place that does not exist, which is absurd data rather than a format fault.
    pub fn undecodable(&mut self, error: &DecodeError) {
        if error.error.problem == Problem::PositionOutOfRange {
            self.anomaly(POSITION_OUT_OF_RANGE);
        } else {
            *self.undecodable.entry(error.kind).or_default() += 1;
        }
    }

    pub fn anomaly(&mut self, cause: &'static str) {
        *self.anomalies.entry(cause).or_default() += 1;
    }

    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted {}, rejected {}",
            self.accepted,
            self.total_rejected()
        )?;
        for (cause, n) in &self.rejected {
            write!(f, "\n  {cause}: {n}")?;
        }
        for (kind, n) in &self.undecodable {
            write!(f, "\n  accepted but undecodable {kind}: {n}")?;
        }
        for (cause, n) in &self.anomalies {
            write!(f, "\n  implausible ({cause}): {n}")?;
        }
        Ok(())
    }
}
