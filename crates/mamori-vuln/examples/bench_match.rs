//! Benchmark (prints figures; not a test): synthetic NVD-shaped feed of 400k CVEs, a ledger of 10k
//! devices and the 37k real CPEs of ../shared/data/cpe/cpes.txt as queries.
//!
//! cargo run --release -p mamori-vuln --example bench_match [-- CVES DEVICES [materialize]]
//!
//! Shape of the synthetic feed, taken from the 30 real hospital-incident records in tests/fixtures:
//! 66% of configurations are AND (vulnerable firmware + vulnerable:false hardware platform);
//! criteria without a range 70%, [startIncluding, endExcluding) 18%, endExcluding 8%,
//! [startIncluding, endIncluding] 3.5%, endIncluding 0.5%. The number of criteria per CVE is
//! heavy-tailed (half 1–3, 30% 4–10, 15% 11–30, 5% 31–100; mean ≈ 9) — the real records average
//! 41 because they are the famous, widely-deployed ones; NVD as a whole averages far fewer.
//! 2% of the CVEs (≈8k of 400k) name products the ledger uses, weighted roughly as in NVD (a
//! Windows release 1–2.5k CVEs, FortiOS 250, Log4j 10 …), with family-typical versions (a Windows
//! CVE lists 1–4 affected releases once each, with a build range or as a release; a release ends
//! up in ≈1.5–2.5k CVEs, as in NVD); the rest name
//! products drawn from cpes.txt. Each record also carries descriptions, a CVSS v3.1 metric,
//! weaknesses and references so that parsing cost is realistic.

use std::io::{BufRead, BufWriter, Write};

/// The allocator of the `mamori` binary, so the figures are those of the product.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mamori_vuln::{DeviceFacts, ImportBatch, VulnDb, VulnIndex, diagnose, normalise, nvd, scan_devices, scan_profiles};

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
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn vm_hwm_mib() -> f64 {
    status_mib("VmHWM:")
}

fn vm_rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn status_mib(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) this process has used: the machine is shared, so wall time alone
/// overstates the cost when others are building.
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// (part, vendor, product, version) from the real CPE list.
fn load_cpes(path: &Path) -> Vec<(String, String, String, String)> {
    let f = std::fs::File::open(path).expect("cpes.txt");
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let c = mamori_vuln::Cpe::parse(&l).ok()?;
            let (v, p) = match (&c.vendor, &c.product) {
                (mamori_vuln::Av::Value(v), mamori_vuln::Av::Value(p)) => (v.clone(), p.clone()),
                _ => return None,
            };
            let part = c.part_char().unwrap_or('a').to_string();
            let ver = match &c.version {
                mamori_vuln::Av::Value(v) => v.clone(),
                _ => String::new(),
            };
            Some((part, v, p, ver))
        })
        .collect()
}

/// One cpeMatch JSON object.
fn cm(vulnerable: bool, criteria: &str, range: &[(&str, String)]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let mut s = format!("{{\"vulnerable\": {vulnerable}, \"criteria\": {}", q(criteria));
    for (k, v) in range {
        s.push_str(&format!(", \"{k}\": {}", q(v)));
    }
    s.push_str(", \"matchCriteriaId\": \"00000000-0000-0000-0000-000000000000\"}");
    s
}

fn crit(part: &str, vendor: &str, product: &str, version: &str, update: &str) -> String {
    format!("cpe:2.3:{part}:{vendor}:{product}:{version}:{update}:*:*:*:*:*:*")
}

/// A range in the real records' proportions, or None for an exact criterion.
fn range_kind(rng: &mut Rng) -> Option<u8> {
    let x = rng.below(1000);
    match x {
        0..=699 => None,
        700..=879 => Some(0), // start incl + end excl
        880..=959 => Some(1), // end excl
        960..=994 => Some(2), // start incl + end incl
        _ => Some(3),         // end incl
    }
}

fn range_fields(kind: u8, lo: String, hi: String) -> Vec<(&'static str, String)> {
    match kind {
        0 => vec![("versionStartIncluding", lo), ("versionEndExcluding", hi)],
        1 => vec![("versionEndExcluding", hi)],
        2 => vec![("versionStartIncluding", lo), ("versionEndIncluding", hi)],
        _ => vec![("versionEndIncluding", hi)],
    }
}

