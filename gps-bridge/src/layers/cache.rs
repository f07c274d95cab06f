//! The layer cache's SQLite file: every live feature (as received, in lon/lat, and projected
//! into the site's plane), and per layer the feed cursor and when it was last read to its end.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use geo::MultiPolygon;
use protocol::layers::{FeatureChange, Layer, LayerChangesPage, LayerFeature};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use super::index::{CachedFeature, project_feature};
use super::{LayerFreshness, Plane};

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        "CREATE TABLE features (
            layer TEXT NOT NULL,
            id TEXT NOT NULL,
            -- The feature as the feed sent it (LayerFeature JSON, lon/lat).
            body TEXT NOT NULL,
            zone INTEGER NOT NULL,
            -- Its polygons in the plane of `zone` (JSON [[[[x, y], ...], ...], ...]).
            plane TEXT NOT NULL,
            PRIMARY KEY (layer, id)
        );
        CREATE TABLE cursors (
            layer TEXT PRIMARY KEY,
            after INTEGER NOT NULL,
            synced_at TEXT
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    )])
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What applying one page changed, for the in-memory index.
#[derive(Debug, Default)]
pub struct AppliedPage {
    pub upserted: Vec<CachedFeature>,
    pub deleted: Vec<(Layer, String)>,
    /// Features the page carried that are not polygons (kept out, counted).
    pub skipped: usize,
}

pub struct LayerCache {
    conn: Connection,
}

type PlaneRings = Vec<Vec<Vec<[f64; 2]>>>;

fn to_rings(shape: &MultiPolygon<f64>) -> PlaneRings {
    shape
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|ring| ring.0.iter().map(|c| [c.x, c.y]).collect())
                .collect()
        })
        .collect()
}

fn from_rings(rings: PlaneRings) -> MultiPolygon<f64> {
    MultiPolygon(
        rings
            .into_iter()
            .filter_map(|polygon| {
                let mut rings = polygon.into_iter().map(|ring| {
                    geo::LineString::from(ring.into_iter().map(|[x, y]| (x, y)).collect::<Vec<_>>())
                });
                let exterior = rings.next()?;
                Some(geo::Polygon::new(exterior, rings.collect()))
            })
            .collect(),
    )
}

