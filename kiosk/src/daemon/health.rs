//! What the data plane knows of its own health, for the screen (the freshness badge, a
//! fault notice) and the heartbeat (the fleet view). Kept in memory and published on a
//! `watch` channel: it must reach the screen even when the mirror that would otherwise
//! store it cannot be written.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Result;
use crate::mirror::cases::Freshness;
use crate::mirror::{Fault, FaultSource};

/// The data plane's health as the UI reads it from [`super::DataPlane::health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// How current the case data is, as read after the latest case sync round; `None`
    /// until the mirror was first read.
    pub freshness: Option<Freshness>,
    /// The latest fault of each part that has not succeeded since, newest first (the same
    /// list the heartbeat carries, with the heartbeat's own fault too: offline).
    pub faults: Vec<Fault>,
    /// `false` while some part's latest round failed on the mirror or the blob store (a
    /// full or failing disk): the screen still shows what the mirror holds, which then goes
    /// stale, and should say so.
    pub mirror_writable: bool,
    /// The parts whose latest round failed on storage.
    #[serde(skip)]
    unwritable: BTreeSet<FaultSource>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            freshness: None,
            faults: Vec::new(),
            mirror_writable: true,
            unwritable: BTreeSet::new(),
        }
    }
}

impl Health {
    /// The health a data plane starts with: the faults the mirror kept from before.
    pub(crate) fn starting(faults: Vec<Fault>, freshness: Option<Freshness>) -> Self {
        Self {
            freshness,
            faults,
            ..Self::default()
        }
    }

    /// The site settings' fault (the image's `land-hall-site` could not use the overlay), or
    /// none: set once at start, from the configuration.
    pub(crate) fn set_site_fault(&mut self, fault: Option<&str>, now: DateTime<Utc>) {
        self.faults.retain(|f| f.source != FaultSource::Site);
        if let Some(message) = fault {
            self.faults.insert(
                0,
                Fault {
                    source: FaultSource::Site,
                    message: message.to_owned(),
                    at: now,
                },
            );
        }
    }

    /// Whether the site settings could not be used (the screen says so).
    pub fn has_site_fault(&self) -> bool {
        self.faults.iter().any(|f| f.source == FaultSource::Site)
    }

    /// Records the outcome of a round of `source`; returns whether anything changed.
    pub(crate) fn record<T>(
        &mut self,
        source: FaultSource,
        outcome: &Result<T>,
        now: DateTime<Utc>,
    ) -> bool {
        let before = (self.faults.clone(), self.unwritable.clone());
        self.faults.retain(|f| f.source != source);
        match outcome {
            Ok(_) => {
                self.unwritable.remove(&source);
            }
            Err(e) => {
                self.faults.insert(
                    0,
                    Fault {
                        source,
                        message: e.to_string(),
                        at: now,
                    },
                );
                if e.is_storage() {
                    self.unwritable.insert(source);
                } else {
                    self.unwritable.remove(&source);
                }
            }
        }
        self.mirror_writable = self.unwritable.is_empty();
        before != (self.faults.clone(), self.unwritable.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_part_keeps_its_latest_fault_until_it_succeeds_and_storage_faults_mark_the_mirror() {
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let mut health = Health::default();
        let disk = || Error::io("writing blob", std::io::Error::other("no space left"));
        assert!(health.record::<()>(FaultSource::Content, &Err(disk()), t(0)));
        assert!(!health.mirror_writable);
        let refused: Result<()> = Err(Error::Invalid("bad page".into()));
        assert!(health.record(FaultSource::Cases, &refused, t(1)));
        let sources: Vec<_> = health.faults.iter().map(|f| f.source).collect();
        assert_eq!(sources, [FaultSource::Cases, FaultSource::Content]);
        // A fault that is not the disk's leaves the mirror's state as it was.
        assert!(!health.mirror_writable);
        assert!(health.record(FaultSource::Content, &Ok(()), t(2)));
        assert!(health.mirror_writable);
        assert_eq!(health.faults.len(), 1);
        assert!(
            !health.record(FaultSource::Content, &Ok(()), t(3)),
            "nothing changed"
        );
    }

    #[test]
    fn the_site_fault_stays_beside_the_other_faults_until_it_is_cleared() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut health = Health::default();
        assert!(!health.has_site_fault());
        health.set_site_fault(Some("site.toml: line 3: expected `=`"), t);
        let refused: Result<()> = Err(Error::Invalid("bad page".into()));
        health.record(FaultSource::Cases, &refused, t);
        assert!(health.has_site_fault());
        assert!(health.record::<()>(FaultSource::Cases, &Ok(()), t));
        assert!(
            health.has_site_fault(),
            "a part's success leaves the site's fault"
        );
        health.set_site_fault(None, t);
        assert!(!health.has_site_fault() && health.faults.is_empty());
    }
}
