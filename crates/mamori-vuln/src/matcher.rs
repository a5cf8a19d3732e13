//! The index and the matcher: NVD configuration trees and JVN entries against device CPEs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering as AtOrd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::{Deserialize, Serialize};

use crate::cpe::{Av, Cpe, Relation, canonical_vendor_product, compare_attr};
use crate::db::VulnDb;
use crate::jvn::{JvnVersionText, parse_jvn_version};
use crate::model::{CpeMatch, CveRecord, CvssScore, JvnRecord, KevEntry, Operator};
use crate::normalise::{DeviceFacts, Normalised, normalise};
use crate::version::{Family, Range, Version, combine, family_for};

/// How sure a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Confidence {
    /// A version that will not parse or compare: a person must look.
    NeedsManualReview,
    /// The vulnerable part matches but an AND-configuration's platform is not shown in the ledger.
    PlatformUnknown,
    /// Vendor and product match; the version was not usable (ledger has none, or NVD lists all versions).
    VendorProductOnly,
    /// From JVN's free-text version statement (lower confidence than NVD's ranges).
    Jvn,
    /// Inside an NVD version range.
    Range,
    /// The exact version NVD lists.
    Exact,
}

impl Confidence {
    pub fn label_ja(self) -> &'static str {
        match self {
            Confidence::Exact => "版数一致",
            Confidence::Range => "版数範囲内",
            Confidence::Jvn => "JVN の版数記述",
            Confidence::VendorProductOnly => "製品名のみ一致",
            Confidence::PlatformUnknown => "動作環境不明",
            Confidence::NeedsManualReview => "要手動確認",
        }
    }
}

/// Priority tier, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PriorityTier {
    Cvss,
    ExternalPoint,
    Kev,
    KevRansomware,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KevInfo {
    pub date_added: String,
    pub due_date: String,
    pub known_ransomware: bool,
    pub vulnerability_name: String,
    pub required_action: String,
}

impl From<&KevEntry> for KevInfo {
    fn from(k: &KevEntry) -> Self {
        KevInfo {
            date_added: k.date_added.clone(),
            due_date: k.due_date.clone(),
            known_ransomware: k.ransomware_known(),
            vulnerability_name: k.vulnerability_name.clone(),
            required_action: k.required_action.clone(),
        }
    }
}

/// One vulnerability on one device. Text fields are shared (`Arc<str>`) between devices with the
/// same profile, so millions of findings stay small; they serialise as plain strings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub device_ref: Arc<str>,
    /// CVE id, or the JVNDB id when JVN names no CVE.
    pub cve_id: Arc<str>,
    pub jvn_id: Option<Arc<str>>,
    pub confidence: Confidence,
    pub tier: PriorityTier,
    /// Sort key, higher first: tier, external point, then CVSS×10.
    pub priority: u32,
    pub cvss_v3: Option<Arc<CvssScore>>,
    pub cvss_v4: Option<Arc<CvssScore>>,
    pub kev: Option<Arc<KevInfo>>,
    /// First fixed version where NVD's versionEndExcluding (or JVN's "…未満") gives it.
    pub fixed_version: Option<Arc<str>>,
    /// Japanese title from JVN, when JVN has an entry for this CVE.
    pub title_ja: Option<Arc<str>>,
    /// The device CPE that matched.
    pub matched_cpe: Arc<str>,
    /// The NVD criterion (or JVN product CPE) it matched.
    pub criterion: Arc<str>,
    /// Why, Japanese first, English second.
    pub reason: Arc<str>,
    pub at_external_point: bool,
}

impl Finding {
    /// Stable key for lifecycle records (open/accepted/fixed/false positive): `device_ref|cve_id`.
    /// It does not change when confidence, priority or data change.
    pub fn key(&self) -> String {
        Self::key_for(&self.device_ref, &self.cve_id)
    }

    pub fn key_for(device_ref: &str, cve_id: &str) -> String {
        format!("{device_ref}|{cve_id}")
    }
}

/// A device that could not be diagnosed, for the review list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub device_ref: String,
    pub unrecognised: Vec<String>,
    pub notes: Vec<String>,
}

/// Everything a scan gives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub findings: Vec<Finding>,
    pub normalised: Vec<Normalised>,
    /// Devices with no usable CPE, or with texts no rule recognised.
    pub review: Vec<ReviewItem>,
    /// Distinct device profiles actually evaluated (identical CPE sets share one evaluation).
    pub profiles_evaluated: usize,
}

type Key = (String, String);

/// A small, fast, non-cryptographic hasher (FxHash) for the scan's internal maps; the keys come
/// from our own data, so hash flooding is not a concern here.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ (rest.len() as u64) << 56);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

/// Lookup structure over a [`VulnDb`], keyed by canonical (vendor, product). `Sync`: the scan's
/// workers share it, and with it the compiled criteria of each vendor:product.
pub struct VulnIndex<'a> {
    db: &'a VulnDb,
    cves: Vec<&'a CveRecord>,
    /// Canonical vendor:product → its id (an index into `key_cves` and `compiled`).
    by_vp: FxMap<Key, KeyId>,
    /// The CVEs filed under each key (ascending indexes into `cves`).
    key_cves: Vec<Vec<u32>>,
    /// Keys no CVE is filed under (platforms, products only devices name): ids after `key_cves`.
    extra_keys: Mutex<FxMap<Key, KeyId>>,
    jvn_by_vp: HashMap<Key, Vec<&'a JvnRecord>>,
    jvn_by_cve: HashMap<&'a str, &'a JvnRecord>,
    /// Criteria that did not parse as CPE 2.3 (skipped).
    pub bad_criteria: usize,
}

/// Compiled criteria a scan keeps at most (≈100 bytes each, plus their parsed versions) even
/// when the profiles still to come need more.
const KEY_CACHE_ENTRIES: usize = 200_000;

/// A poisoned lock only means another worker panicked; the data behind it is still consistent
/// (every writer replaces whole values).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn vp_key(c: &Cpe) -> Option<Key> {
    match (&c.vendor, &c.product) {
        (Av::Value(v), Av::Value(p)) => Some(canonical_vendor_product(v, p)),
        _ => None,
    }
}

impl<'a> VulnIndex<'a> {
    pub fn build(db: &'a VulnDb) -> VulnIndex<'a> {
        let mut cves: Vec<&CveRecord> = db.cves.values().filter(|c| !c.is_rejected()).collect();
        cves.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let mut by_vp: FxMap<Key, KeyId> = FxMap::default();
        let mut key_cves: Vec<Vec<u32>> = Vec::new();
        let mut bad = 0;
        for (i, c) in cves.iter().enumerate() {
            for cfg in &c.configurations {
                for n in &cfg.nodes {
                    for m in n.cpe_match.iter().filter(|m| m.vulnerable) {
                        match Cpe::parse(&m.criteria).ok().as_ref().and_then(vp_key) {
                            Some(k) => {
                                let next = key_cves.len() as KeyId;
                                let kid = *by_vp.entry(k).or_insert(next);
                                if kid == next {
                                    key_cves.push(Vec::new());
                                }
                                let v = &mut key_cves[kid as usize];
                                if v.last() != Some(&(i as u32)) {
                                    v.push(i as u32);
                                }
                            }
                            None => bad += 1,
                        }
                    }
                }
            }
        }
        key_cves.iter_mut().for_each(|v| v.shrink_to_fit());
        let mut jvn_by_vp: HashMap<Key, Vec<&JvnRecord>> = HashMap::new();
        let mut jvn_by_cve: HashMap<&str, &JvnRecord> = HashMap::new();
        let mut jvns: Vec<&JvnRecord> = db.jvn.values().collect();
        jvns.sort_unstable_by(|a, b| a.jvndb_id.cmp(&b.jvndb_id));
        for j in jvns {
            for c in &j.cve_ids {
                jvn_by_cve.entry(c.as_str()).or_insert(j);
            }
            for a in &j.affected {
                if let Some(k) = a.cpe.as_deref().and_then(|c| Cpe::parse(c).ok()).as_ref().and_then(vp_key) {
                    let v = jvn_by_vp.entry(k).or_default();
                    if !v.iter().any(|x| x.jvndb_id == j.jvndb_id) {
                        v.push(j);
                    }
                }
            }
        }
        VulnIndex {
            db,
            cves,
            by_vp,
            key_cves,
            extra_keys: Mutex::new(FxMap::default()),
            jvn_by_vp,
            jvn_by_cve,
            bad_criteria: bad,
        }
    }

    /// The id of a canonical vendor:product (the same for every worker and scan of this index).
    fn key_id(&self, k: &Key) -> KeyId {
        if let Some(i) = self.by_vp.get(k) {
            return *i;
        }
        let mut extra = lock(&self.extra_keys);
        let next = (self.key_cves.len() + extra.len()) as KeyId;
        *extra.entry(k.clone()).or_insert(next)
    }
}

impl VulnIndex<'_> {
    /// Does the data name this canonical vendor:product anywhere (NVD or JVN)?
    pub fn knows(&self, vendor: &str, product: &str) -> bool {
        let k = canonical_vendor_product(vendor, product);
        self.by_vp.contains_key(&k) || self.jvn_by_vp.contains_key(&k)
    }

