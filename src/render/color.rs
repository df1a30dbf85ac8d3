//! Colour: everything leaves the pipeline in sRGB.
//!
//! Phones tag their photos Display P3, cameras often Adobe RGB, print workflows leave CMYK
//! files with press profiles. Shown as if they were sRGB, the first two look dull and the last
//! looks wrong (a CMYK file read as RGB is a negative). Frames carry no profile, and TV browsers
//! would ignore one anyway, so the pixels themselves must be sRGB.
//!
//! Profiles are applied with `moxcms`, a pure-Rust colour engine: `benches/render.rs` measures
//! it against Little CMS (`lcms2`) on the conversion a camera's Adobe RGB photo needs at its
//! decoded size (2 MP): 3.0 ms against 19 ms here, 3.5 ms with the profile parsed each time,
//! and no C dependency. CMYK without a profile gets the conversion every viewer uses for Adobe-style
//! files (`R = (1-C)(1-K)`), since no better guess exists without one.

use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, DataColorSpace, Layout as CmsLayout,
    MatrixCoefficients, TransferCharacteristics, TransformOptions,
};

use super::{Layout, Pixels, Warning};

/// An embedded ICC profile, parsed and checked, ready to convert pixels to sRGB.
pub struct Profile {
    profile: ColorProfile,
}

/// Colour described by code points (ITU-T H.273) instead of an ICC profile, as HEIF and AVIF
/// files do in their `nclx` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cicp {
    /// Colour primaries: 1 is BT.709 (sRGB's), 12 Display P3, 9 BT.2020, 2 unspecified.
    pub primaries: u8,
    /// Transfer characteristics: 13 is sRGB's curve, 1/6/14/15 BT.709's, 8 linear, 16 PQ,
    /// 18 HLG, 2 unspecified.
    pub transfer: u8,
}

impl Profile {
    /// Parses an ICC profile. An unusable one becomes a warning and `None` (the pixels are then
    /// taken as sRGB, the best guess for an untagged photo).
    pub fn parse(icc: &[u8], warnings: &mut Vec<Warning>) -> Option<Profile> {
        match ColorProfile::new_from_slice(icc) {
            Ok(profile) => Some(Profile { profile }),
            Err(e) => {
                warnings.push(Warning::BadIccProfile(e.to_string()));
                None
            }
        }
    }

    /// The profile a [`Cicp`] describes; `None` when that is sRGB already (nothing to do) or
    /// when it cannot be shown faithfully (a warning says why; the pixels are taken as sRGB).
    ///
    /// "Unspecified" means sRGB, the usual assumption for untagged pictures. The BT.709 family
    /// of transfer curves is also taken as sRGB's: those numbers describe a camera's encoding,
    /// and displays (BT.1886) show them with a curve close to sRGB's, which is what viewers do
    /// too. HDR curves (PQ, HLG) would need tone mapping, which framecast does not do.
    pub fn from_cicp(cicp: Cicp, warnings: &mut Vec<Warning>) -> Option<Profile> {
        let primaries = match cicp.primaries {
            2 => 1,
            p => p,
        };
        let transfer = match cicp.transfer {
            1 | 2 | 6 | 14 | 15 => 13,
            t => t,
        };
        if primaries == 1 && transfer == 13 {
            return None;
        }
        let mut refuse = |why: String| {
            warnings.push(Warning::BadIccProfile(format!(
                "colour code points {}/{}: {why}",
                cicp.primaries, cicp.transfer
            )));
            None
        };
        if matches!(transfer, 16 | 18) {
            return refuse("an HDR transfer curve, shown without tone mapping".into());
        }
        let color_primaries = match CicpColorPrimaries::try_from(primaries) {
            Ok(p) if p != CicpColorPrimaries::Reserved => p,
            _ => return refuse("unknown primaries".into()),
        };
        let transfer_characteristics = match TransferCharacteristics::try_from(transfer) {
            Ok(t) if t != TransferCharacteristics::Reserved => t,
            _ => return refuse("unknown transfer curve".into()),
        };
        let profile = ColorProfile::new_from_cicp(CicpProfile {
            color_primaries,
            transfer_characteristics,
            matrix_coefficients: MatrixCoefficients::Identity,
            full_range: true,
        });
        Some(Profile { profile })
    }

    /// Whether the profile describes CMYK samples.
    pub fn is_cmyk(&self) -> bool {
        self.profile.color_space == DataColorSpace::Cmyk
    }

    /// Whether the profile describes grey samples.
    pub fn is_gray(&self) -> bool {
        self.profile.color_space == DataColorSpace::Gray
    }

    /// Whether the profile describes RGB samples.
    pub fn is_rgb(&self) -> bool {
        self.profile.color_space == DataColorSpace::Rgb
    }

