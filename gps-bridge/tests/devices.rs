//! The bridge against real pseudo-terminal pairs (`serialport::TTYPort::pair()`): the test holds
//! the "receiver" end, the bridge finds the other end through a udev-style symlink named in its
//! configuration, as it would find /dev/gps0.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use gps_bridge::config::{Baud, Config, HuntKeyword};
use gps_bridge::control::{Request, call};
use gps_bridge::daemon;
use gps_bridge::nmea::with_checksum;
use gps_bridge::plot::LandKind;
use gps_bridge::survey::{Source, SurveyStore};
use serde_json::Value;
use serialport::{SerialPort, StopBits, TTYPort};

fn gga(second: u32) -> String {
    let body = format!(
        "GPGGA,1200{:02},3954.0000,N,11624.0000,E,1,08,0.9,50.0,M,-8.0,M,,",
        second % 60
    );
    format!("{}\r\n", with_checksum(&body))
}

/// The bridge running in its own thread, stopped on drop.
struct Running {
    config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// A bridge that opens the symlinks `links` in `dir` (no USB ports).
fn config(dir: &Path, baud: Baud, links: &[&str]) -> Config {
    Config {
        database: dir.join("survey.db"),
        runtime_dir: dir.join("run"),
        serial: gps_bridge::config::SerialConfig {
            baud,
            hunt_timeout_s: 0.4,
            scan_interval_s: 0.1,
            ports: links.iter().map(|l| dir.join(l)).collect(),
            allow: Vec::new(),
            ..Default::default()
        },
        ..Config::default()
    }
}

impl Running {
    fn start(dir: &Path, baud: Baud) -> Self {
        Self::start_with(config(dir, baud, &["gps0"]))
    }

