//! JVN iPedia importer: VULDEF documents (jvndb_detail RDF feeds, MyJVN getVulnDetailInfo responses).

use std::path::Path;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::{TODO_REFETCH, VulnError};
use crate::model::{CvssScore, JvnAffected, JvnRecord};

const MAX_JVN_BYTES: u64 = 1 << 30;

/// Reads a JVN iPedia VULDEF file.
pub fn read_jvn_file(path: &Path) -> Result<Vec<JvnRecord>, VulnError> {
    let meta = std::fs::metadata(path).map_err(|e| VulnError::io(path, e))?;
    let name = path.display().to_string();
    if meta.len() > MAX_JVN_BYTES {
        return Err(VulnError::parse(&name, "0", ("ファイルが大きすぎます", "the file is too large"), TODO_REFETCH));
    }
    let bytes = std::fs::read(path).map_err(|e| VulnError::io(path, e))?;
    parse_jvn(&bytes, &name)
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

#[derive(Default)]
struct CvssAcc {
    version: String,
    severity: String,
    base: String,
    vector: String,
}

/// Parses a VULDEF document from memory. The whole document must be well formed.
pub fn parse_jvn(bytes: &[u8], name: &str) -> Result<Vec<JvnRecord>, VulnError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        VulnError::parse_owned(
            name,
            format!("byte {}", e.valid_up_to()),
            "UTF-8 として読めません".into(),
            "the file is not valid UTF-8".into(),
            TODO_REFETCH,
        )
    })?;
    let mut reader = Reader::from_str(text);
    let pos_of = |reader: &Reader<&[u8]>, p: u64| -> String {
        let p = (p as usize).min(text.len());
        let line = text.as_bytes()[..p].iter().filter(|b| **b == b'\n').count() + 1;
        let _ = reader;
        format!("byte {p}, line {line}")
    };
    let mut path: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut out: Vec<JvnRecord> = Vec::new();
    let mut cur: Option<JvnRecord> = None;
    let mut item: Option<JvnAffected> = None;
    let mut cvss: Option<CvssAcc> = None;
    let mut root_seen = false;
    loop {
        let ev = reader.read_event().map_err(|e| {
            VulnError::parse_owned(
                name,
                pos_of(&reader, reader.error_position()),
                format!("XML が壊れています（{e}）"),
                format!("the XML is broken ({e})"),
                TODO_REFETCH,
            )
        })?;
        match ev {
            Event::Start(e) => {
                let n = local(e.name().as_ref()).to_string();
                if path.is_empty() {
                    if n != "VULDEF-Document" {
                        return Err(VulnError::parse_owned(
                            name,
                            pos_of(&reader, reader.buffer_position()),
                            format!("JVN iPedia の VULDEF 文書ではありません（最上位要素 {n}）"),
                            format!("not a JVN iPedia VULDEF document (root element {n})"),
                            (
                                "jvndb_detail_*.rdf または MyJVN getVulnDetailInfo の応答を指定してください",
                                "Give a jvndb_detail_*.rdf feed or a MyJVN getVulnDetailInfo response",
                            ),
                        ));
                    }
                    root_seen = true;
                }
                match n.as_str() {
                    "Vulinfo" => cur = Some(JvnRecord::default()),
                    "AffectedItem" => item = Some(JvnAffected::default()),
                    "Cvss" => {
                        let mut acc = CvssAcc::default();
                        for a in e.attributes().flatten() {
                            if local(a.key.as_ref()) == "version" {
                                acc.version = a.value.to_string();
                            }
                        }
                        cvss = Some(acc);
                    }
                    _ => {}
                }
                path.push(n);
                buf.clear();
            }
            Event::Empty(e) => {
                let n = local(e.name().as_ref()).to_string();
                if n == "Status" {
                    let mut ret = String::new();
                    let mut msg = String::new();
                    for a in e.attributes().flatten() {
                        match local(a.key.as_ref()) {
                            "retCd" => ret = a.value.to_string(),
                            "errMsg" => msg = a.value.to_string(),
                            _ => {}
                        }
                    }
                    if !ret.is_empty() && ret != "0" {
                        return Err(VulnError::parse_owned(
                            name,
                            pos_of(&reader, reader.buffer_position()),
                            format!("MyJVN API がエラーを返しています（retCd={ret}: {msg}）"),
                            format!("the MyJVN API answered with an error (retCd={ret}: {msg})"),
                            ("正常な応答を取得し直してください", "Fetch a successful response again"),
                        ));
                    }
                }
                if path.is_empty() {
                    return Err(VulnError::parse(
                        name,
                        "0",
                        ("VULDEF 文書が空です", "the VULDEF document is empty"),
                        TODO_REFETCH,
                    ));
                }
            }
            Event::Text(t) => buf.push_str(&t.xml10_content()),
            Event::CData(t) => buf.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match &*r {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        _ => None,
                    },
                    Err(_) => None,
                };
                match c {
                    Some(c) => buf.push(c),
                    None => {
                        return Err(VulnError::parse_owned(
                            name,
                            pos_of(&reader, reader.buffer_position()),
                            format!("未知の実体参照 &{};", &*r),
                            format!("unknown entity reference &{};", &*r),
                            TODO_REFETCH,
                        ));
                    }
                }
            }
            Event::End(_) => {
                let n = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = buf.trim().to_string();
                buf.clear();
                if let Some(rec) = cur.as_mut() {
                    match (parent, n.as_str()) {
                        ("Vulinfo", "VulinfoID") => rec.jvndb_id = value,
                        ("VulinfoData", "Title") => rec.title = value,
                        ("VulinfoDescription", "Overview") => rec.overview = value,
                        ("VulinfoData", "DateFirstPublished") => rec.date_first_published = Some(value),
                        ("VulinfoData", "DateLastUpdated") => rec.date_last_updated = Some(value),
                        ("VulinfoData", "DatePublic") => rec.date_public = Some(value),
                        ("ImpactItem", "Description") => push_para(&mut rec.impact, &value),
                        ("SolutionItem", "Description") => push_para(&mut rec.solution, &value),
                        ("RelatedItem", "VulinfoID") => {
                            if is_cve_id(&value) && !rec.cve_ids.contains(&value) {
                                rec.cve_ids.push(value);
                            }
                        }
                        ("AffectedItem", field) => {
                            if let Some(it) = item.as_mut() {
                                match field {
                                    "Name" => it.vendor_name = value,
                                    "ProductName" => it.product_name = value,
                                    "Cpe" => it.cpe = Some(value).filter(|v| !v.is_empty()),
                                    "VersionNumber" => {
                                        if !value.is_empty() {
                                            it.versions.push(value)
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        ("Cvss", field) => {
                            if let Some(c) = cvss.as_mut() {
                                match field {
                                    "Severity" => c.severity = value,
                                    "Base" => c.base = value,
                                    "Vector" => c.vector = value,
                                    _ => {}
                                }
                            }
                        }
                        (_, "AffectedItem") => {
                            if let Some(it) = item.take() {
                                rec.affected.push(it);
                            }
                        }
                        (_, "Cvss") => {
                            if let Some(c) = cvss.take() {
                                if let Ok(score) = c.base.parse::<f32>() {
                                    if (0.0..=10.0).contains(&score) {
                                        rec.cvss.push(CvssScore {
                                            version: c.version.into(),
                                            base_score: score,
                                            severity: c.severity.to_uppercase().into(),
                                            vector: c.vector.into(),
                                        });
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if n == "Vulinfo" {
                    if let Some(mut rec) = cur.take() {
                        if rec.cve_ids.is_empty() {
                            // Some entries name their CVE only in the text ("(CWE-20, CVE-2021-44228)").
                            rec.cve_ids = cve_ids_in(&format!("{} {}", rec.title, rec.overview));
                        }
                        if !rec.jvndb_id.starts_with("JVNDB-") || rec.title.is_empty() {
                            return Err(VulnError::parse_owned(
                                name,
                                pos_of(&reader, reader.buffer_position()),
                                format!("Vulinfo に JVNDB 番号かタイトルがありません（{}）", rec.jvndb_id),
                                format!("a Vulinfo lacks its JVNDB id or title ({})", rec.jvndb_id),
                                TODO_REFETCH,
                            ));
                        }
                        out.push(rec);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() || !root_seen {
        return Err(VulnError::parse_owned(
            name,
            format!("byte {}", text.len()),
            format!("文書が途中で終わっています（閉じていない要素: {}）", path.join("/")),
            format!("the document ends early (unclosed elements: {})", path.join("/")),
            TODO_REFETCH,
        ));
    }
    Ok(out)
}

fn cve_ids_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("CVE-") {
        let cand: String = rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if is_cve_id(&cand) && !out.contains(&cand) {
            out.push(cand);
        }
        rest = &rest[i + 4..];
    }
    out
}

fn push_para(s: &mut String, v: &str) {
    if v.is_empty() {
        return;
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s.push_str(v);
}

fn is_cve_id(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with("CVE-")
        && b.len() >= 13
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..].iter().all(u8::is_ascii_digit)
}

/// A version constraint read from JVN's free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JvnVersionText {
    /// "X 未満", "X より前": below X.
    Below(String),
    /// "X 以前", "X およびそれ以前": up to and including X.
    UpTo(String),
    /// "A から B より前": from A, below B.
    FromBelow(String, String),
    /// A bare version: exactly that.
    Exactly(String),
}

/// Reads the constraint of one JVN `VersionNumber` text; None when it cannot be read honestly.
pub fn parse_jvn_version(text: &str) -> Option<JvnVersionText> {
    // Drop parenthesised notes such as "（CVE-2025-0354、CVE-2025-0355）".
    let mut t = text.to_string();
    for (open, close) in [('（', '）'), ('(', ')')] {
        while let (Some(a), Some(b)) = (t.find(open), t.rfind(close)) {
            if b <= a {
                break;
            }
            let note = &t[a..b + close.len_utf8()];
            if note.contains("CVE-") {
                t.replace_range(a..b + close.len_utf8(), "");
            } else {
                break;
            }
        }
    }
    let t = t.replace("バージョン", "").replace("ファームウェア", "").replace("Ver.", "").replace("ver.", "");
    let t = t.trim();
    let ver = |s: &str| -> Option<String> {
        let w = s.split_whitespace().last()?;
        let w = w.trim_start_matches(['v', 'V']);
        (w.chars().next()?.is_ascii_digit() && w.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)))
            .then(|| w.to_string())
    };
    for suffix in ["より前の", "より前", "未満"] {
        if let Some(head) = t
            .strip_suffix(suffix)
            .or_else(|| t.find(suffix).filter(|i| t[i + suffix.len()..].trim().is_empty()).map(|i| &t[..i]))
        {
            if let Some(i) = head.find("から") {
                return Some(JvnVersionText::FromBelow(ver(&head[..i])?, ver(&head[i + "から".len()..])?));
            }
            return Some(JvnVersionText::Below(ver(head)?));
        }
    }
    for suffix in ["およびそれ以前の", "およびそれ以前", "以前の", "以前"] {
        if let Some(head) = t.strip_suffix(suffix) {
            return Some(JvnVersionText::UpTo(ver(head)?));
        }
    }
    if !t.contains(' ') {
        return ver(t).map(JvnVersionText::Exactly);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use JvnVersionText::*;

    #[test]
    fn reads_free_text_versions() {
        assert_eq!(parse_jvn_version("5.16.3 未満"), Some(Below("5.16.3".into())));
        assert_eq!(parse_jvn_version("7.6.2より前のバージョン"), Some(Below("7.6.2".into())));
        assert_eq!(
            parse_jvn_version("2.13.0 から 2.15.0 より前のバージョン"),
            Some(FromBelow("2.13.0".into(), "2.15.0".into()))
        );
        assert_eq!(parse_jvn_version("ファームウェアバージョン 1.05およびそれ以前"), Some(UpTo("1.05".into())));
        assert_eq!(
            parse_jvn_version("Ver.1.2.4より前のバージョン（CVE-2025-0354、CVE-2025-0355）"),
            Some(Below("1.2.4".into()))
        );
        assert_eq!(parse_jvn_version("7.7"), Some(Exactly("7.7".into())));
        assert_eq!(parse_jvn_version("v6 R4 およびそれ以前のバージョン"), None);
        // A build qualifier cannot be compared honestly: left for manual review.
        assert_eq!(parse_jvn_version("for EMC Celerra 5.8 (Build 1577) 未満"), None);
    }
}
