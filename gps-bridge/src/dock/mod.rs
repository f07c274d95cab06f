//! The dock: the units docked at this office (counters, current fix, route assembly,
//! plausibility) and the corner being marked. Sans-io, like the route assembler it drives:
//! device events, `mark` requests and clock ticks come in ([`Dock::handle_device`],
//! [`Dock::handle_mark`], [`Dock::handle_tick`]); what to record and what to reply comes out of
//! [`Dock::poll_effect`]. The daemon records (the survey store) and replies (the control
//! socket); a record is committed before the reply that says it exists.
//!
//! `R` is where a reply goes: the daemon's reply channel, a plain number in tests.

mod fix;
pub mod reply;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::device::{DeviceEvent, UnitInfo};
use crate::log_limit::LogLimiter;
use crate::nmea::{OwnedLine, Tally, decode};
use crate::sanity::Sanity;
use crate::survey::{
    Corner, CornerCapture, IncompleteRoute, PlotCandidate, QualityFilter, RouteAssembler,
    RouteConfig, RouteEvent,
};
use fix::CurrentFix;
pub use reply::{
    Answer, CaptureStatus, ClosePlotReply, DockStatus, MarkReply, Reply, RouteProgress,
    StatusReply, UnitStatus,
};

/// The settings the dock uses, taken from [`Config`].
#[derive(Debug, Clone)]
pub struct DockSettings {
    pub route: RouteConfig,
    pub filter: QualityFilter,
    pub default_capture: Duration,
    pub max_jump_km: f64,
}

impl DockSettings {
    pub fn from_config(config: &Config) -> Self {
        DockSettings {
            route: config.route.route_config(),
            filter: config.capture.filter(),
            default_capture: Duration::from_secs_f64(config.capture.default_secs),
            max_jump_km: config.sanity.max_jump_km,
        }
    }
}

/// What the daemon is to do, in order.
#[derive(Debug)]
pub enum Effect<R> {
    /// Record a route the unit on `port` transferred, unless the store holds the same route
    /// already (a restarted bridge hears the active route again); if it cannot be recorded,
    /// tell [`Dock::not_recorded`].
    RecordRoute {
        port: String,
        plot: PlotCandidate,
    },
    RecordIncompleteRoute(IncompleteRoute),
    /// Record a marked corner of the unit on `port`, then answer `reply` with it.
    RecordMark {
        port: String,
        corner: Corner,
        /// The capture ended before its time (the unit went away, the bridge is stopping).
        cut_short: bool,
        reply: R,
    },
    Reply {
        reply: R,
        answer: Reply,
    },
}

/// Corners marked and not yet closed into a plot, as `(port, corner name)`: the unit's plot
/// in progress. A `mark` may not repeat one of its unit's names (the plot would have two
/// corners of one name); the daemon reads them from the survey store and passes them in.
pub type OpenMarks = BTreeSet<(String, String)>;

struct Unit {
    info: Option<UnitInfo>,
    docked: bool,
    tally: Tally,
    fix: CurrentFix,
    routes: RouteAssembler,
    sanity: Sanity,
}

struct ActiveCapture<R> {
    port: String,
    capture: CornerCapture,
    reply: R,
}

pub struct Dock<R> {
    settings: DockSettings,
    units: BTreeMap<String, Unit>,
    capture: Option<ActiveCapture<R>>,
    effects: VecDeque<Effect<R>>,
    log: LogLimiter,
}

impl<R> Dock<R> {
    pub fn new(settings: DockSettings) -> Self {
        Dock {
            settings,
            units: BTreeMap::new(),
            capture: None,
            effects: VecDeque::new(),
            log: LogLimiter::default(),
        }
    }

    pub fn poll_effect(&mut self) -> Option<Effect<R>> {
        self.effects.pop_front()
    }

    fn unit(&mut self, port: &str) -> &mut Unit {
        let route = self.settings.route;
        self.units.entry(port.to_owned()).or_insert_with(|| Unit {
            info: None,
            docked: true,
            tally: Tally::default(),
            fix: CurrentFix::default(),
            routes: RouteAssembler::new(port, route),
            sanity: Sanity::default(),
        })
    }

