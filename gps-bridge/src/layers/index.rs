//! The cached features in memory: an R-tree (rstar) on their lon/lat bounds, and each one's
//! polygons already projected into the site's plane. A pre-check asks the tree for the
//! features whose bounds meet the plot's, then intersects the plot with each in the plane (geo's
//! boolean operations) for the area in common.

use std::borrow::Cow;
use std::collections::HashMap;

use geo::{Area, BooleanOps, BoundingRect, Intersects, MapCoords, MultiPolygon, Polygon, Rect};
use protocol::layers::{Layer, LayerFeature};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::cache::AppliedPage;
use super::{LayerFreshness, LayerOverlap, MIN_OVERLAP_M2, Plane, PreCheck};

/// A feature as the pre-check uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedFeature {
    pub layer: Layer,
    pub id: String,
    pub name: String,
    pub holder: String,
    /// As received: CGCS2000 lon/lat.
    pub lonlat: MultiPolygon<f64>,
    /// The zone `plane` is projected in.
    pub zone: u8,
    pub plane: MultiPolygon<f64>,
    bounds: Rect<f64>,
    plane_bounds: Rect<f64>,
}

impl CachedFeature {
    pub fn new(
        layer: Layer,
        feature: LayerFeature,
        lonlat: MultiPolygon<f64>,
        zone: u8,
        plane: MultiPolygon<f64>,
    ) -> Self {
        let empty = Rect::new((0.0, 0.0), (0.0, 0.0));
        CachedFeature {
            layer,
            id: feature.id,
            name: feature.name,
            holder: feature.holder,
            bounds: lonlat.bounding_rect().unwrap_or(empty),
            plane_bounds: plane.bounding_rect().unwrap_or(empty),
            lonlat,
            zone,
            plane,
        }
    }
}

/// A feature's polygons, if its geometry is a Polygon or MultiPolygon.
pub fn lonlat_shape(geometry: &geojson::Geometry) -> Option<MultiPolygon<f64>> {
    match geo::Geometry::<f64>::try_from(geometry).ok()? {
        geo::Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) if !m.0.is_empty() => Some(m),
        _ => None,
    }
}

/// `shape` in the plane of `zone`, if every corner projects.
pub fn to_plane(
    shape: &MultiPolygon<f64>,
    zone: u8,
    plane: &dyn Plane,
) -> Option<MultiPolygon<f64>> {
    shape
        .try_map_coords(|c| {
            plane
                .project(zone, c.x, c.y)
                .map(|(x, y)| geo::coord! { x: x, y: y })
                .ok_or(())
        })
        .ok()
}

/// A feed feature ready for the index: projected into its zone, or `None` if it is not a
/// polygon (or does not project).
pub fn project_feature(
    layer: Layer,
    feature: LayerFeature,
    plane: &dyn Plane,
) -> Option<CachedFeature> {
    let lonlat = lonlat_shape(&feature.geometry)?;
    let first = lonlat.0.first()?.exterior().0.first()?;
    let zone = plane.zone_of(first.x, first.y);
    let projected = to_plane(&lonlat, zone, plane)?;
    Some(CachedFeature::new(layer, feature, lonlat, zone, projected))
}

/// A plot as the pre-check takes it: its polygon in the plane of `zone`, and its lon/lat
/// bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanePlot {
    pub zone: u8,
    pub polygon: Polygon<f64>,
    pub lonlat_bounds: Rect<f64>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn entry(bounds: Rect<f64>, slot: usize) -> Entry {
    GeomWithData::new(
        Rectangle::from_corners(bounds.min().x_y().into(), bounds.max().x_y().into()),
        slot,
    )
}

#[derive(Default)]
pub struct LayerIndex {
    slots: Vec<Option<CachedFeature>>,
    free: Vec<usize>,
    by_id: HashMap<(Layer, String), usize>,
    tree: RTree<Entry>,
    freshness: Vec<LayerFreshness>,
}

