//! The merged vulnerability data: NVD CVEs, KEV entries and JVN records.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{CveRecord, JvnRecord, KevCatalog, KevEntry};
use crate::nvd::NvdFile;

/// One imported file, ready to merge.
#[derive(Clone, Debug)]
pub enum ImportBatch {
    Nvd(NvdFile),
    Kev(KevCatalog),
    Jvn(Vec<JvnRecord>),
}

/// The kind of a feed file, recognised by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Nvd,
    Kev,
    Jvn,
}

/// Recognises a file by its first 64 KiB: NVD CVE API 2.0 JSON (plain or gzip), CISA KEV (JSON
/// or CSV), JVN iPedia VULDEF XML.
pub fn detect(path: &std::path::Path) -> Result<FileKind, crate::VulnError> {
    use std::io::Read;
    let mut head = vec![0u8; 64 * 1024];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).map_err(|e| crate::VulnError::io(path, e))?;
    head.truncate(n);
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(FileKind::Nvd);
    }
    match first {
        Some(b'<') => Ok(FileKind::Jvn),
        Some(b'{') if has(b"\"cveID\"") || has(b"\"catalogVersion\"") => Ok(FileKind::Kev),
        Some(b'{') => Ok(FileKind::Nvd),
        Some(_) if has(b"cveID") => Ok(FileKind::Kev),
        _ => Err(crate::VulnError::parse(
            &path.display().to_string(),
            "0",
            ("NVD・KEV・JVN のどの形式でもありません", "this is neither NVD, KEV nor JVN data"),
            (
                "NVD の JSON(.gz)、CISA KEV の JSON/CSV、JVN iPedia の XML を指定してください",
                "Give an NVD JSON(.gz), a CISA KEV JSON/CSV or a JVN iPedia XML file",
            ),
        )),
    }
}

/// Reads one file of any supported kind, recognised by its content ([`detect`]). The whole file
/// is validated first; on any error nothing is returned, so the caller's data stays as it was.
pub fn read_any(path: &std::path::Path) -> Result<ImportBatch, crate::VulnError> {
    Ok(match detect(path)? {
        FileKind::Nvd => ImportBatch::Nvd(crate::nvd::read_nvd_file(path)?),
        FileKind::Jvn => ImportBatch::Jvn(crate::jvn::read_jvn_file(path)?),
        FileKind::Kev => ImportBatch::Kev(crate::kev::read_kev_file(path)?),
    })
}

/// What a merge changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records older than what is already held (kept the held one).
    pub older_ignored: usize,
}

/// All vulnerability data, keyed by id. Serialisable as a whole or record by record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VulnDb {
    pub cves: HashMap<String, CveRecord>,
    pub kev: HashMap<String, KevEntry>,
    pub jvn: HashMap<String, JvnRecord>,
}

fn merge<T: PartialEq>(
    map: &mut HashMap<String, T>,
    key: String,
    rec: T,
    stamp: impl Fn(&T) -> Option<String>,
    report: &mut ApplyReport,
) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, rec);
            report.added += 1;
        }
        Some(old) => {
            let (o, n) = (stamp(old), stamp(&rec));
            if n < o {
                report.older_ignored += 1;
            } else if *old == rec {
                report.unchanged += 1;
            } else {
                *old = rec;
                report.updated += 1;
            }
        }
    }
}

impl VulnDb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges one imported file. Idempotent: applying the same batch again reports everything unchanged.
    /// A record with an older `lastModified` (JVN: `DateLastUpdated`) than the held one is ignored.
    pub fn apply(&mut self, batch: ImportBatch) -> ApplyReport {
        let mut r = ApplyReport::default();
        match batch {
            ImportBatch::Nvd(f) => {
                // Grow once: repeated doubling of a 400k-entry table costs a transient copy each time.
                self.cves.reserve(f.records.len());
                for rec in f.records {
                    merge(&mut self.cves, rec.id.clone(), rec, |c| Some(c.last_modified.clone()), &mut r);
                }
            }
            ImportBatch::Kev(cat) => {
                for e in cat.entries {
                    merge(&mut self.kev, e.cve_id.clone(), e, |_| None, &mut r);
                }
            }
            ImportBatch::Jvn(recs) => {
                for rec in recs {
                    merge(&mut self.jvn, rec.jvndb_id.clone(), rec, |j| j.date_last_updated.clone(), &mut r);
                }
            }
        }
        r
    }

    /// Japanese title of a JVN entry for a CVE, if JVN has one.
    pub fn jvn_for_cve(&self, cve_id: &str) -> Option<&JvnRecord> {
        self.jvn.values().find(|j| j.cve_ids.iter().any(|c| c == cve_id))
    }
}
