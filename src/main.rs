//! The `framecast` command: parse the command line, set up logging, run a command, report
//! errors with their whole chain and map them to an exit status (2 for usage and set-up
//! problems, as clap does for a malformed command line).

mod commands;
mod config;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Render(args) => commands::render::run(args.into_config()),
        Command::Serve(args) => {
            let open_files = commands::serve::raise_open_file_limit();
            args.into_config(open_files).and_then(commands::serve::run)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("framecast: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr; `RUST_LOG` wins over `-v`/`-q`.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
