//! `egov-sim`: a reference implementation of the Land Hall upstream contract over its own
//! SQLite file, with a simulated approval workflow and fault injection. The demo and the
//! end-to-end tests run against it.

pub mod cases;
pub mod db;
pub mod geometry;
pub mod http;
pub mod listener;
pub mod seed;
pub mod server;
pub mod state;
pub mod ticker;
pub mod tokens;
pub mod workflow;
