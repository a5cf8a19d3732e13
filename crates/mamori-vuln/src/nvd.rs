//! NVD CVE API 2.0 JSON importer: yearly/modified feed files (.json, .json.gz) and single records.
//!
//! The `vulnerabilities` array is streamed element by element, so a 400k-CVE feed never exists
//! as a JSON tree in memory. The whole file is validated before anything is returned.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{TODO_REFETCH, VulnError};
use crate::model::*;

/// The result of reading one NVD file.
#[derive(Clone, Debug, PartialEq)]
pub struct NvdFile {
    /// File name (for messages and import logs).
    pub source: String,
    /// Feed `timestamp`, when the file is a feed.
    pub timestamp: Option<String>,
    pub records: Vec<CveRecord>,
}

/// Reads an NVD file (`.json` or gzip-compressed; detected by content, not by name).
pub fn read_nvd_file(path: &Path) -> Result<NvdFile, VulnError> {
    let f = std::fs::File::open(path).map_err(|e| VulnError::io(path, e))?;
    let name = path.display().to_string();
    parse_nvd(f, &name)
}

/// Parses NVD JSON (plain or gzip) from any reader. `name` is used in error messages.
pub fn parse_nvd<R: Read>(reader: R, name: &str) -> Result<NvdFile, VulnError> {
    let mut records = Vec::new();
    // Identical criteria strings share one allocation in the records returned.
    let end = stream(reader, name, true, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok(NvdFile { source: name.to_string(), timestamp: end.timestamp, records })
}

/// What streaming an NVD file tells at its end.
#[derive(Clone, Debug, PartialEq)]
pub struct NvdStreamEnd {
    /// Feed `timestamp`, when the file is a feed.
    pub timestamp: Option<String>,
    pub records: usize,
}

/// Streams the records of an NVD file (plain or gzip) to `each` as they are parsed and validated,
/// in file order; nothing of the file is held. The whole file is still checked: an error — in the
/// file (corrupt, truncated, wrong counts …) or returned by `each` — can come after many records
/// were handed over, so the caller must be able to discard them (e.g. roll back a transaction).
pub fn stream_nvd_file(
    path: &Path,
    each: &mut dyn FnMut(CveRecord) -> Result<(), String>,
) -> Result<NvdStreamEnd, VulnError> {
    let f = std::fs::File::open(path).map_err(|e| VulnError::io(path, e))?;
    stream(f, &path.display().to_string(), false, each)
}

fn stream<R: Read>(
    reader: R,
    name: &str,
    intern: bool,
    each: &mut dyn FnMut(CveRecord) -> Result<(), String>,
) -> Result<NvdStreamEnd, VulnError> {
    let counter = Rc::new(Cell::new(0u64));
    let mut raw = BufReader::with_capacity(1 << 16, Counting { inner: reader, count: counter.clone() });
    let head = raw.fill_buf().map_err(|e| VulnError::Io { file: name.to_string(), source: e })?;
    let gz = head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b;
    if head.is_empty() {
        return Err(VulnError::parse(name, "0", ("ファイルが空です", "the file is empty"), TODO_REFETCH));
    }
    let top = TopVisitor { sink: each, intern };
    let result = if gz {
        let dec = flate2::read::MultiGzDecoder::new(raw);
        parse_json(BufReader::with_capacity(1 << 16, dec), top)
    } else {
        parse_json(raw, top)
    };
    result.map_err(|e| json_error(name, gz, counter.get(), e))
}

/// Parses an in-memory NVD file (plain or gzip).
pub fn parse_nvd_bytes(bytes: &[u8], name: &str) -> Result<NvdFile, VulnError> {
    parse_nvd(bytes, name)
}

struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

fn json_error(name: &str, gz: bool, compressed_read: u64, e: serde_json::Error) -> VulnError {
    use serde_json::error::Category;
    let pos = if gz {
        format!("展開後 / decompressed: line {}, column {}", e.line(), e.column())
    } else {
        format!("line {}, column {}", e.line(), e.column())
    };
    match e.classify() {
        Category::Io => VulnError::parse_owned(
            name,
            format!("圧縮データ約 {compressed_read} バイト目 / near compressed byte {compressed_read}"),
            format!("gzip データが壊れているか途中で切れています（{e}）"),
            format!("the gzip data is corrupt or truncated ({e})"),
            TODO_REFETCH,
        ),
        Category::Eof => VulnError::parse_owned(
            name,
            pos,
            "ファイルが途中で終わっています（切り詰められたファイル）".to_string(),
            "the file ends before the JSON is complete (truncated file)".to_string(),
            TODO_REFETCH,
        ),
        Category::Syntax => VulnError::parse_owned(
            name,
            pos,
            format!("JSON の構文が壊れています（{e}）"),
            format!("the JSON syntax is broken ({e})"),
            TODO_REFETCH,
        ),
        Category::Data => VulnError::parse_owned(
            name,
            pos,
            format!("NVD CVE API 2.0 の形式ではありません（{e}）"),
            format!("this is not NVD CVE API 2.0 data ({e})"),
            (
                "NVD の CVE API 2.0 形式の JSON（年別フィード nvdcve-2.0-*.json(.gz) または CVE 1件のレコード）を指定してください",
                "Give an NVD CVE API 2.0 JSON file (yearly feed nvdcve-2.0-*.json(.gz) or a single CVE record)",
            ),
        ),
    }
}

fn parse_json<R: Read>(reader: R, top: TopVisitor) -> Result<NvdStreamEnd, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let file = de.deserialize_map(top)?;
    de.end()?;
    Ok(file)
}

