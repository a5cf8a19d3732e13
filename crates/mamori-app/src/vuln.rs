//! Vulnerability diagnosis over the store: feeds, scans, findings and their lifecycle.
//!
//! - [`import_feeds`]: NVD / KEV / JVN files in one transaction, NVD files streamed record by record
//!   into it (a 400k-CVE feed is never held in memory); a bad file anywhere rolls everything back.
//!   Re-import is idempotent and incremental (added / updated / unchanged per file).
//! - [`scan`]: the facility's devices → CPEs (the normaliser, or a person's override) → only the feed
//!   records naming those products are loaded → the engine's matcher → findings merged with their
//!   lifecycle (a "fixed" finding that still matches is reopened, and the report says so).
//! - [`set_state`], [`set_cpe`]: triage and CPE overrides. [`evidence`]: checklist 2-(7), G-MIS q12.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use mamori_model::Facility;
use mamori_model::ledger::Device;
use mamori_store::Store;
use mamori_store::vuln::{
    CpeOverride, DeviceCpeRow, Feed, FeedCounts, FeedFile, FeedReader, FeedRecord, FeedStatus, FeedStream,
    FeedStreamEnd, FindingData, FindingFact, FindingFilter, FindingState, NewFinding, ScanDevice, ScanRow,
    StoredFinding, StreamOutcome,
};
use mamori_vuln::cpe::canonical_vendor_product;
use mamori_vuln::{
    Confidence, Cpe, CveRecord, DeviceFacts, FileKind, ImportBatch, JvnRecord, KevEntry, Normalised, PriorityTier,
    Profile, ProfileFinding, VulnDb, VulnError, VulnIndex,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Result;
use crate::evidence::{Evidence, EvidenceState, EvidenceTarget};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn file_sha256(path: &Path) -> std::result::Result<String, VulnError> {
    let mut f = std::fs::File::open(path).map_err(|e| VulnError::Io { file: path.display().to_string(), source: e })?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| VulnError::Io { file: path.display().to_string(), source: e })?;
    Ok(hex(&h.finalize()))
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn date_part(s: &str) -> String {
    s.chars().take(10).collect()
}

/// The store record of one NVD CVE.
fn nvd_record(r: &CveRecord) -> FeedRecord {
    let data = json(r);
    FeedRecord {
        id: r.id.clone(),
        stamp: Some(r.last_modified.clone()),
        digest: digest(&data),
        data,
        products: mamori_vuln::cve_products(r),
        cves: Vec::new(),
    }
}

/// Reads and validates one feed file (any kind, recognised by content) into store records.
pub fn read_feed_file(path: &Path) -> std::result::Result<FeedFile, VulnError> {
    let batch = mamori_vuln::read_any(path)?;
    let sha256 = file_sha256(path)?;
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(match batch {
        ImportBatch::Nvd(f) => {
            let data_as_of = f.records.iter().map(|r| r.last_modified.as_str()).max().map(date_part);
            let records = f.records.iter().map(nvd_record).collect();
            FeedFile { feed: Feed::Nvd, source, sha256, data_as_of, records }
        }
        ImportBatch::Kev(cat) => {
            let data_as_of = cat
                .date_released
                .as_deref()
                .map(date_part)
                .or_else(|| cat.entries.iter().map(|e| e.date_added.as_str()).max().map(date_part));
            let records = cat
                .entries
                .iter()
                .map(|e| {
                    let data = json(e);
                    FeedRecord {
                        id: e.cve_id.clone(),
                        stamp: None,
                        digest: digest(&data),
                        data,
                        products: Vec::new(),
                        cves: Vec::new(),
                    }
                })
                .collect();
            FeedFile { feed: Feed::Kev, source, sha256, data_as_of, records }
        }
        ImportBatch::Jvn(recs) => {
            let data_as_of = recs
                .iter()
                .filter_map(|r| r.date_last_updated.as_deref().or(r.date_first_published.as_deref()))
                .max()
                .map(date_part);
            let records = recs
                .iter()
                .map(|r| {
                    let data = json(r);
                    FeedRecord {
                        id: r.jvndb_id.clone(),
                        stamp: r.date_last_updated.clone(),
                        digest: digest(&data),
                        data,
                        products: mamori_vuln::jvn_products(r),
                        cves: r.cve_ids.clone(),
                    }
                })
                .collect();
            FeedFile { feed: Feed::Jvn, source, sha256, data_as_of, records }
        }
    })
}

/// One imported file, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FeedFileReport {
    pub file: String,
    pub feed: Feed,
    pub records: usize,
    pub counts: FeedCounts,
    pub data_as_of: Option<String>,
}

/// The result of an import: written, or refused with the reason of every bad file (nothing written).
#[derive(Debug, Serialize)]
pub enum ImportOutcome {
    Written(Vec<FeedFileReport>),
    Refused(Vec<String>),
}

