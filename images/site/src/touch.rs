//! The touch screen turns with the picture: the libinput calibration matrix for the kiosk's
//! rotation, written where `config/udev/70-land-hall-touch.rules` imports it.
//!
//! Slint's linuxkms backend rotates only what it draws (`SLINT_KMS_ROTATION`); touches still
//! arrive in the panel's own coordinates. libinput maps them through a 2×3 matrix over
//! normalised coordinates (0..1 across the panel): `x' = a·x + b·y + c`, `y' = d·x + e·y + f`.
//! The matrix here is the inverse of the rendering rotation, so a touch lands on what is drawn
//! under the finger.

/// The picture's rotation, clockwise, as Slint's `RenderingRotation` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    None,
    Right90,
    UpsideDown,
    Left90,
}

impl Rotation {
    /// From degrees clockwise (0, 90, 180, 270), as `SLINT_KMS_ROTATION` takes them.
    pub fn from_degrees(degrees: i64) -> Option<Self> {
        match degrees {
            0 => Some(Self::None),
            90 => Some(Self::Right90),
            180 => Some(Self::UpsideDown),
            270 => Some(Self::Left90),
            _ => None,
        }
    }

    /// `LIBINPUT_CALIBRATION_MATRIX` (a b c d e f) taking a touch on the panel to the point of
    /// the rotated picture under it.
    pub fn calibration_matrix(self) -> [i8; 6] {
        match self {
            Self::None => [1, 0, 0, 0, 1, 0],
            // Drawn: panel (x, y) = (1 − v, u); so a touch at (x, y) is (u, v) = (y, 1 − x).
            Self::Right90 => [0, 1, 0, -1, 0, 1],
            Self::UpsideDown => [-1, 0, 1, 0, -1, 1],
            // Drawn: panel (x, y) = (v, 1 − u); so (u, v) = (1 − y, x).
            Self::Left90 => [0, -1, 1, 1, 0, 0],
        }
    }

    /// The udev property line `70-land-hall-touch.rules` imports.
    pub fn udev_properties(self) -> String {
        let m = self.calibration_matrix().map(|v| v.to_string()).join(" ");
        format!("LIBINPUT_CALIBRATION_MATRIX={m}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where Slint draws the point `(u, v)` of the picture on a panel of `w × h` pixels: the
    /// software renderer's `Transform for Point2D` (internal/renderers/software/lib.rs,
    /// Slint 1.18: mirror the width for 180/270, the height for 90/180, then transpose for
    /// 90/270), with the picture `h × w` when it is turned a quarter.
    fn drawn_at(rotation: Rotation, (u, v): (f64, f64), (w, h): (f64, f64)) -> (f64, f64) {
        let (pw, ph) = match rotation {
            Rotation::Right90 | Rotation::Left90 => (h, w),
            _ => (w, h),
        };
        let (mut x, mut y) = (u, v);
        if matches!(rotation, Rotation::Left90 | Rotation::UpsideDown) {
            x = pw - x;
        }
        if matches!(rotation, Rotation::Right90 | Rotation::UpsideDown) {
            y = ph - y;
        }
        if matches!(rotation, Rotation::Right90 | Rotation::Left90) {
            std::mem::swap(&mut x, &mut y);
        }
        (x, y)
    }

    #[test]
    fn a_touch_lands_on_what_is_drawn_under_it() {
        let panel = (1920.0, 1080.0);
        for rotation in [
            Rotation::None,
            Rotation::Right90,
            Rotation::UpsideDown,
            Rotation::Left90,
        ] {
            let picture = match rotation {
                Rotation::Right90 | Rotation::Left90 => (panel.1, panel.0),
                _ => panel,
            };
            let [a, b, c, d, e, f] = rotation.calibration_matrix().map(f64::from);
            for point in [(0.0, 0.0), (100.0, 40.0), (1000.0, 700.0), picture] {
                let (x, y) = drawn_at(rotation, point, panel);
                let (xn, yn) = (x / panel.0, y / panel.1);
                let (un, vn) = (a * xn + b * yn + c, d * xn + e * yn + f);
                let back = (un * picture.0, vn * picture.1);
                assert!(
                    (back.0 - point.0).abs() < 1e-9 && (back.1 - point.1).abs() < 1e-9,
                    "{rotation:?}: {point:?} drawn at {:?} comes back as {back:?}",
                    (x, y)
                );
            }
        }
    }

    #[test]
    fn only_quarter_turns_exist() {
        assert_eq!(Rotation::from_degrees(90), Some(Rotation::Right90));
        assert_eq!(Rotation::from_degrees(45), None);
        assert_eq!(Rotation::from_degrees(-90), None);
        assert_eq!(
            Rotation::Right90.udev_properties(),
            "LIBINPUT_CALIBRATION_MATRIX=0 1 0 -1 0 1\n"
        );
    }
}
