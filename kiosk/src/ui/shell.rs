//! The screen as a whole: which page shows, the visitor's session (everything typed or opened,
//! cleared at once when they leave or walk away), the clock, the header's freshness badge, the
//! display schedule, elder mode and language, and the keys of keyboards and scanners.
//!
//! Everything here runs on the UI thread. The screen reads the mirror through its own
//! connection (reads never wait for the data plane in WAL mode); its writes go to
//! [`super::worker`].

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};
use protocol::devices::DisplaySchedule;
use slint::{ComponentHandle, SharedString};

use super::clock::Clock;
use super::entry::{self, Burst, Key};
use super::idle::{self, IdlePolicy, IdleStep};
use super::pages;
use super::worker::{Device, Done, Worker};
use super::{AppAdapter, ClockView, Freshness, FreshnessView, KioskWindow, Page, Theme, UiError};
use crate::config::Config;
use crate::content::store::BlobStore;
use crate::mirror::Mirror;

/// How often the header's freshness and the display schedule are read from the mirror.
const POLL_EVERY_TICKS: u64 = 10;

/// The hall's settings as published with the content (or the kiosk's config without them).
#[derive(Debug, Clone)]
pub(crate) struct HallSettings {
    pub name: String,
    pub helpline: String,
    pub idle_timeout: Duration,
}

/// Everything one visitor typed, opened or chose; replaced whole when they leave.
#[derive(Default)]
pub(crate) struct Session {
    /// Counts visitors: answers for an earlier session are dropped.
    pub id: u64,
    pub lookup: pages::lookup::State,
    pub progress: pages::progress::State,
    pub guides: pages::guides::State,
    pub documents: pages::documents::State,
    pub rating: pages::rating::State,
    /// The page the rating page returns to.
    pub rating_from: Option<Page>,
    pub elder: bool,
    pub english: bool,
}

pub(crate) struct State {
    pub page: Page,
    pub session: Session,
    pub settings: HallSettings,
    pub last_activity: DateTime<Utc>,
    pub burst: Burst,
    pub schedule: Option<DisplaySchedule>,
    /// The display schedule says off, but someone touched the dark screen.
    pub woken: bool,
    /// `false` for screenshots: every screen is drawn lit.
    pub follow_schedule: bool,
    pub display_on: bool,
    pub ticks: u64,
    /// What the applied content offers the guide pages.
    pub guides: pages::guides::Index,
}

pub(crate) struct Shell {
    pub window: slint::Weak<KioskWindow>,
    pub mirror: Mirror,
    pub blobs: BlobStore,
    pub worker: Worker,
    pub clock: Clock,
    pub config: Config,
    pub state: RefCell<State>,
}

thread_local! {
    /// The screens of this thread, for the worker's wake-ups (which cannot carry an `Rc`).
    static SHELLS: RefCell<Vec<Weak<Shell>>> = const { RefCell::new(Vec::new()) };
}

/// Takes the worker's answers on every screen of this thread.
fn take_answers() {
    let shells: Vec<Rc<Shell>> =
        SHELLS.with(|s| s.borrow().iter().filter_map(Weak::upgrade).collect());
    for shell in shells {
        while let Some(done) = shell.worker.try_take() {
            shell.answer(done);
        }
    }
}