    pub fn cve_count(&self) -> usize {
        self.cves.len()
    }

    pub fn product_count(&self) -> usize {
        self.by_vp.len()
    }
}

/// The canonical (vendor, product) keys under which [`VulnIndex`] files a CVE: those of its
/// vulnerable criteria (sorted, distinct). A store indexes records by these at import.
pub fn cve_products(c: &CveRecord) -> Vec<Key> {
    let mut v: Vec<Key> = c
        .configurations
        .iter()
        .flat_map(|cfg| cfg.nodes.iter())
        .flat_map(|n| n.cpe_match.iter())
        .filter(|m| m.vulnerable)
        .filter_map(|m| Cpe::parse(&m.criteria).ok().as_ref().and_then(vp_key))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The canonical (vendor, product) keys of a JVN entry's affected products (sorted, distinct).
pub fn jvn_products(j: &JvnRecord) -> Vec<Key> {
    let mut v: Vec<Key> = j
        .affected
        .iter()
        .filter_map(|a| a.cpe.as_deref().and_then(|c| Cpe::parse(c).ok()).as_ref().and_then(vp_key))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The canonical (vendor, product) key of a device CPE, if it names both.
pub fn cpe_product(c: &Cpe) -> Option<Key> {
    vp_key(c)
}

/// The version a device CPE carries, prepared for its family.
#[derive(Clone, Debug)]
enum DevVer {
    /// The ledger gives no version.
    Unknown,
    /// The ledger says "no version" (NA), e.g. Windows without a build.
    Na,
    /// Parsed: (base version, combined version+update).
    Parsed(Version, Version),
    Unparsable(String),
}

type KeyId = u32;

#[derive(Clone, Debug)]
struct DevCpe {
    cpe: Cpe,
    fs: String,
    key: Key,
    kid: KeyId,
    ver: DevVer,
}

fn prepare(cpe: &Cpe) -> Option<DevCpe> {
    let key = vp_key(cpe)?;
    let family = family_for(&key.0, &key.1);
    let ver = match &cpe.version {
        Av::Any => DevVer::Unknown,
        Av::Na => DevVer::Na,
        Av::Value(_) => {
            let base = cpe.version.text().unwrap_or_default();
            let combined = combine(family, &base, cpe.update.text().as_deref());
            match (Version::parse(family, &base), Version::parse(family, &combined)) {
                (Ok(b), Ok(c)) => DevVer::Parsed(b, c),
                _ => DevVer::Unparsable(combined),
            }
        }
    };
    Some(DevCpe { fs: cpe.to_fs(), cpe: cpe.clone(), key, kid: KeyId::MAX, ver })
}

/// Result of one criterion against the device.
#[derive(Clone, Debug)]
struct Hit<'a> {
    conf: Confidence,
    dev: usize,
    criterion: Arc<str>,
    fixed: Option<Cow<'a, str>>,
    reason: Arc<str>,
}

fn better<'a>(a: Option<Hit<'a>>, b: Option<Hit<'a>>) -> Option<Hit<'a>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.conf > x.conf { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn weaker<'a>(a: Option<Hit<'a>>, b: Option<Hit<'a>>) -> Option<Hit<'a>> {
    match (a, b) {
        (None, y) => y,
        (Some(x), Some(y)) => Some(if y.conf < x.conf { y } else { x }),
        (x, None) => x,
    }
}

/// Attributes other than part/vendor/product/version/update: a device that does not state one is
/// not held against it; a stated, different one is.
fn rest_compatible(c: &CritInfo, d: &Cpe) -> bool {
    let Some(rest) = &c.rest else { return true };
    [&d.edition, &d.language, &d.sw_edition, &d.target_sw, &d.target_hw, &d.other]
        .iter()
        .zip(rest.iter())
        .all(|(t, s)| t.is_any() || compare_attr(s, t) != Relation::Disjoint)
}

/// Updates a family does not fold into the version (Windows SP, Exchange CU …) must agree when both
/// sides state them; a device that states none is not held against it.
fn update_compatible(c: &CritInfo, d: &Cpe) -> bool {
    if c.update_folded {
        return true;
    }
    match (&c.update, &d.update) {
        (Av::Value(a), Av::Value(b)) => a == b,
        (Av::Value(_), Av::Na) | (Av::Na, Av::Value(_)) => false,
        _ => true,
    }
}

fn part_compatible(c: &Cpe, d: &Cpe) -> bool {
    match (c.part_char(), d.part_char()) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn range_text(m: &CpeMatch) -> String {
    let mut s = Vec::new();
    if let Some(v) = m.start_including() {
        s.push(format!(">= {v}"));
    }
    if let Some(v) = m.start_excluding() {
        s.push(format!("> {v}"));
    }
    if let Some(v) = m.end_including() {
        s.push(format!("<= {v}"));
    }
    if let Some(v) = m.end_excluding() {
        s.push(format!("< {v}"));
    }
    s.join(", ")
}

/// A criterion string parsed once per scan.
#[derive(Debug)]
struct CritInfo {
    part: Option<char>,
    update: Av,
    /// edition, language, sw_edition, target_sw, target_hw, other — None when all are ANY.
    rest: Option<Box<[Av; 6]>>,
    kid: KeyId,
    family: Family,
    /// The update is part of the version for this family (PAN-OS hotfix, Ivanti R, pre-release).
    update_folded: bool,
    listed: Listed,
}

#[derive(Debug)]
enum Listed {
    Any,
    Na,
    Value { text: String, parsed: Option<Version>, use_base: bool, bare: bool },
}

#[derive(Debug)]
enum Bounds {
    None,
    Ok([Option<Arc<Version>>; 4]),
    Bad(String),
}

struct CEntry<'a> {
    m: &'a CpeMatch,
    info: Option<Arc<CritInfo>>,
    bounds: Bounds,
    /// The reason for the usual outcome (inside the range / exact version), made once.
    reason: OnceLock<Arc<str>>,
}

struct CNode<'a> {
    negate: bool,
    operator: Operator,
    has_vulnerable: bool,
    entries: Vec<CEntry<'a>>,
}

struct CConfig<'a> {
    negate: bool,
    operator: Operator,
    nodes: Vec<CNode<'a>>,
}

/// Where one criterion sits in a CVE.
#[derive(Clone, Copy, Debug)]
struct ERef {
    cve: u32,
    cfg: u32,
    /// The configuration is a plain OR of vulnerable criteria (no AND, negation or platform):
    /// its best hit decides it without looking at the rest of the tree.
    plain: bool,
}

/// One vulnerable criterion of a vendor:product, with everything its evaluation reads, stored
/// inline: a device CPE walks these in sequence.
struct KEntry<'a> {
    r: ERef,
    e: CEntry<'a>,
}

/// The vulnerable criteria of one vendor:product (compiled once per index, shared by workers):
/// exact versions by canonical text, the rest in a list, both in CVE order.
struct KeyComp<'a> {
    exact: FxMap<String, Vec<KEntry<'a>>>,
    other: Vec<KEntry<'a>>,
    /// Criteria held (for the cache bound).
    len: usize,
}