    fn start_with(config: Config) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let cfg = config.clone();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime
                .block_on(daemon::run(cfg, async {
                    let _ = rx.await;
                }))
                .unwrap();
        });
        let running = Running {
            config,
            stop: Some(tx),
            thread: Some(thread),
        };
        running.wait_for(|_| true, "the control socket");
        running
    }

    fn request(&self, request: &Request) -> Value {
        call(&self.config.socket_path(), request).unwrap()
    }

    /// Polls `status` until `condition` holds (at most 10 s).
    fn wait_for(&self, condition: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(status) = call(&self.config.socket_path(), &Request::Status)
                && condition(&status)
            {
                return status;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A new "receiver": a pty pair whose bridge end the symlink `link` points to.
fn dock(link: &Path) -> (TTYPort, TTYPort) {
    let (master, slave) = TTYPort::pair().unwrap();
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(slave.name().unwrap(), link).unwrap();
    (master, slave)
}

/// Marks a corner while the unit streams good fixes every 20 ms.
fn mark_while_streaming(bridge: &Running, master: &TTYPort, name: &str) -> Value {
    let feeder = {
        let mut master = master.try_clone_native().unwrap();
        thread::spawn(move || {
            for s in 0..40 {
                if master.write_all(gga(s).as_bytes()).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let reply = bridge.request(&Request::Mark {
        name: name.to_owned(),
        secs: Some(0.5),
        port: None,
    });
    feeder.join().unwrap();
    reply
}

fn unit(status: &Value) -> &Value {
    &status["units"][0]
}

fn docked_with(status: &Value, min_sentences: u64) -> bool {
    unit(status)["docked"] == true && unit(status)["sentences"].as_u64() >= Some(min_sentences)
}

#[test]
fn reads_marks_survives_unplug_mid_sentence_and_redock() {
    let dir = tempfile::tempdir().unwrap();
    let link: PathBuf = dir.path().join("gps0");
    let (mut master, slave) = dock(&link);
    let bridge = Running::start(dir.path(), Baud::Fixed(4800));

    // Fixes arrive; junk and a bad checksum are counted by cause.
    master.write_all(b"\x00\xffjunk\r\n").unwrap();
    master.write_all(b"$GPGGA,bad*00\r\n").unwrap();
    for s in 0..3 {
        master.write_all(gga(s).as_bytes()).unwrap();
    }
    let status = bridge.wait_for(|s| docked_with(s, 3), "three sentences");
    assert_eq!(unit(&status)["baud"], 4800);
    assert_eq!(unit(&status)["rejects"]["bad_checksum"], 1);
    assert_eq!(unit(&status)["rejects"]["junk"], 1);
    assert!((unit(&status)["fix"]["lat"].as_f64().unwrap() - 39.9).abs() < 1e-9);

    // Mark a corner while the unit streams fixes.
    let reply = mark_while_streaming(&bridge, &master, "J1");
    assert_eq!(reply["ok"], true, "{reply}");
    assert!(reply["corner"]["fixes"].as_u64().unwrap() >= 3, "{reply}");
    // 3 fixes before the mark and 40 during it; wait until the last is through.
    let sentences_before_unplug = 43;
    bridge.wait_for(
        |s| unit(s)["sentences"] == sentences_before_unplug,
        "every fix sent so far",
    );

    // Unplug in the middle of a sentence: the half sentence must not count.
    master.write_all(b"$GPGGA,120100,3954.00").unwrap();
    drop(master);
    drop(slave);
    let status = bridge.wait_for(|s| unit(s)["docked"] == false, "the undock");
    assert_eq!(unit(&status)["sentences"], sentences_before_unplug);

    // Re-dock (a new pty behind the same symlink): reading resumes.
    let (mut master, _slave) = dock(&link);
    master
        .write_all(b"00,N,11624.0000,E,1,08,0.9,50.0,M,-8.0,M,,*00\r\n")
        .unwrap();
    for s in 0..2 {
        master.write_all(gga(s).as_bytes()).unwrap();
    }
    let status = bridge.wait_for(
        |s| docked_with(s, sentences_before_unplug + 2),
        "sentences after re-dock",
    );
    assert_eq!(unit(&status)["sentences"], sentences_before_unplug + 2);

    // The first mark was committed before its reply; one corner is no plot.
    let store = SurveyStore::open(&bridge.config.database).unwrap();
    assert_eq!(store.open_marks().unwrap().len(), 1);
    let reply = bridge.request(&Request::ClosePlot {
        name: None,
        port: None,
        land: None,
    });
    assert_eq!(reply["ok"], false, "{reply}");

    // Two more corners from the re-docked unit make the plot.
    for name in ["J2", "J3"] {
        let reply = mark_while_streaming(&bridge, &master, name);
        assert_eq!(reply["ok"], true, "{reply}");
    }
    let reply = bridge.request(&Request::ClosePlot {
        name: Some("wang".to_owned()),
        port: None,
        land: Some(LandKind::Other),
    });
    assert_eq!(reply["ok"], true, "{reply}");
    let plot = store
        .candidate(reply["plot_id"].as_i64().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(plot.source, Source::CornerCapture);
    assert_eq!(plot.land, Some(LandKind::Other));
    let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["J1", "J2", "J3"]);
    assert!(
        plot.corners
            .iter()
            .all(|c| c.fixes >= 3 && c.sigma_m.is_some())
    );
}

#[test]
fn transferred_route_becomes_a_plot_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut master, _slave) = dock(&dir.path().join("gps0"));
    let bridge = Running::start(dir.path(), Baud::Fixed(4800));
    let mut unit_sim = gps_bridge::simulator::Handheld::new(
        ["A", "B", "C", "D"]
            .iter()
            .zip([
                (116.4, 39.9),
                (116.401, 39.9),
                (116.401, 39.901),
                (116.4, 39.901),
            ])
            .map(|(n, (lon, lat))| gps_bridge::simulator::RouteCorner {
                name: (*n).to_owned(),
                lon,
                lat,
            })
            .collect(),
        1.0,
        3,
    );
    for _ in 0..5 {
        for sentence in unit_sim.next_second(1.0) {
            master.write_all(sentence.as_bytes()).unwrap();
        }
    }
    bridge.wait_for(|s| s["plot_candidates"] == 1, "the route's plot candidate");
    let store = SurveyStore::open(&bridge.config.database).unwrap();
    let id = store.candidate_ids().unwrap()[0];
    let plot = store.candidate(id).unwrap().unwrap();
    assert_eq!(plot.source, Source::RouteTransfer);
    let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    assert!(plot.corners[1].raw[0].starts_with("$GPWPL,"));
}

/// Docks a unit that only makes sense to the bridge once the bridge's end of the line is at
/// `speed` with `stop_bits` (what a pty can show of a framing); until then it sends line
/// noise. Returns the status once the unit is docked.
fn hunt_until_locked(speed: u32, stop_bits: StopBits) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (mut master, slave) = dock(&dir.path().join("gps0"));
    let bridge = Running::start(dir.path(), Baud::Hunt(HuntKeyword::Auto));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut second = 0;
    loop {
        let line = (
            slave.baud_rate().unwrap_or_default(),
            slave.stop_bits().unwrap_or(StopBits::One),
        );
        if line == (speed, stop_bits) {
            master.write_all(gga(second).as_bytes()).unwrap();
            second += 1;
        } else {
            master
                .write_all(&[0xf0, 0x0f, 0xe3, b'$', 0x98, b'\n'])
                .unwrap();
        }
        if let Ok(status) = call(&bridge.config.socket_path(), &Request::Status)
            && docked_with(&status, 1)
        {
            return status;
        }
        assert!(Instant::now() < deadline, "never locked; line at {line:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn wrong_baud_start_is_hunted_to_the_units_speed() {
    let status = hunt_until_locked(19200, StopBits::One);
    assert_eq!(unit(&status)["baud"], 19200);
    assert_eq!(unit(&status)["framing"], "8N1");
    assert!(
        unit(&status)["rejects"].as_object().unwrap().is_empty(),
        "{status}"
    );
}

#[test]
fn a_unit_set_to_7n2_is_found_on_the_second_hunting_pass() {
    let status = hunt_until_locked(4800, StopBits::Two);
    assert_eq!(unit(&status)["baud"], 4800);
    assert_eq!(unit(&status)["framing"], "7N2");
}

#[test]
fn several_units_are_read_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _s1) = dock(&dir.path().join("gps0"));
    let (mut second, _s2) = dock(&dir.path().join("gps1"));
    let bridge = Running::start_with(config(dir.path(), Baud::Fixed(4800), &["gps0", "gps1"]));
    for s in 0..2 {
        first.write_all(gga(s).as_bytes()).unwrap();
        second.write_all(gga(s).as_bytes()).unwrap();
    }
    let status = bridge.wait_for(
        |s| {
            s["units"].as_array().is_some_and(|units| {
                units.len() == 2 && units.iter().all(|u| u["sentences"].as_u64() >= Some(2))
            })
        },
        "two units",
    );
    assert_eq!(
        status["units"][1]["port"],
        dir.path().join("gps1").to_str().unwrap()
    );
    let reply = bridge.request(&Request::Mark {
        name: "J1".to_owned(),
        secs: Some(0.1),
        port: None,
    });
    assert_eq!(reply["error"], "several units docked: name one with --port");
}

/// What the bridges of this test binary log (tests run at once: look for your own port).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogCapture;

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines logged so far that mention `port`.
fn logged_about(port: &Path) -> Vec<String> {
    static CAPTURE: Once = Once::new();
    CAPTURE.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(|| LogCapture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let logs = LOGS.lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|line| line.contains(port.to_str().unwrap()))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_port_that_will_not_open_is_no_unit_and_is_logged_once_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    // Listed in the configuration and present, but not a terminal: every open fails.
    let not_a_tty = dir.path().join("gps0");
    std::fs::write(&not_a_tty, b"").unwrap();
    assert!(logged_about(&not_a_tty).is_empty());
    let bridge = Running::start(dir.path(), Baud::Fixed(4800));
    // Fifteen scans, 0.1 s apart, each opening the port again.
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        bridge.request(&Request::Status)["units"],
        Value::Array(Vec::new())
    );
    let logged = logged_about(&not_a_tty);
    let count = |what: &str| logged.iter().filter(|l| l.contains(what)).count();
    assert_eq!(count("opening receiver port"), 1, "{logged:#?}");
    assert_eq!(count("receiver port closed"), 1, "{logged:#?}");
    assert_eq!(logged.len(), 2, "{logged:#?}");
}