impl Shell {
    pub fn ui(&self) -> Option<KioskWindow> {
        self.window.upgrade()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn session_id(&self) -> u64 {
        self.state.borrow().session.id
    }

    /// The idle timeout now: the hall's, longer in elder mode.
    fn idle_policy(&self) -> IdlePolicy {
        let state = self.state.borrow();
        let factor = if state.session.elder {
            self.config.screen.elder_idle_factor
        } else {
            1
        };
        IdlePolicy {
            timeout: state.settings.idle_timeout * factor,
            attract_after: self
                .config
                .screen
                .attract_after
                .max(state.settings.idle_timeout * factor),
        }
    }

    /// Shows `page`; the page's own state decides what it shows.
    pub fn show(&self, page: Page) {
        self.state.borrow_mut().page = page;
        if let Some(ui) = self.ui() {
            ui.global::<AppAdapter>().set_page(page);
        }
    }

    fn page(&self) -> Page {
        self.state.borrow().page
    }

    /// A touch or a key: the idle countdown starts again.
    fn activity(&self) {
        let now = self.now();
        let mut state = self.state.borrow_mut();
        state.last_activity = now;
        if state.page == Page::Attract {
            state.page = Page::Home;
            drop(state);
            self.show(Page::Home);
        }
        if let Some(ui) = self.ui() {
            ui.global::<AppAdapter>().set_idle_warning_seconds(0);
        }
    }

    /// Clears the visitor's session and shows home: when they tap 返回首页, when they walk away
    /// (idle), when the screen goes dark. Elder mode and English end with the visitor too.
    pub fn reset(&self) {
        {
            let mut state = self.state.borrow_mut();
            let id = state.session.id + 1;
            state.session = Session {
                id,
                ..Session::default()
            };
            state.burst.clear();
        }
        self.apply_switches();
        if let Some(ui) = self.ui() {
            pages::render_all(self, &ui);
        }
        self.show(Page::Home);
    }

    /// Elder mode and language as the session has them.
    fn apply_switches(&self) {
        let (elder, english) = {
            let state = self.state.borrow();
            (state.session.elder, state.session.english)
        };
        // "" is the original text, Chinese; the bundle holds English.
        if let Err(e) = slint::select_bundled_translation(if english { "en" } else { "" }) {
            tracing::warn!(error = %e, "cannot switch the screen's language");
        }
        if let Some(ui) = self.ui() {
            ui.global::<Theme>().set_elder(elder);
            ui.global::<AppAdapter>().set_english(english);
        }
    }

    fn toggle_elder(&self) {
        {
            let mut state = self.state.borrow_mut();
            state.session.elder = !state.session.elder;
        }
        self.apply_switches();
        // Pages lay out differently (fewer rows, fewer columns).
        if let Some(ui) = self.ui() {
            pages::relayout(self, &ui);
        }
    }

    fn toggle_language(&self) {
        {
            let mut state = self.state.borrow_mut();
            state.session.english = !state.session.english;
        }
        self.apply_switches();
    }

    /// 返回: one step back within the page, or home.
    fn back(&self) {
        let Some(ui) = self.ui() else { return };
        let page = self.page();
        let stays = match page {
            Page::Lookup => pages::lookup::back(self, &ui),
            Page::Progress => {
                pages::lookup::again(self, &ui);
                true
            }
            Page::Guides => pages::guides::back(self, &ui),
            Page::Documents => pages::documents::back(self, &ui),
            Page::Rating => {
                let from = self.state.borrow().session.rating_from;
                if let Some(from) = from {
                    self.show(from);
                    true
                } else {
                    false
                }
            }
            Page::Home | Page::Attract => false,
        };
        if !stays {
            self.reset();
        }
    }

    /// A key from a keyboard or a scanner. Every key is taken (`true`): nothing on the kiosk
    /// answers to Escape, Alt+F4 or the like.
    fn key(&self, text: &str) -> bool {
        let Some(ui) = self.ui() else { return true };
        let now = self.now();
        let page = self.page();
        match entry::key(text) {
            Key::Char(c) => {
                self.state.borrow_mut().burst.push(c, now);
                if page == Page::Lookup {
                    pages::lookup::typed(self, &ui, c);
                }
            }
            Key::Backspace => {
                if page == Page::Lookup {
                    pages::lookup::backspace(self, &ui);
                }
            }
            Key::Enter => {
                let scanned = self.state.borrow_mut().burst.enter(now);
                match scanned {
                    Some(text) => pages::lookup::scanned(self, &ui, &text),
                    None if page == Page::Lookup => pages::lookup::enter(self, &ui),
                    None => {}
                }
            }
            Key::Other => {}
        }
        true
    }

    /// An answer of the worker, on the UI thread.
    fn answer(&self, done: Done) {
        let Some(ui) = self.ui() else { return };
        let current = self.session_id();
        match done {
            Done::Lookup { session, outcome } if session == current => {
                pages::lookup::answered(self, &ui, outcome);
            }
            Done::Rated { session, outcome } if session == current => {
                pages::rating::answered(self, &ui, outcome);
            }
            // The visitor who asked has gone; their answer is not shown to anyone.
            Done::Lookup { .. } | Done::Rated { .. } => {}
        }
    }

    /// Re-reads the settings and lists of the content (a release was applied, or at start),
    /// keeping the visitor where they are.
    pub fn content_changed(&self) {
        let settings = match self.mirror.content_settings() {
            Ok(settings) => settings,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the published settings");
                None
            }
        };
        {
            let mut state = self.state.borrow_mut();
            state.settings = match settings {
                Some(s) => HallSettings {
                    name: s.hall_name,
                    helpline: s.helpline,
                    idle_timeout: Duration::from_secs(s.idle_timeout_s.into()),
                },
                None => default_settings(&self.config),
            };
        }
        let sample = self
            .mirror
            .content_status()
            .ok()
            .flatten()
            .is_some_and(|s| s.sample);
        if let Some(ui) = self.ui() {
            let app = ui.global::<AppAdapter>();
            let state = self.state.borrow();
            app.set_hall_name(state.settings.name.as_str().into());
            app.set_helpline(state.settings.helpline.as_str().into());
            app.set_sample_content(sample);
            drop(state);
            pages::content_changed(self, &ui);
        }
        self.poll_mirror();
    }

