//! Delivery through faults: 200 checked plots in a fresh outbox, delivered by the uploader to
//! egov-sim (in process, 127.0.0.1) that fails 30 % of requests and cuts 10 % of its answers
//! short after doing the work (`--fail-rate 0.3 --drop-rate 0.1`, seeded), against the same
//! with no faults as the baseline, measured in the same run. The backoff is shortened (10 ms
//! doubling to 100 ms) so the figure is the bridge's and the upstream's work, not the waits a
//! real deployment chooses. Printed: plots/s, retries per plot, and the ratio to the baseline.
//!
//! `cargo bench -p gps-bridge --bench delivery`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use gps_bridge::health::Health;
use gps_bridge::outbox::upload::{UploadSettings, Uploader};
use gps_bridge::outbox::{NewPlot, Outbox, PlotChecks};
use gps_bridge::plot::{AreaLimits, LandKind, PlotSettings, ZoneChoice};
use gps_bridge::survey::{Corner, PlotCandidate, Source};
use protocol::backoff::Backoff;
use protocol::plots::{Corner as WireCorner, PlotSubmission};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{Notify, watch};

const PLOTS: usize = 200;

fn settings() -> PlotSettings {
    PlotSettings {
        zone: ZoneChoice::Auto,
        max_corner_sigma_m: 5.0,
        far_corner_m: 1000.0,
        max_meridian_offset_deg: 1.6,
        area_limits: AreaLimits {
            cultivated_m2: 130.0,
            other_m2: 180.0,
            barren_m2: 210.0,
        },
        default_land: LandKind::Other,
    }
}

/// Plot `n`: a 12 × 10 m homestead in a row west of 樟市镇.
fn plot(n: usize) -> NewPlot {
    let (lon, lat) = (112.55 + n as f64 * 0.0003, 25.86);
    let (dlon, dlat) = (12.0 / 100_200.0, 10.0 / 110_700.0);
    let corners = [(0.0, 0.0), (dlon, 0.0), (dlon, dlat), (0.0, dlat)]
        .iter()
        .enumerate()
        .map(|(i, (x, y))| Corner {
            name: format!("J{}", i + 1),
            lon: lon + x,
            lat: lat + y,
            sigma_m: Some(2.0),
            fixes: 30,
            raw: Vec::new(),
        })
        .collect();
    let candidate = PlotCandidate::new(
        format!("plot {n}"),
        Source::CornerCapture,
        "bench",
        corners,
        vec![],
    );
    let report = gps_bridge::plot::check(&candidate, &settings(), &[]);
    let checked = report.checked().expect("a rectangle passes the checks");
    let submission = PlotSubmission {
        survey_id: format!("bench-c{n}"),
        device_id: "bench".into(),
        office_id: "hn-gyx-zsz".into(),
        name: checked.name.clone(),
        surveyed_at: Utc::now(),
        corners: checked
            .shell
            .iter()
            .map(|c| WireCorner {
                name: c.name.clone(),
                lon: c.lon,
                lat: c.lat,
                sigma_m: c.sigma_m,
                fixes: c.fixes,
            })
            .collect(),
        holes: vec![],
        area_m2: Some(checked.areas.area_m2),
        area_uncertainty_m2: checked.areas.area_sigma_m2,
        warnings: vec![],
    };
    NewPlot {
        candidate_id: n as i64 + 1,
        name: checked.name.clone(),
        area_m2: Some(checked.areas.area_m2),
        area_sigma_m2: checked.areas.area_sigma_m2,
        duplicate_of: None,
        submission: Some(submission),
        checks: PlotChecks {
            report: report.clone(),
            precheck: None,
        },
    }
}

/// Delivers `PLOTS` plots to a fresh egov-sim with `faults`; (elapsed, attempts made).
fn deliver(faults: &[&str], seed: u64) -> (Duration, u64) {
    let data = tempfile::tempdir().unwrap();
    let mut argv = vec![
        "egov-sim",
        "--data",
        data.path().to_str().unwrap(),
        "--cases",
        "10",
        "--lookup-cost",
        "demo",
    ];
    argv.extend_from_slice(faults);
    let seed_text = seed.to_string();
    argv.extend_from_slice(&["--seed", &seed_text]);
    let state = egov_sim::server::prepare(&egov_sim::server::Options::parse_from(argv)).unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let token = state.provision_device("bench", "hn-gyx-zsz").unwrap();
    let url = egov_sim::server::serve_loopback(server.handle(), state).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Mutex::new(
        Outbox::open(&dir.path().join("outbox.db")).unwrap(),
    ));
    for n in 0..PLOTS {
        outbox.lock().unwrap().insert(&plot(n), Utc::now()).unwrap();
    }
    let mut uploader = Uploader::new(
        protocol::client::Client::with_token(&url, Some(&token)).unwrap(),
        outbox.clone(),
        UploadSettings {
            backoff: Backoff {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(100),
            },
        },
        Arc::new(Notify::new()),
        Health::default(),
    );
    uploader.rng = StdRng::seed_from_u64(seed);
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let watched = outbox.clone();
    let start = Instant::now();
    client.block_on(async move {
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(uploader.run(stop));
        while watched.lock().unwrap().counts().unwrap().pending > 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    });
    let elapsed = start.elapsed();
    let outbox = outbox.lock().unwrap();
    assert_eq!(outbox.counts().unwrap().delivered, PLOTS as u32);
    let attempts: u64 = outbox
        .recent(PLOTS as u32)
        .unwrap()
        .iter()
        .map(|p| u64::from(p.attempts))
        .sum();
    (elapsed, attempts)
}

fn delivery(c: &mut Criterion) {
    let runs = 3;
    let mut rates = [0.0f64; 2];
    for (i, (label, faults)) in [
        ("no faults (baseline)", &[][..]),
        (
            "--fail-rate 0.3 --drop-rate 0.1",
            &["--fail-rate", "0.3", "--drop-rate", "0.1"][..],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for seed in 1..=runs {
            let (elapsed, attempts) = deliver(faults, seed);
            let rate = PLOTS as f64 / elapsed.as_secs_f64();
            rates[i] += rate / runs as f64;
            println!(
                "delivery {label}, seed {seed}: {PLOTS} plots in {:.2} s, {rate:.0} plots/s, {:.2} retries per plot",
                elapsed.as_secs_f64(),
                (attempts - PLOTS as u64) as f64 / PLOTS as f64
            );
        }
    }
    println!(
        "delivery under faults: {:.0} plots/s against {:.0} without, {:.2}x",
        rates[1],
        rates[0],
        rates[1] / rates[0]
    );
    let mut group = c.benchmark_group("delivery");
    group.sample_size(10);
    // One delivery (one sync) per sample: each takes seconds.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("200 plots, 30% failures and 10% drops", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|i| deliver(&["--fail-rate", "0.3", "--drop-rate", "0.1"], i + 10).0)
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, delivery);
criterion_main!(benches);
