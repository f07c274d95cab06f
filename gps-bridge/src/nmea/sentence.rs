//! Typed decoding of checksum-checked sentences. Every decoded value borrows from the line; the
//! variable-length lists (route waypoints, satellites) are walked by iterators, not collected.

use super::fields::{Date, FieldError, Fields, Problem, TimeOfDay, ascii};
use super::framer::Line;

/// A position in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

fn lat_lon(lat: Option<f64>, lon: Option<f64>) -> Option<LatLon> {
    Some(LatLon {
        lat: lat?,
        lon: lon?,
    })
}

/// GGA fix quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixQuality {
    Invalid,
    Gps,
    Dgps,
    Pps,
    RtkFixed,
    RtkFloat,
    /// Dead reckoning: not a measurement.
    Estimated,
    Manual,
    /// Demo mode of a handheld: not a measurement.
    Simulator,
    Other(u8),
}

impl FixQuality {
    fn from_digit(d: u32) -> Self {
        match d {
            0 => FixQuality::Invalid,
            1 => FixQuality::Gps,
            2 => FixQuality::Dgps,
            3 => FixQuality::Pps,
            4 => FixQuality::RtkFixed,
            5 => FixQuality::RtkFloat,
            6 => FixQuality::Estimated,
            7 => FixQuality::Manual,
            8 => FixQuality::Simulator,
            n => FixQuality::Other(n.min(255) as u8),
        }
    }

    /// Whether the receiver measured this position (estimated, manual and simulated are not).
    pub fn is_measured(self) -> bool {
        matches!(
            self,
            FixQuality::Gps
                | FixQuality::Dgps
                | FixQuality::Pps
                | FixQuality::RtkFixed
                | FixQuality::RtkFloat
        )
    }
}

