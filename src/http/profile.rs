//! Named profiles: a set of URL parameters a screen asks for by name.
//!
//! A photo frame's app may offer one text box for its URL and mangle anything after a `?`, and
//! a family would rather type `?profile=kitchen` on each screen than the same five parameters.
//! So the config file names sets of parameters (`[profiles.kitchen] size = "1024x600"`), and a
//! request takes one with `?profile=NAME` or, for apps that mangle query strings, with the path
//! `/p/NAME/` in front of any route (`/p/kitchen/stream.mjpg`, `/p/kitchen/` for the page,
//! whose relative URLs then stay under it).
//!
//! A profile here is only data: its name and its `key=value` pairs, exactly as a URL would carry
//! them. A request's parameters are merged before anything reads them: the URL's own, then the
//! profile's for every key the URL does not set, and the server's defaults for the rest (the
//! parser's business). The profile's values are thus read by the very parser that reads URLs,
//! and each profile is run through it once at start, so a bad value in the config file stops
//! the server with the profile and key named instead of answering 400 to a screen later.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::query::{self, Query};
use crate::render::Spec;
use crate::schedule::Order;

/// What the path form starts with: `/p/NAME/…`.
pub const PATH_PREFIX: &str = "/p/";

/// The query parameter naming a profile.
pub const PARAMETER: &str = "profile";

/// Parameters that may be given several times (a list in the config file).
const REPEATABLE: [&str; 1] = ["album"];

/// Longest profile name: a name is typed on a remote control, and shown in lists.
const MAX_NAME: usize = 64;

/// The profiles a server knows, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles(BTreeMap<String, Vec<(String, String)>>);

/// Why a profile was refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The name is empty, too long, or has characters a URL path would need escaped.
    #[error(
        "profile name {0:?} is not a name: use 1 to 64 letters, digits, '-' and '_' (it goes \
         into URLs as ?profile=NAME and /p/NAME/)"
    )]
    Name(String),
    /// Two profiles of the same name.
    #[error("profile '{0}' is defined twice")]
    Twice(String),
    /// A parameter no parser reads.
    #[error("profile '{profile}': unknown parameter '{key}' (a profile sets {})", known().join(", "))]
    UnknownKey {
        /// The profile.
        profile: String,
        /// The parameter.
        key: String,
    },
    /// A parameter given more than once where only one value makes sense.
    #[error("profile '{profile}': {key} takes one value, not a list")]
    NotRepeatable {
        /// The profile.
        profile: String,
        /// The parameter.
        key: String,
    },
    /// A value the parser refuses; `reason` is the parser's own, naming the parameter.
    #[error("profile '{profile}': {reason}")]
    Value {
        /// The profile.
        profile: String,
        /// The parameter.
        key: String,
        /// Why, as a URL with this value would be told.
        reason: String,
    },
}

impl Error {
    /// The profile's name.
    pub fn profile(&self) -> &str {
        match self {
            Error::Name(profile) | Error::Twice(profile) => profile,
            Error::UnknownKey { profile, .. }
            | Error::NotRepeatable { profile, .. }
            | Error::Value { profile, .. } => profile,
        }
    }

    /// The parameter at fault, if one is.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Name(_) | Error::Twice(_) => None,
            Error::UnknownKey { key, .. }
            | Error::NotRepeatable { key, .. }
            | Error::Value { key, .. } => Some(key),
        }
    }
}

/// Every parameter a profile may set.
pub fn known() -> Vec<&'static str> {
    query::RENDITION_KEYS
        .iter()
        .chain(&query::CHANNEL_KEYS)
        .copied()
        .collect()
}

