//! Compile-checked stand-in for the cargo-fuzz targets (nightly is not available here): the same
//! entry points get the fixtures and ~10k deterministic random mutations each; nothing may panic.

use mamori_vuln::version::{Family, Version};
use mamori_vuln::{Cpe, jvn, kev, nvd};

use crate::common::read;

const CASES: usize = 10_000;

/// xorshift64*: deterministic, so a failure is reproducible from its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"<",
    b">",
    b"</",
    b"&amp;",
    b"&#0;",
    b"&bogus;",
    b"\xff\xfe",
    b"\n",
    b"*",
    b"?",
    b"\\",
    b"%",
    b"cpe:2.3:",
    b"cpe:/",
    b"~",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => v.truncate(rng.below(len)),
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            2 => {
                let i = rng.below(len + 1);
                let b = (rng.next() & 0xff) as u8;
                v.insert(i, b);
            }
            3 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(i..i, t.iter().copied());
            }
            4 if len > 1 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                v.drain(a..b);
            }
            5 if len > 1 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                let chunk: Vec<u8> = v[a..b].to_vec();
                let i = rng.below(len);
                v.splice(i..i, chunk);
            }
            _ => {
                let i = rng.below(len + 1);
                v.insert(i, b"0123456789.-_()rRhH"[rng.below(19)]);
            }
        }
    }
    v
}