    /// Converts RGB(A) pixels in this profile's space to sRGB, in place (alpha is kept).
    pub fn rgb_to_srgb(&self, pixels: &mut Pixels, warnings: &mut Vec<Warning>) {
        if !self.is_rgb() {
            warnings.push(Warning::BadIccProfile(format!(
                "a {:?} profile on RGB pixels",
                self.profile.color_space
            )));
            return;
        }
        let layout = match pixels.layout {
            Layout::Rgb => CmsLayout::Rgb,
            Layout::Rgba => CmsLayout::Rgba,
        };
        let srgb = ColorProfile::new_srgb();
        let transform = match self.profile.create_transform_8bit(
            layout,
            &srgb,
            layout,
            TransformOptions::default(),
        ) {
            Ok(t) => t,
            Err(e) => return warnings.push(Warning::BadIccProfile(e.to_string())),
        };
        let mut out = vec![0u8; pixels.data.len()];
        match transform.transform(&pixels.data, &mut out) {
            Ok(()) => pixels.data = out,
            Err(e) => warnings.push(Warning::BadIccProfile(e.to_string())),
        }
    }

    /// Converts grey samples in this profile's space to sRGB pixels; `None` if the engine
    /// refused (a warning says why).
    pub fn gray_to_srgb(
        &self,
        gray: &[u8],
        width: u32,
        height: u32,
        warnings: &mut Vec<Warning>,
    ) -> Option<Pixels> {
        self.device_to_srgb(CmsLayout::Gray, 1, gray, width, height, warnings)
    }

    /// Converts CMYK samples (0 = no ink) in this profile's space to sRGB pixels; `None` if the
    /// engine refused (a warning says why).
    pub fn cmyk_to_srgb(
        &self,
        cmyk: &[u8],
        width: u32,
        height: u32,
        warnings: &mut Vec<Warning>,
    ) -> Option<Pixels> {
        // moxcms reads four-channel device samples through its RGBA layout.
        self.device_to_srgb(CmsLayout::Rgba, 4, cmyk, width, height, warnings)
    }

    /// Converts `channels`-sample device pixels to sRGB RGB pixels.
    fn device_to_srgb(
        &self,
        layout: CmsLayout,
        channels: usize,
        samples: &[u8],
        width: u32,
        height: u32,
        warnings: &mut Vec<Warning>,
    ) -> Option<Pixels> {
        let mut refused =
            |e: moxcms::CmsError| warnings.push(Warning::BadIccProfile(e.to_string()));
        let transform = self
            .profile
            .create_transform_8bit(
                layout,
                &ColorProfile::new_srgb(),
                CmsLayout::Rgb,
                TransformOptions::default(),
            )
            .map_err(&mut refused)
            .ok()?;
        let mut out = vec![0u8; samples.len() / channels * 3];
        transform
            .transform(samples, &mut out)
            .map_err(&mut refused)
            .ok()?;
        Pixels::new(width, height, Layout::Rgb, out)
    }
}

/// Makes CMYK samples mean "amount of ink" (0 = none). Adobe applications store them inverted
/// (0 = full ink) and mark such files with an APP14 `Adobe` segment.
pub fn normalise_cmyk(cmyk: &mut [u8], adobe_inverted: bool) {
    if adobe_inverted {
        for v in cmyk {
            *v = 255 - *v;
        }
    }
}

/// The profile-less CMYK → RGB conversion: `R = (1-C)(1-K)` and so on, with samples where
/// 0 means no ink.
pub fn naive_cmyk_to_rgb(cmyk: &[u8], width: u32, height: u32) -> Option<Pixels> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = 255 - px[3] as u32;
        for &ink in &px[..3] {
            let v = (255 - ink as u32) * k;
            out.push(((v + 127) / 255) as u8);
        }
    }
    Pixels::new(width, height, Layout::Rgb, out)
}

/// Expands grey samples to RGB.
pub fn gray_to_rgb(gray: &[u8], width: u32, height: u32) -> Option<Pixels> {
    let data = gray.iter().flat_map(|&g| [g, g, g]).collect();
    Pixels::new(width, height, Layout::Rgb, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_cmyk() {
        // Pure magenta+yellow ink (red), then no ink (white), then full black.
        let cmyk = [0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 255];
        let p = naive_cmyk_to_rgb(&cmyk, 3, 1).expect("3 pixels");
        assert_eq!(p.data, [255, 0, 0, 255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn adobe_inversion() {
        let mut cmyk = [255, 0, 0, 255];
        normalise_cmyk(&mut cmyk, true);
        assert_eq!(cmyk, [0, 255, 255, 0]);
        normalise_cmyk(&mut cmyk, false);
        assert_eq!(cmyk, [0, 255, 255, 0]);
    }

    #[test]
    fn garbage_profile_warns() {
        let mut w = Vec::new();
        assert!(Profile::parse(b"not a profile", &mut w).is_none());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn srgb_profile_is_identity_within_rounding() {
        let icc = ColorProfile::new_srgb().encode().expect("encode sRGB");
        let mut w = Vec::new();
        let profile = Profile::parse(&icc, &mut w).expect("sRGB parses");
        let data = vec![10, 128, 250, 200, 30, 60];
        let mut p = Pixels::new(2, 1, Layout::Rgb, data.clone()).expect("2 pixels");
        profile.rgb_to_srgb(&mut p, &mut w);
        assert!(w.is_empty(), "{w:?}");
        for (a, b) in p.data.iter().zip(&data) {
            assert!(a.abs_diff(*b) <= 1, "{:?} vs {data:?}", p.data);
        }
    }
}