/// The NMEA 2.3+ mode indicator (RMC, GLL, VTG, GNS per system): `A`utonomous, `D`ifferential,
/// `E`stimated, `M`anual, `S`imulator, `N`ot valid, `R`TK, `F`loat RTK, `P`recise.
fn mode_is_measured(mode: u8) -> bool {
    matches!(mode, b'A' | b'D' | b'R' | b'F' | b'P')
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gga {
    pub time: Option<TimeOfDay>,
    pub position: Option<LatLon>,
    pub quality: Option<FixQuality>,
    pub satellites: Option<u32>,
    pub hdop: Option<f64>,
    /// Altitude above mean sea level, metres.
    pub altitude: Option<f64>,
    pub geoid_separation: Option<f64>,
    /// Age of differential corrections, seconds.
    pub correction_age: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmc {
    pub time: Option<TimeOfDay>,
    /// `A` valid, `V` void.
    pub status: Option<u8>,
    pub position: Option<LatLon>,
    pub speed_knots: Option<f64>,
    pub track: Option<f64>,
    pub date: Option<Date>,
    pub mode: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gll {
    pub position: Option<LatLon>,
    pub time: Option<TimeOfDay>,
    /// `A`/`V`; absent in NMEA 1.5 receivers.
    pub status: Option<u8>,
    /// Absent before NMEA 2.3 (old Garmin handhelds send `...,hhmmss,A*hh`).
    pub mode: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gsa {
    /// `M`anual or `A`utomatic 2D/3D selection.
    pub selection: Option<u8>,
    /// 1 no fix, 2 2D, 3 3D.
    pub fix_type: Option<u32>,
    prns: [u16; 12],
    prn_count: u8,
    pub pdop: Option<f64>,
    pub hdop: Option<f64>,
    pub vdop: Option<f64>,
}

impl Gsa {
    /// Satellites used in the solution.
    pub fn prns(&self) -> &[u16] {
        &self.prns[..usize::from(self.prn_count)]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SatelliteInView {
    pub prn: u16,
    /// Degrees.
    pub elevation: Option<u16>,
    /// Degrees from true north.
    pub azimuth: Option<u16>,
    /// dB-Hz.
    pub snr: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gsv<'a> {
    pub sentence_count: Option<u32>,
    pub sentence_number: Option<u32>,
    pub satellites_in_view: Option<u32>,
    /// The fields after the counts: up to four satellites of four fields each.
    satellite_fields: Fields<'a>,
}

impl<'a> Gsv<'a> {
    /// The satellites of this sentence (up to four), decoded as they are read: GSV is the most
    /// frequent sentence and the bridge itself only needs the counts, so the sixteen satellite
    /// fields are not parsed unless asked for. A malformed field ends the list with its error.
    /// A lone last field is NMEA 4.10's signal id, not a satellite.
    pub fn satellites(&self) -> impl Iterator<Item = Result<SatelliteInView, FieldError>> + 'a {
        let mut f = self.satellite_fields;
        let mut failed = false;
        std::iter::from_fn(move || {
            while !failed && !f.is_exhausted() {
                let satellite = satellite(&mut f);
                failed = satellite.is_err();
                match satellite {
                    Ok(Some(satellite)) => return Some(Ok(satellite)),
                    Ok(None) => {}
                    Err(error) => return Some(Err(error)),
                }
            }
            None
        })
        .take(4)
    }
}

/// One satellite of a GSV sentence; `None` for an empty slot or the trailing signal id.
fn satellite(f: &mut Fields<'_>) -> Result<Option<SatelliteInView>, FieldError> {
    let prn = f.u32()?;
    if f.is_exhausted() {
        return Ok(None);
    }
    let elevation = f.u16()?;
    let azimuth = f.u16()?;
    let snr = f.u16()?;
    Ok(prn.map(|prn| SatelliteInView {
        prn: prn.min(u32::from(u16::MAX)) as u16,
        elevation,
        azimuth,
        snr,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vtg {
    pub track_true: Option<f64>,
    pub track_magnetic: Option<f64>,
    pub speed_knots: Option<f64>,
    pub speed_kmh: Option<f64>,
    pub mode: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zda {
    pub time: Option<TimeOfDay>,
    pub date: Option<Date>,
    /// Local zone offset, hours and minutes; receivers write `00`, `+00`, `-05` or nothing, so an
    /// unreadable zone is dropped rather than failing the sentence.
    pub zone_hours: Option<i8>,
    pub zone_minutes: Option<u8>,
}

/// Pseudorange error statistics, metres (1σ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gst {
    pub time: Option<TimeOfDay>,
    pub rms: Option<f64>,
    pub semi_major: Option<f64>,
    pub semi_minor: Option<f64>,
    pub orientation: Option<f64>,
    pub lat_sigma: Option<f64>,
    pub lon_sigma: Option<f64>,
    pub alt_sigma: Option<f64>,
}

impl Gst {
    /// 1σ horizontal error, when the latitude and longitude errors are both given.
    pub fn horizontal_sigma(&self) -> Option<f64> {
        Some(self.lat_sigma?.hypot(self.lon_sigma?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gns<'a> {
    pub time: Option<TimeOfDay>,
    pub position: Option<LatLon>,
    /// One mode character per constellation (`AN`, `NNNN`, ...).
    pub modes: &'a str,
    pub satellites: Option<u32>,
    pub hdop: Option<f64>,
    pub altitude: Option<f64>,
}

impl Gns<'_> {
    /// Whether any constellation contributed a measured fix.
    pub fn is_measured(&self) -> bool {
        self.modes.bytes().any(mode_is_measured)
    }
}

/// A named waypoint (WPL, PMGNWPL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waypoint<'a> {
    pub position: Option<LatLon>,
    pub name: &'a str,
    /// Magellan only.
    pub altitude_m: Option<f64>,
    pub comment: &'a str,
}

/// One sentence of a route (RTE, PMGNRTE).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route<'a> {
    pub sentence_count: u32,
    pub sentence_number: u32,
    /// `c` complete route; `w` working route (NMEA); Magellan uses `c` and `m`.
    pub kind: u8,
    /// RTE's route identifier (its name); PMGNRTE's route number.
    pub route_id: &'a str,
    /// Comma-separated waypoint list (Magellan: the route name, then name,icon pairs).
    waypoint_fields: &'a str,
    magellan: bool,
}

impl<'a> Route<'a> {
    /// Waypoint names in route order, empty fields skipped.
    pub fn waypoints(&self) -> impl Iterator<Item = &'a str> + 'a {
        let step = if self.magellan { 2 } else { 1 };
        self.waypoint_fields
            .split(',')
            .skip(usize::from(self.has_name_field()))
            .step_by(step)
            .filter(|name| !name.is_empty())
    }

    /// PMGNRTE's route name (`$PMGNRTE,total,num,c,routeNo,routeName,wp1,icon1,...`), when
    /// the unit fills it in; RTE's name is its [`Self::route_id`].
    pub fn name(&self) -> Option<&'a str> {
        self.has_name_field()
            .then(|| self.waypoint_fields.split(',').next())
            .flatten()
            .filter(|name| !name.is_empty())
    }

    /// Whether a Magellan route has its name field: waypoints come in name,icon pairs, so an
    /// odd count of fields has one more. Some units leave it out.
    fn has_name_field(&self) -> bool {
        self.magellan && self.waypoint_fields.split(',').count() % 2 == 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bod<'a> {
    pub bearing_true: Option<f64>,
    pub bearing_magnetic: Option<f64>,
    pub destination: &'a str,
    pub origin: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmb<'a> {
    pub status: Option<u8>,
    pub cross_track_nm: Option<f64>,
    pub origin: &'a str,
    pub destination: &'a str,
    pub destination_position: Option<LatLon>,
    pub range_nm: Option<f64>,
    pub bearing_true: Option<f64>,
    pub arrived: Option<u8>,
}

/// Garmin estimated position error, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pgrme {
    pub horizontal: Option<f64>,
    pub vertical: Option<f64>,
    pub spherical: Option<f64>,
}

/// Garmin altitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pgrmz {
    pub altitude_m: Option<f64>,
    /// 2 = 2D, 3 = 3D.
    pub fix_dimension: Option<u32>,
}

/// Garmin map datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pgrmm<'a> {
    pub datum: &'a str,
}

/// Garmin sensor status: model/firmware and self-test results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pgrmt<'a> {
    pub product: &'a str,
    /// The remaining pass/fail fields, unsplit.
    pub checks: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sentence<'a> {
    Gga(Gga),
    Rmc(Rmc),
    Gll(Gll),
    Gsa(Gsa),
    Gsv(Gsv<'a>),
    Vtg(Vtg),
    Zda(Zda),
    Gst(Gst),
    Gns(Gns<'a>),
    Wpl(Waypoint<'a>),
    Rte(Route<'a>),
    Bod(Bod<'a>),
    Rmb(Rmb<'a>),
    Pgrme(Pgrme),
    Pgrmz(Pgrmz),
    Pgrmm(Pgrmm<'a>),
    Pgrmt(Pgrmt<'a>),
    Pmgnwpl(Waypoint<'a>),
    Pmgnrte(Route<'a>),
    /// Any other sentence: accepted, kept raw.
    Other,
}

/// A sentence whose type is known but whose fields do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: &'static str,
    pub error: FieldError,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.error)
    }
}

/// A decoded line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed<'a> {
    pub line: Line<'a>,
    talker: &'a [u8],
    /// Sentence type: the formatter (`GGA`) or the full proprietary address (`PGRME`).
    pub kind: &'a str,
    pub sentence: Sentence<'a>,
}

impl<'a> Parsed<'a> {
    /// Talker (`GP`, `GN`, ...) or, for proprietary sentences, `P` plus the maker (`PGRM`).
    pub fn talker(&self) -> &'a str {
        ascii(self.talker)
    }

    /// The position the sentence reports, whether or not the receiver calls it valid.
    pub fn position(&self) -> Option<LatLon> {
        match &self.sentence {
            Sentence::Gga(s) => s.position,
            Sentence::Rmc(s) => s.position,
            Sentence::Gll(s) => s.position,
            Sentence::Gns(s) => s.position,
            _ => None,
        }
    }

    /// The position, if the receiver says it is a fix it measured (not void, estimated or
    /// simulated).
    pub fn measured_position(&self) -> Option<LatLon> {
        let measured = match &self.sentence {
            Sentence::Gga(s) => s.quality.is_some_and(FixQuality::is_measured),
            Sentence::Rmc(s) => s.status == Some(b'A') && s.mode.is_none_or(mode_is_measured),
            Sentence::Gll(s) => s.status != Some(b'V') && s.mode.is_none_or(mode_is_measured),
            Sentence::Gns(s) => s.is_measured(),
            _ => false,
        };
        self.position().filter(|_| measured)
    }

    /// The UTC time of day the sentence carries.
    pub fn time(&self) -> Option<TimeOfDay> {
        match &self.sentence {
            Sentence::Gga(s) => s.time,
            Sentence::Rmc(s) => s.time,
            Sentence::Gll(s) => s.time,
            Sentence::Gns(s) => s.time,
            Sentence::Zda(s) => s.time,
            Sentence::Gst(s) => s.time,
            _ => None,
        }
    }
}

/// Decodes a checksum-checked line.
pub fn decode(line: Line<'_>) -> Result<Parsed<'_>, DecodeError> {
    let payload = line.payload;
    let address_end = payload
        .iter()
        .position(|&b| b == b',')
        .unwrap_or(payload.len());
    let address = &payload[..address_end];
    let mut fields = Fields::new(&payload[address_end..]);
    let (talker, kind) = split_address(address);
    let f = &mut fields;
    let (name, decoded) = match kind {
        b"GGA" => ("GGA", gga(f)),
        b"RMC" => ("RMC", rmc(f)),
        b"GLL" => ("GLL", gll(f)),
        b"GSA" => ("GSA", gsa(f)),
        b"GSV" => ("GSV", gsv(f)),
        b"VTG" => ("VTG", vtg(f)),
        b"ZDA" => ("ZDA", zda(f)),
        b"GST" => ("GST", gst(f)),
        b"GNS" => ("GNS", gns(f)),
        b"WPL" => ("WPL", wpl(f)),
        b"RTE" => ("RTE", rte(f)),
        b"BOD" => ("BOD", bod(f)),
        b"RMB" => ("RMB", rmb(f)),
        b"PGRME" => ("PGRME", pgrme(f)),
        b"PGRMZ" => ("PGRMZ", pgrmz(f)),
        b"PGRMM" => ("PGRMM", pgrmm(f)),
        b"PGRMT" => ("PGRMT", pgrmt(f)),
        b"PMGNWPL" => ("PMGNWPL", pmgnwpl(f)),
        b"PMGNRTE" => ("PMGNRTE", pmgnrte(f)),
        _ => {
            return Ok(Parsed {
                line,
                talker,
                kind: ascii(kind),
                sentence: Sentence::Other,
            });
        }
    };
    let sentence = decoded.map_err(|error| DecodeError { kind: name, error })?;
    Ok(Parsed {
        line,
        talker,
        kind: name,
        sentence,
    })
}

/// `GPGGA` → (`GP`, `GGA`); `PGRME` → (`PGRM`, `PGRME`); anything else is kept whole.
fn split_address(address: &[u8]) -> (&[u8], &[u8]) {
    match address {
        [b'P', ..] => (&address[..address.len().min(4)], address),
        [_, _, _, _, _] => address.split_at(2),
        _ => (&[], address),
    }
}

fn gga<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let time = f.time()?;
    let position = lat_lon(f.latitude()?, f.longitude()?);
    Ok(Sentence::Gga(Gga {
        time,
        position,
        quality: f.u32()?.map(FixQuality::from_digit),
        satellites: f.u32()?,
        hdop: f.f64()?,
        altitude: f.f64()?,
        geoid_separation: {
            f.skip(1);
            let sep = f.f64()?;
            f.skip(1);
            sep
        },
        correction_age: f.f64()?,
    }))
}

fn rmc<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let time = f.time()?;
    let status = f.char();
    let position = lat_lon(f.latitude()?, f.longitude()?);
    let speed_knots = f.f64()?;
    let track = f.f64()?;
    let date_text = f.bytes();
    let date = if date_text.is_empty() {
        None
    } else {
        Some(Date::parse_ddmmyy(date_text).ok_or(FieldError {
            field: 9,
            problem: Problem::Malformed,
        })?)
    };
    f.skip(2); // magnetic variation and its direction
    Ok(Sentence::Rmc(Rmc {
        time,
        status,
        position,
        speed_knots,
        track,
        date,
        mode: f.char(),
    }))
}

fn gll<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let position = lat_lon(f.latitude()?, f.longitude()?);
    Ok(Sentence::Gll(Gll {
        position,
        time: f.time()?,
        status: f.char(),
        mode: f.char(),
    }))
}

fn gsa<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let selection = f.char();
    let fix_type = f.u32()?;
    let mut prns = [0u16; 12];
    let mut prn_count = 0u8;
    for _ in 0..12 {
        if let Some(prn) = f.u32()? {
            prns[usize::from(prn_count)] = prn.min(u32::from(u16::MAX)) as u16;
            prn_count += 1;
        }
    }
    Ok(Sentence::Gsa(Gsa {
        selection,
        fix_type,
        prns,
        prn_count,
        pdop: f.f64()?,
        hdop: f.f64()?,
        vdop: f.f64()?,
    }))
}

fn gsv<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    Ok(Sentence::Gsv(Gsv {
        sentence_count: f.u32()?,
        sentence_number: f.u32()?,
        satellites_in_view: f.u32()?,
        satellite_fields: std::mem::replace(f, Fields::exhausted()),
    }))
}

fn vtg<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let track_true = f.f64()?;
    // NMEA 1.5 receivers send four bare numbers; later ones tag each value with a unit letter.
    let mut probe = *f;
    if probe.bytes() != b"T" {
        return Ok(Sentence::Vtg(Vtg {
            track_true,
            track_magnetic: f.f64()?,
            speed_knots: f.f64()?,
            speed_kmh: f.f64()?,
            mode: None,
        }));
    }
    f.skip(1);
    let track_magnetic = f.f64()?;
    f.skip(1);
    let speed_knots = f.f64()?;
    f.skip(1);
    let speed_kmh = f.f64()?;
    f.skip(1);
    Ok(Sentence::Vtg(Vtg {
        track_true,
        track_magnetic,
        speed_knots,
        speed_kmh,
        mode: f.char(),
    }))
}

fn zda<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let time = f.time()?;
    let day = f.u32()?;
    let month = f.u32()?;
    let year = f.u32()?;
    let date = match (year, month, day) {
        (Some(y), Some(m), Some(d)) => Some(Date::new(y, m, d).ok_or(FieldError {
            field: 2,
            problem: Problem::OutOfRange,
        })?),
        _ => None,
    };
    let zone_hours = f.text().parse::<i8>().ok();
    let zone_minutes = f.text().parse::<u8>().ok();
    Ok(Sentence::Zda(Zda {
        time,
        date,
        zone_hours,
        zone_minutes,
    }))
}

fn gst<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    Ok(Sentence::Gst(Gst {
        time: f.time()?,
        rms: f.f64()?,
        semi_major: f.f64()?,
        semi_minor: f.f64()?,
        orientation: f.f64()?,
        lat_sigma: f.f64()?,
        lon_sigma: f.f64()?,
        alt_sigma: f.f64()?,
    }))
}

fn gns<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let time = f.time()?;
    let position = lat_lon(f.latitude()?, f.longitude()?);
    Ok(Sentence::Gns(Gns {
        time,
        position,
        modes: f.text(),
        satellites: f.u32()?,
        hdop: f.f64()?,
        altitude: f.f64()?,
    }))
}

fn wpl<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let position = lat_lon(f.latitude()?, f.longitude()?);
    Ok(Sentence::Wpl(Waypoint {
        position,
        name: f.text(),
        altitude_m: None,
        comment: "",
    }))
}

fn route<'a>(f: &mut Fields<'a>, magellan: bool) -> Result<Route<'a>, FieldError> {
    let missing = |field| FieldError {
        field,
        problem: Problem::Malformed,
    };
    let sentence_count = f.u32()?.ok_or(missing(1))?;
    let sentence_number = f.u32()?.ok_or(missing(2))?;
    if sentence_number == 0 || sentence_number > sentence_count {
        return Err(FieldError {
            field: 2,
            problem: Problem::OutOfRange,
        });
    }
    Ok(Route {
        sentence_count,
        sentence_number,
        kind: f.char().unwrap_or(b'c'),
        route_id: f.text(),
        waypoint_fields: f.remainder(),
        magellan,
    })
}