impl LayerIndex {
    pub fn build(features: Vec<CachedFeature>, freshness: Vec<LayerFreshness>) -> Self {
        let entries: Vec<Entry> = (0..)
            .zip(&features)
            .map(|(i, f)| entry(f.bounds, i))
            .collect();
        let by_id = (0..)
            .zip(&features)
            .map(|(i, f)| ((f.layer, f.id.clone()), i))
            .collect();
        LayerIndex {
            slots: features.into_iter().map(Some).collect(),
            free: Vec::new(),
            by_id,
            tree: RTree::bulk_load(entries),
            freshness,
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn remove(&mut self, layer: Layer, id: &str) {
        if let Some(slot) = self.by_id.remove(&(layer, id.to_owned()))
            && let Some(old) = self.slots[slot].take()
        {
            self.tree.remove(&entry(old.bounds, slot));
            self.free.push(slot);
        }
    }

    /// Takes in what one applied page changed.
    pub fn apply(&mut self, applied: AppliedPage, freshness: Vec<LayerFreshness>) {
        for (layer, id) in &applied.deleted {
            self.remove(*layer, id);
        }
        for feature in applied.upserted {
            self.remove(feature.layer, &feature.id);
            let slot = self.free.pop().unwrap_or(self.slots.len());
            self.tree.insert(entry(feature.bounds, slot));
            self.by_id.insert((feature.layer, feature.id.clone()), slot);
            if slot == self.slots.len() {
                self.slots.push(Some(feature));
            } else {
                self.slots[slot] = Some(feature);
            }
        }
        self.freshness = freshness;
    }

    pub fn freshness(&self) -> &[LayerFreshness] {
        &self.freshness
    }

    /// Every cached feature `plot` overlaps, with the area in common, and the cache's
    /// freshness. A feature kept in another zone than the plot's (only near a zone edge with
    /// `zone = "auto"`) is projected into the plot's for the test.
    pub fn precheck(&self, plot: &PlanePlot, plane: &dyn Plane) -> PreCheck {
        let (min, max) = (plot.lonlat_bounds.min(), plot.lonlat_bounds.max());
        let envelope = AABB::from_corners([min.x, min.y], [max.x, max.y]);
        let Some(plot_bounds) = plot.polygon.bounding_rect() else {
            return PreCheck {
                overlaps: Vec::new(),
                freshness: self.freshness.clone(),
            };
        };
        let mut overlaps: Vec<LayerOverlap> = self
            .tree
            .locate_in_envelope_intersecting(&envelope)
            .filter_map(|e| self.slots[e.data].as_ref())
            .filter_map(|f| {
                let shape = if f.zone == plot.zone {
                    if !f.plane_bounds.intersects(&plot_bounds) {
                        return None;
                    }
                    Cow::Borrowed(&f.plane)
                } else {
                    Cow::Owned(to_plane(&f.lonlat, plot.zone, plane)?)
                };
                let area = plot.polygon.intersection(shape.as_ref()).unsigned_area();
                (area >= MIN_OVERLAP_M2).then(|| LayerOverlap {
                    layer: f.layer,
                    feature_id: f.id.clone(),
                    name: f.name.clone(),
                    holder: f.holder.clone(),
                    area_m2: area,
                })
            })
            .collect();
        overlaps.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
        PreCheck {
            overlaps,
            freshness: self.freshness.clone(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::cache::LayerCache;
    use protocol::layers::{FeatureChange, LayerChangesPage};

    /// A local plane for tests: metres east and north of 112.6°E 25.8°N, one "zone" per
    /// whole degree of longitude (to exercise features kept in another zone).
    pub struct TestPlane {
        pub auto: bool,
    }

    impl Plane for TestPlane {
        fn zone_of(&self, lon: f64, _lat: f64) -> u8 {
            if self.auto { lon as u8 } else { 112 }
        }
        fn project(&self, zone: u8, lon: f64, lat: f64) -> Option<(f64, f64)> {
            let k = 111_320.0 * 25.8_f64.to_radians().cos();
            Some(((lon - f64::from(zone)) * k + 500_000.0, lat * 110_574.0))
        }
        fn describe(&self) -> String {
            format!("test auto={}", self.auto)
        }
    }

    /// A square of `side` metres with its south-west corner at (`lon`, `lat`).
    pub fn square(lon: f64, lat: f64, side: f64) -> Vec<[f64; 2]> {
        let (dlon, dlat) = (
            side / (111_320.0 * 25.8_f64.to_radians().cos()),
            side / 110_574.0,
        );
        vec![
            [lon, lat],
            [lon + dlon, lat],
            [lon + dlon, lat + dlat],
            [lon, lat + dlat],
            [lon, lat],
        ]
    }

    pub fn upsert(seq: u64, id: &str, ring: Vec<[f64; 2]>) -> FeatureChange {
        FeatureChange::Upsert {
            seq,
            feature: Box::new(LayerFeature {
                id: id.into(),
                name: format!("宗地 {id}"),
                holder: "王*".into(),
                geometry: geojson::Geometry::new_polygon([ring
                    .into_iter()
                    .map(|c| c.to_vec())
                    .collect::<Vec<_>>()]),
            }),
        }
    }

    pub fn plot(ring: &[[f64; 2]], plane: &dyn Plane) -> PlanePlot {
        let lonlat = Polygon::new(
            geo::LineString::from(ring.iter().map(|c| (c[0], c[1])).collect::<Vec<_>>()),
            vec![],
        );
        let zone = plane.zone_of(ring[0][0], ring[0][1]);
        let polygon = to_plane(&MultiPolygon(vec![lonlat.clone()]), zone, plane)
            .unwrap()
            .0
            .remove(0);
        PlanePlot {
            zone,
            polygon,
            lonlat_bounds: lonlat.bounding_rect().unwrap(),
        }
    }

    fn page(layer: Layer, changes: Vec<FeatureChange>, has_more: bool) -> LayerChangesPage {
        let next_after = changes.last().map_or(0, FeatureChange::seq);
        LayerChangesPage {
            layer,
            changes,
            next_after,
            has_more,
        }
    }

    #[test]
    fn overlaps_are_found_with_their_area_and_updates_and_deletes_apply() {
        let dir = tempfile::tempdir().unwrap();
        let plane = TestPlane { auto: false };
        let mut cache = LayerCache::open(&dir.path().join("layers.db"), &plane).unwrap();
        let now = chrono::Utc::now();
        let (lon, lat) = (112.62, 25.87);
        let applied = cache
            .apply_page(
                page(
                    Layer::Parcels,
                    vec![
                        // Half under the plot, then one far away.
                        upsert(1, "P1", square(lon + 10.0 / 100_190.0, lat, 20.0)),
                        upsert(2, "P2", square(lon + 0.01, lat, 20.0)),
                    ],
                    true,
                ),
                &plane,
                now,
            )
            .unwrap();
        let mut index = LayerIndex::build(Vec::new(), cache.freshness().unwrap());
        index.apply(applied, cache.freshness().unwrap());
        let plot = plot(&square(lon, lat, 20.0), &plane);
        let found = index.precheck(&plot, &plane);
        assert_eq!(found.overlaps.len(), 1, "{found:?}");
        assert_eq!(found.overlaps[0].feature_id, "P1");
        assert!((found.overlaps[0].area_m2 - 200.0).abs() < 1.0, "{found:?}");
        // Not read to its end yet: the result says so.
        assert_eq!(found.freshness[0].synced_at, None);
        assert_eq!(found.freshness[0].features, 2);

        // P1 moves fully under the plot; P2 is deleted; the feed is read to its end.
        let applied = cache
            .apply_page(
                page(
                    Layer::Parcels,
                    vec![
                        upsert(3, "P1", square(lon, lat, 20.0)),
                        FeatureChange::Delete {
                            seq: 4,
                            id: "P2".into(),
                        },
                    ],
                    false,
                ),
                &plane,
                now,
            )
            .unwrap();
        index.apply(applied, cache.freshness().unwrap());
        assert_eq!(index.len(), 1);
        let found = index.precheck(&plot, &plane);
        assert!((found.overlaps[0].area_m2 - 400.0).abs() < 1.0);
        assert!(found.freshness[0].synced_at.is_some());
        assert_eq!(cache.cursor(Layer::Parcels).unwrap(), 4);

        // Reopened (a restart): the same index from the cache alone, offline.
        drop(cache);
        let cache = LayerCache::open(&dir.path().join("layers.db"), &plane).unwrap();
        let index = LayerIndex::build(cache.load().unwrap(), cache.freshness().unwrap());
        assert_eq!(index.precheck(&plot, &plane).overlaps, found.overlaps);
    }

    #[test]
    fn a_feature_kept_in_another_zone_is_projected_into_the_plots() {
        let dir = tempfile::tempdir().unwrap();
        let plane = TestPlane { auto: true };
        let mut cache = LayerCache::open(&dir.path().join("layers.db"), &plane).unwrap();
        // A parcel straddling the zone edge at 113°E, its first corner in zone 112; the plot
        // starts east of the edge, in zone 113.
        let applied = cache
            .apply_page(
                page(
                    Layer::MiningRights,
                    vec![upsert(1, "M1", square(112.9999, 25.8, 40.0))],
                    false,
                ),
                &plane,
                chrono::Utc::now(),
            )
            .unwrap();
        assert_eq!(applied.upserted[0].zone, 112);
        let index = LayerIndex::build(applied.upserted, cache.freshness().unwrap());
        let plot = plot(&square(113.00001, 25.8, 10.0), &plane);
        assert_eq!(plot.zone, 113);
        let found = index.precheck(&plot, &plane);
        assert_eq!(found.overlaps.len(), 1, "{found:?}");
        assert_eq!(found.overlaps[0].layer, Layer::MiningRights);
        assert!((found.overlaps[0].area_m2 - 100.0).abs() < 1.0, "{found:?}");
    }

    #[test]
    fn a_feature_that_is_not_a_polygon_is_left_out_and_an_old_version_removed() {
        let dir = tempfile::tempdir().unwrap();
        let plane = TestPlane { auto: false };
        let mut cache = LayerCache::open(&dir.path().join("layers.db"), &plane).unwrap();
        let now = chrono::Utc::now();
        cache
            .apply_page(
                page(
                    Layer::Parcels,
                    vec![upsert(1, "P1", square(112.6, 25.8, 20.0))],
                    false,
                ),
                &plane,
                now,
            )
            .unwrap();
        let point = FeatureChange::Upsert {
            seq: 2,
            feature: Box::new(LayerFeature {
                id: "P1".into(),
                name: "a point".into(),
                holder: String::new(),
                geometry: geojson::Geometry::new_point([112.6, 25.8]),
            }),
        };
        let applied = cache
            .apply_page(page(Layer::Parcels, vec![point], false), &plane, now)
            .unwrap();
        assert_eq!((applied.skipped, applied.deleted.len()), (1, 1));
        assert!(cache.load().unwrap().is_empty());
    }
}
