//! NMEA 0183, sans-io: [`Framer`] turns a byte stream into checksum-checked lines, [`decode`]
//! turns a line into a typed [`Sentence`]. Nothing here allocates per sentence or does I/O.

mod address;
mod fields;
mod framer;
mod sentence;
mod tally;

pub use fields::{Date, FieldError, Problem, TimeOfDay};
pub use framer::{Framer, FramerConfig, Line, MAX_SENTENCE_LEN, OwnedLine, Reject, with_checksum};
pub use sentence::{
    Bod, DecodeError, FixQuality, Gga, Gll, Gns, Gsa, Gst, Gsv, LatLon, Parsed, Pgrme, Pgrmm,
    Pgrmt, Pgrmz, Rmb, Rmc, Route, SatelliteInView, Sentence, Vtg, Waypoint, Zda, decode,
};
pub use tally::Tally;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
