//! Applying the site overlay at boot: the I/O around [`crate::overlay`].
//!
//! The candidates are tried in order — the overlay the installer wrote, then the last one that
//! worked — and the first whose every program accepts its merged configuration
//! (`PROGRAM --config FILE --check-config`, the program's own validation) is written out. An
//! overlay that works is kept as the last good one, so an edit that breaks the file leaves
//! the machine running on the settings it had, and reachable by its upstream. When no
//! candidate works the image defaults are used (an unprovisioned kiosk that still shows its
//! screen). Whenever the installer's file was not the one used, the kiosk is told why
//! (its `site_fault` setting): it shows the reason on screen and in its heartbeat.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use toml::Table;

use crate::overlay::{MAX_BYTES, Overlay, Program};
use crate::touch::Rotation;

/// The kiosk setting that carries the reason the site overlay was not used.
pub const SITE_FAULT_KEY: &str = "site_fault";
/// Where the kiosk's rotation sits in its configuration (degrees clockwise).
pub const ROTATION_KEY: [&str; 2] = ["display", "rotation"];
/// The file `70-land-hall-touch.rules` imports, in the output folder.
pub const TOUCH_FILE: &str = "touch-calibration.env";

pub struct Paths {
    /// The overlay the installer wrote (`/data/site.toml`).
    pub site: PathBuf,
    /// The last overlay that worked, kept by this program (`/data/site.last-good.toml`).
    pub last_good: PathBuf,
    /// The image's defaults: `kiosk.toml`, `gps-bridge.toml`.
    pub defaults: PathBuf,
    /// Where the programs' configurations go (`/run/land-hall-site`).
    pub out: PathBuf,
    /// The group file that names the programs' groups (`/etc/group`).
    pub group_file: PathBuf,
    /// Each program's binary, for `--check-config`; a program not listed is not checked.
    pub checkers: Vec<(Program, PathBuf)>,
}

/// Which settings the programs run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Site,
    LastGood,
    Defaults,
}

#[derive(Debug)]
pub struct Outcome {
    pub source: Source,
    /// Why the installer's overlay was not used, as the kiosk shows it.
    pub fault: Option<String>,
}

