//! `gps-bridge.toml`: every key has a safe default; `config/gps-bridge.toml` is the annotated
//! example and `gps-bridge --check-config` validates a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::device::Framing;
use crate::plot::{AreaLimits, LandKind, PlotSettings, ZoneChoice};
use crate::survey::{FixType, QualityFilter, RouteConfig};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The survey database.
    pub database: PathBuf,
    /// Where the control socket lives.
    pub runtime_dir: PathBuf,
    pub serial: SerialConfig,
    pub nmea: NmeaConfig,
    pub route: RouteSection,
    pub capture: CaptureSection,
    pub sanity: SanityConfig,
    pub upstream: UpstreamSection,
    pub outbox: OutboxSection,
    pub upload: UploadSection,
    pub layers: LayersSection,
    pub heartbeat: HeartbeatSection,
    pub projection: ProjectionSection,
    pub checks: ChecksSection,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: PathBuf::from("/var/lib/land-hall/gps-bridge/survey.db"),
            runtime_dir: PathBuf::from("/run/land-hall"),
            serial: SerialConfig::default(),
            nmea: NmeaConfig::default(),
            route: RouteSection::default(),
            capture: CaptureSection::default(),
            sanity: SanityConfig::default(),
            upstream: UpstreamSection::default(),
            outbox: OutboxSection::default(),
            upload: UploadSection::default(),
            layers: LayersSection::default(),
            heartbeat: HeartbeatSection::default(),
            projection: ProjectionSection::default(),
            checks: ChecksSection::default(),
        }
    }
}

/// `[upstream]`: the e-government system plots go to, and who this bridge is there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamSection {
    /// Base URL; empty: no upstream (plots wait in the outbox, layers are not synced).
    pub url: String,
    /// This device's bearer token.
    pub token: String,
    pub device_id: String,
    /// The land office (the upstream's hall id) the bridge surveys for.
    pub office_id: String,
    /// Whole-request timeout, seconds.
    pub timeout_s: f64,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            url: String::new(),
            token: String::new(),
            device_id: "gps-bridge".to_owned(),
            office_id: String::new(),
            timeout_s: 30.0,
        }
    }
}

/// `[outbox]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSection {
    /// The outbox database; default `outbox.db` beside `database`.
    pub database: Option<PathBuf>,
}

/// `[upload]`: how failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSection {
    /// Wait before the first retry, seconds; doubled for each further one...
    pub retry_initial_s: f64,
    /// ...up to this. Each wait is drawn from its upper half (jitter).
    pub retry_max_s: f64,
}

impl Default for UploadSection {
    fn default() -> Self {
        UploadSection {
            retry_initial_s: 2.0,
            retry_max_s: 300.0,
        }
    }
}

/// `[layers]`: the parcel and mining-right cache for the overlap pre-check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayersSection {
    /// The cache database; default `layers.db` beside `database`.
    pub database: Option<PathBuf>,
    /// Seconds between syncs of the layers' change feeds.
    pub sync_interval_s: f64,
    /// Changes asked for per page.
    pub page_size: u32,
}

impl Default for LayersSection {
    fn default() -> Self {
        LayersSection {
            database: None,
            sync_interval_s: 900.0,
            page_size: 2000,
        }
    }
}

/// `[heartbeat]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatSection {
    /// Seconds between heartbeats to the upstream.
    pub interval_s: f64,
}

impl Default for HeartbeatSection {
    fn default() -> Self {
        HeartbeatSection { interval_s: 60.0 }
    }
}

/// `baud = 4800` fixes the speed; `baud = "auto"` hunts like gpsd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Baud {
    Fixed(u32),
    Hunt(HuntKeyword),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HuntKeyword {
    Auto,
}

/// The speeds tried when hunting, in gpsd's order (the NMEA default first).
pub const HUNT_BAUDS: [u32; 6] = [4800, 9600, 19200, 38400, 57600, 115200];

impl Baud {
    pub fn candidates(self) -> Vec<u32> {
        match self {
            Baud::Fixed(b) => vec![b],
            Baud::Hunt(HuntKeyword::Auto) => HUNT_BAUDS.to_vec(),
        }
    }

