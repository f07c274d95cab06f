//! Durable survey records in SQLite. Every record is committed before anything acknowledges
//! it; the raw sentences behind each corner are stored with it for audit.

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};

use super::{Corner, IncompleteRoute, MIN_CORNERS, PlotCandidate, Source};
use crate::plot::{Finding, LandKind};

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE plot_candidates (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            source TEXT NOT NULL,
            device TEXT NOT NULL,
            raw TEXT NOT NULL,
            recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE corners (
            candidate_id INTEGER NOT NULL REFERENCES plot_candidates(id),
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            lon REAL NOT NULL,
            lat REAL NOT NULL,
            sigma_m REAL,
            fixes INTEGER NOT NULL,
            raw TEXT NOT NULL,
            PRIMARY KEY (candidate_id, seq)
        );
        -- Corners marked live, waiting for close-plot (candidate_id NULL) or used by a plot.
        CREATE TABLE marks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            device TEXT NOT NULL,
            lon REAL NOT NULL,
            lat REAL NOT NULL,
            sigma_m REAL,
            fixes INTEGER NOT NULL,
            raw TEXT NOT NULL,
            recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            candidate_id INTEGER REFERENCES plot_candidates(id)
        );
        CREATE TABLE incomplete_routes (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            route_id TEXT NOT NULL,
            missing_sentences TEXT NOT NULL,
            missing_waypoints TEXT NOT NULL,
            raw TEXT NOT NULL,
            recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );",
        ),
        // An imported GPX file is kept byte for byte, once; what came from it refers to it,
        // and its corners' raw say where in it each point is.
        M::up(
            "CREATE TABLE gpx_files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            content BLOB NOT NULL,
            imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        ALTER TABLE plot_candidates ADD COLUMN gpx_file_id INTEGER REFERENCES gpx_files(id);
        ALTER TABLE marks ADD COLUMN gpx_file_id INTEGER REFERENCES gpx_files(id);",
        ),
        // Plots with holes, a land kind and what reading them found; 国土 TXT and GeoJSON
        // files imported beside GPX. A corner's ring is 0 for the outer boundary, 1.. for the
        // holes; seq runs on across rings. Rows written before have one ring, no land kind
        // (the configured default) and nothing found.
        M::up(
            "ALTER TABLE corners ADD COLUMN ring INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE plot_candidates ADD COLUMN land TEXT;
        ALTER TABLE plot_candidates ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE gpx_files RENAME TO imported_files;
        ALTER TABLE imported_files ADD COLUMN format TEXT NOT NULL DEFAULT 'gpx';
        ALTER TABLE plot_candidates RENAME COLUMN gpx_file_id TO file_id;
        ALTER TABLE marks RENAME COLUMN gpx_file_id TO file_id;",
        ),
        // A file that could not be read is kept too, with why (the reader's refusal as JSON,
        // its line included); NULL for a file that was read. The candidate recorded for it
        // carries the same refusal through the checks into the outbox, so that `plots` and
        // `show` list it as refused and it is never uploaded.
        M::up("ALTER TABLE imported_files ADD COLUMN refusal TEXT;"),
    ])
}

/// What one file import recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecords {
    /// The stored copy of the file.
    pub file: i64,
    pub plot_candidates: Vec<i64>,
    pub marks: Vec<i64>,
}

/// An imported file as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFile {
    pub path: String,
    /// `gpx`, `txt` or `geojson`.
    pub format: String,
    pub content: Vec<u8>,
    /// Why it could not be read, if it could not.
    pub refusal: Option<Finding>,
}

/// A mark waiting for `close-plot`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredMark {
    pub id: i64,
    /// The unit's port, or the imported file's path.
    pub device: String,
    pub corner: Corner,
    /// A waypoint recorded by a file import, not marked live.
    pub imported: bool,
}

/// What [`SurveyStore::record_route`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRecord {
    New(i64),
    /// The same route was recorded before, as this candidate.
    Known(i64),
}