/// The compiled criteria of the keys one scan needs, shared by its workers: compiled by the first
/// worker that asks (the other waits rather than doing the same work) and dropped as soon as no
/// profile still to come names the key, so only keys in use are held.
struct KeyCache<'a> {
    slots: Vec<Mutex<Option<Arc<KeyComp<'a>>>>>,
    /// Per key: device CPEs of profiles still to come that name it.
    left: Vec<AtomicUsize>,
    entries: AtomicUsize,
}

impl<'a> KeyCache<'a> {
    fn new(index: &VulnIndex<'a>, profiles: &[ProfileGroup]) -> Self {
        let n = index.key_cves.len();
        let left: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        for (_, (cpes, _)) in profiles {
            for c in cpes {
                if let Some(l) = left.get(c.kid as usize) {
                    l.fetch_add(1, AtOrd::Relaxed);
                }
            }
        }
        KeyCache { slots: (0..n).map(|_| Mutex::new(None)).collect(), left, entries: AtomicUsize::new(0) }
    }

    fn get(&self, index: &VulnIndex<'a>, kid: KeyId, key: &Key) -> Option<Arc<KeyComp<'a>>> {
        let slot = self.slots.get(kid as usize)?;
        let mut held = lock(slot);
        if let Some(k) = held.as_ref() {
            return Some(k.clone());
        }
        let k = Arc::new(compile_key(index, kid, key));
        *held = Some(k.clone());
        drop(held);
        let total = self.entries.fetch_add(k.len, AtOrd::Relaxed) + k.len;
        if total > KEY_CACHE_ENTRIES {
            // Forget everything but this key; keys in use live on in their holders' `Arc`s.
            for (i, other) in self.slots.iter().enumerate() {
                if i == kid as usize {
                    continue;
                }
                if let Some(o) = lock(other).take() {
                    self.entries.fetch_sub(o.len, AtOrd::Relaxed);
                }
            }
        }
        Some(k)
    }

    /// One device CPE naming `kid` is done: the key is dropped after its last one.
    fn release(&self, kid: KeyId) {
        let Some(l) = self.left.get(kid as usize) else { return };
        if l.fetch_sub(1, AtOrd::Relaxed) != 1 {
            return;
        }
        if let Some(o) = lock(&self.slots[kid as usize]).take() {
            self.entries.fetch_sub(o.len, AtOrd::Relaxed);
        }
    }
}

/// Parses criteria once per distinct (interned) string and version bounds once per text.
#[derive(Default)]
struct CritParser<'a> {
    /// By the address of the (interned, shared) criteria string: no hashing of its text.
    by_ptr: FxMap<usize, Option<Arc<CritInfo>>>,
    by_text: FxMap<&'a str, Option<Arc<CritInfo>>>,
    vers: FxMap<(Family, &'a str), Option<Arc<Version>>>,
}

impl<'a> CritParser<'a> {
    fn len(&self) -> usize {
        self.by_ptr.len() + self.vers.len()
    }

    fn crit(&mut self, index: &VulnIndex<'a>, s: &'a str) -> Option<Arc<CritInfo>> {
        let ptr = s.as_ptr() as usize;
        if let Some(c) = self.by_ptr.get(&ptr) {
            return c.clone();
        }
        if let Some(c) = self.by_text.get(s) {
            let c = c.clone();
            self.by_ptr.insert(ptr, c.clone());
            return c;
        }
        let info = Cpe::parse(s).ok().and_then(|cpe| {
            let key = vp_key(&cpe)?;
            let family = family_for(&key.0, &key.1);
            let kid = index.key_id(&key);
            let cu = cpe.update.text();
            let update_folded = match (&cpe.update, family) {
                (_, Family::PanOs | Family::Ivanti) => true,
                (Av::Value(_), Family::Generic) => combine(family, "0", cu.as_deref()) != "0",
                _ => false,
            };
            let listed = match &cpe.version {
                Av::Any => Listed::Any,
                Av::Na => Listed::Na,
                Av::Value(_) => {
                    let cv = cpe.version.text().unwrap_or_default();
                    let folds = matches!(family, Family::PanOs | Family::Ivanti);
                    let (text, use_base) = match (&cpe.update, folds) {
                        (Av::Any, true) => (cv.clone(), true),
                        (Av::Na, true) => (cv.clone(), false),
                        _ => (combine(family, &cv, cu.as_deref()), false),
                    };
                    let parsed = Version::parse(family, &text).ok();
                    let bare = parsed.as_ref().is_some_and(Version::is_bare_release);
                    Listed::Value { text, parsed, use_base, bare }
                }
            };
            let part = cpe.part_char();
            let rest = [cpe.edition, cpe.language, cpe.sw_edition, cpe.target_sw, cpe.target_hw, cpe.other];
            let rest = (!rest.iter().all(Av::is_any)).then(|| Box::new(rest));
            Some(Arc::new(CritInfo { part, update: cpe.update, rest, kid, family, update_folded, listed }))
        });
        self.by_text.insert(s, info.clone());
        self.by_ptr.insert(ptr, info.clone());
        info
    }

    fn bound(&mut self, f: Family, b: Option<&'a str>) -> Result<Option<Arc<Version>>, String> {
        let Some(b) = b else { return Ok(None) };
        let v = self.vers.entry((f, b)).or_insert_with(|| Version::parse(f, b).ok().map(Arc::new)).clone();
        v.map(Some).ok_or_else(|| b.to_string())
    }

    fn entry(&mut self, index: &VulnIndex<'a>, m: &'a CpeMatch, info: Option<Arc<CritInfo>>) -> CEntry<'a> {
        let _ = index;
        let bounds = match (&info, m.has_range()) {
            (Some(inf), true) => {
                let f = inf.family;
                let r: Result<Vec<_>, String> =
                    [m.start_including(), m.start_excluding(), m.end_including(), m.end_excluding()]
                        .into_iter()
                        .map(|b| self.bound(f, b))
                        .collect();
                match r {
                    Ok(v) => Bounds::Ok([v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone()]),
                    Err(b) => Bounds::Bad(b),
                }
            }
            _ => Bounds::None,
        };
        CEntry { m, info, bounds, reason: OnceLock::new() }
    }
}

/// Can this criterion name the key `(vendor, product)`? A cheap look at its raw text: when the raw
/// vendor and product are already canonical CPE text, it names the key only if they are the key
/// (after renames); anything else is parsed in full.
fn may_name(criteria: &str, key: &Key) -> bool {
    let Some(rest) = criteria.strip_prefix("cpe:2.3:") else { return true };
    let mut f = rest.splitn(4, ':');
    let (_, Some(v), Some(p)) = (f.next(), f.next(), f.next()) else { return true };
    let plain =
        |x: &str| !x.is_empty() && x.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
    if !plain(v) || !plain(p) {
        return true;
    }
    if v == key.0 && p == key.1 {
        return true;
    }
    let (cv, cp) = canonical_vendor_product(v, p);
    cv == key.0 && cp == key.1
}

/// The vulnerable criteria of one key, over the CVEs filed under it.
fn compile_key<'a>(index: &VulnIndex<'a>, kid: KeyId, key: &Key) -> KeyComp<'a> {
    let mut kc = KeyComp { exact: FxMap::default(), other: Vec::new(), len: 0 };
    let Some(cves) = index.key_cves.get(kid as usize) else { return kc };
    let mut p = CritParser::default();
    for &i in cves {
        let cve = index.cves[i as usize];
        for (ci, cfg) in cve.configurations.iter().enumerate() {
            let plain = !cfg.negate
                && cfg.operator == Operator::Or
                && cfg
                    .nodes
                    .iter()
                    .filter(|n| n.cpe_match.iter().any(|m| m.vulnerable))
                    .all(|n| !n.negate && n.operator == Operator::Or);
            for n in &cfg.nodes {
                for m in n.cpe_match.iter().filter(|m| m.vulnerable) {
                    if !may_name(&m.criteria, key) {
                        continue;
                    }
                    let Some(info) = p.crit(index, &m.criteria).filter(|c| c.kid == kid) else { continue };
                    let e = p.entry(index, m, Some(info.clone()));
                    let r = ERef { cve: i, cfg: ci as u32, plain };
                    match (&e.bounds, &info.listed) {
                        (Bounds::None, Listed::Value { parsed: Some(v), .. }) => {
                            kc.exact.entry(v.canonical()).or_default().push(KEntry { r, e })
                        }
                        _ => kc.other.push(KEntry { r, e }),
                    }
                    kc.len += 1;
                }
            }
        }
    }
    // Held until evicted: no slack (most exact versions have one or two criteria).
    kc.other.shrink_to_fit();
    kc.exact.values_mut().for_each(Vec::shrink_to_fit);
    kc
}

