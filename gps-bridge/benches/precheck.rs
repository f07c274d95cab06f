//! The overlap pre-check (压覆) against 100,000 cached features, and the layer sync rate over
//! loopback from egov-sim.
//!
//! The township: 100,000 house parcels of 15–40 m, slightly rotated, on a 50 m grid around
//! 樟市镇 (zone 38), projected once into the plane as the cache keeps them. Each query is a
//! 12–25 m plot dropped at a random place (seeded) over the township, so it meets one to a few
//! parcels, as a homestead does. Criterion reports the mean; p50 and p99 come from 20,000
//! timed queries of their own, printed as `precheck p50/p99`.
//!
//! The sync: egov-sim (in process, on 127.0.0.1) serves the same 100,000 parcels as its
//! feed; a fresh cache reads them to the end (pages of 5,000, each committed with its
//! cursor, projected and indexed). Printed as `layer sync`, features per second.
//!
//! `cargo bench -p gps-bridge --bench precheck`

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use clap::Parser;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use geo::BoundingRect;
use gps_bridge::health::Health;
use gps_bridge::layers::index::{CachedFeature, project_feature, to_plane};
use gps_bridge::layers::sync::LayerSync;
use gps_bridge::layers::{LayerCache, LayerIndex, Plane, PlanePlot, SitePlane};
use gps_bridge::plot::{Zone, ZoneChoice};
use protocol::layers::{Layer, LayerFeature};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FEATURES: usize = 100_000;
const SIDE: usize = 317; // 317² ≈ 100,000
const GRID_M: f64 = 50.0;
const ORIGIN: (f64, f64) = (112.55, 25.80);
const M_PER_DEG_LAT: f64 = 110_780.0;

fn m_per_deg_lon() -> f64 {
    111_320.0 * ORIGIN.1.to_radians().cos()
}

/// A `w` × `h` m rectangle centred `east`, `north` metres from the origin, turned by `angle`.
fn ring(east: f64, north: f64, w: f64, h: f64, angle: f64) -> Vec<Vec<f64>> {
    let (sin, cos) = angle.sin_cos();
    let mut ring: Vec<Vec<f64>> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .map(|(sx, sy)| {
            let (x, y) = (sx * w / 2.0, sy * h / 2.0);
            vec![
                ORIGIN.0 + (east + x * cos - y * sin) / m_per_deg_lon(),
                ORIGIN.1 + (north + x * sin + y * cos) / M_PER_DEG_LAT,
            ]
        })
        .collect();
    ring.push(ring[0].clone());
    ring
}

fn township(rng: &mut StdRng) -> Vec<LayerFeature> {
    (0..FEATURES)
        .map(|i| {
            let (row, col) = ((i / SIDE) as f64, (i % SIDE) as f64);
            LayerFeature {
                id: format!("431021106{i:08}JC"),
                name: format!("宅基地宗地{i}"),
                holder: "王*".into(),
                geometry: geojson::Geometry::new_polygon([ring(
                    col * GRID_M,
                    row * GRID_M,
                    rng.random_range(15.0..40.0),
                    rng.random_range(15.0..40.0),
                    rng.random_range(-0.3..0.3),
                )]),
            }
        })
        .collect()
}

fn plane() -> SitePlane {
    SitePlane::new(ZoneChoice::Fixed(Zone::new(38).unwrap()))
}

