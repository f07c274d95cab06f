//! Which serial ports are receivers: USB ports whose VID/PID is on the allow-list, plus paths
//! named in the configuration (for fixed serial lines, or udev symlinks such as /dev/gps0).

use std::path::{Path, PathBuf};

use serialport::{SerialPortInfo, SerialPortType};

/// A port worth opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortCandidate {
    pub path: String,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub model: Option<String>,
}

/// What the units and cables of the default allow-list are, for `status` when the USB
/// descriptor names no product (PL2303 and CH340 cables often do not).
fn known_model(vid: u16, pid: u16) -> Option<&'static str> {
    Some(match (vid, pid) {
        (0x091e, 0x0003) => "Garmin GPS (USB)",
        (0x067b, 0x2303 | 0xaaa0) => "Prolific PL2303 serial cable",
        (0x0403, 0x6001 | 0x6015) => "FTDI serial cable",
        (0x10c4, 0xea60) => "Silicon Labs CP210x serial cable",
        (0x1546, 0x01a5) => "u-blox 5",
        (0x1546, 0x01a6) => "u-blox 6",
        (0x1546, 0x01a7) => "u-blox 7",
        (0x1546, 0x01a8) => "u-blox 8",
        (0x1a86, 0x7523) => "WCH CH340 serial cable",
        (0x1a86, 0x5523) => "WCH CH341 serial cable",
        _ => return None,
    })
}

/// The ports to open among `ports` (the system's list) and the `configured` paths that
/// `exists` says are there; pure, so the choice is tested without USB hardware.
pub fn candidates(
    ports: Vec<SerialPortInfo>,
    allowed: &[(u16, u16)],
    configured: &[PathBuf],
    exists: impl Fn(&Path) -> bool,
) -> Vec<PortCandidate> {
    let mut found: Vec<PortCandidate> = ports
        .into_iter()
        .filter_map(|port| match port.port_type {
            SerialPortType::UsbPort(usb) if allowed.contains(&(usb.vid, usb.pid)) => {
                Some(PortCandidate {
                    path: port.port_name,
                    vid: Some(usb.vid),
                    pid: Some(usb.pid),
                    model: usb
                        .product
                        .or_else(|| known_model(usb.vid, usb.pid).map(str::to_owned)),
                })
            }
            _ => None,
        })
        .collect();
    for path in configured.iter().filter(|p| exists(p)) {
        let path = path.to_string_lossy().into_owned();
        if !found.iter().any(|c| c.path == path) {
            found.push(PortCandidate {
                path,
                vid: None,
                pid: None,
                model: None,
            });
        }
    }
    found
}

/// The ports to open now. A failure to list USB ports (no udev in a container) leaves the
/// configured paths.
pub fn discover(allowed: &[(u16, u16)], configured: &[PathBuf]) -> Vec<PortCandidate> {
    candidates(
        serialport::available_ports().unwrap_or_default(),
        allowed,
        configured,
        Path::exists,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::UsbPortInfo;

    fn usb(path: &str, vid: u16, pid: u16, product: Option<&str>) -> SerialPortInfo {
        SerialPortInfo {
            port_name: path.into(),
            port_type: SerialPortType::UsbPort(UsbPortInfo {
                vid,
                pid,
                serial_number: None,
                manufacturer: None,
                product: product.map(str::to_owned),
            }),
        }
    }

    #[test]
    fn allow_listed_usb_ports_and_present_configured_paths_are_opened() {
        let ports = vec![
            usb("/dev/ttyUSB0", 0x067b, 0x2303, None),
            usb("/dev/ttyACM0", 0x091e, 0x0003, Some("GPSmap 62s")),
            // A USB modem, not on the list.
            usb("/dev/ttyUSB1", 0x12d1, 0x1506, Some("Huawei modem")),
            SerialPortInfo {
                port_name: "/dev/ttyS0".into(),
                port_type: SerialPortType::Unknown,
            },
        ];
        let allowed = [(0x067b, 0x2303), (0x091e, 0x0003)];
        let configured = [
            PathBuf::from("/dev/gps0"),
            PathBuf::from("/dev/missing"),
            // Already found through USB: listed once.
            PathBuf::from("/dev/ttyUSB0"),
        ];
        let found = candidates(ports, &allowed, &configured, |p| {
            p != Path::new("/dev/missing")
        });
        let summary: Vec<(&str, Option<u16>, Option<&str>)> = found
            .iter()
            .map(|c| (c.path.as_str(), c.vid, c.model.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "/dev/ttyUSB0",
                    Some(0x067b),
                    Some("Prolific PL2303 serial cable")
                ),
                ("/dev/ttyACM0", Some(0x091e), Some("GPSmap 62s")),
                ("/dev/gps0", None, None),
            ]
        );
        assert_eq!(found[1].pid, Some(0x0003));
    }

    #[test]
    fn every_default_id_has_a_model_name() {
        for (vid, pid) in crate::config::SerialConfig::default()
            .allowed_ids()
            .unwrap()
        {
            assert!(known_model(vid, pid).is_some(), "{vid:04x}:{pid:04x}");
        }
    }
}
