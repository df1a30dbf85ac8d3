//! What a request asks for in its query: a channel (`?album=`, `?order=`, `?interval=`) and
//! a rendition of it (`?size=WxH`, `?fit=`, `?quality=`, `?background=`).
//!
//! A screen asks for photos and frames of its own on the stream, snapshot and page URLs.
//! Each parameter left out keeps the server's default (the command line's), so a URL without
//! any is the default channel in the default rendition exactly as before. A value out of
//! bounds, an album the library does not have, or one of these parameters given twice is
//! refused with the reason, never replaced by the default: a screen silently sent the wrong
//! size or the wrong photos looks like a bug in the screen. Other parameters (tokens, cache
//! busters, the viewer page's client tag) are not ours and are ignored.
//!
//! The query is read as the list of pairs it is, in order: `album` may be repeated
//! (`?album=pets&album=trips`), which a map of keys to values would silently lose.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::library::Album;
use crate::render::{Fit, Rgb, Size, Spec};
use crate::schedule::Order;
use crate::schedule::channel::{self, INTERVALS, Key};

/// The sides a rendition may have, in pixels: from a thumbnail to an 8K screen.
pub const SIDES: RangeInclusive<u32> = 16..=7680;

/// The JPEG qualities a rendition may have.
pub const QUALITIES: RangeInclusive<u8> = 1..=100;

/// The rendition's parameters, each allowed once.
const RENDITION: [&str; 4] = ["size", "fit", "quality", "background"];

/// The channel's parameters allowed once (`album` may be repeated).
const CHANNEL: [&str; 2] = ["order", "interval"];

/// The parameters [`spec`] reads: a profile may set these (see [`super::profile`]).
pub const RENDITION_KEYS: [&str; 4] = RENDITION;

/// The parameters [`channel`] reads: a profile may set these too.
pub const CHANNEL_KEYS: [&str; 3] = ["album", "order", "interval"];

/// A request's query: its `key=value` pairs, percent-decoded, in order, repeats kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl From<Vec<(String, String)>> for Query {
    fn from(pairs: Vec<(String, String)>) -> Query {
        Query(pairs)
    }
}

