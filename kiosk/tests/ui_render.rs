//! What the screens look like: every screen drawn headless by the software renderer (the
//! same code as `kiosk --screenshots`) and compared with the golden images kept in
//! `kiosk/tests/golden/` (at half size, see `snapshot::half`), with a tolerance; and touch input turned with the picture for every
//! rotation, checked against the renderer's own rotation.
//!
//! After an intended change of the look, render the goldens again and look at them:
//!
//! ```sh
//! KIOSK_UPDATE_GOLDEN=1 cargo test -p kiosk --test ui_render
//! ```

mod ui_support;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use kiosk::config::Rotation;
use kiosk::ui::screenshots::{self, Options};
use kiosk::ui::{HomeAdapter, Kiosk, Service, clock, rotation, snapshot};
use slint::platform::software_renderer::{
    MinimalSoftwareWindow, RenderingRotation, RepaintBufferType,
};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Pixels whose channels differ by more than this count as different (anti-aliasing of a
/// glyph edge differs by less).
const CHANNEL_TOLERANCE: u8 = 48;
/// A screen matches its golden when at most this share of its pixels differ.
const PIXEL_SHARE: f64 = 0.002;

/// The share of pixels of `a` and `b` (same size) that differ.
fn difference(a: &[u8], b: &[u8]) -> f64 {
    let differing = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE)
        })
        .count();
    differing as f64 / (a.len() / 3) as f64
}

#[test]
fn every_screen_matches_its_golden_image() {
    let update = std::env::var_os("KIOSK_UPDATE_GOLDEN").is_some();
    let out = tempfile::tempdir().unwrap();
    let rendered_dir = if update {
        golden_dir()
    } else {
        out.path().to_owned()
    };
    let options = Options {
        out: rendered_dir.clone(),
        config: None,
        release: None,
        only: Vec::new(),
        at: screenshots::default_time(),
        small: true,
    };
    let written = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || screenshots::render(&options).unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert!(written.len() >= 40, "{} screens", written.len());
    if update {
        eprintln!(
            "wrote {} golden images to {}",
            written.len(),
            golden_dir().display()
        );
        return;
    }
    let mut golden: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    golden.sort();
    let mut rendered: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    rendered.sort();
    assert_eq!(
        rendered, golden,
        "screens without a golden image, or goldens of no screen"
    );
    let mut failures = Vec::new();
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-mismatch");
    for name in &rendered {
        let (w, h, got) =
            snapshot::decode(&std::fs::read(rendered_dir.join(name)).unwrap()).unwrap();
        let (gw, gh, want) =
            snapshot::decode(&std::fs::read(golden_dir().join(name)).unwrap()).unwrap();
        let share = if (w, h) == (gw, gh) {
            difference(&got, &want)
        } else {
            1.0
        };
        if share > PIXEL_SHARE {
            std::fs::create_dir_all(&kept).unwrap();
            std::fs::copy(rendered_dir.join(name), kept.join(name)).unwrap();
            failures.push(format!("{name}: {:.2} % of pixels differ", share * 100.0));
        }
    }
    assert!(
        failures.is_empty(),
        "{} screens differ from their goldens (the renders are in {}; \
         KIOSK_UPDATE_GOLDEN=1 renders the goldens again):\n{}",
        failures.len(),
        kept.display(),
        failures.join("\n")
    );
}

/// One window drawn into memory, with the rotation the renderer is asked for.
struct RotatingPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for RotatingPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

fn rendering(rotation: Rotation) -> RenderingRotation {
    match rotation {
        Rotation::R0 => RenderingRotation::NoRotation,
        Rotation::R90 => RenderingRotation::Rotate90,
        Rotation::R180 => RenderingRotation::Rotate180,
        Rotation::R270 => RenderingRotation::Rotate270,
    }
}

/// Draws the window into a `width`×`height` buffer with `rotation`.
fn draw(
    window: &MinimalSoftwareWindow,
    rotation: RenderingRotation,
    width: u32,
    height: u32,
) -> Vec<Rgb8Pixel> {
    let mut buffer = vec![Rgb8Pixel::default(); (width * height) as usize];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.set_rendering_rotation(rotation);
        renderer.render(&mut buffer, width as usize);
    });
    buffer
}

/// For every rotation, a touch on the panel lands where the picture shows what it touches:
/// the calibration matrix the kiosk gives libinput turns input exactly as Slint's renderer
/// turns the picture (the one `SLINT_KMS_ROTATION` asks linuxkms for).
#[test]
fn touch_is_turned_with_the_picture() {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
            slint::platform::set_platform(Box::new(RotatingPlatform {
                window: window.clone(),
            }))
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let config = ui_support::config_in(dir.path());
            screenshots::demo_data(&config, None, screenshots::default_time()).unwrap();
            let kiosk = Kiosk::new(
                &config,
                clock::Clock::fixed(screenshots::default_time(), clock::china()),
            )
            .unwrap();
            kiosk.follow_schedule(false);
            kiosk.window().show().unwrap();
            // A page with something different in every corner: the lookup's keypad and form,
            // the footer's buttons.
            kiosk
                .window()
                .global::<HomeAdapter>()
                .invoke_open_service(Service::Progress);
            let (panel_w, panel_h) = (1920u32, 1080u32);
            let all = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270];
            for turn in all {
                let (w, h) = if turn.is_portrait() {
                    (panel_h, panel_w)
                } else {
                    (panel_w, panel_h)
                };
                kiosk.window().window().set_size(PhysicalSize::new(w, h));
                kiosk.set_portrait(turn.is_portrait());
                let upright = draw(&window, RenderingRotation::NoRotation, w, h);
                let turned = draw(&window, rendering(turn), panel_w, panel_h);
                let mismatch = |matrix: [f32; 6]| {
                    let mut differ = 0;
                    let mut total = 0;
                    for qy in (0..panel_h).step_by(9) {
                        for qx in (0..panel_w).step_by(9) {
                            let at = (
                                (qx as f32 + 0.5) / panel_w as f32,
                                (qy as f32 + 0.5) / panel_h as f32,
                            );
                            let (u, v) = rotation::apply(matrix, at);
                            let (lx, ly) = ((u * w as f32) as u32, (v * h as f32) as u32);
                            if lx >= w || ly >= h {
                                differ += 1;
                                total += 1;
                                continue;
                            }
                            let p = turned[(qy * panel_w + qx) as usize];
                            let q = upright[(ly * w + lx) as usize];
                            let far = [p.r.abs_diff(q.r), p.g.abs_diff(q.g), p.b.abs_diff(q.b)]
                                .iter()
                                .any(|d| *d > 64);
                            differ += usize::from(far);
                            total += 1;
                        }
                    }
                    differ as f64 / total as f64
                };
                let right = mismatch(rotation::touch_matrix(turn));
                assert!(
                    right < 0.01,
                    "{turn:?}: {:.1} % of touches land elsewhere",
                    right * 100.0
                );
                // The test tells the turns apart: every other matrix misses far more.
                for other in all.into_iter().filter(|o| *o != turn) {
                    let wrong = mismatch(rotation::touch_matrix(other));
                    assert!(
                        wrong > 0.05,
                        "{turn:?} with {other:?}'s matrix: only {:.1} %",
                        wrong * 100.0
                    );
                }
            }
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}