    /// The line settings to open with, in hunting order: a fixed speed is 8N1 (NMEA's
    /// framing); hunting tries every speed at 8N1, then every speed at 7N2, and round again,
    /// as gpsd does.
    pub fn lines(self) -> Vec<(u32, Framing)> {
        let framings: &[Framing] = match self {
            Baud::Fixed(_) => &[Framing::EightNoneOne],
            Baud::Hunt(_) => &[Framing::EightNoneOne, Framing::SevenNoneTwo],
        };
        framings
            .iter()
            .flat_map(|&framing| self.candidates().into_iter().map(move |b| (b, framing)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SerialConfig {
    pub baud: Baud,
    /// Seconds without a valid sentence before hunting moves to the next speed.
    pub hunt_timeout_s: f64,
    /// Seconds between scans of the port list for docked or undocked units.
    pub scan_interval_s: f64,
    /// USB `vid:pid` (hex) of the dock cables and receivers to open.
    pub allow: Vec<String>,
    /// More `vid:pid` entries added to `allow` (to keep the defaults and add one).
    pub allow_extra: Vec<String>,
    /// Device paths to open whenever they exist, whatever their USB ids.
    pub ports: Vec<PathBuf>,
}

impl Default for SerialConfig {
    fn default() -> Self {
        SerialConfig {
            baud: Baud::Fixed(4800),
            hunt_timeout_s: 3.0,
            scan_interval_s: 2.0,
            allow: DEFAULT_ALLOW.iter().map(|s| (*s).to_owned()).collect(),
            allow_extra: Vec::new(),
            ports: Vec::new(),
        }
    }
}

/// Garmin, Prolific PL2303, FTDI, Silicon Labs CP210x, u-blox (5/6/7/8), WCH CH340/CH341.
pub const DEFAULT_ALLOW: [&str; 12] = [
    "091e:0003",
    "067b:2303",
    "067b:aaa0",
    "0403:6001",
    "0403:6015",
    "10c4:ea60",
    "1546:01a5",
    "1546:01a6",
    "1546:01a7",
    "1546:01a8",
    "1a86:7523",
    "1a86:5523",
];

impl SerialConfig {
    /// The allow-list as (vid, pid) pairs.
    pub fn allowed_ids(&self) -> anyhow::Result<Vec<(u16, u16)>> {
        self.allow
            .iter()
            .chain(&self.allow_extra)
            .map(|entry| parse_usb_id(entry))
            .collect()
    }

    pub fn hunt_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.hunt_timeout_s)
    }

    pub fn scan_interval(&self) -> Duration {
        Duration::from_secs_f64(self.scan_interval_s)
    }
}

fn parse_usb_id(entry: &str) -> anyhow::Result<(u16, u16)> {
    let (vid, pid) = entry
        .split_once(':')
        .with_context(|| format!("USB id {entry:?} is not vid:pid"))?;
    let hex = |s: &str| {
        u16::from_str_radix(s, 16).with_context(|| format!("USB id {entry:?}: {s:?} is not hex"))
    };
    Ok((hex(vid)?, hex(pid)?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NmeaConfig {
    pub accept_missing_checksum: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSection {
    pub timeout_s: f64,
}

impl Default for RouteSection {
    fn default() -> Self {
        RouteSection { timeout_s: 120.0 }
    }
}

impl RouteSection {
    pub fn route_config(&self) -> RouteConfig {
        RouteConfig {
            timeout: Duration::from_secs_f64(self.timeout_s),
        }
    }
}

/// `[capture]`: the quality filter's keys, flat, plus the default duration.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureSection {
    /// How long `mark` averages when `--secs` is not given.
    pub default_secs: f64,
    /// `"3d"` or `"2d"`: the fewest dimensions a fix needs, when the unit sends GSA.
    pub min_fix_type: FixType,
    pub min_satellites: u32,
    pub max_hdop: f64,
    pub max_correction_age_s: f64,
    pub min_fixes: u32,
}

impl Default for CaptureSection {
    fn default() -> Self {
        let filter = QualityFilter::default();
        CaptureSection {
            default_secs: 30.0,
            min_fix_type: filter.min_fix_type,
            min_satellites: filter.min_satellites,
            max_hdop: filter.max_hdop,
            max_correction_age_s: filter.max_correction_age_s,
            min_fixes: filter.min_fixes,
        }
    }
}

impl CaptureSection {
    pub fn filter(&self) -> QualityFilter {
        QualityFilter {
            min_fix_type: self.min_fix_type,
            min_satellites: self.min_satellites,
            max_hdop: self.max_hdop,
            max_correction_age_s: self.max_correction_age_s,
            min_fixes: self.min_fixes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SanityConfig {
    /// A fix farther than this from the unit's previous one is an absurd jump.
    pub max_jump_km: f64,
}

impl Default for SanityConfig {
    fn default() -> Self {
        SanityConfig {
            max_jump_km: 1000.0,
        }
    }
}

/// `[projection]`: the Gauss-Krüger zone plots are measured in, and how files write eastings.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectionSection {
    /// A zone number (25 to 45) for the county's zone, or `"auto"`.
    pub zone: ZoneChoice,
    /// Whether eastings in written files carry the zone prefix (`37465566.598`).
    pub easting_prefix: bool,
}

impl Default for ProjectionSection {
    fn default() -> Self {
        ProjectionSection {
            zone: ZoneChoice::Auto,
            easting_prefix: true,
        }
    }
}

/// `[checks]`: what the plot checks warn of or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksSection {
    pub max_corner_sigma_m: f64,
    pub far_corner_m: f64,
    pub max_meridian_offset_deg: f64,
    /// The land kind of a plot the officer gave none for.
    pub default_land: LandKind,
    /// `[checks.max_area_m2]`: the homestead area limit per land kind.
    pub max_area_m2: AreaLimitsSection,
}

/// `[checks.max_area_m2]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AreaLimitsSection {
    pub cultivated: f64,
    pub other: f64,
    pub barren: f64,
}

/// Hunan's 宅基地 limits, m²: 130 on cultivated land, 180 on other land, 210 on barren hills
/// (the sources are in `config/gps-bridge.toml`, at `[checks.max_area_m2]`).
impl Default for AreaLimitsSection {
    fn default() -> Self {
        AreaLimitsSection {
            cultivated: 130.0,
            other: 180.0,
            barren: 210.0,
        }
    }
}

impl Default for ChecksSection {
    fn default() -> Self {
        ChecksSection {
            max_corner_sigma_m: 5.0,
            far_corner_m: 1000.0,
            max_meridian_offset_deg: 1.6,
            default_land: LandKind::Other,
            max_area_m2: AreaLimitsSection::default(),
        }
    }
}

impl Config {
    /// What the plot checks use.
    pub fn plot_settings(&self) -> PlotSettings {
        let limits = self.checks.max_area_m2;
        PlotSettings {
            zone: self.projection.zone,
            max_corner_sigma_m: self.checks.max_corner_sigma_m,
            far_corner_m: self.checks.far_corner_m,
            max_meridian_offset_deg: self.checks.max_meridian_offset_deg,
            area_limits: AreaLimits {
                cultivated_m2: limits.cultivated,
                other_m2: limits.other,
                barren_m2: limits.barren,
            },
            default_land: self.checks.default_land,
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.serial.allowed_ids()?;
        for baud in self.serial.baud.candidates() {
            if !(300..=4_000_000).contains(&baud) {
                bail!("serial.baud {baud} is not a serial speed");
            }
        }
        let positive = [
            ("serial.hunt_timeout_s", self.serial.hunt_timeout_s),
            ("serial.scan_interval_s", self.serial.scan_interval_s),
            ("route.timeout_s", self.route.timeout_s),
            ("capture.default_secs", self.capture.default_secs),
            ("sanity.max_jump_km", self.sanity.max_jump_km),
            ("upstream.timeout_s", self.upstream.timeout_s),
            ("upload.retry_initial_s", self.upload.retry_initial_s),
            ("upload.retry_max_s", self.upload.retry_max_s),
            ("layers.sync_interval_s", self.layers.sync_interval_s),
            ("heartbeat.interval_s", self.heartbeat.interval_s),
            ("checks.max_corner_sigma_m", self.checks.max_corner_sigma_m),
            ("checks.far_corner_m", self.checks.far_corner_m),
            (
                "checks.max_meridian_offset_deg",
                self.checks.max_meridian_offset_deg,
            ),
            (
                "checks.max_area_m2.cultivated",
                self.checks.max_area_m2.cultivated,
            ),
            ("checks.max_area_m2.other", self.checks.max_area_m2.other),
            ("checks.max_area_m2.barren", self.checks.max_area_m2.barren),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0 && value < 1e7) {
                bail!("{key} must be a positive number of reasonable size, not {value}");
            }
        }
        if self.capture.max_hdop <= 0.0 {
            bail!("capture.max_hdop must be positive");
        }
        if self.upload.retry_max_s < self.upload.retry_initial_s {
            bail!("upload.retry_max_s must be at least upload.retry_initial_s");
        }
        if !(1..=protocol::MAX_PAGE).contains(&self.layers.page_size) {
            bail!("layers.page_size must be 1 to {}", protocol::MAX_PAGE);
        }
        if !self.upstream.url.is_empty() {
            let url = url::Url::parse(&self.upstream.url)
                .with_context(|| format!("upstream.url {:?}", self.upstream.url))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("upstream.url must be http or https");
            }
            use protocol::devices::{DEVICE_ID_RULE, TOKEN_RULE, is_device_id, is_sendable_token};
            for (key, value) in [
                ("upstream.device_id", &self.upstream.device_id),
                ("upstream.office_id", &self.upstream.office_id),
            ] {
                if !is_device_id(value) {
                    bail!("{key} must be {DEVICE_ID_RULE} with an upstream");
                }
            }
            if !is_sendable_token(&self.upstream.token) {
                bail!(
                    "upstream.token: this bridge's token is required with an upstream: \
                     {TOKEN_RULE} (the upstream issues it for upstream.device_id)"
                );
            }
        }
        if self.checks.max_meridian_offset_deg > 10.0 {
            bail!("checks.max_meridian_offset_deg is degrees from the zone's meridian, at most 10");
        }
        Ok(())
    }

    pub fn socket_path(&self) -> PathBuf {
        self.runtime_dir.join("gps-bridge.sock")
    }

    fn beside_database(&self, name: &str) -> PathBuf {
        self.database
            .parent()
            .map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.outbox
            .database
            .clone()
            .unwrap_or_else(|| self.beside_database("outbox.db"))
    }

    pub fn layers_path(&self) -> PathBuf {
        self.layers
            .database
            .clone()
            .unwrap_or_else(|| self.beside_database("layers.db"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_valid_and_states_the_defaults() {
        let example = include_str!("../../config/gps-bridge.toml");
        assert_eq!(Config::parse(example).unwrap(), Config::default());
    }

    #[test]
    fn keys_are_checked() {
        assert!(
            Config::parse("serial.baud = \"auto\"").unwrap().serial.baud
                == Baud::Hunt(HuntKeyword::Auto)
        );
        assert!(Config::parse("serial.baud = \"fast\"").is_err());
        assert!(Config::parse("serial.allow_extra = [\"12:zz\"]").is_err());
        assert!(Config::parse("serial.typo = 1").is_err());
        assert!(Config::parse("route.timeout_s = -1").is_err());
        let two_d = Config::parse("capture.min_fix_type = \"2d\"").unwrap();
        assert_eq!(two_d.capture.filter().min_fix_type, FixType::TwoD);
        assert!(Config::parse("capture.min_fix_type = \"1d\"").is_err());
        let upstream = "upstream.url = \"http://127.0.0.1:8080/\"\nupstream.office_id = \"hn-gyx-zsz\"\n\
                        upstream.token = \"lhdev-0123\"";
        let parsed = Config::parse(upstream).unwrap();
        assert_eq!(
            parsed.outbox_path(),
            Path::new("/var/lib/land-hall/gps-bridge/outbox.db")
        );
        assert_eq!(
            parsed.layers_path(),
            Path::new("/var/lib/land-hall/gps-bridge/layers.db")
        );
        assert!(Config::parse("upstream.url = \"ftp://example.org/\"").is_err());
        assert!(
            Config::parse("upstream.url = \"http://127.0.0.1:8080/\"").is_err(),
            "an upstream needs the office"
        );
        assert!(Config::parse(&format!("{upstream}\nupstream.device_id = \"a b\"")).is_err());
        for token in ["", "lhdev 0123", "lhdev-0123\\n"] {
            let without = upstream.replace("upstream.token = \"lhdev-0123\"", "");
            let err = Config::parse(&format!("{without}\nupstream.token = \"{token}\""))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("upstream.token: "), "{token:?}: {err}");
        }
        assert!(Config::parse("layers.page_size = 0").is_err());
        assert!(Config::parse("upload.retry_initial_s = 10.0\nupload.retry_max_s = 1.0").is_err());
        let extra = Config::parse("serial.allow_extra = [\"1234:abcd\"]").unwrap();
        assert!(
            extra
                .serial
                .allowed_ids()
                .unwrap()
                .contains(&(0x1234, 0xabcd))
        );
        assert!(
            extra
                .serial
                .allowed_ids()
                .unwrap()
                .contains(&(0x091e, 0x0003))
        );
    }

    #[test]
    fn projection_and_checks_are_read_and_checked() {
        let config = Config::parse(
            "[projection]\nzone = 38\neasting_prefix = false\n\
             [checks]\ndefault_land = \"barren\"\n[checks.max_area_m2]\ncultivated = 120.0",
        )
        .unwrap();
        let settings = config.plot_settings();
        assert_eq!(settings.zone.zone_for(110.0).number(), 38);
        assert_eq!(settings.default_land, LandKind::Barren);
        assert_eq!(settings.area_limits.for_land(LandKind::Cultivated), 120.0);
        assert_eq!(settings.area_limits.for_land(LandKind::Barren), 210.0);
        assert!(!config.projection.easting_prefix);
        assert!(Config::parse("projection.zone = 24").is_err());
        assert!(Config::parse("projection.zone = \"west\"").is_err());
        assert!(Config::parse("checks.default_land = \"forest\"").is_err());
        assert!(Config::parse("checks.max_area_m2.other = -1").is_err());
        assert!(Config::parse("checks.max_meridian_offset_deg = 45").is_err());
        assert!(Config::parse("checks.max_area_m2.garden = 1").is_err());
    }
}
