//! The index and the matcher: NVD configuration trees and JVN entries against device CPEs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::cpe::{Av, Cpe, Relation, canonical_vendor_product, compare_attr};
use crate::db::VulnDb;
use crate::jvn::{JvnVersionText, parse_jvn_version};
use crate::model::{Configuration, CpeMatch, CveRecord, CvssScore, JvnRecord, KevEntry, Operator};
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

/// One vulnerability on one device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable key for lifecycle records: `device_ref` + `|` + `cve_id`.
    pub key: String,
    pub device_ref: String,
    /// CVE id, or the JVNDB id when JVN names no CVE.
    pub cve_id: String,
    pub jvn_id: Option<String>,
    pub confidence: Confidence,
    pub tier: PriorityTier,
    /// Sort key, higher first: tier, then CVSS.
    pub priority: u32,
    pub cvss_v3: Option<CvssScore>,
    pub cvss_v4: Option<CvssScore>,
    pub kev: Option<KevInfo>,
    /// First fixed version where NVD's versionEndExcluding gives it.
    pub fixed_version: Option<String>,
    /// Japanese title from JVN, when JVN has an entry for this CVE.
    pub title_ja: Option<String>,
    /// The device CPE that matched.
    pub matched_cpe: String,
    /// The NVD criterion (or JVN product CPE) it matched.
    pub criterion: String,
    /// Why, Japanese first, English second.
    pub reason: String,
    pub at_external_point: bool,
}

