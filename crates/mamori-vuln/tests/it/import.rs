use std::io::Write;

use mamori_vuln::{ImportBatch, VulnDb, VulnError, jvn, kev, nvd};

use crate::common::{fixture, read};

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).unwrap();
    out
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn nvd_single_record_keeps_what_diagnosis_needs() {
    let f = nvd::read_nvd_file(&fixture("nvd/records/CVE-2024-55591.json")).unwrap();
    assert_eq!(f.records.len(), 1);
    let r = &f.records[0];
    assert_eq!(r.id, "CVE-2024-55591");
    assert_eq!(r.last_modified, "2025-10-24T12:54:28.963");
    let v3 = r.primary_cvss().unwrap();
    assert_eq!((&*v3.version, v3.base_score, &*v3.severity), ("3.1", 9.8, "CRITICAL"));
    assert!(r.description.as_deref().unwrap().contains("FortiOS version 7.0.0 through 7.0.16"));
    let m = &r.configurations[0].nodes[0].cpe_match;
    assert!(
        m.iter().any(
            |m| &*m.criteria == "cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*" && m.end_excluding() == Some("7.0.17")
        )
    );
}

#[test]
fn nvd_feed_gz_and_plain_give_the_same_records() {
    let gz = nvd::read_nvd_file(&fixture("nvd/nvdcve-2.0-2021.json.gz")).unwrap();
    let ids: Vec<_> = gz.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2021-3002", "CVE-2021-23814", "CVE-2021-44228"]);
    assert_eq!(gz.timestamp.as_deref(), Some("2025-06-25T03:01:03.1299776"));
    let plain = nvd::parse_nvd_bytes(&gunzip(&read("nvd/nvdcve-2.0-2021.json.gz")), "plain.json").unwrap();
    assert_eq!(plain.records, gz.records);
}

