//! The kiosk screen's figures (issue #9's goals in brackets):
//!
//! * frame time at 1920×1080 with the software renderer, the whole frame drawn (what a page
//!   change costs; a touch that changes one button redraws less): home, and the first page of
//!   the longest guide a release may carry [≤ 16 ms];
//! * cold start to the first frame: the real `kiosk` binary started on a mirror of 1,000,000
//!   cases, drawing its first frame into memory and exiting (`kiosk --first-frame`), process
//!   start to exit [≤ 250 ms];
//! * the proportional set size (PSS) of the whole `kiosk run` process — screen and data plane
//!   — in steady state on that mirror against a local egov-sim, under Xvfb (`apt-get install
//!   xvfb`; skipped, with a note, without it) [≤ 40 MB]; the data plane alone
//!   (`run --headless`) beside it.
//!
//! `cargo bench -p kiosk --bench ui`. The 1,000,000-case mirror is built once into
//! `target/bench-data/kiosk-ui-1000000/` (a minute or two) and reused.

#[allow(dead_code)]
mod common;
#[path = "../tests/common/loopback.rs"]
mod loopback;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::Criterion;
use kiosk::config::Config;
use kiosk::mirror::Mirror;
use kiosk::mirror::content::{ReleaseRows, replace};
use kiosk::ui::screenshots::{self, default_time};
use kiosk::ui::{AppAdapter, GuideAdapter, HomeAdapter, Kiosk, Service, clock};
use slint::ComponentHandle;
use slint::platform::software_renderer::PremultipliedRgbaColor;

const CASES: u64 = 1_000_000;

/// The longest guide a release may carry: seven sections just under 64 kB each.
fn longest_guide() -> protocol::items::Item {
    use protocol::items::{Guide, GuideSections, Item};
    // The contract's limit on one text is 64 KiB (docs/api.yaml): as many sentences as fit.
    let sentence = "宅基地申请须由本集体经济组织成员以户为单位提出，经村民小组讨论同意。";
    let section = sentence.repeat(64 * 1024 / sentence.len());
    let guide = Item::Guide(Guide {
        title: "农村宅基地审批办事指南（详版）".into(),
        category: "宅基地".into(),
        procedure: None,
        summary: Some("农村村民申请宅基地建设住宅，经乡镇审核批准。".into()),
        sections: GuideSections {
            acceptance_conditions: section.clone(),
            materials: section.clone(),
            process: section.clone(),
            time_limit: section.clone(),
            fees: section.clone(),
            legal_basis: section.clone(),
            phone: section,
        },
        phone_url: Some("tel:0735-4422110".into()),
        images: Vec::new(),
        updated_on: "2026-11-01".parse().unwrap(),
    });
    guide
        .validate()
        .expect("the guide is as long as a release allows, no longer");
    guide
}

/// Frame times of home and the longest guide, drawn whole into a 1920×1080 XRGB-sized buffer.
fn frames(c: &mut Criterion) {
    let window = kiosk::ui::headless::install().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = screenshots::example_config();
    config.data_dir = dir.path().join("data");
    screenshots::demo_data(&config, None, default_time()).unwrap();
    {
        let mut compiled = kiosk::content::sample::builtin();
        compiled
            .items
            .push(("guides/longest".into(), longest_guide()));
        let media = kiosk::content::verify::media_rows(&compiled);
        let mut mirror = Mirror::open(&config.mirror_path()).unwrap();
        let tx = mirror.conn_mut().transaction().unwrap();
        let release = ReleaseRows {
            version: Some(2),
            manifest_sha256: None,
            etag: None,
            items: &compiled.items,
            media: &media,
        };
        replace(&tx, &release, Utc::now()).unwrap();
        tx.commit().unwrap();
    }
    let kiosk = Kiosk::new(&config, clock::Clock::fixed(default_time(), clock::china())).unwrap();
    kiosk.follow_schedule(false);
    let ui = kiosk.window();
    ui.window().set_size(slint::PhysicalSize::new(1920, 1080));
    ui.show().unwrap();
    let mut buffer = vec![PremultipliedRgbaColor::default(); 1920 * 1080];
    let frame = |buffer: &mut [PremultipliedRgbaColor]| {
        window.request_redraw();
        let drawn = window.draw_if_needed(|renderer| {
            renderer.render(buffer, 1920);
        });
        assert!(drawn);
    };
    let mut group = c.benchmark_group("frame_1920x1080_software");
    group.sample_size(30);
    ui.global::<AppAdapter>().invoke_go_home();
    group.bench_function("home", |b| b.iter(|| frame(&mut buffer)));
    ui.global::<HomeAdapter>()
        .invoke_open_service(Service::Guides);
    ui.global::<GuideAdapter>()
        .invoke_open("guides/longest".into());
    assert!(ui.global::<GuideAdapter>().get_detail_pages() > 30);
    group.bench_function("longest_guide_page", |b| b.iter(|| frame(&mut buffer)));
    group.finish();
}

