//! The JPEG marker scan, the PNG/WebP/GIF/TIFF/BMP probes and the memory estimate on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framecast::render::fuzz::containers(data);
});
