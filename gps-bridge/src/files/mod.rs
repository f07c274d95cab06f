//! Plot files drawn or received elsewhere: the 国土 boundary-point TXT ([`txt`]) and GeoJSON
//! ([`geojson`]), read into plot candidates and written from checked plots. Bytes in, bytes
//! out: reading and writing files is the caller's.

pub mod encoding;
pub mod geojson;
pub mod txt;

use std::path::Path;

use crate::plot::{CheckedPlot, FindingKind};
use crate::survey::PlotCandidate;

pub use encoding::{TextEncoding, WriteEncoding};
pub use geojson::GeojsonError;
pub use txt::{TxtError, TxtOptions};

/// Largest plot file read, bytes: far beyond any real one, short of exhausting memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A file format, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 国土 boundary-point coordinate file, `.txt`.
    Txt,
    /// `.geojson` or `.json`.
    Geojson,
}

/// What cannot be done with a file. Chinese first, as an officer reads it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}：不是.txt（国土坐标文件）或.geojson文件 (not a .txt or .geojson file)")]
    UnknownFormat(String),
    #[error(
        "{path}：{bytes}字节，不像地块文件（最多{MAX_FILE_BYTES}字节） ({bytes} bytes is more than a plot file has)"
    )]
    TooLarge { path: String, bytes: u64 },
    #[error(transparent)]
    Txt(#[from] TxtError),
    #[error(transparent)]
    Geojson(#[from] GeojsonError),
    #[error("无法读取 {path} (reading it: {source})")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    /// The refusal of a file whose content cannot be read (not one that is missing or too
    /// large: there is nothing, or too much, to keep).
    pub fn unreadable(&self) -> Option<FindingKind> {
        match self {
            FileError::Txt(e) => Some(FindingKind::FileUnreadable {
                format: Format::Txt.name().to_owned(),
                line: Some(e.line),
                reason_zh: e.kind.zh(),
                reason_en: e.kind.en(),
            }),
            FileError::Geojson(e) => Some(FindingKind::FileUnreadable {
                format: Format::Geojson.name().to_owned(),
                line: None,
                reason_zh: e.zh(),
                reason_en: e.en(),
            }),
            FileError::UnknownFormat(_) | FileError::TooLarge { .. } | FileError::Io { .. } => None,
        }
    }
}

impl Format {
    pub fn of(path: &Path) -> Result<Self, FileError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("txt") => Ok(Format::Txt),
            Some("geojson" | "json") => Ok(Format::Geojson),
            _ => Err(FileError::UnknownFormat(path.display().to_string())),
        }
    }

    /// The name the survey store keeps with an imported file.
    pub fn name(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Geojson => "geojson",
        }
    }
}

/// A plot read from a file: its id there (地块编号, a feature's id, or its number) and the
/// candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePlot {
    pub id: String,
    pub candidate: PlotCandidate,
}

/// The plots of a TXT or GeoJSON file; `device` is what the candidates say they came from.
pub fn read_plots(format: Format, bytes: &[u8], device: &str) -> Result<Vec<FilePlot>, FileError> {
    Ok(match format {
        Format::Txt => txt::read(bytes, device)?
            .plots
            .into_iter()
            .map(|p| FilePlot {
                id: p.number,
                candidate: p.candidate,
            })
            .collect(),
        Format::Geojson => geojson::read(bytes, device)?
            .into_iter()
            .map(|p| FilePlot {
                id: p.id,
                candidate: p.candidate,
            })
            .collect(),
    })
}

/// Checked plots as a file of `format`.
pub fn write_plots(format: Format, plots: &[CheckedPlot], options: &TxtOptions) -> Vec<u8> {
    match format {
        Format::Txt => txt::write(plots, options),
        Format::Geojson => geojson::write(plots).into_bytes(),
    }
}

/// A file's bytes, refusing what is too large to be a plot file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let io = |source| FileError::Io {
        path: path.display().to_string(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    if bytes > MAX_FILE_BYTES {
        return Err(FileError::TooLarge {
            path: path.display().to_string(),
            bytes,
        });
    }
    std::fs::read(path).map_err(io)
}
