//! Which serial ports are receivers: USB ports whose VID/PID is on the allow-list, plus paths
//! named in the configuration (for fixed serial lines, or udev symlinks such as /dev/gps0).

use std::path::PathBuf;

use serialport::SerialPortType;

/// A port worth opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortCandidate {
    pub path: String,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub model: Option<String>,
}

/// The ports to open now. A failure to list USB ports (no udev in a container) leaves the
/// configured paths.
pub fn discover(allowed: &[(u16, u16)], configured: &[PathBuf]) -> Vec<PortCandidate> {
    let mut found: Vec<PortCandidate> = serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| match port.port_type {
            SerialPortType::UsbPort(usb) if allowed.contains(&(usb.vid, usb.pid)) => {
                Some(PortCandidate {
                    path: port.port_name,
                    vid: Some(usb.vid),
                    pid: Some(usb.pid),
                    model: usb.product,
                })
            }
            _ => None,
        })
        .collect();
    for path in configured.iter().filter(|p| p.exists()) {
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
