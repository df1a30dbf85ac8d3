//! One module per command; each takes its validated config and returns the exit status.

pub mod config;
pub mod generate;
pub mod render;
pub mod serve;
