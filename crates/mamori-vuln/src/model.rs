//! Plain serde record types: what the importers return and what the store persists.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One CVE from NVD (CVE API 2.0 schema), reduced to what diagnosis needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// NVD `lastModified` (ISO 8601 without zone, as NVD writes it). Newer wins on merge.
    pub last_modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// English description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// At most one score per CVSS version (NVD's Primary one when present).
    #[serde(default)]
    pub cvss: Vec<CvssScore>,
    #[serde(default)]
    pub configurations: Vec<Configuration>,
    /// NVD's copy of the KEV date added, when NVD lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cisa_exploit_add: Option<String>,
}

impl CveRecord {
    /// Rejected CVEs are kept for bookkeeping but never matched.
    pub fn is_rejected(&self) -> bool {
        self.status.as_deref() == Some("Rejected")
    }

    /// The CVSS score used for priority: v3.1, else v3.0, else v4.0, else v2.
    pub fn primary_cvss(&self) -> Option<&CvssScore> {
        ["3.1", "3.0", "4.0", "2.0"].iter().find_map(|v| self.cvss.iter().find(|c| &*c.version == *v))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// "4.0", "3.1", "3.0" or "2.0".
    pub version: Box<str>,
    pub base_score: f32,
    /// NONE / LOW / MEDIUM / HIGH / CRITICAL (as NVD writes it).
    pub severity: Box<str>,
    pub vector: Box<str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    Or,
    And,
}

/// One NVD configuration: nodes combined by `operator` (OR when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub operator: Operator,
    #[serde(default)]
    pub negate: bool,
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub operator: Operator,
    #[serde(default)]
    pub negate: bool,
    pub cpe_match: Vec<CpeMatch>,
}

/// One `cpeMatch` entry, kept small: 400k CVEs carry millions of these. Identical criteria strings
/// from one file share one allocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpeMatch {
    pub vulnerable: bool,
    /// CPE 2.3 formatted string as NVD gives it.
    pub criteria: Arc<str>,
    /// versionStart/End bounds, when NVD gives a range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<VersionBounds>,
}

/// NVD's versionStartIncluding / versionStartExcluding / versionEndIncluding / versionEndExcluding,
/// packed into one allocation (they are millions); serialised as a plain object of the four fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionBounds(Box<str>);

const SEP: char = '\u{1f}';

impl VersionBounds {
    /// None when all four bounds are absent. A bound containing U+001F cannot be stored.
    pub fn new(si: Option<&str>, se: Option<&str>, ei: Option<&str>, ee: Option<&str>) -> Option<VersionBounds> {
        let parts = [si, se, ei, ee];
        if parts.iter().all(Option::is_none) || parts.iter().flatten().any(|p| p.contains(SEP)) {
            return None;
        }
        // "-" marks an absent bound inside the packed text ("" is a present, empty bound).
        let enc: Vec<String> = parts.iter().map(|p| p.map(|v| format!("+{v}")).unwrap_or_else(|| "-".into())).collect();
        Some(VersionBounds(enc.join(&SEP.to_string()).into_boxed_str()))
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.0.split(SEP).nth(i).and_then(|p| p.strip_prefix('+'))
    }
    pub fn start_including(&self) -> Option<&str> {
        self.get(0)
    }
    pub fn start_excluding(&self) -> Option<&str> {
        self.get(1)
    }
    pub fn end_including(&self) -> Option<&str> {
        self.get(2)
    }
    pub fn end_excluding(&self) -> Option<&str> {
        self.get(3)
    }
}

#[derive(Serialize, Deserialize)]
struct BoundsRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_excluding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_excluding: Option<String>,
}

impl Serialize for VersionBounds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BoundsRepr {
            start_including: self.start_including().map(str::to_string),
            start_excluding: self.start_excluding().map(str::to_string),
            end_including: self.end_including().map(str::to_string),
            end_excluding: self.end_excluding().map(str::to_string),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for VersionBounds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = BoundsRepr::deserialize(d)?;
        VersionBounds::new(
            r.start_including.as_deref(),
            r.start_excluding.as_deref(),
            r.end_including.as_deref(),
            r.end_excluding.as_deref(),
        )
        .ok_or_else(|| serde::de::Error::custom("a version range needs at least one bound and no U+001F"))
    }
}

impl CpeMatch {
    pub fn has_range(&self) -> bool {
        self.range.is_some()
    }
    pub fn start_including(&self) -> Option<&str> {
        self.range.as_ref().and_then(|r| r.start_including())
    }
    pub fn start_excluding(&self) -> Option<&str> {
        self.range.as_ref().and_then(|r| r.start_excluding())
    }
    pub fn end_including(&self) -> Option<&str> {
        self.range.as_ref().and_then(|r| r.end_including())
    }
    pub fn end_excluding(&self) -> Option<&str> {
        self.range.as_ref().and_then(|r| r.end_excluding())
    }
}

/// One entry of the CISA Known Exploited Vulnerabilities catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve_id: String,
    pub vendor_project: String,
    pub product: String,
    pub vulnerability_name: String,
    pub date_added: String,
    pub short_description: String,
    pub required_action: String,
    pub due_date: String,
    /// "Known" or "Unknown".
    pub known_ransomware_campaign_use: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub cwes: Vec<String>,
}

impl KevEntry {
    pub fn ransomware_known(&self) -> bool {
        self.known_ransomware_campaign_use.eq_ignore_ascii_case("known")
    }
}

/// A whole KEV catalog file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KevCatalog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_released: Option<String>,
    pub entries: Vec<KevEntry>,
}

/// One JVN iPedia entry (VULDEF), keeping the Japanese text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JvnRecord {
    /// e.g. "JVNDB-2021-005429".
    pub jvndb_id: String,
    /// Japanese title.
    pub title: String,
    /// Japanese overview (advisory text).
    #[serde(default)]
    pub overview: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub solution: String,
    #[serde(default)]
    pub affected: Vec<JvnAffected>,
    /// Related CVE ids (deduplicated, in document order).
    #[serde(default)]
    pub cve_ids: Vec<String>,
    #[serde(default)]
    pub cvss: Vec<CvssScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_first_published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_public: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JvnAffected {
    /// Vendor name as JVN writes it (often Japanese).
    pub vendor_name: String,
    pub product_name: String,
    /// CPE 2.2 URI without version, when JVN gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// Free-text version statements ("5.16.3 未満", "1.05およびそれ以前", "7.7").
    #[serde(default)]
    pub versions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_bounds_round_trip() {
        let b = VersionBounds::new(Some("6.0.0"), None, None, Some("6.0.5")).unwrap();
        assert_eq!(
            (b.start_including(), b.start_excluding(), b.end_including(), b.end_excluding()),
            (Some("6.0.0"), None, None, Some("6.0.5"))
        );
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, r#"{"start_including":"6.0.0","end_excluding":"6.0.5"}"#);
        assert_eq!(serde_json::from_str::<VersionBounds>(&json).unwrap(), b);
        assert!(VersionBounds::new(None, None, None, None).is_none());
        assert!(VersionBounds::new(Some("1\u{1f}2"), None, None, None).is_none());
        let empty = VersionBounds::new(Some(""), None, None, None).unwrap();
        assert_eq!(empty.start_including(), Some(""));
    }
}
