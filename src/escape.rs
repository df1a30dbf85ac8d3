//! Names from the file system, made safe to print.
//!
//! Whoever can put a file in a photo folder chooses its name, and a Unix file name may hold
//! any byte but `/` and NUL: a newline that forges a second log line or summary entry, an
//! escape sequence that recolours or clears the terminal reading the log, a right-to-left
//! override that makes `gpj.exe` read as `exe.jpg`, or bytes that are not UTF-8 at all. Every
//! place framecast prints a path or a text that came from one goes through [`Escaped`], which
//! shows such characters as visible escapes (`\n`, `\x1b`, `\u{202e}`, `\xff`) and leaves
//! every other character, accented letters included, as it is. A backslash is doubled, so an
//! escape in the output always means the name held that character.
//!
//! This module comes first in the flow because every later layer prints names.

use std::fmt::{self, Write as _};
use std::path::Path;

/// A path or text shown with its control characters, invisible formatting characters and
/// invalid UTF-8 escaped; use it wherever a name is printed (`{}`).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(Source<'a>);

#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Path(&'a Path),
    Text(&'a str),
}

impl<'a> Escaped<'a> {
    /// The path `path`, escaped for printing.
    pub fn path(path: &'a Path) -> Escaped<'a> {
        Escaped(Source::Path(path))
    }

    /// A text that may hold a file name (an error message, a reason), escaped for printing.
    pub fn text(text: &'a str) -> Escaped<'a> {
        Escaped(Source::Text(text))
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Source::Text(text) => write_str(f, text),
            Source::Path(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::ffi::OsStrExt;
                    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
                        write_str(f, chunk.valid())?;
                        for byte in chunk.invalid() {
                            write!(f, "\\x{byte:02x}")?;
                        }
                    }
                    Ok(())
                }
                #[cfg(not(unix))]
                {
                    write_str(f, &path.to_string_lossy())
                }
            }
        }
    }
}

fn write_str(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    // Most names need nothing: write them in one piece.
    if !text.chars().any(needs_escape) {
        return f.write_str(text);
    }
    for c in text.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x80 && needs_escape(c) => write!(f, "\\x{:02x}", c as u32)?,
            c if needs_escape(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Control characters (C0, DEL, C1), the bidirectional controls that reorder what follows
/// them, and the Unicode line and paragraph separators some terminals and log viewers break
/// lines at.
fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        Escaped::text(s).to_string()
    }

    #[test]
    fn ordinary_names_are_unchanged() {
        for name in [
            "IMG_0001.JPG",
            "été 2023 – Ünïcødé (copy).jpg",
            "家族写真.png",
            "a b/c.jpg",
            "",
        ] {
            assert_eq!(text(name), name);
        }
    }

    #[test]
    fn line_breaks_and_terminal_escapes_become_visible() {
        assert_eq!(
            text("a.jpg\n2024-01-01 ERROR forged"),
            "a.jpg\\n2024-01-01 ERROR forged"
        );
        assert_eq!(text("x\r\ty"), "x\\r\\ty");
        assert_eq!(
            text("\u{1b}[2J\u{1b}]0;pwned\u{7}"),
            "\\x1b[2J\\x1b]0;pwned\\x07"
        );
        assert_eq!(text("del\u{7f}"), "del\\x7f");
        // C1 controls: NEL breaks lines in some terminals, CSI starts a sequence in others.
        assert_eq!(text("a\u{85}b\u{9b}c"), "a\\u{85}b\\u{9b}c");
        assert_eq!(text("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn bidirectional_overrides_cannot_reverse_a_name() {
        assert_eq!(text("photo\u{202e}gpj.exe"), "photo\\u{202e}gpj.exe");
        assert_eq!(text("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn backslashes_are_doubled_so_escapes_are_unambiguous() {
        assert_eq!(text("a\\nb"), "a\\\\nb");
        assert_ne!(text("a\\nb"), text("a\nb"));
    }

    #[cfg(unix)]
    #[test]
    fn invalid_utf8_in_paths_is_shown_as_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(OsStr::from_bytes(b"caf\xe9/\xff\xfe.jpg"));
        assert_eq!(Escaped::path(path).to_string(), "caf\\xe9/\\xff\\xfe.jpg");
        let fine = Path::new("/photos/été.jpg");
        assert_eq!(Escaped::path(fine).to_string(), "/photos/été.jpg");
    }

    #[test]
    fn output_is_one_printable_line() {
        let nasty: String = (0u32..0x300).filter_map(char::from_u32).collect();
        let shown = text(&nasty);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    }
}