    /// Ports with a unit docked now, with its model when known.
    pub fn docked(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.units
            .iter()
            .filter(|(_, u)| u.docked)
            .map(|(port, u)| {
                (
                    port.as_str(),
                    u.info.as_ref().and_then(|i| i.model.as_deref()),
                )
            })
    }

    pub fn handle_device(&mut self, event: DeviceEvent, now: Instant) {
        let port = event.port().to_owned();
        match event {
            DeviceEvent::Docked(info) => {
                if self.log.allow(&port, "docked", now) {
                    tracing::info!(port = %info.port, baud = info.baud, framing = %info.framing, model = ?info.model, "unit docked (logged once a minute per port)");
                }
                let unit = self.unit(&port);
                unit.info = Some(info);
                unit.docked = true;
                // A new docking may be another unit, somewhere else, with its own clock and
                // its own waypoints.
                unit.sanity = Sanity::default();
                unit.routes.unit_gone();
                self.drain_routes(&port);
            }
            DeviceEvent::Rejected { cause, .. } => {
                self.unit(&port).tally.reject(cause);
                if self.log.allow(&port, cause.name(), now) {
                    tracing::warn!(%port, %cause, "sentence rejected (logged once a minute per cause)");
                }
            }
            DeviceEvent::Sentence { line, .. } => self.sentence(&port, &line, now),
            DeviceEvent::Undocked { reason, .. } => {
                if self.log.allow(&port, reason.cause(), now) {
                    tracing::info!(%port, %reason, "receiver port closed (logged once a minute per cause)");
                }
                // A port that never docked (it did not open, or hung up before its speed was
                // found) is no unit.
                let Some(unit) = self.units.get_mut(&port) else {
                    return;
                };
                unit.docked = false;
                unit.routes.unit_gone();
                self.drain_routes(&port);
                if self.capture.as_ref().is_some_and(|c| c.port == port) {
                    self.finish_capture(now);
                }
            }
        }
    }

    /// A sentence the reader's framer accepted (its checksum is not checked again).
    fn sentence(&mut self, port: &str, line: &OwnedLine, now: Instant) {
        let max_jump_km = self.settings.max_jump_km;
        let raw = line.raw();
        let unit = self.unit(port);
        unit.tally.accepted += 1;
        let parsed = match decode(line.line()) {
            Ok(parsed) => parsed,
            Err(e) => {
                unit.tally.undecodable(&e);
                if self.log.allow(port, e.kind, now) {
                    tracing::warn!(%port, %raw, error = %e, "undecodable sentence (logged once a minute per type)");
                }
                return;
            }
        };
        if let Err(cause) = unit.sanity.check(&parsed, max_jump_km) {
            unit.tally.anomaly(cause);
            if self.log.allow(port, cause, now) {
                tracing::warn!(%port, %raw, cause, "implausible sentence ignored (logged once a minute per cause)");
            }
            return;
        }
        unit.fix.update(&parsed);
        unit.routes.handle(&parsed, now);
        if let Some(active) = self.capture.as_mut().filter(|c| c.port == port) {
            active.capture.handle(&parsed);
        }
        self.drain_routes(port);
    }

    /// Passes on what the route assembler of `port` has finished.
    fn drain_routes(&mut self, port: &str) {
        let Some(unit) = self.units.get_mut(port) else {
            return;
        };
        while let Some(event) = unit.routes.poll_event() {
            self.effects.push_back(match event {
                RouteEvent::Complete(plot) => Effect::RecordRoute {
                    port: port.to_owned(),
                    plot,
                },
                RouteEvent::Incomplete(route) => Effect::RecordIncompleteRoute(route),
            });
        }
    }

    /// The daemon could not record `plot` (say, the disk was full): the unit's next transfer
    /// of the route is recorded instead.
    pub fn not_recorded(&mut self, port: &str, plot: &PlotCandidate) {
        if let Some(unit) = self.units.get_mut(port) {
            unit.routes.not_recorded(plot);
        }
    }

    /// Clock: finishes a due capture and times out stale routes.
    pub fn handle_tick(&mut self, now: Instant) {
        if self
            .capture
            .as_ref()
            .is_some_and(|c| now >= c.capture.deadline())
        {
            self.finish_capture(now);
        }
        let ports: Vec<String> = self.units.keys().cloned().collect();
        for port in ports {
            if let Some(unit) = self.units.get_mut(&port) {
                unit.routes.handle_timeout(now);
            }
            self.drain_routes(&port);
        }
    }

