//! The deployment files in `config/`: the udev rules give the bridge exactly the receivers its
//! allow-list opens, systemd accepts the units as written (with the real programs in
//! `ExecStart`), each unit's exposure stays within its bound, and the users the units and
//! rules name are the ones `config/sysusers.d/` creates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e_tests::program;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// `(vendor, product)` of every rule line that matches a USB id.
fn udev_ids(rules: &str) -> BTreeSet<(String, String)> {
    let attr = |line: &str, key: &str| {
        let start = line.find(&format!("ATTRS{{{key}}}==\""))? + key.len() + 10;
        let len = line[start..].find('"')?;
        Some(line[start..start + len].to_owned())
    };
    rules
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| Some((attr(line, "idVendor")?, attr(line, "idProduct")?)))
        .collect()
}

#[test]
fn udev_rules_cover_exactly_the_default_allow_list() {
    let example = std::fs::read_to_string(config_dir().join("gps-bridge.toml")).unwrap();
    let config: toml::Table = example.parse().unwrap();
    let allowed: BTreeSet<(String, String)> = config["serial"]["allow"]
        .as_array()
        .expect("serial.allow is a list")
        .iter()
        .map(|id| {
            let (vendor, product) = id.as_str().unwrap().split_once(':').unwrap();
            (vendor.to_owned(), product.to_owned())
        })
        .collect();
    assert_eq!(
        allowed.len(),
        12,
        "the example lists the default allow-list"
    );

    let rules = std::fs::read_to_string(config_dir().join("udev/60-land-hall-gps.rules")).unwrap();
    assert_eq!(udev_ids(&rules), allowed);
    // Every matched unit is the bridge's group's to read, and kept away from ModemManager.
    let action = rules
        .lines()
        .find(|line| line.starts_with("GROUP="))
        .expect("one line sets the matched units' permissions");
    for needed in [
        "GROUP=\"land-hall-gps\"",
        "MODE=\"0640\"",
        "ENV{ID_MM_DEVICE_IGNORE}=\"1\"",
    ] {
        assert!(action.contains(needed), "{needed} missing from {action:?}");
    }
}

/// Runs `systemd-analyze verify` on `unit` with `/usr/bin/NAME` replaced by the built program.
fn verify_unit(unit: &str, name: &str) {
    let text = std::fs::read_to_string(config_dir().join("systemd").join(unit)).unwrap();
    let installed = format!("/usr/bin/{name} ");
    assert!(text.contains(&installed), "{unit} starts {installed}");
    let local = text.replace(&installed, &format!("{} ", program(name).display()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(unit);
    std::fs::write(&path, local).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze runs (package systemd, installed by scripts/setup.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // It exits 0 on unknown keys and only warns, so any warning fails the test.
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{unit}: {stderr}"
    );
}

/// Every unit in `config/systemd/` with the program its `ExecStart` runs, and the highest
/// `systemd-analyze security` exposure it may have (issue #11: ≤ 2.0 for the bridge, ≤ 3.0 for
/// the kiosk; egov-sim, a demo server, is held to the bridge's bound).
const UNITS: [(&str, &str, f64); 4] = [
    ("gps-bridge.service", "gps-bridge", 2.0),
    ("kiosk.service", "kiosk", 3.0),
    ("kiosk-headless.service", "kiosk", 3.0),
    ("egov-sim.service", "egov-sim", 2.0),
];

#[test]
fn systemd_units_verify() {
    let mut on_disk: Vec<String> = std::fs::read_dir(config_dir().join("systemd"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = UNITS.iter().map(|(unit, ..)| unit.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every unit in config/systemd/ is checked here"
    );
    for (unit, program, _) in UNITS {
        verify_unit(unit, program);
    }
}

/// The `systemd-analyze security --offline=yes` exposure of `unit` (0.0 safest, 10.0 worst).
fn exposure(path: &Path) -> f64 {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(path)
        .output()
        .expect("systemd-analyze runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{}: no exposure level in {stdout}", path.display()));
    let value = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    value
        .parse()
        .unwrap_or_else(|_| panic!("exposure {value:?} in {line:?}"))
}

#[test]
fn systemd_units_stay_within_their_exposure() {
    for (unit, _, bound) in UNITS {
        let level = exposure(&config_dir().join("systemd").join(unit));
        assert!(level <= bound, "{unit}: exposure {level} is above {bound}");
    }
}

#[test]
fn the_exposure_check_sees_an_unhardened_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.service");
    std::fs::write(&path, "[Service]\nExecStart=/bin/true\n").unwrap();
    assert!(exposure(&path) > 9.0);
}

/// `(key, value)` of every `Key=value` line of a unit.
fn unit_settings(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect()
}

#[test]
fn units_and_rules_name_the_users_sysusers_creates() {
    let sysusers = std::fs::read_to_string(config_dir().join("sysusers.d/land-hall.conf")).unwrap();
    let users: BTreeSet<&str> = sysusers
        .lines()
        .filter(|line| line.starts_with("u "))
        .map(|line| line.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(users, BTreeSet::from(["land-hall-gps", "land-hall-kiosk"]));
    for (unit, ..) in UNITS {
        let text = std::fs::read_to_string(config_dir().join("systemd").join(unit)).unwrap();
        for (key, value) in unit_settings(&text) {
            if key == "User" || key == "Group" {
                assert!(
                    users.contains(value),
                    "{unit}: {key}={value} is not a land-hall user"
                );
            }
        }
    }
    let bridge = std::fs::read_to_string(config_dir().join("systemd/gps-bridge.service")).unwrap();
    assert!(unit_settings(&bridge).contains(&("Group", "land-hall-gps")));
    // The kiosk reads the screen and the input devices through these groups.
    for group in ["video", "render", "input"] {
        assert!(
            sysusers.contains(&format!("m land-hall-kiosk {group}\n")),
            "{group}"
        );
    }
}

#[test]
fn the_unit_check_catches_a_mistyped_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.service");
    std::fs::write(&path, "[Service]\nExecStart=/bin/true\nRestrt=always\n").unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Restrt"));
}