/// The reader of one file for [`Store::vuln_import_streams`]: an NVD file is streamed record by
/// record (parsed, validated and handed over one at a time); KEV and JVN files, small, are read
/// whole first.
fn feed_stream(path: &Path, kind: FileKind) -> FeedStream {
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = path.to_path_buf();
    let feed = match kind {
        FileKind::Nvd => Feed::Nvd,
        FileKind::Kev => Feed::Kev,
        FileKind::Jvn => Feed::Jvn,
    };
    let read: FeedReader = match kind {
        FileKind::Nvd => Box::new(move |emit| {
            let sha256 = file_sha256(&path).map_err(|e| e.to_string())?;
            let mut newest: Option<String> = None;
            mamori_vuln::nvd::stream_nvd_file(&path, &mut |r| {
                if newest.as_deref().is_none_or(|n| n < r.last_modified.as_str()) {
                    newest = Some(r.last_modified.clone());
                }
                emit(nvd_record(&r))
            })
            .map_err(|e| e.to_string())?;
            Ok(FeedStreamEnd { sha256, data_as_of: newest.as_deref().map(date_part) })
        }),
        FileKind::Kev | FileKind::Jvn => Box::new(move |emit| {
            let f = read_feed_file(&path).map_err(|e| e.to_string())?;
            for r in f.records {
                emit(r)?;
            }
            Ok(FeedStreamEnd { sha256: f.sha256, data_as_of: f.data_as_of })
        }),
    };
    FeedStream { feed, source, read }
}

/// Imports the files in one transaction, NVD files streamed into it. If any file is bad, nothing is
/// written and every bad file's problem is returned (the files after the first bad one are still
/// read, not written).
pub async fn import_feeds(store: &Store, paths: &[PathBuf], by: &str) -> Result<ImportOutcome> {
    let mut streams = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        match mamori_vuln::detect(p) {
            Ok(kind) => streams.push(feed_stream(p, kind)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Ok(ImportOutcome::Refused(problems));
    }
    Ok(match store.vuln_import_streams(streams, by).await? {
        StreamOutcome::Refused(problems) => ImportOutcome::Refused(problems),
        StreamOutcome::Written(files) => ImportOutcome::Written(
            files
                .into_iter()
                .map(|f| FeedFileReport {
                    file: f.source,
                    feed: f.feed,
                    records: f.records,
                    counts: f.counts,
                    data_as_of: f.data_as_of,
                })
                .collect(),
        ),
    })
}

/// Days since the data of a feed, if known.
pub fn feed_age_days(s: &FeedStatus, today: NaiveDate) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s.data_as_of.as_deref()?, "%Y-%m-%d").ok()?;
    Some((today - d).num_days())
}

/// Feed data older than this is flagged as stale on the page and in the evidence.
pub const STALE_DAYS: i64 = 30;

// ------------------------------------------------------------------------------------------- devices

/// Words in a device's description / model that mark an external connection point (VPN gateway,
/// internet boundary, regional network, remote maintenance line).
const EXTERNAL_WORDS: &[&str] =
    &["vpn", "インターネット", "外部接続", "境界", "リモート", "地域医療連携", "remote", "internet", "gateway"];

/// Whether the ledger shows the device at an external connection point: a global IPv4 address, or
/// a description saying VPN / internet / boundary / remote maintenance / regional network.
pub fn at_external_point(d: &Device) -> bool {
    let public_ip = d
        .ip_addresses
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace() || c == '、')
        .filter_map(|s| s.trim().parse::<std::net::Ipv4Addr>().ok())
        .any(|ip| !(ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified()));
    let text = format!("{} {}", d.description, d.model).to_lowercase();
    public_ip || EXTERNAL_WORDS.iter().any(|w| text.contains(w))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['\n', ';', '；']).map(|x| x.trim().to_string()).collect()
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// What the ledger says about a device, for the normaliser.
pub fn device_facts(d: &Device, overrides: Option<&CpeOverride>) -> DeviceFacts {
    let names = split_list(&d.software);
    let versions = split_list(&d.software_version);
    let software = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, n)| (n.clone(), versions.get(i).and_then(|v| opt(v))))
        .collect();
    DeviceFacts {
        device_ref: d.asset_no.clone(),
        maker: opt(&d.maker),
        model: opt(&d.model),
        os: opt(&d.os),
        os_version: opt(&d.os_version),
        software,
        at_external_point: at_external_point(d),
        cpe_overrides: overrides.map(|o| o.cpes.clone()).unwrap_or_default(),
    }
}

/// Devices a scan looks at: every device not retired (廃棄).
fn scanned(d: &Device) -> bool {
    d.status.as_deref() != Some("retired")
}

// ------------------------------------------------------------------------------------------- scan

/// What a scan did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub devices: usize,
    /// Devices with no CPE at all.
    pub unmatched: usize,
    /// Devices on the review list (no CPE, unrecognised text or a note).
    pub review: usize,
    pub cves_loaded: usize,
    pub findings: usize,
    pub added: usize,
    /// Findings marked fixed that the rescan still matches: reopened.
    pub reopened: Vec<String>,
    /// Open findings the rescan no longer matches: closed as fixed.
    pub resolved: usize,
    pub millis: u128,
    /// Time to load the feed records of the devices' products from the store.
    pub load_millis: u128,
    /// Time to normalise and match.
    pub match_millis: u128,
}

fn corrupt(e: serde_json::Error) -> crate::AppError {
    crate::AppError::Store(mamori_store::StoreError::Corrupt(format!("vuln feed record: {e}")))
}