/// What one worker keeps during a scan: whole CVEs compiled for joint evaluation (AND and platform
/// configurations), the interner of finding texts, and reasons. Bounded: emptied between profiles
/// when it grows past [`WORKER_CACHE`].
struct Scan<'a, 'i> {
    index: &'i VulnIndex<'a>,
    parser: CritParser<'a>,
    compiled: FxMap<u32, Box<[CConfig<'a>]>>,
    compiled_entries: usize,
    interner: Interner<'a>,
    reasons: Reasons,
}

/// Items a worker's caches hold at most (compiled criteria, parsed strings, interned texts).
const WORKER_CACHE: usize = 60_000;

impl<'a, 'i> Scan<'a, 'i> {
    fn new(index: &'i VulnIndex<'a>) -> Self {
        Scan {
            index,
            parser: CritParser::default(),
            compiled: FxMap::default(),
            compiled_entries: 0,
            interner: Interner::default(),
            reasons: Reasons::default(),
        }
    }

    fn held(&self) -> usize {
        self.compiled_entries + self.parser.len() + self.interner.len() + self.reasons.len()
    }

    /// Compiles the whole configuration tree of a CVE, when first asked for (joint evaluation).
    fn compile(&mut self, i: u32) {
        if !self.compiled.contains_key(&i) {
            let Some(cve) = self.index.cves.get(i as usize) else { return };
            let mut configs = Vec::with_capacity(cve.configurations.len());
            for cfg in &cve.configurations {
                let mut nodes = Vec::with_capacity(cfg.nodes.len());
                for n in &cfg.nodes {
                    let mut entries = Vec::with_capacity(n.cpe_match.len());
                    for m in &n.cpe_match {
                        let info = self.parser.crit(self.index, &m.criteria);
                        entries.push(self.parser.entry(self.index, m, info));
                        self.compiled_entries += 1;
                    }
                    nodes.push(CNode {
                        negate: n.negate,
                        operator: n.operator,
                        has_vulnerable: n.cpe_match.iter().any(|m| m.vulnerable),
                        entries,
                    });
                }
                configs.push(CConfig { negate: cfg.negate, operator: cfg.operator, nodes });
            }
            self.compiled.insert(i, configs.into_boxed_slice());
        }
    }
}

/// Is `v` inside pre-parsed bounds? None when the family cannot order them.
fn in_bounds(v: &Version, b: &[Option<Arc<Version>>; 4]) -> Option<bool> {
    use std::cmp::Ordering::*;
    let c = |x: &Option<Arc<Version>>| -> Option<Option<std::cmp::Ordering>> {
        match x {
            None => Some(None),
            Some(bv) => v.compare(bv).map(Some),
        }
    };
    let si = c(&b[0])?;
    let se = c(&b[1])?;
    let ei = c(&b[2])?;
    let ee = c(&b[3])?;
    Some(si != Some(Less) && se.is_none_or(|o| o == Greater) && ei != Some(Greater) && ee.is_none_or(|o| o == Less))
}

/// Reasons are the same for every device that meets a criterion the same way, so each is made once
/// per (criterion, kind) and shared. They do not repeat the device's version (`matched_cpe` has it).
#[derive(Default)]
struct Reasons(std::cell::RefCell<FxMap<(usize, u8), Arc<str>>>);

impl Reasons {
    fn len(&self) -> usize {
        self.0.borrow().len()
    }

    fn get(&self, key: usize, kind: u8, make: impl FnOnce() -> String) -> Arc<str> {
        if let Some(r) = self.0.borrow().get(&(key, kind)) {
            return r.clone();
        }
        let r: Arc<str> = Arc::from(make());
        self.0.borrow_mut().insert((key, kind), r.clone());
        r
    }
}

/// A criterion against one device CPE with the same vendor:product.
fn eval_entry<'a>(e: &CEntry<'a>, c: &CritInfo, d: &DevCpe, di: usize, rs: &Reasons) -> Option<Hit<'a>> {
    let part_ok = match (c.part, d.cpe.part_char()) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if !part_ok || !rest_compatible(c, &d.cpe) || !update_compatible(c, &d.cpe) {
        return None;
    }
    let m = e.m;
    let key = m as *const CpeMatch as usize;
    let hit = |conf, fixed: Option<Cow<'a, str>>, kind: u8, make: &dyn Fn() -> String| {
        let reason = if kind == 0 || kind == 11 {
            e.reason.get_or_init(|| Arc::from(make())).clone()
        } else {
            rs.get(key, kind, make)
        };
        Some(Hit { conf, dev: di, criterion: m.criteria.clone(), fixed, reason })
    };
    match &e.bounds {
        Bounds::Ok(b) => {
            return match &d.ver {
                // One shared text: there are as many of these as criteria for a version-less device.
                DevVer::Unknown | DevVer::Na => Some(Hit {
                    conf: Confidence::VendorProductOnly,
                    dev: di,
                    criterion: m.criteria.clone(),
                    fixed: None,
                    reason: rs.get(0, 1, || "台帳に版数がないため製品名だけで一致（NVD は版数範囲を指定）/ no version in the ledger, product matches (NVD gives a version range)".into()),
                }),
                DevVer::Unparsable(_) => hit(Confidence::NeedsManualReview, None, 2, &|| {
                    let rt = range_text(m);
                    format!("台帳の版数を解釈できず影響範囲 {rt} と比較できません / the ledger's version cannot be read to compare with {rt}")
                }),
                DevVer::Parsed(_, v) => match in_bounds(v, b) {
                    Some(true) => hit(Confidence::Range, m.end_excluding().map(Cow::Borrowed), 0, &|| {
                        let rt = range_text(m);
                        format!("版数が影響範囲 {rt} に入ります / the version is inside {rt}")
                    }),
                    Some(false) => None,
                    None => hit(Confidence::NeedsManualReview, None, 3, &|| {
                        let rt = range_text(m);
                        format!("この製品系列では版数を範囲 {rt} と比較できません / versions of this product family cannot be ordered against {rt}")
                    }),
                },
            };
        }
        Bounds::Bad(bad) => {
            return hit(Confidence::NeedsManualReview, None, 4, &|| {
                format!("NVD の範囲の版数「{bad}」を解釈できません / cannot read NVD's range bound \"{bad}\"")
            });
        }
        Bounds::None => {}
    }
    match &c.listed {
        Listed::Any => hit(Confidence::VendorProductOnly, None, 5, &|| "NVD は全版を対象としています / NVD lists all versions".into()),
        Listed::Na => match &d.ver {
            DevVer::Unknown | DevVer::Na => hit(Confidence::Exact, None, 6, &|| {
                "NVD はこの製品（版数区別なし）を対象としています / NVD lists this product without versions".into()
            }),
            _ if c.family == Family::Windows => hit(Confidence::Exact, None, 7, &|| {
                "NVD はこのリリースを対象としています（ビルド・更新の適用状況は NVD に記載なし）/ NVD lists this release (patch level not given by NVD)".into()
            }),
            _ => hit(Confidence::VendorProductOnly, None, 8, &|| "NVD は版数を区別していません / NVD gives no version".into()),
        },
        Listed::Value { text: listed, parsed, use_base, bare } => match &d.ver {
            DevVer::Unknown => Some(Hit {
                conf: Confidence::VendorProductOnly,
                dev: di,
                criterion: m.criteria.clone(),
                fixed: None,
                reason: rs.get(0, 9, || "台帳に版数がないため製品名だけで一致（NVD は特定の版を指定）/ no version in the ledger, product matches (NVD lists specific versions)".into()),
            }),
            DevVer::Na => None,
            DevVer::Unparsable(t) => {
                if t.eq_ignore_ascii_case(listed) {
                    hit(Confidence::Exact, None, 11, &|| format!("版数 {listed} が一致 / version {listed} matches"))
                } else {
                    hit(Confidence::NeedsManualReview, None, 10, &|| {
                        format!("台帳の版数を解釈できず NVD の {listed} と比較できません / the ledger's version cannot be read to compare with {listed}")
                    })
                }
            }
            DevVer::Parsed(base, combined) => {
                let dv = if *use_base { base } else { combined };
                let ok = match parsed {
                    Some(lv) => dv.equals_listed(lv),
                    None => dv.as_str().eq_ignore_ascii_case(listed),
                };
                if !ok {
                    None
                } else if *bare && dv.as_str() != listed {
                    hit(Confidence::Range, None, 12, &|| {
                        format!("NVD はリリース {listed} の全ビルドを対象としています / NVD lists every build of release {listed}")
                    })
                } else {
                    hit(Confidence::Exact, None, 11, &|| format!("版数 {listed} が一致 / version {listed} matches"))
                }
            }
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Platform {
    Present,
    /// The device shows a platform of this kind, but not this one.
    Mismatch,
    /// The ledger shows nothing of this kind (hardware / OS): cannot tell.
    Unknown,
}

fn eval_config<'a>(cfg: &CConfig<'a>, devs: &[DevCpe], rs: &Reasons) -> Option<Hit<'a>> {
    if cfg.negate {
        // NVD does not use negated configurations in practice; never guess a finding from one.
        return None;
    }
    let mut vuln_hits: Vec<Option<Hit<'a>>> = Vec::new();
    let mut platforms: Vec<Platform> = Vec::new();
    for node in cfg.nodes.iter() {
        if node.has_vulnerable && !node.negate {
            let mut node_hit: Option<Hit<'a>> = None;
            let mut all = true;
            for e in node.entries.iter().filter(|e| e.m.vulnerable) {
                let mut best = None;
                if let Some(c) = &e.info {
                    for (di, d) in devs.iter().enumerate() {
                        if d.kid == c.kid {
                            best = better(best, eval_entry(e, c, d, di, rs));
                        }
                    }
                }
                match node.operator {
                    Operator::Or => node_hit = better(node_hit, best),
                    Operator::And => {
                        all &= best.is_some();
                        node_hit = weaker(node_hit, best);
                    }
                }
            }
            if node.operator == Operator::And && !all {
                node_hit = None;
            }
            vuln_hits.push(node_hit);
        } else {
            // Platform condition.
            let present = |e: &CEntry<'a>| -> bool {
                e.info.as_ref().is_some_and(|c| {
                    devs.iter().enumerate().any(|(di, d)| d.kid == c.kid && eval_entry(e, c, d, di, rs).is_some())
                })
            };
            let mut ok = match node.operator {
                Operator::Or => node.entries.iter().any(present),
                Operator::And => !node.entries.is_empty() && node.entries.iter().all(present),
            };
            if node.negate {
                ok = !ok;
            }
            let shows_kind = node
                .entries
                .iter()
                .filter_map(|e| e.info.as_ref().and_then(|c| c.part))
                .any(|k| devs.iter().any(|d| d.cpe.part_char() == Some(k)));
            platforms.push(if ok {
                Platform::Present
            } else if shows_kind {
                Platform::Mismatch
            } else {
                Platform::Unknown
            });
        }
    }
    if vuln_hits.is_empty() {
        // A configuration of vulnerable:false CPEs alone is never a finding.
        return None;
    }
    match cfg.operator {
        Operator::Or => vuln_hits.into_iter().fold(None, better),
        Operator::And => {
            if !vuln_hits.iter().all(Option::is_some) {
                return None;
            }
            let hit = vuln_hits.into_iter().fold(None, weaker)?;
            if platforms.contains(&Platform::Mismatch) {
                None
            } else if platforms.contains(&Platform::Unknown) {
                let conf =
                    if hit.conf == Confidence::NeedsManualReview { hit.conf } else { Confidence::PlatformUnknown };
                let base = hit.reason.clone();
                let reason = rs.get(Arc::as_ptr(&base) as *const u8 as usize, 255, || {
                    let (ja, en) = base.split_once(" / ").unwrap_or((&base, ""));
                    format!("{ja}。ただし動作環境（機種・OS）の条件が台帳から分かりません / {en}; but the required platform (hardware/OS) is not shown in the ledger")
                });
                Some(Hit { conf, reason, ..hit })
            } else {
                Some(hit)
            }
        }
    }
}

