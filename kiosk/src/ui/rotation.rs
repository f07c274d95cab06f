//! Turning touch input with the picture. On the kiosk image, linuxkms rotates what it draws by
//! `SLINT_KMS_ROTATION`, but libinput still reports touches in the panel's own axes; the
//! kiosk sets each touch device's calibration matrix to the same turn, so one setting
//! (`[screen] rotation`) turns both.

use crate::config::Rotation;

/// libinput's calibration matrix `[a, b, c, d, e, f]`: a touch at the panel's normalised
/// `(x, y)` lands at `(a·x + b·y + c, d·x + e·y + f)` of the turned picture.
pub fn touch_matrix(rotation: Rotation) -> [f32; 6] {
    match rotation {
        Rotation::R0 => [1., 0., 0., 0., 1., 0.],
        // The picture turned a quarter to the right: the panel's top edge is its right edge.
        Rotation::R90 => [0., 1., 0., -1., 0., 1.],
        Rotation::R180 => [-1., 0., 1., 0., -1., 1.],
        Rotation::R270 => [0., -1., 1., 1., 0., 0.],
    }
}

/// Where a touch at the panel's normalised `(x, y)` lands, normalised to the picture.
pub fn apply(matrix: [f32; 6], (x, y): (f32, f32)) -> (f32, f32) {
    let [a, b, c, d, e, f] = matrix;
    (a * x + b * y + c, d * x + e * y + f)
}

/// The value of `SLINT_KMS_ROTATION` for a rotation.
pub fn kms_rotation(rotation: Rotation) -> &'static str {
    match rotation {
        Rotation::R0 => "0",
        Rotation::R90 => "90",
        Rotation::R180 => "180",
        Rotation::R270 => "270",
    }
}

/// Selects Slint's backend (by `SLINT_BACKEND`, else the first compiled in) with the touch
/// calibration installed for linuxkms.
#[cfg(feature = "kms")]
pub fn select_backend(rotation: Rotation) -> Result<(), slint::PlatformError> {
    let matrix = touch_matrix(rotation);
    slint::BackendSelector::new()
        .with_libinput_event_hook(move |event| {
            if let input::Event::Device(input::event::DeviceEvent::Added(added)) = event {
                let mut device = input::event::EventTrait::device(added);
                if device.config_calibration_has_matrix() {
                    let status = device.config_calibration_set_matrix(matrix);
                    tracing::info!(device = %device.name(), ?status, ?matrix, "touch calibration set");
                }
            }
            // Every event still goes on to Slint.
            false
        })
        .select()
}

/// Without linuxkms there is nothing to calibrate: the backend is Slint's default.
#[cfg(not(feature = "kms"))]
pub fn select_backend(_rotation: Rotation) -> Result<(), slint::PlatformError> {
    Ok(())
}
