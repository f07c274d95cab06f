//! `land-hall-site`, the image's boot step that turns the one site overlay on the data
//! partition into each program's configuration: with the real `kiosk` and `gps-bridge` as the
//! judges of what they accept, and the real kiosk reporting a broken overlay in its heartbeat
//! to a real egov-sim.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e_tests::{EgovSim, program};

fn images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../images")
}

/// A data partition, an output folder and the image defaults, all in one temporary folder.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn site(&self) -> PathBuf {
        self.dir.path().join("data/site.toml")
    }

    fn last_good(&self) -> PathBuf {
        self.dir.path().join("data/site.last-good.toml")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The image defaults, with the data folders moved into this machine.
    fn defaults(&self) -> PathBuf {
        let dir = self.dir.path().join("defaults");
        std::fs::create_dir_all(&dir).unwrap();
        let data = self.dir.path().join("data");
        for name in ["kiosk.toml", "gps-bridge.toml"] {
            let text = std::fs::read_to_string(
                images_dir()
                    .join("rootfs/usr/share/land-hall/defaults")
                    .join(name),
            )
            .unwrap()
            .replace(
                "/var/lib/land-hall",
                &data.join("land-hall").display().to_string(),
            )
            .replace(
                "/run/land-hall",
                &self.out().join("bridge").display().to_string(),
            );
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    fn write_site(&self, text: &str) {
        std::fs::create_dir_all(self.site().parent().unwrap()).unwrap();
        std::fs::write(self.site(), text).unwrap();
    }

    /// Runs land-hall-site; returns its stdout.
    fn apply(&self) -> String {
        let out = Command::new(program("land-hall-site"))
            .arg("--site")
            .arg(self.site())
            .arg("--last-good")
            .arg(self.last_good())
            .arg("--defaults")
            .arg(self.defaults())
            .arg("--out")
            .arg(self.out())
            .arg("--group-file")
            .arg(self.dir.path().join("no-such-group-file"))
            .arg("--kiosk")
            .arg(program("kiosk"))
            .arg("--gps-bridge")
            .arg(program("gps-bridge"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "land-hall-site failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn kiosk_config(&self) -> toml::Table {
        std::fs::read_to_string(self.out().join("kiosk.toml"))
            .unwrap()
            .parse()
            .unwrap()
    }

    fn site_fault(&self) -> Option<String> {
        self.kiosk_config()
            .get("site_fault")
            .map(|v| v.as_str().unwrap().to_owned())
    }
}

/// The kiosk's device token in the overlays of the tests that need no upstream.
const TOKEN: &str = "site-test-token";

/// The example overlay of images/, pointed at `upstream` with the kiosk's device `token`.
fn example_site(upstream: &str, token: &str) -> String {
    std::fs::read_to_string(images_dir().join("site.example.toml"))
        .unwrap()
        .replace("http://127.0.0.1:8080", upstream.trim_end_matches('/'))
        .replace("\"demo-device-token\"", &format!("\"{token}\""))
}

fn check_config(name: &str, config: &Path) {
    let out = Command::new(program(name))
        .arg("--config")
        .arg(config)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} refuses {}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_overlay_configures_both_programs_and_is_kept_as_last_good() {
    let machine = Machine::new();
    let site = example_site("http://127.0.0.1:8080", TOKEN);
    machine.write_site(&site);
    let said = machine.apply();
    assert!(said.contains("settings from"), "{said}");
    assert!(!said.contains("FAULT"), "{said}");

    let kiosk = machine.kiosk_config();
    assert_eq!(kiosk["device_id"].as_str(), Some("gy-hall-kiosk-01"));
    assert_eq!(kiosk["upstream"]["token"].as_str(), Some(TOKEN));
    // The image default the overlay does not touch is still there.
    assert!(
        kiosk["data_dir"]
            .as_str()
            .unwrap()
            .ends_with("land-hall/kiosk")
    );
    assert!(kiosk.get("site_fault").is_none());
    check_config("kiosk", &machine.out().join("kiosk.toml"));
    check_config("gps-bridge", &machine.out().join("gps-bridge.toml"));

    // The device token is in there: root and the program's group only.
    for name in ["kiosk.toml", "gps-bridge.toml"] {
        let mode = std::fs::metadata(machine.out().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{name}");
    }
    assert_eq!(std::fs::read_to_string(machine.last_good()).unwrap(), site);
    // No rotation set: the touch screen is left as it is.
    assert_eq!(
        std::fs::read_to_string(machine.out().join("touch-calibration.env")).unwrap(),
        "LIBINPUT_CALIBRATION_MATRIX=1 0 0 0 1 0\n"
    );
}

#[test]
fn the_bridge_gets_its_zone_from_the_overlay() {
    let machine = Machine::new();
    machine.write_site(&format!(
        "{}\n[gps-bridge.projection]\nzone = 38\n",
        example_site("http://127.0.0.1:8080", TOKEN)
    ));
    let said = machine.apply();
    assert!(!said.contains("FAULT"), "{said}");
    let bridge: toml::Table = std::fs::read_to_string(machine.out().join("gps-bridge.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(bridge["projection"]["zone"].as_integer(), Some(38));
    check_config("gps-bridge", &machine.out().join("gps-bridge.toml"));

    // A zone the bridge refuses is the bridge's fault to name.
    machine.write_site("[gps-bridge.projection]\nzone = 99\n");
    machine.apply();
    let fault = machine.site_fault().unwrap();
    assert!(fault.contains("gps-bridge:"), "{fault}");
}

#[test]
fn a_corrupted_overlay_runs_on_the_last_good_settings_and_says_why() {
    let machine = Machine::new();
    let good = example_site("http://127.0.0.1:8080", TOKEN);
    machine.write_site(&good);
    machine.apply();

    // Cut off in the middle of a line, as a failed copy would leave it.
    machine.write_site(&good[..good.find("hall_id = \"").unwrap() + 11]);
    let said = machine.apply();
    assert!(
        said.contains("settings from") && said.contains("last-good"),
        "{said}"
    );
    let fault = machine.site_fault().expect("the kiosk is told");
    assert!(
        fault.contains("site.toml") && fault.contains("line "),
        "{fault}"
    );
    assert!(fault.contains("last good"), "{fault}");
    assert_eq!(
        machine.kiosk_config()["device_id"].as_str(),
        Some("gy-hall-kiosk-01")
    );
    check_config("kiosk", &machine.out().join("kiosk.toml"));
    // The last good copy is not replaced by the broken file.
    assert_eq!(std::fs::read_to_string(machine.last_good()).unwrap(), good);

    // Fixed again: the fault goes away.
    machine.write_site(&good);
    machine.apply();
    assert_eq!(machine.site_fault(), None);
}

#[test]
fn a_value_the_kiosk_refuses_is_reported_in_the_kiosks_own_words() {
    let machine = Machine::new();
    machine.write_site(
        &example_site("http://127.0.0.1:8080", TOKEN).replace("gy-hall-kiosk-01", "hall kiosk 1"),
    );
    machine.apply();
    let fault = machine.site_fault().unwrap();
    assert!(
        fault.contains("kiosk:") && fault.contains("device_id"),
        "{fault}"
    );
    // Nothing good to fall back to: unprovisioned, but running.
    assert!(fault.contains("unprovisioned"), "{fault}");
    assert_eq!(
        machine.kiosk_config()["device_id"].as_str(),
        Some("unprovisioned")
    );
    check_config("kiosk", &machine.out().join("kiosk.toml"));
    assert!(!machine.last_good().exists());
}

#[test]
fn a_table_for_no_program_is_refused() {
    let machine = Machine::new();
    machine.write_site("[kiosk]\ndevice_id = \"k1\"\n[network]\ndhcp = false\n");
    machine.apply();
    let fault = machine.site_fault().unwrap();
    assert!(fault.contains("\"network\""), "{fault}");
}

#[test]
fn a_machine_never_provisioned_comes_up_on_the_defaults() {
    let machine = Machine::new();
    let said = machine.apply();
    assert!(said.contains("the image defaults"), "{said}");
    let fault = machine.site_fault().unwrap();
    assert!(fault.contains("missing"), "{fault}");
    check_config("kiosk", &machine.out().join("kiosk.toml"));
    check_config("gps-bridge", &machine.out().join("gps-bridge.toml"));
}

/// The kiosk's data plane, killed when dropped.
struct Kiosk(Child);

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_kiosk_reports_a_broken_overlay_in_its_heartbeat() {
    let egov = EgovSim::start(&["--cases", "20"]);
    let machine = Machine::new();
    // egov-sim takes only the tokens it issued: the example's device gets its own.
    let token = egov.provision("gy-hall-kiosk-01", "hn-czs-gyx");
    let good = example_site(&egov.url, &token).replace(
        "[kiosk.upstream]",
        "[kiosk.heartbeat]\ninterval_s = 1\n[kiosk.upstream]",
    );
    machine.write_site(&good);
    machine.apply();
    machine.write_site("[kiosk\n");
    machine.apply();

    let _kiosk = Kiosk(
        Command::new(program("kiosk"))
            .arg("--config")
            .arg(machine.out().join("kiosk.toml"))
            .args(["run", "--headless"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let admin = egov.admin_client();
    // Driven by the kiosk's own 1 s heartbeat; the bound only stops a hung test.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let fleet = admin.fleet().await.unwrap();
        let fault = fleet
            .devices
            .iter()
            .find(|d| d.device_id == "gy-hall-kiosk-01")
            .and_then(|d| d.heartbeat.faults.iter().find(|f| f.part == "site"));
        if let Some(fault) = fault {
            assert!(fault.message.contains("line 1"), "{}", fault.message);
            assert!(fault.message.contains("last good"), "{}", fault.message);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat with the site fault"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