/// Family-typical (lo, hi, exact version, exact update) for a hot product.
fn hot_versions(rng: &mut Rng, product: &str) -> (String, String, String, String) {
    let a = rng.below(3);
    let b = rng.below(20);
    match product {
        "fortios" => {
            let (ma, mi) = *rng.pick(&[(6, 0), (6, 2), (6, 4), (7, 0), (7, 2), (7, 4)]);
            (format!("{ma}.{mi}.0"), format!("{ma}.{mi}.{}", 1 + b), format!("{ma}.{mi}.{b}"), "*".into())
        }
        "pan-os" => {
            let mi = *rng.pick(&[0, 1, 2]);
            (
                format!("10.{mi}.0"),
                format!("10.{mi}.{}-h{}", 1 + b % 12, 1 + a),
                format!("10.{mi}.{}", b % 12),
                if rng.chance(0.5) { "-".into() } else { format!("h{}", 1 + a) },
            )
        }
        "netscaler_application_delivery_controller" => {
            let rel = *rng.pick(&["13.0", "13.1", "14.1"]);
            (rel.to_string(), format!("{rel}-{}.{}", 30 + b, 10 + a), rel.to_string(), "*".into())
        }
        "connect_secure" => {
            let v = *rng.pick(&["9.0", "9.1", "22.7"]);
            (format!("{v}r1"), format!("{v}r{}", 3 + b % 15), v.to_string(), format!("r{}.{}", 1 + b % 15, a))
        }
        "ios" => (
            "15.0".into(),
            "15.9".into(),
            format!("15.{}\\({}\\){}", a + 1, b % 8, rng.pick(&["m", "e", "t", "s"])),
            "*".into(),
        ),
        p if p.starts_with("windows_10")
            || p.starts_with("windows_11")
            || p.starts_with("windows_server_20") && !p.ends_with("2012") && !p.ends_with("2008") =>
        {
            let build = match p {
                "windows_10_22h2" => 19045,
                "windows_10_21h2" => 19044,
                "windows_11_22h2" => 22621,
                "windows_11_23h2" => 22631,
                "windows_server_2016" => 14393,
                "windows_server_2019" => 17763,
                _ => 20348,
            };
            // Monthly cumulative updates: about 48 revisions per release.
            ("10.0.0".into(), format!("10.0.{build}.{}", 1000 + 61 * rng.below(48)), "-".into(), "*".into())
        }
        "windows_server_2012" | "windows_server_2008" | "windows_7" => (
            "0".into(),
            "0".into(),
            if rng.chance(0.5) { "r2".into() } else { "-".into() },
            if p_sp(product) { "sp1".into() } else { "*".into() },
        ),
        _ => {
            let ma = 1 + rng.below(10);
            (format!("{ma}.0"), format!("{ma}.{}.{}", a, b), format!("{ma}.{a}.{b}"), "*".into())
        }
    }
}

fn p_sp(p: &str) -> bool {
    p == "windows_7" || p == "windows_server_2008"
}

/// Products the ledger uses, with their share of the hot CVEs (roughly NVD's proportions: Windows
/// releases carry thousands of CVEs each, appliances and middleware a few hundred).
const HOT: &[(&str, &str, &str, usize)] = &[
    ("o", "microsoft", "windows_10_22h2", 1500),
    ("o", "microsoft", "windows_10_21h2", 1400),
    ("o", "microsoft", "windows_11_22h2", 1200),
    ("o", "microsoft", "windows_11_23h2", 900),
    ("o", "microsoft", "windows_server_2016", 2200),
    ("o", "microsoft", "windows_server_2019", 2000),
    ("o", "microsoft", "windows_server_2022", 1500),
    ("o", "microsoft", "windows_server_2012", 2500),
    ("o", "microsoft", "windows_server_2008", 2000),
    ("o", "microsoft", "windows_7", 1800),
    ("o", "fortinet", "fortios", 250),
    ("o", "paloaltonetworks", "pan-os", 200),
    ("a", "citrix", "netscaler_application_delivery_controller", 100),
    ("a", "ivanti", "connect_secure", 150),
    ("o", "cisco", "ios", 700),
    ("a", "apache", "log4j", 10),
    ("a", "apache", "tomcat", 150),
    ("a", "apache", "http_server", 250),
    ("a", "openssl", "openssl", 250),
    ("a", "atlassian", "confluence_server", 100),
    ("a", "oracle", "jre", 600),
    ("a", "microsoft", "exchange_server", 200),
];

