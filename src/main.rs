//! The `framecast` command: parse the command line, set up logging, run a command, report
//! errors with their whole chain, each cause once, and map them to an exit status (2 for usage
//! and set-up problems, as clap does for a malformed command line).

mod commands;
mod config;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use config::{Command, Failure, Invocation};

fn main() -> ExitCode {
    let Invocation { cli, matches } = match Invocation::parse(std::env::args_os()) {
        Ok(invocation) => invocation,
        Err(Failure::Usage(e)) => e.exit(),
        Err(Failure::File(e)) => {
            eprintln!("framecast: {}", report(&anyhow::Error::new(e)));
            return ExitCode::from(2);
        }
    };
    init_logging(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Render(args) => commands::render::run(args.into_config()),
        Command::Serve(args) => {
            commands::serve::limit_malloc_arenas();
            let open_files = commands::serve::raise_open_file_limit();
            args.into_config(open_files)
                .and_then(|config| commands::serve::run(config, !cli.quiet))
        }
        Command::Config(args) => match matches.subcommand() {
            Some((_, sub)) => commands::config::run(args, sub),
            None => Ok(ExitCode::SUCCESS),
        },
        Command::Generate(args) => commands::generate::run(&args.out),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("framecast: {}", report(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, outermost first: "cannot listen on …: Address in use".
///
/// Not anyhow's `{:#}`: that appends every cause's message, and an error whose message already
/// ends with its source's (the usual `#[error("cannot read {path}: {source}")]` with `source`
/// also returned by `Error::source`) then repeats it ("…: No such file or directory (os error
/// 2): No such file or directory (os error 2)"). A cause whose message the one before it ends
/// with is left out, so each problem is named once whatever the error type does.
fn report(error: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if previous.is_empty() {
            line.push_str(&message);
        } else if !previous.ends_with(&message) {
            line.push_str(": ");
            line.push_str(&message);
        }
        previous = message;
    }
    line
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

#[cfg(test)]
mod tests {
    use super::report;
    use std::io;

    /// Shaped like the library's errors: the message includes the source, which is also
    /// returned by `source()`.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}: {source}")]
    struct Read {
        path: &'static str,
        source: io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct File {
        path: &'static str,
        #[source]
        source: Inner,
    }

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("I/O error: {0}")]
        Io(#[from] io::Error),
    }

    fn missing() -> io::Error {
        io::Error::from(io::ErrorKind::NotFound)
    }

    #[test]
    fn a_source_in_the_message_is_not_repeated() {
        let error = anyhow::Error::new(Read {
            path: "/photos",
            source: missing(),
        });
        assert_eq!(report(&error), "cannot read /photos: entity not found");
        let nested = anyhow::Error::new(File {
            path: "a.jpg",
            source: Inner::Io(missing()),
        })
        .context("cannot start");
        assert_eq!(
            report(&nested),
            "cannot start: a.jpg: I/O error: entity not found"
        );
    }

    #[test]
    fn context_and_plain_sources_are_all_kept() {
        let error = anyhow::Error::new(missing()).context("cannot listen on port 8080");
        assert_eq!(
            report(&error),
            "cannot listen on port 8080: entity not found"
        );
        let error = anyhow::anyhow!("no photos").context("cannot start");
        assert_eq!(report(&error), "cannot start: no photos");
    }
}
