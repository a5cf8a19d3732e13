//! Persistence of the vuln capability (tables in migration 0006). Methods are `impl Store` blocks here.
//!
//! The feeds (NVD, CISA KEV, JVN iPedia) are global and stored record by record as JSON, with an index
//! (vendor, product) → record written at import, so that a scan loads only the records that name the
//! products of its facility's devices — never the 400k CVEs. The store knows nothing of the engine's
//! types: the caller (mamori-app) serialises records, computes digests and canonical product keys.
//!
//! Per facility: the CPEs chosen for each device (and a person's override), the findings with a stable
//! key and their lifecycle (open → accepted / fixed / false positive, with reason, who and when, and its
//! history), and one row per scan.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Result, Store, StoreError, now_text};

/// Which feed a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    Nvd,
    Kev,
    Jvn,
}

impl Feed {
    pub const ALL: [Feed; 3] = [Feed::Nvd, Feed::Kev, Feed::Jvn];
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Nvd => "nvd",
            Feed::Kev => "kev",
            Feed::Jvn => "jvn",
        }
    }
    pub fn parse(s: &str) -> Option<Feed> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Feed::Nvd => "NVD",
            Feed::Kev => "CISA KEV",
            Feed::Jvn => "JVN iPedia",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Feed::Nvd => "vuln_cves",
            Feed::Kev => "vuln_kev",
            Feed::Jvn => "vuln_jvn",
        }
    }
}

/// One record of a feed, ready to store.
#[derive(Debug, Clone)]
pub struct FeedRecord {
    /// CVE id (NVD, KEV) or JVNDB id.
    pub id: String,
    /// NVD lastModified / JVN DateLastUpdated: a record older than the stored one is ignored.
    pub stamp: Option<String>,
    /// Digest of `data`: equal digest = unchanged.
    pub digest: String,
    /// The record as JSON.
    pub data: String,
    /// Canonical (vendor, product) pairs the record names (NVD: vulnerable criteria; JVN: affected CPEs).
    pub products: Vec<(String, String)>,
    /// JVN only: the CVE ids of the entry.
    pub cves: Vec<String>,
}

/// One feed file, validated, with its records.
#[derive(Debug, Clone)]
pub struct FeedFile {
    pub feed: Feed,
    /// File name as given.
    pub source: String,
    pub sha256: String,
    /// How fresh the data is (newest lastModified, KEV dateReleased, newest JVN update).
    pub data_as_of: Option<String>,
    pub records: Vec<FeedRecord>,
}

/// What importing one file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FeedCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub older_ignored: usize,
}

/// A feed file read record by record: `read` runs on a blocking thread, hands each validated
/// record to `emit` in file order and returns the file's digest and data-as-of date, or what is
/// wrong with the file (then nothing of the import is written). An error from `emit` means the
/// writer stopped: `read` returns it.
pub struct FeedStream {
    pub feed: Feed,
    /// File name as given.
    pub source: String,
    pub read: FeedReader,
}

/// Reads a file, handing each record to the given `emit` (see [`FeedStream`]).
pub type FeedReader = Box<
    dyn FnOnce(
            &mut dyn FnMut(FeedRecord) -> std::result::Result<(), String>,
        ) -> std::result::Result<FeedStreamEnd, String>
        + Send,
>;

/// What a file's reader tells at its end.
#[derive(Debug, Clone)]
pub struct FeedStreamEnd {
    pub sha256: String,
    pub data_as_of: Option<String>,
}

/// One file written by [`Store::vuln_import_streams`].
#[derive(Debug, Clone, Serialize)]
pub struct StreamedFile {
    pub feed: Feed,
    pub source: String,
    pub records: usize,
    pub counts: FeedCounts,
    pub data_as_of: Option<String>,
}

/// The result of a streamed import: every file written, or nothing and what was wrong with each bad file.
#[derive(Debug, Clone, Serialize)]
pub enum StreamOutcome {
    Written(Vec<StreamedFile>),
    Refused(Vec<String>),
}

/// One row of the feed import history.
#[derive(Debug, Clone, Serialize)]
pub struct FeedImportRow {
    pub feed: Feed,
    pub source: String,
    pub sha256: String,
    pub records: i64,
    pub counts: FeedCounts,
    pub data_as_of: Option<String>,
    pub imported_by: String,
    pub imported_at: String,
}

/// What is held of one feed: record count and its latest import.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    pub feed: Feed,
    pub records: i64,
    pub last: Option<FeedImportRow>,
    /// Newest data date over all imports of the feed.
    pub data_as_of: Option<String>,
}

/// The data a scan needs, loaded for a set of products.
#[derive(Debug, Clone, Default)]
pub struct FeedSlice {
    /// NVD records (JSON).
    pub cves: Vec<String>,
    /// KEV entries (JSON) of those CVEs.
    pub kev: Vec<String>,
    /// JVN records (JSON) naming the products or those CVEs.
    pub jvn: Vec<String>,
}

/// What the last scan chose for one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceCpeRow {
    pub asset_no: String,
    /// JSON `[{"cpe": "...", "reason": "..."}]`.
    pub cpes: String,
    /// JSON array of texts no rule recognised.
    pub unrecognised: String,
    /// JSON array of notes.
    pub notes: String,
    pub overridden: bool,
    pub at_external_point: bool,
    pub needs_review: bool,
}

/// CPEs a person set for a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpeOverride {
    pub asset_no: String,
    pub cpes: Vec<String>,
    pub reason: String,
    pub set_by: String,
    pub set_at: String,
}

/// The lifecycle state of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingState {
    Open,
    Accepted,
    Fixed,
    FalsePositive,
}

impl FindingState {
    pub const ALL: [FindingState; 4] =
        [FindingState::Open, FindingState::Accepted, FindingState::Fixed, FindingState::FalsePositive];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Fixed => "fixed",
            Self::FalsePositive => "false_positive",
        }
    }
    /// Accepts the stored names and the CLI's spelling (`false-positive`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.replace('-', "_");
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Open => "未対応",
            Self::Accepted => "リスク受容",
            Self::Fixed => "対応済み",
            Self::FalsePositive => "誤検知",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Accepted => "Accepted",
            Self::Fixed => "Fixed",
            Self::FalsePositive => "False positive",
        }
    }
}

/// What a scan found for one device and CVE (the data part of a stored finding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingData {
    /// Stable key `asset_no|CVE`.
    pub key: String,
    pub asset_no: String,
    pub cve_id: String,
    pub jvn_id: Option<String>,
    pub confidence: String,
    pub tier: String,
    pub priority: i64,
    /// CVSS base score × 10.
    pub score10: i64,
    pub kev: bool,
    pub ransomware: bool,
    pub at_external_point: bool,
    pub title_ja: Option<String>,
    pub fixed_version: Option<String>,
    pub matched_cpe: String,
    pub criterion: String,
    pub reason: String,
    /// Further detail as JSON (CVSS vectors, KEV action and due date …).
    pub detail: String,
}

/// A stored finding: its data and lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFinding {
    #[serde(flatten)]
    pub data: FindingData,
    pub state: FindingState,
    /// The last scan still matched it.
    pub present: bool,
    pub first_seen: String,
    pub last_seen: String,
    pub state_reason: String,
    pub state_by: String,
    pub state_at: Option<String>,
}

/// One change of a finding's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingHistoryRow {
    pub key: String,
    pub from_state: FindingState,
    pub to_state: FindingState,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: String,
}

/// What saving a scan did to the lifecycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanOutcome {
    pub findings: usize,
    pub added: usize,
    /// "fixed" findings that still match: reopened, with a history entry.
    pub reopened: Vec<String>,
    /// open findings the scan no longer matches: closed as fixed, with a history entry.
    pub resolved: usize,
}

/// One scan of a facility.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanRow {
    pub scanned_by: String,
    pub scanned_at: String,
    pub devices: i64,
    pub unmatched: i64,
    pub cves_loaded: i64,
    pub findings: i64,
    pub added: i64,
    pub reopened: i64,
    pub resolved: i64,
    pub millis: i64,
}

/// Filters of the findings list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub asset_no: Option<String>,
    pub states: Vec<FindingState>,
    pub kev_only: bool,
    /// Include findings the last scan no longer matched.
    pub include_absent: bool,
    /// Minimum CVSS × 10.
    pub min_score10: Option<i64>,
    pub external_only: bool,
    /// Only findings whose confidence says the version really is affected (exact, range, JVN).
    pub confirmed_only: bool,
    /// Only these devices (None: every device).
    pub assets: Option<Vec<String>>,
    /// Only this CVE (or JVNDB id).
    pub cve_id: Option<String>,
}

/// A value to bind, for statements built with many rows.
enum V<'a> {
    S(&'a str),
    O(Option<&'a str>),
    I(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    vals: &'q [V<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in vals {
        q = match v {
            V::S(s) => q.bind(*s),
            V::O(s) => q.bind(*s),
            V::I(i) => q.bind(*i),
        };
    }
    q
}

/// `(?,?),(?,?)` for SQLite (positional: SQLite looks named parameters up linearly), `($1,$2),($3,$4)` for PostgreSQL.
fn values_sql(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 4);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => s.push_str(&format!("${}", r * cols + c + 1)),
            }
        }
        s.push(')');
    }
    s
}