fn pick_hot(rng: &mut Rng) -> (&'static str, &'static str, &'static str) {
    let total: usize = HOT.iter().map(|h| h.3).sum();
    let mut x = rng.below(total);
    for h in HOT {
        if x < h.3 {
            return (h.0, h.1, h.2);
        }
        x -= h.3;
    }
    (HOT[0].0, HOT[0].1, HOT[0].2)
}

fn criteria_count(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=49 => 1 + rng.below(3),
        50..=79 => 4 + rng.below(7),
        80..=94 => 11 + rng.below(20),
        _ => 31 + rng.below(70),
    }
}

fn write_feed(path: &Path, n: usize, cpes: &[(String, String, String, String)]) -> u64 {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(BufWriter::with_capacity(1 << 20, f), flate2::Compression::fast());
    let mut w = BufWriter::with_capacity(1 << 20, gz);
    write!(w, "{{\"resultsPerPage\": {n}, \"startIndex\": 0, \"totalResults\": {n}, \"format\": \"NVD_CVE\", \"version\": \"2.0\", \"timestamp\": \"2026-11-21T00:00:00.000\", \"vulnerabilities\": [").unwrap();
    let mut rng = Rng(0x5eed);
    let mut raw_bytes = 0u64;
    for i in 0..n {
        let year = 1999 + i % 27;
        let total = criteria_count(&mut rng);
        let hot = rng.chance(0.02);
        let mut configs: Vec<String> = Vec::new();
        let mut left = total;
        while left > 0 {
            let k = if configs.is_empty() && left <= 12 { left } else { (1 + rng.below(12)).min(left) };
            left -= k;
            let (part, vendor, product, cver) = if hot {
                let (p, v, pr) = pick_hot(&mut rng);
                (p.to_string(), v.to_string(), pr.to_string(), String::new())
            } else {
                let c = rng.pick(cpes);
                (c.0.clone(), c.1.clone(), c.2.clone(), c.3.clone())
            };
            let and = !hot && rng.chance(0.66);
            // A Windows CVE lists each affected Windows release once (as NVD does); other products
            // get several ranges or versions of the one product (FortiOS trains, Cisco IOS versions …).
            let mut products: Vec<String> = Vec::with_capacity(k);
            if hot && product.starts_with("windows") {
                products.push(product.clone());
                for _ in 1..k.min(1 + rng.below(4)) {
                    let (_, _, p) = pick_hot(&mut rng);
                    if p.starts_with("windows") && !products.iter().any(|x| x == p) {
                        products.push(p.to_string());
                    }
                }
            } else {
                products.resize(k, product.clone());
            }
            let mut ms = Vec::with_capacity(k);
            for product in products {
                let (lo, hi, exact, upd) = hot_versions(&mut rng, &product);
                let exact = if !hot && !cver.is_empty() && rng.chance(0.5) { cver.clone() } else { exact };
                let (vprod, vpart) = if and {
                    (format!("{product}_firmware"), "o".to_string())
                } else {
                    (product.clone(), part.clone())
                };
                let windows_release = hot
                    && (product == "windows_server_2012" || product == "windows_server_2008" || product == "windows_7");
                // NVD lists current Windows releases with build ranges.
                let windows_build = hot && product.starts_with("windows") && !windows_release;
                let kind = if windows_build { Some(1) } else { range_kind(&mut rng) };
                match kind {
                    Some(kind) if !windows_release && product != "ios" => {
                        ms.push(cm(true, &crit(&vpart, &vendor, &vprod, "*", "*"), &range_fields(kind, lo, hi)))
                    }
                    _ => ms.push(cm(true, &crit(&vpart, &vendor, &vprod, &exact, &upd), &[])),
                }
            }
            let node = format!("{{\"operator\": \"OR\", \"negate\": false, \"cpeMatch\": [{}]}}", ms.join(", "));
            if and {
                let hw: Vec<String> = (0..1 + rng.below(3))
                    .map(|j| {
                        cm(
                            false,
                            &crit(
                                "h",
                                &vendor,
                                &if j == 0 { product.clone() } else { format!("{product}_{j}") },
                                "-",
                                "*",
                            ),
                            &[],
                        )
                    })
                    .collect();
                configs.push(format!(
                    "{{\"operator\": \"AND\", \"nodes\": [{node}, {{\"operator\": \"OR\", \"negate\": false, \"cpeMatch\": [{}]}}]}}",
                    hw.join(", ")
                ));
            } else {
                configs.push(format!("{{\"nodes\": [{node}]}}"));
            }
        }
        let score = (rng.below(91) + 10) as f32 / 10.0;
        let sev = match score {
            s if s >= 9.0 => "CRITICAL",
            s if s >= 7.0 => "HIGH",
            s if s >= 4.0 => "MEDIUM",
            _ => "LOW",
        };
        let rec = format!(
            "{sep}{{\"cve\": {{\"id\": \"CVE-{year}-{id:05}\", \"sourceIdentifier\": \"cve@mitre.org\", \"published\": \"{year}-03-01T10:00:00.000\", \"lastModified\": \"2025-10-2{d}T12:00:00.000\", \"vulnStatus\": \"Analyzed\", \"cveTags\": [], \
\"descriptions\": [{{\"lang\": \"en\", \"value\": \"A synthetic vulnerability number {i} in a product allows a remote attacker to execute arbitrary code via crafted requests to the management interface.\"}}, {{\"lang\": \"es\", \"value\": \"Una vulnerabilidad sint\\u00e9tica n\\u00famero {i} permite a un atacante remoto ejecutar c\\u00f3digo arbitrario mediante solicitudes manipuladas.\"}}], \
\"metrics\": {{\"cvssMetricV31\": [{{\"source\": \"nvd@nist.gov\", \"type\": \"Primary\", \"cvssData\": {{\"version\": \"3.1\", \"vectorString\": \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\", \"baseScore\": {score:.1}, \"baseSeverity\": \"{sev}\", \"attackVector\": \"NETWORK\", \"attackComplexity\": \"LOW\", \"privilegesRequired\": \"NONE\", \"userInteraction\": \"NONE\", \"scope\": \"UNCHANGED\", \"confidentialityImpact\": \"HIGH\", \"integrityImpact\": \"HIGH\", \"availabilityImpact\": \"HIGH\"}}, \"exploitabilityScore\": 3.9, \"impactScore\": 5.9}}]}}, \
\"weaknesses\": [{{\"source\": \"nvd@nist.gov\", \"type\": \"Primary\", \"description\": [{{\"lang\": \"en\", \"value\": \"CWE-787\"}}]}}], \
\"configurations\": [{cfg}], \
\"references\": [{{\"url\": \"https://example.invalid/advisory/{i}\", \"source\": \"cve@mitre.org\", \"tags\": [\"Vendor Advisory\"]}}, {{\"url\": \"https://example.invalid/patch/{i}\", \"source\": \"cve@mitre.org\", \"tags\": [\"Patch\"]}}]}}}}",
            sep = if i == 0 { "" } else { ", " },
            id = 10000 + i,
            d = i % 8,
            cfg = configs.join(", "),
        );
        raw_bytes += rec.len() as u64;
        w.write_all(rec.as_bytes()).unwrap();
    }
    w.write_all(b"]}").unwrap();
    let gz = w.into_inner().map_err(|e| e.to_string()).unwrap();
    gz.finish().unwrap().flush().unwrap();
    raw_bytes
}