fn conf_str(c: Confidence) -> &'static str {
    match c {
        Confidence::Exact => "exact",
        Confidence::Range => "range",
        Confidence::Jvn => "jvn",
        Confidence::VendorProductOnly => "vendor_product_only",
        Confidence::PlatformUnknown => "platform_unknown",
        Confidence::NeedsManualReview => "needs_manual_review",
    }
}

/// (Japanese, English) label of a stored confidence.
pub fn confidence_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "exact" => ("版数一致", "exact version"),
        "range" => ("版数範囲内", "in version range"),
        "jvn" => ("JVN の版数記述", "JVN version text"),
        "vendor_product_only" => ("製品名のみ一致", "product only"),
        "platform_unknown" => ("動作環境不明", "platform unknown"),
        _ => ("要手動確認", "needs manual review"),
    }
}

fn tier_str(t: PriorityTier) -> &'static str {
    match t {
        PriorityTier::KevRansomware => "kev_ransomware",
        PriorityTier::Kev => "kev",
        PriorityTier::ExternalPoint => "external_point",
        PriorityTier::Cvss => "cvss",
    }
}

/// (Japanese, English) label of a stored priority tier.
pub fn tier_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "kev_ransomware" => ("KEV・ランサムウェア悪用", "KEV, used by ransomware"),
        "kev" => ("KEV（悪用確認済み）", "KEV (exploited)"),
        "external_point" => ("外部接続点の機器", "device at an external point"),
        _ => ("CVSS", "CVSS"),
    }
}

/// Whether a stored confidence says the version really is affected (not a guess to review).
pub fn is_confirmed(confidence: &str) -> bool {
    matches!(confidence, "exact" | "range" | "jvn")
}

/// The profiles of a scan prepared for the store: per profile its findings (one per CVE, the
/// first the matcher gave), each with its stored fact made once per distinct engine finding, and
/// the digest of the list.
struct StoredProfiles {
    profiles: Vec<Vec<(Arc<ProfileFinding>, i64, Arc<FindingFact>)>>,
    digests: Vec<String>,
    /// Profile of each device (None: no CPE, no finding).
    of_device: Vec<Option<usize>>,
}

impl StoredProfiles {
    fn new(profiles: Vec<Profile>, devices: usize) -> Self {
        let mut facts: HashMap<usize, (i64, Arc<FindingFact>)> = HashMap::new();
        let mut of_device = vec![None; devices];
        let mut out = Vec::with_capacity(profiles.len());
        let mut digests = Vec::with_capacity(profiles.len());
        for (pi, p) in profiles.into_iter().enumerate() {
            for &d in &p.devices {
                if let Some(slot) = of_device.get_mut(d) {
                    *slot = Some(pi);
                }
            }
            let mut cves: HashSet<Arc<str>> = HashSet::with_capacity(p.findings.len());
            let mut list = Vec::with_capacity(p.findings.len());
            for h in p.findings {
                if !cves.insert(h.cve_id.clone()) {
                    continue;
                }
                let (id, fact) = facts
                    .entry(Arc::as_ptr(&h) as usize)
                    .or_insert_with(|| {
                        let fact = FindingFact {
                            cve_id: h.cve_id.to_string(),
                            jvn_id: h.jvn_id.as_deref().map(str::to_string),
                            title_ja: h.title.as_deref().map(str::to_string),
                            fixed_version: h.fixed.as_deref().map(str::to_string),
                            matched_cpe: h.matched.to_string(),
                            criterion: h.criterion.to_string(),
                            reason: h.reason.to_string(),
                        };
                        (fact.id(), Arc::new(fact))
                    })
                    .clone();
                list.push((h, id, fact));
            }
            // The digest covers everything a device's rows are made of, apart from the device's
            // external-point flag (added per device).
            let mut order: Vec<usize> = (0..list.len()).collect();
            order.sort_by(|&a, &b| list[a].0.cve_id.cmp(&list[b].0.cve_id));
            let mut h = Sha256::new();
            for i in order {
                let (f, id, _) = &list[i];
                h.update(id.to_le_bytes());
                h.update([conf_str(f.conf).len() as u8, f.kev_tier.map_or(0, |t| t as u8 + 1)]);
                h.update(conf_str(f.conf).as_bytes());
                h.update(f.score.to_le_bytes());
            }
            digests.push(hex(&h.finalize()));
            out.push(list);
        }
        StoredProfiles { profiles: out, digests, of_device }
    }

    /// The digest of device `i`'s findings and their number.
    fn digest(&self, i: usize, external: bool) -> (String, usize) {
        match self.of_device.get(i).copied().flatten() {
            Some(p) => (format!("{}{}", self.digests[p], if external { "e" } else { "i" }), self.profiles[p].len()),
            None => (if external { "none-e" } else { "none-i" }.to_string(), 0),
        }
    }

