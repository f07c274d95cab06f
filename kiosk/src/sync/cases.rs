//! The case feed sync: pages are fetched and applied in a pipeline — the next page is on
//! the wire while the current one is written — and each page commits together with its
//! cursor, so a kill at any moment resumes at the last committed page.

use std::path::{Path, PathBuf};

use chrono::Utc;
use protocol::client::Client;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::feed::{FeedPage, parse_page};
use crate::mirror::cases::Applied;
use crate::mirror::{AsyncMirror, Durability, FaultSource, Mirror};

/// What one sync run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pages: usize,
    pub upserts: usize,
    pub deletes: usize,
    pub cursor: u64,
    /// The feed was read to its end.
    pub caught_up: bool,
}

impl SyncReport {
    fn add(&mut self, applied: Applied, last: bool) {
        self.pages += 1;
        self.upserts += applied.upserts;
        self.deletes += applied.deletes;
        self.cursor = applied.cursor;
        self.caught_up = last;
    }
}

pub struct CaseSync {
    client: Client,
    mirror_path: PathBuf,
    hall_id: String,
    page_size: u32,
}

impl CaseSync {
    pub fn new(client: Client, mirror_path: &Path, hall_id: &str, page_size: u32) -> Self {
        Self {
            client,
            mirror_path: mirror_path.to_owned(),
            hall_id: hall_id.to_owned(),
            page_size,
        }
    }

    /// Fetches the hall's lookup salt and stores it; lookups need it to compute digests.
    async fn refresh_hall(&self, mirror: &AsyncMirror) -> Result<()> {
        let halls = self.client.halls().await?;
        let hall = halls
            .halls
            .into_iter()
            .find(|h| h.id == self.hall_id)
            .ok_or_else(|| {
                Error::Invalid(format!("the upstream does not know hall {}", self.hall_id))
            })?;
        mirror.run(move |m| m.set_hall(&hall)).await
    }

    /// Reads the feed to its end, recording the outcome as the cases fault. The mirror's
    /// work runs on the blocking pool.
    pub async fn run_once(&self) -> Result<SyncReport> {
        // What is written here (the hall, the fault) and by the writer below (pages and their
        // cursor) is fetched again from the upstream after a power cut took it back.
        let mirror = AsyncMirror::open(&self.mirror_path, Durability::Refetchable).await?;
        let outcome = self.run_inner(&mirror).await;
        mirror
            .record_outcome(FaultSource::Cases, &outcome, Utc::now())
            .await;
        outcome
    }

    async fn run_inner(&self, mirror: &AsyncMirror) -> Result<SyncReport> {
        self.refresh_hall(mirror).await?;
        let mut cursor = mirror.run(|m| m.cursor()).await?;
        // Three stages, each on its own thread: the fetcher reads page bodies; the parser
        // parses each, tells the fetcher where the next page starts, and hands the rows on;
        // the writer applies them. The next page is on the wire and parsed while the
        // current one is written.
        let (bodies, mut inbox) = mpsc::channel::<Vec<u8>>(1);
        let (cursors, mut next) = mpsc::channel::<(u64, bool)>(1);
        let (parsed, rows) = std::sync::mpsc::sync_channel::<FeedPage<'static>>(1);
        let parser = tokio::task::spawn_blocking(move || -> Result<()> {
            while let Some(body) = inbox.blocking_recv() {
                let page = parse_page(&body)?;
                let _ = cursors.blocking_send((page.next_after, page.has_more));
                if parsed.send(page.into_owned()).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let path = self.mirror_path.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<SyncReport> {
            let mut mirror = Mirror::open_with(&path, Durability::Refetchable)?;
            let mut report = SyncReport {
                cursor: mirror.cursor()?,
                ..SyncReport::default()
            };
            for page in rows {
                let applied = mirror.apply_page(&page, Utc::now())?;
                report.add(applied, !page.has_more);
            }
            Ok(report)
        });
        let fetched: Result<()> = async {
            loop {
                // The raw body, for `parse_page` (see `FeedCase` for why not typed `Case`s).
                let body = self
                    .client
                    .case_changes_bytes(Some(&self.hall_id), cursor, self.page_size)
                    .await?;
                if bodies.send(body).await.is_err() {
                    return Ok(());
                }
                // `None`: the parser stopped (its error is reported below).
                let Some((next_after, has_more)) = next.recv().await else {
                    return Ok(());
                };
                cursor = next_after;
                if !has_more {
                    return Ok(());
                }
            }
        }
        .await;
        drop(bodies);
        drop(next);
        let stopped =
            |e: tokio::task::JoinError| Error::Invalid(format!("feed sync stage stopped: {e}"));
        let parsed = parser.await.map_err(stopped)?;
        let report = writer.await.map_err(stopped)??;
        parsed?;
        fetched?;
        Ok(report)
    }
}

impl CaseSync {
    /// [`CaseSync::run_once`], retrying errors that may pass (upstream down, dropped
    /// connection) with backoff, up to `attempts` runs. Pages committed by a failed run are
    /// kept, and the next run resumes after them; the report is the successful run's.
    pub async fn run_with_retries(
        &self,
        attempts: u32,
        backoff: crate::backoff::Backoff,
    ) -> Result<SyncReport> {
        for attempt in 0.. {
            match self.run_once().await {
                Ok(report) => return Ok(report),
                Err(e) if e.is_retryable() && attempt + 1 < attempts => {
                    let delay = backoff.delay(attempt, rand::random());
                    tracing::warn!(error = %e, ?delay, "case sync failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }
}
