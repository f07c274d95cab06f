//! What the screen shows, as a PNG: for the remote screenshot command (the data plane's
//! [`ScreenSource`]), `--screenshots` and the golden images.

use std::path::Path;
use std::time::Duration;

use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};

use super::KioskWindow;
use crate::heartbeat::ScreenSource;

/// How long a screenshot command waits for the UI thread to draw the window.
const CAPTURE_WAIT: Duration = Duration::from_secs(10);

/// The window's pixels as an opaque RGB PNG (the window has no transparency). `small` files
/// cost more time to encode.
pub fn png(
    pixels: &SharedPixelBuffer<Rgba8Pixel>,
    small: bool,
) -> Result<Vec<u8>, png::EncodingError> {
    let rgb: Vec<u8> = pixels
        .as_slice()
        .iter()
        .flat_map(|p| [p.r, p.g, p.b])
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixels.width(), pixels.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(if small {
        png::Compression::High
    } else {
        png::Compression::Fast
    });
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(out)
}

/// The picture at half its width and height, each pixel the mean of four: a quarter of the
/// bytes for images kept in the repository, where layout and colour matter, not every pixel
/// of a glyph.
pub fn half(pixels: &SharedPixelBuffer<Rgba8Pixel>) -> SharedPixelBuffer<Rgba8Pixel> {
    let (w, h) = (pixels.width() / 2, pixels.height() / 2);
    let src = pixels.as_slice();
    let stride = pixels.width() as usize;
    let mut out = SharedPixelBuffer::<Rgba8Pixel>::new(w, h);
    for (i, pixel) in out.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = (i % w as usize * 2, i / w as usize * 2);
        let quad = [
            src[y * stride + x],
            src[y * stride + x + 1],
            src[(y + 1) * stride + x],
            src[(y + 1) * stride + x + 1],
        ];
        let mean = |f: fn(&Rgba8Pixel) -> u8| {
            (quad.iter().map(|p| u16::from(f(p))).sum::<u16>() / 4) as u8
        };
        *pixel = Rgba8Pixel {
            r: mean(|p| p.r),
            g: mean(|p| p.g),
            b: mean(|p| p.b),
            a: 255,
        };
    }
    out
}

/// Draws `ui` and writes it to `path`; `small`: at half size, compressed hard (see [`half`]).
pub fn save(ui: &KioskWindow, path: &Path, small: bool) -> Result<(), String> {
    let mut pixels = ui.window().take_snapshot().map_err(|e| e.to_string())?;
    if small {
        pixels = half(&pixels);
    }
    let bytes = png(&pixels, small).map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Decodes a PNG of ours (RGB or RGBA, 8 bits) into RGB bytes and its size.
pub fn decode(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .map_err(|e| e.to_string())?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or("image too large")?];
    let info = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let data = &buffer[..info.buffer_size()];
    let rgb = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => data.to_vec(),
        (png::ColorType::Rgba, png::BitDepth::Eight) => data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => return Err(format!("unexpected PNG format {other:?}")),
    };
    Ok((info.width, info.height, rgb))
}

/// The kiosk window as the data plane's screenshot source: the heartbeat's thread asks the UI
/// thread to draw the window and waits for the pixels, then encodes them itself.
pub struct WindowScreen {
    window: slint::Weak<KioskWindow>,
}

impl WindowScreen {
    pub fn new(window: slint::Weak<KioskWindow>) -> Self {
        Self { window }
    }
}

impl ScreenSource for WindowScreen {
    fn capture_png(&self) -> Result<Vec<u8>, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.window
            .upgrade_in_event_loop(move |ui| {
                let _ = tx.send(ui.window().take_snapshot().map_err(|e| e.to_string()));
            })
            .map_err(|e| format!("the screen is not running: {e}"))?;
        let pixels = rx.recv_timeout(CAPTURE_WAIT).map_err(|_| {
            format!(
                "the screen did not draw within {} s",
                CAPTURE_WAIT.as_secs()
            )
        })??;
        png(&pixels, false).map_err(|e| format!("encoding the screenshot: {e}"))
    }
}
