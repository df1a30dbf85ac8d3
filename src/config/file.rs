//! The config file, `framecast.toml`: defaults for `serve`'s options, and named profiles.
//!
//! A server that runs for months is set up once and then left alone; a file says what it runs
//! with better than a long unit-file command line, and it is the only place a profile (a named
//! set of URL parameters, see [`framecast::http::profile`]) can be written down:
//!
//! ```toml
//! dirs = ["/srv/photos"]
//! size = "1920x1080"
//! interval = "10s"
//! max-clients = 16
//!
//! [profiles.kitchen]
//! size = "1024x600"
//! fit = "blur"
//! ```
//!
//! Top-level keys are named like the long flags (`max-clients` for `--max-clients`; `dirs` for
//! the folders). Each becomes the default of its clap argument before the command line is
//! parsed, so the file sits between the built-in defaults and the environment and flags
//! (URL > profile > flags/env > file > built-in), and the same value parsers read it. They
//! read it here first too, one key at a time, so that a bad value is blamed on the file, its
//! line and key, not on a flag nobody typed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction};
use toml::de::{DeTable, DeValue};

/// The key holding the `[profiles.NAME]` tables.
pub const PROFILES: &str = "profiles";

/// The positional folders' key (they have no long flag to be named after).
pub const DIRS: &str = "dirs";

/// Why the config file cannot be used. Each names the file, and the line and key when there
/// is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unreadable.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, or not UTF-8.
    #[error("{}:{line}:{column}: not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where (from 1).
        line: usize,
        /// Where in the line (from 1).
        column: usize,
        /// What the TOML parser says.
        message: String,
    },
    /// A top-level key no option has.
    #[error("{}:{line}: unknown key '{key}'{hint}", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// The key.
        key: String,
        /// The close matches, or the keys there are.
        hint: String,
    },
    /// A value of the wrong shape or refused by the option's parser.
    #[error("{}:{line}: {key}: {reason}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// The key (`profiles.kitchen.size` inside a profile).
        key: String,
        /// Why.
        reason: String,
    },
    /// A profile the HTTP layer refuses (bad name, unknown parameter, bad value).
    #[error("{}:{line}: {source}", path.display())]
    Profile {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// Why, naming the profile and the parameter.
        source: framecast::http::profile::Error,
    },
}

/// One top-level setting: the option's default from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key, the option's long name.
    pub key: String,
    /// Its value or values, as they would be typed after the flag.
    pub values: Vec<String>,
    /// Where it is (from 1).
    pub line: usize,
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The name.
    pub name: String,
    /// Its parameters as URL pairs (a list gives one pair per item), each with its line.
    pub pairs: Vec<(String, String, usize)>,
    /// Where the table starts.
    pub line: usize,
}

/// A config file, read and shaped but not yet checked against the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The top-level settings, by key.
    pub settings: Vec<Setting>,
    /// The profiles, by name.
    pub profiles: Vec<Profile>,
}

/// Where the config file is looked for when none is named: `$XDG_CONFIG_HOME/framecast/
/// framecast.toml`, else `~/.config/framecast/framecast.toml` (XDG's rules: a relative
/// `XDG_CONFIG_HOME` is ignored). `None` with neither variable.
pub fn default_path(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| {
        home.filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(".config"))
    })
    .map(|dir| dir.join("framecast").join("framecast.toml"))
}

