#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(recs) = mamori_vuln::jvn::parse_jvn(data, "fuzz.xml") {
        for r in &recs {
            for a in &r.affected {
                for v in &a.versions {
                    let _ = mamori_vuln::jvn::parse_jvn_version(v);
                }
            }
        }
    }
});
