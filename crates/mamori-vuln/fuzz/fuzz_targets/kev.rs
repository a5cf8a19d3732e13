#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mamori_vuln::kev::parse_kev(data, "fuzz");
});