/// A configuration ready to be checked and written.
struct Rendered {
    program: Program,
    table: Table,
    text: String,
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn defaults(dir: &Path) -> anyhow::Result<Vec<(Program, Table)>> {
    Program::ALL
        .into_iter()
        .map(|program| {
            let path = dir.join(program.file_name());
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the image default {}", path.display()))?;
            let table = text
                .parse()
                .with_context(|| format!("the image default {}", path.display()))?;
            Ok((program, table))
        })
        .collect()
}

fn render(overlay: &Overlay, defaults: &[(Program, Table)], fault: Option<&str>) -> Vec<Rendered> {
    defaults
        .iter()
        .map(|(program, base)| {
            let mut table = overlay.apply_to(*program, base);
            if let (Program::Kiosk, Some(fault)) = (program, fault) {
                table.insert(SITE_FAULT_KEY.into(), fault.into());
            }
            Rendered {
                program: *program,
                text: toml::to_string(&table).expect("a TOML table always serialises"),
                table,
            }
        })
        .collect()
}

/// The kiosk's rotation in `rendered`, if it sets a valid one.
fn rotation(rendered: &[Rendered]) -> Rotation {
    rendered
        .iter()
        .find(|r| r.program == Program::Kiosk)
        .and_then(|r| {
            r.table
                .get(ROTATION_KEY[0])?
                .get(ROTATION_KEY[1])?
                .as_integer()
        })
        .and_then(Rotation::from_degrees)
        .unwrap_or(Rotation::None)
}

/// Writes `bytes` to `path` whole or not at all (a power cut leaves the old file), readable
/// by `mode`, and flushed to disk before it replaces the old one.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32, gid: Option<u32>) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(bytes)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(&tmp, Some(0), Some(gid))
            .with_context(|| format!("giving {} to group {gid}", tmp.display()))?;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The id of `group` in an `/etc/group`-style file.
fn group_id(group_file: &str, group: &str) -> Option<u32> {
    group_file.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == group).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// Runs each program's own check on its rendered configuration, in `staging`.
fn check(paths: &Paths, staging: &Path, rendered: &[Rendered]) -> Result<(), String> {
    for r in rendered {
        let file = staging.join(r.program.file_name());
        std::fs::write(&file, &r.text).map_err(|e| format!("staging {}: {e}", file.display()))?;
        let Some((_, binary)) = paths.checkers.iter().find(|(p, _)| *p == r.program) else {
            continue;
        };
        let out = Command::new(binary)
            .arg("--config")
            .arg(&file)
            .arg("--check-config")
            .output()
            .map_err(|e| format!("running {}: {e}", binary.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.trim().lines().last().unwrap_or("refused").to_owned();
            // The program names the staging file; the person fixing it edits the overlay.
            let reason = reason.replace(&file.display().to_string(), r.program.file_name());
            return Err(format!("{}: {reason}", r.program.name()));
        }
    }
    Ok(())
}

/// Tries the candidates and writes the programs' configurations.
pub fn apply(paths: &Paths) -> anyhow::Result<Outcome> {
    let defaults = defaults(&paths.defaults)?;
    std::fs::create_dir_all(&paths.out)
        .with_context(|| format!("creating {}", paths.out.display()))?;
    let staging = tempfile_dir(&paths.out)?;
    let shown = |path: &Path| path.display().to_string();

    let mut fault: Option<String> = None;
    let mut chosen: Option<(Source, Vec<u8>, Overlay)> = None;
    for (source, path) in [
        (Source::Site, &paths.site),
        (Source::LastGood, &paths.last_good),
    ] {
        let bytes = match read_bounded(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if source == Source::Site {
                    fault = Some(format!(
                        "no site settings: {} is missing (the installer writes it)",
                        shown(path)
                    ));
                }
                continue;
            }
            Err(e) => {
                if source == Source::Site {
                    fault = Some(format!("{}: {e}", shown(path)));
                }
                continue;
            }
        };
        let outcome = Overlay::parse(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|overlay| {
                check(paths, &staging, &render(&overlay, &defaults, None))?;
                Ok(overlay)
            });
        match outcome {
            Ok(overlay) => {
                chosen = Some((source, bytes, overlay));
                break;
            }
            Err(reason) if source == Source::Site => {
                fault = Some(format!("{}: {reason}", shown(path)));
            }
            Err(reason) => {
                eprintln!("land-hall-site: the last good settings no longer work: {reason}");
            }
        }
    }

    let (source, overlay) = match chosen {
        Some((Source::Site, bytes, overlay)) => {
            let unchanged = read_bounded(&paths.last_good).is_ok_and(|old| old == bytes);
            if !unchanged {
                write_atomic(&paths.last_good, &bytes, 0o600, None)?;
            }
            (Source::Site, overlay)
        }
        Some((source, _, overlay)) => (source, overlay),
        None => (Source::Defaults, Overlay::default()),
    };
    let fault = fault.map(|reason| match source {
        Source::LastGood => format!("{reason}; running on the last good site settings"),
        _ => format!("{reason}; running unprovisioned on the image defaults"),
    });
    let rendered = render(&overlay, &defaults, fault.as_deref());
    if let Err(reason) = check(paths, &staging, &rendered) {
        // Only the image defaults can get here; they are written all the same, since a
        // program that refuses its configuration says so itself when it starts.
        eprintln!("land-hall-site: {reason}");
    }
    let groups = std::fs::read_to_string(&paths.group_file).unwrap_or_default();
    for r in &rendered {
        let gid = group_id(&groups, r.program.group());
        write_atomic(
            &paths.out.join(r.program.file_name()),
            r.text.as_bytes(),
            0o640,
            gid,
        )?;
    }
    write_atomic(
        &paths.out.join(TOUCH_FILE),
        rotation(&rendered).udev_properties().as_bytes(),
        0o644,
        None,
    )?;
    std::fs::remove_dir_all(&staging).ok();
    Ok(Outcome { source, fault })
}

/// A fresh staging folder inside `out` (root-only: it holds tokens).
fn tempfile_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let dir = out.join(".staging");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_come_from_the_group_file() {
        let groups = "root:x:0:\nvideo:x:44:land-hall-kiosk\nland-hall-kiosk:x:850:\n";
        assert_eq!(group_id(groups, "land-hall-kiosk"), Some(850));
        assert_eq!(group_id(groups, "video"), Some(44));
        assert_eq!(group_id(groups, "land-hall-gps"), None);
    }
}