fn ledger(n: usize) -> Vec<DeviceFacts> {
    let mut rng = Rng(42);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut d = DeviceFacts { device_ref: format!("DEV-{i:05}"), ..Default::default() };
        let r = rng.below(100);
        if r < 40 {
            let (os, build) = *rng.pick(&[
                ("Windows 10 Pro 22H2", Some(19045)),
                ("Windows 10 Enterprise 21H2", Some(19044)),
                ("Windows 11 Pro 23H2", Some(22631)),
                ("Windows Server 2019 Standard", Some(17763)),
                ("Windows Server 2016 Standard", Some(14393)),
                ("Windows Server 2022 Standard", Some(20348)),
                ("Windows Server 2012 R2 Standard", None),
                ("Windows Server 2008 R2 SP1", None),
                ("Windows 7 Professional SP1", None),
            ]);
            d.os = Some(os.into());
            // Hospitals roll out monthly updates in waves: the last two years of builds are in use.
            d.os_version =
                build.filter(|_| rng.chance(0.8)).map(|b| format!("10.0.{b}.{}", 1000 + 61 * (24 + rng.below(24))));
            if rng.chance(0.3) {
                d.software.push((
                    "Oracle JRE".into(),
                    Some(
                        rng.pick(&["1.8.0_202", "1.8.0_281", "1.8.0_351", "1.8.0_381", "1.8.0_401", "11.0.21"])
                            .to_string(),
                    ),
                ));
            }
        } else if r < 70 {
            d.at_external_point = rng.chance(0.5);
            match rng.below(5) {
                0 => {
                    d.maker = Some("Fortinet".into());
                    d.model = Some(rng.pick(&["FortiGate 60E", "FortiGate 100F", "FortiGate 40F"]).to_string());
                    d.os = Some(format!("FortiOS {}.{}.{}", rng.pick(&[6, 7]), rng.pick(&[0, 2, 4]), rng.below(20)));
                }
                1 => {
                    d.os = Some(format!(
                        "PAN-OS 10.{}.{}{}",
                        rng.below(3),
                        rng.below(12),
                        if rng.chance(0.5) { format!("-h{}", 1 + rng.below(4)) } else { String::new() }
                    ))
                }
                2 => {
                    d.model = Some(format!(
                        "Citrix ADC {}-{}.{}",
                        rng.pick(&["13.0", "13.1", "14.1"]),
                        20 + rng.below(40),
                        10 + rng.below(3)
                    ))
                }
                3 => d.software.push((
                    format!(
                        "Pulse Connect Secure {}R{}.{}",
                        rng.pick(&["9.0", "9.1"]),
                        1 + rng.below(15),
                        rng.below(3)
                    ),
                    None,
                )),
                _ => {
                    d.maker = Some("Cisco".into());
                    d.os = Some(format!(
                        "Cisco IOS 15.{}({}){}",
                        1 + rng.below(3),
                        rng.below(8),
                        rng.pick(&["M", "E", "T"])
                    ));
                }
            }
        } else {
            d.os = Some("Red Hat Enterprise Linux 8".into());
            for _ in 0..1 + rng.below(3) {
                let (name, ver) = match rng.below(6) {
                    0 => ("Apache Log4j", format!("2.{}.{}", rng.below(18), rng.below(3))),
                    1 => ("Apache Tomcat", format!("9.0.{}", rng.below(90))),
                    2 => ("Apache HTTP Server", format!("2.4.{}", rng.below(60))),
                    3 => ("OpenSSL", format!("1.1.{}", rng.below(2))),
                    4 => ("Atlassian Confluence", format!("7.{}.{}", rng.below(20), rng.below(10))),
                    _ => ("Microsoft Exchange Server 2016", format!("CU{}", 10 + rng.below(14))),
                };
                d.software.push((name.into(), Some(ver)));
            }
        }
        out.push(d);
    }
    out
}