/// Whether `name` may name a profile: `[A-Za-z0-9_-]{1,64}`.
pub fn is_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Profiles {
    /// The profiles `definitions` name, each checked against the server's `default` spec by
    /// the parser that reads URLs: a bad name, key or value is an error naming it.
    pub fn new<N, P, K, V>(definitions: N, default: &Spec) -> Result<Profiles, Error>
    where
        N: IntoIterator<Item = (String, P)>,
        P: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut profiles = BTreeMap::new();
        for (name, pairs) in definitions {
            if !is_name(&name) {
                return Err(Error::Name(name));
            }
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
            check(&name, &pairs, default)?;
            if profiles.contains_key(&name) {
                return Err(Error::Twice(name));
            }
            profiles.insert(name, pairs);
        }
        Ok(Profiles(profiles))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The pairs of the profile `name`.
    pub fn get(&self, name: &str) -> Option<&[(String, String)]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// The parameters of a request to `path` with the query string `raw_query`: the query's
    /// own pairs (but `profile`), then the pairs of its profile for each key the query does
    /// not set. The profile is the query's `?profile=`, else the path's `/p/NAME/`; an
    /// explicit parameter is the more specific of the two.
    pub fn resolve(&self, path: &str, raw_query: &str) -> Result<Vec<(String, String)>, String> {
        let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let named = query
            .iter()
            .rev()
            .find(|(k, _)| k == PARAMETER)
            .map(|(_, v)| v.as_str())
            .or_else(|| path_name(path));
        let Some(name) = named else {
            return Ok(query);
        };
        let profile = self.get(name).ok_or_else(|| self.unknown(name))?;
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != PARAMETER)
            .cloned()
            .collect();
        for (key, value) in profile {
            if !query.iter().any(|(k, _)| k == key) {
                pairs.push((key.clone(), value.clone()));
            }
        }
        Ok(pairs)
    }

    /// Why `name` is no profile, listing the ones there are.
    fn unknown(&self, name: &str) -> String {
        let shown: String = name.chars().take(40).collect();
        let mut reason = format!("no profile named {shown:?}");
        if self.is_empty() {
            reason.push_str(": the server has none (they are set in its config file)");
        } else {
            reason.push_str(&format!(
                " (profiles: {})",
                self.names().collect::<Vec<_>>().join(", ")
            ));
        }
        reason
    }

    /// `/api/profiles`: `[{"name": …, "parameters": {key: value, album: [values]}}]`, by name.
    pub fn json(&self) -> Value {
        let list = self
            .0
            .iter()
            .map(|(name, pairs)| {
                let mut parameters = Map::new();
                for (key, value) in pairs {
                    if REPEATABLE.contains(&key.as_str()) {
                        let list = parameters
                            .entry(key.clone())
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(values) = list {
                            values.push(Value::String(value.clone()));
                        }
                    } else {
                        parameters.insert(key.clone(), Value::String(value.clone()));
                    }
                }
                serde_json::json!({ "name": name, "parameters": parameters })
            })
            .collect();
        Value::Array(list)
    }
}