    /// Device `i`'s findings for the store.
    fn device_findings(&self, i: usize, device_ref: &Arc<str>, external: bool) -> Vec<NewFinding> {
        let Some(p) = self.of_device.get(i).copied().flatten() else { return Vec::new() };
        self.profiles[p]
            .iter()
            .map(|(h, id, fact)| {
                let f = h.for_device(device_ref, external);
                NewFinding {
                    fact: fact.clone(),
                    fact_id: *id,
                    confidence: Cow::Borrowed(conf_str(f.confidence)),
                    tier: Cow::Borrowed(tier_str(f.tier)),
                    priority: i64::from(f.priority),
                    score10: i64::from(f.priority % 1000),
                    kev: f.kev.is_some(),
                    ransomware: f.kev.as_ref().is_some_and(|k| k.known_ransomware),
                    at_external_point: f.at_external_point,
                }
            })
            .collect()
    }
}

/// The detail of a finding the page shows (CVSS vectors, KEV action and due date), read from the
/// feed records held for its CVE (not stored with each finding), as JSON
/// `{"cvss_v3": …, "cvss_v4": …, "kev": …}` the way the matcher picks them.
pub async fn finding_detail(store: &Store, f: &FindingData) -> Result<serde_json::Value> {
    let cve: Option<CveRecord> = match store.vuln_record(Feed::Nvd, &f.cve_id).await? {
        Some(j) => Some(serde_json::from_str(&j).map_err(corrupt)?),
        None => None,
    };
    let kev: Option<KevEntry> = match store.vuln_record(Feed::Kev, &f.cve_id).await? {
        Some(j) => Some(serde_json::from_str(&j).map_err(corrupt)?),
        None => None,
    };
    let jvn: Option<JvnRecord> = match &f.jvn_id {
        Some(id) => match store.vuln_record(Feed::Jvn, id).await? {
            Some(j) => Some(serde_json::from_str(&j).map_err(corrupt)?),
            None => None,
        },
        None => None,
    };
    let pick = |vs: &[&str]| -> Option<mamori_vuln::CvssScore> {
        let from_nvd = cve.as_ref().and_then(|c| vs.iter().find_map(|v| c.cvss.iter().find(|s| &*s.version == *v)));
        from_nvd
            .or_else(|| jvn.as_ref().and_then(|j| vs.iter().find_map(|v| j.cvss.iter().find(|s| &*s.version == *v))))
            .cloned()
    };
    Ok(serde_json::json!({
        "cvss_v3": pick(&["3.1", "3.0"]),
        "cvss_v4": pick(&["4.0"]),
        "kev": kev.as_ref().map(mamori_vuln::KevInfo::from),
    }))
}

/// Builds the engine's data from the records the store loaded for these products.
pub async fn load_slice(store: &Store, products: &[(String, String)]) -> Result<VulnDb> {
    let slice = store.vuln_slice(products).await?;
    let mut db = VulnDb::new();
    for c in &slice.cves {
        let r: CveRecord = serde_json::from_str(c).map_err(corrupt)?;
        db.cves.insert(r.id.clone(), r);
    }
    for k in &slice.kev {
        let r: KevEntry = serde_json::from_str(k).map_err(corrupt)?;
        db.kev.insert(r.cve_id.clone(), r);
    }
    for j in &slice.jvn {
        let r: JvnRecord = serde_json::from_str(j).map_err(corrupt)?;
        db.jvn.insert(r.jvndb_id.clone(), r);
    }
    Ok(db)
}

