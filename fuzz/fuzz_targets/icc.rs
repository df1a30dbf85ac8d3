//! The ICC profile parser, and the conversions a parsed profile is used for, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    framecast::render::fuzz::icc(data);
});