/// A finding before device-specific decoration.
#[derive(Clone, Debug)]
struct RawHit<'a> {
    cve: Cow<'a, str>,
    jvn: Option<&'a str>,
    hit: Hit<'a>,
}

/// What one device CPE gives on its own, made once per scan and shared by every profile that has it.
struct Solo<'a> {
    /// Findings of the CVEs this CPE decides alone (every configuration it hits is a plain OR),
    /// by CVE index, ready to hand out.
    decided: Vec<(u32, Arc<ProfileFinding>)>,
    /// Hits on CVEs with an AND / negated / platform configuration: evaluated with the whole profile.
    joint: Vec<(ERef, Hit<'a>)>,
    /// Every CVE index this CPE hits, sorted.
    cves: Vec<u32>,
}

type SoloCell<'a> = Arc<OnceLock<Arc<Solo<'a>>>>;

/// The solos of one scan, shared by its workers: each device CPE is evaluated once per scan and
/// kept only while profiles still to come have it (a CPE of one profile only is not kept at all);
/// emptied when more than [`SOLO_CACHE`] findings and hits are held anyway.
struct SoloCache<'a> {
    /// Per device CPE: how many profiles still to come have it, and its solo once made.
    left: Mutex<FxMap<String, (usize, Option<SoloCell<'a>>)>>,
    held: std::sync::atomic::AtomicIsize,
}

const SOLO_CACHE: isize = 200_000;

fn solo_size(s: &Solo) -> isize {
    (s.decided.len() + s.joint.len() + 1) as isize
}

impl<'a> SoloCache<'a> {
    fn new(profiles: &[ProfileGroup]) -> Self {
        let mut left: FxMap<String, (usize, Option<SoloCell<'a>>)> = FxMap::default();
        for (_, (cpes, _)) in profiles {
            for c in cpes {
                left.entry(c.fs.clone()).or_insert((0, None)).0 += 1;
            }
        }
        SoloCache { left: Mutex::new(left), held: Default::default() }
    }

    fn get(&self, keys: &KeyCache<'a>, scan: &mut Scan<'a, '_>, d: &DevCpe) -> Arc<Solo<'a>> {
        let (cell, last) = {
            let mut map = lock(&self.left);
            match map.get_mut(d.fs.as_str()) {
                Some((left, slot)) => {
                    *left = left.saturating_sub(1);
                    let cell = slot.get_or_insert_with(Default::default).clone();
                    let last = *left == 0;
                    if last {
                        map.remove(d.fs.as_str());
                    }
                    (cell, last)
                }
                None => (SoloCell::default(), true),
            }
        };
        let mut made = false;
        let s = cell
            .get_or_init(|| {
                made = true;
                Arc::new(solo(scan, keys, d))
            })
            .clone();
        if made {
            STATS.with(|st| {
                let mut st = st.borrow_mut();
                st[0] += 1;
                st[1] += s.decided.len();
                st[2] += s.joint.len();
            });
        }
        // Held: made for later profiles; released by the last profile that uses it.
        match (made, last) {
            (true, false) => {
                let n = solo_size(&s);
                if self.held.fetch_add(n, AtOrd::Relaxed) + n > SOLO_CACHE {
                    for (_, slot) in lock(&self.left).values_mut() {
                        *slot = None;
                    }
                    self.held.store(0, AtOrd::Relaxed);
                    STATS.with(|st| st.borrow_mut()[3] += 1);
                }
            }
            (false, true) => {
                self.held.fetch_sub(solo_size(&s), AtOrd::Relaxed);
            }
            _ => {}
        }
        s
    }
}

fn solo<'a>(scan: &mut Scan<'a, '_>, keys: &KeyCache<'a>, d: &DevCpe) -> Solo<'a> {
    let index = scan.index;
    let mut hits = cpe_hits(index, keys, &scan.reasons, d);
    hits.sort_by_key(|(r, _)| (r.cve, r.cfg));
    let matched = [scan.interner.s(&d.fs)];
    let mut out = Solo { decided: Vec::new(), joint: Vec::new(), cves: Vec::new() };
    let mut i = 0;
    while i < hits.len() {
        let cve = hits[i].0.cve;
        let mut j = i;
        while j < hits.len() && hits[j].0.cve == cve {
            j += 1;
        }
        out.cves.push(cve);
        let group = &hits[i..j];
        if group.iter().all(|(r, _)| r.plain) {
            // The strongest hit, the first one on ties (as the per-configuration rule keeps).
            let mut k = 0;
            for x in 1..group.len() {
                if group[x].1.conf > group[k].1.conf {
                    k = x;
                }
            }
            let raw =
                RawHit { cve: Cow::Borrowed(index.cves[cve as usize].id.as_str()), jvn: None, hit: group[k].1.clone() };
            out.decided.push((cve, Arc::new(share(index, &matched, &raw, &mut scan.interner))));
        } else {
            out.joint.extend_from_slice(group);
        }
        i = j;
    }
    out
}

