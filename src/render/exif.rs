//! EXIF: the one reader of the TIFF structure that holds a photo's metadata.
//!
//! An EXIF block (a JPEG's APP1 segment, a PNG `eXIf` chunk, a WebP `EXIF` chunk) is a small
//! TIFF file, and a TIFF file is itself such a structure. Rendering needs only the orientation
//! ([`super::orient`]); the library's header probe ([`super::probe`]) also wants the pixel size
//! of a TIFF, the date a photo was taken and where. Both read it here, so there is one parser
//! of untrusted offsets to get right: every read is bounds-checked and a damaged block is an
//! error string for a warning, never a panic.

/// Tags read here (TIFF 6.0 and EXIF 2.3).
mod tag {
    pub const IMAGE_WIDTH: u16 = 0x0100;
    pub const IMAGE_LENGTH: u16 = 0x0101;
    pub const ORIENTATION: u16 = 0x0112;
    pub const EXIF_IFD: u16 = 0x8769;
    pub const GPS_IFD: u16 = 0x8825;
    pub const DATE_TIME_ORIGINAL: u16 = 0x9003;
    pub const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
    pub const GPS_LATITUDE_REF: u16 = 1;
    pub const GPS_LATITUDE: u16 = 2;
    pub const GPS_LONGITUDE_REF: u16 = 3;
    pub const GPS_LONGITUDE: u16 = 4;
}

/// Entry types (TIFF 6.0, section 2).
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

/// A TIFF structure: the bytes and their byte order.
#[derive(Debug, Clone, Copy)]
pub struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
}

/// One directory entry: which tag, of what type, and where its value (or the offset of its
/// value, when it does not fit in four bytes) is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: u16,
    count: u32,
    field: usize,
}

/// An image file directory (IFD0, the EXIF or the GPS one).
#[derive(Debug, Clone, Copy)]
pub struct Ifd<'a> {
    tiff: Tiff<'a>,
    at: usize,
    count: usize,
    name: &'static str,
}

