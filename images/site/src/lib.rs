//! `land-hall-site`: at every boot of the Land Hall image, lays the one site overlay the
//! installer wrote on the data partition over each program's image defaults, checks the
//! result with each program's own `--check-config`, and writes the programs' configurations
//! and the touch screen's calibration to `/run/land-hall-site/` (which `/etc/land-hall/` links
//! to). So one image serves every site.

pub mod apply;
pub mod overlay;
pub mod touch;
