//! Pulling data from the upstream: the case feed.

pub mod cases;
