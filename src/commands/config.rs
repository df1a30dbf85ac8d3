//! `framecast config`: the settings `serve` would run with, and where each comes from.
//!
//! With four places a setting can come from (flag, environment, config file, built-in default)
//! a person wondering why the server runs at some size needs to see the answer, not work it
//! out. This command takes `serve`'s arguments, checks them as `serve` would (profiles
//! included), and prints every option with its value and source, then the profiles, in the
//! config file's own format: the output can be kept as a starting `framecast.toml`.
//! Secrets are never printed, only whether they are set.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, CommandFactory};

use crate::config::file::{self, ConfigFile};
use crate::config::{Cli, ServeArgs};

/// Checks `args` as `serve` would and prints the settings; `matches` are the `config`
/// subcommand's, for where each value came from.
pub fn run(args: ServeArgs, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let file = args.file.clone();
    // The same checks as `serve` (the open-file limit only sets a default not shown here).
    args.into_config(u64::MAX)?;
    print!("{}", text(matches, file.as_ref()));
    Ok(ExitCode::SUCCESS)
}

/// What is printed.
fn text(matches: &ArgMatches, file: Option<&ConfigFile>) -> String {
    let mut out = String::new();
    out.push_str("# The settings of `framecast serve`, each with where it comes from: flag,\n");
    out.push_str(
        "# env (its variable), file or default. A URL's parameters override them, and a\n",
    );
    out.push_str("# profile's override these for the URLs that name it.\n");
    match file {
        Some(file) => {
            let _ = writeln!(out, "# config file: {}", file.path.display());
        }
        None => out.push_str("# config file: none\n"),
    }
    out.push('\n');
    let command = Cli::command();
    let Some(config) = command.find_subcommand("config") else {
        return out;
    };
    for (key, arg) in file::keyed(config) {
        out.push_str(&line(key, arg, matches, file));
        out.push('\n');
    }
    if let Some(file) = file {
        for profile in &file.profiles {
            let _ = writeln!(out, "\n[profiles.{}]", profile.name);
            let mut keys: Vec<&str> = Vec::new();
            for (key, _, _) in &profile.pairs {
                if !keys.contains(&key.as_str()) {
                    keys.push(key);
                }
            }
            for key in keys {
                let values: Vec<&str> = profile
                    .pairs
                    .iter()
                    .filter(|(k, _, _)| k == key)
                    .map(|(_, v, _)| v.as_str())
                    .collect();
                let value = if values.len() == 1 && key != "album" {
                    toml_value(values[0])
                } else {
                    toml_list(&values)
                };
                let _ = writeln!(out, "{key} = {value}");
            }
        }
    }
    out
}

