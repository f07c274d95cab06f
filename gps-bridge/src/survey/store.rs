//! Durable survey records in SQLite. Every record is committed before anything acknowledges
//! it; the raw sentences behind each corner are stored with it for audit.

use std::path::Path;

use anyhow::{Context, bail};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};

use super::{Corner, IncompleteRoute, MIN_CORNERS, PlotCandidate, Source};

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
    ])
}

/// What one GPX import recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpxRecords {
    pub gpx_file: i64,
    pub plot_candidates: Vec<i64>,
    pub marks: Vec<i64>,
}

/// A mark waiting for `close-plot`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredMark {
    pub id: i64,
    /// The unit's port, or the GPX file's path.
    pub device: String,
    pub corner: Corner,
    /// A waypoint recorded by a GPX import, not marked live.
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
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut conn =
            Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        // WAL + FULL: a committed record survives a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations()
            .to_latest(&mut conn)
            .context("migrating the survey database")?;
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

    /// Records a GPX file (its bytes, once) with the routes and waypoints read from it, all
    /// in one transaction.
    pub fn insert_gpx_import(
        &mut self,
        path: &str,
        content: &[u8],
        routes: &[PlotCandidate],
        waypoints: &[Corner],
    ) -> anyhow::Result<GpxRecords> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO gpx_files (path, content) VALUES (?1, ?2)",
            params![path, content],
        )?;
        let gpx_file = tx.last_insert_rowid();
        let plot_candidates = routes
            .iter()
            .map(|plot| insert_candidate(&tx, plot, Some(gpx_file)))
            .collect::<anyhow::Result<_>>()?;
        let marks = waypoints
            .iter()
            .map(|corner| insert_mark(&tx, path, corner, Some(gpx_file)))
            .collect::<anyhow::Result<_>>()?;
        tx.commit()?;
        Ok(GpxRecords {
            gpx_file,
            plot_candidates,
            marks,
        })
    }

    /// The GPX file a plot candidate was imported from, as it was: path and bytes.
    pub fn gpx_file_of(&self, candidate_id: i64) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT f.path, f.content FROM plot_candidates c JOIN gpx_files f
                 ON f.id = c.gpx_file_id WHERE c.id = ?1",
                [candidate_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
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
            "SELECT id, device, name, lon, lat, sigma_m, fixes, raw, gpx_file_id FROM marks
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

    /// Turns one unit's open marks into a plot candidate, in one transaction. A mark belongs
    /// to the unit it was taken with: `device` names the unit's port (or a GPX import's path,
    /// for the waypoints it recorded); without it, the one unit with open marks taken live.
    /// Waypoints a GPX import recorded are only ever closed by naming the file.
    pub fn close_plot(
        &mut self,
        name: Option<&str>,
        device: Option<&str>,
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
                    [] => bail!("a plot needs at least 3 marked corners, 0 marked"),
                    several => bail!(
                        "marks of several units are open ({}): name one with --port",
                        several.join(", ")
                    ),
                }
            }
        };
        let marks: Vec<&StoredMark> = open.iter().filter(|m| m.device == device).collect();
        if marks.len() < MIN_CORNERS {
            bail!(
                "a plot needs at least 3 marked corners, {} marked on {device}",
                marks.len()
            );
        }
        let tx = self.conn.transaction()?;
        let fallback_name = format!("plot-{}", marks[0].id);
        let plot = PlotCandidate {
            name: name.map_or(fallback_name, str::to_owned),
            source: if marks[0].imported {
                Source::GpxImport
            } else {
                Source::CornerCapture
            },
            device,
            corners: marks.iter().map(|m| m.corner.clone()).collect(),
            raw: Vec::new(),
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
    /// the same name and the same corners at the same positions, bit for bit. A handheld sends
    /// its active route over and over; a restarted bridge hears it again and must not take it
    /// for a new survey.
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
                "SELECT name, source, device, raw FROM plot_candidates WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, source, device, raw)) = head else {
            return Ok(None);
        };
        let source = Source::from_name(&source)
            .with_context(|| format!("plot candidate {id}: unknown source {source}"))?;
        let mut stmt = self.conn.prepare(
            "SELECT name, lon, lat, sigma_m, fixes, raw FROM corners
             WHERE candidate_id = ?1 ORDER BY seq",
        )?;
        let corners = stmt
            .query_map([id], |r| {
                Ok(Corner {
                    name: r.get(0)?,
                    lon: r.get(1)?,
                    lat: r.get(2)?,
                    sigma_m: r.get(3)?,
                    fixes: r.get(4)?,
                    raw: split_raw(r.get(5)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(PlotCandidate {
            name,
            source,
            device,
            corners,
            raw: split_raw(raw),
        }))
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

fn insert_mark(
    conn: &Connection,
    device: &str,
    corner: &Corner,
    gpx_file: Option<i64>,
) -> anyhow::Result<i64> {
    conn.execute(
        "INSERT INTO marks (name, device, lon, lat, sigma_m, fixes, raw, gpx_file_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            corner.name,
            device,
            corner.lon,
            corner.lat,
            corner.sigma_m,
            corner.fixes,
            join_raw(&corner.raw),
            gpx_file
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn insert_candidate(
    tx: &Transaction<'_>,
    plot: &PlotCandidate,
    gpx_file: Option<i64>,
) -> anyhow::Result<i64> {
    tx.execute(
        "INSERT INTO plot_candidates (name, source, device, raw, gpx_file_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            plot.name,
            plot.source.name(),
            plot.device,
            join_raw(&plot.raw),
            gpx_file
        ],
    )?;
    let id = tx.last_insert_rowid();
    for (seq, c) in plot.corners.iter().enumerate() {
        tx.execute(
            "INSERT INTO corners (candidate_id, seq, name, lon, lat, sigma_m, fixes, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                seq as i64,
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
    fn candidates_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("survey.db");
        let plot = PlotCandidate {
            name: "PLOT7".to_owned(),
            source: Source::RouteTransfer,
            device: "/dev/ttyUSB0".to_owned(),
            corners: vec![
                corner("C1", 116.1),
                corner("C2", 116.2),
                corner("C3", 116.3),
            ],
            raw: vec!["$GPRTE,1,1,c,PLOT7,C1,C2,C3*00".to_owned()],
        };
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
            store.close_plot(None, None).is_err(),
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
        let (id, plot) = store.close_plot(Some("wang-homestead"), None).unwrap();
        assert_eq!(plot.source, Source::CornerCapture);
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
    fn a_plot_is_closed_from_one_units_marks_never_an_imports_or_anothers() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("s.db")).unwrap();
        for (i, name) in ["J1", "J2", "J3"].into_iter().enumerate() {
            store
                .insert_mark("/dev/ttyUSB0", &corner(name, 116.1 + i as f64 * 0.1))
                .unwrap();
            store
                .insert_mark("/dev/ttyUSB1", &corner(name, 117.1 + i as f64 * 0.1))
                .unwrap();
        }
        let waypoints = [
            corner("W1", 118.1),
            corner("W2", 118.2),
            corner("W3", 118.3),
        ];
        store
            .insert_gpx_import("Current.gpx", b"<gpx/>", &[], &waypoints)
            .unwrap();
        let err = store.close_plot(None, None).unwrap_err().to_string();
        assert!(
            err.contains("several units") && err.contains("/dev/ttyUSB1") && !err.contains("gpx"),
            "{err}"
        );
        let (_, one) = store.close_plot(Some("a"), Some("/dev/ttyUSB1")).unwrap();
        assert!(one.corners.iter().all(|c| c.lon > 117.0 && c.lon < 118.0));
        assert_eq!(one.device, "/dev/ttyUSB1");
        // Only ttyUSB0's live marks are left to choose from: the import's are never mixed in.
        let (_, other) = store.close_plot(Some("b"), None).unwrap();
        assert!(other.corners.iter().all(|c| c.lon < 117.0), "{other:?}");
        assert!(store.close_plot(None, None).is_err());
        let (_, imported) = store.close_plot(None, Some("Current.gpx")).unwrap();
        assert_eq!(imported.source, Source::GpxImport);
        assert_eq!(imported.corners.len(), 3);
        assert_eq!(store.open_mark_count().unwrap(), 0);
    }

    #[test]
    fn a_route_recorded_before_is_recognised_and_a_changed_one_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let plot = PlotCandidate {
            name: "PLOT".to_owned(),
            source: Source::RouteTransfer,
            device: "/dev/ttyUSB0".to_owned(),
            corners: vec![
                corner("C1", 116.1),
                corner("C2", 116.2),
                corner("C3", 116.3),
            ],
            raw: vec![],
        };
        let RouteRecord::New(first) = SurveyStore::open(&path)
            .unwrap()
            .record_route(&plot)
            .unwrap()
        else {
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