/// Scans a facility's device ledger against the stored feeds and saves the findings with their lifecycle.
pub async fn scan(store: &Store, facility: &Facility, by: &str) -> Result<ScanReport> {
    let start = Instant::now();
    let devices: Vec<Device> = store.list::<Device>(facility.id).await?.into_iter().filter(scanned).collect();
    let overrides: HashMap<String, CpeOverride> =
        store.vuln_overrides(facility.id).await?.into_iter().map(|o| (o.asset_no.clone(), o)).collect();
    let known = store.vuln_known_products().await?;
    let t_norm = Instant::now();
    let facts: Vec<DeviceFacts> = devices.iter().map(|d| device_facts(d, overrides.get(&d.asset_no))).collect();
    let known_fn = |v: &str, p: &str| known.contains(&canonical_vendor_product(v, p));
    let mut normalised: Vec<Normalised> = facts.iter().map(|f| mamori_vuln::normalise(f, Some(&known_fn))).collect();
    // A person's choice shows who set it and why.
    for n in &mut normalised {
        if let Some(o) = overrides.get(&n.device_ref) {
            for c in &mut n.candidates {
                c.reason = format!(
                    "手動指定（{}、{}）: {} / set by hand ({}, {}): {}",
                    o.set_by, o.set_at, o.reason, o.set_by, o.set_at, o.reason
                );
            }
        }
    }
    drop(known);
    let mut products: Vec<(String, String)> =
        normalised.iter().flat_map(|n| n.candidates.iter()).filter_map(|c| mamori_vuln::cpe_product(&c.cpe)).collect();
    products.sort();
    products.dedup();
    let norm_ms = t_norm.elapsed().as_millis();
    let t_load = Instant::now();
    let db = load_slice(store, &products).await?;
    let load_millis = t_load.elapsed().as_millis();
    let t_match = Instant::now();
    let index = VulnIndex::build(&db);
    // One result per distinct profile (devices with the same CPEs); the per-device findings are
    // made only for the devices whose findings changed, while they are written.
    let mut profiles: Vec<Profile> = Vec::new();
    let diag = mamori_vuln::scan_normalised(&index, &facts, normalised, |p| profiles.push(p));
    let match_millis = t_match.elapsed().as_millis() + norm_ms;
    let review: HashSet<&str> = diag.review.iter().map(|r| r.device_ref.as_str()).collect();
    let rows: Vec<DeviceCpeRow> = diag
        .normalised
        .iter()
        .zip(&facts)
        .map(|(n, f)| DeviceCpeRow {
            asset_no: f.device_ref.clone(),
            cpes: serde_json::to_string(
                &n.candidates
                    .iter()
                    .map(|c| serde_json::json!({"cpe": c.cpe.to_fs(), "reason": c.reason}))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            unrecognised: json(&n.unrecognised),
            notes: json(&n.notes),
            overridden: !f.cpe_overrides.is_empty(),
            at_external_point: f.at_external_point,
            needs_review: review.contains(f.device_ref.as_str()),
        })
        .collect();
    let unmatched = diag.normalised.iter().filter(|n| n.is_unmatched()).count();
    let cves_loaded = db.cves.len();
    let review_n = review.len();
    drop(diag);
    drop(index);
    drop(db);
    let t_prep = Instant::now();
    let stored = StoredProfiles::new(profiles, facts.len());
    let dev_refs: Vec<std::sync::Arc<str>> =
        facts.iter().map(|f| std::sync::Arc::from(f.device_ref.as_str())).collect();
    let scan_devices: Vec<ScanDevice> = rows
        .into_iter()
        .zip(&facts)
        .enumerate()
        .map(|(i, (row, f))| {
            let (digest, n) = stored.digest(i, f.at_external_point);
            ScanDevice { asset_no: row.asset_no.clone(), row: Some(row), digest, findings: n }
        })
        .collect();
    let match_millis = match_millis + t_prep.elapsed().as_millis();
    let scan_row = ScanRow {
        devices: devices.len() as i64,
        unmatched: unmatched as i64,
        cves_loaded: cves_loaded as i64,
        millis: start.elapsed().as_millis() as i64,
        ..Default::default()
    };
    let mut findings_of = |i: usize| Ok(stored.device_findings(i, &dev_refs[i], facts[i].at_external_point));
    let out = store.vuln_save_scan_devices(facility.id, by, &scan_devices, &mut findings_of, scan_row).await?;
    Ok(ScanReport {
        devices: devices.len(),
        unmatched,
        review: review_n,
        cves_loaded,
        findings: out.findings,
        added: out.added,
        reopened: out.reopened,
        resolved: out.resolved,
        millis: start.elapsed().as_millis(),
        load_millis,
        match_millis,
    })
}

// ------------------------------------------------------------------------------------------- triage

/// Why a triage or override was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Refusal {
    UnknownFinding(String),
    UnknownDevice(String),
    NoReason,
    BadCpe(String),
    /// "open" cannot be set by hand: a finding is reopened by a scan.
    BadState(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::UnknownFinding(k) => write!(
                f,
                "指摘「{k}」はありません。mamori vuln findings でキーを確認してください / no finding with key \"{k}\": see mamori vuln findings"
            ),
            Refusal::UnknownDevice(d) => write!(
                f,
                "機器台帳に管理番号「{d}」の機器はありません / no device with asset number \"{d}\" in the device ledger"
            ),
            Refusal::NoReason => write!(f, "理由を入力してください / give a reason (--reason)"),
            Refusal::BadCpe(e) => write!(f, "{e}"),
            Refusal::BadState(s) => write!(
                f,
                "状態「{s}」は指定できません（accepted / fixed / false-positive）/ state \"{s}\" cannot be set (accepted, fixed, false-positive)"
            ),
        }
    }
}

/// Sets a finding's state (accepted / fixed / false positive) with a reason; recorded with who and when.
pub async fn set_state(
    store: &Store,
    facility: &Facility,
    key: &str,
    state: &str,
    reason: &str,
    by: &str,
) -> Result<std::result::Result<FindingState, Refusal>> {
    let st = match FindingState::parse(state) {
        Some(s) if s != FindingState::Open => s,
        _ => return Ok(Err(Refusal::BadState(state.to_string()))),
    };
    if reason.trim().is_empty() {
        return Ok(Err(Refusal::NoReason));
    }
    match store.vuln_set_state(facility.id, key, st, reason.trim(), by).await? {
        Some(_) => Ok(Ok(st)),
        None => Ok(Err(Refusal::UnknownFinding(key.to_string()))),
    }
}

/// Sets a person's CPE choice for a device (empty `cpes`: back to the normaliser's guess). Takes
/// effect at the next scan.
pub async fn set_cpe(
    store: &Store,
    facility: &Facility,
    asset_no: &str,
    cpes: &[String],
    reason: &str,
    by: &str,
) -> Result<std::result::Result<Vec<String>, Refusal>> {
    let devices: Vec<Device> = store.list::<Device>(facility.id).await?;
    if !devices.iter().any(|d| d.asset_no == asset_no) {
        return Ok(Err(Refusal::UnknownDevice(asset_no.to_string())));
    }
    let mut out = Vec::new();
    for c in cpes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        match Cpe::parse(c) {
            Ok(cpe) if cpe.vendor_product().is_some() => out.push(cpe.to_fs()),
            Ok(_) => {
                return Ok(Err(Refusal::BadCpe(format!(
                    "CPE「{c}」にベンダー名と製品名がありません / CPE \"{c}\" names no vendor and product"
                ))));
            }
            Err(e) => return Ok(Err(Refusal::BadCpe(e.to_string()))),
        }
    }
    if !out.is_empty() && reason.trim().is_empty() {
        return Ok(Err(Refusal::NoReason));
    }
    store.vuln_set_override(facility.id, asset_no, &out, reason.trim(), by).await?;
    Ok(Ok(out))
}