fn parse_err(e: VulnError) -> (String, String, String) {
    match e {
        VulnError::Parse { file, position, what_en, .. } => (file, position, what_en),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn truncated_nvd_json_is_rejected_with_file_and_position() {
    let plain = gunzip(&read("nvd/nvdcve-2.0-2021.json.gz"));
    // Cut like an interrupted download: the first two records are complete, the file is not.
    let cut = &plain[..plain.len() * 2 / 3];
    let e = nvd::parse_nvd_bytes(cut, "nvdcve-2.0-2021.json").unwrap_err();
    let msg = e.to_string();
    let (file, position, what) = parse_err(e);
    assert_eq!(file, "nvdcve-2.0-2021.json");
    assert!(position.starts_with("line "), "{position}");
    assert!(what.contains("truncated"), "{what}");
    assert!(msg.contains("途中で終わって") && msg.contains("取得し直して"), "{msg}");
    // The same cut inside gzip.
    let e = nvd::parse_nvd_bytes(&gzip(cut), "cut.json.gz").unwrap_err();
    assert!(parse_err(e).1.contains("decompressed"));
}

#[test]
fn bad_gzip_is_rejected() {
    let gz = read("nvd/nvdcve-2.0-2021.json.gz");
    // A gzip stream cut in the middle.
    let e = nvd::parse_nvd_bytes(&gz[..gz.len() / 2], "half.json.gz").unwrap_err();
    let (_, pos, what) = parse_err(e);
    assert!(what.contains("gzip") || what.contains("truncated"), "{what}");
    assert!(!pos.is_empty());
    // Bytes flipped inside the deflate data.
    let mut bad = gz.clone();
    for b in bad[40..60].iter_mut() {
        *b ^= 0x5a;
    }
    let e = nvd::parse_nvd_bytes(&bad, "flipped.json.gz").unwrap_err();
    assert!(matches!(e, VulnError::Parse { .. }), "{e}");
}

#[test]
fn nvd_other_json_is_rejected_as_not_nvd() {
    for (bytes, needle) in [
        (&b"{\"hello\": 1}"[..], "not NVD"),
        (&b"[1,2,3]"[..], "not NVD"),
        (&b"{\"resultsPerPage\": 3, \"vulnerabilities\": [{\"cve\": {\"id\": \"CVE-2021-0001\", \"lastModified\": \"2021-01-01T00:00:00\"}}]}"[..], "resultsPerPage"),
        (&b"{\"vulnerabilities\": []} trailing"[..], "syntax"),
        (&b""[..], "empty"),
    ] {
        let e = nvd::parse_nvd_bytes(bytes, "x.json").unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
}

#[test]
fn apply_is_idempotent_and_newer_wins() {
    let mut db = VulnDb::new();
    let feed = nvd::read_nvd_file(&fixture("nvd/nvdcve-2.0-2021.json.gz")).unwrap();
    let r1 = db.apply(ImportBatch::Nvd(feed.clone()));
    assert_eq!((r1.added, r1.updated, r1.unchanged), (3, 0, 0));
    let r2 = db.apply(ImportBatch::Nvd(feed));
    assert_eq!((r2.added, r2.updated, r2.unchanged, r2.older_ignored), (0, 0, 3, 0));
    // The "modified" file carries CVE-2021-3002 with a newer lastModified and CVE-2021-23814 with an older one.
    let held_23814 = db.cves["CVE-2021-23814"].clone();
    let m = nvd::read_nvd_file(&fixture("nvd/nvdcve-2.0-modified.json.gz")).unwrap();
    let r3 = db.apply(ImportBatch::Nvd(m.clone()));
    assert_eq!((r3.added, r3.updated, r3.unchanged, r3.older_ignored), (0, 1, 0, 1));
    assert_eq!(db.cves["CVE-2021-3002"].last_modified, "2026-01-01T00:00:00.000");
    assert_eq!(db.cves["CVE-2021-23814"], held_23814);
    let r4 = db.apply(ImportBatch::Nvd(m));
    assert_eq!((r4.added, r4.updated), (0, 0));
    // The whole db survives a JSON round trip (how the store may persist it).
    let json = serde_json::to_string(&db).unwrap();
    let back: VulnDb = serde_json::from_str(&json).unwrap();
    assert_eq!(back.cves, db.cves);
}

#[test]
fn kev_json_and_csv_agree() {
    let j = kev::read_kev_file(&fixture("kev/kev_subset.json")).unwrap();
    let c = kev::read_kev_file(&fixture("kev/kev_subset.csv")).unwrap();
    assert_eq!(j.entries.len(), 30);
    assert_eq!(j.entries, c.entries);
    let e = j.entries.iter().find(|e| e.cve_id == "CVE-2018-13379").unwrap();
    assert!(e.ransomware_known());
    let e = j.entries.iter().find(|e| e.cve_id == "CVE-2019-5591").unwrap();
    assert!(!e.ransomware_known());
    let mut db = VulnDb::new();
    assert_eq!(db.apply(ImportBatch::Kev(j.clone())).added, 30);
    assert_eq!(db.apply(ImportBatch::Kev(c)).unchanged, 30);
}

#[test]
fn truncated_kev_is_rejected() {
    let j = read("kev/kev_subset.json");
    let e = kev::parse_kev(&j[..j.len() - 100], "kev.json").unwrap_err();
    assert!(parse_err(e).2.contains("truncated"));
    let c = read("kev/kev_subset.csv");
    // Cut in the middle of a row: the last record has too few fields.
    let text = String::from_utf8(c).unwrap();
    let cut = &text[..text.len() - 300];
    let e = kev::parse_kev(cut.as_bytes(), "kev.csv").unwrap_err();
    assert!(e.to_string().contains("kev.csv"), "{e}");
}

#[test]
fn jvn_keeps_japanese_text_and_cves() {
    let recs = jvn::read_jvn_file(&fixture("jvn/jvndb_detail_2021.rdf")).unwrap();
    let r = recs.iter().find(|r| r.jvndb_id == "JVNDB-2021-005429").unwrap();
    assert_eq!(r.title, "Apache Log4j における任意のコードが実行可能な脆弱性");
    assert!(r.cve_ids.contains(&"CVE-2021-44228".to_string()));
    assert!(r.overview.contains("JNDI"));
    let a = &r.affected[0];
    assert_eq!(a.cpe.as_deref(), Some("cpe:/a:apache:log4j"));
    assert_eq!(a.versions[0], "2.13.0 から 2.15.0 より前のバージョン");
    assert_eq!(r.cvss.iter().find(|c| &*c.version == "3.0").unwrap().base_score, 10.0);

    let d = jvn::read_jvn_file(&fixture("jvn/getVulnDetailInfo_hnd_JVNDB-2021-002774.xml")).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].cve_ids, ["CVE-2021-36745"]);
    assert!(d[0].title.contains("ServerProtect"));
    assert_eq!(d[0].affected[0].versions.len(), 4);
    assert!(d[0].solution.contains("パッチを適用"));

    let feed = jvn::read_jvn_file(&fixture("jvn/dataFeed_jvndb_detail_hnd.xml")).unwrap();
    assert_eq!(feed.len(), 7);
    // Entity references are resolved ("Q&amp;A").
    assert!(d[0].affected.iter().all(|a| !a.vendor_name.contains("&amp;")));
}

#[test]
fn broken_jvn_is_rejected() {
    let x = read("jvn/jvndb_detail_2022.rdf");
    let e = jvn::parse_jvn(&x[..x.len() / 2], "jvndb_detail_2022.rdf").unwrap_err();
    let (file, _, what) = parse_err(e);
    assert_eq!(file, "jvndb_detail_2022.rdf");
    assert!(what.contains("ends early") || what.contains("broken"), "{what}");
    let ov = read("jvn/getVulnOverviewList_hnd.xml");
    let e = jvn::parse_jvn(&ov, "overview.xml").unwrap_err();
    assert!(e.to_string().contains("VULDEF"), "{e}");
    let e =
        jvn::parse_jvn(b"<VULDEF-Document><Vulinfo><VulinfoID>JVNDB-1</VulinfoID></Vulinfo></VULDEF-Document>", "x")
            .unwrap_err();
    assert!(e.to_string().contains("title"), "{e}");
}

#[test]
fn read_any_recognises_each_kind_by_content() {
    use mamori_vuln::read_any;
    let kind = |rel: &str| match read_any(&fixture(rel)).unwrap() {
        ImportBatch::Nvd(f) => format!("nvd:{}", f.records.len()),
        ImportBatch::Kev(k) => format!("kev:{}", k.entries.len()),
        ImportBatch::Jvn(j) => format!("jvn:{}", j.len()),
    };
    assert_eq!(kind("nvd/nvdcve-2.0-2021.json.gz"), "nvd:3");
    assert_eq!(kind("nvd/records/CVE-2019-19781.json"), "nvd:1");
    assert_eq!(kind("kev/kev_subset.json"), "kev:30");
    assert_eq!(kind("kev/kev_subset.csv"), "kev:30");
    assert_eq!(kind("jvn/jvndb_detail_2021.rdf"), "jvn:1");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "病院の資産台帳\n").unwrap();
    let e = read_any(&p).unwrap_err();
    assert!(e.to_string().contains("notes.txt") && e.to_string().contains("NVD"), "{e}");
    assert!(matches!(read_any(&dir.path().join("missing.json")), Err(VulnError::Io { .. })));
}
