//! The bridge's parts that are failing now, each with its latest error, for the heartbeat
//! (and so the fleet view): a part is reported until it succeeds again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use protocol::devices::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Recording surveys (the survey store).
    Survey,
    /// Checking plots and recording them in the outbox.
    Plots,
    Outbox,
    Upload,
    Layers,
    Heartbeat,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Survey => "survey",
            Part::Plots => "plots",
            Part::Outbox => "outbox",
            Part::Upload => "upload",
            Part::Layers => "layers",
            Part::Heartbeat => "heartbeat",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    faults: BTreeMap<Part, (String, DateTime<Utc>)>,
    layers_synced_at: Option<DateTime<Utc>>,
    layers_tried: bool,
}

/// Shared by the daemon's tasks; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<State>>);

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn fault(&self, part: Part, message: impl Into<String>) {
        self.fault_at(part, message, Utc::now());
    }

    pub fn fault_at(&self, part: Part, message: impl Into<String>, at: DateTime<Utc>) {
        self.state().faults.insert(part, (message.into(), at));
    }

    pub fn clear(&self, part: Part) {
        self.state().faults.remove(&part);
    }

    /// Every failing part but `except` (the heartbeat leaves out its own: a heartbeat that
    /// arrives shows it works again), newest first.
    pub fn faults(&self, except: Part) -> Vec<Fault> {
        let mut faults: Vec<Fault> = self
            .state()
            .faults
            .iter()
            .filter(|(part, _)| **part != except)
            .map(|(part, (message, at))| Fault {
                part: part.as_str().to_owned(),
                message: message.clone(),
                at: *at,
            })
            .collect();
        faults.sort_by_key(|f| std::cmp::Reverse(f.at));
        faults
    }

    pub fn layers_synced(&self, at: DateTime<Utc>) {
        self.state().layers_synced_at = Some(at);
    }

    /// A layer sync ended, well or not.
    pub fn layers_tried(&self) {
        self.state().layers_tried = true;
    }

    /// Whether a layer sync has ended since the start.
    pub fn layers_were_tried(&self) -> bool {
        self.state().layers_tried
    }

    pub fn layers_synced_at(&self) -> Option<DateTime<Utc>> {
        self.state().layers_synced_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_reported_until_it_succeeds_newest_first() {
        let health = Health::default();
        let t = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        health.fault_at(Part::Upload, "503", t(1));
        health.fault_at(Part::Layers, "timeout", t(2));
        health.fault_at(Part::Heartbeat, "refused", t(3));
        health.fault_at(Part::Upload, "dropped", t(4));
        let parts: Vec<(String, String)> = health
            .faults(Part::Heartbeat)
            .into_iter()
            .map(|f| (f.part, f.message))
            .collect();
        assert_eq!(
            parts,
            [
                ("upload".to_owned(), "dropped".to_owned()),
                ("layers".to_owned(), "timeout".to_owned())
            ]
        );
        health.clear(Part::Upload);
        assert_eq!(health.faults(Part::Heartbeat).len(), 1);
    }
}
