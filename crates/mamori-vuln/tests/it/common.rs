use std::path::PathBuf;

use mamori_vuln::{DeviceFacts, ImportBatch, VulnDb, jvn, kev, nvd};

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// All fixture data merged: 30 NVD records + feed files, the KEV subset, the JVN documents.
pub fn full_db() -> VulnDb {
    let mut db = VulnDb::new();
    let mut recs: Vec<PathBuf> = std::fs::read_dir(fixture("nvd/records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    recs.sort();
    for p in recs {
        db.apply(ImportBatch::Nvd(nvd::read_nvd_file(&p).unwrap()));
    }
    db.apply(ImportBatch::Kev(kev::read_kev_file(&fixture("kev/kev_subset.json")).unwrap()));
    for f in [
        "jvndb_detail_2021.rdf",
        "jvndb_detail_2022.rdf",
        "jvndb_detail_2023.rdf",
        "dataFeed_jvndb_detail_hnd.xml",
        "getVulnDetailInfo_hnd_JVNDB-2021-002774.xml",
        "getVulnDetailInfo_hnd_JVNDB-2022-000097.xml",
    ] {
        db.apply(ImportBatch::Jvn(jvn::read_jvn_file(&fixture(&format!("jvn/{f}"))).unwrap()));
    }
    db
}

pub fn device(r: &str) -> DeviceFacts {
    DeviceFacts { device_ref: r.to_string(), ..Default::default() }
}