type Sink<'s> = &'s mut dyn FnMut(CveRecord) -> Result<(), String>;

struct TopVisitor<'s> {
    sink: Sink<'s>,
    intern: bool,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = NvdStreamEnd;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an NVD CVE API 2.0 object (feed with `vulnerabilities`, or one CVE record)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NvdStreamEnd, A::Error> {
        let TopVisitor { sink, intern } = self;
        let mut records: Option<usize> = None;
        let mut other = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "vulnerabilities" {
                if records.is_some() {
                    return Err(de::Error::custom("duplicate `vulnerabilities`"));
                }
                records = Some(map.next_value_seed(VulnSeq { sink: &mut *sink, intern })?);
            } else {
                let v: serde_json::Value = map.next_value()?;
                other.insert(key, v);
            }
        }
        let timestamp = other.get("timestamp").and_then(|v| v.as_str()).map(str::to_string);
        match records {
            Some(records) => {
                // A feed states how many records it carries; a mismatch means a cut or spliced file.
                for key in ["resultsPerPage", "totalResults"] {
                    if let Some(n) = other.get(key).and_then(|v| v.as_u64()) {
                        if key == "resultsPerPage" && n != records as u64 {
                            return Err(de::Error::custom(format!(
                                "resultsPerPage says {n} records but the file holds {records}"
                            )));
                        }
                    }
                }
                Ok(NvdStreamEnd { timestamp, records })
            }
            None => {
                let raw: RawCve = if let Some(cve) = other.remove("cve") {
                    RawCve::deserialize(cve).map_err(de::Error::custom)?
                } else if other.contains_key("id") {
                    RawCve::deserialize(serde_json::Value::Object(other)).map_err(de::Error::custom)?
                } else {
                    return Err(de::Error::custom("no `vulnerabilities` array, `cve` object or CVE `id` found"));
                };
                let rec = raw.into_record(&mut Interner::default()).map_err(de::Error::custom)?;
                sink(rec).map_err(de::Error::custom)?;
                Ok(NvdStreamEnd { timestamp, records: 1 })
            }
        }
    }
}

struct VulnSeq<'s> {
    sink: Sink<'s>,
    intern: bool,
}

impl<'de> DeserializeSeed<'de> for VulnSeq<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for VulnSeq<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of {\"cve\": {...}} objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0usize;
        // Streaming callers do not keep the records: sharing their strings would only hold them.
        let mut interner = Interner { enabled: self.intern, ..Default::default() };
        while let Some(w) = seq.next_element::<RawWrapper>()? {
            n += 1;
            let rec = w.cve.into_record(&mut interner).map_err(|e| de::Error::custom(format!("record #{n}: {e}")))?;
            (self.sink)(rec).map_err(|e| de::Error::custom(format!("record #{n}: {e}")))?;
        }
        Ok(n)
    }
}

#[derive(Deserialize)]
struct RawWrapper {
    cve: RawCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<RawDesc>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    configurations: Vec<RawConfig>,
    #[serde(default)]
    cisa_exploit_add: Option<String>,
}

