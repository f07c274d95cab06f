//! Route transfer: assembles a plot candidate from a route the handheld sends as RTE sentences
//! (Garmin; Magellan: PMGNRTE) plus one WPL (PMGNWPL) per cycle for each of its waypoints.
//!
//! Sans-io: [`RouteAssembler::handle`] takes decoded sentences, [`RouteAssembler::handle_timeout`]
//! the clock; results come out of [`RouteAssembler::poll_event`]. A route is complete once every
//! sentence of it (by total/number) and every waypoint it names have been seen, in any order,
//! with repeats and losses tolerated; a route not complete within the timeout is reported with
//! what is missing. The caller ticks [`RouteAssembler::handle_timeout`] on a clock (the daemon
//! every 250 ms), so a route times out even when the unit falls silent. Every collection is
//! bounded.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Corner, PlotCandidate, Source};
use crate::nmea::{FixQuality, LatLon, Parsed, Route, Sentence, Waypoint};

/// Route assembly settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteConfig {
    /// How long a started route may stay incomplete.
    pub timeout: Duration,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            timeout: Duration::from_secs(120),
        }
    }
}

/// Waypoints remembered per unit (a handheld holds at most a few hundred per route).
const MAX_WAYPOINTS: usize = 1024;
/// Routes assembled at once per unit.
const MAX_PENDING_ROUTES: usize = 8;
/// Sentences longer than this in total count per route are not a route a handheld sends.
const MAX_ROUTE_SENTENCES: u32 = 64;
/// Routes whose last report is remembered, to report a route repeated every cycle once. A
/// unit has one active route, so this only needs to span the routes of one session; a route
/// forgotten and sent again is recorded again, which is a duplicate, never a loss.
const MAX_REPORTED: usize = 64;

/// A route that timed out or was cut off (unit undocked), with what was missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncompleteRoute {
    pub device: String,
    /// The route's name (RTE's id; PMGNRTE's name, or its number when it has none).
    pub route_id: String,
    /// Route sentence numbers never received.
    pub missing_sentences: Vec<u32>,
    /// Waypoints named by the received sentences but never sent as WPL.
    pub missing_waypoints: Vec<String>,
    pub raw: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RouteEvent {
    Complete(PlotCandidate),
    Incomplete(IncompleteRoute),
}

#[derive(Debug)]
struct PendingRoute {
    started: Instant,
    /// Waypoint names of each route sentence, by sentence number - 1.
    parts: Vec<Option<Vec<String>>>,
    /// The route's name, if it has one besides its id (Magellan's routes are numbered).
    name: Option<String>,
    raw: Vec<String>,
}

impl PendingRoute {
    fn names(&self) -> impl Iterator<Item = &String> {
        self.parts.iter().flatten().flatten()
    }

    /// What the officer called the route: its name, else its id.
    fn title(&self, id: &str) -> String {
        self.name.clone().unwrap_or_else(|| id.to_owned())
    }
}

/// What a reported route consisted of: each corner's name and exact position.
type Signature = Vec<(String, u64, u64)>;

fn signature(corners: &[Corner]) -> Signature {
    corners
        .iter()
        .map(|c| (c.name.clone(), c.lon.to_bits(), c.lat.to_bits()))
        .collect()
}

#[derive(Debug, Clone)]
struct KnownWaypoint {
    position: LatLon,
    raw: String,
}

/// Assembles routes from one unit's sentences.
#[derive(Debug)]
pub struct RouteAssembler {
    config: RouteConfig,
    device: String,
    waypoints: HashMap<String, KnownWaypoint>,
    /// Waypoint names in arrival order, to forget the oldest when full.
    waypoint_order: VecDeque<String>,
    pending: BTreeMap<String, PendingRoute>,
    /// The corners last reported per route, oldest first, so a route repeated every cycle is
    /// reported once.
    reported: VecDeque<(String, Signature)>,
    /// The unit's latest GGA when it said its fix was estimated or simulated (demo mode): a
    /// route sent meanwhile carries it, so the plot check can tell.
    unmeasured_fix: Option<String>,
    events: VecDeque<RouteEvent>,
}

