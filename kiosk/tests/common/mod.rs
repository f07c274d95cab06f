//! Test harness: a real egov-sim, in process on an ephemeral loopback port, kiosk
//! configurations pointing at it, and a scripted host for transfers egov-sim does not fail.
#![allow(dead_code)] // each test file uses a different part

pub mod loopback;
pub mod scripted_host;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use egov_sim::state::AppState;
use kiosk::content::release::{self, Release};
use kiosk::content::sample;
use kiosk::heartbeat::{CommandTargets, Heartbeats, ScreenSource};
use kiosk::mirror::{AsyncMirror, Mirror, cases};
use protocol::cases::Case;
use protocol::client::Client;

pub const ADMIN_TOKEN: &str = "demo-admin-token";
pub const HALL: &str = "hn-czs-gyx";
/// The kiosk every test configures; [`Sim`] provisions it in [`HALL`].
pub const DEVICE: &str = "test-kiosk";

/// A running egov-sim on its own runtime, so sync tests and async tests can both use it.
pub struct Sim {
    pub url: String,
    /// The token of [`DEVICE`], provisioned at start.
    pub device_token: String,
    pub data: tempfile::TempDir,
    pub state: AppState,
    runtime: Option<tokio::runtime::Runtime>,
    /// The workflow ticker's own runtime, so that it can be stopped alone.
    ticker: Option<tokio::runtime::Runtime>,
}

impl Sim {
    /// Seeds `cases` cases and serves them; `args` are more egov-sim options (faults).
    pub fn start(cases: u64, args: &[&str]) -> Self {
        Self::start_with(cases, args, None)
    }

    /// As [`Sim::start`], with the workflow ticker moving cases every `tick`.
    pub fn start_with(cases: u64, args: &[&str], tick: Option<Duration>) -> Self {
        let data = tempfile::tempdir().expect("a temporary folder");
        Self::start_in(data, cases, args, tick)
    }

    /// Serves an existing (or new) data folder: seeding happens only once per folder.
    pub fn start_in(
        data: tempfile::TempDir,
        cases: u64,
        args: &[&str],
        tick: Option<Duration>,
    ) -> Self {
        let cases = cases.to_string();
        // Digests at the demo cost: tests seed thousands of cases, often.
        let mut argv = vec![
            "egov-sim",
            "--data",
            data.path().to_str().unwrap(),
            "--cases",
            &cases,
            "--lookup-cost",
            "demo",
        ];
        argv.extend_from_slice(args);
        let options = egov_sim::server::Options::parse_from(argv);
        let state = egov_sim::server::prepare(&options).expect("egov-sim prepares its data");
        let device_token = state
            .provision_device(DEVICE, HALL)
            .expect("egov-sim issues the test kiosk's token");
        let runtime = loopback::runtime(2);
        let url = loopback::serve(&runtime, state.clone());
        let ticker = tick.map(|tick| {
            let ticker = loopback::runtime(1);
            ticker.spawn(egov_sim::ticker::run(state.clone(), tick));
            ticker
        });
        Self {
            url,
            device_token,
            data,
            state,
            runtime: Some(runtime),
            ticker,
        }
    }

    /// Stops the workflow ticker and waits for a tick in progress to finish: from then on the
    /// upstream stands still, and a sync can catch up with it for good.
    pub fn stop_ticker(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            // On a thread of its own: tokio refuses to wait for a runtime's shutdown on a
            // thread of another runtime, as an async test's is.
            std::thread::spawn(move || ticker.shutdown_timeout(Duration::from_secs(30)))
                .join()
                .expect("the ticker stops");
        }
    }

    /// Moves the workflow of up to `cases` cases one event on, as if much time had passed;
    /// returns how many changed.
    pub fn advance_workflow(&self, cases: u32) -> usize {
        // Whole seconds, as egov-sim's own clock gives them (the wire carries no more).
        let later = chrono::SubsecRound::trunc_subsecs(Utc::now() + chrono::Duration::days(365), 0);
        self.state
            .db
            .write(|conn| egov_sim::cases::advance_due(conn, later, cases, &mut rand::rng()))
            .expect("egov-sim's workflow advances")
    }

    /// A client with [`DEVICE`]'s token.
    pub fn device_client(&self) -> Client {
        Client::with_token(&self.url, Some(&self.device_token)).expect("a client")
    }

    /// Provisions another device of [`HALL`] and returns its token.
    pub fn provision(&self, device_id: &str) -> String {
        self.state
            .provision_device(device_id, HALL)
            .expect("egov-sim issues a token")
    }

    pub fn admin_client(&self) -> Client {
        Client::with_token(&self.url, Some(ADMIN_TOKEN)).expect("a client")
    }

    /// `(case_no, code)` pairs of the hall, from egov-sim's demo list.
    pub fn lookups(&self, prefix: &str) -> Vec<(String, String)> {
        std::fs::read_to_string(self.data.path().join("demo-lookups.txt"))
            .expect("egov-sim wrote its lookup list")
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.split_once(','))
            .map(|(c, code)| (c.to_owned(), code.to_owned()))
            .collect()
    }

    /// The upstream's current cases of the hall (deleted ones left out), with their seq.
    pub fn hall_cases(&self) -> BTreeMap<String, (u64, Case)> {
        self.state
            .db
            .read(|conn| {
                let mut stmt = conn.prepare(
                    "SELECT seq, body FROM cases WHERE hall_id = ?1 AND body IS NOT NULL",
                )?;
                let rows = stmt.query_map([HALL], |r| {
                    Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?))
                })?;
                let mut out = BTreeMap::new();
                for row in rows {
                    let (seq, body) = row?;
                    let case: Case = serde_json::from_str(&body)?;
                    out.insert(case.case_no.clone(), (seq, case));
                }
                Ok(out)
            })
            .expect("egov-sim's database reads")
    }

    /// The seq of the hall's newest live case: where a mirror that caught up has its cursor.
    pub fn newest_hall_seq(&self) -> u64 {
        self.hall_cases()
            .values()
            .map(|(seq, _)| *seq)
            .max()
            .expect("the hall has cases")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        for runtime in [self.ticker.take(), self.runtime.take()]
            .into_iter()
            .flatten()
        {
            runtime.shutdown_background();
        }
    }
}

