//! Reads the layers' change feeds into the cache and the index, from each layer's cursor to
//! the feed's end; the next page is on the wire while the current one is applied. Each page
//! commits with its cursor, so a sync cut off anywhere (a dropped connection, a kill) resumes
//! after the last page applied.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::Utc;
use protocol::client::{Client, ClientError};
use protocol::layers::{Layer, LayerChangesPage};
use tokio::sync::{Notify, watch};

use super::{LayerCache, LayerIndex, Plane};
use crate::health::{Health, Part};

#[derive(Clone)]
pub struct LayerSync {
    pub client: Client,
    pub cache: Arc<Mutex<LayerCache>>,
    pub index: Arc<RwLock<LayerIndex>>,
    pub plane: Arc<dyn Plane>,
    pub page_size: u32,
    pub health: Health,
}

/// What one sync of both layers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pages: usize,
    pub upserts: usize,
    pub deletes: usize,
    /// Features that were not polygons.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Upstream(#[from] ClientError),
    #[error("applying a page: {0:#}")]
    Cache(anyhow::Error),
}

impl LayerSync {
    async fn apply(&self, page: LayerChangesPage) -> Result<SyncReport, SyncError> {
        let (cache, index, plane) = (self.cache.clone(), self.index.clone(), self.plane.clone());
        tokio::task::spawn_blocking(move || {
            let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
            let applied = cache.apply_page(page, plane.as_ref(), Utc::now())?;
            let report = SyncReport {
                pages: 1,
                upserts: applied.upserted.len(),
                deletes: applied.deleted.len() - applied.skipped,
                skipped: applied.skipped,
            };
            let freshness = cache.freshness()?;
            index
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .apply(applied, freshness);
            Ok(report)
        })
        .await
        .map_err(|e| SyncError::Cache(e.into()))?
        .map_err(SyncError::Cache)
    }

    async fn cursor(&self, layer: Layer) -> Result<u64, SyncError> {
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cursor(layer)
        })
        .await
        .map_err(|e| SyncError::Cache(e.into()))?
        .map_err(SyncError::Cache)
    }

    /// Reads `layer` from its cursor to the feed's end.
    pub async fn sync_layer(&self, layer: Layer) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let mut page = self
            .client
            .layer_changes(layer, self.cursor(layer).await?, self.page_size)
            .await?;
        loop {
            if page.layer != layer {
                return Err(ClientError::Contract(format!(
                    "asked for {layer:?}, got a page of {:?}",
                    page.layer
                ))
                .into());
            }
            let (after, more) = (page.next_after, page.has_more);
            let next = async {
                if more {
                    Some(
                        self.client
                            .layer_changes(layer, after, self.page_size)
                            .await,
                    )
                } else {
                    None
                }
            };
            let (applied, next) = tokio::join!(self.apply(page), next);
            let applied = applied?;
            report.pages += applied.pages;
            report.upserts += applied.upserts;
            report.deletes += applied.deletes;
            report.skipped += applied.skipped;
            match next {
                Some(next) => page = next?,
                None => return Ok(report),
            }
        }
    }

    /// Both layers, each to its end.
    pub async fn sync_once(&self) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        for layer in Layer::ALL {
            let r = self.sync_layer(layer).await?;
            report.pages += r.pages;
            report.upserts += r.upserts;
            report.deletes += r.deletes;
            report.skipped += r.skipped;
        }
        Ok(report)
    }

    /// Syncs every `interval`, or at once when `now` is rung, until `stop`; a failed sync is
    /// a fault until one succeeds, and is tried again at the next interval (a minute at most).
    pub async fn run(self, interval: Duration, now: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let mut wait = Duration::ZERO;
        while !*stop.borrow() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = now.notified() => {}
                _ = stop.changed() => break,
            }
            let outcome = tokio::select! {
                outcome = self.sync_once() => outcome,
                _ = stop.changed() => break,
            };
            self.health.layers_tried();
            match outcome {
                Ok(report) => {
                    self.health.clear(Part::Layers);
                    self.health.layers_synced(Utc::now());
                    if report.pages > 0 && (report.upserts > 0 || report.deletes > 0) {
                        tracing::info!(?report, "layers synced");
                    }
                    wait = interval;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "layer sync failed; the pre-check uses the cache");
                    self.health.fault(Part::Layers, e.to_string());
                    wait = interval.min(Duration::from_secs(60));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::index::tests::{TestPlane, plot, square};
    use crate::testing::{client_runtime, upstream};

    fn sync(client: Client, dir: &std::path::Path) -> LayerSync {
        let plane = TestPlane { auto: false };
        let cache = LayerCache::open(&dir.join("layers.db"), &plane).unwrap();
        let index = LayerIndex::build(cache.load().unwrap(), cache.freshness().unwrap());
        LayerSync {
            client,
            cache: Arc::new(Mutex::new(cache)),
            index: Arc::new(RwLock::new(index)),
            plane: Arc::new(plane),
            page_size: 7,
            health: Health::default(),
        }
    }

    #[test]
    fn a_sync_cut_short_by_dropped_answers_resumes_to_the_same_cache() {
        // The servers' runtimes are dropped outside the client's.
        let clean = upstream(&[]);
        let flaky = upstream(&["--drop-rate", "0.3", "--fail-rate", "0.2", "--seed", "11"]);
        client_runtime().block_on(resumes(clean.client(), flaky.client()));
    }

    async fn resumes(clean: Client, flaky: Client) {
        let dir = tempfile::tempdir().unwrap();
        let reference = sync(clean, dir.path());
        let report = reference.sync_once().await.unwrap();
        // egov-sim seeds 36 parcels and 2 mining rights around each of its 5 halls.
        assert_eq!(report.upserts, 5 * 38);
        assert!(report.pages > 2 * 5, "pages of 7: {report:?}");
        assert_eq!(
            reference.sync_once().await.unwrap().upserts,
            0,
            "nothing new"
        );

        // Against a flaky upstream every sync may fail part-way; each resumes at its cursor.
        let dir2 = tempfile::tempdir().unwrap();
        let resumed = sync(flaky, dir2.path());
        let mut failures = 0;
        while let Err(e) = resumed.sync_once().await {
            assert!(
                matches!(e, SyncError::Upstream(ref c) if c.is_retryable()),
                "{e}"
            );
            failures += 1;
            assert!(failures < 200, "no progress");
        }
        assert!(failures > 0, "the faults were injected");
        let features = |s: &LayerSync| {
            let mut ids: Vec<(&str, String)> = s
                .cache
                .lock()
                .unwrap()
                .load()
                .unwrap()
                .into_iter()
                .map(|f| (f.layer.as_str(), f.id))
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(features(&resumed), features(&reference));
        assert_eq!(resumed.index.read().unwrap().len(), 5 * 38);

        // A plot on the first seeded parcel's corner overlaps it, from the cache alone.
        let first = reference.cache.lock().unwrap().load().unwrap();
        let parcel = first.iter().find(|f| f.layer == Layer::Parcels).unwrap();
        let corner = parcel.lonlat.0[0].exterior().0[0];
        let plane = TestPlane { auto: false };
        let found = resumed.index.read().unwrap().precheck(
            &plot(
                &square(corner.x - 0.00005, corner.y - 0.00005, 12.0),
                &plane,
            ),
            &plane,
        );
        assert!(
            found.overlaps.iter().any(|o| o.feature_id == parcel.id),
            "{found:?}"
        );
        assert!(found.freshness.iter().all(|f| f.synced_at.is_some()));
    }
}