    /// The header's badge and the display schedule, from the mirror.
    fn poll_mirror(&self) {
        let now = self.now();
        let freshness = freshness_view(self, now);
        let schedule = match self.mirror.display_schedule() {
            Ok(s) => s.map(|s| s.schedule),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the display schedule; the screen stays on");
                None
            }
        };
        self.state.borrow_mut().schedule = schedule;
        if let Some(ui) = self.ui() {
            ui.global::<AppAdapter>().set_freshness(freshness);
        }
        self.apply_schedule(now);
    }

    /// Dark outside the display schedule, unless someone touched the screen since.
    fn apply_schedule(&self, now: DateTime<Utc>) {
        let local = self.clock.local(now).naive_local();
        let scheduled_on = {
            let state = self.state.borrow();
            !state.follow_schedule
                || state
                    .schedule
                    .as_ref()
                    .and_then(|s| super::schedule::is_on(s, local))
                    .unwrap_or(true)
        };
        let (was_on, on) = {
            let mut state = self.state.borrow_mut();
            if scheduled_on {
                state.woken = false;
            }
            let on = scheduled_on || state.woken;
            (std::mem::replace(&mut state.display_on, on), on)
        };
        if was_on && !on {
            // Nobody should find the last visitor's case on a screen that lights up.
            self.reset();
        }
        if let Some(ui) = self.ui() {
            ui.global::<AppAdapter>().set_display_on(on);
        }
    }

    fn wake(&self) {
        self.state.borrow_mut().woken = true;
        self.activity();
        let now = self.now();
        self.apply_schedule(now);
    }

    /// Once a second: the clock, the idle countdown, lock countdowns; every ten the mirror.
    pub fn tick(&self) {
        let now = self.now();
        let ticks = {
            let mut state = self.state.borrow_mut();
            state.ticks += 1;
            state.ticks
        };
        let Some(ui) = self.ui() else { return };
        ui.global::<AppAdapter>()
            .set_clock(clock_view(&self.clock, now));
        if ticks % POLL_EVERY_TICKS == 1 {
            self.poll_mirror();
        }
        pages::lookup::tick(self, &ui, now);
        let (page, last, at_rest, display_on) = {
            let state = self.state.borrow();
            let at_rest = state.page == Page::Home || state.page == Page::Attract;
            (state.page, state.last_activity, at_rest, state.display_on)
        };
        if !display_on {
            return;
        }
        let step = idle::step(self.idle_policy(), last, now, at_rest);
        let app = ui.global::<AppAdapter>();
        match step {
            IdleStep::Active => app.set_idle_warning_seconds(0),
            IdleStep::Warning(left) => app.set_idle_warning_seconds(left as i32),
            IdleStep::Reset => {
                tracing::info!(?page, "no one at the screen; clearing it");
                app.set_idle_warning_seconds(0);
                self.reset();
                // The dark screen of the schedule returns after a visitor woke it.
                let woken = std::mem::take(&mut self.state.borrow_mut().woken);
                if woken {
                    self.apply_schedule(now);
                }
            }
            IdleStep::Attract if page == Page::Home => {
                let woken = std::mem::take(&mut self.state.borrow_mut().woken);
                if woken {
                    self.apply_schedule(now);
                } else if pages::attract::has_slides(&ui) {
                    self.show(Page::Attract);
                }
            }
            IdleStep::Attract => {}
        }
    }
}