/// The synthetic ledger as a device-ledger CSV that `mamori import devices` reads.
fn write_ledger_csv(path: &Path, devices: &[DeviceFacts]) {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from(
        "管理番号,機器種別,メーカー,機種・型番,OS,OSバージョン,ソフトウェア,ソフトウェアバージョン,状態,説明\n",
    );
    for (i, d) in devices.iter().enumerate() {
        let names: Vec<&str> = d.software.iter().map(|(n, _)| n.as_str()).collect();
        let vers: Vec<&str> = d.software.iter().map(|(_, v)| v.as_deref().unwrap_or("")).collect();
        out.push_str(&format!(
            "{},,{},{},{},{},{},{},稼働,{}\n",
            format_args!("D{i:05}"),
            q(d.maker.as_deref().unwrap_or("")),
            q(d.model.as_deref().unwrap_or("")),
            q(d.os.as_deref().unwrap_or("")),
            q(d.os_version.as_deref().unwrap_or("")),
            q(&names.join("\n")),
            q(&vers.join("\n")),
            if d.at_external_point { "外部接続点（VPN）" } else { "" }
        ));
    }
    std::fs::write(path, out).expect("write the ledger CSV");
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n_cves = args.first().copied().unwrap_or(400_000);
    let n_dev = args.get(1).copied().unwrap_or(10_000);
    let cpes = load_cpes(&data_dir().join("cpe/cpes.txt"));
    println!("real CPEs loaded from cpes.txt: {}", cpes.len());

    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("nvdcve-2.0-synthetic.json.gz");
    let t = Instant::now();
    let raw = write_feed(&feed, n_cves, &cpes);
    let gz = std::fs::metadata(&feed).unwrap().len();
    println!(
        "generated {n_cves} CVEs: {:.0} MiB JSON, {:.0} MiB gzip, in {:.1} s (not part of the figures)",
        raw as f64 / 1048576.0,
        gz as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let hwm_gen = vm_hwm_mib();
    // For the store-backed measurement (`mamori vuln import` / `mamori vuln scan`): keep the feed and
    // write the ledger as a device-ledger CSV.
    if let Ok(keep) = std::env::var("MAMORI_BENCH_KEEP_FEED") {
        std::fs::copy(&feed, &keep).expect("copy the feed");
        println!("feed kept as {keep}");
    }
    if let Ok(path) = std::env::var("MAMORI_BENCH_LEDGER_CSV") {
        write_ledger_csv(Path::new(&path), &ledger(n_dev));
        println!("ledger written as {path}");
    }

    let (t, c0) = (Instant::now(), cpu_s());
    let file = nvd::read_nvd_file(&feed).expect("import");
    let t_parse = t.elapsed();
    let mut db = VulnDb::new();
    let rep = db.apply(ImportBatch::Nvd(file));
    let t_import = t.elapsed();
    let criteria: usize =
        db.cves.values().flat_map(|c| &c.configurations).flat_map(|c| &c.nodes).map(|n| n.cpe_match.len()).sum();
    println!(
        "import: {:.1} s wall, {:.1} s CPU (parse+validate {:.1} s), {} added, {} criteria; resident {:.0} MiB, peak so far {:.0} MiB",
        t_import.as_secs_f64(),
        cpu_s() - c0,
        t_parse.as_secs_f64(),
        rep.added,
        criteria,
        vm_rss_mib(),
        vm_hwm_mib()
    );

    if std::env::args().any(|a| a == "sizes") {
        use mamori_vuln::*;
        use std::mem::size_of;
        let mut b = db.cves.capacity() * (size_of::<String>() + size_of::<CveRecord>() + 1);
        let mut crit = std::collections::HashSet::new();
        for c in db.cves.values() {
            b += 2 * c.id.len()
                + c.published.as_ref().map_or(0, |x| x.len())
                + c.last_modified.len()
                + c.status.as_ref().map_or(0, |x| x.len());
            b += c.description.as_ref().map_or(0, |x| x.len());
            b += c.cvss.len() * size_of::<CvssScore>() + c.cvss.iter().map(|s| s.vector.len() + 8).sum::<usize>();
            b += c.configurations.capacity() * size_of::<Configuration>();
            for cf in &c.configurations {
                b += cf.nodes.capacity() * size_of::<Node>();
                for n in &cf.nodes {
                    b += n.cpe_match.capacity() * size_of::<CpeMatch>();
                    for m in &n.cpe_match {
                        if crit.insert(std::sync::Arc::as_ptr(&m.criteria) as *const u8 as usize) {
                            b += m.criteria.len() + 16;
                        }
                        b += m.range.as_ref().map_or(0, |_| 24);
                    }
                }
            }
        }
        println!(
            "  estimated live bytes of the db (payload only, no allocator overhead): {:.0} MiB, {} distinct criteria strings",
            b as f64 / 1048576.0,
            crit.len()
        );
    }
    let (t, c0) = (Instant::now(), cpu_s());
    let index = VulnIndex::build(&db);
    println!(
        "index build: {:.2} s wall, {:.2} s CPU ({} vendor:product keys); resident {:.0} MiB",
        t.elapsed().as_secs_f64(),
        cpu_s() - c0,
        index.product_count(),
        vm_rss_mib()
    );

    let devices = ledger(n_dev);
    // For profiling the matcher alone: MAMORI_BENCH_REPEAT=N runs the ledger scan N extra times first.
    let repeat: usize = std::env::var("MAMORI_BENCH_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    for _ in 0..repeat {
        let mut pf = 0usize;
        scan_profiles(&index, &devices, |p| pf += p.findings.len());
    }
    let (t, c0) = (Instant::now(), cpu_s());
    let known = |v: &str, p: &str| index.knows(v, p);
    let n_cand: usize = devices.iter().map(|d| normalise(d, Some(&known)).candidates.len()).sum();
    println!(
        "  of which normalising {} devices alone: {:.3} s wall, {:.2} s CPU ({n_cand} CPEs)",
        devices.len(),
        t.elapsed().as_secs_f64(),
        cpu_s() - c0
    );
    let (t, c0) = (Instant::now(), cpu_s());
    let mut pf = 0usize;
    let p = scan_profiles(&index, &devices, |p| pf += p.findings.len());
    println!(
        "match {} ledger devices (scan_profiles, per-profile results): {:.3} s wall, {:.2} s CPU, {} profiles, {} profile findings",
        devices.len(),
        t.elapsed().as_secs_f64(),
        cpu_s() - c0,
        p.profiles_evaluated,
        pf
    );
    let (t, c0) = (Instant::now(), cpu_s());
    let mut by_conf = std::collections::BTreeMap::new();
    let mut n_findings = 0usize;
    let d = scan_devices(&index, &devices, |f| {
        n_findings += 1;
        *by_conf.entry(format!("{:?}", f.confidence)).or_insert(0usize) += 1;
    });
    let t_match = t.elapsed();
    let unmatched = d.normalised.iter().filter(|n| n.is_unmatched()).count();
    println!(
        "match {} ledger devices (scan_devices, findings streamed): {:.3} s wall, {:.2} s CPU, {} findings ({:.0}/device), {} distinct device profiles, {} devices without CPE",
        devices.len(),
        t_match.as_secs_f64(),
        cpu_s() - c0,
        n_findings,
        n_findings as f64 / devices.len().max(1) as f64,
        d.profiles_evaluated,
        unmatched
    );
    println!("  findings by confidence: {by_conf:?}");
    println!("  peak memory so far (VmHWM): {:.0} MiB", vm_hwm_mib());

    if std::env::args().any(|a| a == "noquery") {
        println!("peak memory (VmHWM): {:.0} MiB (after feed generation: {:.0} MiB)", vm_hwm_mib(), hwm_gen);
        return;
    }
    let queries: Vec<DeviceFacts> = std::fs::read_to_string(data_dir().join("cpe/cpes.txt"))
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| DeviceFacts {
            device_ref: format!("Q{i}"),
            cpe_overrides: vec![l.to_string()],
            ..Default::default()
        })
        .collect();
    println!("  resident before the CPE queries: {:.0} MiB", vm_rss_mib());
    let (t, c0) = (Instant::now(), cpu_s());
    let mut nq = 0usize;
    let mut max_rss = 0f64;
    let q = scan_devices(&index, &queries, |_| {
        nq += 1;
        if nq.is_multiple_of(200_000) {
            max_rss = max_rss.max(vm_rss_mib());
        }
    });
    println!(
        "match {} real CPE queries (scan_devices): {:.3} s wall, {:.2} s CPU, {} findings, {} distinct profiles",
        queries.len(),
        t.elapsed().as_secs_f64(),
        cpu_s() - c0,
        nq,
        q.profiles_evaluated
    );
    println!(
        "  peak memory so far (VmHWM): {:.0} MiB; resident during the queries up to {max_rss:.0} MiB",
        vm_hwm_mib()
    );
    if !std::env::args().any(|a| a == "materialize") {
        println!("peak memory (VmHWM): {:.0} MiB (after feed generation: {:.0} MiB)", vm_hwm_mib(), hwm_gen);
        println!("(run with `materialize` to also keep every finding of the ledger in one sorted Vec)");
        return;
    }
    let (t, c0) = (Instant::now(), cpu_s());
    let full = diagnose(&index, &devices);
    println!(
        "diagnose {} ledger devices (all findings kept in a sorted Vec): {:.3} s wall, {:.2} s CPU, {} findings",
        devices.len(),
        t.elapsed().as_secs_f64(),
        cpu_s() - c0,
        full.findings.len()
    );
    println!("peak memory (VmHWM): {:.0} MiB (after feed generation: {:.0} MiB)", vm_hwm_mib(), hwm_gen);
}