#[derive(Deserialize)]
struct RawDesc {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetrics {
    #[serde(default)]
    cvss_metric_v40: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v31: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v30: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v2: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    cvss_data: RawCvssData,
    /// v2 keeps severity outside cvssData.
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    version: String,
    #[serde(default)]
    vector_string: String,
    base_score: f32,
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    negate: Option<bool>,
    #[serde(default)]
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    negate: Option<bool>,
    #[serde(default)]
    cpe_match: Vec<RawMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatch {
    vulnerable: bool,
    criteria: String,
    #[serde(default)]
    version_start_including: Option<String>,
    #[serde(default)]
    version_start_excluding: Option<String>,
    #[serde(default)]
    version_end_including: Option<String>,
    #[serde(default)]
    version_end_excluding: Option<String>,
}

fn operator(op: Option<&str>) -> Result<Operator, String> {
    match op {
        None | Some("OR") => Ok(Operator::Or),
        Some("AND") => Ok(Operator::And),
        Some(o) => Err(format!("unknown operator {o:?}")),
    }
}

fn valid_cve_id(id: &str) -> bool {
    let mut p = id.split('-');
    p.next() == Some("CVE")
        && p.next().is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && p.next().is_some_and(|n| n.len() >= 4 && n.len() <= 12 && n.bytes().all(|b| b.is_ascii_digit()))
        && p.next().is_none()
}

/// Shares identical criteria strings within one file.
#[derive(Default)]
struct Interner {
    set: std::collections::HashSet<Arc<str>>,
    enabled: bool,
}

impl Interner {
    fn get(&mut self, s: String) -> Arc<str> {
        if !self.enabled {
            return Arc::from(s);
        }
        if let Some(a) = self.set.get(s.as_str()) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }
}

impl RawCve {
    fn into_record(self, interner: &mut Interner) -> Result<CveRecord, String> {
        if !valid_cve_id(&self.id) {
            return Err(format!("invalid CVE id {:?}", self.id.chars().take(40).collect::<String>()));
        }
        let last_modified = self.last_modified.ok_or_else(|| format!("{} has no lastModified", self.id))?;
        let description = self.descriptions.into_iter().find(|d| d.lang == "en").map(|d| d.value);
        let mut cvss = Vec::with_capacity(2);
        for list in [
            self.metrics.cvss_metric_v40,
            self.metrics.cvss_metric_v31,
            self.metrics.cvss_metric_v30,
            self.metrics.cvss_metric_v2,
        ] {
            let chosen = list.iter().position(|m| m.kind.as_deref() == Some("Primary")).or(if list.is_empty() {
                None
            } else {
                Some(0)
            });
            if let Some(i) = chosen {
                let m = &list[i];
                if !(0.0..=10.0).contains(&m.cvss_data.base_score) {
                    return Err(format!("{}: CVSS base score {} out of 0–10", self.id, m.cvss_data.base_score));
                }
                cvss.push(CvssScore {
                    version: m.cvss_data.version.as_str().into(),
                    base_score: m.cvss_data.base_score,
                    severity: m
                        .cvss_data
                        .base_severity
                        .as_deref()
                        .or(m.base_severity.as_deref())
                        .unwrap_or_default()
                        .into(),
                    vector: m.cvss_data.vector_string.as_str().into(),
                });
            }
        }
        let mut configurations = Vec::with_capacity(self.configurations.len());
        for c in self.configurations {
            let mut nodes = Vec::with_capacity(c.nodes.len());
            for n in c.nodes {
                nodes.push(Node {
                    operator: operator(n.operator.as_deref()).map_err(|e| format!("{}: {e}", self.id))?,
                    negate: n.negate.unwrap_or(false),
                    // Collected into a fresh Vec: an in-place collect would keep the (4× larger) raw buffer.
                    cpe_match: n
                        .cpe_match
                        .into_iter()
                        .map(|m| {
                            let any = m.version_start_including.is_some()
                                || m.version_start_excluding.is_some()
                                || m.version_end_including.is_some()
                                || m.version_end_excluding.is_some();
                            let range = VersionBounds::new(
                                m.version_start_including.as_deref(),
                                m.version_start_excluding.as_deref(),
                                m.version_end_including.as_deref(),
                                m.version_end_excluding.as_deref(),
                            );
                            if any && range.is_none() {
                                return Err(format!("{}: a version bound contains a control character", self.id));
                            }
                            Ok(CpeMatch { vulnerable: m.vulnerable, criteria: interner.get(m.criteria), range })
                        })
                        .collect::<Result<Vec<_>, String>>()
                        .map(|mut v| {
                            v.shrink_to_fit();
                            v
                        })?,
                });
            }
            configurations.push(Configuration {
                operator: operator(c.operator.as_deref()).map_err(|e| format!("{}: {e}", self.id))?,
                negate: c.negate.unwrap_or(false),
                nodes,
            });
        }
        cvss.shrink_to_fit();
        Ok(CveRecord {
            id: self.id,
            published: self.published,
            last_modified,
            status: self.vuln_status,
            description,
            cvss,
            configurations,
            cisa_exploit_add: self.cisa_exploit_add,
        })
    }
}