fn default_settings(config: &Config) -> HallSettings {
    HallSettings {
        name: config.hall_id.clone(),
        helpline: String::new(),
        idle_timeout: config.screen.idle_timeout,
    }
}

fn clock_view(clock: &Clock, now: DateTime<Utc>) -> ClockView {
    let local = clock.local(now);
    ClockView {
        year: local.year(),
        month: local.month() as i32,
        day: local.day() as i32,
        weekday: local.weekday().number_from_monday() as i32,
        time: format!("{:02}:{:02}", local.hour(), local.minute()).into(),
    }
}

/// How current the case data is, in the badge's terms.
fn freshness_view(shell: &Shell, now: DateTime<Utc>) -> FreshnessView {
    let freshness = match shell.mirror.freshness(now) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the mirror's freshness");
            return FreshnessView {
                state: Freshness::Halted,
                time: SharedString::new(),
                date: SharedString::new(),
            };
        }
    };
    let (time, date) = freshness.caught_up_at.map_or_else(Default::default, |t| {
        let same_day = shell.clock.local(t).date_naive() == shell.clock.local(now).date_naive();
        let date = if same_day {
            String::new()
        } else {
            shell.clock.date(t)
        };
        (shell.clock.time(t), date)
    });
    let state = if freshness.caught_up_at.is_none() && !freshness.catching_up {
        Freshness::None
    } else if freshness.is_stale(shell.config.stale_after_s) && !freshness.catching_up {
        Freshness::Stale
    } else if freshness.catching_up {
        Freshness::CatchingUp
    } else {
        Freshness::Current
    };
    // A badge that says "stale" needs the date even on the same day, to be read at a glance.
    let date = if state == Freshness::Stale && date.is_empty() {
        shell.clock.date(freshness.caught_up_at.unwrap_or(now))
    } else {
        date
    };
    FreshnessView {
        state,
        time: time.into(),
        date: date.into(),
    }
}

/// The kiosk's screen: the window and what drives it. Dropping it stops the screen.
pub struct Kiosk {
    shell: Rc<Shell>,
    window: KioskWindow,
    _tick: slint::Timer,
}