/// The heartbeats of the test kiosk to `sim`, commands acting on fresh targets.
pub fn heartbeats(sim: &Sim, screen: std::sync::Arc<dyn ScreenSource>) -> Heartbeats {
    Heartbeats {
        client: sim.device_client(),
        device_id: "test-kiosk".into(),
        hall_id: HALL.into(),
        targets: CommandTargets {
            sync_now: Default::default(),
            reload_content: Default::default(),
            screen,
        },
    }
}

/// Sends one heartbeat of `mirror` (with the faults it stores) through `heartbeats`; returns
/// how many commands ran.
pub async fn beat(heartbeats: &Heartbeats, mirror: &AsyncMirror) -> usize {
    let faults = mirror.lock().faults().unwrap();
    heartbeats
        .beat(mirror, 42, faults, Utc::now())
        .await
        .unwrap()
}

/// The demo signing key whose public half `config/kiosk.toml` trusts.
pub fn demo_key() -> ed25519_dalek::SigningKey {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/content-sample/.demo-signing.key");
    protocol::content::decode_signing_key(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub const DEMO_PUBLIC_KEY: &str = "HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=";

/// Writes a kiosk config for `sim` into `dir`, every loop on a 1 s interval; returns its path.
pub fn write_config(dir: &Path, sim: &Sim, page_size: u32) -> PathBuf {
    write_config_paced(dir, sim, page_size, 1)
}

/// As [`write_config`], with the case sync and content poll every `interval_s` seconds.
pub fn write_config_paced(dir: &Path, sim: &Sim, page_size: u32, interval_s: u64) -> PathBuf {
    let (url, token) = (&sim.url, &sim.device_token);
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "device_id = \"{DEVICE}\"\nhall_id = \"{HALL}\"\ndata_dir = \"data\"\n\
             [upstream]\nurl = \"{url}\"\ntoken = \"{token}\"\ntimeout_s = 20\n\
             [content]\ntrusted_keys = [\"{DEMO_PUBLIC_KEY}\"]\npoll_interval_s = {interval_s}\n\
             [sync]\ninterval_s = {interval_s}\npage_size = {page_size}\n\
             [heartbeat]\ninterval_s = 1\n[ratings]\ninterval_s = 1\n"
        ),
    )
    .unwrap();
    path
}

/// The sample folder as release `version`, signed with the demo key.
pub fn sample_release(version: u64) -> Release {
    release::build(&sample::builtin(), version, Utc::now(), "test", &demo_key())
}

/// Asserts that the mirror holds exactly the upstream's cases of the hall, every field of
/// each (rebuilt as a whole [`Case`], so a field added to the contract is compared too).
pub fn assert_mirror_equals_upstream(mirror: &Mirror, sim: &Sim) {
    let upstream = sim.hall_cases();
    let now = Utc::now();
    assert_eq!(
        cases::count(mirror.conn()).unwrap() as usize,
        upstream.len(),
        "case count"
    );
    for (case_no, (_, case)) in &upstream {
        let stored = cases::get(mirror.conn(), case_no, now)
            .unwrap()
            .unwrap_or_else(|| panic!("{case_no} missing from the mirror"));
        let view = stored.view;
        let mirrored = Case {
            case_no: view.case_no,
            // The mirror holds one hall's cases, so it does not store the hall of each.
            hall_id: HALL.into(),
            kind: view.kind,
            kind_label: view.kind_label,
            applicant: view.applicant,
            lookup_digest: stored.lookup_digest,
            received_at: view.received_at,
            due_at: view.due_at,
            status: view.status,
            steps: view.steps,
            result: view.result,
            publicity: view.publicity,
            updated_at: view.updated_at,
        };
        assert_eq!(&mirrored, case, "{case_no}");
    }
}
