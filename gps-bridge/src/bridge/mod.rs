//! The bridge's state: one entry per unit (counters, latest fix, route assembly, plausibility),
//! the corner being marked, and the survey store. Device events, control requests and clock
//! ticks come in; survey records go to the store before any reply says they exist.

mod fix;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::config::Config;
use crate::control::Request;
use crate::device::{DeviceEvent, UnitInfo};
use crate::log_limit::LogLimiter;
use crate::nmea::{OwnedLine, Tally, decode};
use crate::sanity::Sanity;
use crate::survey::{
    CornerCapture, QualityFilter, RouteAssembler, RouteConfig, RouteEvent, SurveyStore,
};
use fix::CurrentFix;

/// Where a reply goes.
pub type Responder = oneshot::Sender<Value>;

/// The settings the bridge uses, taken from [`Config`].
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub route: RouteConfig,
    pub filter: QualityFilter,
    pub default_capture: Duration,
    pub max_jump_km: f64,
}

impl BridgeSettings {
    pub fn from_config(config: &Config) -> Self {
        BridgeSettings {
            route: config.route.route_config(),
            filter: config.capture.filter(),
            default_capture: Duration::from_secs_f64(config.capture.default_secs),
            max_jump_km: config.sanity.max_jump_km,
        }
    }
}

struct Unit {
    info: Option<UnitInfo>,
    docked: bool,
    tally: Tally,
    fix: CurrentFix,
    routes: RouteAssembler,
    sanity: Sanity,
}

struct ActiveCapture {
    port: String,
    capture: CornerCapture,
    reply: Responder,
}

pub struct Bridge {
    settings: BridgeSettings,
    store: SurveyStore,
    units: BTreeMap<String, Unit>,
    capture: Option<ActiveCapture>,
    log: LogLimiter,
}

fn error(message: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": message.to_string()})
}

