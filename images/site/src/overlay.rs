//! The site overlay, pure: one TOML file with a table per program (`[kiosk]`,
//! `[gps-bridge]`) whose keys are laid over that program's image defaults.
//!
//! The overlay uses each program's own key names (config/kiosk.toml, config/gps-bridge.toml),
//! so it needs no schema of its own: whether a key is right is for the program to say
//! (`--check-config`, see [`crate::apply`]). What is checked here is the shape: a readable
//! TOML file of at most [`MAX_BYTES`] whose top level is only program tables.

use std::collections::BTreeMap;

use toml::{Table, Value};

/// A site overlay is a few hundred bytes; anything far larger is not one.
pub const MAX_BYTES: usize = 64 * 1024;

/// A program the overlay configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Program {
    Kiosk,
    GpsBridge,
}

impl Program {
    pub const ALL: [Self; 2] = [Self::Kiosk, Self::GpsBridge];

    /// The program's table in the overlay, and its binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kiosk => "kiosk",
            Self::GpsBridge => "gps-bridge",
        }
    }

    /// The configuration file the program reads (in the output folder).
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Kiosk => "kiosk.toml",
            Self::GpsBridge => "gps-bridge.toml",
        }
    }

    /// The group of the program's service user (config/sysusers.d/land-hall.conf): its
    /// configuration holds the device token, so only root and that group may read it.
    pub fn group(self) -> &'static str {
        match self {
            Self::Kiosk => "land-hall-kiosk",
            Self::GpsBridge => "land-hall-gps",
        }
    }
}

/// Why an overlay cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OverlayError {
    /// Larger than [`MAX_BYTES`].
    #[error("{size} bytes is too large for site settings (at most {MAX_BYTES})")]
    TooLarge { size: usize },
    /// Not UTF-8, or not TOML.
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// A top-level key that is not a program's table.
    #[error("{key:?} is not a program's settings: the file holds only [kiosk] and [gps-bridge]")]
    UnknownTable { key: String },
}

/// The per-program tables of one overlay.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Overlay {
    tables: BTreeMap<Program, Table>,
}

impl Overlay {
    /// Parses overlay bytes as read from the data partition.
    pub fn parse(bytes: &[u8]) -> Result<Self, OverlayError> {
        if bytes.len() > MAX_BYTES {
            return Err(OverlayError::TooLarge { size: bytes.len() });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| OverlayError::Syntax {
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            message: "not UTF-8 text".into(),
        })?;
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| OverlayError::Syntax {
                line: e.span().map_or(1, |span| {
                    1 + text[..span.start.min(text.len())].matches('\n').count()
                }),
                message: e.message().to_owned(),
            })?;
        let mut tables = BTreeMap::new();
        for (key, value) in table {
            let program = Program::ALL.into_iter().find(|p| p.name() == key);
            match (program, value) {
                (Some(program), Value::Table(table)) => {
                    tables.insert(program, table);
                }
                _ => return Err(OverlayError::UnknownTable { key }),
            }
        }
        Ok(Self { tables })
    }

    /// `defaults` with this overlay's keys for `program` laid over them.
    pub fn apply_to(&self, program: Program, defaults: &Table) -> Table {
        let mut merged = defaults.clone();
        if let Some(table) = self.tables.get(&program) {
            merge(&mut merged, table);
        }
        merged
    }
}

/// Lays `overlay` over `base`: tables merge key by key, at every depth; anything else (a
/// string, a number, a list) replaces what the base had.
pub fn merge(base: &mut Table, overlay: &Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Table(below)), Value::Table(above)) => merge(below, above),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn program_tables_are_laid_over_their_defaults_at_every_depth() {
        let overlay = Overlay::parse(
            b"[kiosk]\ndevice_id = \"gy-01\"\n[kiosk.upstream]\ntoken = \"t\"\n\
              [gps-bridge.serial]\nbaud = \"auto\"\n",
        )
        .unwrap();
        let defaults = table(
            "device_id = \"unprovisioned\"\ndata_dir = \"/var/lib/land-hall/kiosk\"\n\
             [upstream]\nurl = \"http://a/\"\ntoken = \"none\"\n",
        );
        let kiosk = overlay.apply_to(Program::Kiosk, &defaults);
        assert_eq!(
            kiosk,
            table(
                "device_id = \"gy-01\"\ndata_dir = \"/var/lib/land-hall/kiosk\"\n\
                 [upstream]\nurl = \"http://a/\"\ntoken = \"t\"\n"
            )
        );
        let bridge = overlay.apply_to(Program::GpsBridge, &table("[serial]\nbaud = 4800\n"));
        assert_eq!(bridge, table("[serial]\nbaud = \"auto\"\n"));
    }

    #[test]
    fn lists_are_replaced_not_appended() {
        let mut base = table("[content]\ntrusted_keys = [\"old\"]\n");
        merge(
            &mut base,
            &table("[content]\ntrusted_keys = [\"a\", \"b\"]\n"),
        );
        assert_eq!(base, table("[content]\ntrusted_keys = [\"a\", \"b\"]\n"));
    }

    #[test]
    fn a_program_the_overlay_leaves_out_keeps_its_defaults() {
        let overlay = Overlay::parse(b"[kiosk]\nhall_id = \"h\"\n").unwrap();
        let defaults = table("database = \"/x.db\"\n");
        assert_eq!(overlay.apply_to(Program::GpsBridge, &defaults), defaults);
        assert_eq!(Overlay::parse(b"").unwrap(), Overlay::default());
    }

    #[test]
    fn a_broken_file_says_where() {
        let err = Overlay::parse(b"[kiosk]\ndevice_id = \"a\"\nhall_id = \n").unwrap_err();
        assert!(
            matches!(&err, OverlayError::Syntax { line: 3, message } if !message.is_empty()),
            "{err:?}"
        );
        assert_eq!(
            Overlay::parse(b"[kiosk]\nx = 1\n\xff\xfe = 2\n").unwrap_err(),
            OverlayError::Syntax {
                line: 3,
                message: "not UTF-8 text".into()
            }
        );
    }

    #[test]
    fn only_program_tables_are_accepted() {
        assert_eq!(
            Overlay::parse(b"device_id = \"a\"\n"),
            Err(OverlayError::UnknownTable {
                key: "device_id".into()
            })
        );
        assert_eq!(
            Overlay::parse(b"[kiosks]\n"),
            Err(OverlayError::UnknownTable {
                key: "kiosks".into()
            })
        );
        assert_eq!(
            Overlay::parse(b"kiosk = 3\n"),
            Err(OverlayError::UnknownTable {
                key: "kiosk".into()
            })
        );
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let big = vec![b'#'; MAX_BYTES + 1];
        assert_eq!(
            Overlay::parse(&big),
            Err(OverlayError::TooLarge {
                size: MAX_BYTES + 1
            })
        );
    }
}
