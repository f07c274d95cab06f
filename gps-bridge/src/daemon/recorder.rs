//! The recorder: one thread that owns the dock and the survey store. Device events, control
//! requests and clock ticks arrive on one channel, in order; each record is committed before
//! the reply that says it exists, and each candidate recorded is checked into the outbox
//! before anything else happens to it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::plots::PlotStage;
use crate::control::Request;
use crate::device::DeviceEvent;
use crate::dock::{Answer, ClosePlotReply, Dock, Effect, MarkReply, OpenMarks, Reply, StatusReply};
use crate::health::{Health, Part};
use crate::survey::{RouteRecord, SurveyStore};

/// Where a control request's answer goes.
pub type Responder = oneshot::Sender<Reply>;

#[derive(Debug)]
pub enum Input {
    Device(DeviceEvent),
    Call(Request, Responder),
    Tick,
    /// Finish what is in progress and stop; sent once the device readers have stopped and
    /// their last events are in the channel before it.
    Stop,
}

impl From<DeviceEvent> for Input {
    fn from(event: DeviceEvent) -> Self {
        Input::Device(event)
    }
}

pub struct Recorder {
    pub dock: Dock<Responder>,
    pub store: SurveyStore,
    pub plots: PlotStage,
    pub shared: std::sync::Arc<Shared>,
    pub health: Health,
    pub started: Instant,
}

impl Recorder {
    /// Runs until [`Input::Stop`] (or every sender is gone).
    pub fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        // Candidates recorded while no daemon ran (`gps-bridge import`) or not yet checked
        // when the last one stopped.
        self.plots.catch_up(&self.store);
        while let Some(input) = inputs.blocking_recv() {
            let now = Instant::now();
            let stop = matches!(input, Input::Stop);
            match input {
                Input::Device(event) => self.dock.handle_device(event, now),
                Input::Call(request, reply) => self.call(request, reply, now),
                Input::Tick => {
                    self.dock.handle_tick(now);
                    self.plots.catch_up(&self.store);
                    self.publish(now);
                }
                Input::Stop => self.dock.handle_stop(now),
            }
            self.apply_effects();
            if stop {
                break;
            }
        }
    }

    /// What the heartbeat, the watchdog and systemd's status line read.
    fn publish(&self, now: Instant) {
        let docked = self
            .dock
            .docked()
            .map(|(port, model)| protocol::devices::DockedUnit {
                port: port.to_owned(),
                model: model.map(str::to_owned),
            })
            .collect();
        self.shared.set_docked(docked);
        let capture = self.dock.status(now).capture.map(|c| c.corner);
        self.shared.set_marking(capture);
        if let Ok(marks) = self.store.open_mark_count() {
            self.shared
                .open_marks
                .store(marks.max(0) as u64, Ordering::Relaxed);
        }
        if let Ok(counts) = self.plots.counts() {
            self.shared
                .pending
                .store(u64::from(counts.pending), Ordering::Relaxed);
        }
        self.shared.alive_ms.store(
            now.saturating_duration_since(self.started).as_millis() as u64,
            Ordering::Relaxed,
        );
    }

    fn call(&mut self, request: Request, reply: Responder, now: Instant) {
        let answer = match request {
            Request::Status => self.status(now),
            Request::Mark { name, secs, port } => match self.open_marks() {
                Ok(open) => {
                    self.dock.handle_mark(name, secs, port, &open, reply, now);
                    return;
                }
                Err(e) => Reply::refused(format!("reading the survey store: {e:#}")),
            },
            Request::ClosePlot { name, port, land } => {
                match self
                    .store
                    .close_plot(name.as_deref(), port.as_deref(), land)
                {
                    Ok((id, plot)) => {
                        tracing::info!(candidate = id, name = %plot.name, device = %plot.device, "marks closed into a plot candidate");
                        let outbox = self.plots.check(id, &plot).map(Box::new);
                        Reply::from(Answer::PlotClosed(ClosePlotReply {
                            plot_id: id,
                            plot,
                            outbox,
                        }))
                    }
                    Err(e) => Reply::refused(format!("{e:#}")),
                }
            }
        };
        // The client may have gone away; what was recorded stays recorded.
        let _ = reply.send(answer);
    }

    /// The corners marked and not yet closed, by unit, for `mark` not to repeat a name.
    fn open_marks(&self) -> anyhow::Result<OpenMarks> {
        Ok(self
            .store
            .open_marks()?
            .into_iter()
            .map(|m| (m.device, m.corner.name))
            .collect())
    }

    fn status(&self, now: Instant) -> Reply {
        let counts = (|| -> anyhow::Result<_> {
            Ok((
                self.store.open_mark_count()?,
                self.store.candidate_count()?,
                self.plots.counts()?,
            ))
        })();
        match counts {
            Ok((open_marks, plot_candidates, outbox)) => Reply::from(Answer::Status(StatusReply {
                dock: self.dock.status(now),
                open_marks,
                plot_candidates,
                outbox,
            })),
            Err(e) => Reply::refused(format!("reading the stores: {e:#}")),
        }
    }

    fn apply_effects(&mut self) {
        while let Some(effect) = self.dock.poll_effect() {
            match effect {
                Effect::RecordRoute { port, plot } => match self.store.record_route(&plot) {
                    Ok(RouteRecord::New(id)) => {
                        self.health.clear(Part::Survey);
                        tracing::info!(%port, route = %plot.name, id, corners = plot.corners.len(), "route recorded as plot candidate");
                        self.plots.check(id, &plot);
                    }
                    Ok(RouteRecord::Known(id)) => {
                        tracing::info!(%port, route = %plot.name, id, "route already recorded; not recorded again");
                    }
                    Err(e) => {
                        tracing::error!(%port, error = %format!("{e:#}"), "cannot record a route");
                        self.health.fault(Part::Survey, format!("{e:#}"));
                        self.dock.not_recorded(&port, &plot);
                    }
                },
                Effect::RecordIncompleteRoute(route) => {
                    match self.store.insert_incomplete_route(&route) {
                        Ok(id) => {
                            tracing::warn!(port = %route.device, route = %route.route_id, id, missing = ?route.missing_waypoints, "incomplete route recorded")
                        }
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "cannot record an incomplete route");
                            self.health.fault(Part::Survey, format!("{e:#}"));
                        }
                    }
                }
                Effect::RecordMark {
                    port,
                    corner,
                    cut_short,
                    reply,
                } => {
                    let answer = match self.store.insert_mark(&port, &corner) {
                        Ok(mark_id) => Reply::from(Answer::Marked(MarkReply {
                            mark_id,
                            port,
                            corner,
                            cut_short,
                        })),
                        Err(e) => {
                            self.health.fault(Part::Survey, format!("{e:#}"));
                            Reply::refused(format!("cannot record the corner: {e:#}"))
                        }
                    };
                    let _ = reply.send(answer);
                }
                Effect::Reply { reply, answer } => {
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