// ------------------------------------------------------------------------------------------- listing

/// A finding with the device it is on, for pages and exports.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    #[serde(flatten)]
    pub f: StoredFinding,
    pub hostname: String,
    pub device: String,
}

/// (hostname, "maker model") of every device of the facility, by asset number.
pub async fn device_names(store: &Store, facility: &Facility) -> Result<HashMap<String, (String, String)>> {
    Ok(store
        .list::<Device>(facility.id)
        .await?
        .into_iter()
        .map(|d| {
            let label = format!("{} {}", d.maker, d.model).trim().to_string();
            (d.asset_no, (d.hostname, label))
        })
        .collect())
}

/// A stored finding with its device's names (from [`device_names`]).
pub fn with_names(f: StoredFinding, names: &HashMap<String, (String, String)>) -> FindingRow {
    let d = names.get(&f.data.asset_no);
    FindingRow {
        hostname: d.map(|d| d.0.clone()).unwrap_or_default(),
        device: d.map(|d| d.1.clone()).unwrap_or_default(),
        f,
    }
}

/// Findings of a facility with device names, highest priority first. Collects them all: for a big
/// facility use [`findings_page`] or [`findings_each`].
pub async fn findings(store: &Store, facility: &Facility, filter: &FindingFilter) -> Result<Vec<FindingRow>> {
    let names = device_names(store, facility).await?;
    Ok(store.vuln_findings(facility.id, filter).await?.into_iter().map(|f| with_names(f, &names)).collect())
}

/// One page of the findings with device names, highest priority first.
pub async fn findings_page(
    store: &Store,
    facility: &Facility,
    filter: &FindingFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<FindingRow>> {
    let names = device_names(store, facility).await?;
    Ok(store
        .vuln_findings_page(facility.id, filter, offset, limit)
        .await?
        .into_iter()
        .map(|f| with_names(f, &names))
        .collect())
}

/// Every finding the filter selects, with device names, handed to `each` as it is read from the
/// store (highest priority first; never all in memory). An error from `each` (a failed write) stops
/// the read and is returned.
pub async fn findings_each(
    store: &Store,
    facility: &Facility,
    filter: &FindingFilter,
    each: &mut (dyn FnMut(FindingRow) -> std::io::Result<()> + Send),
) -> Result<()> {
    let names = device_names(store, facility).await?;
    let mut failed: Option<std::io::Error> = None;
    let r = store
        .vuln_findings_each(facility.id, filter, &mut |f| {
            each(with_names(f, &names)).map_err(|e| {
                let msg = e.to_string();
                failed = Some(e);
                mamori_store::StoreError::Invalid(msg)
            })
        })
        .await;
    if let Some(e) = failed {
        return Err(mamori_tabular::TabularError::Io { file: "export".into(), reason: e.to_string() }.into());
    }
    r?;
    Ok(())
}

/// Rows of one xlsx sheet at most (Excel's limit, less the header row).
pub const XLSX_MAX_ROWS: i64 = 1_048_575;

/// One line of the findings CSV (CRLF ended), quoted where needed as Excel reads it.
pub fn csv_line(fields: &[String]) -> String {
    let mut s = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            s.push('"');
            s.push_str(&f.replace('"', "\"\""));
            s.push('"');
        } else {
            s.push_str(f);
        }
    }
    s.push_str("\r\n");
    s
}

/// The start of the findings CSV: UTF-8 BOM (Excel reads the Japanese correctly) and the header line.
pub fn csv_head() -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend_from_slice(csv_line(&EXPORT_HEADERS.map(str::to_string)).as_bytes());
    out
}

/// Column headers of the findings export (Japanese, as a hospital's report uses them).
pub const EXPORT_HEADERS: [&str; 17] = [
    "優先度",
    "管理番号",
    "ホスト名",
    "機器",
    "CVE",
    "JVN",
    "タイトル（JVN）",
    "KEV",
    "ランサムウェア悪用",
    "CVSS",
    "確度",
    "修正版",
    "外部接続点",
    "状態",
    "状態の理由",
    "一致した CPE",
    "根拠",
];

/// The findings as table rows for CSV / xlsx.
pub fn export_rows(rows: &[FindingRow]) -> Vec<Vec<String>> {
    rows.iter().map(export_row).collect()
}

