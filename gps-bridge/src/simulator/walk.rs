//! Where the unit really is: at its first corner, or carried round the plot, standing a while
//! at each corner and walking to the next at an officer's pace.

use super::RouteCorner;
use crate::geo::METRES_PER_DEGREE;

/// How fast the officer carrying the unit walks between corners.
const WALKING_SPEED_MPS: f64 = 1.2;

/// What the unit did in a step of [`super::Handheld::walk`].
#[derive(Debug, Clone, PartialEq)]
pub enum Movement {
    /// Still standing at a corner, or still walking to the next.
    Continuing,
    Arrived(String),
    Left {
        from: String,
        to: String,
    },
}

/// Carrying the unit round the plot.
struct Round {
    dwell_s: f64,
    /// The corner the unit is at, or walking to.
    corner: usize,
    /// Seconds still to stand at `corner`; `None` while walking to it.
    standing: Option<f64>,
}

/// The unit's true position, WGS84 degrees.
pub struct Walker {
    pub lon: f64,
    pub lat: f64,
    round: Option<Round>,
}

impl Walker {
    pub fn at(lon: f64, lat: f64) -> Self {
        Walker {
            lon,
            lat,
            round: None,
        }
    }

    /// Carries the unit round `corners` from the first: `dwell_s` at each, walking in between.
    /// With fewer than two corners the unit stays put.
    pub fn carry_round(&mut self, corners: &[RouteCorner], dwell_s: f64) {
        if corners.len() >= 2 {
            self.round = Some(Round {
                dwell_s,
                corner: 0,
                standing: Some(dwell_s),
            });
        }
    }

    /// Moves the unit by `dt_s` seconds of standing or walking.
    pub fn step(&mut self, corners: &[RouteCorner], dt_s: f64) -> Movement {
        let Some(round) = &mut self.round else {
            return Movement::Continuing;
        };
        if let Some(left) = &mut round.standing {
            *left -= dt_s;
            if *left > 0.0 {
                return Movement::Continuing;
            }
            let from = corners[round.corner].name.clone();
            round.corner = (round.corner + 1) % corners.len();
            round.standing = None;
            let to = corners[round.corner].name.clone();
            return Movement::Left { from, to };
        }
        let target = &corners[round.corner];
        let metres_per_degree_lon = METRES_PER_DEGREE * self.lat.to_radians().cos();
        let north = (target.lat - self.lat) * METRES_PER_DEGREE;
        let east = (target.lon - self.lon) * metres_per_degree_lon;
        let distance = north.hypot(east);
        let step = WALKING_SPEED_MPS * dt_s;
        if distance <= step {
            (self.lat, self.lon) = (target.lat, target.lon);
            round.standing = Some(round.dwell_s);
            return Movement::Arrived(target.name.clone());
        }
        self.lat += north / distance * step / METRES_PER_DEGREE;
        self.lon += east / distance * step / metres_per_degree_lon;
        Movement::Continuing
    }
}
