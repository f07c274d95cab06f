//! `gps-bridge inspect FILE` and `gps-bridge convert IN OUT`: a plot file's plots through the
//! same checks as surveyed ones (without earlier plots or layers, which live in the daemon's
//! databases), reported as JSON, or written in the other format. Pure over bytes; the binary
//! reads and writes the files.

use serde::Serialize;

use crate::files::{self, FileError, FilePlot, Format, TxtOptions};
use crate::plot::{self, Areas, CheckedPlot, Finding, LandKind, PlotReport, PlotSettings, Shown};

/// What `inspect` says of one plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspected {
    /// Its id in the file (地块编号, the feature's id, or its number).
    pub id: String,
    pub name: String,
    /// `checked` or `refused`.
    pub outcome: &'static str,
    pub land: LandKind,
    /// Boundary and holes.
    pub rings: usize,
    pub zone: Option<u8>,
    #[serde(flatten)]
    pub areas: Option<Areas>,
    pub area_shown: Option<Shown>,
    pub warnings: Vec<Finding>,
    pub refusals: Vec<Finding>,
}

impl Inspected {
    fn new(id: String, report: &PlotReport) -> Self {
        let (outcome, land, rings, zone) = match report {
            PlotReport::Checked(p) => ("checked", p.land, 1 + p.holes.len(), Some(p.zone)),
            PlotReport::Refused(p) => ("refused", p.land, 1 + p.holes.len(), p.zone),
        };
        let (refusals, warnings) = report
            .findings()
            .iter()
            .cloned()
            .partition(Finding::is_refusal);
        Inspected {
            id,
            name: report.name().to_owned(),
            outcome,
            land,
            rings,
            zone: zone.map(|z| z.number()),
            areas: report.areas().copied(),
            area_shown: report.areas().map(Areas::shown),
            warnings,
            refusals,
        }
    }
}

/// Each plot of the file and its report.
fn checked(plots: Vec<FilePlot>, settings: &PlotSettings) -> Vec<(String, PlotReport)> {
    plots
        .into_iter()
        .map(|p| (p.id, plot::check(&p.candidate, settings, &[])))
        .collect()
}

/// The plots of a file, checked.
pub fn inspect(
    format: Format,
    bytes: &[u8],
    device: &str,
    settings: &PlotSettings,
) -> Result<Vec<Inspected>, FileError> {
    let plots = files::read_plots(format, bytes, device)?;
    Ok(checked(plots, settings)
        .iter()
        .map(|(id, report)| Inspected::new(id.clone(), report))
        .collect())
}

/// Why a file was not converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    File(#[from] FileError),
    /// Some plots did not pass: nothing is written, so no file leaves out a plot quietly.
    #[error("{} of the file's plots were refused; nothing was written", .0.len())]
    Refused(Vec<Inspected>),
}

/// The file's plots, checked, in the other format; all or nothing.
pub fn convert(
    from: Format,
    bytes: &[u8],
    device: &str,
    to: Format,
    settings: &PlotSettings,
    options: &TxtOptions,
) -> Result<Vec<u8>, ConvertError> {
    let reports = checked(files::read_plots(from, bytes, device)?, settings);
    let refused: Vec<Inspected> = reports
        .iter()
        .filter(|(_, r)| matches!(r, PlotReport::Refused(_)))
        .map(|(id, r)| Inspected::new(id.clone(), r))
        .collect();
    if !refused.is_empty() {
        return Err(ConvertError::Refused(refused));
    }
    let plots: Vec<CheckedPlot> = reports
        .into_iter()
        .filter_map(|(_, r)| match r {
            PlotReport::Checked(p) => Some(p),
            PlotReport::Refused(_) => None,
        })
        .collect();
    Ok(files::write_plots(to, &plots, options))
}
