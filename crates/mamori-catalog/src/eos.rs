//! End-of-support dates of products (サポート終了日), as catalog data with their source.

use chrono::NaiveDate;
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::{CatalogError, CatalogSource};

const FILE: &str = "eos/lifecycle.toml";

/// One product line and the date its vendor stops shipping security updates.
#[derive(Debug, Clone, Deserialize)]
pub struct EosEntry {
    pub name: String,
    pub patterns: Vec<String>,
    /// Release names (e.g. `23h2`) the entry is limited to; empty means every release.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Words that rule the entry out (e.g. "enterprise" for a Home/Pro date).
    #[serde(default)]
    pub excludes: Vec<String>,
    pub end_of_support: NaiveDate,
    pub source: String,
}

#[derive(Debug, Deserialize)]
struct File {
    edition: String,
    product: Vec<EosEntry>,
}

/// サポート終了日カタログ: finds the lifecycle entry for what a ledger says a device runs.
#[derive(Debug, Clone)]
pub struct EndOfSupportCatalog {
    pub edition: String,
    entries: Vec<EosEntry>,
}

impl EndOfSupportCatalog {
    pub fn load(src: &CatalogSource) -> Result<Self, CatalogError> {
        let file: File = src.read_toml(FILE)?;
        let mut entries = file.product;
        for e in &mut entries {
            if e.patterns.is_empty() {
                return Err(CatalogError::Invalid {
                    file: FILE.into(),
                    reason: format!("product {} has no pattern", e.name),
                });
            }
            e.patterns = e.patterns.iter().map(|p| normalize(p)).collect();
            e.versions = e.versions.iter().map(|v| normalize(v)).collect();
            e.excludes = e.excludes.iter().map(|v| normalize(v)).collect();
        }
        Ok(Self { edition: file.edition, entries })
    }

    pub fn entries(&self) -> &[EosEntry] {
        &self.entries
    }

    /// The entry for a product name and its version as written in a ledger ("Win8", "Windows Server 2012 R2",
    /// "FortiOS" + "6.0.4", "Windows 11" + "23H2"). The longest matching pattern wins; `None` when unknown.
    pub fn find(&self, product: &str, version: Option<&str>) -> Option<&EosEntry> {
        let p = normalize(product);
        if p.is_empty() {
            return None;
        }
        let v = version.map(normalize).unwrap_or_default();
        let joined = format!("{p}{v}");
        let mut best: Option<(&EosEntry, usize)> = None;
        for e in &self.entries {
            let version_ok = e.versions.is_empty()
                || e.versions.iter().any(|want| v.contains(want.as_str()) || p.contains(want.as_str()));
            if !version_ok || e.excludes.iter().any(|x| p.contains(x.as_str())) {
                continue;
            }
            for pat in &e.patterns {
                let hit = contains_bounded(&p, pat) || (!v.is_empty() && contains_bounded(&joined, pat));
                if hit && best.is_none_or(|(_, len)| pat.len() > len) {
                    best = Some((e, pat.len()));
                }
            }
        }
        best.map(|(e, _)| e)
    }
}

/// NFKC, lower case, no whitespace, "windows" → "win", "microsoft" dropped.
pub fn normalize(s: &str) -> String {
    let s: String = s.nfkc().collect::<String>().to_lowercase();
    let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '_').collect();
    s.replace("microsoft", "").replace("windows", "win")
}

/// `hay` contains `pat` at a place not directly followed by a digit (so "win1" never matches "win10").
fn contains_bounded(hay: &str, pat: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = hay[start..].find(pat) {
        let end = start + pos + pat.len();
        if !hay[end..].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return true;
        }
        start += pos + 1;
        while !hay.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> EndOfSupportCatalog {
        EndOfSupportCatalog::load(&CatalogSource::embedded()).unwrap()
    }

    #[test]
    fn manual_example_names_are_found() {
        let c = cat();
        assert_eq!(c.find("Win8", None).unwrap().name, "Windows 8");
        assert_eq!(c.find("Ｗｉｎ８．１", None).unwrap().name, "Windows 8.1");
        assert!(c.find("Win11", None).is_none(), "Windows 11 without a release is not guessed");
        assert_eq!(c.find("Windows 11 Enterprise", Some("24H2")).unwrap().name, "Windows 11 Enterprise/Education 24H2");
        assert_eq!(c.find("Windows 11 Pro", Some("24H2")).unwrap().name, "Windows 11 24H2 (Home/Pro)");
        assert_eq!(c.find("Windows 11 Pro", Some("23H2")).unwrap().name, "Windows 11 23H2 (Home/Pro)");
    }

    #[test]
    fn longest_pattern_wins_and_digits_bound() {
        let c = cat();
        assert_eq!(c.find("Windows Server 2012 R2 Standard", None).unwrap().name, "Windows Server 2012 R2");
        assert_eq!(c.find("Windows 10 Enterprise LTSC 2019", None).unwrap().name, "Windows 10 Enterprise LTSC 2019");
        assert_eq!(c.find("FortiOS", Some("6.0.4")).unwrap().name, "FortiOS 6.0");
        assert!(c.find("FortiOS", Some("7.2.8")).is_none());
        assert!(c.find("Windows Server 20125", None).is_none());
    }
}

impl mamori_model::findings::EosLookup for EndOfSupportCatalog {
    fn end_of_support(&self, product: &str, version: Option<&str>) -> Option<(String, NaiveDate, String)> {
        self.find(product, version).map(|e| (e.name.clone(), e.end_of_support, e.source.clone()))
    }
}