fn rte<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    route(f, false).map(Sentence::Rte)
}

fn pmgnrte<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    route(f, true).map(Sentence::Pmgnrte)
}

fn bod<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let bearing_true = f.f64()?;
    f.skip(1);
    let bearing_magnetic = f.f64()?;
    f.skip(1);
    Ok(Sentence::Bod(Bod {
        bearing_true,
        bearing_magnetic,
        destination: f.text(),
        origin: f.text(),
    }))
}

fn rmb<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let status = f.char();
    let cross_track_nm = f.f64()?;
    f.skip(1); // steer left/right
    let origin = f.text();
    let destination = f.text();
    let destination_position = lat_lon(f.latitude()?, f.longitude()?);
    Ok(Sentence::Rmb(Rmb {
        status,
        cross_track_nm,
        origin,
        destination,
        destination_position,
        range_nm: f.f64()?,
        bearing_true: f.f64()?,
        arrived: {
            f.skip(1); // closing velocity
            f.char()
        },
    }))
}

/// An altitude in metres, from the value and its unit field (`M`, or `F` for feet).
fn metres(altitude: Option<f64>, unit: Option<u8>) -> Option<f64> {
    match unit {
        Some(b'F' | b'f') => altitude.map(|feet| feet * 0.3048),
        _ => altitude,
    }
}

fn pgrme<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let horizontal = f.f64()?;
    f.skip(1);
    let vertical = f.f64()?;
    f.skip(1);
    Ok(Sentence::Pgrme(Pgrme {
        horizontal,
        vertical,
        spherical: f.f64()?,
    }))
}

fn pgrmz<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let altitude = f.f64()?;
    Ok(Sentence::Pgrmz(Pgrmz {
        altitude_m: metres(altitude, f.char()),
        fix_dimension: f.u32()?,
    }))
}

fn pgrmm<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    Ok(Sentence::Pgrmm(Pgrmm { datum: f.text() }))
}

fn pgrmt<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    Ok(Sentence::Pgrmt(Pgrmt {
        product: f.text(),
        checks: f.remainder(),
    }))
}

fn pmgnwpl<'a>(f: &mut Fields<'a>) -> Result<Sentence<'a>, FieldError> {
    let position = lat_lon(f.latitude()?, f.longitude()?);
    let altitude = f.f64()?;
    Ok(Sentence::Pmgnwpl(Waypoint {
        position,
        altitude_m: metres(altitude, f.char()),
        name: f.text(),
        comment: f.text(),
    }))
}