impl Query {
    /// The query of a request whose query string is `raw` (without the `?`). Anything
    /// parses: bytes that are not UTF-8 become replacement characters.
    pub fn parse(raw: &str) -> Query {
        Query(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all(key).next()
    }

    /// Every value of `key`, in order.
    pub fn all<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of one of our parameters that may be given only once.
    fn once(&self, key: &str) -> Result<Option<&str>, String> {
        let mut values = self.all(key);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!(
                "{key} is given more than once: give it once (only album may be repeated)"
            ));
        }
        Ok(first)
    }

    /// Whether `key` is given.
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Query {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Query {
        Query(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The spec `query` asks for, over `default`; `Err` says which value is wrong and why.
pub fn spec(query: &Query, default: &Spec) -> Result<Spec, String> {
    for key in RENDITION {
        query.once(key)?;
    }
    let mut spec = *default;
    if let Some(size) = query.get("size") {
        spec.size = size_of(size)?;
    }
    if let Some(fit) = query.get("fit") {
        spec.fit = fit.parse::<Fit>().map_err(|_| {
            format!(
                "fit must be letterbox, blur, cover or pair, not '{}'",
                shown(fit)
            )
        })?;
    }
    if let Some(quality) = query.get("quality") {
        spec.quality = quality
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|q| QUALITIES.contains(q))
            .ok_or_else(|| {
                format!(
                    "quality must be a whole number from {} to {}, not '{}'",
                    QUALITIES.start(),
                    QUALITIES.end(),
                    shown(quality)
                )
            })?;
    }
    if let Some(background) = query.get("background") {
        spec.background = background.parse::<Rgb>().map_err(|_| {
            format!(
                "background must be a colour like #000000, #222 or black, not '{}'",
                shown(background)
            )
        })?;
    }
    Ok(spec)
}

/// The albums a channel may ask for: the library's, as far as it has been walked.
pub struct Albums<'a> {
    /// The albums found so far.
    pub known: &'a [Album],
    /// Whether every folder has been walked (if not, an album may be found yet).
    pub complete: bool,
}

/// The channel `query` asks for, over `default`; `Err` says which value is wrong and why.
pub fn channel(query: &Query, default: &Key, albums: &Albums<'_>) -> Result<Key, String> {
    for key in CHANNEL {
        query.once(key)?;
    }
    if !(query.has("album") || query.has("order") || query.has("interval")) {
        return Ok(default.clone());
    }
    let mut chosen: Vec<String> = Vec::new();
    for name in query.all("album") {
        if !albums.known.iter().any(|a| *a.name == *name) {
            return Err(unknown_album(name, albums));
        }
        chosen.push(name.to_string());
    }
    let chosen = if query.has("album") {
        chosen
    } else {
        default.albums().to_vec()
    };
    let order = match query.get("order") {
        Some(order) => order.trim().parse::<Order>().map_err(|_| {
            format!(
                "order must be name, date, shuffle or recent, not '{}'",
                shown(order)
            )
        })?,
        None => default.order(),
    };
    let interval = match query.get("interval") {
        Some(interval) => interval_of(interval)?,
        None => default.interval(),
    };
    Ok(Key::new(chosen, order, interval))
}

fn unknown_album(name: &str, albums: &Albums<'_>) -> String {
    if name.is_empty() {
        return "album must name an album of the library (see /api/albums)".to_string();
    }
    let mut names: Vec<&str> = albums.known.iter().map(|a| &*a.name).collect();
    let more = names.len().saturating_sub(10);
    names.truncate(10);
    let mut listed: Vec<String> = names.iter().map(|n| format!("'{}'", shown(n))).collect();
    if more > 0 {
        listed.push(format!("{more} more"));
    }
    let mut reason = format!("album '{}' is not an album of the library", shown(name));
    if listed.is_empty() {
        reason.push_str(", which has none yet");
    } else {
        reason.push_str(&format!(
            " (albums: {}; see /api/albums)",
            listed.join(", ")
        ));
    }
    if !albums.complete {
        reason.push_str("; the folders are still being walked, so it may yet be found");
    }
    reason
}

/// An interval as `?interval=` takes it (the flag's syntax, 1 s to a day), or the reason not.
pub fn interval_of(text: &str) -> Result<Duration, String> {
    let (shortest, longest) = (INTERVALS.start(), INTERVALS.end());
    let bounds = format!(
        "from {}s to {}h",
        shortest.as_secs(),
        longest.as_secs() / 3600
    );
    let secs = channel::duration_seconds(text).map_err(|why| {
        // The parser's own reason quotes the value: only when it is short and plain.
        if shown(text) == text {
            format!("interval must be a duration {bounds}, like 30s or 5m: {why}")
        } else {
            format!(
                "interval must be a duration {bounds}, like 30s or 5m, not '{}'",
                shown(text)
            )
        }
    })?;
    if !(shortest.as_secs_f64()..=longest.as_secs_f64()).contains(&secs) {
        return Err(format!("interval must be {bounds}, not '{}'", shown(text)));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn size_of(text: &str) -> Result<Size, String> {
    let bad = || {
        format!(
            "size must be WIDTHxHEIGHT with sides from {} to {} pixels, not '{}'",
            SIDES.start(),
            SIDES.end(),
            shown(text)
        )
    };
    let (w, h) = text.split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let side = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| SIDES.contains(n))
            .ok_or_else(bad)
    };
    Ok(Size {
        width: side(w)?,
        height: side(h)?,
    })
}

/// A value as it can be shown in a reason: at most 40 characters, control characters
/// escaped, so a hostile query cannot make the answer huge or forge lines.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(40)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(pairs: &[(&str, &str)]) -> Result<Spec, String> {
        let query = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        spec(&query, &Spec::default())
    }

    #[test]
    fn no_parameter_is_the_default_and_others_are_ignored() {
        assert_eq!(ask(&[]), Ok(Spec::default()));
        assert_eq!(
            ask(&[("t", "123"), ("client", "abc"), ("token", "x")]),
            Ok(Spec::default())
        );
    }

    #[test]
    fn each_parameter_overrides_only_its_own_field() {
        let spec = ask(&[("size", "800x480"), ("fit", "BLUR")]).expect("valid");
        assert_eq!(
            spec.size,
            Size {
                width: 800,
                height: 480
            }
        );
        assert_eq!(spec.fit, Fit::Blur);
        assert_eq!(spec.quality, Spec::default().quality);
        let spec = ask(&[("quality", "60"), ("background", "#fff")]).expect("valid");
        assert_eq!((spec.quality, spec.background), (60, Rgb([255; 3])));
        assert_eq!(spec.size, Spec::default().size);
        assert!(ask(&[("size", "16x7680")]).is_ok());
    }

    #[test]
    fn values_out_of_bounds_are_refused_with_the_reason() {
        for (key, value, says) in [
            ("size", "0x0", "sides from 16 to 7680"),
            ("size", "10x10", "not '10x10'"),
            ("size", "9000x100", "9000x100"),
            ("size", "800", "WIDTHxHEIGHT"),
            ("size", "-1x100", "WIDTHxHEIGHT"),
            (
                "fit",
                "stretch",
                "letterbox, blur, cover or pair, not 'stretch'",
            ),
            ("quality", "0", "from 1 to 100, not '0'"),
            ("quality", "101", "101"),
            ("quality", "high", "high"),
            ("background", "purple", "colour"),
        ] {
            let err = ask(&[(key, value)]).expect_err(value);
            assert!(err.starts_with(key), "{err}");
            assert!(err.contains(says), "{err}");
        }
        let err = ask(&[("fit", "\u{1b}[31m\nforged")]).expect_err("refused");
        assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
    }

    fn albums(names: &[&str]) -> Vec<Album> {
        names
            .iter()
            .map(|n| Album {
                name: (*n).into(),
                photos: 1,
            })
            .collect()
    }

    fn tune(query: &str) -> Result<Key, String> {
        let known = albums(&["pets", "trips", "Trips, 2024"]);
        let default = Key::new(Vec::new(), Order::Name, Duration::from_secs(5));
        channel(
            &Query::parse(query),
            &default,
            &Albums {
                known: &known,
                complete: true,
            },
        )
    }

    #[test]
    fn repeated_albums_are_all_kept_and_the_rest_is_the_default() {
        let default = tune("").expect("default");
        assert_eq!(tune("t=1&size=800x480"), Ok(default.clone()));
        let key = tune("album=trips&album=pets&album=Trips%2C%202024").expect("valid");
        assert_eq!(key.albums(), ["Trips, 2024", "pets", "trips"]);
        assert_eq!(
            (key.order(), key.interval()),
            (Order::Name, default.interval())
        );
        let key = tune("order=SHUFFLE&interval=1m30s").expect("valid");
        assert!(key.albums().is_empty());
        assert_eq!(
            (key.order(), key.interval()),
            (Order::Shuffle, Duration::from_secs(90))
        );
        assert_eq!(
            tune("interval=1s").map(|k| k.interval()),
            Ok(Duration::from_secs(1))
        );
        assert_eq!(
            tune("interval=24h").map(|k| k.interval()),
            Ok(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn bad_channels_are_refused_with_the_reason() {
        for (query, says) in [
            ("album=cats", "album 'cats' is not an album of the library"),
            ("album=pets&album=cats", "'cats'"),
            ("album=", "album must name an album"),
            ("album=Pets", "'Pets'"),
            (
                "order=random",
                "order must be name, date, shuffle or recent, not 'random'",
            ),
            ("order=name&order=date", "order is given more than once"),
            ("interval=0s", "interval must be from 1s to 24h, not '0s'"),
            ("interval=500ms", "not '500ms'"),
            ("interval=25h", "not '25h'"),
            ("interval=2d", "unknown unit 'd'"),
            ("interval=5", "did you mean 5s?"),
            ("interval=soon", "like 30s or 5m"),
        ] {
            let err = tune(query).expect_err(query);
            assert!(err.contains(says), "{query}: {err}");
        }
        let err = tune("album=%1b%5B31m%0Aforged").expect_err("refused");
        assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
        let err = tune(&format!("interval={}s", "9".repeat(400))).expect_err("refused");
        assert!(err.len() < 200, "{err}");
        let known = albums(&["pets"]);
        let walking = Albums {
            known: &known,
            complete: false,
        };
        let default = Key::new(Vec::new(), Order::Name, Duration::from_secs(5));
        let err = channel(&Query::parse("album=cats"), &default, &walking).expect_err("unknown");
        assert!(err.contains("still being walked"), "{err}");
    }

    #[test]
    fn a_rendition_parameter_given_twice_is_refused() {
        let err =
            spec(&Query::parse("size=800x480&size=640x480"), &Spec::default()).expect_err("twice");
        assert!(err.contains("size is given more than once"), "{err}");
        assert_eq!(
            Query::parse("client=a&client=b").get("client"),
            Some("a"),
            "not ours: the first"
        );
    }
}
