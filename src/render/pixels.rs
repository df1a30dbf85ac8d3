//! The one in-memory picture type the pipeline steps hand to each other.
//!
//! Decoders produce many layouts (grey, 16-bit, palette, CMYK); the decode step normalises them
//! all to 8-bit sRGB with or without alpha, so the later steps handle exactly two layouts.

/// How the bytes of a [`Pixels`] buffer are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 3 bytes a pixel: R, G, B.
    Rgb,
    /// 4 bytes a pixel: R, G, B and straight (not premultiplied) alpha.
    Rgba,
}

impl Layout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }
}

/// An 8-bit sRGB picture, rows top to bottom with no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Byte layout of `data`.
    pub layout: Layout,
    /// `width × height × layout.channels()` bytes.
    pub data: Vec<u8>,
}

impl Pixels {
    /// Wraps a buffer, checking that its length matches the size.
    pub fn new(width: u32, height: u32, layout: Layout, data: Vec<u8>) -> Option<Pixels> {
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(layout.channels())?;
        (data.len() == expected).then_some(Pixels {
            width,
            height,
            layout,
            data,
        })
    }

    /// A picture of one colour.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Pixels {
        let data = rgb.repeat(width as usize * height as usize);
        Pixels {
            width,
            height,
            layout: Layout::Rgb,
            data,
        }
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.layout.channels()
    }

    /// The pixel at `(x, y)` as RGB(A) bytes.
    pub fn pixel(&self, x: u32, y: u32) -> &[u8] {
        let c = self.layout.channels();
        let at = y as usize * self.stride() + x as usize * c;
        &self.data[at..at + c]
    }
}