impl<'a> Tiff<'a> {
    /// Checks the byte-order mark and the magic number.
    pub fn new(data: &'a [u8]) -> Result<Tiff<'a>, String> {
        let big_endian = match data.get(..4) {
            Some([b'M', b'M', 0, 42]) => true,
            Some([b'I', b'I', 42, 0]) => false,
            _ => return Err("no TIFF header".into()),
        };
        Ok(Tiff { data, big_endian })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        Some(if self.big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// The first directory, where the orientation and a TIFF's pixel size are.
    pub fn ifd0(&self) -> Result<Ifd<'a>, String> {
        let at = self.u32_at(4).ok_or("no IFD offset")? as usize;
        self.ifd_at(at, "IFD0")
    }

    fn ifd_at(&self, at: usize, name: &'static str) -> Result<Ifd<'a>, String> {
        let count = self.u16_at(at).ok_or_else(|| {
            format!(
                "{name} offset {at} is past the end of the {}-byte block",
                self.data.len()
            )
        })? as usize;
        Ok(Ifd {
            tiff: *self,
            at,
            count,
            name,
        })
    }
}

impl<'a> Ifd<'a> {
    /// The entry for `tag`, `Ok(None)` when the directory has none.
    fn find(&self, tag: u16) -> Result<Option<Entry>, String> {
        let t = &self.tiff;
        for i in 0..self.count {
            let at = self.at + 2 + i * 12;
            let this = t.u16_at(at).ok_or_else(|| {
                format!(
                    "{} entry {i} is past the end of the {}-byte block",
                    self.name,
                    t.data.len()
                )
            })?;
            if this == tag {
                let truncated = || format!("truncated entry {tag:#06x} in {}", self.name);
                let kind = t.u16_at(at + 2).ok_or_else(truncated)?;
                let count = t.u32_at(at + 4).ok_or_else(truncated)?;
                t.u32_at(at + 8).ok_or_else(truncated)?;
                return Ok(Some(Entry {
                    kind,
                    count,
                    field: at + 8,
                }));
            }
        }
        Ok(None)
    }

    /// Where the value of `entry` starts: in the entry itself when it fits in four bytes.
    fn value_at(&self, entry: Entry, unit: usize) -> Option<usize> {
        let len = unit.checked_mul(entry.count as usize)?;
        if len <= 4 {
            Some(entry.field)
        } else {
            let at = self.tiff.u32_at(entry.field)? as usize;
            self.tiff.data.get(at..at.checked_add(len)?)?;
            Some(at)
        }
    }

    /// A SHORT or LONG value; `Err` names the type when it is neither.
    fn integer(&self, tag: u16, what: &str) -> Result<Option<u32>, String> {
        let Some(entry) = self.find(tag)? else {
            return Ok(None);
        };
        let truncated = || format!("truncated {what} entry");
        match entry.kind {
            SHORT => Ok(Some(
                self.tiff.u16_at(entry.field).ok_or_else(truncated)? as u32
            )),
            LONG => Ok(Some(self.tiff.u32_at(entry.field).ok_or_else(truncated)?)),
            other => Err(format!("{what} entry has type {other}, not SHORT")),
        }
    }

    fn ascii(&self, tag: u16) -> Option<&'a str> {
        let entry = self.find(tag).ok()??;
        if entry.kind != ASCII {
            return None;
        }
        let at = self.value_at(entry, 1)?;
        let bytes = self.tiff.data.get(at..at + entry.count as usize)?;
        let text = bytes.split(|&b| b == 0).next()?;
        std::str::from_utf8(text).ok().map(str::trim)
    }

    fn rationals<const N: usize>(&self, tag: u16) -> Option<[f64; N]> {
        let entry = self.find(tag).ok()??;
        if entry.kind != RATIONAL || (entry.count as usize) < N {
            return None;
        }
        let at = self.value_at(entry, 8)?;
        let mut out = [0.0; N];
        for (i, v) in out.iter_mut().enumerate() {
            let num = self.tiff.u32_at(at + i * 8)?;
            let den = self.tiff.u32_at(at + i * 8 + 4)?;
            if den == 0 {
                return None;
            }
            *v = num as f64 / den as f64;
        }
        Some(out)
    }

    fn sub_ifd(&self, tag: u16, name: &'static str) -> Option<Ifd<'a>> {
        let at = self.integer(tag, name).ok()??;
        self.tiff.ifd_at(at as usize, name).ok()
    }
}

/// The Orientation tag of IFD0, `Ok(None)` when the block has none; `Err` says what is wrong
/// with a block that cannot be read.
pub fn orientation(tiff: &[u8]) -> Result<Option<u16>, String> {
    let ifd0 = Tiff::new(tiff)?.ifd0()?;
    Ok(ifd0
        .integer(tag::ORIENTATION, "Orientation")?
        .map(|v| v.try_into().unwrap_or(u16::MAX)))
}

/// What the library keeps of a photo's EXIF block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metadata {
    /// The raw Orientation value (1–8 when valid).
    pub orientation: Option<u16>,
    /// `ImageWidth` × `ImageLength` of IFD0: the pixel size of a TIFF file (in a JPEG's EXIF
    /// block these describe nothing reliable and are not used).
    pub tiff_size: Option<(u32, u32)>,
    /// DateTimeOriginal in seconds since 1970: UTC when OffsetTimeOriginal says the zone,
    /// otherwise the camera's clock read as if it were UTC.
    pub taken: Option<i64>,
    /// Latitude and longitude in degrees (south and west negative).
    pub gps: Option<(f64, f64)>,
}

/// Reads everything [`Metadata`] holds. A damaged part leaves its field empty; only a block
/// that is no TIFF structure at all is an error.
pub fn metadata(tiff: &[u8]) -> Result<Metadata, String> {
    let ifd0 = Tiff::new(tiff)?.ifd0()?;
    let mut meta = Metadata {
        orientation: ifd0
            .integer(tag::ORIENTATION, "Orientation")
            .ok()
            .flatten()
            .map(|v| v.try_into().unwrap_or(u16::MAX)),
        ..Metadata::default()
    };
    let width = ifd0.integer(tag::IMAGE_WIDTH, "ImageWidth").ok().flatten();
    let height = ifd0
        .integer(tag::IMAGE_LENGTH, "ImageLength")
        .ok()
        .flatten();
    meta.tiff_size = width.zip(height);
    if let Some(exif) = ifd0.sub_ifd(tag::EXIF_IFD, "EXIF IFD") {
        meta.taken = exif.ascii(tag::DATE_TIME_ORIGINAL).and_then(|date| {
            let local = parse_datetime(date)?;
            let offset = exif
                .ascii(tag::OFFSET_TIME_ORIGINAL)
                .and_then(parse_offset)
                .unwrap_or(0);
            Some(local - offset)
        });
    }
    if let Some(gps) = ifd0.sub_ifd(tag::GPS_IFD, "GPS IFD") {
        let coordinate = |value: u16, reference: u16, negative: &str| {
            let [d, m, s] = gps.rationals::<3>(value)?;
            let degrees = d + m / 60.0 + s / 3600.0;
            let sign = match gps.ascii(reference) {
                Some(r) if r.eq_ignore_ascii_case(negative) => -1.0,
                _ => 1.0,
            };
            degrees.is_finite().then_some(sign * degrees)
        };
        let lat = coordinate(tag::GPS_LATITUDE, tag::GPS_LATITUDE_REF, "S");
        let lon = coordinate(tag::GPS_LONGITUDE, tag::GPS_LONGITUDE_REF, "W");
        meta.gps = lat
            .zip(lon)
            .filter(|(lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0);
    }
    Ok(meta)
}

/// `YYYY:MM:DD HH:MM:SS` (dashes also accepted in the date) to seconds since 1970, read as
/// UTC. Cameras without a set clock write zeros or blanks: those are `None`.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// `+HH:MM` or `-HH:MM` to seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s.get(1..)?.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known civil-calendar
/// arithmetic: shift the year to start in March so leap days come last).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian TIFF block: IFD0 with `ifd0` entries, an EXIF IFD and a GPS IFD.
    pub(crate) fn block(orientation: u16, date: Option<&str>, gps: Option<[u32; 2]>) -> Vec<u8> {
        let mut v = b"II\x2a\0\x08\0\0\0".to_vec();
        let entry = |v: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&kind.to_le_bytes());
            v.extend_from_slice(&count.to_le_bytes());
            v.extend_from_slice(&value.to_le_bytes());
        };
        // IFD0 at 8: 3 entries, then the next-IFD offset: ends at 8 + 2 + 36 + 4 = 50.
        let exif_at = 50u32;
        let gps_at = exif_at + 2 + 12 + 4 + 20;
        v.extend_from_slice(&3u16.to_le_bytes());
        entry(&mut v, tag::ORIENTATION, SHORT, 1, orientation as u32);
        entry(&mut v, tag::EXIF_IFD, LONG, 1, exif_at);
        entry(&mut v, tag::GPS_IFD, LONG, 1, gps_at);
        v.extend_from_slice(&0u32.to_le_bytes());
        // EXIF IFD: DateTimeOriginal, its 20 bytes right after the IFD.
        v.extend_from_slice(&1u16.to_le_bytes());
        let date_at = exif_at + 2 + 12 + 4;
        entry(&mut v, tag::DATE_TIME_ORIGINAL, ASCII, 20, date_at);
        v.extend_from_slice(&0u32.to_le_bytes());
        let mut text = date.unwrap_or("    :  :     :  :  ").as_bytes().to_vec();
        text.resize(20, 0);
        v.extend_from_slice(&text);
        // GPS IFD: four entries, the rationals after it.
        let values_at = gps_at + 2 + 4 * 12 + 4;
        v.extend_from_slice(&4u16.to_le_bytes());
        entry(&mut v, tag::GPS_LATITUDE_REF, ASCII, 2, u32::from(b'S'));
        entry(&mut v, tag::GPS_LATITUDE, RATIONAL, 3, values_at);
        entry(&mut v, tag::GPS_LONGITUDE_REF, ASCII, 2, u32::from(b'E'));
        entry(&mut v, tag::GPS_LONGITUDE, RATIONAL, 3, values_at + 24);
        v.extend_from_slice(&0u32.to_le_bytes());
        let [lat, lon] = gps.unwrap_or([0, 0]);
        for degrees in [lat, lon] {
            for (num, den) in [(degrees, 1), (30, 1), (0, 1)] {
                v.extend_from_slice(&num.to_le_bytes());
                v.extend_from_slice(&(den as u32).to_le_bytes());
            }
        }
        v
    }

