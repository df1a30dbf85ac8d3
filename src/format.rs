//! Image formats, recognised by their signature bytes.
//!
//! File names lie: libraries hold PNGs named `.jpg`, text notes named `.jpg` and camera uploads
//! with no extension at all. Every stage that needs to know what a file is asks this module,
//! which looks only at the first bytes.

use std::fmt;

/// An image format framecast recognises (not all of them can be decoded; see
/// [`Format::is_decodable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG / JFIF / Exif.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (87a and 89a).
    Gif,
    /// WebP (lossy, lossless, extended).
    WebP,
    /// Windows bitmap.
    Bmp,
    /// TIFF, either byte order.
    Tiff,
    /// HEIF container holding HEVC: what iPhones write (`.heic`).
    Heic,
    /// HEIF container holding AV1 (`.avif`).
    Avif,
}

impl Format {
    /// Recognises a format from the first bytes of a file (32 are enough); `None` when the
    /// bytes are no image signature known here.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        match head {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Format::Gif),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Format::WebP),
            [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some(Format::Tiff),
            // "BM", then a file size and two reserved zero words: "BM" alone is too common.
            [b'B', b'M', _, _, _, _, 0, 0, 0, 0, ..] => Some(Format::Bmp),
            [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] => Self::heif_brand(brand),
            _ => None,
        }
    }

    /// The major brand of an ISO-BMFF `ftyp` box tells HEIC from AVIF (and from MP4 video).
    fn heif_brand(brand: &[u8]) -> Option<Format> {
        match brand.get(..4)? {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                Some(Format::Heic)
            }
            b"avif" | b"avis" => Some(Format::Avif),
            _ => None,
        }
    }

    /// Whether framecast can decode this format. Every format recognised here is (HEIC and
    /// AVIF through libheif); a format added later only to be recognised, so that it gets a
    /// clear "unsupported format" error instead of "not an image", says `false` here.
    pub fn is_decodable(self) -> bool {
        match self {
            Format::Jpeg
            | Format::Png
            | Format::Gif
            | Format::WebP
            | Format::Bmp
            | Format::Tiff
            | Format::Heic
            | Format::Avif => true,
        }
    }

    /// The usual short name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::WebP => "WebP",
            Format::Bmp => "BMP",
            Format::Tiff => "TIFF",
            Format::Heic => "HEIC",
            Format::Avif => "AVIF",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(Format::sniff(b"GIF89a"), Some(Format::Gif));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(Format::sniff(b"II*\0"), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"MM\0*"), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"BM\x36\0\0\0\0\0\0\0"), Some(Format::Bmp));
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypheic"), Some(Format::Heic));
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypavif"), Some(Format::Avif));
    }

    #[test]
    fn not_images() {
        assert_eq!(Format::sniff(b""), None);
        assert_eq!(Format::sniff(b"This is a text file"), None);
        assert_eq!(Format::sniff(b"BMW is a car"), None);
        // An MP4 video shares the ftyp box but not the brand.
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypisom"), None);
        // macOS AppleDouble companion file.
        assert_eq!(
            Format::sniff(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"),
            None
        );
    }
}