    /// The bridge is stopping: a corner being marked is recorded from the fixes it has (or
    /// refused, if they are too few) rather than dropped with its reply.
    pub fn handle_stop(&mut self, now: Instant) {
        self.finish_capture(now);
    }

    /// Ends the capture, before its time if the unit went away or the bridge is stopping.
    fn finish_capture(&mut self, now: Instant) {
        let Some(active) = self.capture.take() else {
            return;
        };
        let cut_short = now < active.capture.deadline();
        self.effects.push_back(match active.capture.finish() {
            Ok(corner) => Effect::RecordMark {
                port: active.port,
                corner,
                cut_short,
                reply: active.reply,
            },
            Err(e) => Effect::Reply {
                reply: active.reply,
                answer: Reply::refused(e),
            },
        });
    }

    /// `mark`: starts averaging the fixes of one unit into a corner; the reply follows when
    /// the capture is due. `open_marks`: the corners marked so far, by unit.
    pub fn handle_mark(
        &mut self,
        name: String,
        secs: Option<f64>,
        port: Option<String>,
        open_marks: &OpenMarks,
        reply: R,
        now: Instant,
    ) {
        match self.start_capture(name, secs, port, open_marks, now) {
            Ok((port, capture)) => {
                self.capture = Some(ActiveCapture {
                    port,
                    capture,
                    reply,
                })
            }
            Err(message) => self.effects.push_back(Effect::Reply {
                reply,
                answer: Reply::Refused(message),
            }),
        }
    }

    fn start_capture(
        &mut self,
        name: String,
        secs: Option<f64>,
        port: Option<String>,
        open_marks: &OpenMarks,
        now: Instant,
    ) -> Result<(String, CornerCapture), String> {
        if let Some(active) = &self.capture {
            return Err(format!("corner {} is being marked", active.capture.name()));
        }
        let duration = match secs {
            None => self.settings.default_capture,
            Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
            Some(s) => return Err(format!("--secs {s} is not between 0 and 3600")),
        };
        let docked: Vec<&str> = self.docked().map(|(port, _)| port).collect();
        let port = match (port, docked.as_slice()) {
            (Some(p), _) if docked.contains(&p.as_str()) => p,
            (Some(p), _) => return Err(format!("no unit docked on {p}")),
            (None, [only]) => (*only).to_owned(),
            (None, []) => return Err("no unit docked".to_owned()),
            (None, _) => return Err("several units docked: name one with --port".to_owned()),
        };
        if open_marks.contains(&(port.clone(), name.clone())) {
            return Err(format!(
                "name: corner {name} is marked already on {port}; mark it under another name, \
                 or close the plot first"
            ));
        }
        let capture = CornerCapture::start(name, now, duration, self.settings.filter);
        Ok((port, capture))
    }