    #[test]
    fn reads_date_orientation_and_position() {
        let tiff = block(6, Some("2021:07:04 12:30:15"), Some([33, 151]));
        let meta = metadata(&tiff).expect("reads");
        assert_eq!(meta.orientation, Some(6));
        assert_eq!(meta.taken, Some(1_625_401_815));
        let (lat, lon) = meta.gps.expect("position");
        assert!((lat + 33.5).abs() < 1e-9 && (lon - 151.5).abs() < 1e-9);
        assert_eq!(orientation(&tiff), Ok(Some(6)));
    }

    #[test]
    fn blank_dates_are_none() {
        let meta = metadata(&block(1, None, None)).expect("reads");
        assert_eq!(meta.taken, None);
        assert_eq!(parse_datetime("0000:00:00 00:00:00"), None);
        assert_eq!(parse_datetime("1970:01:01 00:00:00"), Some(0));
        assert_eq!(parse_datetime("2000-02-29 00:00:01"), Some(951_782_401));
        assert_eq!(parse_offset("+02:00"), Some(7200));
        assert_eq!(parse_offset("-05:30"), Some(-19_800));
    }

    #[test]
    fn damaged_offsets_are_errors_or_empty_never_panics() {
        let good = block(3, Some("2021:07:04 12:30:15"), Some([1, 2]));
        for cut in 0..good.len() {
            let _ = metadata(&good[..cut]);
            let _ = orientation(&good[..cut]);
        }
        let mut wild = good.clone();
        wild[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(metadata(&wild).is_err());
    }
}