impl ConfigFile {
    /// Reads and shapes the file at `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, Error> {
        let read = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(read)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = position(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            Error::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: "not UTF-8".to_string(),
            }
        })?;
        ConfigFile::parse(path, &text)
    }

    /// Shapes `text`, read from `path`: scalars and lists of scalars at the top, tables of
    /// them under `profiles`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, Error> {
        let table = DeTable::parse(text).map_err(|e| {
            let (line, column) = position(text, e.span().map_or(0, |s| s.start));
            Error::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        let line_of = |span: std::ops::Range<usize>| position(text, span.start).0;
        let bad = |key: &str, span: std::ops::Range<usize>, reason: String| Error::Value {
            path: path.to_path_buf(),
            line: line_of(span),
            key: key.to_string(),
            reason,
        };
        let mut file = ConfigFile {
            path: path.to_path_buf(),
            settings: Vec::new(),
            profiles: Vec::new(),
        };
        for (key, value) in table.get_ref() {
            let name: &str = key.get_ref();
            if name == PROFILES {
                let Some(profiles) = value.get_ref().as_table() else {
                    return Err(bad(
                        name,
                        value.span(),
                        "is [profiles.NAME] tables of URL parameters".to_string(),
                    ));
                };
                for (profile, table) in profiles {
                    let profile_name: &str = profile.get_ref();
                    let at = format!("{PROFILES}.{profile_name}");
                    let Some(table) = table.get_ref().as_table() else {
                        return Err(bad(
                            &at,
                            table.span(),
                            "a profile is a table: [profiles.NAME] then key = value lines"
                                .to_string(),
                        ));
                    };
                    let mut pairs = Vec::new();
                    for (k, v) in table {
                        let k: &str = k.get_ref();
                        let line = line_of(v.span());
                        let values = scalars(v.get_ref())
                            .map_err(|reason| bad(&format!("{at}.{k}"), v.span(), reason))?;
                        pairs.extend(values.into_iter().map(|v| (k.to_string(), v, line)));
                    }
                    file.profiles.push(Profile {
                        name: profile_name.to_string(),
                        pairs,
                        line: line_of(profile.span()),
                    });
                }
            } else {
                let values =
                    scalars(value.get_ref()).map_err(|reason| bad(name, value.span(), reason))?;
                file.settings.push(Setting {
                    key: name.to_string(),
                    values,
                    line: line_of(key.span()),
                });
            }
        }
        Ok(file)
    }

    /// The setting of `key`, if the file has one.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The profiles as the HTTP layer takes them: name and `key=value` pairs.
    pub fn profile_pairs(&self) -> impl Iterator<Item = (String, Vec<(String, String)>)> + '_ {
        self.profiles.iter().map(|p| {
            let pairs = p
                .pairs
                .iter()
                .map(|(k, v, _)| (k.clone(), v.clone()))
                .collect();
            (p.name.clone(), pairs)
        })
    }

    /// Where the error about a profile points: the parameter's line, else the table's.
    pub fn profile_error(&self, error: framecast::http::profile::Error) -> Error {
        let profile = self.profiles.iter().find(|p| p.name == error.profile());
        let line = profile.map_or(0, |p| {
            error
                .key()
                .and_then(|key| p.pairs.iter().find(|(k, _, _)| k == key))
                .map_or(p.line, |(_, _, line)| *line)
        });
        Error::Profile {
            path: self.path.clone(),
            line,
            source: error,
        }
    }

    /// `command` with every setting as the default of its argument in the subcommands
    /// `subcommands`, each value first read by that argument's own parser. The arguments of
    /// the first subcommand say which keys exist.
    pub fn apply(
        &self,
        command: clap::Command,
        subcommands: &[&str],
    ) -> Result<clap::Command, Error> {
        let mut built = command.clone();
        built.build();
        let Some(reference) = subcommands
            .first()
            .and_then(|name| built.find_subcommand(name))
        else {
            return Ok(command);
        };
        let mut defaults: Vec<(String, Vec<String>)> = Vec::new();
        for setting in &self.settings {
            let arg = keyed(reference)
                .find(|(key, _)| *key == setting.key)
                .map(|(_, arg)| arg)
                .ok_or_else(|| self.unknown_key(reference, setting))?;
            self.check(arg, setting)?;
            defaults.push((arg.get_id().to_string(), setting.values.clone()));
        }
        let mut command = command;
        for name in subcommands {
            command = command.mut_subcommand(name, |mut sub| {
                for (id, values) in &defaults {
                    sub = sub.mut_arg(id, |arg| arg.default_values(values.iter()));
                }
                sub
            });
        }
        Ok(command)
    }

    /// Reads `setting` with `arg`'s parser, so that a bad value is reported against the file.
    fn check(&self, arg: &Arg, setting: &Setting) -> Result<(), Error> {
        let bad = |reason: String| Error::Value {
            path: self.path.clone(),
            line: setting.line,
            key: setting.key.clone(),
            reason,
        };
        let many = matches!(arg.get_action(), ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        if !many && setting.values.len() != 1 {
            return Err(bad("takes one value, not a list".to_string()));
        }
        if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
            return match setting.values[0].as_str() {
                "true" | "false" => Ok(()),
                other => Err(bad(format!("is true or false, not '{other}'"))),
            };
        }
        // A command of one option with the argument's own parser, and nothing else of it
        // (no environment variable, no default), reads each value as the flag would.
        let probe = clap::Command::new("framecast.toml")
            .no_binary_name(true)
            .disable_help_flag(true)
            .arg(
                Arg::new("value")
                    .long("value")
                    .action(ArgAction::Set)
                    .value_parser(arg.get_value_parser().clone()),
            );
        for value in &setting.values {
            if let Err(e) = probe
                .clone()
                .try_get_matches_from([format!("--value={value}")])
            {
                let why = std::error::Error::source(&e)
                    .map_or_else(|| e.kind().to_string(), ToString::to_string);
                return Err(bad(format!("invalid value '{value}': {why}")));
            }
        }
        Ok(())
    }

    fn unknown_key(&self, reference: &clap::Command, setting: &Setting) -> Error {
        let mut keys: Vec<&str> = keyed(reference).map(|(key, _)| key).collect();
        keys.push(PROFILES);
        let mut close: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| is_close(&setting.key, k))
            .collect();
        close.sort_by_key(|k| distance(&setting.key, k));
        let hint = if close.is_empty() {
            keys.sort_unstable();
            format!(" (the keys are: {})", keys.join(", "))
        } else {
            format!(
                " (did you mean {}?)",
                close
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        Error::UnknownKey {
            path: self.path.clone(),
            line: setting.line,
            key: setting.key.clone(),
            hint,
        }
    }
}