/// Sentences are stored one per line: they never contain a line break.
fn join_raw(raw: &[String]) -> String {
    raw.join("\n")
}

fn split_raw(raw: String) -> Vec<String> {
    raw.lines().map(str::to_owned).collect()
}

pub struct SurveyStore {
    conn: Connection,
}

impl SurveyStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = crate::durable::open(path)?;
        // The daemon and a command (`import`) may open a new file at the same moment: the
        // second to migrate waits for the first, then finds its tables made and fails; tried
        // again, it reads the new version and has nothing to do.
        if migrations().to_latest(&mut conn).is_err() {
            migrations()
                .to_latest(&mut conn)
                .context("migrating the survey database")?;
        }
        Ok(SurveyStore { conn })
    }

    pub fn insert_candidate(&mut self, plot: &PlotCandidate) -> anyhow::Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert_candidate(&tx, plot, None)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn insert_mark(&mut self, device: &str, corner: &Corner) -> anyhow::Result<i64> {
        insert_mark(&self.conn, device, corner, None)
    }

    /// Records an imported file (its bytes, once; `format` is `gpx`, `txt` or `geojson`) with
    /// the plots and waypoints read from it, all in one transaction.
    pub fn insert_file_import(
        &mut self,
        path: &str,
        format: &str,
        content: &[u8],
        plots: &[PlotCandidate],
        waypoints: &[Corner],
    ) -> anyhow::Result<ImportRecords> {
        let tx = self.conn.transaction()?;
        let file = insert_file(&tx, path, format, content, None)?;
        let plot_candidates = plots
            .iter()
            .map(|plot| insert_candidate(&tx, plot, Some(file)))
            .collect::<anyhow::Result<_>>()?;
        let marks = waypoints
            .iter()
            .map(|corner| insert_mark(&tx, path, corner, Some(file)))
            .collect::<anyhow::Result<_>>()?;
        tx.commit()?;
        Ok(ImportRecords {
            file,
            plot_candidates,
            marks,
        })
    }

    /// Records a file that could not be read: its bytes, the reader's `refusal`, and one
    /// candidate standing for it (no corners, that refusal among its findings), in one
    /// transaction.
    pub fn insert_refused_file(
        &mut self,
        path: &str,
        format: &str,
        content: &[u8],
        refusal: &Finding,
        candidate: &PlotCandidate,
    ) -> anyhow::Result<ImportRecords> {
        let tx = self.conn.transaction()?;
        let file = insert_file(&tx, path, format, content, Some(refusal))?;
        let id = insert_candidate(&tx, candidate, Some(file))?;
        tx.commit()?;
        Ok(ImportRecords {
            file,
            plot_candidates: vec![id],
            marks: Vec::new(),
        })
    }

    /// The file a plot candidate was imported from, as it was.
    pub fn imported_file_of(&self, candidate_id: i64) -> anyhow::Result<Option<ImportedFile>> {
        self.conn
            .query_row(
                "SELECT f.path, f.format, f.content, f.refusal FROM plot_candidates c
                 JOIN imported_files f ON f.id = c.file_id WHERE c.id = ?1",
                [candidate_id],
                |r| {
                    Ok((
                        ImportedFile {
                            path: r.get(0)?,
                            format: r.get(1)?,
                            content: r.get(2)?,
                            refusal: None,
                        },
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?
            .map(|(file, refusal)| {
                let refusal = refusal
                    .map(|r| serde_json::from_str(&r))
                    .transpose()
                    .with_context(|| {
                        format!("plot candidate {candidate_id}: its file's refusal")
                    })?;
                anyhow::Ok(ImportedFile { refusal, ..file })
            })
            .transpose()
    }

    pub fn insert_incomplete_route(&mut self, route: &IncompleteRoute) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO incomplete_routes (device, route_id, missing_sentences, missing_waypoints, raw)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                route.device,
                route.route_id,
                serde_json::to_string(&route.missing_sentences)?,
                serde_json::to_string(&route.missing_waypoints)?,
                join_raw(&route.raw)
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Marks not yet closed into a plot, in the order they were taken.
    pub fn open_marks(&self) -> anyhow::Result<Vec<StoredMark>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, device, name, lon, lat, sigma_m, fixes, raw, file_id FROM marks
             WHERE candidate_id IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredMark {
                id: r.get(0)?,
                device: r.get(1)?,
                corner: Corner {
                    name: r.get(2)?,
                    lon: r.get(3)?,
                    lat: r.get(4)?,
                    sigma_m: r.get(5)?,
                    fixes: r.get(6)?,
                    raw: split_raw(r.get(7)?),
                },
                imported: r.get::<_, Option<i64>>(8)?.is_some(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Turns one unit's open marks into a plot candidate on `land` (`None`: the configured
    /// default), in one transaction. A mark belongs to the unit it was taken with: `device`
    /// names the unit's port (or an imported file's path, for the waypoints it recorded);
    /// without it, the one unit with open marks taken live. Waypoints a file import recorded
    /// are only ever closed by naming the file.
    pub fn close_plot(
        &mut self,
        name: Option<&str>,
        device: Option<&str>,
        land: Option<LandKind>,
    ) -> anyhow::Result<(i64, PlotCandidate)> {
        let open = self.open_marks()?;
        let device = match device {
            Some(device) => device.to_owned(),
            None => {
                let mut live: Vec<&str> = open
                    .iter()
                    .filter(|m| !m.imported)
                    .map(|m| m.device.as_str())
                    .collect();
                live.sort_unstable();
                live.dedup();
                match live.as_slice() {
                    [one] => (*one).to_owned(),
                    [] => bail!(
                        "至少要有 3 个已测的界址点才能成地块，现在没有 \
                         (a plot needs at least 3 marked corners, 0 marked)"
                    ),
                    several => bail!(
                        "有几台接收机的界址点未成地块（{0}），请用 --port 指定一台 \
                         (marks of several units are open ({0}): name one with --port)",
                        several.join(", ")
                    ),
                }
            }
        };
        let marks: Vec<&StoredMark> = open.iter().filter(|m| m.device == device).collect();
        if marks.len() < MIN_CORNERS {
            bail!(
                "至少要有 3 个已测的界址点才能成地块，{device} 上只有 {0} 个 \
                 (a plot needs at least 3 marked corners, {0} marked on {device})",
                marks.len()
            );
        }
        let tx = self.conn.transaction()?;
        let fallback_name = format!("plot-{}", marks[0].id);
        let source = if marks[0].imported {
            Source::GpxImport
        } else {
            Source::CornerCapture
        };
        let plot = PlotCandidate {
            land,
            ..PlotCandidate::new(
                name.map_or(fallback_name, str::to_owned),
                source,
                device,
                marks.iter().map(|m| m.corner.clone()).collect(),
                Vec::new(),
            )
        };
        let id = insert_candidate(&tx, &plot, None)?;
        for mark in &marks {
            tx.execute(
                "UPDATE marks SET candidate_id = ?1 WHERE id = ?2",
                params![id, mark.id],
            )?;
        }
        tx.commit()?;
        Ok((id, plot))
    }

    /// Records a route a unit transferred, unless the store holds the same route already:
    /// the same name and the same corners at the same positions, bit for bit. A handheld
    /// sends its active route over and over; a restarted bridge hears it again and must not
    /// take it for a new survey.
    pub fn record_route(&mut self, plot: &PlotCandidate) -> anyhow::Result<RouteRecord> {
        let tx = self.conn.transaction()?;
        let same_name: Vec<i64> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM plot_candidates WHERE source = ?1 AND name = ?2 ORDER BY id DESC",
            )?;
            stmt.query_map(params![Source::RouteTransfer.name(), plot.name], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?
        };
        for id in same_name {
            let mut stmt = tx.prepare_cached(
                "SELECT name, lon, lat FROM corners WHERE candidate_id = ?1 ORDER BY seq",
            )?;
            let corners: Vec<(String, f64, f64)> = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let same = corners.len() == plot.corners.len()
                && corners
                    .iter()
                    .zip(&plot.corners)
                    .all(|((name, lon, lat), c)| {
                        *name == c.name
                            && lon.to_bits() == c.lon.to_bits()
                            && lat.to_bits() == c.lat.to_bits()
                    });
            if same {
                return Ok(RouteRecord::Known(id));
            }
        }
        let id = insert_candidate(&tx, plot, None)?;
        tx.commit()?;
        Ok(RouteRecord::New(id))
    }

    pub fn candidate(&self, id: i64) -> anyhow::Result<Option<PlotCandidate>> {
        let head = self
            .conn
            .query_row(
                "SELECT name, source, device, raw, land, findings FROM plot_candidates
                 WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, source, device, raw, land, findings)) = head else {
            return Ok(None);
        };
        let source = Source::from_name(&source)
            .with_context(|| format!("plot candidate {id}: unknown source {source}"))?;
        let land = land
            .map(|l| l.parse::<LandKind>())
            .transpose()
            .with_context(|| format!("plot candidate {id}"))?;
        let findings: Vec<Finding> = serde_json::from_str(&findings)
            .with_context(|| format!("plot candidate {id}: its findings"))?;
        let mut stmt = self.conn.prepare(
            "SELECT ring, name, lon, lat, sigma_m, fixes, raw FROM corners
             WHERE candidate_id = ?1 ORDER BY seq",
        )?;
        let mut rings: Vec<Vec<Corner>> = vec![Vec::new()];
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, usize>(0)?,
                Corner {
                    name: r.get(1)?,
                    lon: r.get(2)?,
                    lat: r.get(3)?,
                    sigma_m: r.get(4)?,
                    fixes: r.get(5)?,
                    raw: split_raw(r.get(6)?),
                },
            ))
        })?;
        for row in rows {
            let (ring, corner) = row?;
            if ring >= rings.len() {
                rings.resize_with(ring + 1, Vec::new);
            }
            rings[ring].push(corner);
        }
        let mut rings = rings.into_iter();
        Ok(Some(PlotCandidate {
            name,
            source,
            device,
            corners: rings.next().unwrap_or_default(),
            holes: rings.collect(),
            land,
            findings,
            raw: split_raw(raw),
        }))
    }

    /// When a plot candidate was recorded.
    pub fn candidate_recorded_at(&self, id: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT recorded_at FROM plot_candidates WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            t.parse()
                .with_context(|| format!("plot candidate {id}: recorded at {t:?}"))
        })
        .transpose()
    }

    /// Dates a candidate back, for tests of what is done with the time.
    #[cfg(test)]
    pub(crate) fn set_recorded_at(&self, id: i64, at: &str) {
        self.conn
            .execute(
                "UPDATE plot_candidates SET recorded_at = ?2 WHERE id = ?1",
                params![id, at],
            )
            .unwrap();
    }

    /// Ids of the plot candidates recorded after `id`, oldest first.
    pub fn candidate_ids_after(&self, id: i64) -> anyhow::Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM plot_candidates WHERE id > ?1 ORDER BY id")?;
        let ids = stmt.query_map([id], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// Ids of all plot candidates, oldest first.
    pub fn candidate_ids(&self) -> anyhow::Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM plot_candidates ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    pub fn incomplete_route_count(&self) -> anyhow::Result<i64> {
        self.count("SELECT count(*) FROM incomplete_routes")
    }

    pub fn candidate_count(&self) -> anyhow::Result<i64> {
        self.count("SELECT count(*) FROM plot_candidates")
    }

    /// Marks waiting for `close-plot`.
    pub fn open_mark_count(&self) -> anyhow::Result<i64> {
        self.count("SELECT count(*) FROM marks WHERE candidate_id IS NULL")
    }

    fn count(&self, query: &str) -> anyhow::Result<i64> {
        Ok(self.conn.query_row(query, [], |r| r.get(0))?)
    }
}