impl Kiosk {
    /// The screen for the kiosk of `config`, reading its mirror; `clock` is the system's in
    /// the kiosk, a mock one in tests. Call after the Slint platform is chosen.
    pub fn new(config: &Config, clock: Clock) -> Result<Self, UiError> {
        let window = KioskWindow::new()?;
        let mirror = Mirror::open(&config.mirror_path())?;
        let blobs = BlobStore::open(&config.blob_dir())?;
        let weak = window.as_weak();
        let wake: Box<dyn Fn() + Send> = Box::new(move || {
            // Err only when no event loop runs (headless screenshots, unit tests): their
            // callers take answers with `finish_background_work`.
            let _ = weak.upgrade_in_event_loop(|_| take_answers());
        });
        let worker = Worker::start(
            config.mirror_path(),
            Device {
                device_id: config.device_id.clone(),
                hall_id: config.hall_id.clone(),
            },
            wake,
        )
        .map_err(|e| UiError::Io("starting the screen's write thread".into(), e))?;
        let now = clock.now();
        let shell = Rc::new(Shell {
            window: window.as_weak(),
            mirror,
            blobs,
            worker,
            clock,
            config: config.clone(),
            state: RefCell::new(State {
                page: Page::Home,
                session: Session::default(),
                settings: default_settings(config),
                last_activity: now,
                burst: Burst::default(),
                schedule: None,
                woken: false,
                follow_schedule: true,
                display_on: true,
                ticks: 0,
                guides: Default::default(),
            }),
        });
        SHELLS.with(|s| {
            let mut shells = s.borrow_mut();
            shells.retain(|w| w.strong_count() > 0);
            shells.push(Rc::downgrade(&shell));
        });
        install(&window, &shell);
        pages::install(&window, &shell);
        window
            .global::<AppAdapter>()
            .set_portrait(config.screen.rotation.is_portrait());
        shell.content_changed();
        shell.reset();
        shell.tick();
        let tick = slint::Timer::default();
        let weak_shell = Rc::downgrade(&shell);
        tick.start(
            slint::TimerMode::Repeated,
            Duration::from_secs(1),
            move || {
                if let Some(shell) = weak_shell.upgrade() {
                    shell.tick();
                }
            },
        );
        Ok(Self {
            shell,
            window,
            _tick: tick,
        })
    }

    pub fn window(&self) -> &KioskWindow {
        &self.window
    }

    /// Lays the pages out for a portrait or a landscape window (the window's shape decides,
    /// for screenshots of both).
    pub fn set_portrait(&self, portrait: bool) {
        self.window.global::<AppAdapter>().set_portrait(portrait);
        pages::relayout(&self.shell, &self.window);
    }

    /// A content release was applied: the pages re-read the mirror, the visitor stays put.
    pub fn content_changed(&self) {
        self.shell.content_changed();
    }

    /// Whether the screen goes dark outside the display schedule (not for screenshots).
    pub fn follow_schedule(&self, follow: bool) {
        self.shell.state.borrow_mut().follow_schedule = follow;
        self.shell.poll_mirror();
    }

    /// Re-reads freshness and the display schedule now, instead of at the next poll.
    pub fn poll_mirror(&self) {
        self.shell.poll_mirror();
    }

    /// Waits for the screen's lookups and ratings in flight and shows their answers: for
    /// tests and headless screenshots, which run no event loop to deliver them. Returns
    /// `false` if an answer did not come within `limit`.
    pub fn finish_background_work(&self, limit: Duration) -> bool {
        while self.shell.worker.pending() > 0 {
            match self.shell.worker.take_within(limit) {
                Some(done) => self.shell.answer(done),
                None => return false,
            }
        }
        true
    }
}

/// The shared callbacks: header, footer, keys, the dark screen, content changes.
fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let app = window.global::<AppAdapter>();
    let weak = Rc::downgrade(shell);
    let with = move |f: fn(&Shell)| {
        let weak = weak.clone();
        move || {
            if let Some(shell) = weak.upgrade() {
                f(&shell);
            }
        }
    };
    app.on_activity(with(Shell::activity));
    app.on_go_home(with(Shell::reset));
    app.on_go_back(with(Shell::back));
    app.on_toggle_elder(with(Shell::toggle_elder));
    app.on_toggle_language(with(Shell::toggle_language));
    app.on_wake(with(Shell::wake));
    app.on_content_changed(with(Shell::content_changed));
    let weak = Rc::downgrade(shell);
    app.on_key(move |text| weak.upgrade().is_none_or(|shell| shell.key(&text)));
    // The kiosk has no way out: a window manager's close button does nothing.
    window
        .window()
        .on_close_requested(|| slint::CloseRequestResponse::KeepWindowShown);
}