/// `IN (…)` placeholders for `n` values, numbered from 1.
fn in_list(backend: Backend, n: usize) -> String {
    let inner = values_sql(backend, 1, n);
    inner
}

/// Rows per multi-row statement, under SQLite's and PostgreSQL's parameter limits.
fn rows_per_stmt(cols: usize) -> usize {
    (16_000 / cols).max(1)
}

async fn insert_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    head: &str,
    tail: &str,
    cols: usize,
    vals: &[V<'_>],
) -> Result<()> {
    if vals.is_empty() {
        return Ok(());
    }
    let per = rows_per_stmt(cols);
    for chunk in vals.chunks(per * cols) {
        let sql = format!("{head} VALUES {} {tail}", values_sql(backend, chunk.len() / cols, cols));
        bind_all(sqlx::query(AssertSqlSafe(sql)), chunk).execute(&mut **tx).await?;
    }
    Ok(())
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn state_of(s: &str) -> Result<FindingState> {
    FindingState::parse(s).ok_or_else(|| StoreError::Corrupt(format!("finding state {s}")))
}

/// Columns of a stored finding as the readers select them (device row `f` joined with its fact `x`).
const FINDING_SELECT: &str = "SELECT f.asset_no, f.cve_id, f.confidence, f.tier, f.priority, f.score10, f.kev, \
     f.ransomware, f.at_external_point, f.state, f.present, f.first_seen, f.last_seen, f.state_reason, f.state_by, \
     f.state_at, x.jvn_id, x.title_ja, x.fixed_version, x.matched_cpe, x.criterion, x.reason \
     FROM vuln_device_findings f JOIN vuln_finding_facts x ON x.id = f.fact_id";

/// The stable key of a finding: `asset_no|CVE`.
pub fn finding_key(asset_no: &str, cve_id: &str) -> String {
    format!("{asset_no}|{cve_id}")
}

/// (asset_no, CVE) of a key; a CVE or JVNDB id holds no `|`, an asset number may.
fn split_key(key: &str) -> Option<(&str, &str)> {
    key.rsplit_once('|')
}

/// A present finding was seen by the last scan: its `last_seen` is that scan's time (rows of
/// devices whose findings did not change are not rewritten).
fn finding_from_row(r: &AnyRow, last_scan: Option<&str>) -> Result<StoredFinding> {
    let asset_no: String = r.try_get("asset_no")?;
    let cve_id: String = r.try_get("cve_id")?;
    let present = r.try_get::<i64, _>("present")? != 0;
    let last_seen: String = r.try_get("last_seen")?;
    Ok(StoredFinding {
        data: FindingData {
            key: finding_key(&asset_no, &cve_id),
            asset_no,
            cve_id,
            jvn_id: r.try_get("jvn_id")?,
            confidence: r.try_get("confidence")?,
            tier: r.try_get("tier")?,
            priority: r.try_get("priority")?,
            score10: r.try_get("score10")?,
            kev: r.try_get::<i64, _>("kev")? != 0,
            ransomware: r.try_get::<i64, _>("ransomware")? != 0,
            at_external_point: r.try_get::<i64, _>("at_external_point")? != 0,
            title_ja: r.try_get("title_ja")?,
            fixed_version: r.try_get("fixed_version")?,
            matched_cpe: r.try_get("matched_cpe")?,
            criterion: r.try_get("criterion")?,
            reason: r.try_get("reason")?,
            detail: String::new(),
        },
        state: state_of(&r.try_get::<String, _>("state")?)?,
        present,
        first_seen: r.try_get("first_seen")?,
        last_seen: match (present, last_scan) {
            (true, Some(t)) if t > last_seen.as_str() => t.to_string(),
            _ => last_seen,
        },
        state_reason: r.try_get("state_reason")?,
        state_by: r.try_get("state_by")?,
        state_at: r.try_get("state_at")?,
    })
}

/// What a finding says about its CVE and the match, stored once per distinct content
/// (vuln_finding_facts): millions of per-device rows share a few hundred thousand of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingFact {
    pub cve_id: String,
    pub jvn_id: Option<String>,
    pub title_ja: Option<String>,
    pub fixed_version: Option<String>,
    pub matched_cpe: String,
    pub criterion: String,
    pub reason: String,
}

impl FindingFact {
    /// Stable id of the content: FNV-1a 64 over the fields (each ended by a separator byte),
    /// non-negative (negative ids belong to rows migrated from 0006).
    pub fn id(&self) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |s: Option<&str>| {
            for b in s.map(str::as_bytes).unwrap_or(b"\x01") {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        eat(Some(&self.cve_id));
        eat(self.jvn_id.as_deref());
        eat(self.title_ja.as_deref());
        eat(self.fixed_version.as_deref());
        eat(Some(&self.matched_cpe));
        eat(Some(&self.criterion));
        eat(Some(&self.reason));
        (h & (i64::MAX as u64)) as i64
    }

    fn of(d: &FindingData) -> Self {
        FindingFact {
            cve_id: d.cve_id.clone(),
            jvn_id: d.jvn_id.clone(),
            title_ja: d.title_ja.clone(),
            fixed_version: d.fixed_version.clone(),
            matched_cpe: d.matched_cpe.clone(),
            criterion: d.criterion.clone(),
            reason: d.reason.clone(),
        }
    }
}

/// One finding of one device as a scan hands it to the store.
#[derive(Debug, Clone)]
pub struct NewFinding {
    pub fact: Arc<FindingFact>,
    /// `fact.id()`, computed once per fact by the caller.
    pub fact_id: i64,
    pub confidence: Cow<'static, str>,
    pub tier: Cow<'static, str>,
    pub priority: i64,
    pub score10: i64,
    pub kev: bool,
    pub ransomware: bool,
    pub at_external_point: bool,
}

/// One device of a scan: what the scan chose for it (None: a device no longer scanned whose findings
/// are to be marked not present), the digest of its findings ('' = always rewrite) and their number.
#[derive(Debug, Clone)]
pub struct ScanDevice {
    pub asset_no: String,
    pub row: Option<DeviceCpeRow>,
    pub digest: String,
    pub findings: usize,
}

/// Counts over the findings a filter selects (the page's summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingCounts {
    pub total: i64,
    pub kev: i64,
    pub ransomware: i64,
    pub external: i64,
    /// (tier, count), highest tier first.
    pub by_tier: Vec<(String, i64)>,
    pub by_confidence: Vec<(String, i64)>,
    pub by_state: Vec<(FindingState, i64)>,
}

/// One CVE and how many devices it affects (the "by CVE" view).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveCount {
    pub cve_id: String,
    pub devices: i64,
    /// Highest priority over its devices.
    pub priority: i64,
    pub score10: i64,
    pub kev: bool,
    pub ransomware: bool,
    pub title_ja: Option<String>,
}

/// The lifecycle part of a stored row, read when a device's findings are rewritten.
struct OldRow {
    cve_id: String,
    fact_id: i64,
    confidence: String,
    tier: String,
    priority: i64,
    score10: i64,
    kev: bool,
    ransomware: bool,
    ext: bool,
    state: FindingState,
    present: bool,
    first_seen: String,
    last_seen: String,
    state_reason: String,
    state_by: String,
    state_at: Option<String>,
}

/// A row to write.
struct RowW {
    asset: Arc<str>,
    cve_id: String,
    fact_id: i64,
    confidence: Cow<'static, str>,
    tier: Cow<'static, str>,
    priority: i64,
    score10: i64,
    kev: bool,
    ransomware: bool,
    ext: bool,
    state: FindingState,
    present: bool,
    first_seen: Arc<str>,
    last_seen: Arc<str>,
    state_reason: Cow<'static, str>,
    state_by: Arc<str>,
    state_at: Option<Arc<str>>,
}

/// The columns of vuln_finding_sums that identify a count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SumKey {
    cve_id: String,
    present: bool,
    state: FindingState,
    confidence: String,
    tier: String,
    kev: bool,
    ransomware: bool,
    ext: bool,
    score10: i64,
    priority: i64,
}

impl SumKey {
    fn of_old(o: &OldRow) -> Self {
        SumKey {
            cve_id: o.cve_id.clone(),
            present: o.present,
            state: o.state,
            confidence: o.confidence.clone(),
            tier: o.tier.clone(),
            kev: o.kev,
            ransomware: o.ransomware,
            ext: o.ext,
            score10: o.score10,
            priority: o.priority,
        }
    }
    fn of_row(r: &RowW) -> Self {
        SumKey {
            cve_id: r.cve_id.clone(),
            present: r.present,
            state: r.state,
            confidence: r.confidence.to_string(),
            tier: r.tier.to_string(),
            kev: r.kev,
            ransomware: r.ransomware,
            ext: r.ext,
            score10: r.score10,
            priority: r.priority,
        }
    }
}