/// One finding as a row of the export.
pub fn export_row(r: &FindingRow) -> Vec<String> {
    let yes = |b: bool| if b { "はい" } else { "" }.to_string();
    let d = &r.f.data;
    vec![
        tier_label(&d.tier).0.to_string(),
        d.asset_no.clone(),
        r.hostname.clone(),
        r.device.clone(),
        d.cve_id.clone(),
        d.jvn_id.clone().unwrap_or_default(),
        d.title_ja.clone().unwrap_or_default(),
        yes(d.kev),
        yes(d.ransomware),
        format!("{:.1}", d.score10 as f64 / 10.0),
        confidence_label(&d.confidence).0.to_string(),
        d.fixed_version.clone().unwrap_or_default(),
        yes(d.at_external_point),
        r.f.state.label_ja().to_string(),
        r.f.state_reason.clone(),
        d.matched_cpe.clone(),
        d.reason.clone(),
    ]
}

// ------------------------------------------------------------------------------------------- evidence

/// Products that are remote-access (VPN) gateways, for the G-MIS remote-gateway question.
const VPN_PRODUCTS: &[&str] = &[
    "fortios",
    "connect_secure",
    "policy_secure",
    "pan-os",
    "netscaler_gateway",
    "adaptive_security_appliance_software",
];

/// How many findings a filter selects and the first five of them ("asset CVE", priority order).
struct Sample {
    count: i64,
    first: Vec<String>,
}

impl Sample {
    async fn of(store: &Store, facility: &Facility, f: &FindingFilter) -> Result<Sample> {
        let count = store.vuln_finding_counts(facility.id, f).await?.total;
        let first = if count == 0 {
            Vec::new()
        } else {
            store
                .vuln_findings_page(facility.id, f, 0, 5)
                .await?
                .iter()
                .map(|x| format!("{} {}", x.data.asset_no, x.data.cve_id))
                .collect()
        };
        Ok(Sample { count, first })
    }
    fn len(&self) -> i64 {
        self.count
    }
    fn is_empty(&self) -> bool {
        self.count == 0
    }
    fn list(&self) -> String {
        let mut v = self.first.clone();
        if self.count > 5 {
            v.push(format!("… +{}", self.count - 5));
        }
        v.join(", ")
    }
}

