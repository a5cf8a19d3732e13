#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = mamori_vuln::Cpe::parse(s) {
            let again = mamori_vuln::Cpe::parse(&c.to_fs()).expect("formatted string of a parsed name must parse");
            assert_eq!(again, c);
        }
    }
});
