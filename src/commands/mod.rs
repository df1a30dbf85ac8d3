//! One module per command; each takes its validated config and returns the exit status.

pub mod render;
pub mod serve;