/// The profile a path names: `kitchen` in `/p/kitchen/stream.mjpg`.
pub fn path_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(PATH_PREFIX)?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Runs the profile's pairs through the URL parser, one key at a time so an error names it.
fn check(profile: &str, pairs: &[(String, String)], default: &Spec) -> Result<(), Error> {
    for (i, (key, value)) in pairs.iter().enumerate() {
        let value_error = |reason: String| Error::Value {
            profile: profile.to_string(),
            key: key.clone(),
            reason,
        };
        if !known().contains(&key.as_str()) {
            return Err(Error::UnknownKey {
                profile: profile.to_string(),
                key: key.clone(),
            });
        }
        if !REPEATABLE.contains(&key.as_str()) && pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(Error::NotRepeatable {
                profile: profile.to_string(),
                key: key.clone(),
            });
        }
        if query::RENDITION_KEYS.contains(&key.as_str()) {
            let one = Query::from(vec![(key.clone(), value.clone())]);
            query::spec(&one, default).map_err(value_error)?;
        } else if key == "order" {
            value.trim().parse::<Order>().map_err(|_| {
                value_error(format!(
                    "order must be name, date, shuffle or recent, not {value:?}"
                ))
            })?;
        } else if key == "interval" {
            query::interval_of(value).map_err(value_error)?;
        } else if value.trim().is_empty() {
            return Err(value_error(format!("{key} must not be empty")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Fit, Size};

    fn profiles(definitions: &[(&str, &[(&str, &str)])]) -> Result<Profiles, Error> {
        Profiles::new(
            definitions
                .iter()
                .map(|(name, pairs)| (name.to_string(), pairs.iter().copied())),
            &Spec::default(),
        )
    }

    fn kitchen() -> Profiles {
        profiles(&[
            (
                "kitchen",
                &[
                    ("size", "1024x600"),
                    ("fit", "blur"),
                    ("album", "pets"),
                    ("album", "trips"),
                ],
            ),
            ("hall", &[("quality", "60")]),
        ])
        .expect("valid")
    }

    fn resolved(path: &str, query: &str) -> Result<Vec<(String, String)>, String> {
        kitchen().resolve(path, query)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_url_wins_over_the_profile_and_keeps_its_other_parameters() {
        assert_eq!(resolved("/stream.mjpg", "t=1"), Ok(pairs(&[("t", "1")])));
        assert_eq!(
            resolved(
                "/stream.mjpg",
                "profile=kitchen&size=320x240&token=abcdefgh"
            ),
            Ok(pairs(&[
                ("size", "320x240"),
                ("token", "abcdefgh"),
                ("fit", "blur"),
                ("album", "pets"),
                ("album", "trips"),
            ]))
        );
        // A URL's albums replace the profile's, all of them.
        assert_eq!(
            resolved("/", "profile=kitchen&album=cats"),
            Ok(pairs(&[
                ("album", "cats"),
                ("size", "1024x600"),
                ("fit", "blur")
            ]))
        );
    }

    #[test]
    fn the_path_names_a_profile_and_the_query_a_more_specific_one() {
        assert_eq!(
            resolved("/p/hall/snapshot.jpg", ""),
            Ok(pairs(&[("quality", "60")]))
        );
        assert_eq!(
            resolved("/p/hall/", "client=x"),
            Ok(pairs(&[("client", "x"), ("quality", "60")]))
        );
        assert_eq!(
            resolved("/p/kitchen/stream.mjpg", "profile=hall"),
            Ok(pairs(&[("quality", "60")]))
        );
        assert_eq!(path_name("/p/hall"), Some("hall"));
        assert_eq!(path_name("/stream.mjpg"), None);
        assert_eq!(path_name("/pictures/x"), None);
    }

    #[test]
    fn an_unknown_profile_is_refused_with_the_known_ones() {
        let err = resolved("/", "profile=garage").expect_err("unknown");
        assert_eq!(err, "no profile named \"garage\" (profiles: hall, kitchen)");
        let err = resolved("/p/garage/stream.mjpg", "").expect_err("unknown");
        assert!(err.contains("\"garage\""), "{err}");
        let none = Profiles::default()
            .resolve("/", "profile=x")
            .expect_err("none");
        assert!(none.contains("has none"), "{none}");
        let hostile = resolved("/", "profile=%1b%5B31m%0A".repeat(20).as_str()).expect_err("x");
        assert!(
            !hostile.contains('\n') && !hostile.contains('\u{1b}'),
            "{hostile}"
        );
        assert!(hostile.len() < 400, "{hostile}");
    }

    #[test]
    fn profiles_are_checked_by_the_url_parser_at_start() {
        let err = profiles(&[("kitchen", &[("size", "10x10")])]).expect_err("too small");
        assert_eq!(err.key(), Some("size"));
        assert_eq!(err.profile(), "kitchen");
        assert!(
            err.to_string()
                .starts_with("profile 'kitchen': size must be"),
            "{err}"
        );
        let err = profiles(&[("k", &[("fit", "tiled")])]).expect_err("no such fit");
        assert!(err.to_string().contains("or pair, not 'tiled'"), "{err}");
        let err = profiles(&[("k", &[("sise", "800x480")])]).expect_err("unknown key");
        assert_eq!(err.key(), Some("sise"));
        assert!(
            err.to_string().contains("size, fit, quality, background"),
            "{err}"
        );
        let err = profiles(&[("k", &[("size", "800x480"), ("size", "640x480")])]).expect_err("2");
        assert!(matches!(err, Error::NotRepeatable { .. }), "{err}");
        let err = profiles(&[("k", &[("order", "random")])]).expect_err("order");
        assert!(err.to_string().contains("not \"random\""), "{err}");
        for bad in ["", "a b", "kitchen/1", "ké", "x".repeat(65).as_str()] {
            assert_eq!(profiles(&[(bad, &[])]), Err(Error::Name(bad.to_string())));
        }
        assert!(profiles(&[("Kitchen_2-b", &[])]).is_ok());
    }

    #[test]
    fn a_valid_profile_gives_the_spec_it_says() {
        let p = kitchen();
        let pairs = Query::from(p.resolve("/", "profile=kitchen").expect("known"));
        let spec = query::spec(&pairs, &Spec::default()).expect("valid");
        assert_eq!(
            spec.size,
            Size {
                width: 1024,
                height: 600
            }
        );
        assert_eq!(spec.fit, Fit::Blur);
    }

    #[test]
    fn the_list_shows_each_profile_with_its_parameters() {
        let json = kitchen().json();
        assert_eq!(
            json,
            serde_json::json!([
                {"name": "hall", "parameters": {"quality": "60"}},
                {"name": "kitchen", "parameters": {
                    "size": "1024x600", "fit": "blur", "album": ["pets", "trips"]}},
            ])
        );
    }
}