impl RouteAssembler {
    pub fn new(device: impl Into<String>, config: RouteConfig) -> Self {
        RouteAssembler {
            config,
            device: device.into(),
            waypoints: HashMap::new(),
            waypoint_order: VecDeque::new(),
            pending: BTreeMap::new(),
            reported: VecDeque::new(),
            unmeasured_fix: None,
            events: VecDeque::new(),
        }
    }

    pub fn handle(&mut self, parsed: &Parsed<'_>, now: Instant) {
        let raw = parsed.line.raw();
        match &parsed.sentence {
            Sentence::Rte(route) | Sentence::Pmgnrte(route) => self.route(route, raw, now),
            Sentence::Wpl(waypoint) | Sentence::Pmgnwpl(waypoint) => self.waypoint(waypoint, raw),
            Sentence::Gga(gga) => {
                let unmeasured = matches!(
                    gga.quality,
                    Some(FixQuality::Estimated | FixQuality::Simulator)
                );
                self.unmeasured_fix = unmeasured.then(|| raw.to_owned());
                return;
            }
            _ => return,
        }
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        for id in ids {
            self.try_complete(&id);
        }
    }

    /// Reports routes that have waited longer than the timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.started) >= self.config.timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.give_up(&id);
        }
    }

    pub fn poll_event(&mut self) -> Option<RouteEvent> {
        self.events.pop_front()
    }

    /// The unit went away, or another one docked: every route in progress is reported as
    /// incomplete with what it lacked, then the unit's waypoints are forgotten, so a route from
    /// the next unit on this port is only ever completed with that unit's own positions.
    pub fn unit_gone(&mut self) {
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        for id in ids {
            self.give_up(&id);
        }
        self.waypoints.clear();
        self.waypoint_order.clear();
    }

    /// Route ids being assembled, with (sentences received, sentences expected).
    pub fn in_progress(&self) -> Vec<(String, usize, usize)> {
        self.pending
            .iter()
            .map(|(id, r)| (id.clone(), r.parts.iter().flatten().count(), r.parts.len()))
            .collect()
    }

    fn route(&mut self, route: &Route<'_>, raw: &str, now: Instant) {
        let names: Vec<String> = route.waypoints().map(str::to_owned).collect();
        // `w` is the working leg (from, to) of a GOTO, not a plot; an empty route is what a
        // handheld sends when none is active.
        if route.kind == b'w' || (names.is_empty() && route.sentence_count == 1) {
            return;
        }
        if route.sentence_count > MAX_ROUTE_SENTENCES {
            return;
        }
        let total = route.sentence_count as usize;
        let index = route.sentence_number as usize - 1;
        let id = route.route_id.to_owned();
        let changed = self.pending.get(&id).is_some_and(|p| {
            p.parts.len() != total || p.parts[index].as_ref().is_some_and(|old| *old != names)
        });
        if changed {
            // The officer edited or switched the route: start over, keeping nothing stale.
            self.pending.remove(&id);
        }
        if !self.pending.contains_key(&id) && self.pending.len() >= MAX_PENDING_ROUTES {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, r)| r.started)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.give_up(&oldest);
            }
        }
        let pending = self.pending.entry(id).or_insert_with(|| PendingRoute {
            started: now,
            parts: vec![None; total],
            name: None,
            raw: Vec::new(),
        });
        if pending.name.is_none() {
            pending.name = route.name().map(str::to_owned);
        }
        if pending.parts[index].is_none() {
            pending.parts[index] = Some(names);
            pending.raw.push(raw.to_owned());
        }
    }

    fn waypoint(&mut self, waypoint: &Waypoint<'_>, raw: &str) {
        let Some(position) = waypoint.position else {
            return;
        };
        if waypoint.name.is_empty() {
            return;
        }
        let name = waypoint.name.to_owned();
        if !self.waypoints.contains_key(&name) {
            if self.waypoint_order.len() >= MAX_WAYPOINTS
                && let Some(oldest) = self.waypoint_order.pop_front()
            {
                self.waypoints.remove(&oldest);
            }
            self.waypoint_order.push_back(name.clone());
        }
        self.waypoints.insert(
            name,
            KnownWaypoint {
                position,
                raw: raw.to_owned(),
            },
        );
    }

    fn try_complete(&mut self, id: &str) {
        let Some(pending) = self.pending.get(id) else {
            return;
        };
        if pending.parts.iter().any(Option::is_none)
            || pending.names().any(|n| !self.waypoints.contains_key(n))
        {
            return;
        }
        let Some(pending) = self.pending.remove(id) else {
            return;
        };
        let mut names: Vec<&String> = pending.names().collect();
        // Routes drawn around a plot often return to the first corner; the ring closes anyway.
        if names.len() > 1 && names.first() == names.last() {
            names.pop();
        }
        let corners: Vec<Corner> = names
            .into_iter()
            .filter_map(|name| {
                let w = self.waypoints.get(name)?;
                Some(Corner {
                    name: name.clone(),
                    lon: w.position.lon,
                    lat: w.position.lat,
                    sigma_m: None,
                    fixes: 1,
                    raw: vec![w.raw.clone()],
                })
            })
            .collect();
        if !self.remember_report(id, signature(&corners)) {
            return;
        }
        let title = pending.title(id);
        let mut raw = pending.raw;
        raw.extend(self.unmeasured_fix.clone());
        self.events
            .push_back(RouteEvent::Complete(PlotCandidate::new(
                title,
                Source::RouteTransfer,
                self.device.clone(),
                corners,
                raw,
            )));
    }

    /// The caller could not record `plot` (say, the disk was full): it is no longer counted as
    /// reported, so the next transfer of the route (a handheld sends its active route over and
    /// over) reports it again.
    pub fn not_recorded(&mut self, plot: &PlotCandidate) {
        let lost = signature(&plot.corners);
        self.reported.retain(|(_, reported)| *reported != lost);
    }

    /// Remembers `signature` as route `id`'s latest report; false if it was reported already.
    fn remember_report(&mut self, id: &str, signature: Signature) -> bool {
        if let Some(i) = self.reported.iter().position(|(r, _)| r == id) {
            if self.reported[i].1 == signature {
                return false;
            }
            self.reported.remove(i);
        }
        if self.reported.len() >= MAX_REPORTED {
            self.reported.pop_front();
        }
        self.reported.push_back((id.to_owned(), signature));
        true
    }

    fn give_up(&mut self, id: &str) {
        let Some(pending) = self.pending.remove(id) else {
            return;
        };
        let missing_sentences = (1..)
            .zip(&pending.parts)
            .filter(|(_, p)| p.is_none())
            .map(|(n, _)| n)
            .collect();
        // Each missing name once, in route order (a ring names its first corner again last).
        let mut listed = HashSet::new();
        let missing_waypoints: Vec<String> = pending
            .names()
            .filter(|n| !self.waypoints.contains_key(*n) && listed.insert(*n))
            .cloned()
            .collect();
        self.events
            .push_back(RouteEvent::Incomplete(IncompleteRoute {
                device: self.device.clone(),
                route_id: pending.title(id),
                missing_sentences,
                missing_waypoints,
                raw: pending.raw,
            }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::testing::for_each_parsed;

    fn feed(assembler: &mut RouteAssembler, bodies: &[&str], now: Instant) {
        for_each_parsed(bodies, |parsed| assembler.handle(parsed, now));
    }

    fn events(assembler: &mut RouteAssembler) -> Vec<RouteEvent> {
        std::iter::from_fn(|| assembler.poll_event()).collect()
    }

    const ROUTE: [&str; 2] = ["GPRTE,2,1,c,PLOT7,C1,C2", "GPRTE,2,2,c,PLOT7,C3,C4,C1"];
    const WAYPOINTS: [&str; 4] = [
        "GPWPL,3908.8199,N,11623.0832,E,C1",
        "GPWPL,3908.8299,N,11623.0832,E,C2",
        "GPWPL,3908.8299,N,11623.0932,E,C3",
        "GPWPL,3908.8199,N,11623.0932,E,C4",
    ];

    #[test]
    fn a_route_sent_in_demo_mode_carries_the_units_simulated_fix() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        let demo = "GPGGA,120000,3908.8199,N,11623.0932,E,8,08,0.9,50.0,M,-8.0,M,,";
        feed(&mut a, &[demo], t0);
        feed(&mut a, &ROUTE, t0);
        feed(&mut a, &WAYPOINTS, t0);
        let got = events(&mut a);
        let [RouteEvent::Complete(plot)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(plot.raw.len(), 3);
        assert!(plot.raw[2].starts_with("$GPGGA,120000,"), "{:?}", plot.raw);
        // A measured fix since: the next route carries nothing of it.
        let mut b = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        feed(
            &mut b,
            &[
                demo,
                "GPGGA,120001,3908.8199,N,11623.0932,E,1,08,0.9,50.0,M,-8.0,M,,",
            ],
            t0,
        );
        feed(&mut b, &ROUTE, t0);
        feed(&mut b, &WAYPOINTS, t0);
        let got = events(&mut b);
        let [RouteEvent::Complete(plot)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(plot.raw.len(), 2);
    }

    #[test]
    fn route_completes_in_any_order_with_repeats_and_reports_once() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        feed(
            &mut a,
            &[WAYPOINTS[2], ROUTE[1], WAYPOINTS[0], ROUTE[1], WAYPOINTS[1]],
            t0,
        );
        assert!(events(&mut a).is_empty());
        assert_eq!(a.in_progress(), vec![("PLOT7".to_owned(), 1, 2)]);
        feed(&mut a, &[ROUTE[0], WAYPOINTS[3]], t0);
        let got = events(&mut a);
        let [RouteEvent::Complete(plot)] = got.as_slice() else {
            panic!("{got:?}")
        };
        let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["C1", "C2", "C3", "C4"]);
        assert_eq!(
            (plot.name.as_str(), plot.source),
            ("PLOT7", Source::RouteTransfer)
        );
        assert!((plot.corners[1].lat - (39.0 + 8.8299 / 60.0)).abs() < 1e-9);
        assert!(plot.corners[3].raw[0].starts_with("$GPWPL,3908.8199,N,11623.0932,E,C4*"));
        assert_eq!(plot.raw.len(), 2);
        // The next cycle repeats the same route: nothing new to record.
        feed(&mut a, &ROUTE, t0);
        feed(&mut a, &WAYPOINTS, t0);
        assert!(events(&mut a).is_empty());
        // A corner moved: from the next cycle on, that is a new survey.
        feed(&mut a, &["GPWPL,3908.8400,N,11623.0932,E,C4"], t0);
        feed(&mut a, &ROUTE, t0);
        assert_eq!(events(&mut a).len(), 1);
    }

    #[test]
    fn incomplete_route_times_out_with_what_is_missing() {
        let t0 = Instant::now();
        let config = RouteConfig {
            timeout: Duration::from_secs(30),
        };
        let mut a = RouteAssembler::new("/dev/ttyUSB0", config);
        feed(&mut a, &[ROUTE[1], WAYPOINTS[2]], t0);
        a.handle_timeout(t0 + Duration::from_secs(29));
        assert!(events(&mut a).is_empty());
        a.handle_timeout(t0 + Duration::from_secs(30));
        let got = events(&mut a);
        let [RouteEvent::Incomplete(missing)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(missing.missing_sentences, [1]);
        assert_eq!(missing.missing_waypoints, ["C4", "C1"]);
        assert!(a.in_progress().is_empty());
    }

    #[test]
    fn empty_and_working_routes_are_not_plots_and_a_gone_unit_cuts_its_routes() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        feed(
            &mut a,
            &["GPRTE,1,1,c,", "GPRTE,1,1,w,0,HOME,C1", WAYPOINTS[0]],
            t0,
        );
        assert!(a.in_progress().is_empty());
        feed(&mut a, &[ROUTE[0]], t0);
        a.unit_gone();
        let got = events(&mut a);
        assert!(
            matches!(got.as_slice(), [RouteEvent::Incomplete(r)] if r.missing_sentences == [2])
        );
    }

    #[test]
    fn a_swapped_unit_never_completes_a_route_with_the_old_units_waypoints() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        // Unit A sends its waypoints and half its route, then is undocked.
        feed(&mut a, &WAYPOINTS, t0);
        feed(&mut a, &[ROUTE[0]], t0);
        a.unit_gone();
        let got = events(&mut a);
        let [RouteEvent::Incomplete(cut)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(
            (
                cut.missing_sentences.as_slice(),
                cut.missing_waypoints.len()
            ),
            (&[2][..], 0)
        );
        // Unit B docks on the same port with a route naming the same waypoints.
        feed(&mut a, &ROUTE, t0);
        assert!(
            events(&mut a).is_empty(),
            "completed from unit A's waypoints"
        );
        let b_waypoints = WAYPOINTS.map(|w| w.replace("3908.8", "3910.8"));
        let b_refs: Vec<&str> = b_waypoints.iter().map(String::as_str).collect();
        feed(&mut a, &b_refs, t0);
        let got = events(&mut a);
        let [RouteEvent::Complete(plot)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert!(
            plot.corners
                .iter()
                .all(|c| c.raw[0].starts_with("$GPWPL,3910.8")),
            "{plot:?}"
        );
    }

    #[test]
    fn a_ring_lists_its_missing_first_corner_once() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        // C1 opens the first sentence and closes the second: not adjacent, listed once.
        feed(&mut a, &ROUTE, t0);
        a.unit_gone();
        let got = events(&mut a);
        let [RouteEvent::Incomplete(route)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(route.missing_waypoints, ["C1", "C2", "C3", "C4"]);
    }

    #[test]
    fn reported_routes_are_remembered_within_a_bound() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB0", RouteConfig::default());
        feed(&mut a, &WAYPOINTS, t0);
        let route = |i: usize| format!("GPRTE,1,1,c,R{i},C1,C2,C3");
        feed(&mut a, &[&route(0)], t0);
        assert_eq!(events(&mut a).len(), 1);
        // Within the bound, route R0 sent again is known and not reported twice.
        for i in 1..MAX_REPORTED {
            feed(&mut a, &[&route(i), &route(0)], t0);
        }
        assert_eq!(events(&mut a).len(), MAX_REPORTED - 1);
        // One more route pushes R0, the oldest, out: sent again, it is reported again.
        feed(&mut a, &[&route(MAX_REPORTED)], t0);
        feed(&mut a, &[&route(0)], t0);
        let got = events(&mut a);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[1], RouteEvent::Complete(p) if p.name == "R0"));
        assert_eq!(a.reported.len(), MAX_REPORTED);
    }

    #[test]
    fn magellan_routes_assemble_too() {
        let t0 = Instant::now();
        let mut a = RouteAssembler::new("/dev/ttyUSB1", RouteConfig::default());
        feed(
            &mut a,
            &[
                "PMGNRTE,1,1,c,1,PLOT9,M1,a,M2,a,M3,a",
                "PMGNWPL,3908.8199,N,11623.0832,E,0000050,M,M1,,a",
                "PMGNWPL,3908.8299,N,11623.0832,E,0000050,M,M2,,a",
                "PMGNWPL,3908.8299,N,11623.0932,E,0000050,M,M3,,a",
            ],
            t0,
        );
        let got = events(&mut a);
        let [RouteEvent::Complete(plot)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(plot.corners.len(), 3);
        assert_eq!(plot.name, "PLOT9");
        // A unit that leaves the name out: the route is known by its number.
        feed(
            &mut a,
            &["PMGNRTE,1,1,c,2,M3,a,M2,a,M1,a", "PMGNRTE,1,1,c,3,,M1,a"],
            t0,
        );
        let got = events(&mut a);
        let names: Vec<&str> = got
            .iter()
            .map(|e| match e {
                RouteEvent::Complete(plot) => plot.name.as_str(),
                RouteEvent::Incomplete(route) => route.route_id.as_str(),
            })
            .collect();
        assert_eq!(names, ["2", "3"]);
    }
}