/// One option: `key = value  # source`, or a comment when it has no value or is a secret.
fn line(key: &str, arg: &Arg, matches: &ArgMatches, file: Option<&ConfigFile>) -> String {
    let id = arg.get_id().as_str();
    let mut values: Vec<String> = matches
        .get_raw(id)
        .map(|raw| {
            raw.map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let env_name = |arg: &Arg| {
        arg.get_env()
            .map_or_else(String::new, |e| format!(" {}", e.to_string_lossy()))
    };
    let mut source = match matches.value_source(id) {
        Some(ValueSource::CommandLine) => "flag".to_string(),
        Some(ValueSource::EnvVariable) => format!("env{}", env_name(arg)),
        Some(ValueSource::DefaultValue) if file.is_some_and(|f| f.setting(key).is_some()) => {
            "file".to_string()
        }
        // Nothing anywhere: no value, or an empty list.
        _ => "default".to_string(),
    };
    // The folders and albums have lists of their own in the environment, which win over the
    // file (see `ServeArgs::yield_to_environment`).
    let listed = match id {
        "dirs" => Some(("dirs_env", "FRAMECAST_DIRS", ':')),
        "albums" => Some(("albums_env", "FRAMECAST_ALBUMS", ',')),
        _ => None,
    };
    if let Some((env_id, variable, separator)) = listed
        && source != "flag"
        && let Some(list) = matches.get_raw(env_id).and_then(|mut raw| raw.next())
        && !list.is_empty()
    {
        values = list
            .to_string_lossy()
            .split(separator)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        source = format!("env {variable}");
    }
    if id == "dirs" && values.is_empty() {
        values.push(".".to_string());
        source = "default".to_string();
    }
    if arg.is_hide_env_values_set() {
        return if values.is_empty() {
            format!("# {key}: unset")
        } else {
            format!("# {key}: set ({source})")
        };
    }
    let many = matches!(arg.get_action(), clap::ArgAction::Append);
    let assignment = match (values.as_slice(), many) {
        ([], false) => return format!("# {key}: unset"),
        ([one], false) => format!("{key} = {}", toml_value(one)),
        (all, _) => {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            format!("{key} = {}", toml_list(&all))
        }
    };
    format!("{assignment:<32} # {source}")
}

/// A value as TOML: numbers and booleans bare, anything else a string.
fn toml_value(value: &str) -> String {
    let number = !value.is_empty()
        && value.len() < 19
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    if number || value == "true" || value == "false" {
        value.to_string()
    } else {
        toml_string(value)
    }
}

fn toml_list(values: &[&str]) -> String {
    let items: Vec<String> = values.iter().map(|v| toml_string(v)).collect();
    format!("[{}]", items.join(", "))
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn values_are_written_as_toml_reads_them_back() {
        assert_eq!(toml_value("16"), "16");
        assert_eq!(toml_value("true"), "true");
        assert_eq!(toml_value("08080"), "\"08080\"");
        assert_eq!(toml_value("1280x720"), "\"1280x720\"");
        assert_eq!(
            toml_value("a \"b\" \\ c\u{1b}"),
            "\"a \\\"b\\\" \\\\ c\\u001B\""
        );
        assert_eq!(toml_list(&["/a", "b:c"]), "[\"/a\", \"b:c\"]");
    }

    #[test]
    fn the_printout_is_a_config_file_with_the_same_settings() {
        let file = ConfigFile::parse(
            Path::new("/etc/framecast.toml"),
            "size = \"1280x720\"\nmax-clients = 16\nalbum = [\"pets\"]\n\
             [profiles.kitchen]\nsize = \"1024x600\"\nalbum = [\"pets\"]\n",
        )
        .expect("valid");
        let command = file
            .apply(Cli::command(), &["serve", "config"])
            .expect("applies");
        let matches = command
            .try_get_matches_from(["framecast", "config", "--quality", "70", "/photos"])
            .expect("parses");
        let (_, sub) = matches.subcommand().expect("config");
        let printed = text(sub, Some(&file));
        assert!(
            printed.contains("\n# config file: /etc/framecast.toml\n"),
            "{printed}"
        );
        // Each line: `key = value`, then its source after " # ".
        let setting = |key: &str| {
            printed
                .lines()
                .find(|l| {
                    l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key}:"))
                })
                .map(|l| match l.split_once(" # ") {
                    Some((a, source)) => (a.trim_end().to_string(), source.to_string()),
                    None => (l.to_string(), String::new()),
                })
                .unwrap_or_else(|| panic!("no {key} in:\n{printed}"))
        };
        for (key, assignment, source) in [
            ("size", "size = \"1280x720\"", "file"),
            ("max-clients", "max-clients = 16", "file"),
            ("quality", "quality = 70", "flag"),
            ("dirs", "dirs = [\"/photos\"]", "flag"),
            ("fit", "fit = \"letterbox\"", "default"),
            ("album", "album = [\"pets\"]", "file"),
            ("threads", "# threads: unset", ""),
            ("token", "# token: unset", ""),
        ] {
            assert_eq!(setting(key), (assignment.to_string(), source.to_string()));
        }
        assert!(printed.contains("\n[profiles.kitchen]\n"), "{printed}");
        let again = ConfigFile::parse(Path::new("printed.toml"), &printed).expect("TOML");
        let reapplied = again
            .apply(Cli::command(), &["serve", "config"])
            .expect("the printout is a valid config file");
        let matches = reapplied
            .try_get_matches_from(["framecast", "config"])
            .expect("parses");
        let (_, sub) = matches.subcommand().expect("config");
        assert_eq!(sub.get_one::<u8>("quality"), Some(&70));
        assert_eq!(
            again.profile_pairs().collect::<Vec<_>>(),
            file.profile_pairs().collect::<Vec<_>>()
        );
    }
}