impl Finding {
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

/// Lookup structure over a [`VulnDb`], keyed by canonical (vendor, product).
pub struct VulnIndex<'a> {
    db: &'a VulnDb,
    cves: Vec<&'a CveRecord>,
    by_vp: HashMap<Key, Vec<u32>>,
    jvn_by_vp: HashMap<Key, Vec<&'a JvnRecord>>,
    jvn_by_cve: HashMap<&'a str, &'a JvnRecord>,
    /// Criteria that did not parse as CPE 2.3 (skipped).
    pub bad_criteria: usize,
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
        let mut by_vp: HashMap<Key, Vec<u32>> = HashMap::new();
        let mut bad = 0;
        for (i, c) in cves.iter().enumerate() {
            for cfg in &c.configurations {
                for n in &cfg.nodes {
                    for m in n.cpe_match.iter().filter(|m| m.vulnerable) {
                        match Cpe::parse(&m.criteria).ok().as_ref().and_then(vp_key) {
                            Some(k) => {
                                let v = by_vp.entry(k).or_default();
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
        VulnIndex { db, cves, by_vp, jvn_by_vp, jvn_by_cve, bad_criteria: bad }
    }

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

#[derive(Clone, Debug)]
struct DevCpe {
    cpe: Cpe,
    fs: String,
    key: Key,
    family: Family,
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
    Some(DevCpe { fs: cpe.to_fs(), cpe: cpe.clone(), key, family, ver })
}

/// Result of one criterion against the device.
#[derive(Clone, Debug)]
struct Hit {
    conf: Confidence,
    dev: usize,
    criterion: String,
    fixed: Option<String>,
    reason: String,
}

fn better(a: Option<Hit>, b: Option<Hit>) -> Option<Hit> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.conf > x.conf { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Attributes other than part/vendor/product/version/update: a device that does not state one is
/// not held against it; a stated, different one is.
fn rest_compatible(c: &Cpe, d: &Cpe) -> bool {
    [
        (&c.edition, &d.edition),
        (&c.language, &d.language),
        (&c.sw_edition, &d.sw_edition),
        (&c.target_sw, &d.target_sw),
        (&c.target_hw, &d.target_hw),
        (&c.other, &d.other),
    ]
    .iter()
    .all(|(s, t)| compare_attr(s, t) != Relation::Disjoint || t.is_any())
}

/// Updates a family does not fold into the version (Windows SP, Exchange CU …) must agree when both
/// sides state them; a device that states none is not held against it.
fn update_compatible(c: &Cpe, d: &Cpe, f: Family) -> bool {
    if matches!(f, Family::PanOs | Family::Ivanti) {
        return true;
    }
    if f == Family::Generic {
        if let Some(u) = c.update.text() {
            // Pre-release updates are folded into the version ("2.0" + "beta9").
            if crate::version::combine(f, "0", Some(&u)) != "0" {
                return true;
            }
        }
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
    if let Some(v) = &m.version_start_including {
        s.push(format!(">= {v}"));
    }
    if let Some(v) = &m.version_start_excluding {
        s.push(format!("> {v}"));
    }
    if let Some(v) = &m.version_end_including {
        s.push(format!("<= {v}"));
    }
    if let Some(v) = &m.version_end_excluding {
        s.push(format!("< {v}"));
    }
    s.join(", ")
}

/// A vulnerable criterion against one device CPE.
fn eval_vulnerable(m: &CpeMatch, c: &Cpe, d: &DevCpe, di: usize) -> Option<Hit> {
    if !part_compatible(c, &d.cpe) || !rest_compatible(c, &d.cpe) {
        return None;
    }
    let crit = m.criteria.to_string();
    if !update_compatible(c, &d.cpe, d.family) {
        return None;
    }
    let hit = |conf, fixed: Option<String>, reason: String| Some(Hit { conf, dev: di, criterion: crit.clone(), fixed, reason });
    let f = d.family;
    if m.has_range() {
        let r = Range {
            start_including: m.version_start_including.as_deref(),
            start_excluding: m.version_start_excluding.as_deref(),
            end_including: m.version_end_including.as_deref(),
            end_excluding: m.version_end_excluding.as_deref(),
        };
        let rt = range_text(m);
        return match &d.ver {
            DevVer::Unknown | DevVer::Na => hit(
                Confidence::VendorProductOnly,
                None,
                format!("台帳に版数がないため製品名だけで一致（影響範囲 {rt}）/ no version in the ledger, product matches (affected {rt})"),
            ),
            DevVer::Unparsable(t) => hit(
                Confidence::NeedsManualReview,
                None,
                format!("版数「{t}」を比較できません（影響範囲 {rt}）/ version \"{t}\" cannot be compared (affected {rt})"),
            ),
            DevVer::Parsed(_, v) => match r.contains(v) {
                Ok(true) => hit(
                    Confidence::Range,
                    m.version_end_excluding.as_deref().map(str::to_string),
                    format!("版数 {} が影響範囲 {rt} に入ります / version {} is inside {rt}", v.as_str(), v.as_str()),
                ),
                Ok(false) => None,
                Err(e) => hit(
                    Confidence::NeedsManualReview,
                    None,
                    format!("版数を範囲 {rt} と比較できません（{}）/ cannot compare the version with {rt} ({})", e.0, e.0),
                ),
            },
        };
    }
    match &c.version {
        Av::Any => hit(
            Confidence::VendorProductOnly,
            None,
            "NVD は全版を対象としています / NVD lists all versions".into(),
        ),
        Av::Na => match &d.ver {
            DevVer::Unknown | DevVer::Na => hit(Confidence::Exact, None, "NVD はこの製品（版数区別なし）を対象としています / NVD lists this product without versions".into()),
            _ if f == Family::Windows => hit(
                Confidence::Exact,
                None,
                "NVD はこのリリースを対象としています（ビルド・更新の適用状況は NVD に記載なし）/ NVD lists this release (patch level not given by NVD)".into(),
            ),
            _ => hit(
                Confidence::VendorProductOnly,
                None,
                "NVD は版数を区別していません / NVD gives no version".into(),
            ),
        },
        Av::Value(_) => {
            let cv = c.version.text().unwrap_or_default();
            let cu = c.update.text();
            // Families that fold the update into the version (PAN-OS hotfix, Ivanti R-release)
            // compare the combined string; an ANY update in NVD means every update of that version.
            let folds = matches!(f, Family::PanOs | Family::Ivanti);
            let (listed, use_base) = match (&c.update, folds) {
                (Av::Any, true) => (cv.clone(), true),
                (Av::Na, true) => (cv.clone(), false),
                _ => (combine(f, &cv, cu.as_deref()), false),
            };
            match &d.ver {
                DevVer::Unknown => hit(
                    Confidence::VendorProductOnly,
                    None,
                    format!("台帳に版数がないため製品名だけで一致（NVD の対象版 {listed}）/ no version in the ledger, product matches (NVD lists {listed})"),
                ),
                DevVer::Na => None,
                DevVer::Unparsable(t) => {
                    if t.eq_ignore_ascii_case(&listed) {
                        hit(Confidence::Exact, None, format!("版数 {listed} が一致 / version {listed} matches"))
                    } else {
                        hit(
                            Confidence::NeedsManualReview,
                            None,
                            format!("版数「{t}」を NVD の {listed} と比較できません / version \"{t}\" cannot be compared with {listed}"),
                        )
                    }
                }
                DevVer::Parsed(base, combined) => {
                    let dv = if use_base { base } else { combined };
                    let ok = match Version::parse(f, &listed) {
                        Ok(lv) => dv.equals_listed(&lv),
                        Err(_) => dv.as_str().eq_ignore_ascii_case(&listed),
                    };
                    if !ok {
                        return None;
                    }
                    let bare = Version::parse(f, &listed).map(|v| v.is_bare_release()).unwrap_or(false);
                    if bare && dv.as_str() != listed {
                        hit(
                            Confidence::Range,
                            None,
                            format!("NVD はリリース {listed} の全ビルドを対象としています / NVD lists every build of release {listed}"),
                        )
                    } else {
                        hit(Confidence::Exact, None, format!("版数 {listed} が一致 / version {listed} matches"))
                    }
                }
            }
        }
    }
}

/// A non-vulnerable (platform) criterion: is it present on the device?
fn platform_present(m: &CpeMatch, c: &Cpe, devs: &[DevCpe], key: &Key) -> bool {
    devs.iter().any(|d| {
        if &d.key != key || !part_compatible(c, &d.cpe) {
            return false;
        }
        // Version of a platform: when both sides state one, it must fit.
        eval_vulnerable(m, c, d, 0).is_some()
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Platform {
    Present,
    /// The device shows a platform of this kind, but not this one.
    Mismatch,
    /// The ledger shows nothing of this kind (hardware / OS): cannot tell.
    Unknown,
}

struct Parsed<'m> {
    m: &'m CpeMatch,
    cpe: Option<Cpe>,
    key: Option<Key>,
}

fn eval_config(cfg: &Configuration, devs: &[DevCpe]) -> Option<Hit> {
    if cfg.negate {
        // NVD does not use negated configurations in practice; never guess a finding from one.
        return None;
    }
    let mut vuln_hits: Vec<Option<Hit>> = Vec::new();
    let mut platforms: Vec<Platform> = Vec::new();
    for node in &cfg.nodes {
        let parsed: Vec<Parsed> = node
            .cpe_match
            .iter()
            .map(|m| {
                let cpe = Cpe::parse(&m.criteria).ok();
                let key = cpe.as_ref().and_then(vp_key);
                Parsed { m, cpe, key }
            })
            .collect();
        let has_vulnerable = parsed.iter().any(|p| p.m.vulnerable);
        if has_vulnerable && !node.negate {
            let mut per: Vec<Option<Hit>> = Vec::new();
            for p in parsed.iter().filter(|p| p.m.vulnerable) {
                let (Some(c), Some(k)) = (&p.cpe, &p.key) else {
                    per.push(None);
                    continue;
                };
                let mut best = None;
                for (di, d) in devs.iter().enumerate() {
                    if &d.key == k {
                        best = better(best, eval_vulnerable(p.m, c, d, di));
                    }
                }
                per.push(best);
            }
            let node_hit = match node.operator {
                Operator::Or => per.into_iter().fold(None, better),
                Operator::And => {
                    if per.iter().all(Option::is_some) {
                        per.into_iter().fold(None, |a, b| match (a, b) {
                            (None, y) => y,
                            (Some(x), Some(y)) => Some(if y.conf < x.conf { y } else { x }),
                            (x, None) => x,
                        })
                    } else {
                        None
                    }
                }
            };
            vuln_hits.push(node_hit);
        } else {
            // Platform condition.
            let present: Vec<bool> = parsed
                .iter()
                .map(|p| match (&p.cpe, &p.key) {
                    (Some(c), Some(k)) => platform_present(p.m, c, devs, k),
                    _ => false,
                })
                .collect();
            let mut ok = match node.operator {
                Operator::Or => present.iter().any(|b| *b),
                Operator::And => !present.is_empty() && present.iter().all(|b| *b),
            };
            if node.negate {
                ok = !ok;
            }
            let kinds: Vec<char> = parsed.iter().filter_map(|p| p.cpe.as_ref().and_then(Cpe::part_char)).collect();
            let shows_kind = devs.iter().any(|d| d.cpe.part_char().is_some_and(|pc| kinds.contains(&pc)));
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
            let hit = vuln_hits.into_iter().fold(None, |a: Option<Hit>, b| match (a, b) {
                (None, y) => y,
                (Some(x), Some(y)) => Some(if y.conf < x.conf { y } else { x }),
                (x, None) => x,
            })?;
            if platforms.contains(&Platform::Mismatch) {
                None
            } else if platforms.contains(&Platform::Unknown) {
                let conf = if hit.conf == Confidence::NeedsManualReview { hit.conf } else { Confidence::PlatformUnknown };
                Some(Hit {
                    conf,
                    reason: format!(
                        "{}。ただし動作環境（機種・OS）の条件が台帳から分かりません / {}; but the required platform (hardware/OS) is not shown in the ledger",
                        hit.reason.split(" / ").next().unwrap_or(""),
                        hit.reason.split(" / ").nth(1).unwrap_or("")
                    ),
                    ..hit
                })
            } else {
                Some(hit)
            }
        }
    }
}

/// A finding before device-specific decoration.
#[derive(Clone, Debug)]
struct RawHit {
    cve: String,
    jvn: Option<String>,
    hit: Hit,
}

fn evaluate_profile(index: &VulnIndex, devs: &[DevCpe]) -> Vec<RawHit> {
    let mut touched: Vec<u32> = Vec::new();
    for d in devs {
        if let Some(v) = index.by_vp.get(&d.key) {
            touched.extend_from_slice(v);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    let mut out = Vec::new();
    for i in touched {
        let cve = index.cves[i as usize];
        let best = cve.configurations.iter().map(|c| eval_config(c, devs)).fold(None, better);
        if let Some(hit) = best {
            out.push(RawHit { cve: cve.id.clone(), jvn: None, hit });
        }
    }
    // JVN entries for products the device shows, for CVEs NVD does not already decide.
    let mut seen_jvn: Vec<&str> = Vec::new();
    for (di, d) in devs.iter().enumerate() {
        let Some(list) = index.jvn_by_vp.get(&d.key) else { continue };
        for j in list {
            if seen_jvn.contains(&j.jvndb_id.as_str()) {
                continue;
            }
            let Some(hit) = eval_jvn(j, d, di) else { continue };
            seen_jvn.push(&j.jvndb_id);
            let ids: Vec<String> = if j.cve_ids.is_empty() { vec![j.jvndb_id.clone()] } else { j.cve_ids.clone() };
            for id in ids {
                let nvd_decides = index.db.cves.get(&id).is_some_and(|c| !c.configurations.is_empty());
                if nvd_decides || out.iter().any(|r: &RawHit| r.cve == id) {
                    continue;
                }
                out.push(RawHit { cve: id, jvn: Some(j.jvndb_id.clone()), hit: hit.clone() });
            }
        }
    }
    out
}

fn eval_jvn(j: &JvnRecord, d: &DevCpe, di: usize) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    for a in &j.affected {
        let Some(c) = a.cpe.as_deref().and_then(|c| Cpe::parse(c).ok()) else { continue };
        if vp_key(&c).as_ref() != Some(&d.key) || !part_compatible(&c, &d.cpe) {
            continue;
        }
        let crit = c.to_fs();
        let mk = |conf, reason: String| Some(Hit { conf, dev: di, criterion: crit.clone(), fixed: None, reason });
        if a.versions.is_empty() {
            best = better(best, mk(Confidence::Jvn, "JVN は版数を示していません（製品名で一致）/ JVN gives no version (product matches)".into()));
            continue;
        }
        for text in &a.versions {
            let h = match (parse_jvn_version(text), &d.ver) {
                (None, _) => mk(
                    Confidence::NeedsManualReview,
                    format!("JVN の版数記述「{text}」を機械的に判定できません / JVN's version text \"{text}\" cannot be read mechanically"),
                ),
                (Some(_), DevVer::Unknown | DevVer::Na) => mk(
                    Confidence::Jvn,
                    format!("台帳に版数がなく、JVN は「{text}」/ no version in the ledger; JVN says \"{text}\""),
                ),
                (Some(_), DevVer::Unparsable(t)) => mk(
                    Confidence::NeedsManualReview,
                    format!("版数「{t}」を JVN の「{text}」と比較できません / version \"{t}\" cannot be compared with JVN's \"{text}\""),
                ),
                (Some(con), DevVer::Parsed(_, v)) => {
                    let r = match &con {
                        JvnVersionText::Below(b) => Range { end_excluding: Some(b), ..Default::default() },
                        JvnVersionText::UpTo(b) => Range { end_including: Some(b), ..Default::default() },
                        JvnVersionText::FromBelow(a, b) => Range { start_including: Some(a), end_excluding: Some(b), ..Default::default() },
                        JvnVersionText::Exactly(x) => Range { start_including: Some(x), end_including: Some(x), ..Default::default() },
                    };
                    match r.contains(v) {
                        Ok(true) => {
                            let mut h = mk(
                                Confidence::Jvn,
                                format!("JVN の記述「{text}」に版数 {} が該当 / version {} fits JVN's \"{text}\"", v.as_str(), v.as_str()),
                            );
                            if let (Some(h), JvnVersionText::Below(b) | JvnVersionText::FromBelow(_, b)) = (h.as_mut(), &con) {
                                h.fixed = Some(b.clone());
                            }
                            h
                        }
                        Ok(false) => None,
                        Err(_) => mk(
                            Confidence::NeedsManualReview,
                            format!("版数 {} を JVN の「{text}」と比較できません / version {} cannot be compared with JVN's \"{text}\"", v.as_str(), v.as_str()),
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

/// Normalises, matches and lists what needs review.
pub fn diagnose(index: &VulnIndex, devices: &[DeviceFacts]) -> Diagnosis {
    let known = |v: &str, p: &str| index.knows(v, p);
    let mut memo: HashMap<Vec<String>, Vec<RawHit>> = HashMap::new();
    let mut d = Diagnosis::default();
    for dev in devices {
        let n = normalise(dev, Some(&known));
        let cpes = device_cpes(&n);
        if cpes.is_empty() || !n.unrecognised.is_empty() || !n.notes.is_empty() {
            d.review.push(ReviewItem { device_ref: dev.device_ref.clone(), unrecognised: n.unrecognised.clone(), notes: n.notes.clone() });
        }
        let profile: Vec<String> = cpes.iter().map(|c| c.fs.clone()).collect();
        let raws = memo.entry(profile).or_insert_with(|| evaluate_profile(index, &cpes));
        for r in raws.iter() {
            d.findings.push(decorate(index, dev, &cpes, r));
        }
        d.normalised.push(n);
    }
    d.profiles_evaluated = memo.len();
    d.findings.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.device_ref.cmp(&b.device_ref)).then_with(|| a.cve_id.cmp(&b.cve_id)));
    d
}

/// Findings for all devices, highest priority first.
pub fn match_devices(index: &VulnIndex, devices: &[DeviceFacts]) -> Vec<Finding> {
    diagnose(index, devices).findings
}

fn decorate(index: &VulnIndex, dev: &DeviceFacts, cpes: &[DevCpe], r: &RawHit) -> Finding {
    let cve = index.db.cves.get(&r.cve);
    let kev = index.db.kev.get(&r.cve);
    let jvn = r.jvn.as_deref().and_then(|id| index.db.jvn.get(id)).or_else(|| index.jvn_by_cve.get(r.cve.as_str()).copied());
    let pick = |vs: &[&str]| -> Option<CvssScore> {
        let from_nvd = cve.and_then(|c| vs.iter().find_map(|v| c.cvss.iter().find(|s| s.version == *v)).cloned());
        from_nvd.or_else(|| jvn.and_then(|j| vs.iter().find_map(|v| j.cvss.iter().find(|s| s.version == *v)).cloned()))
    };
    let cvss_v3 = pick(&["3.1", "3.0"]);
    let cvss_v4 = pick(&["4.0"]);
    let score = cvss_v3.as_ref().or(cvss_v4.as_ref()).map(|s| s.base_score).or_else(|| cve.and_then(|c| c.primary_cvss()).map(|s| s.base_score)).unwrap_or(0.0);
    let tier = match kev {
        Some(k) if k.ransomware_known() => PriorityTier::KevRansomware,
        Some(_) => PriorityTier::Kev,
        None if dev.at_external_point => PriorityTier::ExternalPoint,
        None => PriorityTier::Cvss,
    };
    let flags = (tier as u32) * 2 + u32::from(dev.at_external_point);
    let priority = flags * 1000 + (score * 10.0).round() as u32;
    Finding {
        key: Finding::key_for(&dev.device_ref, &r.cve),
        device_ref: dev.device_ref.clone(),
        cve_id: r.cve.clone(),
        jvn_id: r.jvn.clone().or_else(|| jvn.map(|j| j.jvndb_id.clone())),
        confidence: r.hit.conf,
        tier,
        priority,
        cvss_v3,
        cvss_v4,
        kev: kev.map(KevInfo::from),
        fixed_version: r.hit.fixed.clone(),
        title_ja: jvn.map(|j| j.title.clone()),
        matched_cpe: cpes.get(r.hit.dev).map(|c| c.fs.clone()).unwrap_or_default(),
        criterion: r.hit.criterion.clone(),
        reason: r.hit.reason.clone(),
        at_external_point: dev.at_external_point,
    }
}