fn insert_file(
    tx: &Transaction<'_>,
    path: &str,
    format: &str,
    content: &[u8],
    refusal: Option<&Finding>,
) -> anyhow::Result<i64> {
    tx.execute(
        "INSERT INTO imported_files (path, format, content, refusal) VALUES (?1, ?2, ?3, ?4)",
        params![
            path,
            format,
            content,
            refusal.map(serde_json::to_string).transpose()?
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn insert_mark(
    conn: &Connection,
    device: &str,
    corner: &Corner,
    file: Option<i64>,
) -> anyhow::Result<i64> {
    conn.execute(
        "INSERT INTO marks (name, device, lon, lat, sigma_m, fixes, raw, file_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            corner.name,
            device,
            corner.lon,
            corner.lat,
            corner.sigma_m,
            corner.fixes,
            join_raw(&corner.raw),
            file
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn insert_candidate(
    tx: &Transaction<'_>,
    plot: &PlotCandidate,
    file: Option<i64>,
) -> anyhow::Result<i64> {
    tx.execute(
        "INSERT INTO plot_candidates (name, source, device, raw, file_id, land, findings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            plot.name,
            plot.source.name(),
            plot.device,
            join_raw(&plot.raw),
            file,
            plot.land.map(LandKind::name),
            serde_json::to_string(&plot.findings)?
        ],
    )?;
    let id = tx.last_insert_rowid();
    let rings = std::iter::once(&plot.corners).chain(&plot.holes);
    let corners = rings
        .enumerate()
        .flat_map(|(ring, corners)| corners.iter().map(move |c| (ring, c)));
    for (seq, (ring, c)) in corners.enumerate() {
        tx.execute(
            "INSERT INTO corners (candidate_id, seq, ring, name, lon, lat, sigma_m, fixes, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                seq as i64,
                ring as i64,
                c.name,
                c.lon,
                c.lat,
                c.sigma_m,
                c.fixes,
                join_raw(&c.raw)
            ],
        )?;
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corner(name: &str, lon: f64) -> Corner {
        Corner {
            name: name.to_owned(),
            lon,
            lat: 39.1,
            sigma_m: Some(2.5),
            fixes: 30,
            raw: vec!["$GPGGA,a*00".to_owned(), "$GPGGA,b*00".to_owned()],
        }
    }

    #[test]
    fn the_store_commits_to_the_disk_wal_and_full() {
        let dir = tempfile::tempdir().unwrap();
        let store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        let (mode, synchronous) = crate::testing::durability(&store.conn);
        assert_eq!(
            (mode.as_str(), synchronous),
            ("wal", 2),
            "WAL, synchronous=FULL"
        );
    }

    #[test]
    fn candidates_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("survey.db");
        let plot = PlotCandidate::new(
            "PLOT7",
            Source::RouteTransfer,
            "/dev/ttyUSB0",
            vec![
                corner("C1", 116.1),
                corner("C2", 116.2),
                corner("C3", 116.3),
            ],
            vec!["$GPRTE,1,1,c,PLOT7,C1,C2,C3*00".to_owned()],
        );
        let id = SurveyStore::open(&path)
            .unwrap()
            .insert_candidate(&plot)
            .unwrap();
        let reopened = SurveyStore::open(&path).unwrap();
        assert_eq!(reopened.candidate(id).unwrap(), Some(plot));
        assert_eq!(reopened.candidate_ids().unwrap(), vec![id]);
        assert_eq!(reopened.candidate(id + 1).unwrap(), None);
    }

    #[test]
    fn close_plot_takes_open_marks_in_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        store
            .insert_mark("/dev/ttyUSB0", &corner("J1", 116.1))
            .unwrap();
        store
            .insert_mark("/dev/ttyUSB0", &corner("J2", 116.2))
            .unwrap();
        assert!(
            store.close_plot(None, None, None).is_err(),
            "two corners are no plot"
        );
        store
            .insert_mark("/dev/ttyUSB0", &corner("J3", 116.3))
            .unwrap();
        assert_eq!(
            (
                store.open_mark_count().unwrap(),
                store.candidate_count().unwrap()
            ),
            (3, 0)
        );
        let (id, plot) = store
            .close_plot(Some("wang-homestead"), None, Some(LandKind::Barren))
            .unwrap();
        assert_eq!(plot.source, Source::CornerCapture);
        assert_eq!(plot.land, Some(LandKind::Barren));
        assert_eq!(plot.device, "/dev/ttyUSB0");
        let names: Vec<String> = plot.corners.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["J1", "J2", "J3"]);
        assert_eq!(store.candidate(id).unwrap().unwrap(), plot);
        assert!(store.open_marks().unwrap().is_empty());
        assert_eq!(
            (
                store.open_mark_count().unwrap(),
                store.candidate_count().unwrap()
            ),
            (0, 1)
        );
    }

    #[test]
    fn holes_land_and_findings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        let mut plot = PlotCandidate::new(
            "地块1",
            Source::TxtImport,
            "plots.txt",
            vec![
                corner("J1", 116.1),
                corner("J2", 116.2),
                corner("J3", 116.3),
            ],
            Vec::new(),
        );
        plot.holes = vec![
            vec![
                corner("K1", 116.15),
                corner("K2", 116.16),
                corner("K3", 116.17),
            ],
            vec![
                corner("L1", 116.25),
                corner("L2", 116.26),
                corner("L3", 116.27),
            ],
        ];
        plot.land = Some(LandKind::Cultivated);
        plot.findings = vec![Finding::new(crate::plot::FindingKind::RingNotClosed {
            ring: 1,
        })];
        let records = store
            .insert_file_import(
                "plots.txt",
                "txt",
                b"[\xb5\xd8]",
                std::slice::from_ref(&plot),
                &[],
            )
            .unwrap();
        let id = records.plot_candidates[0];
        assert_eq!(store.candidate(id).unwrap().unwrap(), plot);
        let file = store.imported_file_of(id).unwrap().unwrap();
        assert_eq!(
            (file.format.as_str(), file.content.as_slice()),
            ("txt", &b"[\xb5\xd8]"[..])
        );
    }

    #[test]
    fn a_database_of_the_previous_schema_is_migrated_with_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO gpx_files (id, path, content) VALUES (1, 'Current.gpx', x'3c677078');
                 INSERT INTO plot_candidates (id, name, source, device, raw, gpx_file_id)
                 VALUES (1, 'WANG', 'gpx_import', 'Current.gpx', '', 1);
                 INSERT INTO corners (candidate_id, seq, name, lon, lat, sigma_m, fixes, raw)
                 VALUES (1, 0, 'C1', 116.1, 39.1, NULL, 1, 'rte[1]/rtept[1]'),
                        (1, 1, 'C2', 116.2, 39.1, NULL, 1, 'rte[1]/rtept[2]'),
                        (1, 2, 'C3', 116.2, 39.2, NULL, 1, 'rte[1]/rtept[3]');
                 INSERT INTO marks (name, device, lon, lat, sigma_m, fixes, raw, gpx_file_id)
                 VALUES ('J1', 'Current.gpx', 116.1, 39.1, NULL, 1, 'wpt[1]', 1);",
            )
            .unwrap();
        }
        let store = SurveyStore::open(&path).unwrap();
        let plot = store.candidate(1).unwrap().unwrap();
        assert_eq!(plot.corners.len(), 3);
        assert!(plot.holes.is_empty() && plot.land.is_none() && plot.findings.is_empty());
        let file = store.imported_file_of(1).unwrap().unwrap();
        assert_eq!(
            (
                file.path.as_str(),
                file.format.as_str(),
                file.content.as_slice()
            ),
            ("Current.gpx", "gpx", &b"<gpx"[..])
        );
        assert_eq!(file.refusal, None, "a file imported before was read");
        assert_eq!(store.open_marks().unwrap()[0].corner.raw, ["wpt[1]"]);
    }

    #[test]
    fn a_plot_is_closed_from_one_units_marks_never_an_imports_or_anothers() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        for (i, name) in ["J1", "J2", "J3"].into_iter().enumerate() {
            let step = i as f64 * 0.1;
            store
                .insert_mark("/dev/ttyUSB0", &corner(name, 116.1 + step))
                .unwrap();
            store
                .insert_mark("/dev/ttyUSB1", &corner(name, 117.1 + step))
                .unwrap();
        }
        let waypoints = [
            corner("W1", 118.1),
            corner("W2", 118.2),
            corner("W3", 118.3),
        ];
        store
            .insert_file_import("Current.gpx", "gpx", b"<gpx/>", &[], &waypoints)
            .unwrap();
        let err = store.close_plot(None, None, None).unwrap_err().to_string();
        assert!(
            err.contains("several units") && err.contains("/dev/ttyUSB1") && !err.contains("gpx"),
            "{err}"
        );
        let (_, one) = store
            .close_plot(Some("a"), Some("/dev/ttyUSB1"), None)
            .unwrap();
        assert!(one.corners.iter().all(|c| c.lon > 117.0 && c.lon < 118.0));
        assert_eq!(one.device, "/dev/ttyUSB1");
        // Only ttyUSB0's live marks are left to choose from: the import's are never mixed in.
        let (_, other) = store.close_plot(Some("b"), None, None).unwrap();
        assert!(other.corners.iter().all(|c| c.lon < 117.0), "{other:?}");
        assert!(store.close_plot(None, None, None).is_err());
        let (_, imported) = store.close_plot(None, Some("Current.gpx"), None).unwrap();
        assert_eq!(imported.source, Source::GpxImport);
        assert_eq!(imported.corners.len(), 3);
        assert_eq!(store.open_mark_count().unwrap(), 0);
    }

    #[test]
    fn a_route_recorded_before_is_recognised_and_a_changed_one_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let plot = PlotCandidate::new(
            "PLOT",
            Source::RouteTransfer,
            "/dev/ttyUSB0",
            vec![
                corner("C1", 116.1),
                corner("C2", 116.2),
                corner("C3", 116.3),
            ],
            vec![],
        );
        let first = SurveyStore::open(&path)
            .unwrap()
            .record_route(&plot)
            .unwrap();
        let RouteRecord::New(first) = first else {
            panic!("a first route is new")
        };
        // A restarted bridge (a new store handle) hears the route again, on another port.
        let mut store = SurveyStore::open(&path).unwrap();
        let again = PlotCandidate {
            device: "/dev/ttyUSB1".to_owned(),
            ..plot.clone()
        };
        assert_eq!(
            store.record_route(&again).unwrap(),
            RouteRecord::Known(first)
        );
        let mut moved = plot.clone();
        moved.corners[2].lat += 1e-7;
        assert!(matches!(store.record_route(&moved).unwrap(), RouteRecord::New(id) if id != first));
        assert_eq!(store.candidate_count().unwrap(), 2);
    }

    #[test]
    fn incomplete_routes_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        store
            .insert_incomplete_route(&IncompleteRoute {
                device: "/dev/ttyUSB0".to_owned(),
                route_id: "PLOT7".to_owned(),
                missing_sentences: vec![2],
                missing_waypoints: vec!["C4".to_owned()],
                raw: vec!["$GPRTE,2,1,c,PLOT7,C1*00".to_owned()],
            })
            .unwrap();
        assert_eq!(store.incomplete_route_count().unwrap(), 1);
    }
}
