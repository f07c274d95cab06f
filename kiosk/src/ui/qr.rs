//! QR codes for visitors' phones: a guide's web page, or its help line (`tel:`).

use qrcode::{EcLevel, QrCode};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

/// Pixels per module: at 92 dpi a module is 1.8 mm, which a phone reads from 30 cm.
const MODULE_PX: u32 = 7;
/// The white margin the standard asks for, in modules.
const QUIET_ZONE: u32 = 4;

/// The QR code's pixels, black on white, or `None` when `data` does not fit a QR code.
pub fn pixels(data: &str) -> Option<SharedPixelBuffer<Rgb8Pixel>> {
    // Medium error correction: a screen is clean, but glare takes some modules.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let modules = code.width() as u32;
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side, side);
    let colors = code.to_colors();
    for (y, row) in buffer
        .make_mut_slice()
        .chunks_mut(side as usize)
        .enumerate()
    {
        let my = (y as u32 / MODULE_PX).checked_sub(QUIET_ZONE);
        for (x, pixel) in row.iter_mut().enumerate() {
            let mx = (x as u32 / MODULE_PX).checked_sub(QUIET_ZONE);
            let dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < modules && my < modules => {
                    colors[(my * modules + mx) as usize] == qrcode::Color::Dark
                }
                _ => false,
            };
            let v = if dark { 0 } else { 255 };
            *pixel = Rgb8Pixel { r: v, g: v, b: v };
        }
    }
    Some(buffer)
}

pub fn image(data: &str) -> Option<Image> {
    pixels(data).map(Image::from_rgb8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_reads_back_as_its_data() {
        for data in [
            "tel:0735-4422110",
            "https://zwfw.example.gov.cn/kiosk-guides/guides/homestead",
        ] {
            let buffer = pixels(data).unwrap();
            let (w, h) = (buffer.width() as usize, buffer.height() as usize);
            let gray: Vec<u8> = buffer.as_slice().iter().map(|p| p.r).collect();
            let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| gray[y * w + x]);
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "{data}");
            let (_, content) = grids[0].decode().unwrap();
            assert_eq!(content, data);
        }
    }

    #[test]
    fn data_too_long_for_a_qr_code_is_no_code() {
        assert!(pixels(&"x".repeat(10_000)).is_none());
    }
}