/// Evidence provider (see [`crate::evidence`]): checklist 2-(7) (security patches applied) from the open
/// findings on the devices, KEV first; G-MIS q12 (VPN devices updated per alerts) from the findings on
/// VPN devices.
pub async fn evidence(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<Evidence>> {
    let Some(last) = store.vuln_last_scan(facility.id).await? else {
        return Ok(vec![Evidence {
            target: EvidenceTarget::Checklist,
            item: "2-(7)".into(),
            source: "vuln",
            state: EvidenceState::Missing,
            suggests: None,
            reason_ja: "脆弱性診断（機器台帳と NVD・JVN・KEV の照合）がまだ実施されていません".into(),
            reason_en: "No vulnerability scan (device ledger against NVD, JVN and KEV) has been run yet".into(),
            link: Some("vuln".into()),
            as_of: None,
        }]);
    };
    let as_of = Some(date_part(&last.scanned_at));
    // Counts and the first five of each set come from SQL (a big facility has millions of rows).
    let open_f = FindingFilter { states: vec![FindingState::Open], ..Default::default() };
    let confirmed_f = FindingFilter { confirmed_only: true, ..open_f.clone() };
    let kev_f = FindingFilter { kev_only: true, ..confirmed_f.clone() };
    let accepted_f = FindingFilter { states: vec![FindingState::Accepted], confirmed_only: true, ..Default::default() };
    let open = Sample::of(store, facility, &open_f).await?;
    let confirmed = Sample::of(store, facility, &confirmed_f).await?;
    let kev = Sample::of(store, facility, &kev_f).await?;
    let accepted_confirmed = Sample::of(store, facility, &accepted_f).await?;
    let feeds = store.vuln_feed_status().await?;
    let nvd_age = feeds.iter().find(|f| f.feed == Feed::Nvd).and_then(|f| feed_age_days(f, today));
    let stale = nvd_age.is_none_or(|d| d > STALE_DAYS);
    let (stale_ja, stale_en) = match nvd_age {
        Some(d) if d > STALE_DAYS => (
            format!("（ただし NVD データは {d} 日前のものです。最新のデータを取り込んでください）"),
            format!(" (but the NVD data is {d} days old: import current data)"),
        ),
        None => ("（NVD データが取り込まれていません）".into(), " (no NVD data imported)".into()),
        _ => (String::new(), String::new()),
    };
    let mut out = Vec::new();
    let (state, suggests, ja, en) = if !kev.is_empty() {
        (
            EvidenceState::Contradicts,
            Some(false),
            format!(
                "悪用が確認されている脆弱性（CISA KEV）が未対応です: {} 件（{}）。未対応の指摘は全部で {} 件です{stale_ja}",
                kev.len(),
                kev.list(),
                open.len()
            ),
            format!(
                "{} known-exploited (CISA KEV) vulnerabilities are open ({}); {} open findings in all{stale_en}",
                kev.len(),
                kev.list(),
                open.len()
            ),
        )
    } else if !confirmed.is_empty() {
        (
            EvidenceState::Contradicts,
            Some(false),
            format!("版数から該当する脆弱性が未対応です: {} 件（{}）{stale_ja}", confirmed.len(), confirmed.list()),
            format!(
                "{} vulnerabilities matching the versions are open ({}){stale_en}",
                confirmed.len(),
                confirmed.list()
            ),
        )
    } else if !accepted_confirmed.is_empty() {
        (
            EvidenceState::Partial,
            None,
            format!(
                "未対応の指摘はありませんが、リスク受容として未適用のままの脆弱性が {} 件あります（{}）{stale_ja}",
                accepted_confirmed.len(),
                accepted_confirmed.list()
            ),
            format!(
                "No open finding, but {} vulnerabilities are accepted and left unpatched ({}){stale_en}",
                accepted_confirmed.len(),
                accepted_confirmed.list()
            ),
        )
    } else if !open.is_empty() {
        (
            EvidenceState::Partial,
            None,
            format!("版数で確定できない指摘が {} 件あり、確認が必要です{stale_ja}", open.len()),
            format!("{} findings could not be confirmed by version and need review{stale_en}", open.len()),
        )
    } else if stale {
        (
            EvidenceState::Partial,
            None,
            format!("未対応の指摘はありません{stale_ja}"),
            format!("No open findings{stale_en}"),
        )
    } else {
        (
            EvidenceState::Supports,
            Some(true),
            format!("直近の脆弱性診断（{}）で未対応の指摘はありません", date_part(&last.scanned_at)),
            format!("The latest scan ({}) shows no open finding", date_part(&last.scanned_at)),
        )
    };
    out.push(Evidence {
        target: EvidenceTarget::Checklist,
        item: "2-(7)".into(),
        source: "vuln",
        state,
        suggests,
        reason_ja: ja,
        reason_en: en,
        link: Some("vuln".into()),
        as_of: as_of.clone(),
    });
    // G-MIS q12: VPN devices updated according to the alerts.
    let devices = store.vuln_device_cpes(facility.id).await?;
    let vpn: HashSet<String> = devices
        .iter()
        .filter(|d| d.at_external_point && VPN_PRODUCTS.iter().any(|p| d.cpes.contains(&format!(":{p}:"))))
        .map(|d| d.asset_no.clone())
        .collect();
    if !vpn.is_empty() {
        let mut vpn_list: Vec<String> = vpn.iter().cloned().collect();
        vpn_list.sort();
        let on_vpn_f = FindingFilter { assets: Some(vpn_list.clone()), ..confirmed_f.clone() };
        let on_vpn = Sample::of(store, facility, &on_vpn_f).await?;
        let accepted_vpn =
            Sample::of(store, facility, &FindingFilter { assets: Some(vpn_list), ..accepted_f.clone() }).await?;
        let vpn_kev = if on_vpn.is_empty() {
            0
        } else {
            store.vuln_finding_counts(facility.id, &FindingFilter { kev_only: true, ..on_vpn_f }).await?.total
        };
        let (state, suggests, ja, en) = if on_vpn.is_empty() && !accepted_vpn.is_empty() {
            (
                EvidenceState::Partial,
                None,
                format!(
                    "VPN 装置の脆弱性 {} 件がリスク受容のまま未適用です: {}",
                    accepted_vpn.len(),
                    accepted_vpn.list()
                ),
                format!(
                    "{} vulnerabilities on VPN devices are accepted and unpatched: {}",
                    accepted_vpn.len(),
                    accepted_vpn.list()
                ),
            )
        } else if on_vpn.is_empty() {
            (
                EvidenceState::Supports,
                Some(true),
                format!("VPN 装置 {} 台に未対応の脆弱性はありません{stale_ja}", vpn.len()),
                format!("No open vulnerability on the {} VPN devices{stale_en}", vpn.len()),
            )
        } else {
            let k = vpn_kev;
            (
                EvidenceState::Contradicts,
                Some(false),
                format!("VPN 装置に未対応の脆弱性が {} 件（うち KEV {k} 件）: {}", on_vpn.len(), on_vpn.list()),
                format!("{} open vulnerabilities on VPN devices ({k} in KEV): {}", on_vpn.len(), on_vpn.list()),
            )
        };
        out.push(Evidence {
            target: EvidenceTarget::Gmis,
            item: "q12".into(),
            source: "vuln",
            state,
            suggests,
            reason_ja: ja,
            reason_en: en,
            link: Some("vuln".into()),
            as_of,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_points_from_the_ledger() {
        let mut d = Device { description: "保守用リモート接続VPN装置".into(), ..Default::default() };
        assert!(at_external_point(&d));
        d.description = "コアスイッチ".into();
        d.ip_addresses = "10.10.0.254".into();
        assert!(!at_external_point(&d));
        d.ip_addresses = "10.10.0.1, 203.0.113.2".into();
        assert!(at_external_point(&d));
    }

    #[test]
    fn software_is_paired_with_versions_by_position() {
        let d = Device {
            asset_no: "0001".into(),
            software: "さくら電子カルテ\nSQL Server 2019".into(),
            software_version: "5.2\n15.0".into(),
            ..Default::default()
        };
        let f = device_facts(&d, None);
        assert_eq!(
            f.software,
            vec![
                ("さくら電子カルテ".to_string(), Some("5.2".to_string())),
                ("SQL Server 2019".into(), Some("15.0".into()))
            ]
        );
    }
}