fn run(seeds: &[Vec<u8>], salt: u64, mut f: impl FnMut(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ salt);
    for s in seeds {
        f(s);
    }
    for _ in 0..CASES {
        let s = &seeds[rng.below(seeds.len())];
        f(&mutate(&mut rng, s));
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn fuzz_nvd_parser_never_panics() {
    let small = read("nvd/records/CVE-2024-55591.json");
    let seeds = vec![
        small.clone(),
        read("nvd/records/CVE-2019-5591.json"),
        read("nvd/nvdcve-2.0-modified.json.gz"),
        gzip(&small),
    ];
    let mut ok = 0;
    run(&seeds, 1, |b| {
        if nvd::parse_nvd_bytes(b, "fuzz.json").is_ok() {
            ok += 1;
        }
    });
    // The unmutated seeds at least must parse.
    assert!(ok >= seeds.len());
}

#[test]
fn fuzz_kev_parser_never_panics() {
    let full: serde_json::Value = serde_json::from_slice(&read("kev/kev_subset.json")).unwrap();
    let mut small = full.clone();
    small["vulnerabilities"] = serde_json::Value::Array(full["vulnerabilities"].as_array().unwrap()[..3].to_vec());
    small["count"] = 3.into();
    let csv = String::from_utf8(read("kev/kev_subset.csv")).unwrap();
    let csv_small: String = csv.lines().take(4).map(|l| format!("{l}\n")).collect();
    let seeds = vec![serde_json::to_vec(&small).unwrap(), csv_small.into_bytes()];
    for s in &seeds {
        assert_eq!(kev::parse_kev(s, "seed").unwrap().entries.len(), 3);
    }
    run(&seeds, 2, |b| {
        let _ = kev::parse_kev(b, "fuzz");
    });
}

#[test]
fn fuzz_jvn_parser_never_panics() {
    let seeds = vec![read("jvn/jvndb_detail_2023.rdf"), read("jvn/getVulnDetailInfo_hnd_JVNDB-2021-002774.xml")];
    run(&seeds, 3, |b| {
        if let Ok(recs) = jvn::parse_jvn(b, "fuzz") {
            for r in &recs {
                for a in &r.affected {
                    for v in &a.versions {
                        let _ = jvn::parse_jvn_version(v);
                    }
                }
            }
        }
    });
    let mut rng = Rng(7);
    for _ in 0..CASES {
        let s = mutate(&mut rng, "Ver.1.2.4より前のバージョン（CVE-2025-0354）から 2.0 以前".as_bytes());
        let _ = jvn::parse_jvn_version(&String::from_utf8_lossy(&s));
    }
}

#[test]
fn fuzz_cpe_parser_never_panics_and_round_trips() {
    let seeds: Vec<Vec<u8>> = [
        r"cpe:2.3:o:cisco:ios:15.2\(5\)e:*:*:*:*:*:*:*",
        "cpe:2.3:a:citrix:netscaler_application_delivery_controller:*:*:*:*:fips:*:*:*",
        "cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*",
        "cpe:/a:10web:photo_gallery:::~~~wordpress~~",
        "cpe:/o:cisco:ios:15.2%284%29m",
        "cpe:/a:pulsesecure:pulse_connect_secure:9.0r3.3",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut parsed = 0;
    run(&seeds, 4, |b| {
        let s = String::from_utf8_lossy(b);
        if let Ok(c) = Cpe::parse(&s) {
            parsed += 1;
            // The formatted string of a parsed name parses back to the same name.
            let again = Cpe::parse(&c.to_fs()).unwrap_or_else(|e| panic!("{s:?} -> {} : {e}", c.to_fs()));
            assert_eq!(again, c, "{s:?}");
            let _ = c.matches(&again);
        }
    });
    assert!(parsed > 1000, "only {parsed} mutated names parsed");
}

#[test]
fn fuzz_versions_order_consistently() {
    let seeds: Vec<Vec<u8>> =
        ["6.0.4", "10.2.9-h1", "13.1-49.15", "9.0R3.3", "15.2(4)M", "10.0.19045.2251", "2.0-beta9", "16.12.10a"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    let fams = [
        Family::Generic,
        Family::FortiOs,
        Family::PanOs,
        Family::Citrix,
        Family::Ivanti,
        Family::CiscoIos,
        Family::Windows,
    ];
    let mut rng = Rng(11);
    let mut prev: Vec<Version> = Vec::new();
    run(&seeds, 5, |b| {
        let s = String::from_utf8_lossy(b);
        let f = fams[(s.len() + b.first().copied().unwrap_or(0) as usize) % fams.len()];
        if let Ok(v) = Version::parse(f, &s) {
            let other = Version::parse(f, &String::from_utf8_lossy(&seeds[rng.below(seeds.len())])).ok();
            for o in prev.iter().chain(other.iter()).filter(|o| o.family() == f) {
                // Antisymmetry: a < b exactly when b > a.
                assert_eq!(v.compare(o), o.compare(&v).map(|x| x.reverse()), "{s:?} vs {}", o.as_str());
            }
            prev.push(v);
            if prev.len() > 16 {
                prev.remove(0);
            }
        }
    });
}

#[test]
fn fuzz_normaliser_and_matcher_never_panic() {
    use mamori_vuln::{DeviceFacts, ImportBatch, VulnDb, VulnIndex, diagnose};
    // Mutated records that still parse go into the db, mutated ledger texts are matched against it.
    let mut db = VulnDb::new();
    let mut rng = Rng(99);
    let recs = [
        read("nvd/records/CVE-2019-19781.json"),
        read("nvd/records/CVE-2024-3400.json"),
        read("nvd/records/CVE-2019-11510.json"),
    ];
    for i in 0..600 {
        let m = mutate(&mut rng, &recs[i % recs.len()]);
        if let Ok(f) = nvd::parse_nvd_bytes(&m, "m.json") {
            db.apply(ImportBatch::Nvd(f));
        }
    }
    for r in &recs {
        db.apply(ImportBatch::Nvd(nvd::parse_nvd_bytes(r, "r.json").unwrap()));
    }
    let index = VulnIndex::build(&db);
    let texts: Vec<Vec<u8>> = [
        "Citrix ADC 13.0-47.24",
        "PAN-OS 10.2.9-h1",
        "Pulse Connect Secure 9.0R3.3",
        "Windows Server 2008 R2 SP1",
        "FortiGate 60E FortiOS 6.0.4",
        "Cisco IOS 15.2(4)M",
        "cpe:2.3:a:ivanti:connect_secure:9.0:r3.3:*:*:*:*:*:*",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut devices = Vec::new();
    for i in 0..3000 {
        let t = String::from_utf8_lossy(&mutate(&mut rng, &texts[i % texts.len()])).into_owned();
        let mut d = DeviceFacts { device_ref: format!("d{i}"), ..Default::default() };
        match i % 4 {
            0 => d.os = Some(t),
            1 => d.model = Some(t),
            2 => d.software = vec![(t, None)],
            _ => d.cpe_overrides = vec![t],
        }
        devices.push(d);
    }
    let diag = diagnose(&index, &devices);
    assert_eq!(diag.normalised.len(), devices.len());
}
