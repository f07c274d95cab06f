//! The site's plane for the layers: CGCS2000 3° Gauss-Krüger through the plot module's
//! projection, in the configured zone (or, with `"auto"`, each feature's own).

use crate::plot::{GaussKruger, Zone, ZoneChoice};

use super::Plane;

pub struct SitePlane {
    choice: ZoneChoice,
    /// One projection per zone of China, made once (parsing a definition is not free).
    zones: Vec<GaussKruger>,
}

impl SitePlane {
    pub fn new(choice: ZoneChoice) -> Self {
        SitePlane {
            choice,
            zones: Zone::all().map(GaussKruger::new).collect(),
        }
    }

    pub fn projection(&self, zone: u8) -> Option<&GaussKruger> {
        self.zones.get(usize::from(zone.checked_sub(Zone::FIRST)?))
    }
}

impl Plane for SitePlane {
    fn zone_of(&self, lon: f64, _lat: f64) -> u8 {
        self.choice.zone_for(lon).number()
    }

    fn project(&self, zone: u8, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let point = self.projection(zone)?.forward(lon, lat).ok()?;
        Some((point.easting_m, point.northing_m))
    }

    fn describe(&self) -> String {
        let zone = match self.choice {
            ZoneChoice::Fixed(zone) => zone.number().to_string(),
            ZoneChoice::Auto => "auto".to_owned(),
        };
        format!("CGCS2000 3-degree Gauss-Kruger, easting without prefix, zone {zone}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_zone_projects_everything_in_it_and_auto_each_in_its_own() {
        let fixed = SitePlane::new(ZoneChoice::Fixed(Zone::new(38).unwrap()));
        // 桂阳县 straddles 112.5°E: west of it is zone 37's by longitude, still 38 here.
        assert_eq!(fixed.zone_of(112.4, 25.8), 38);
        let auto = SitePlane::new(ZoneChoice::Auto);
        assert_eq!(auto.zone_of(112.4, 25.8), 37);
        let (e, n) = fixed.project(38, 114.0, 25.8).unwrap();
        assert!((e - 500_000.0).abs() < 1e-6, "on the central meridian: {e}");
        assert!((2_800_000.0..2_900_000.0).contains(&n), "{n}");
        assert_eq!(fixed.project(46, 114.0, 25.8), None);
        assert_ne!(fixed.describe(), auto.describe());
    }
}