/// The 1,000,000-case mirror with the sample content, built once.
fn big_mirror() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(format!("kiosk-ui-{CASES}"));
    let path = dir.join("mirror.db");
    let ready = dir.join("ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        eprintln!(
            "building a mirror of {CASES} cases in {} (once)",
            dir.display()
        );
        let started = std::time::Instant::now();
        let mut mirror = common::mirror(&path, common::cases(CASES, Utc::now()), Utc::now());
        let took = started.elapsed();
        let store = kiosk::content::store::BlobStore::open(&dir.join("blobs")).unwrap();
        kiosk::content::install_sample_if_empty(&mut mirror, &store, Utc::now()).unwrap();
        eprintln!("built in {:.0} s", took.as_secs_f64());
        std::fs::write(&ready, b"").unwrap();
    }
    dir
}

/// A kiosk config on `data` against `upstream`, every loop at its usual pace.
fn write_config(at: &Path, data: &Path, upstream: &str, token: &str) -> PathBuf {
    let path = at.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "device_id = \"bench-kiosk\"\nhall_id = \"hn-czs-gyx\"\ndata_dir = \"{}\"\n\
             [upstream]\nurl = \"{upstream}\"\ntoken = \"{token}\"\n\
             [content]\ntrusted_keys = [\"HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=\"]\n\
             poll_interval_s = 10\n[sync]\ninterval_s = 5\n[heartbeat]\ninterval_s = 5\n",
            data.display()
        ),
    )
    .unwrap();
    path
}

fn kiosk_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kiosk")
}

fn cold_start(c: &mut Criterion, config: &Path) {
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("first_frame_1m_cases", |b| {
        b.iter(|| {
            let status = Command::new(kiosk_bin())
                .args(["--first-frame", "--config"])
                .arg(config)
                .env("RUST_LOG", "off")
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    group.finish();
}

/// PSS and RSS of a process, in kB (`/proc/PID/smaps_rollup`).
fn memory_kb(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Pss:"), field("Rss:"))
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The process's memory in steady state: sampled every 5 s for 30 s after a 30 s settling,
/// while the data plane syncs, polls and sends heartbeats; the largest sample.
fn steady_memory(child: &Child, label: &str) {
    std::thread::sleep(Duration::from_secs(30));
    let mut largest = (0, 0);
    for _ in 0..6 {
        let (pss, rss) = memory_kb(child.id());
        largest = largest.max((pss, rss));
        std::thread::sleep(Duration::from_secs(5));
    }
    println!(
        "{label}: PSS {:.1} MB, RSS {:.1} MB (largest of 6 samples in steady state)",
        largest.0 as f64 / 1024.0,
        largest.1 as f64 / 1024.0
    );
}

fn footprint(config: &Path) {
    if Command::new("Xvfb").arg("-help").output().is_err() {
        println!("footprint: skipped, Xvfb is not installed (apt-get install xvfb)");
        return;
    }
    let display = ":97";
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let run = |args: &[&str]| {
        Killed(
            Command::new(kiosk_bin())
                .args(args)
                .arg("--config")
                .arg(config)
                .env("DISPLAY", display)
                .env("SLINT_BACKEND", "winit-software")
                .env("RUST_LOG", "off")
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let ui = run(&["run"]);
    steady_memory(&ui.0, "kiosk run (screen and data plane)");
    drop(ui);
    let headless = run(&["run", "--headless"]);
    steady_memory(&headless.0, "kiosk run --headless (data plane alone)");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    // This (main) thread gets the headless platform; nothing after needs another.
    frames(&mut c);
    let data = big_mirror();
    let runtime = loopback::runtime(2);
    let sim_dir = tempfile::tempdir().unwrap();
    let options = <egov_sim::server::Options as clap::Parser>::parse_from([
        "egov-sim",
        "--data",
        sim_dir.path().to_str().unwrap(),
        "--cases",
        "2000",
    ]);
    let state = egov_sim::server::prepare(&options).unwrap();
    let token = state.provision_device("bench-kiosk", "hn-czs-gyx").unwrap();
    let url = loopback::serve(&runtime, state);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &data, &url, &token);
    Config::load(&config).expect("a valid bench config");
    let started = Instant::now();
    cold_start(&mut c, &config);
    eprintln!(
        "cold start measured in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    c.final_summary();
    footprint(&config);
}
