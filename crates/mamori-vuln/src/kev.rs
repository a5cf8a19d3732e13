//! CISA Known Exploited Vulnerabilities catalog importer (JSON and CSV).

use std::path::Path;

use serde::Deserialize;

use crate::error::{TODO_REFETCH, VulnError};
use crate::model::{KevCatalog, KevEntry};

const MAX_KEV_BYTES: u64 = 256 << 20;

/// Reads a KEV catalog file, JSON or CSV (detected by content).
pub fn read_kev_file(path: &Path) -> Result<KevCatalog, VulnError> {
    let meta = std::fs::metadata(path).map_err(|e| VulnError::io(path, e))?;
    let name = path.display().to_string();
    if meta.len() > MAX_KEV_BYTES {
        return Err(VulnError::parse(
            &name,
            "0",
            ("KEV カタログとしては大きすぎます", "the file is far too large for a KEV catalog"),
            (
                "CISA の known_exploited_vulnerabilities.json / .csv を指定してください",
                "Give CISA's known_exploited_vulnerabilities.json or .csv",
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| VulnError::io(path, e))?;
    parse_kev(&bytes, &name)
}

/// Parses KEV JSON or CSV from memory.
pub fn parse_kev(bytes: &[u8], name: &str) -> Result<KevCatalog, VulnError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(VulnError::parse(name, "0", ("ファイルが空です", "the file is empty"), TODO_REFETCH)),
        Some(b'{') => parse_json(bytes, name),
        Some(_) => parse_csv(bytes, name),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    #[serde(default)]
    catalog_version: Option<String>,
    #[serde(default)]
    date_released: Option<String>,
    #[serde(default)]
    count: Option<u64>,
    vulnerabilities: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: String,
    short_description: String,
    required_action: String,
    due_date: String,
    #[serde(default)]
    known_ransomware_campaign_use: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    cwes: Vec<String>,
}

impl RawEntry {
    fn into_entry(self) -> KevEntry {
        KevEntry {
            cve_id: self.cve_id.trim().to_string(),
            vendor_project: self.vendor_project,
            product: self.product,
            vulnerability_name: self.vulnerability_name,
            date_added: self.date_added,
            short_description: self.short_description,
            required_action: self.required_action,
            due_date: self.due_date,
            known_ransomware_campaign_use: self.known_ransomware_campaign_use.unwrap_or_else(|| "Unknown".into()),
            notes: self.notes.unwrap_or_default(),
            cwes: self.cwes,
        }
    }
}

fn check_entry(e: &KevEntry, name: &str, pos: String) -> Result<(), VulnError> {
    let ok_id = e.cve_id.starts_with("CVE-") && e.cve_id.len() >= 13;
    let ok_date = chrono::NaiveDate::parse_from_str(&e.date_added, "%Y-%m-%d").is_ok();
    if !ok_id || !ok_date {
        return Err(VulnError::parse_owned(
            name,
            pos,
            format!("CVE 番号または登録日が不正です（{} / {}）", e.cve_id, e.date_added),
            format!("invalid CVE id or dateAdded ({} / {})", e.cve_id, e.date_added),
            TODO_REFETCH,
        ));
    }
    Ok(())
}

fn parse_json(bytes: &[u8], name: &str) -> Result<KevCatalog, VulnError> {
    let raw: RawCatalog = serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        let pos = format!("line {}, column {}", e.line(), e.column());
        match e.classify() {
            Category::Eof => VulnError::parse(
                name,
                pos,
                (
                    "ファイルが途中で終わっています（切り詰められたファイル）",
                    "the file ends before the JSON is complete (truncated file)",
                ),
                TODO_REFETCH,
            ),
            Category::Data => VulnError::parse_owned(
                name,
                pos,
                format!("CISA KEV カタログの形式ではありません（{e}）"),
                format!("this is not a CISA KEV catalog ({e})"),
                (
                    "CISA の known_exploited_vulnerabilities.json を指定してください",
                    "Give CISA's known_exploited_vulnerabilities.json",
                ),
            ),
            _ => VulnError::parse_owned(
                name,
                pos,
                format!("JSON の構文が壊れています（{e}）"),
                format!("the JSON syntax is broken ({e})"),
                TODO_REFETCH,
            ),
        }
    })?;
    if let Some(c) = raw.count {
        if c != raw.vulnerabilities.len() as u64 {
            return Err(VulnError::parse_owned(
                name,
                "count".into(),
                format!("count は {c} 件ですが、実際は {} 件です", raw.vulnerabilities.len()),
                format!("count says {c} entries but the file holds {}", raw.vulnerabilities.len()),
                TODO_REFETCH,
            ));
        }
    }
    let mut entries = Vec::with_capacity(raw.vulnerabilities.len());
    for (i, r) in raw.vulnerabilities.into_iter().enumerate() {
        let e = r.into_entry();
        check_entry(&e, name, format!("vulnerabilities[{i}]"))?;
        entries.push(e);
    }
    Ok(KevCatalog { catalog_version: raw.catalog_version, date_released: raw.date_released, entries })
}

fn parse_csv(bytes: &[u8], name: &str) -> Result<KevCatalog, VulnError> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let headers = rdr.headers().map_err(|e| csv_err(name, &e))?.clone();
    let col = |h: &str| headers.iter().position(|x| x.trim() == h);
    let need = [
        "cveID",
        "vendorProject",
        "product",
        "vulnerabilityName",
        "dateAdded",
        "shortDescription",
        "requiredAction",
        "dueDate",
    ];
    let mut idx = Vec::new();
    for h in need {
        match col(h) {
            Some(i) => idx.push(i),
            None => {
                return Err(VulnError::parse_owned(
                    name,
                    "line 1".into(),
                    format!("見出し行に {h} 列がありません"),
                    format!("the header row has no {h} column"),
                    (
                        "CISA の known_exploited_vulnerabilities.csv を指定してください",
                        "Give CISA's known_exploited_vulnerabilities.csv",
                    ),
                ));
            }
        }
    }
    let ransom = col("knownRansomwareCampaignUse");
    let notes = col("notes");
    let cwes = col("cwes");
    let mut entries = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(name, &e))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        let e = KevEntry {
            cve_id: get(idx[0]).trim().to_string(),
            vendor_project: get(idx[1]),
            product: get(idx[2]),
            vulnerability_name: get(idx[3]),
            date_added: get(idx[4]),
            short_description: get(idx[5]),
            required_action: get(idx[6]),
            due_date: get(idx[7]),
            known_ransomware_campaign_use: ransom
                .map(get)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Unknown".into()),
            notes: notes.map(get).unwrap_or_default(),
            cwes: cwes
                .map(get)
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        check_entry(&e, name, format!("line {line}"))?;
        entries.push(e);
    }
    Ok(KevCatalog { catalog_version: None, date_released: None, entries })
}

fn csv_err(name: &str, e: &csv::Error) -> VulnError {
    let pos = e.position().map(|p| format!("line {}", p.line())).unwrap_or_else(|| "?".into());
    VulnError::parse_owned(
        name,
        pos,
        format!("CSV として読めません（{e}）"),
        format!("cannot read it as CSV ({e})"),
        TODO_REFETCH,
    )
}