/// The findings of one profile: each CPE's own findings as made once, and a joint evaluation where
/// the profile's CPEs meet (AND configurations, platforms, or two CPEs hitting one CVE).
fn evaluate_profile<'a>(scan: &mut Scan<'a, '_>, shared: &Shared<'a>, devs: &mut [DevCpe]) -> Vec<Arc<ProfileFinding>> {
    let index = scan.index;
    let solos: Vec<Arc<Solo<'a>>> = devs.iter().map(|d| shared.solos.get(&shared.keys, scan, d)).collect();
    // CVEs hit by more than one of the profile's CPEs are decided jointly.
    let mut overlap: Vec<u32> = Vec::new();
    if solos.len() > 1 {
        let mut all: Vec<u32> = solos.iter().flat_map(|s| s.cves.iter().copied()).collect();
        all.sort_unstable();
        for w in all.windows(2) {
            if w[0] == w[1] && overlap.last() != Some(&w[0]) {
                overlap.push(w[0]);
            }
        }
    }
    let mut out: Vec<(u32, Arc<ProfileFinding>)> = Vec::new();
    let mut hits: Vec<(ERef, Hit<'a>)> = Vec::new();
    for (di, s) in solos.iter().enumerate() {
        if overlap.is_empty() {
            out.extend(s.decided.iter().cloned());
        } else {
            out.extend(s.decided.iter().filter(|(c, _)| overlap.binary_search(c).is_err()).cloned());
            // The hits behind decided CVEs another CPE also hits: made again (rare; not kept in memory).
            let decided = |c: &u32| s.decided.binary_search_by_key(c, |(x, _)| *x).is_ok();
            let again = cpe_hits(index, &shared.keys, &scan.reasons, &devs[di]);
            hits.extend(
                again
                    .into_iter()
                    .filter(|(r, _)| decided(&r.cve) && overlap.binary_search(&r.cve).is_ok())
                    .map(|(r, h)| (r, Hit { dev: di, ..h })),
            );
        }
        hits.extend(s.joint.iter().map(|(r, h)| (*r, Hit { dev: di, ..h.clone() })));
    }
    let mut raws: Vec<RawHit<'a>> = Vec::new();
    if !hits.is_empty() {
        // Per configuration: plain OR configurations take the best hit; anything with AND,
        // negation or platforms is evaluated as a whole tree.
        hits.sort_by_key(|(r, _)| (r.cve, r.cfg));
        let mut i = 0;
        while i < hits.len() {
            let cve = hits[i].0.cve;
            let mut best: Option<Hit<'a>> = None;
            while i < hits.len() && hits[i].0.cve == cve {
                let cfg_i = hits[i].0.cfg;
                let mut j = i;
                while j < hits.len() && hits[j].0.cve == cve && hits[j].0.cfg == cfg_i {
                    j += 1;
                }
                let h = if hits[i].0.plain {
                    let mut k = i;
                    for x in i + 1..j {
                        if hits[x].1.conf > hits[k].1.conf {
                            k = x;
                        }
                    }
                    Some(hits[k].1.clone())
                } else {
                    scan.compile(cve);
                    match scan.compiled.get(&cve) {
                        Some(configs) => eval_config(&configs[cfg_i as usize], devs, &scan.reasons),
                        None => None,
                    }
                };
                best = better(best, h);
                i = j;
            }
            if let Some(hit) = best {
                raws.push(RawHit { cve: Cow::Borrowed(index.cves[cve as usize].id.as_str()), jvn: None, hit });
            }
        }
    }
    let n_nvd = raws.len();
    // JVN entries, for CVEs NVD does not decide (a CVE with an NVD configuration never comes from JVN).
    if devs.iter().any(|d| index.jvn_by_vp.contains_key(&d.key)) {
        jvn_hits(index, devs, &mut raws);
    }
    let matched: Vec<Arc<str>> = devs.iter().map(|c| scan.interner.s(&c.fs)).collect();
    let mut shared: Vec<(u32, Arc<ProfileFinding>)> = Vec::with_capacity(raws.len());
    for (n, r) in raws.iter().enumerate() {
        let pf = Arc::new(share(index, &matched, r, &mut scan.interner));
        // NVD findings keep CVE order; JVN ones come after them.
        let key = if n < n_nvd { index_of(index, &r.cve) } else { u32::MAX };
        shared.push((key, pf));
    }
    out.extend(shared);
    out.sort_by_key(|(c, _)| *c);
    out.into_iter().map(|(_, f)| f).collect()
}

struct StatsPrint;
impl Drop for StatsPrint {
    fn drop(&mut self) {
        if std::env::var("MAMORI_MATCH_STATS").is_ok() {
            STATS.with(|st| {
                eprintln!("solo computed, decided, joint hits, resets, profiles, profile findings: {:?}", st.take())
            });
        }
    }
}

thread_local! {
    static STATS: std::cell::RefCell<[usize; 6]> = const { std::cell::RefCell::new([0; 6]) };
}

fn index_of(index: &VulnIndex, id: &str) -> u32 {
    index.cves.binary_search_by(|c| c.id.as_str().cmp(id)).map(|i| i as u32).unwrap_or(u32::MAX)
}

/// The hits of one device CPE on the criteria naming its vendor:product (`dev` 0): the
/// criteria without an exact version first, then those of the device's exact versions, each in
/// CVE order.
fn cpe_hits<'a>(index: &VulnIndex<'a>, keys: &KeyCache<'a>, rs: &Reasons, d: &DevCpe) -> Vec<(ERef, Hit<'a>)> {
    let mut hits = Vec::new();
    let Some(kc) = keys.get(index, d.kid, &d.key) else { return hits };
    let mut eval = |list: &[KEntry<'a>]| {
        for k in list {
            if let Some(h) = k.e.info.as_ref().and_then(|c| eval_entry(&k.e, c, d, 0, rs)) {
                hits.push((k.r, h));
            }
        }
    };
    eval(&kc.other);
    match &d.ver {
        DevVer::Parsed(base, combined) => {
            let mut keys = vec![combined.canonical(), base.canonical()];
            // A bare Citrix release ("13.0") lists every build of it.
            keys.push(combined.prefix_canonical(1));
            keys.push(combined.prefix_canonical(2));
            keys.sort();
            keys.dedup();
            for k in keys {
                if let Some(v) = kc.exact.get(&k) {
                    eval(v);
                }
            }
        }
        _ => {
            for v in kc.exact.values() {
                eval(v);
            }
        }
    }
    hits
}

/// JVN entries for products the profile shows, for CVEs NVD does not already decide.
fn jvn_hits<'a>(index: &VulnIndex<'a>, devs: &[DevCpe], out: &mut Vec<RawHit<'a>>) {
    let mut seen_jvn: Vec<&str> = Vec::new();
    for (di, d) in devs.iter().enumerate() {
        let Some(list) = index.jvn_by_vp.get(&d.key) else { continue };
        for j in list {
            if seen_jvn.contains(&j.jvndb_id.as_str()) {
                continue;
            }
            let Some(hit) = eval_jvn(j, d, di) else { continue };
            seen_jvn.push(&j.jvndb_id);
            let ids: Vec<&'a str> = if j.cve_ids.is_empty() {
                vec![j.jvndb_id.as_str()]
            } else {
                j.cve_ids.iter().map(String::as_str).collect()
            };
            for id in ids {
                let nvd_decides = index.db.cves.get(id).is_some_and(|c| !c.configurations.is_empty());
                if nvd_decides || out.iter().any(|r: &RawHit| r.cve == id) {
                    continue;
                }
                out.push(RawHit { cve: Cow::Borrowed(id), jvn: Some(j.jvndb_id.as_str()), hit: hit.clone() });
            }
        }
    }
}