impl Bridge {
    pub fn new(settings: BridgeSettings, store: SurveyStore) -> Self {
        Bridge {
            settings,
            store,
            units: BTreeMap::new(),
            capture: None,
            log: LogLimiter::default(),
        }
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
                    self.finish_capture();
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

    /// Records what the route assembler of `port` has finished.
    fn drain_routes(&mut self, port: &str) {
        let Some(unit) = self.units.get_mut(port) else {
            return;
        };
        while let Some(event) = unit.routes.poll_event() {
            let result = match &event {
                RouteEvent::Complete(plot) => self.store.insert_candidate(plot).map(|id| {
                    tracing::info!(%port, route = %plot.name, id, corners = plot.corners.len(), "route recorded as plot candidate");
                }),
                RouteEvent::Incomplete(route) => self.store.insert_incomplete_route(route).map(|id| {
                    tracing::warn!(%port, route = %route.route_id, id, missing = ?route.missing_waypoints, "incomplete route recorded");
                }),
            };
            if let Err(e) = result {
                tracing::error!(%port, error = %e, "cannot record a survey");
                if let RouteEvent::Complete(plot) = &event {
                    unit.routes.not_recorded(plot);
                }
            }
        }
    }

    /// Clock: finishes a due capture and times out stale routes.
    pub fn handle_tick(&mut self, now: Instant) {
        if self
            .capture
            .as_ref()
            .is_some_and(|c| now >= c.capture.deadline())
        {
            self.finish_capture();
        }
        let ports: Vec<String> = self.units.keys().cloned().collect();
        for port in ports {
            if let Some(unit) = self.units.get_mut(&port) {
                unit.routes.handle_timeout(now);
            }
            self.drain_routes(&port);
        }
    }

    fn finish_capture(&mut self) {
        let Some(active) = self.capture.take() else {
            return;
        };
        let reply = match active.capture.finish() {
            Ok(corner) => match self.store.insert_mark(&active.port, &corner) {
                Ok(id) => json!({"ok": true, "mark_id": id, "port": active.port, "corner": corner}),
                Err(e) => error(format!("cannot record the corner: {e:#}")),
            },
            Err(e) => error(e),
        };
        // The client may have gone away; the mark is recorded either way.
        let _ = active.reply.send(reply);
    }

    pub fn handle_request(&mut self, request: Request, reply: Responder, now: Instant) {
        let answer = match request {
            Request::Status => self.status(now),
            Request::Mark { name, secs, port } => match self.start_capture(name, secs, port, now) {
                // The reply is sent when the capture finishes.
                Ok((port, capture)) => {
                    self.capture = Some(ActiveCapture {
                        port,
                        capture,
                        reply,
                    });
                    return;
                }
                Err(message) => error(message),
            },
            Request::ClosePlot { name, land } => match self.store.close_plot(name.as_deref(), land)
            {
                Ok((id, plot)) => json!({"ok": true, "plot_id": id, "plot": plot}),
                Err(e) => error(format!("{e:#}")),
            },
        };
        let _ = reply.send(answer);
    }

    fn start_capture(
        &mut self,
        name: String,
        secs: Option<f64>,
        port: Option<String>,
        now: Instant,
    ) -> Result<(String, CornerCapture), String> {
        if let Some(active) = &self.capture {
            return Err(format!("corner {} is being marked", active.capture.name()));
        }
        let marked = self.store.open_marks().map_err(|e| format!("{e:#}"))?;
        if marked.iter().any(|m| m.corner.name == name) {
            return Err(format!(
                "name: corner {name} is marked already in this plot; mark it under another \
                 name, or close the plot first"
            ));
        }
        let duration = match secs {
            None => self.settings.default_capture,
            Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
            Some(s) => return Err(format!("--secs {s} is not between 0 and 3600")),
        };
        let docked: Vec<&String> = self
            .units
            .iter()
            .filter(|(_, u)| u.docked)
            .map(|(p, _)| p)
            .collect();
        let port = match (port, docked.as_slice()) {
            (Some(p), _) if docked.contains(&&p) => p,
            (Some(p), _) => return Err(format!("no unit docked on {p}")),
            (None, [only]) => (*only).clone(),
            (None, []) => return Err("no unit docked".to_owned()),
            (None, _) => return Err("several units docked: name one with --port".to_owned()),
        };
        let capture = CornerCapture::start(name, now, duration, self.settings.filter);
        Ok((port, capture))
    }

    fn status(&self, now: Instant) -> Value {
        let units: Vec<Value> = self
            .units
            .iter()
            .map(|(port, u)| {
                json!({
                    "port": port,
                    "docked": u.docked,
                    "vid": u.info.as_ref().and_then(|i| i.vid).map(|v| format!("{v:04x}")),
                    "pid": u.info.as_ref().and_then(|i| i.pid).map(|v| format!("{v:04x}")),
                    "model": u.info.as_ref().and_then(|i| i.model.clone()),
                    "baud": u.info.as_ref().map(|i| i.baud),
                    "framing": u.info.as_ref().map(|i| i.framing),
                    "sentences": u.tally.accepted,
                    "rejects": u.tally.rejected,
                    "undecodable": u.tally.undecodable,
                    "implausible": u.tally.anomalies,
                    "fix": u.fix.fix(),
                    "routes_in_progress": u.routes.in_progress().into_iter()
                        .map(|(id, got, of)| json!({"route": id, "sentences": got, "of": of}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let capture = self.capture.as_ref().map(|c| {
            let (accepted, seen) = c.capture.progress();
            json!({
                "corner": c.capture.name(),
                "port": c.port,
                "fixes_accepted": accepted,
                "fixes_seen": seen,
                "remaining_s": c.capture.deadline().saturating_duration_since(now).as_secs_f64(),
            })
        });
        let open_marks = self.store.open_mark_count().unwrap_or_default();
        let candidates = self.store.candidate_count().unwrap_or_default();
        json!({
            "ok": true,
            "units": units,
            "capture": capture,
            "open_marks": open_marks,
            "plot_candidates": candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::UndockReason;
    use crate::nmea::testing::owned_line;

    fn sentence(body: &str) -> DeviceEvent {
        DeviceEvent::Sentence {
            port: "/dev/ttyUSB0".to_owned(),
            line: owned_line(body),
        }
    }

    fn bridge(dir: &std::path::Path) -> Bridge {
        let store = SurveyStore::open(&dir.join("survey.db")).unwrap();
        Bridge::new(BridgeSettings::from_config(&Config::default()), store)
    }

    fn status(bridge: &mut Bridge) -> Value {
        let (tx, mut rx) = oneshot::channel();
        bridge.handle_request(Request::Status, tx, Instant::now());
        rx.try_recv().unwrap()
    }

    #[test]
    fn implausible_fixes_are_counted_and_a_cut_route_is_recorded_on_undock() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        let now = Instant::now();
        for body in [
            "GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,115900,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,120002,3352.0000,S,15112.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,120003,9954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPRTE,2,1,c,PLOT7,C1,C2",
            "GPWPL,3954.0000,N,11624.0000,E,C1",
        ] {
            b.handle_device(sentence(body), now);
        }
        b.handle_device(
            DeviceEvent::Rejected {
                port: "/dev/ttyUSB0".to_owned(),
                cause: crate::nmea::Reject::BadChecksum,
            },
            now,
        );
        let s = status(&mut b);
        let unit = &s["units"][0];
        assert_eq!(unit["sentences"], 6);
        assert_eq!(unit["implausible"]["time_backwards"], 1);
        assert_eq!(unit["implausible"]["position_jump"], 1);
        assert_eq!(unit["implausible"]["position_out_of_range"], 1);
        assert!(unit["undecodable"].as_object().unwrap().is_empty());
        assert_eq!(unit["rejects"]["bad_checksum"], 1);
        assert_eq!(unit["routes_in_progress"][0]["route"], "PLOT7");
        // The unit is swapped in the middle of its route.
        b.handle_device(
            DeviceEvent::Undocked {
                port: "/dev/ttyUSB0".to_owned(),
                reason: UndockReason::EndOfFile,
            },
            now,
        );
        let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
        assert_eq!(store.incomplete_route_count().unwrap(), 1);
        assert_eq!(status(&mut b)["units"][0]["docked"], false);
    }

    #[test]
    fn a_route_times_out_on_the_clock_when_the_unit_falls_silent() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        let t0 = Instant::now();
        b.handle_device(sentence("GPRTE,2,1,c,PLOT7,C1,C2"), t0);
        let timeout = Config::default().route.route_config().timeout;
        b.handle_tick(t0 + timeout - Duration::from_millis(1));
        let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
        assert_eq!(store.incomplete_route_count().unwrap(), 0);
        b.handle_tick(t0 + timeout);
        assert_eq!(store.incomplete_route_count().unwrap(), 1);
        assert_eq!(status(&mut b)["units"][0]["routes_in_progress"], json!([]));
    }

    #[test]
    fn status_names_a_docked_units_usb_ids_model_and_speed() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        b.handle_device(
            DeviceEvent::Docked(UnitInfo {
                port: "/dev/ttyUSB0".into(),
                vid: Some(0x067b),
                pid: Some(0x2303),
                model: Some("Prolific PL2303 serial cable".into()),
                baud: 9600,
                framing: crate::device::Framing::EightNoneOne,
            }),
            Instant::now(),
        );
        let unit = &status(&mut b)["units"][0];
        assert_eq!(
            (
                &unit["vid"],
                &unit["pid"],
                &unit["model"],
                &unit["baud"],
                &unit["docked"]
            ),
            (
                &json!("067b"),
                &json!("2303"),
                &json!("Prolific PL2303 serial cable"),
                &json!(9600),
                &json!(true)
            )
        );
    }

    #[test]
    fn a_route_the_store_could_not_take_is_recorded_from_the_next_transfer() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        let now = Instant::now();
        // Another connection makes every candidate insert fail, as a full disk would.
        let db = rusqlite::Connection::open(dir.path().join("survey.db")).unwrap();
        db.execute_batch(
            "CREATE TRIGGER full_disk BEFORE INSERT ON plot_candidates
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
        let transfer = [
            "GPWPL,3954.0000,N,11624.0000,E,C1",
            "GPWPL,3954.0100,N,11624.0000,E,C2",
            "GPWPL,3954.0100,N,11624.0100,E,C3",
            "GPRTE,1,1,c,PLOT7,C1,C2,C3",
        ];
        for body in transfer {
            b.handle_device(sentence(body), now);
        }
        assert_eq!(status(&mut b)["plot_candidates"], 0);
        db.execute_batch("DROP TRIGGER full_disk").unwrap();
        // The handheld sends its active route again: now it is recorded, and only once.
        for _ in 0..2 {
            for body in transfer {
                b.handle_device(sentence(body), now);
            }
        }
        assert_eq!(status(&mut b)["plot_candidates"], 1);
    }

    #[test]
    fn a_port_that_never_docked_is_no_unit() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        b.handle_device(
            DeviceEvent::Undocked {
                port: "/dev/ttyS0".to_owned(),
                reason: UndockReason::OpenFailed("Inappropriate ioctl for device".to_owned()),
            },
            Instant::now(),
        );
        assert_eq!(status(&mut b)["units"], json!([]));
    }

    #[test]
    fn a_unit_docked_in_place_of_another_does_not_inherit_its_waypoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        let now = Instant::now();
        let port = "/dev/ttyUSB0".to_owned();
        for body in [
            "GPWPL,3954.0000,N,11624.0000,E,C1",
            "GPWPL,3954.0100,N,11624.0000,E,C2",
            "GPWPL,3954.0100,N,11624.0100,E,C3",
        ] {
            b.handle_device(sentence(body), now);
        }
        b.handle_device(
            DeviceEvent::Undocked {
                port: port.clone(),
                reason: UndockReason::EndOfFile,
            },
            now,
        );
        b.handle_device(
            DeviceEvent::Docked(UnitInfo {
                port,
                vid: None,
                pid: None,
                model: None,
                baud: 4800,
                framing: crate::device::Framing::EightNoneOne,
            }),
            now,
        );
        b.handle_device(sentence("GPRTE,1,1,c,PLOT7,C1,C2,C3"), now);
        assert_eq!(status(&mut b)["plot_candidates"], 0);
        for body in [
            "GPWPL,3010.0000,N,11624.0000,E,C1",
            "GPWPL,3010.0100,N,11624.0000,E,C2",
            "GPWPL,3010.0100,N,11624.0100,E,C3",
        ] {
            b.handle_device(sentence(body), now);
        }
        assert_eq!(status(&mut b)["plot_candidates"], 1);
        let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
        let plot = store.candidate(store.candidate_ids().unwrap()[0]).unwrap();
        assert!(plot.unwrap().corners.iter().all(|c| c.lat < 31.0));
    }

    #[test]
    fn mark_replies_when_the_capture_is_due_and_refuses_without_a_unit() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bridge(dir.path());
        let t0 = Instant::now();
        let mark = || Request::Mark {
            name: "J1".to_owned(),
            secs: Some(5.0),
            port: None,
        };
        let (tx, mut rx) = oneshot::channel();
        b.handle_request(mark(), tx, t0);
        assert_eq!(rx.try_recv().unwrap()["error"], "no unit docked");
        b.handle_device(
            sentence("GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,"),
            t0,
        );
        let (tx, mut rx) = oneshot::channel();
        b.handle_request(mark(), tx, t0);
        for s in 1..=4 {
            let body =
                format!("GPGGA,1200{s:02},3954.0000,N,11624.0000,E,2,09,0.8,50,M,0,M,3.0,0001");
            b.handle_device(sentence(&body), t0);
        }
        b.handle_tick(t0 + Duration::from_secs(4));
        assert!(rx.try_recv().is_err(), "not due yet");
        // The last fix waits for a GSA of its epoch, or the next fix, or the end.
        assert_eq!(status(&mut b)["capture"]["fixes_accepted"], 3);
        b.handle_tick(t0 + Duration::from_secs(5));
        let reply = rx.try_recv().unwrap();
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(reply["corner"]["fixes"], 4);
        assert_eq!(status(&mut b)["open_marks"], 1);
        // The same name again in the same plot is refused at once, by name.
        let (tx, mut rx) = oneshot::channel();
        b.handle_request(mark(), tx, t0 + Duration::from_secs(6));
        let refused = rx.try_recv().unwrap();
        assert_eq!(refused["ok"], false);
        let error = refused["error"].as_str().unwrap();
        assert!(
            error.starts_with("name: corner J1 is marked already"),
            "{error}"
        );
        assert_eq!(status(&mut b)["open_marks"], 1);
    }
}
