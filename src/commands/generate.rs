//! `framecast generate` (hidden): the man pages and shell completions, written from the clap
//! definitions themselves, so what `make install` and the Debian package ship always matches
//! `--help`. Kept in the binary rather than a build script: nothing is generated on every build,
//! and a cross-built binary is never needed to produce them (any host build writes the same
//! files).

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_complete::Shell;

use crate::config::Cli;

/// Writes `man/framecast.1`, one page per visible command (`man/framecast-serve.1`, …) and
/// `completions/` for bash, zsh and fish under `out`.
pub fn run(out: &Path) -> anyhow::Result<ExitCode> {
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;
    let mut visible = visible(Cli::command());
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut visible, "framecast", &completions)
            .with_context(|| format!("cannot write the {shell} completions"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line as shell completions should offer it. The zsh and fish generators list
/// hidden subcommands too (this one among them), so completions are made from a copy of the
/// built command without them; building the copy adds clap's `help` subcommand anew, over
/// the visible ones only.
fn visible(mut cmd: Command) -> Command {
    cmd.build();
    let mut visible = Command::new(cmd.get_name().to_string())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(cmd.get_arguments().cloned())
        .subcommands(
            cmd.get_subcommands()
                .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
                .cloned(),
        );
    if let Some(version) = cmd.get_version() {
        visible = visible.version(version.to_string());
    }
    if let Some(about) = cmd.get_about() {
        visible = visible.about(about.clone());
    }
    visible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_offer_every_visible_command_and_option_once() {
        let mut visible = visible(Cli::command());
        visible.build();
        let names: Vec<&str> = visible.get_subcommands().map(Command::get_name).collect();
        assert_eq!(names, ["render", "serve", "config", "help"]);
        let serve = visible.find_subcommand("serve").expect("serve");
        for long in ["listen", "interval", "verbose", "quiet", "help", "version"] {
            assert_eq!(
                serve
                    .get_arguments()
                    .filter(|a| a.get_long() == Some(long))
                    .count(),
                1,
                "--{long}"
            );
        }
        visible.debug_assert();
    }
}