impl LayerCache {
    /// Opens (creating) the cache. If it was projected otherwise than `plane` (the site's zone
    /// changed), every feature is projected again from its lon/lat.
    pub fn open(path: &Path, plane: &dyn Plane) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut conn =
            Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        // A cache of the upstream's layers: synchronous=NORMAL in WAL mode keeps it
        // consistent (a page and its cursor commit together) but may lose the last commits
        // on a power cut, which only means fetching those pages again. Nothing here is the
        // only copy of anything.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrations()
            .to_latest(&mut conn)
            .context("migrating the layer cache")?;
        let mut cache = LayerCache { conn };
        let projected_as: Option<String> = cache
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'plane'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if projected_as.as_deref() != Some(plane.describe().as_str()) {
            cache.reproject(plane)?;
        }
        Ok(cache)
    }

    fn reproject(&mut self, plane: &dyn Plane) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        let rows: Vec<(String, String, String)> = {
            let mut stmt = tx.prepare("SELECT layer, id, body FROM features")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        for (layer_name, id, body) in rows {
            let feature: LayerFeature = serde_json::from_str(&body)?;
            let layer = Layer::from_path(&layer_name).context("unknown layer in the cache")?;
            match project_feature(layer, feature, plane) {
                Some(f) => tx.execute(
                    "UPDATE features SET zone = ?3, plane = ?4 WHERE layer = ?1 AND id = ?2",
                    params![
                        layer_name,
                        id,
                        f.zone,
                        serde_json::to_string(&to_rings(&f.plane))?
                    ],
                )?,
                None => tx.execute(
                    "DELETE FROM features WHERE layer = ?1 AND id = ?2",
                    params![layer_name, id],
                )?,
            };
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('plane', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [plane.describe()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The cursor of `layer`: where the next page starts.
    pub fn cursor(&self, layer: Layer) -> anyhow::Result<u64> {
        Ok(self
            .conn
            .query_row(
                "SELECT after FROM cursors WHERE layer = ?1",
                [layer.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Applies one page with its cursor, in one transaction; `now` is recorded as the time the
    /// feed was read to its end when the page is its last.
    pub fn apply_page(
        &mut self,
        page: LayerChangesPage,
        plane: &dyn Plane,
        now: DateTime<Utc>,
    ) -> anyhow::Result<AppliedPage> {
        let layer = page.layer;
        let mut applied = AppliedPage::default();
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO features (layer, id, body, zone, plane) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (layer, id) DO UPDATE SET
                     body = excluded.body, zone = excluded.zone, plane = excluded.plane",
            )?;
            let mut delete =
                tx.prepare_cached("DELETE FROM features WHERE layer = ?1 AND id = ?2")?;
            for change in page.changes {
                match change {
                    FeatureChange::Upsert { feature, .. } => {
                        let body = serde_json::to_string(&feature)?;
                        let id = feature.id.clone();
                        match project_feature(layer, *feature, plane) {
                            Some(f) => {
                                upsert.execute(params![
                                    layer.as_str(),
                                    f.id,
                                    body,
                                    f.zone,
                                    serde_json::to_string(&to_rings(&f.plane))?
                                ])?;
                                applied.upserted.push(f);
                            }
                            None => {
                                // Not a polygon: it cannot overlap a plot. An earlier
                                // version of it must not linger either.
                                delete.execute(params![layer.as_str(), id])?;
                                applied.deleted.push((layer, id));
                                applied.skipped += 1;
                            }
                        }
                    }
                    FeatureChange::Delete { id, .. } => {
                        delete.execute(params![layer.as_str(), id])?;
                        applied.deleted.push((layer, id));
                    }
                }
            }
        }
        let synced_at = (!page.has_more).then(|| time(now));
        tx.execute(
            "INSERT INTO cursors (layer, after, synced_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (layer) DO UPDATE SET after = excluded.after,
                 synced_at = coalesce(excluded.synced_at, cursors.synced_at)",
            params![layer.as_str(), page.next_after, synced_at],
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// One cached feature as received.
    pub fn feature(&self, layer: Layer, id: &str) -> anyhow::Result<Option<LayerFeature>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM features WHERE layer = ?1 AND id = ?2",
                params![layer.as_str(), id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// Every cached feature, for the index.
    pub fn load(&self) -> anyhow::Result<Vec<CachedFeature>> {
        let mut stmt = self
            .conn
            .prepare("SELECT layer, body, zone, plane FROM features")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u8>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut features = Vec::new();
        for row in rows {
            let (layer, body, zone, plane) = row?;
            let layer = Layer::from_path(&layer).context("unknown layer in the cache")?;
            let feature: LayerFeature = serde_json::from_str(&body)?;
            let lonlat = super::index::lonlat_shape(&feature.geometry)
                .context("a cached feature is not a polygon")?;
            features.push(CachedFeature::new(
                layer,
                feature,
                lonlat,
                zone,
                from_rings(serde_json::from_str(&plane)?),
            ));
        }
        Ok(features)
    }

    /// Each layer's cursor, last full read and feature count.
    pub fn freshness(&self) -> anyhow::Result<Vec<LayerFreshness>> {
        Layer::ALL
            .into_iter()
            .map(|layer| {
                let (cursor, synced_at): (u64, Option<String>) = self
                    .conn
                    .query_row(
                        "SELECT after, synced_at FROM cursors WHERE layer = ?1",
                        [layer.as_str()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
                    .unwrap_or((0, None));
                let features: u64 = self.conn.query_row(
                    "SELECT count(*) FROM features WHERE layer = ?1",
                    [layer.as_str()],
                    |r| r.get(0),
                )?;
                Ok(LayerFreshness {
                    layer,
                    cursor,
                    synced_at: synced_at.map(|t| t.parse()).transpose()?,
                    features,
                })
            })
            .collect()
    }
}
