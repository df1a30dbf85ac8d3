//! The rendition a request asks for: `?size=WxH`, `?fit=`, `?quality=`, `?background=`.
//!
//! A screen asks for frames of its own size and look on the stream, snapshot and page URLs.
//! Each parameter left out keeps the server's default (the command line's), so a URL without
//! any is the default rendition exactly as before. A value out of bounds is refused with the
//! reason, never replaced by the default: a screen silently sent the wrong size looks like a
//! bug in the screen. Other parameters (tokens, cache busters) are not ours and are ignored.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::render::{Fit, Rgb, Size, Spec};

/// The sides a rendition may have, in pixels: from a thumbnail to an 8K screen.
pub const SIDES: RangeInclusive<u32> = 16..=7680;

/// The JPEG qualities a rendition may have.
pub const QUALITIES: RangeInclusive<u8> = 1..=100;

/// The parameters [`spec`] reads; a profile may set these (see [`super::profile`]).
pub const KEYS: [&str; 4] = ["size", "fit", "quality", "background"];

/// The spec `query` asks for, over `default`; `Err` says which value is wrong and why.
pub fn spec(query: &HashMap<String, String>, default: &Spec) -> Result<Spec, String> {
    let mut spec = *default;
    if let Some(size) = query.get("size") {
        spec.size = size_of(size)?;
    }
    if let Some(fit) = query.get("fit") {
        spec.fit = fit
            .parse::<Fit>()
            .map_err(|_| format!("fit must be letterbox, blur or cover, not '{}'", shown(fit)))?;
        if spec.fit == Fit::Pair {
            return Err(
                "fit=pair is not available for streams: the timeline shows one photo at \
                 a time. Use fit=blur (portraits over a blurred copy of themselves)"
                    .to_string(),
            );
        }
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
            ("fit", "stretch", "letterbox, blur or cover, not 'stretch'"),
            ("fit", "pair", "not available for streams"),
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
}
