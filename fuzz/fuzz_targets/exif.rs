//! The EXIF orientation reader on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framecast::render::fuzz::exif(data);
});