fn random_plot(rng: &mut StdRng, plane: &SitePlane) -> PlanePlot {
    let extent = SIDE as f64 * GRID_M;
    let coords = ring(
        rng.random_range(0.0..extent),
        rng.random_range(0.0..extent),
        rng.random_range(12.0..25.0),
        rng.random_range(12.0..25.0),
        rng.random_range(-0.5..0.5),
    );
    let lonlat = geo::Polygon::new(
        geo::LineString::from(coords.iter().map(|c| (c[0], c[1])).collect::<Vec<_>>()),
        vec![],
    );
    let polygon = to_plane(&geo::MultiPolygon(vec![lonlat.clone()]), 38, plane)
        .unwrap()
        .0
        .remove(0);
    PlanePlot {
        zone: 38,
        polygon,
        lonlat_bounds: lonlat.bounding_rect().unwrap(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn precheck(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2026);
    let plane = plane();
    let features: Vec<CachedFeature> = township(&mut rng)
        .into_iter()
        .map(|f| project_feature(Layer::Parcels, f, &plane).unwrap())
        .collect();
    let index = LayerIndex::build(features, Vec::new());
    assert_eq!(index.len(), FEATURES);

    // Our own sample for the percentiles.
    let plots: Vec<PlanePlot> = (0..20_000).map(|_| random_plot(&mut rng, &plane)).collect();
    let mut found = 0;
    let mut timings: Vec<Duration> = plots
        .iter()
        .map(|plot| {
            let start = Instant::now();
            let result = index.precheck(plot, &plane);
            let elapsed = start.elapsed();
            found += result.overlaps.len();
            elapsed
        })
        .collect();
    timings.sort();
    println!(
        "precheck p50 {:?} p99 {:?} max {:?} over {} plots against {FEATURES} features ({:.2} overlaps per plot)",
        percentile(&timings, 0.5),
        percentile(&timings, 0.99),
        timings.last().unwrap(),
        timings.len(),
        found as f64 / timings.len() as f64
    );

    let mut next = 0;
    c.bench_function("precheck one plot against 100k features", |b| {
        b.iter(|| {
            next = (next + 1) % plots.len();
            index.precheck(&plots[next], &plane)
        })
    });
}

fn layer_sync(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2027);
    let features = township(&mut rng);
    let data = tempfile::tempdir().unwrap();
    let options = egov_sim::server::Options::parse_from([
        "egov-sim",
        "--data",
        data.path().to_str().unwrap(),
        "--cases",
        "10",
        "--lookup-cost",
        "demo",
    ]);
    let state = egov_sim::server::prepare(&options).unwrap();
    state
        .db
        .write(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM layer_features", [])?;
            {
                let mut insert = tx.prepare(
                    "INSERT INTO layer_features (layer, id, seq, body) VALUES ('parcels', ?1, ?2, ?3)",
                )?;
                for (seq, f) in (1..).zip(&features) {
                    insert.execute(rusqlite::params![f.id, seq, serde_json::to_string(f)?])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let token = state.provision_device("bench", "hn-gyx-zsz").unwrap();
    let url = egov_sim::server::serve_loopback(server.handle(), state).unwrap();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let plane: Arc<dyn Plane> = Arc::new(plane());
    let sync_into_fresh_cache = || {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(&dir.path().join("layers.db"), plane.as_ref()).unwrap();
        let sync = LayerSync {
            client: protocol::client::Client::with_token(&url, Some(&token)).unwrap(),
            cache: Arc::new(Mutex::new(cache)),
            index: Arc::new(RwLock::new(LayerIndex::default())),
            plane: plane.clone(),
            page_size: protocol::MAX_PAGE,
            health: Health::default(),
        };
        let start = Instant::now();
        let report = client.block_on(sync.sync_layer(Layer::Parcels)).unwrap();
        assert_eq!(report.upserts, FEATURES);
        start.elapsed()
    };
    let runs: Vec<Duration> = (0..3).map(|_| sync_into_fresh_cache()).collect();
    for elapsed in &runs {
        println!(
            "layer sync {FEATURES} features in {:.2} s: {:.0} features/s",
            elapsed.as_secs_f64(),
            FEATURES as f64 / elapsed.as_secs_f64()
        );
    }
    let mut group = c.benchmark_group("layer sync");
    group.sample_size(10);
    // One delivery (one sync) per sample: each takes seconds.
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("100k features over loopback", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| sync_into_fresh_cache()).sum())
    });
    group.finish();
}

criterion_group!(benches, precheck, layer_sync);
criterion_main!(benches);
