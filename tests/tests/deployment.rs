//! The deployment files in `config/`: the udev rules give the bridge exactly the receivers its
//! allow-list opens, and systemd accepts the units as written, with the real programs in
//! `ExecStart`.

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
        "GROUP=\"land-hall\"",
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

#[test]
fn systemd_units_verify() {
    verify_unit("gps-bridge.service", "gps-bridge");
    verify_unit("kiosk-data.service", "kiosk");
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
