//! Evidence: what mamori's own data says about an item of an official document (the checklist, the BCP
//! confirmation table, the G-MIS survey). Every capability that knows something contributes through the same
//! interface — a provider is an `async fn(&Store, &Facility, today) -> Result<Vec<Evidence>>` listed once in
//! [`collect`] — so the checklist page, the BCP table and the readiness view never special-case a source.
//!
//! Evidence never overwrites a human answer: the pages show it beside the answer, with its reason, and
//! highlight a disagreement ([`Evidence::suggests`] differs from the answer).

use chrono::NaiveDate;
use mamori_model::Facility;
use mamori_store::Store;
use serde::Serialize;

use crate::Result;

/// Which official document an evidence item speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceTarget {
    /// The checklist (both editions use the same item numbers, e.g. "2-(7)").
    Checklist,
    /// The BCP confirmation table (確認表), item numbers like "1-2".
    BcpTable,
    /// The G-MIS backup / remote-gateway survey, question ids like "q6".
    Gmis,
}

/// How the data bears on the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// The data shows the item is met.
    Supports,
    /// The data shows something that contradicts a はい (e.g. a retired account still enabled).
    Contradicts,
    /// Some of it is there, some is not.
    Partial,
    /// The capability exists but has no data for this facility yet (e.g. no contact entered).
    Missing,
}

/// One piece of evidence about one item of one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub target: EvidenceTarget,
    /// The official item number as the document writes it: "2-(7)", "1-2", "q6".
    pub item: String,
    /// The capability it comes from: "ledger", "contacts", "training", "bcp", "backup", "vuln", "network".
    pub source: &'static str,
    pub state: EvidenceState,
    /// The answer the data suggests (はい = true), if it suggests one.
    pub suggests: Option<bool>,
    /// Why, in words a hospital's IT staff understands, Japanese and English.
    pub reason_ja: String,
    pub reason_en: String,
    /// Where to look in the web UI, relative to the facility (e.g. "l/devices", "contacts", "backup").
    pub link: Option<String>,
    /// When the underlying data was last updated (ISO date), if known.
    pub as_of: Option<String>,
}

impl Evidence {
    /// Whether the data disagrees with a human answer (はい = true).
    pub fn disagrees_with(&self, answer: bool) -> bool {
        self.suggests.is_some_and(|s| s != answer)
    }
}

/// Everything every capability knows about this facility, sorted by document, item and source.
pub async fn collect(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<Evidence>> {
    let mut all = Vec::new();
    all.extend(crate::checklist::ledger_evidence(store, facility, today).await?);
    all.extend(crate::bcp::evidence(store, facility, today).await?);
    all.extend(crate::vuln::evidence(store, facility, today).await?);
    all.extend(crate::backup::evidence(store, facility, today).await?);
    all.sort_by(|a, b| (a.target, &a.item, a.source).cmp(&(b.target, &b.item, b.source)));
    Ok(all)
}

/// The evidence of one document's item, from a collected list.
pub fn for_item<'a>(all: &'a [Evidence], target: EvidenceTarget, item: &str) -> Vec<&'a Evidence> {
    all.iter().filter(|e| e.target == target && e.item == item).collect()
}