/// Adds the count changes to vuln_finding_sums and drops the counts that reached zero.
async fn apply_sums(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    facility_id: i64,
    deltas: &HashMap<SumKey, i64>,
) -> Result<()> {
    let mut vals = Vec::new();
    for (k, n) in deltas.iter().filter(|(_, n)| **n != 0) {
        vals.extend([
            V::I(facility_id),
            V::S(&k.cve_id),
            V::I(flag(k.present)),
            V::S(k.state.as_str()),
            V::S(&k.confidence),
            V::S(&k.tier),
            V::I(flag(k.kev)),
            V::I(flag(k.ransomware)),
            V::I(flag(k.ext)),
            V::I(k.score10),
            V::I(k.priority),
            V::I(*n),
        ]);
    }
    insert_rows(
        tx,
        backend,
        "INSERT INTO vuln_finding_sums (facility_id, cve_id, present, state, confidence, tier, kev, ransomware, \
         at_external_point, score10, priority, n)",
        "ON CONFLICT (facility_id, cve_id, present, state, confidence, tier, kev, ransomware, at_external_point, \
         score10, priority) DO UPDATE SET n = vuln_finding_sums.n + excluded.n",
        12,
        &vals,
    )
    .await?;
    sqlx::query("DELETE FROM vuln_finding_sums WHERE facility_id = $1 AND n = 0")
        .bind(facility_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const ROW_COLS: &str = "facility_id, asset_no, cve_id, fact_id, confidence, tier, priority, score10, kev, ransomware, \
     at_external_point, state, present, first_seen, last_seen, state_reason, state_by, state_at";
const ROW_NCOLS: usize = 18;

/// Rows buffered before they are written (bounded memory whatever the facility's size).
const WRITE_BATCH: usize = 16_000;

struct HistoryInsert {
    key: String,
    from: FindingState,
    to: FindingState,
    reason: String,
}

/// Records handed from a file's reader to the writer at once.
const IMPORT_BATCH: usize = 2_000;

/// (stamp, digest) of every record of a feed held, by id.
async fn held_records(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    feed: Feed,
) -> Result<HashMap<String, (Option<String>, String)>> {
    let (id, stamp) = match feed {
        Feed::Nvd => ("id", "last_modified"),
        Feed::Kev => ("cve_id", "CAST(NULL AS TEXT)"),
        Feed::Jvn => ("id", "last_updated"),
    };
    let sql = format!("SELECT {id} AS id, {stamp} AS stamp, digest FROM {}", feed.table());
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut **tx).await?;
    let mut m = HashMap::with_capacity(rows.len());
    for r in &rows {
        m.insert(r.try_get::<String, _>("id")?, (r.try_get::<Option<String>, _>("stamp")?, r.try_get("digest")?));
    }
    Ok(m)
}

/// Writes one batch of a file's records: new ones added, changed ones replaced (with their product
/// index), identical and older ones left alone. `map` is what is held, kept up to date.
async fn write_batch(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    map: &mut HashMap<String, (Option<String>, String)>,
    feed: Feed,
    counts: &mut FeedCounts,
    records: &[FeedRecord],
) -> Result<()> {
    let mut write: Vec<&FeedRecord> = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    // Within one file the last record of an id wins (NVD files do not repeat ids).
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in records {
        match map.get(&r.id) {
            None => counts.added += 1,
            Some((stamp, digest)) => {
                if r.stamp.is_some() && stamp.is_some() && r.stamp < *stamp {
                    counts.older_ignored += 1;
                    continue;
                } else if *digest == r.digest {
                    counts.unchanged += 1;
                    continue;
                }
                counts.updated += 1;
                replaced.push(&r.id);
            }
        }
        map.insert(r.id.clone(), (r.stamp.clone(), r.digest.clone()));
        if let Some(&i) = seen.get(r.id.as_str()) {
            write[i] = r;
        } else {
            seen.insert(&r.id, write.len());
            write.push(r);
        }
    }
    // Replaced records lose their old index rows first.
    let index_tables: &[(&str, &str)] = match feed {
        Feed::Nvd => &[("vuln_cve_products", "cve_id")],
        Feed::Kev => &[],
        Feed::Jvn => &[("vuln_jvn_products", "jvn_id"), ("vuln_jvn_cves", "jvn_id")],
    };
    for (table, col) in index_tables {
        for chunk in replaced.chunks(500) {
            let sql = format!("DELETE FROM {table} WHERE {col} IN {}", in_list(backend, chunk.len()));
            let vals: Vec<V> = chunk.iter().map(|s| V::S(s)).collect();
            bind_all(sqlx::query(AssertSqlSafe(sql)), &vals).execute(&mut **tx).await?;
        }
    }
    match feed {
        Feed::Nvd => {
            let mut vals = Vec::with_capacity(write.len() * 4);
            for r in &write {
                vals.extend([V::S(&r.id), V::S(r.stamp.as_deref().unwrap_or("")), V::S(&r.digest), V::S(&r.data)]);
            }
            insert_rows(
                tx,
                backend,
                "INSERT INTO vuln_cves (id, last_modified, digest, data)",
                "ON CONFLICT (id) DO UPDATE SET last_modified = excluded.last_modified, digest = excluded.digest, data = excluded.data",
                4,
                &vals,
            )
            .await?;
            let mut pv = Vec::new();
            for r in &write {
                let uniq: HashSet<&(String, String)> = r.products.iter().collect();
                for (v, p) in uniq {
                    pv.extend([V::S(v), V::S(p), V::S(&r.id)]);
                }
            }
            insert_rows(
                tx,
                backend,
                "INSERT INTO vuln_cve_products (vendor, product, cve_id)",
                "ON CONFLICT DO NOTHING",
                3,
                &pv,
            )
            .await?;
        }
        Feed::Kev => {
            let mut vals = Vec::with_capacity(write.len() * 3);
            for r in &write {
                vals.extend([V::S(&r.id), V::S(&r.digest), V::S(&r.data)]);
            }
            insert_rows(
                tx,
                backend,
                "INSERT INTO vuln_kev (cve_id, digest, data)",
                "ON CONFLICT (cve_id) DO UPDATE SET digest = excluded.digest, data = excluded.data",
                3,
                &vals,
            )
            .await?;
        }
        Feed::Jvn => {
            let mut vals = Vec::with_capacity(write.len() * 4);
            for r in &write {
                vals.extend([V::S(&r.id), V::O(r.stamp.as_deref()), V::S(&r.digest), V::S(&r.data)]);
            }
            insert_rows(
                tx,
                backend,
                "INSERT INTO vuln_jvn (id, last_updated, digest, data)",
                "ON CONFLICT (id) DO UPDATE SET last_updated = excluded.last_updated, digest = excluded.digest, data = excluded.data",
                4,
                &vals,
            )
            .await?;
            let mut pv = Vec::new();
            let mut cv = Vec::new();
            for r in &write {
                let uniq: HashSet<&(String, String)> = r.products.iter().collect();
                for (v, p) in uniq {
                    pv.extend([V::S(v), V::S(p), V::S(&r.id)]);
                }
                let uc: HashSet<&String> = r.cves.iter().collect();
                for c in uc {
                    cv.extend([V::S(c), V::S(&r.id)]);
                }
            }
            insert_rows(
                tx,
                backend,
                "INSERT INTO vuln_jvn_products (vendor, product, jvn_id)",
                "ON CONFLICT DO NOTHING",
                3,
                &pv,
            )
            .await?;
            insert_rows(tx, backend, "INSERT INTO vuln_jvn_cves (cve_id, jvn_id)", "ON CONFLICT DO NOTHING", 2, &cv)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    // ------------------------------------------------------------------------------------------- feeds

    /// Imports validated feed files in ONE transaction: new records are added, changed ones replaced
    /// (with their product index), identical ones and older ones left alone; each file is recorded in
    /// the import history. Either every file is written or none is. (Files held in memory; see
    /// [`Store::vuln_import_streams`] for files too large for that.)
    pub async fn vuln_import_feeds(&self, files: &[FeedFile], by: &str) -> Result<Vec<FeedCounts>> {
        let streams = files
            .iter()
            .map(|f| {
                let f = f.clone();
                FeedStream {
                    feed: f.feed,
                    source: f.source.clone(),
                    read: Box::new(move |emit| {
                        for r in f.records {
                            emit(r)?;
                        }
                        Ok(FeedStreamEnd { sha256: f.sha256, data_as_of: f.data_as_of })
                    }),
                }
            })
            .collect();
        match self.vuln_import_streams(streams, by).await? {
            StreamOutcome::Written(done) => Ok(done.into_iter().map(|d| d.counts).collect()),
            StreamOutcome::Refused(problems) => Err(StoreError::Invalid(problems.join("\n"))),
        }
    }

    /// Imports feed files read record by record, in ONE transaction: each file's reader runs on a
    /// blocking thread and hands its records over in batches, which are written into the open
    /// transaction as they come, so no file is ever held in memory whole. If any file turns out
    /// bad (corrupt, truncated …) the transaction is rolled back — nothing is written — and the
    /// files after it are still read, so that every bad file is reported.
    pub async fn vuln_import_streams(&self, files: Vec<FeedStream>, by: &str) -> Result<StreamOutcome> {
        let backend = self.backend();
        let mut tx = self.pool().begin().await?;
        // (stamp, digest) of what is held, per feed, loaded when the feed first comes.
        let mut held: HashMap<Feed, HashMap<String, (Option<String>, String)>> = HashMap::new();
        let mut done = Vec::new();
        let mut problems = Vec::new();
        for file in files {
            let FeedStream { feed, source, read } = file;
            if !problems.is_empty() {
                // Reading only: every bad file is reported, nothing more is written.
                match tokio::task::spawn_blocking(move || read(&mut |_| Ok(()))).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => problems.push(e),
                    Err(e) => problems.push(format!("{source}: {e}")),
                }
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = held.entry(feed) {
                e.insert(held_records(&mut tx, feed).await?);
            }
            let (batches, received) = std::sync::mpsc::sync_channel::<Vec<FeedRecord>>(2);
            let reader = tokio::task::spawn_blocking(move || {
                let mut batch = Vec::with_capacity(IMPORT_BATCH);
                let stopped = || "データベースへの書き込みが中断しました / the database writer stopped".to_string();
                let end = read(&mut |r| {
                    batch.push(r);
                    if batch.len() >= IMPORT_BATCH {
                        batches.send(std::mem::take(&mut batch)).map_err(|_| stopped())?;
                    }
                    Ok(())
                })?;
                if !batch.is_empty() {
                    batches.send(batch).map_err(|_| stopped())?;
                }
                Ok(end)
            });
            let mut counts = FeedCounts::default();
            let mut records = 0usize;
            let mut rx = received;
            let map = held.entry(feed).or_default();
            loop {
                // The receiving end waits on a blocking thread too: the runtime's threads stay free.
                let (back, got) = tokio::task::spawn_blocking(move || {
                    let got = rx.recv();
                    (rx, got)
                })
                .await
                .map_err(|e| StoreError::Invalid(format!("{source}: {e}")))?;
                rx = back;
                let Ok(batch) = got else { break };
                records += batch.len();
                if let Err(e) = write_batch(&mut tx, backend, map, feed, &mut counts, &batch).await {
                    drop(rx);
                    let _ = reader.await;
                    return Err(e);
                }
            }
            match reader.await {
                Ok(Ok(end)) => {
                    sqlx::query(
                        "INSERT INTO vuln_feed_imports (feed, source, sha256, records, added, updated, unchanged, \
                         older_ignored, data_as_of, imported_by, imported_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(feed.as_str())
                    .bind(&source)
                    .bind(&end.sha256)
                    .bind(records as i64)
                    .bind(counts.added as i64)
                    .bind(counts.updated as i64)
                    .bind(counts.unchanged as i64)
                    .bind(counts.older_ignored as i64)
                    .bind(end.data_as_of.as_deref())
                    .bind(by)
                    .bind(now_text())
                    .execute(&mut *tx)
                    .await?;
                    done.push(StreamedFile { feed, source, records, counts, data_as_of: end.data_as_of });
                }
                Ok(Err(e)) => problems.push(e),
                Err(e) => problems.push(format!("{source}: {e}")),
            }
        }
        if !problems.is_empty() {
            tx.rollback().await?;
            return Ok(StreamOutcome::Refused(problems));
        }
        tx.commit().await?;
        Ok(StreamOutcome::Written(done))
    }

    /// Import history, newest first.
    pub async fn vuln_feed_imports(&self, limit: i64) -> Result<Vec<FeedImportRow>> {
        let rows = sqlx::query(
            "SELECT feed, source, sha256, records, added, updated, unchanged, older_ignored, data_as_of, imported_by, \
             imported_at FROM vuln_feed_imports ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(import_from_row).collect()
    }

    /// Per feed: records held, the latest import and the newest data date.
    pub async fn vuln_feed_status(&self) -> Result<Vec<FeedStatus>> {
        let mut out = Vec::new();
        for feed in Feed::ALL {
            let n: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", feed.table())))
                .fetch_one(self.pool())
                .await?
                .try_get(0)?;
            let last = sqlx::query(
                "SELECT feed, source, sha256, records, added, updated, unchanged, older_ignored, data_as_of, imported_by, \
                 imported_at FROM vuln_feed_imports WHERE feed = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(feed.as_str())
            .fetch_optional(self.pool())
            .await?;
            let as_of: Option<String> =
                sqlx::query("SELECT MAX(data_as_of) AS d FROM vuln_feed_imports WHERE feed = $1")
                    .bind(feed.as_str())
                    .fetch_one(self.pool())
                    .await?
                    .try_get("d")?;
            out.push(FeedStatus {
                feed,
                records: n,
                last: last.as_ref().map(import_from_row).transpose()?,
                data_as_of: as_of,
            });
        }
        Ok(out)
    }

    /// Every (vendor, product) the feeds name (for the normaliser's dictionary check).
    pub async fn vuln_known_products(&self) -> Result<HashSet<(String, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT vendor, product FROM vuln_cve_products UNION SELECT DISTINCT vendor, product FROM vuln_jvn_products",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("vendor")?, r.try_get("product")?))).collect()
    }

    /// The records a scan of devices with these products needs: the CVEs naming them, the JVN entries
    /// naming them or those CVEs, the CVEs those JVN entries name (NVD decides where it has a
    /// configuration), and their KEV entries.
    pub async fn vuln_slice(&self, products: &[(String, String)]) -> Result<FeedSlice> {
        let backend = self.backend();
        let mut cve_ids: HashSet<String> = HashSet::new();
        let mut slice = FeedSlice::default();
        for (v, p) in products {
            let rows = sqlx::query(
                "SELECT c.id, c.data FROM vuln_cve_products x JOIN vuln_cves c ON c.id = x.cve_id \
                 WHERE x.vendor = $1 AND x.product = $2",
            )
            .bind(v)
            .bind(p)
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                if cve_ids.insert(r.try_get("id")?) {
                    slice.cves.push(r.try_get("data")?);
                }
            }
        }
        let mut jvn_ids: HashSet<String> = HashSet::new();
        for (v, p) in products {
            let rows = sqlx::query(
                "SELECT j.id, j.data FROM vuln_jvn_products x JOIN vuln_jvn j ON j.id = x.jvn_id \
                 WHERE x.vendor = $1 AND x.product = $2",
            )
            .bind(v)
            .bind(p)
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                if jvn_ids.insert(r.try_get("id")?) {
                    slice.jvn.push(r.try_get("data")?);
                }
            }
        }
        // JVN entries of the loaded CVEs (Japanese titles).
        let ids: Vec<String> = cve_ids.iter().cloned().collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT j.id, j.data FROM vuln_jvn_cves x JOIN vuln_jvn j ON j.id = x.jvn_id WHERE x.cve_id IN {}",
                in_list(backend, chunk.len())
            );
            let vals: Vec<V> = chunk.iter().map(|s| V::S(s)).collect();
            for r in &bind_all(sqlx::query(AssertSqlSafe(sql)), &vals).fetch_all(self.pool()).await? {
                if jvn_ids.insert(r.try_get("id")?) {
                    slice.jvn.push(r.try_get("data")?);
                }
            }
        }
        // CVEs named by the JVN entries (so NVD decides where it has data).
        let jids: Vec<String> = jvn_ids.iter().cloned().collect();
        let mut extra: Vec<String> = Vec::new();
        for chunk in jids.chunks(500) {
            let sql = format!("SELECT cve_id FROM vuln_jvn_cves WHERE jvn_id IN {}", in_list(backend, chunk.len()));
            let vals: Vec<V> = chunk.iter().map(|s| V::S(s)).collect();
            for r in &bind_all(sqlx::query(AssertSqlSafe(sql)), &vals).fetch_all(self.pool()).await? {
                let c: String = r.try_get("cve_id")?;
                if !cve_ids.contains(&c) {
                    extra.push(c);
                }
            }
        }
        extra.sort();
        extra.dedup();
        for chunk in extra.chunks(500) {
            let sql = format!("SELECT id, data FROM vuln_cves WHERE id IN {}", in_list(backend, chunk.len()));
            let vals: Vec<V> = chunk.iter().map(|s| V::S(s)).collect();
            for r in &bind_all(sqlx::query(AssertSqlSafe(sql)), &vals).fetch_all(self.pool()).await? {
                if cve_ids.insert(r.try_get("id")?) {
                    slice.cves.push(r.try_get("data")?);
                }
            }
        }
        let all: Vec<String> = cve_ids.into_iter().collect();
        for chunk in all.chunks(500) {
            let sql = format!("SELECT data FROM vuln_kev WHERE cve_id IN {}", in_list(backend, chunk.len()));
            let vals: Vec<V> = chunk.iter().map(|s| V::S(s)).collect();
            for r in &bind_all(sqlx::query(AssertSqlSafe(sql)), &vals).fetch_all(self.pool()).await? {
                slice.kev.push(r.try_get("data")?);
            }
        }
        Ok(slice)
    }

    // ------------------------------------------------------------------------------------------- devices

    pub async fn vuln_overrides(&self, facility_id: i64) -> Result<Vec<CpeOverride>> {
        let rows = sqlx::query(
            "SELECT asset_no, cpes, reason, set_by, set_at FROM vuln_cpe_overrides WHERE facility_id = $1 ORDER BY asset_no",
        )
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let cpes: String = r.try_get("cpes")?;
                Ok(CpeOverride {
                    asset_no: r.try_get("asset_no")?,
                    cpes: serde_json::from_str(&cpes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    reason: r.try_get("reason")?,
                    set_by: r.try_get("set_by")?,
                    set_at: r.try_get("set_at")?,
                })
            })
            .collect()
    }

    /// Sets (or, with no CPEs, removes) a person's CPE choice for a device.
    pub async fn vuln_set_override(
        &self,
        facility_id: i64,
        asset_no: &str,
        cpes: &[String],
        reason: &str,
        by: &str,
    ) -> Result<()> {
        if cpes.is_empty() {
            sqlx::query("DELETE FROM vuln_cpe_overrides WHERE facility_id = $1 AND asset_no = $2")
                .bind(facility_id)
                .bind(asset_no)
                .execute(self.pool())
                .await?;
            return Ok(());
        }
        let json = serde_json::to_string(cpes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO vuln_cpe_overrides (facility_id, asset_no, cpes, reason, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (facility_id, asset_no) DO UPDATE SET cpes = excluded.cpes, reason = excluded.reason, \
             set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(facility_id)
        .bind(asset_no)
        .bind(json)
        .bind(reason)
        .bind(by)
        .bind(now_text())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What the last scan chose for each device, by asset number.
    pub async fn vuln_device_cpes(&self, facility_id: i64) -> Result<Vec<DeviceCpeRow>> {
        let rows = sqlx::query(
            "SELECT asset_no, cpes, unrecognised, notes, overridden, at_external_point, needs_review \
             FROM vuln_device_cpes WHERE facility_id = $1 ORDER BY asset_no",
        )
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceCpeRow {
                    asset_no: r.try_get("asset_no")?,
                    cpes: r.try_get("cpes")?,
                    unrecognised: r.try_get("unrecognised")?,
                    notes: r.try_get("notes")?,
                    overridden: r.try_get::<i64, _>("overridden")? != 0,
                    at_external_point: r.try_get::<i64, _>("at_external_point")? != 0,
                    needs_review: r.try_get::<i64, _>("needs_review")? != 0,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------------------------------------- scans

    /// Saves a scan given as whole findings (small facilities, tests): groups them by device and
    /// hands them to [`Store::vuln_save_scan_devices`], every device rewritten. Devices with present
    /// findings that are neither in `devices` nor in `found` get their findings marked not present.
    pub async fn vuln_save_scan(
        &self,
        facility_id: i64,
        by: &str,
        devices: &[DeviceCpeRow],
        found: Vec<FindingData>,
        scan: ScanRow,
    ) -> Result<ScanOutcome> {
        let mut list: Vec<ScanDevice> = devices
            .iter()
            .map(|d| ScanDevice {
                asset_no: d.asset_no.clone(),
                row: Some(d.clone()),
                digest: String::new(),
                findings: 0,
            })
            .collect();
        let mut pos: HashMap<String, usize> = list.iter().enumerate().map(|(i, d)| (d.asset_no.clone(), i)).collect();
        let mut per: Vec<Vec<NewFinding>> = vec![Vec::new(); list.len()];
        let mut seen: HashSet<String> = HashSet::new();
        for d in found {
            if !seen.insert(d.key.clone()) {
                continue;
            }
            let i = *pos.entry(d.asset_no.clone()).or_insert_with(|| {
                list.push(ScanDevice { asset_no: d.asset_no.clone(), row: None, digest: String::new(), findings: 0 });
                per.push(Vec::new());
                list.len() - 1
            });
            let fact = FindingFact::of(&d);
            list[i].findings += 1;
            per[i].push(NewFinding {
                fact_id: fact.id(),
                fact: Arc::new(fact),
                confidence: Cow::Owned(d.confidence),
                tier: Cow::Owned(d.tier),
                priority: d.priority,
                score10: d.score10,
                kev: d.kev,
                ransomware: d.ransomware,
                at_external_point: d.at_external_point,
            });
        }
        let present: Vec<String> =
            sqlx::query("SELECT DISTINCT asset_no FROM vuln_device_findings WHERE facility_id = $1 AND present = 1")
                .bind(facility_id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.try_get("asset_no"))
                .collect::<std::result::Result<_, _>>()?;
        for a in present {
            if !pos.contains_key(&a) {
                pos.insert(a.clone(), list.len());
                list.push(ScanDevice { asset_no: a, row: None, digest: String::new(), findings: 0 });
                per.push(Vec::new());
            }
        }
        let mut take = |i: usize| Ok(std::mem::take(&mut per[i]));
        self.vuln_save_scan_devices(facility_id, by, &list, &mut take, scan).await
    }

    /// Saves a scan in ONE transaction, device by device, in bounded memory: a device whose findings
    /// digest equals the stored one (and that has no present finding marked fixed, which the scan
    /// reopens) is not touched; any other device's findings are merged with their lifecycle (known
    /// findings keep their state; a "fixed" one that still matches is reopened; an open one no longer
    /// matched is closed as fixed — both with a history entry; one no longer matched is kept, not
    /// present) and rewritten. `findings_of(i)` gives device `i`'s findings, asked only for devices
    /// that are rewritten; an error from it (a cancelled scan) stops the save. Devices of the previous
    /// scan that are not in `devices` are treated as having no findings. Nothing is written if anything
    /// fails.
    pub async fn vuln_save_scan_devices(
        &self,
        facility_id: i64,
        by: &str,
        devices: &[ScanDevice],
        findings_of: &mut (dyn FnMut(usize) -> Result<Vec<NewFinding>> + Send),
        mut scan: ScanRow,
    ) -> Result<ScanOutcome> {
        let now: Arc<str> = Arc::from(now_text());
        let by_a: Arc<str> = Arc::from(by);
        let mut tx = self.pool().begin().await?;
        if self.backend() == Backend::Sqlite {
            // Millions of rows go into the table and its order index: with the default page cache (2 MB)
            // SQLite spills and rewrites the same index pages again and again (measured: 209 s instead of
            // 120 s with 128 MiB for 5.8 M rows). 256 MiB holds the order index of 10k devices. Set back
            // after the save.
            sqlx::query("PRAGMA cache_size = -262144").execute(&mut *tx).await?;
        }
        let old_digest: HashMap<String, String> =
            sqlx::query("SELECT asset_no, findings_digest FROM vuln_device_cpes WHERE facility_id = $1")
                .bind(facility_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("asset_no")?, r.try_get("findings_digest")?)))
                .collect::<Result<_>>()?;
        let any_rows = sqlx::query("SELECT 1 AS one FROM vuln_device_findings WHERE facility_id = $1 LIMIT 1")
            .bind(facility_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let fixed_present: HashSet<String> = sqlx::query(
            "SELECT DISTINCT asset_no FROM vuln_device_findings WHERE facility_id = $1 AND present = 1 AND state = 'fixed'",
        )
        .bind(facility_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("asset_no"))
        .collect::<std::result::Result<_, _>>()?;
        let prev_scan: Option<Arc<str>> =
            sqlx::query("SELECT scanned_at FROM vuln_scans WHERE facility_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(facility_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("scanned_at"))
                .transpose()?
                .map(Arc::from);
        let mut w = Writer {
            facility_id,
            backend: self.backend(),
            rows: Vec::new(),
            facts: Vec::new(),
            fact_ids: Vec::new(),
            facts_seen: HashSet::new(),
            history: Vec::new(),
            by: by_a.clone(),
            now: now.clone(),
            sums: HashMap::new(),
        };
        let mut out = ScanOutcome::default();
        let mut done: HashSet<&str> = HashSet::with_capacity(devices.len());
        let mut units: Vec<(usize, &str)> = Vec::with_capacity(devices.len());
        for (i, d) in devices.iter().enumerate() {
            if done.insert(d.asset_no.as_str()) {
                units.push((i, d.asset_no.as_str()));
            }
        }
        let gone: Vec<&str> = old_digest.keys().map(String::as_str).filter(|a| !done.contains(a)).collect::<Vec<_>>();
        for (i, asset) in units.iter().map(|&(i, a)| (Some(i), a)).chain(gone.into_iter().map(|a| (None, a))) {
            let d = i.map(|i| &devices[i]);
            out.findings += d.map_or(0, |d| d.findings);
            let unchanged = d.is_some_and(|d| {
                !d.digest.is_empty() && old_digest.get(asset) == Some(&d.digest) && !fixed_present.contains(asset)
            });
            if unchanged {
                continue;
            }
            let new = match i {
                Some(i) => findings_of(i)?,
                None => Vec::new(),
            };
            let old = if any_rows { device_rows(&mut tx, facility_id, asset).await? } else { Vec::new() };
            if !old.is_empty() {
                sqlx::query("DELETE FROM vuln_device_findings WHERE facility_id = $1 AND asset_no = $2")
                    .bind(facility_id)
                    .bind(asset)
                    .execute(&mut *tx)
                    .await?;
            }
            w.merge(asset, new, old, &now, &by_a, prev_scan.as_ref(), &mut out);
            if w.rows.len() + w.history.len() >= WRITE_BATCH {
                w.flush(&mut tx).await?;
            }
        }
        w.flush(&mut tx).await?;
        apply_sums(&mut tx, self.backend(), facility_id, &w.sums).await?;
        drop(w);
        sqlx::query("DELETE FROM vuln_device_cpes WHERE facility_id = $1").bind(facility_id).execute(&mut *tx).await?;
        let mut dv = Vec::with_capacity(devices.len() * 9);
        for (i, _) in &units {
            let d = &devices[*i];
            let Some(r) = &d.row else { continue };
            dv.extend([
                V::I(facility_id),
                V::S(&r.asset_no),
                V::S(&r.cpes),
                V::S(&r.unrecognised),
                V::S(&r.notes),
                V::I(flag(r.overridden)),
                V::I(flag(r.at_external_point)),
                V::I(flag(r.needs_review)),
                V::S(&d.digest),
            ]);
        }
        insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO vuln_device_cpes (facility_id, asset_no, cpes, unrecognised, notes, overridden, at_external_point, needs_review, findings_digest)",
            "",
            9,
            &dv,
        )
        .await?;
        scan.scanned_by = by.to_string();
        scan.scanned_at = now.to_string();
        scan.findings = out.findings as i64;
        scan.added = out.added as i64;
        scan.reopened = out.reopened.len() as i64;
        scan.resolved = out.resolved as i64;
        sqlx::query(
            "INSERT INTO vuln_scans (facility_id, scanned_by, scanned_at, devices, unmatched, cves_loaded, findings, added, \
             reopened, resolved, millis) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(facility_id)
        .bind(&scan.scanned_by)
        .bind(&scan.scanned_at)
        .bind(scan.devices)
        .bind(scan.unmatched)
        .bind(scan.cves_loaded)
        .bind(scan.findings)
        .bind(scan.added)
        .bind(scan.reopened)
        .bind(scan.resolved)
        .bind(scan.millis)
        .execute(&mut *tx)
        .await?;
        if self.backend() == Backend::Sqlite {
            sqlx::query("PRAGMA cache_size = -2000").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn vuln_last_scan(&self, facility_id: i64) -> Result<Option<ScanRow>> {
        let r = sqlx::query(
            "SELECT scanned_by, scanned_at, devices, unmatched, cves_loaded, findings, added, reopened, resolved, millis \
             FROM vuln_scans WHERE facility_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(facility_id)
        .fetch_optional(self.pool())
        .await?;
        r.map(|r| {
            Ok(ScanRow {
                scanned_by: r.try_get("scanned_by")?,
                scanned_at: r.try_get("scanned_at")?,
                devices: r.try_get("devices")?,
                unmatched: r.try_get("unmatched")?,
                cves_loaded: r.try_get("cves_loaded")?,
                findings: r.try_get("findings")?,
                added: r.try_get("added")?,
                reopened: r.try_get("reopened")?,
                resolved: r.try_get("resolved")?,
                millis: r.try_get("millis")?,
            })
        })
        .transpose()
    }

    // ------------------------------------------------------------------------------------------- findings

    /// Findings of a facility, highest priority first (then device, CVE). Collects them all: for a
    /// big facility use [`Store::vuln_findings_page`], [`Store::vuln_finding_counts`] or
    /// [`Store::vuln_findings_each`].
    pub async fn vuln_findings(&self, facility_id: i64, f: &FindingFilter) -> Result<Vec<StoredFinding>> {
        let mut all = Vec::new();
        self.vuln_findings_each(facility_id, f, &mut |x| {
            all.push(x);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// One page of the findings, highest priority first (then device, CVE).
    pub async fn vuln_findings_page(
        &self,
        facility_id: i64,
        f: &FindingFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<StoredFinding>> {
        let last = self.last_scan_at(facility_id).await?;
        let (limit, offset) = (limit.max(0), offset.max(0));
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The order index is (facility, present, state, priority …): one (present, state) pair is read
        // in priority order from it. A filter that spans several pairs (all states, absent ones too)
        // reads the head of each pair and merges them, instead of sorting millions of rows.
        let presents: &[i64] = if f.include_absent { &[1, 0] } else { &[1] };
        let states: Vec<FindingState> = if f.states.is_empty() { FindingState::ALL.to_vec() } else { f.states.clone() };
        let sub_filter = FindingFilter { states: Vec::new(), include_absent: true, ..f.clone() };
        let (cond, binds) = filter_sql(&sub_filter);
        let order = "ORDER BY f.priority DESC, f.asset_no, f.cve_id";
        let sql = if presents.len() * states.len() == 1 {
            let (cond, _) = filter_sql(f);
            format!("{FINDING_SELECT} WHERE f.facility_id = $1{cond} {order} LIMIT {limit} OFFSET {offset}")
        } else {
            let mut parts = Vec::new();
            for p in presents {
                for st in &states {
                    parts.push(format!(
                        "SELECT * FROM (SELECT f.* FROM vuln_device_findings f WHERE f.facility_id = $1{cond} \
                         AND f.present = {p} AND f.state = '{}' ORDER BY f.priority DESC, f.asset_no, f.cve_id \
                         LIMIT {}) s{}",
                        st.as_str(),
                        offset + limit,
                        parts.len()
                    ));
                }
            }
            let head = FINDING_SELECT
                .replace("FROM vuln_device_findings f", &format!("FROM ({}) f", parts.join(" UNION ALL ")));
            format!("{head} {order} LIMIT {limit} OFFSET {offset}")
        };
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility_id);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        q.fetch_all(self.pool()).await?.iter().map(|r| finding_from_row(r, last.as_deref())).collect()
    }

    /// Every finding the filter selects, highest priority first, handed to `each` as it is read
    /// (never collected). An error from `each` stops the read and is returned.
    pub async fn vuln_findings_each(
        &self,
        facility_id: i64,
        f: &FindingFilter,
        each: &mut (dyn FnMut(StoredFinding) -> Result<()> + Send),
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        let mut rows = self.vuln_findings_stream(facility_id, f).await?;
        while let Some(x) = rows.try_next().await? {
            each(x)?;
        }
        Ok(())
    }

    /// Every finding the filter selects as a stream, highest priority first (rows are read from the
    /// database as the stream is polled).
    pub async fn vuln_findings_stream(
        &self,
        facility_id: i64,
        f: &FindingFilter,
    ) -> Result<futures_util::stream::BoxStream<'_, Result<StoredFinding>>> {
        use futures_util::StreamExt;
        let last = self.last_scan_at(facility_id).await?;
        let (cond, binds) = filter_sql(f);
        let sql =
            format!("{FINDING_SELECT} WHERE f.facility_id = $1{cond} ORDER BY f.priority DESC, f.asset_no, f.cve_id");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility_id);
        for b in binds {
            q = q.bind(b);
        }
        Ok(q.fetch(self.pool())
            .map(move |r| r.map_err(StoreError::from).and_then(|r| finding_from_row(&r, last.as_deref())))
            .boxed())
    }

    /// Counts over the findings the filter selects: total, KEV, ransomware, external point, and by
    /// tier, confidence and state. One grouped query over the device rows (no join).
    pub async fn vuln_finding_counts(&self, facility_id: i64, f: &FindingFilter) -> Result<FindingCounts> {
        let (cond, binds) = filter_sql(f);
        // Without a device filter the counts come from vuln_finding_sums (a few rows per CVE).
        let (table, n) = if by_device(f) {
            ("vuln_device_findings", "COUNT(*)")
        } else {
            ("vuln_finding_sums", "CAST(SUM(f.n) AS BIGINT)")
        };
        let sql = format!(
            "SELECT f.tier, f.confidence, f.state, f.kev, f.ransomware, f.at_external_point, {n} AS n \
             FROM {table} f WHERE f.facility_id = $1{cond} \
             GROUP BY f.tier, f.confidence, f.state, f.kev, f.ransomware, f.at_external_point"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility_id);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let mut c = FindingCounts::default();
        let mut tiers: HashMap<String, i64> = HashMap::new();
        let mut confs: HashMap<String, i64> = HashMap::new();
        let mut states: HashMap<FindingState, i64> = HashMap::new();
        for r in q.fetch_all(self.pool()).await? {
            let n: i64 = r.try_get("n")?;
            c.total += n;
            if r.try_get::<i64, _>("kev")? != 0 {
                c.kev += n;
            }
            if r.try_get::<i64, _>("ransomware")? != 0 {
                c.ransomware += n;
            }
            if r.try_get::<i64, _>("at_external_point")? != 0 {
                c.external += n;
            }
            *tiers.entry(r.try_get("tier")?).or_default() += n;
            *confs.entry(r.try_get("confidence")?).or_default() += n;
            *states.entry(state_of(&r.try_get::<String, _>("state")?)?).or_default() += n;
        }
        let order = ["kev_ransomware", "kev", "external_point", "cvss"];
        let rank = |t: &str| order.iter().position(|x| *x == t).unwrap_or(order.len());
        c.by_tier = tiers.into_iter().collect();
        c.by_tier.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
        c.by_confidence = confs.into_iter().collect();
        c.by_confidence.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        c.by_state = FindingState::ALL.iter().filter_map(|s| states.get(s).map(|n| (*s, *n))).collect();
        Ok(c)
    }

    /// The findings the filter selects grouped by CVE: one row per CVE with its number of devices,
    /// highest priority first, one page.
    pub async fn vuln_findings_by_cve(
        &self,
        facility_id: i64,
        f: &FindingFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<CveCount>)> {
        let (cond, binds) = filter_sql(f);
        let (table, n) = if by_device(f) {
            ("vuln_device_findings", "COUNT(*)")
        } else {
            ("vuln_finding_sums", "CAST(SUM(f.n) AS BIGINT)")
        };
        let sql = format!(
            "SELECT f.cve_id, {n} AS devices, MAX(f.priority) AS priority, MAX(f.score10) AS score10, \
             MAX(f.kev) AS kev, MAX(f.ransomware) AS ransomware \
             FROM {table} f WHERE f.facility_id = $1{cond} GROUP BY f.cve_id"
        );
        let sql = format!(
            "SELECT g.cve_id, g.devices, g.priority, g.score10, g.kev, g.ransomware, COUNT(*) OVER () AS total, \
             (SELECT MAX(x.title_ja) FROM vuln_finding_facts x WHERE x.cve_id = g.cve_id) AS title_ja \
             FROM ({sql}) g ORDER BY g.priority DESC, g.devices DESC, g.cve_id LIMIT {} OFFSET {}",
            limit.max(0),
            offset.max(0)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility_id);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(self.pool()).await?;
        let total = match rows.first() {
            Some(r) => r.try_get("total")?,
            None => 0,
        };
        let list = rows
            .iter()
            .map(|r| {
                Ok(CveCount {
                    cve_id: r.try_get("cve_id")?,
                    devices: r.try_get("devices")?,
                    priority: r.try_get("priority")?,
                    score10: r.try_get("score10")?,
                    kev: r.try_get::<i64, _>("kev")? != 0,
                    ransomware: r.try_get::<i64, _>("ransomware")? != 0,
                    title_ja: r.try_get("title_ja")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((total, list))
    }

    /// The stored JSON of one feed record (NVD / KEV by CVE id, JVN by JVNDB id), if held.
    pub async fn vuln_record(&self, feed: Feed, id: &str) -> Result<Option<String>> {
        let key = match feed {
            Feed::Kev => "cve_id",
            _ => "id",
        };
        let r = sqlx::query(AssertSqlSafe(format!("SELECT data FROM {} WHERE {key} = $1", feed.table())))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        r.map(|r| r.try_get("data")).transpose().map_err(Into::into)
    }

    async fn last_scan_at(&self, facility_id: i64) -> Result<Option<String>> {
        let r = sqlx::query("SELECT scanned_at FROM vuln_scans WHERE facility_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(facility_id)
            .fetch_optional(self.pool())
            .await?;
        r.map(|r| r.try_get("scanned_at")).transpose().map_err(Into::into)
    }

    pub async fn vuln_finding(&self, facility_id: i64, key: &str) -> Result<Option<StoredFinding>> {
        let Some((asset, cve)) = split_key(key) else { return Ok(None) };
        let last = self.last_scan_at(facility_id).await?;
        let r = sqlx::query(AssertSqlSafe(format!(
            "{FINDING_SELECT} WHERE f.facility_id = $1 AND f.asset_no = $2 AND f.cve_id = $3"
        )))
        .bind(facility_id)
        .bind(asset)
        .bind(cve)
        .fetch_optional(self.pool())
        .await?;
        r.as_ref().map(|r| finding_from_row(r, last.as_deref())).transpose()
    }

    /// Sets a finding's state with a reason; the change and its history entry are written together.
    /// Returns the previous state, or None when the key is unknown.
    pub async fn vuln_set_state(
        &self,
        facility_id: i64,
        key: &str,
        state: FindingState,
        reason: &str,
        by: &str,
    ) -> Result<Option<FindingState>> {
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid("理由を入力してください（誰が見ても分かるように）/ give a reason".into()));
        }
        let mut tx = self.pool().begin().await?;
        let Some((asset, cve)) = split_key(key) else { return Ok(None) };
        let r = sqlx::query(
            "SELECT cve_id, fact_id, confidence, tier, priority, score10, kev, ransomware, at_external_point, state, \
             present, first_seen, last_seen, state_reason, state_by, state_at FROM vuln_device_findings \
             WHERE facility_id = $1 AND asset_no = $2 AND cve_id = $3",
        )
        .bind(facility_id)
        .bind(asset)
        .bind(cve)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let o = old_row(&r)?;
        let from = o.state;
        let now = now_text();
        let mut sums = HashMap::new();
        let old_key = SumKey::of_old(&o);
        sums.insert(SumKey { state, ..old_key.clone() }, 1);
        *sums.entry(old_key).or_default() -= 1;
        apply_sums(&mut tx, self.backend(), facility_id, &sums).await?;
        sqlx::query(
            "UPDATE vuln_device_findings SET state = $1, state_reason = $2, state_by = $3, state_at = $4 \
             WHERE facility_id = $5 AND asset_no = $6 AND cve_id = $7",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(by)
        .bind(&now)
        .bind(facility_id)
        .bind(asset)
        .bind(cve)
        .execute(&mut *tx)
        .await?;
        let h = HistoryInsert { key: key.to_string(), from, to: state, reason: reason.to_string() };
        insert_history(&mut tx, facility_id, &h, by, &now).await?;
        tx.commit().await?;
        Ok(Some(from))
    }

    /// State changes of a finding (or of every finding with `None`), oldest first.
    pub async fn vuln_history(&self, facility_id: i64, key: Option<&str>) -> Result<Vec<FindingHistoryRow>> {
        let rows = match key {
            Some(k) => {
                sqlx::query(
                    "SELECT fkey, from_state, to_state, reason, changed_by, changed_at FROM vuln_finding_history \
                     WHERE facility_id = $1 AND fkey = $2 ORDER BY id",
                )
                .bind(facility_id)
                .bind(k)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT fkey, from_state, to_state, reason, changed_by, changed_at FROM vuln_finding_history \
                     WHERE facility_id = $1 ORDER BY id",
                )
                .bind(facility_id)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(FindingHistoryRow {
                    key: r.try_get("fkey")?,
                    from_state: state_of(&r.try_get::<String, _>("from_state")?)?,
                    to_state: state_of(&r.try_get::<String, _>("to_state")?)?,
                    reason: r.try_get("reason")?,
                    changed_by: r.try_get("changed_by")?,
                    changed_at: r.try_get("changed_at")?,
                })
            })
            .collect()
    }
}

fn import_from_row(r: &AnyRow) -> Result<FeedImportRow> {
    let feed: String = r.try_get("feed")?;
    let n = |c: &str| -> Result<usize> { Ok(r.try_get::<i64, _>(c)? as usize) };
    Ok(FeedImportRow {
        feed: Feed::parse(&feed).ok_or_else(|| StoreError::Corrupt(format!("feed {feed}")))?,
        source: r.try_get("source")?,
        sha256: r.try_get("sha256")?,
        records: r.try_get("records")?,
        counts: FeedCounts {
            added: n("added")?,
            updated: n("updated")?,
            unchanged: n("unchanged")?,
            older_ignored: n("older_ignored")?,
        },
        data_as_of: r.try_get("data_as_of")?,
        imported_by: r.try_get("imported_by")?,
        imported_at: r.try_get("imported_at")?,
    })
}

async fn insert_history(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    facility_id: i64,
    h: &HistoryInsert,
    by: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO vuln_finding_history (facility_id, fkey, from_state, to_state, reason, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(facility_id)
    .bind(&h.key)
    .bind(h.from.as_str())
    .bind(h.to.as_str())
    .bind(&h.reason)
    .bind(by)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a filter names devices (then counts need the device rows, not vuln_finding_sums).
fn by_device(f: &FindingFilter) -> bool {
    f.asset_no.is_some() || f.assets.is_some()
}

/// The `AND …` conditions of a filter on the device rows `f`, and the text values to bind after the
/// facility id ($2, $3, …).
fn filter_sql(f: &FindingFilter) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    if let Some(a) = &f.asset_no {
        binds.push(a.clone());
        sql.push_str(&format!(" AND f.asset_no = ${}", binds.len() + 1));
    }
    if let Some(c) = &f.cve_id {
        binds.push(c.clone());
        sql.push_str(&format!(" AND f.cve_id = ${}", binds.len() + 1));
    }
    if !f.include_absent {
        sql.push_str(" AND f.present = 1");
    }
    if f.kev_only {
        sql.push_str(" AND f.kev = 1");
    }
    if f.external_only {
        sql.push_str(" AND f.at_external_point = 1");
    }
    if let Some(s) = f.min_score10 {
        sql.push_str(&format!(" AND f.score10 >= {}", s.max(0)));
    }
    if f.confirmed_only {
        sql.push_str(" AND f.confidence IN ('exact', 'range', 'jvn')");
    }
    if let Some(list) = &f.assets {
        if list.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let mut marks = Vec::with_capacity(list.len());
            for a in list {
                binds.push(a.clone());
                marks.push(format!("${}", binds.len() + 1));
            }
            sql.push_str(&format!(" AND f.asset_no IN ({})", marks.join(", ")));
        }
    }
    if !f.states.is_empty() {
        // Fixed names from the enum, never user text.
        let list: Vec<String> = f.states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND f.state IN ({})", list.join(", ")));
    }
    (sql, binds)
}

/// The stored rows of one device (lifecycle and priority columns; the fact stays where it is).
async fn device_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    facility_id: i64,
    asset: &str,
) -> Result<Vec<OldRow>> {
    let rows = sqlx::query(
        "SELECT cve_id, fact_id, confidence, tier, priority, score10, kev, ransomware, at_external_point, state, present, \
         first_seen, last_seen, state_reason, state_by, state_at FROM vuln_device_findings \
         WHERE facility_id = $1 AND asset_no = $2",
    )
    .bind(facility_id)
    .bind(asset)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(old_row).collect()
}

fn old_row(r: &AnyRow) -> Result<OldRow> {
    Ok(OldRow {
        cve_id: r.try_get("cve_id")?,
        fact_id: r.try_get("fact_id")?,
        confidence: r.try_get("confidence")?,
        tier: r.try_get("tier")?,
        priority: r.try_get("priority")?,
        score10: r.try_get("score10")?,
        kev: r.try_get::<i64, _>("kev")? != 0,
        ransomware: r.try_get::<i64, _>("ransomware")? != 0,
        ext: r.try_get::<i64, _>("at_external_point")? != 0,
        state: state_of(&r.try_get::<String, _>("state")?)?,
        present: r.try_get::<i64, _>("present")? != 0,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        state_reason: r.try_get("state_reason")?,
        state_by: r.try_get("state_by")?,
        state_at: r.try_get("state_at")?,
    })
}

const REOPEN_REASON: &str = "再診断でも該当したため再オープン / reopened: the rescan still matches it";
const RESOLVE_REASON: &str = "再診断で該当しなくなったため対応済み / fixed: the rescan no longer matches it";

/// Buffers the rows, facts and history of a scan's rewritten devices and writes them in batches.
struct Writer {
    facility_id: i64,
    backend: Backend,
    rows: Vec<RowW>,
    facts: Vec<Arc<FindingFact>>,
    fact_ids: Vec<i64>,
    /// Facts already written (or queued) by this scan.
    facts_seen: HashSet<i64>,
    history: Vec<HistoryInsert>,
    by: Arc<str>,
    now: Arc<str>,
    /// Changes of vuln_finding_sums.
    sums: HashMap<SumKey, i64>,
}

impl Writer {
    /// Merges one device's new findings with its stored rows (see `vuln_save_scan_devices`).
    #[allow(clippy::too_many_arguments)]
    fn merge(
        &mut self,
        asset: &str,
        new: Vec<NewFinding>,
        old: Vec<OldRow>,
        now: &Arc<str>,
        by: &Arc<str>,
        prev_scan: Option<&Arc<str>>,
        out: &mut ScanOutcome,
    ) {
        let asset_a: Arc<str> = Arc::from(asset);
        for o in &old {
            *self.sums.entry(SumKey::of_old(o)).or_default() -= 1;
        }
        let first = self.rows.len();
        let mut old: HashMap<String, OldRow> = old.into_iter().map(|o| (o.cve_id.clone(), o)).collect();
        let mut cves: HashSet<String> = HashSet::with_capacity(new.len());
        for n in new {
            if !cves.insert(n.fact.cve_id.clone()) {
                continue;
            }
            if self.facts_seen.insert(n.fact_id) {
                self.facts.push(n.fact.clone());
                self.fact_ids.push(n.fact_id);
            }
            let mut r = RowW {
                asset: asset_a.clone(),
                cve_id: n.fact.cve_id.clone(),
                fact_id: n.fact_id,
                confidence: n.confidence,
                tier: n.tier,
                priority: n.priority,
                score10: n.score10,
                kev: n.kev,
                ransomware: n.ransomware,
                ext: n.at_external_point,
                state: FindingState::Open,
                present: true,
                first_seen: now.clone(),
                // A present finding was last seen by the last scan: filled in when read.
                last_seen: Arc::from(""),
                state_reason: Cow::Borrowed(""),
                state_by: Arc::from(""),
                state_at: None,
            };
            match old.remove(&n.fact.cve_id) {
                None => out.added += 1,
                Some(o) => {
                    r.first_seen = Arc::from(o.first_seen);
                    if o.state == FindingState::Fixed {
                        let key = finding_key(asset, &r.cve_id);
                        self.history.push(HistoryInsert {
                            key: key.clone(),
                            from: FindingState::Fixed,
                            to: FindingState::Open,
                            reason: REOPEN_REASON.to_string(),
                        });
                        out.reopened.push(key);
                        r.state_reason = Cow::Borrowed(REOPEN_REASON);
                        r.state_by = by.clone();
                        r.state_at = Some(now.clone());
                    } else {
                        r.state = o.state;
                        r.state_reason = Cow::Owned(o.state_reason);
                        r.state_by = Arc::from(o.state_by);
                        r.state_at = o.state_at.map(Arc::from);
                    }
                }
            }
            self.rows.push(r);
        }
        for (_, o) in old {
            let mut r = RowW {
                asset: asset_a.clone(),
                fact_id: o.fact_id,
                confidence: Cow::Owned(o.confidence),
                tier: Cow::Owned(o.tier),
                priority: o.priority,
                score10: o.score10,
                kev: o.kev,
                ransomware: o.ransomware,
                ext: o.ext,
                state: o.state,
                present: false,
                first_seen: Arc::from(o.first_seen),
                // A present row was last seen by the previous scan (unchanged rows are not rewritten).
                last_seen: match (o.present, prev_scan) {
                    (true, Some(p)) if **p > *o.last_seen => p.clone(),
                    _ => Arc::from(o.last_seen),
                },
                state_reason: Cow::Owned(o.state_reason),
                state_by: Arc::from(o.state_by),
                state_at: o.state_at.map(Arc::from),
                cve_id: o.cve_id,
            };
            if o.present && o.state == FindingState::Open {
                self.history.push(HistoryInsert {
                    key: finding_key(asset, &r.cve_id),
                    from: FindingState::Open,
                    to: FindingState::Fixed,
                    reason: RESOLVE_REASON.to_string(),
                });
                r.state = FindingState::Fixed;
                r.state_reason = Cow::Borrowed(RESOLVE_REASON);
                r.state_by = by.clone();
                r.state_at = Some(now.clone());
                out.resolved += 1;
            }
            self.rows.push(r);
        }
        // In key order: the rows go into the table's primary key in sequence.
        self.rows[first..].sort_unstable_by(|a, b| a.cve_id.cmp(&b.cve_id));
        for r in &self.rows[first..] {
            *self.sums.entry(SumKey::of_row(r)).or_default() += 1;
        }
    }

    /// Writes what is buffered: new facts (if absent), then the rows.
    async fn flush(&mut self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
        let mut fv = Vec::with_capacity(self.facts.len() * 8);
        for (x, id) in self.facts.iter().zip(&self.fact_ids) {
            fv.extend([
                V::I(*id),
                V::S(&x.cve_id),
                V::O(x.jvn_id.as_deref()),
                V::O(x.title_ja.as_deref()),
                V::O(x.fixed_version.as_deref()),
                V::S(&x.matched_cpe),
                V::S(&x.criterion),
                V::S(&x.reason),
            ]);
        }
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO vuln_finding_facts (id, cve_id, jvn_id, title_ja, fixed_version, matched_cpe, criterion, reason)",
            "ON CONFLICT (id) DO NOTHING",
            8,
            &fv,
        )
        .await?;
        drop(fv);
        self.facts.clear();
        self.fact_ids.clear();
        let mut rv = Vec::with_capacity(self.rows.len() * ROW_NCOLS);
        for r in &self.rows {
            rv.extend([
                V::I(self.facility_id),
                V::S(&r.asset),
                V::S(&r.cve_id),
                V::I(r.fact_id),
                V::S(&r.confidence),
                V::S(&r.tier),
                V::I(r.priority),
                V::I(r.score10),
                V::I(flag(r.kev)),
                V::I(flag(r.ransomware)),
                V::I(flag(r.ext)),
                V::S(r.state.as_str()),
                V::I(flag(r.present)),
                V::S(&r.first_seen),
                V::S(&r.last_seen),
                V::S(&r.state_reason),
                V::S(&r.state_by),
                V::O(r.state_at.as_deref()),
            ]);
        }
        insert_rows(tx, self.backend, &format!("INSERT INTO vuln_device_findings ({ROW_COLS})"), "", ROW_NCOLS, &rv)
            .await?;
        drop(rv);
        self.rows.clear();
        let mut hv = Vec::with_capacity(self.history.len() * 7);
        for h in &self.history {
            hv.extend([
                V::I(self.facility_id),
                V::S(&h.key),
                V::S(h.from.as_str()),
                V::S(h.to.as_str()),
                V::S(&h.reason),
                V::S(&self.by),
                V::S(&self.now),
            ]);
        }
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO vuln_finding_history (facility_id, fkey, from_state, to_state, reason, changed_by, changed_at)",
            "",
            7,
            &hv,
        )
        .await?;
        drop(hv);
        self.history.clear();
        Ok(())
    }
}