fn eval_jvn<'a>(j: &'a JvnRecord, d: &DevCpe, di: usize) -> Option<Hit<'a>> {
    let mut best: Option<Hit<'a>> = None;
    for a in &j.affected {
        let Some(c) = a.cpe.as_deref().and_then(|c| Cpe::parse(c).ok()) else { continue };
        if vp_key(&c).as_ref() != Some(&d.key) || !part_compatible(&c, &d.cpe) {
            continue;
        }
        let crit = c.to_fs();
        let mk = |conf, reason: String| {
            Some(Hit { conf, dev: di, criterion: Arc::from(crit.as_str()), fixed: None, reason: Arc::from(reason) })
        };
        if a.versions.is_empty() {
            best = better(
                best,
                mk(
                    Confidence::Jvn,
                    "JVN は版数を示していません（製品名で一致）/ JVN gives no version (product matches)".into(),
                ),
            );
            continue;
        }
        for text in &a.versions {
            let h = match (parse_jvn_version(text), &d.ver) {
                (None, _) => mk(
                    Confidence::NeedsManualReview,
                    format!(
                        "JVN の版数記述「{text}」を機械的に判定できません / JVN's version text \"{text}\" cannot be read mechanically"
                    ),
                ),
                (Some(_), DevVer::Unknown | DevVer::Na) => mk(
                    Confidence::Jvn,
                    format!("台帳に版数がなく、JVN は「{text}」/ no version in the ledger; JVN says \"{text}\""),
                ),
                (Some(_), DevVer::Unparsable(t)) => mk(
                    Confidence::NeedsManualReview,
                    format!(
                        "版数「{t}」を JVN の「{text}」と比較できません / version \"{t}\" cannot be compared with JVN's \"{text}\""
                    ),
                ),
                (Some(con), DevVer::Parsed(_, v)) => {
                    let r = match &con {
                        JvnVersionText::Below(b) => Range { end_excluding: Some(b), ..Default::default() },
                        JvnVersionText::UpTo(b) => Range { end_including: Some(b), ..Default::default() },
                        JvnVersionText::FromBelow(a, b) => {
                            Range { start_including: Some(a), end_excluding: Some(b), ..Default::default() }
                        }
                        JvnVersionText::Exactly(x) => {
                            Range { start_including: Some(x), end_including: Some(x), ..Default::default() }
                        }
                    };
                    match r.contains(v) {
                        Ok(true) => {
                            let mut h = mk(
                                Confidence::Jvn,
                                format!(
                                    "JVN の記述「{text}」に版数 {} が該当 / version {} fits JVN's \"{text}\"",
                                    v.as_str(),
                                    v.as_str()
                                ),
                            );
                            if let (Some(h), JvnVersionText::Below(b) | JvnVersionText::FromBelow(_, b)) =
                                (h.as_mut(), &con)
                            {
                                h.fixed = Some(Cow::Owned(b.clone()));
                            }
                            h
                        }
                        Ok(false) => None,
                        Err(_) => mk(
                            Confidence::NeedsManualReview,
                            format!(
                                "版数 {} を JVN の「{text}」と比較できません / version {} cannot be compared with JVN's \"{text}\"",
                                v.as_str(),
                                v.as_str()
                            ),
                        ),
                    }
                }
            };
            best = better(best, h);
        }
    }
    best
}

fn device_cpes(n: &Normalised) -> Vec<DevCpe> {
    let mut v: Vec<DevCpe> = n.candidates.iter().filter_map(|c| prepare(&c.cpe)).collect();
    v.sort_by(|a, b| a.fs.cmp(&b.fs));
    v.dedup_by(|a, b| a.fs == b.fs);
    v
}

/// A finding of a device profile (all devices with the same CPEs share it); the per-device part
/// (device_ref, external connection point → tier and priority) is added by [`ProfileFinding::for_device`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileFinding {
    pub cve_id: Arc<str>,
    pub jvn_id: Option<Arc<str>>,
    pub conf: Confidence,
    /// Kev or KevRansomware when the CVE is in KEV.
    pub kev_tier: Option<PriorityTier>,
    /// CVSS base score used for priority (v3.x, else v4.0, else any).
    pub score: f32,
    pub cvss_v3: Option<Arc<CvssScore>>,
    pub cvss_v4: Option<Arc<CvssScore>>,
    pub kev: Option<Arc<KevInfo>>,
    pub fixed: Option<Arc<str>>,
    pub title: Option<Arc<str>>,
    pub matched: Arc<str>,
    pub criterion: Arc<str>,
    pub reason: Arc<str>,
}

/// One device profile and its findings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's device CPEs (2.3 formatted strings, sorted).
    pub cpes: Vec<String>,
    /// Indexes into the `devices` slice given to the scan.
    pub devices: Vec<usize>,
    /// Shared with every other profile that has the same CPE (an `Arc` per finding, not a copy).
    pub findings: Vec<Arc<ProfileFinding>>,
}

/// Shares identical strings (criteria, reasons, CVSS) across all findings of a scan.
#[derive(Default)]
struct Interner<'a> {
    strs: std::collections::HashSet<Arc<str>, std::hash::BuildHasherDefault<Fx>>,
    decor: FxMap<(Cow<'a, str>, Option<&'a str>), Rc<CveDecor>>,
}

impl Interner<'_> {
    fn len(&self) -> usize {
        self.strs.len() + self.decor.len()
    }

    fn s(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strs.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strs.insert(a.clone());
        a
    }
}

/// What a finding shows about its CVE, made once per CVE and scan.
struct CveDecor {
    cve_id: Arc<str>,
    jvn_id: Option<Arc<str>>,
    kev_tier: Option<PriorityTier>,
    score: f32,
    cvss_v3: Option<Arc<CvssScore>>,
    cvss_v4: Option<Arc<CvssScore>>,
    kev: Option<Arc<KevInfo>>,
    title: Option<Arc<str>>,
}

fn decor(index: &VulnIndex, id: &str, jvn_id: Option<&str>) -> CveDecor {
    let cve = index.db.cves.get(id);
    let kev = index.db.kev.get(id);
    let jvn = jvn_id.and_then(|j| index.db.jvn.get(j)).or_else(|| index.jvn_by_cve.get(id).copied());
    let pick = |vs: &[&str]| -> Option<&CvssScore> {
        let from_nvd = cve.and_then(|c| vs.iter().find_map(|v| c.cvss.iter().find(|s| &*s.version == *v)));
        from_nvd.or_else(|| jvn.and_then(|j| vs.iter().find_map(|v| j.cvss.iter().find(|s| &*s.version == *v))))
    };
    let v3 = pick(&["3.1", "3.0"]);
    let v4 = pick(&["4.0"]);
    let score = v3
        .or(v4)
        .map(|s| s.base_score)
        .or_else(|| cve.and_then(|c| c.primary_cvss()).map(|s| s.base_score))
        .unwrap_or(0.0);
    CveDecor {
        cve_id: Arc::from(id),
        jvn_id: jvn_id.or_else(|| jvn.map(|j| j.jvndb_id.as_str())).map(Arc::from),
        kev_tier: kev.map(|k| if k.ransomware_known() { PriorityTier::KevRansomware } else { PriorityTier::Kev }),
        score,
        cvss_v3: v3.map(|c| Arc::new(c.clone())),
        cvss_v4: v4.map(|c| Arc::new(c.clone())),
        kev: kev.map(|k| Arc::new(KevInfo::from(k))),
        title: jvn.map(|j| Arc::from(j.title.as_str())),
    }
}