/// The options a file may set, by key: every visible one with a long flag, and the folders.
/// Not the config file itself, nor help, nor the logging options every command has.
pub fn keyed(command: &clap::Command) -> impl Iterator<Item = (&str, &Arg)> {
    command.get_arguments().filter_map(|arg| {
        if arg.is_hide_set()
            || arg.is_global_set()
            || ["config", "help", "version"].contains(&arg.get_id().as_str())
        {
            return None;
        }
        if arg.is_positional() {
            return (arg.get_id() == DIRS).then_some((DIRS, arg));
        }
        arg.get_long().map(|long| (long, arg))
    })
}

/// A value's text, or each item's for a list: what would be typed after the flag.
fn scalars(value: &DeValue<'_>) -> Result<Vec<String>, String> {
    match value {
        DeValue::Array(items) => items.iter().map(|item| scalar(item.get_ref())).collect(),
        other => scalar(other).map(|v| vec![v]),
    }
}

fn scalar(value: &DeValue<'_>) -> Result<String, String> {
    match value {
        DeValue::String(s) => Ok(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map(|n| n.to_string())
            .map_err(|_| format!("{} is not a number framecast takes", i.as_str())),
        DeValue::Float(f) => Ok(f.as_str().replace('_', "")),
        DeValue::Boolean(b) => Ok(b.to_string()),
        DeValue::Datetime(d) => Err(format!("a date ({d}) is no value of any option")),
        DeValue::Array(_) => Err("a list of lists is no value of any option".to_string()),
        DeValue::Table(_) => Err(
            "a table is no value of any option (only [profiles.NAME] tables are read)".to_string(),
        ),
    }
}

/// Line and column (from 1) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Whether `typed` looks like a slip for `key`: a few edits away, or one inside the other.
fn is_close(typed: &str, key: &str) -> bool {
    let limit = (key.len() / 3).max(1);
    distance(typed, key) <= limit || (typed.len() >= 4 && key.contains(typed))
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cli, Command};
    use clap::{CommandFactory, FromArgMatches};

    const SUBCOMMANDS: [&str; 2] = ["serve", "config"];

    fn parse(text: &str) -> Result<ConfigFile, Error> {
        ConfigFile::parse(Path::new("/etc/framecast.toml"), text)
    }

    /// `framecast serve ARGS` with `text` as the config file, as `main` parses it.
    fn serve(text: &str, args: &[&str]) -> Result<crate::config::ServeArgs, String> {
        let file = parse(text).map_err(|e| e.to_string())?;
        let command = file
            .apply(Cli::command(), &SUBCOMMANDS)
            .map_err(|e| e.to_string())?;
        let matches = command
            .try_get_matches_from(["framecast", "serve"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        match cli.command {
            Command::Serve(args) => Ok(args),
            _ => Err("not serve".to_string()),
        }
    }

    #[test]
    fn the_file_is_read_from_the_xdg_folder_else_the_home_one() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            default_path(xdg.map(OsString::from), home.map(OsString::from))
        };
        assert_eq!(
            path(Some("/cfg"), Some("/home/a")),
            Some(PathBuf::from("/cfg/framecast/framecast.toml"))
        );
        assert_eq!(
            path(Some("relative"), Some("/home/a")),
            Some(PathBuf::from("/home/a/.config/framecast/framecast.toml"))
        );
        assert_eq!(path(None, Some("")), None);
        assert_eq!(path(None, None), None);
    }

    #[test]
    fn settings_and_profiles_are_read_with_their_lines() {
        let file = parse(
            "size = \"1280x720\"\nmax-clients = 16\nno-watch = true\n\
             dirs = [\"/a\", \"/b c\"]\n\n[profiles.kitchen]\nsize = \"1024x600\"\n\
             album = [\"pets\", \"trips\"]\n",
        )
        .expect("valid");
        assert_eq!(
            file.setting("size"),
            Some(&Setting {
                key: "size".into(),
                values: vec!["1280x720".into()],
                line: 1
            })
        );
        assert_eq!(
            file.setting("max-clients").map(|s| &s.values[..]),
            Some(&["16".to_string()][..])
        );
        assert_eq!(
            file.setting("no-watch").map(|s| s.values[0].as_str()),
            Some("true")
        );
        assert_eq!(file.setting("dirs").map(|s| s.values.len()), Some(2));
        assert_eq!(file.profiles.len(), 1);
        let kitchen = &file.profiles[0];
        assert_eq!(kitchen.name, "kitchen");
        assert_eq!(kitchen.line, 6);
        assert_eq!(
            kitchen.pairs,
            [
                ("album".to_string(), "pets".to_string(), 8),
                ("album".to_string(), "trips".to_string(), 8),
                ("size".to_string(), "1024x600".to_string(), 7),
            ]
        );
    }

    #[test]
    fn bad_toml_names_the_file_and_the_line() {
        let err = parse("size = \"1280x720\"\ninterval = 5s\n").expect_err("not TOML");
        let text = err.to_string();
        assert!(text.starts_with("/etc/framecast.toml:2:"), "{text}");
        assert!(text.contains("not valid TOML"), "{text}");
        let err = parse("size = \"a\"\nsize = \"b\"\n").expect_err("twice");
        assert!(
            err.to_string().starts_with("/etc/framecast.toml:2:"),
            "{err}"
        );
        let err = parse("when = 1979-05-27\n").expect_err("date");
        assert!(err.to_string().contains(":1: when: a date"), "{err}");
        let err = parse("profiles = 3\n").expect_err("not tables");
        assert!(
            err.to_string()
                .contains("profiles: is [profiles.NAME] tables"),
            "{err}"
        );
        let err = parse("[profiles.k]\nsize = { w = 1 }\n").expect_err("nested");
        assert!(
            err.to_string().contains(":2: profiles.k.size: a table"),
            "{err}"
        );
    }

    #[test]
    fn precedence_flag_over_env_over_file_over_default() {
        // File over the built-in default.
        let args = serve("size = \"1280x720\"\nquality = 70\n", &[]).expect("valid");
        assert_eq!(args.frame.size.to_string(), "1280x720");
        assert_eq!(args.frame.quality, 70);
        // Built-in default where the file says nothing.
        assert_eq!(args.max_clients, 64);
        // A flag over the file.
        let args = serve("size = \"1280x720\"\n", &["--size", "640x480"]).expect("valid");
        assert_eq!(args.frame.size.to_string(), "640x480");
        // Lists, flags and folders.
        let args = serve(
            "album = [\"pets\", \"trips\"]\nno-watch = true\ndirs = [\"/a\", \"/b\"]\n",
            &[],
        )
        .expect("valid");
        assert_eq!(args.albums, ["pets", "trips"]);
        assert!(args.no_watch);
        assert_eq!(args.dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        let args = serve("dirs = [\"/a\"]\n", &["/c"]).expect("valid");
        assert_eq!(args.dirs, [PathBuf::from("/c")]);
        // The environment is the process's own: tests/cli_command_line.rs shows env over
        // file on the real binary.
    }

    #[test]
    fn an_unknown_key_is_named_with_close_matches() {
        let err = serve("max-client = 16\n", &[]).expect_err("unknown");
        assert_eq!(
            err,
            "/etc/framecast.toml:1: unknown key 'max-client' (did you mean 'max-clients'?)"
        );
        let err = serve("\n\nsise = \"800x480\"\n", &[]).expect_err("unknown");
        assert!(
            err.contains(":3: unknown key 'sise' (did you mean 'size'?)"),
            "{err}"
        );
        let err = serve("xyzzy = 1\n", &[]).expect_err("unknown");
        assert!(err.contains("the keys are: "), "{err}");
        assert!(
            err.contains("max-clients") && err.contains("profiles"),
            "{err}"
        );
        // Neither the file itself nor hidden or logging options.
        for key in ["config", "dirs-from-env", "verbose", "help"] {
            let err = serve(&format!("{key} = \"x\"\n"), &[]).expect_err(key);
            assert!(err.contains("unknown key"), "{err}");
        }
    }

    #[test]
    fn a_bad_value_names_the_file_the_line_and_the_key() {
        for (text, says) in [
            ("size = \"huge\"\n", ":1: size: invalid value 'huge'"),
            (
                "\ninterval = \"5\"\n",
                ":2: interval: invalid value '5': '5' has no unit",
            ),
            ("max-clients = 0\n", ":1: max-clients: invalid value '0'"),
            ("quality = 101\n", ":1: quality: invalid value '101'"),
            (
                "size = [\"1x1\", \"2x2\"]\n",
                ":1: size: takes one value, not a list",
            ),
            (
                "no-watch = \"maybe\"\n",
                ":1: no-watch: is true or false, not 'maybe'",
            ),
            (
                "listen = \"nowhere\"\n",
                ":1: listen: invalid value 'nowhere'",
            ),
        ] {
            let err = serve(text, &[]).expect_err(text);
            assert!(err.starts_with("/etc/framecast.toml:"), "{err}");
            assert!(err.contains(says), "{text}: {err}");
            assert!(!err.contains("--"), "blames a flag: {err}");
        }
        // Even when a flag overrides it: the file is wrong either way.
        assert!(serve("size = \"huge\"\n", &["--size", "640x480"]).is_err());
    }

    #[test]
    fn suggestions() {
        assert!(is_close("max-client", "max-clients"));
        assert!(is_close("sise", "size"));
        assert!(is_close("clients", "max-clients"));
        assert!(!is_close("xyzzy", "size"));
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
