//! Encoding: the frame as a JPEG every client can show.
//!
//! Baseline (progressive JPEGs paint in passes and some players reject them), 4:2:0 chroma
//! (what hardware decoders in TVs expect), the standard Huffman tables written out in DHT
//! segments (Safari paints nothing for JPEGs that leave them out), and no metadata at all:
//! only the JFIF header, so no orientation tag can rotate the frame a second time and no GPS
//! position from the original leaves the house.

use bytes::Bytes;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

use super::{Error, Layout, Pixels};

/// Encodes RGB pixels at `quality` (1..=100).
pub fn encode(pixels: &Pixels, quality: u8) -> Result<Bytes, Error> {
    let (Ok(width), Ok(height)) = (u16::try_from(pixels.width), u16::try_from(pixels.height))
    else {
        return Err(Error::Internal(format!(
            "a {}x{} frame is larger than JPEG allows",
            pixels.width, pixels.height
        )));
    };
    let color = match pixels.layout {
        Layout::Rgb => ColorType::Rgb,
        Layout::Rgba => ColorType::Rgba,
    };
    // A typical photo frame compresses to about a tenth of its raw size at q85.
    let mut out = Vec::with_capacity(pixels.data.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    // Averaging the 2×2 chroma block (as libjpeg does) instead of taking its first pixel keeps
    // thin coloured edges from shifting and aliasing.
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder.set_progressive(false);
    encoder
        .encode(&pixels.data, width, height, color)
        .map_err(|e| Error::Internal(format!("JPEG encoder: {e}")))?;
    Ok(Bytes::from(out))
}