    pub fn status(&self, now: Instant) -> DockStatus {
        let units = self
            .units
            .iter()
            .map(|(port, u)| UnitStatus {
                port: port.clone(),
                docked: u.docked,
                vid: u
                    .info
                    .as_ref()
                    .and_then(|i| i.vid)
                    .map(|v| format!("{v:04x}")),
                pid: u
                    .info
                    .as_ref()
                    .and_then(|i| i.pid)
                    .map(|v| format!("{v:04x}")),
                model: u.info.as_ref().and_then(|i| i.model.clone()),
                baud: u.info.as_ref().map(|i| i.baud),
                framing: u.info.as_ref().map(|i| i.framing),
                sentences: u.tally.accepted,
                rejects: u.tally.rejected.clone(),
                undecodable: u.tally.undecodable.clone(),
                implausible: u.tally.anomalies.clone(),
                fix: u.fix.fix().cloned(),
                routes_in_progress: u
                    .routes
                    .in_progress()
                    .into_iter()
                    .map(|(route, sentences, of)| RouteProgress {
                        route,
                        sentences,
                        of,
                    })
                    .collect(),
            })
            .collect();
        let capture = self.capture.as_ref().map(|c| {
            let (fixes_accepted, fixes_seen) = c.capture.progress();
            CaptureStatus {
                corner: c.capture.name().to_owned(),
                port: c.port.clone(),
                fixes_accepted,
                fixes_seen,
                remaining_s: c
                    .capture
                    .deadline()
                    .saturating_duration_since(now)
                    .as_secs_f64(),
            }
        });
        DockStatus { units, capture }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::UndockReason;
    use crate::nmea::testing::owned_line;

    const PORT: &str = "/dev/ttyUSB0";

    fn sentence(body: &str) -> DeviceEvent {
        DeviceEvent::Sentence {
            port: PORT.to_owned(),
            line: owned_line(body),
        }
    }

    fn undocked() -> DeviceEvent {
        DeviceEvent::Undocked {
            port: PORT.to_owned(),
            reason: UndockReason::EndOfFile,
        }
    }

    fn dock() -> Dock<u32> {
        Dock::new(DockSettings::from_config(&Config::default()))
    }

    fn effects(dock: &mut Dock<u32>) -> Vec<Effect<u32>> {
        std::iter::from_fn(|| dock.poll_effect()).collect()
    }

    fn routes_recorded(effects: &[Effect<u32>]) -> Vec<&PlotCandidate> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::RecordRoute { plot, .. } => Some(plot),
                _ => None,
            })
            .collect()
    }

    const TRANSFER: [&str; 4] = [
        "GPWPL,3954.0000,N,11624.0000,E,C1",
        "GPWPL,3954.0100,N,11624.0000,E,C2",
        "GPWPL,3954.0100,N,11624.0100,E,C3",
        "GPRTE,1,1,c,PLOT7,C1,C2,C3",
    ];

    #[test]
    fn implausible_fixes_are_counted_and_a_cut_route_is_recorded_on_undock() {
        let mut d = dock();
        let now = Instant::now();
        for body in [
            "GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,115900,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,120002,3352.0000,S,15112.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,120003,9954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPRTE,2,1,c,PLOT7,C1,C2",
            "GPWPL,3954.0000,N,11624.0000,E,C1",
        ] {
            d.handle_device(sentence(body), now);
        }
        d.handle_device(
            DeviceEvent::Rejected {
                port: PORT.to_owned(),
                cause: crate::nmea::Reject::BadChecksum,
            },
            now,
        );
        let s = serde_json::to_value(d.status(now)).unwrap();
        let unit = &s["units"][0];
        assert_eq!(unit["sentences"], 6);
        assert_eq!(unit["implausible"]["time_backwards"], 1);
        assert_eq!(unit["implausible"]["position_jump"], 1);
        assert_eq!(unit["implausible"]["position_out_of_range"], 1);
        assert!(unit["undecodable"].as_object().unwrap().is_empty());
        assert_eq!(unit["rejects"]["bad_checksum"], 1);
        assert_eq!(unit["routes_in_progress"][0]["route"], "PLOT7");
        assert!(effects(&mut d).is_empty());
        // The unit is swapped in the middle of its route.
        d.handle_device(undocked(), now);
        let got = effects(&mut d);
        assert!(
            matches!(got.as_slice(), [Effect::RecordIncompleteRoute(r)] if r.route_id == "PLOT7"),
            "{got:?}"
        );
        assert!(!d.status(now).units[0].docked);
        assert_eq!(d.docked().count(), 0);
    }

    #[test]
    fn a_route_times_out_on_the_clock_when_the_unit_falls_silent() {
        let mut d = dock();
        let t0 = Instant::now();
        d.handle_device(sentence("GPRTE,2,1,c,PLOT7,C1,C2"), t0);
        let timeout = Config::default().route.route_config().timeout;
        d.handle_tick(t0 + timeout - Duration::from_millis(1));
        assert!(effects(&mut d).is_empty());
        d.handle_tick(t0 + timeout);
        assert!(matches!(
            effects(&mut d).as_slice(),
            [Effect::RecordIncompleteRoute(_)]
        ));
        assert!(d.status(t0).units[0].routes_in_progress.is_empty());
    }

    #[test]
    fn status_names_a_docked_units_usb_ids_model_and_speed() {
        let mut d = dock();
        d.handle_device(
            DeviceEvent::Docked(UnitInfo {
                port: PORT.into(),
                vid: Some(0x067b),
                pid: Some(0x2303),
                model: Some("Prolific PL2303 serial cable".into()),
                baud: 9600,
                framing: crate::device::Framing::EightNoneOne,
            }),
            Instant::now(),
        );
        let unit = &serde_json::to_value(d.status(Instant::now())).unwrap()["units"][0];
        assert_eq!(
            (
                &unit["vid"],
                &unit["pid"],
                &unit["model"],
                &unit["baud"],
                &unit["framing"],
                &unit["docked"]
            ),
            (
                &serde_json::json!("067b"),
                &serde_json::json!("2303"),
                &serde_json::json!("Prolific PL2303 serial cable"),
                &serde_json::json!(9600),
                &serde_json::json!("8N1"),
                &serde_json::json!(true)
            )
        );
        assert_eq!(
            d.docked().collect::<Vec<_>>(),
            [(PORT, Some("Prolific PL2303 serial cable"))]
        );
    }

    #[test]
    fn a_route_the_daemon_could_not_record_is_recorded_from_the_next_transfer() {
        let mut d = dock();
        let now = Instant::now();
        for body in TRANSFER {
            d.handle_device(sentence(body), now);
        }
        let got = effects(&mut d);
        let plot = routes_recorded(&got)[0].clone();
        // Repeated transfers of a recorded route are not recorded again...
        for body in TRANSFER {
            d.handle_device(sentence(body), now);
        }
        assert!(effects(&mut d).is_empty());
        // ...unless the daemon says the store did not take it (a full disk).
        d.not_recorded(PORT, &plot);
        for _ in 0..2 {
            for body in TRANSFER {
                d.handle_device(sentence(body), now);
            }
        }
        let got = effects(&mut d);
        assert_eq!(routes_recorded(&got), [&plot]);
    }

    #[test]
    fn a_port_that_never_docked_is_no_unit() {
        let mut d = dock();
        d.handle_device(
            DeviceEvent::Undocked {
                port: "/dev/ttyS0".to_owned(),
                reason: UndockReason::OpenFailed("Inappropriate ioctl for device".to_owned()),
            },
            Instant::now(),
        );
        assert!(d.status(Instant::now()).units.is_empty());
    }

    #[test]
    fn a_unit_docked_in_place_of_another_does_not_inherit_its_waypoints() {
        let mut d = dock();
        let now = Instant::now();
        for body in &TRANSFER[..3] {
            d.handle_device(sentence(body), now);
        }
        d.handle_device(undocked(), now);
        d.handle_device(
            DeviceEvent::Docked(UnitInfo {
                port: PORT.to_owned(),
                vid: None,
                pid: None,
                model: None,
                baud: 4800,
                framing: crate::device::Framing::EightNoneOne,
            }),
            now,
        );
        d.handle_device(sentence(TRANSFER[3]), now);
        assert!(routes_recorded(&effects(&mut d)).is_empty());
        for body in [
            "GPWPL,3010.0000,N,11624.0000,E,C1",
            "GPWPL,3010.0100,N,11624.0000,E,C2",
            "GPWPL,3010.0100,N,11624.0100,E,C3",
        ] {
            d.handle_device(sentence(body), now);
        }
        let got = effects(&mut d);
        let recorded = routes_recorded(&got);
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].corners.iter().all(|c| c.lat < 31.0));
    }

    #[test]
    fn mark_replies_when_the_capture_is_due_and_refuses_without_a_unit() {
        let mut d = dock();
        let t0 = Instant::now();
        d.handle_mark("J1".to_owned(), Some(5.0), None, &OpenMarks::new(), 1, t0);
        assert!(matches!(
            effects(&mut d).as_slice(),
            [Effect::Reply { reply: 1, answer: Reply::Refused(m) }] if m == "no unit docked"
        ));
        d.handle_device(
            sentence("GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,"),
            t0,
        );
        d.handle_mark("J1".to_owned(), Some(5.0), None, &OpenMarks::new(), 2, t0);
        d.handle_mark("J2".to_owned(), Some(5.0), None, &OpenMarks::new(), 3, t0);
        assert!(matches!(
            effects(&mut d).as_slice(),
            [Effect::Reply { reply: 3, answer: Reply::Refused(m) }] if m.contains("J1 is being marked")
        ));
        for s in 1..=4 {
            let body =
                format!("GPGGA,1200{s:02},3954.0000,N,11624.0000,E,2,09,0.8,50,M,0,M,3.0,0001");
            d.handle_device(sentence(&body), t0);
        }
        d.handle_tick(t0 + Duration::from_secs(4));
        assert!(effects(&mut d).is_empty(), "not due yet");
        // The last fix waits for a GSA of its epoch, or the next fix, or the end.
        assert_eq!(d.status(t0).capture.unwrap().fixes_accepted, 3);
        d.handle_tick(t0 + Duration::from_secs(5));
        let got = effects(&mut d);
        let [
            Effect::RecordMark {
                port,
                corner,
                cut_short: false,
                reply: 2,
            },
        ] = got.as_slice()
        else {
            panic!("{got:?}")
        };
        assert_eq!((port.as_str(), corner.fixes), (PORT, 4));
        assert!(d.status(t0).capture.is_none());
    }

    #[test]
    fn mark_refuses_a_name_its_unit_has_marked_already() {
        let mut d = dock();
        let t0 = Instant::now();
        d.handle_device(
            sentence("GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,"),
            t0,
        );
        let open: OpenMarks = [
            (PORT.to_owned(), "J1".to_owned()),
            ("/dev/ttyUSB1".to_owned(), "J2".to_owned()),
        ]
        .into();
        d.handle_mark("J1".to_owned(), Some(5.0), None, &open, 1, t0);
        let got = effects(&mut d);
        assert!(
            matches!(got.as_slice(), [Effect::Reply { reply: 1, answer: Reply::Refused(m) }]
                if m.starts_with("name: corner J1 is marked already on /dev/ttyUSB0")),
            "{got:?}"
        );
        assert!(d.status(t0).capture.is_none(), "nothing is being marked");
        // Another unit's plot may have a corner of the same name.
        d.handle_mark("J2".to_owned(), Some(5.0), None, &open, 2, t0);
        assert!(effects(&mut d).is_empty());
        assert_eq!(d.status(t0).capture.unwrap().corner, "J2");
    }

    #[test]
    fn a_stop_records_the_corner_being_marked_from_the_fixes_it_has() {
        let mut d = dock();
        let t0 = Instant::now();
        d.handle_device(
            sentence("GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,"),
            t0,
        );
        d.handle_mark("J1".to_owned(), Some(60.0), None, &OpenMarks::new(), 7, t0);
        for s in 1..=5 {
            let body =
                format!("GPGGA,1200{s:02},3954.0000,N,11624.0000,E,2,09,0.8,50,M,0,M,3.0,0001");
            d.handle_device(sentence(&body), t0);
        }
        d.handle_stop(t0 + Duration::from_secs(2));
        let got = effects(&mut d);
        assert!(
            matches!(got.as_slice(), [Effect::RecordMark { cut_short: true, reply: 7, corner, .. }] if corner.fixes == 5),
            "{got:?}"
        );
        // A capture with too few fixes is answered with the reason, not dropped.
        d.handle_mark("J2".to_owned(), Some(60.0), None, &OpenMarks::new(), 8, t0);
        d.handle_stop(t0 + Duration::from_secs(3));
        assert!(matches!(
            effects(&mut d).as_slice(),
            [Effect::Reply {
                reply: 8,
                answer: Reply::Refused(_)
            }]
        ));
    }

    #[test]
    fn replies_carry_ok_and_their_fields_or_an_error() {
        let refused = serde_json::to_value(Reply::refused("no unit docked")).unwrap();
        assert_eq!(
            refused,
            serde_json::json!({"ok": false, "error": "no unit docked"})
        );
        let status = Reply::from(Answer::Status(StatusReply {
            dock: dock().status(Instant::now()),
            open_marks: 2,
            plot_candidates: 1,
            outbox: crate::outbox::OutboxCounts::default(),
        }));
        let json = serde_json::to_value(status).unwrap();
        assert_eq!(
            (&json["ok"], &json["open_marks"]),
            (&serde_json::json!(true), &serde_json::json!(2))
        );
        assert!(json["units"].as_array().unwrap().is_empty());
    }
}