fn share<'a>(index: &VulnIndex, matched: &[Arc<str>], r: &RawHit<'a>, it: &mut Interner<'a>) -> ProfileFinding {
    let key = (r.cve.clone(), r.jvn);
    let d = match it.decor.get(&key) {
        Some(d) => d.clone(),
        None => {
            let d = Rc::new(decor(index, &r.cve, r.jvn));
            it.decor.insert(key, d.clone());
            d
        }
    };
    ProfileFinding {
        cve_id: d.cve_id.clone(),
        jvn_id: d.jvn_id.clone(),
        conf: r.hit.conf,
        kev_tier: d.kev_tier,
        score: d.score,
        cvss_v3: d.cvss_v3.clone(),
        cvss_v4: d.cvss_v4.clone(),
        kev: d.kev.clone(),
        fixed: r.hit.fixed.as_deref().map(|f| it.s(f)),
        title: d.title.clone(),
        matched: matched.get(r.hit.dev).cloned().unwrap_or_else(|| Arc::from("")),
        criterion: r.hit.criterion.clone(),
        reason: r.hit.reason.clone(),
    }
}

impl ProfileFinding {
    /// The finding for one device of the profile.
    pub fn for_device(&self, device_ref: &Arc<str>, at_external_point: bool) -> Finding {
        finding(device_ref, at_external_point, self)
    }
}

fn finding(dev_ref: &Arc<str>, external: bool, h: &ProfileFinding) -> Finding {
    let tier = h.kev_tier.unwrap_or(if external { PriorityTier::ExternalPoint } else { PriorityTier::Cvss });
    let flags = (tier as u32) * 2 + u32::from(external);
    Finding {
        device_ref: dev_ref.clone(),
        cve_id: h.cve_id.clone(),
        jvn_id: h.jvn_id.clone(),
        confidence: h.conf,
        tier,
        priority: flags * 1000 + (h.score * 10.0).round() as u32,
        cvss_v3: h.cvss_v3.clone(),
        cvss_v4: h.cvss_v4.clone(),
        kev: h.kev.clone(),
        fixed_version: h.fixed.clone(),
        title_ja: h.title.clone(),
        matched_cpe: h.matched.clone(),
        criterion: h.criterion.clone(),
        reason: h.reason.clone(),
        at_external_point: external,
    }
}

/// Normalises every device, groups devices with identical CPEs into profiles and evaluates each
/// profile once, calling `sink` with each profile and its findings (nothing is kept). Profiles are
/// visited in CPE order so caches stay warm (two workers split the sorted list; the order in which
/// `sink` sees profiles is not defined); caches are emptied when they grow past a bound, so
/// memory stays flat. This is the cheapest way to store results: per profile, plus the
/// device → profile map. Returns normalisation results (device order), review list, profile count.
pub fn scan_profiles(index: &VulnIndex, devices: &[DeviceFacts], sink: impl FnMut(Profile)) -> Diagnosis {
    let known = |v: &str, p: &str| index.knows(v, p);
    let normalised = devices.iter().map(|dev| normalise(dev, Some(&known))).collect();
    scan_normalised(index, devices, normalised, sink)
}

/// Like [`scan_profiles`], with the devices already normalised (`normalised[i]` belongs to
/// `devices[i]`): for a caller whose index holds only part of the data (a store-backed scan loads
/// only the records of its devices' products) and who checks guesses against the full dictionary.
pub fn scan_normalised(
    index: &VulnIndex,
    devices: &[DeviceFacts],
    normalised: Vec<Normalised>,
    mut sink: impl FnMut(Profile),
) -> Diagnosis {
    let mut d = Diagnosis::default();
    let mut groups: FxMap<Vec<String>, (Vec<DevCpe>, Vec<usize>)> = FxMap::default();
    for (i, (dev, n)) in devices.iter().zip(normalised).enumerate() {
        let mut cpes = device_cpes(&n);
        for c in &mut cpes {
            c.kid = index.key_id(&c.key);
        }
        if cpes.is_empty() || !n.unrecognised.is_empty() || !n.notes.is_empty() {
            d.review.push(ReviewItem {
                device_ref: dev.device_ref.clone(),
                unrecognised: n.unrecognised.clone(),
                notes: n.notes.clone(),
            });
        }
        let profile: Vec<String> = cpes.iter().map(|c| c.fs.clone()).collect();
        groups.entry(profile).or_insert_with(|| (cpes, Vec::new())).1.push(i);
        d.normalised.push(n);
    }
    let mut order: Vec<ProfileGroup> = groups.into_iter().collect();
    order.sort_by(|a, b| a.0.cmp(&b.0));
    d.profiles_evaluated = order.len();
    let shared = Shared { keys: KeyCache::new(index, &order), solos: SoloCache::new(&order) };
    // Profiles are independent: up to two workers (the target machines have two cores) take runs
    // of the sorted profiles from one queue; each device CPE's own findings are made once
    // (`SoloCache`) and each vendor:product compiled once (the index), whichever worker needs
    // them first. The caller's sink runs here.
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 2);
    if workers == 1 || order.len() < 2 * PROFILE_RUN {
        let mut scan = Scan::new(index);
        let _guard = StatsPrint;
        for p in order {
            eval_one(&mut scan, &shared, p, &mut sink);
        }
        return d;
    }
    let mut runs: Vec<Mutex<Vec<ProfileGroup>>> = Vec::with_capacity(order.len() / PROFILE_RUN + 1);
    let mut rest = order.into_iter();
    loop {
        let run: Vec<ProfileGroup> = rest.by_ref().take(PROFILE_RUN).collect();
        if run.is_empty() {
            break;
        }
        runs.push(Mutex::new(run));
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Profile>(64);
        for _ in 0..workers {
            let tx = tx.clone();
            let (runs, next, shared) = (&runs, &next, &shared);
            s.spawn(move || {
                let mut scan = Scan::new(index);
                let _guard = StatsPrint;
                while let Some(run) = runs.get(next.fetch_add(1, AtOrd::Relaxed)) {
                    for p in std::mem::take(&mut *lock(run)) {
                        eval_one(&mut scan, shared, p, &mut |p| {
                            let _ = tx.send(p);
                        });
                    }
                }
            });
        }
        drop(tx);
        for p in rx {
            sink(p);
        }
    });
    d
}

/// Profiles a worker takes from the queue at once (neighbours in CPE order share CPEs).
const PROFILE_RUN: usize = 16;

type ProfileGroup = (Vec<String>, (Vec<DevCpe>, Vec<usize>));

/// What the workers of one scan share.
struct Shared<'a> {
    keys: KeyCache<'a>,
    solos: SoloCache<'a>,
}

fn eval_one<'a>(scan: &mut Scan<'a, '_>, shared: &Shared<'a>, p: ProfileGroup, sink: &mut dyn FnMut(Profile)) {
    let (key, (mut cpes, members)) = p;
    let findings = if cpes.is_empty() { Vec::new() } else { evaluate_profile(scan, shared, &mut cpes) };
    for c in &cpes {
        shared.keys.release(c.kid);
    }
    STATS.with(|st| {
        let mut st = st.borrow_mut();
        st[4] += 1;
        st[5] += findings.len();
    });
    sink(Profile { cpes: key, devices: members, findings });
    if scan.held() > WORKER_CACHE {
        STATS.with(|st| st.borrow_mut()[3] += 1);
        *scan = Scan::new(scan.index);
    }
}

/// Like [`scan_profiles`], but calls `sink` with every per-device finding (millions for a large
/// ledger: stream them into the store rather than collecting them).
pub fn scan_devices(index: &VulnIndex, devices: &[DeviceFacts], mut sink: impl FnMut(Finding)) -> Diagnosis {
    scan_profiles(index, devices, |p| {
        for &i in &p.devices {
            let dev = &devices[i];
            let dev_ref: Arc<str> = Arc::from(dev.device_ref.as_str());
            for h in &p.findings {
                sink(finding(&dev_ref, dev.at_external_point, h));
            }
        }
    })
}

/// Normalises, matches and lists what needs review; findings highest priority first.
pub fn diagnose(index: &VulnIndex, devices: &[DeviceFacts]) -> Diagnosis {
    let mut findings = Vec::new();
    let mut d = scan_devices(index, devices, |f| findings.push(f));
    findings.sort_by(|a, b| {
        b.priority.cmp(&a.priority).then_with(|| a.device_ref.cmp(&b.device_ref)).then_with(|| a.cve_id.cmp(&b.cve_id))
    });
    d.findings = findings;
    d
}

/// Findings for all devices, highest priority first.
pub fn match_devices(index: &VulnIndex, devices: &[DeviceFacts]) -> Vec<Finding> {
    diagnose(index, devices).findings
}
