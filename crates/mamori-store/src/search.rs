//! Free-text search of the ledger lists, in memory.
//!
//! A search must find a word anywhere in a row (substring, so "病棟" finds "3階東病棟"), which no B-tree index
//! answers: in SQL it is a test of every row of the facility (measured 4–6 ms for 10 000 devices, most of
//! the CPU of the ledger pages under load). Here each ledger of a facility keeps its rows' `search_text` in
//! key order in one buffer, tagged with the ledger's revision (migration 0009, raised by every write in the
//! same transaction): a search checks the revision (one indexed row), scans the buffer with `memmem`
//! (≈0.2 ms for 10 000 rows) and hands SQL only the ids it found. A changed ledger is reloaded on its next
//! search; what another process (the CLI) wrote is seen the same way, since the revision is in the database.
//!
//! The text is the same lower-cased, width-normalised column SQL searched before, and a byte substring of
//! valid UTF-8 in valid UTF-8 is a character substring, so the results are those of `instr(search_text, term)`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mamori_model::ledger::LedgerKind;
use sqlx::{AssertSqlSafe, Row};

use crate::ledgers::db_col;
use crate::{Result, Store};

/// Memory the cached search texts of all facilities may use together; the least recently used go first.
const BUDGET_BYTES: usize = 64 << 20;

/// The search texts of one ledger of one facility at one revision, in key order.
pub(crate) struct Snapshot {
    rev: i64,
    ids: Vec<i64>,
    /// End offset in `text` of each row's text.
    ends: Vec<usize>,
    text: Vec<u8>,
}

impl Snapshot {
    fn bytes(&self) -> usize {
        self.text.len() + self.ids.len() * 16
    }

    /// Ids of the rows that contain every term, in key order.
    pub(crate) fn matching(&self, terms: &[String]) -> Vec<i64> {
        let finders: Vec<memchr::memmem::Finder> = terms.iter().map(|t| memchr::memmem::Finder::new(t)).collect();
        let mut out = Vec::new();
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            let row = &self.text[start..end];
            if finders.iter().all(|f| f.find(row).is_some()) {
                out.push(self.ids[i]);
            }
            start = end;
        }
        out
    }
}

struct Entry {
    snap: Arc<Snapshot>,
    used: u64,
}

/// The per-process cache of [`Snapshot`]s, shared by the clones of a [`Store`].
#[derive(Default)]
pub(crate) struct SearchCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<(i64, LedgerKind), Entry>,
    bytes: usize,
    tick: u64,
}

impl std::fmt::Debug for SearchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.lock().map(|i| i.map.len()).unwrap_or(0);
        write!(f, "SearchCache({n} ledgers)")
    }
}

impl SearchCache {
    fn get(&self, key: (i64, LedgerKind), rev: i64) -> Option<Arc<Snapshot>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.map.get_mut(&key)?;
        if e.snap.rev != rev {
            return None;
        }
        e.used = tick;
        Some(e.snap.clone())
    }

    fn put(&self, key: (i64, LedgerKind), snap: Arc<Snapshot>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let size = snap.bytes();
        if let Some(old) = inner.map.insert(key, Entry { snap, used: tick }) {
            inner.bytes -= old.snap.bytes();
        }
        inner.bytes += size;
        while inner.bytes > BUDGET_BYTES && inner.map.len() > 1 {
            let Some(oldest) =
                inner.map.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.snap.bytes();
            }
        }
    }
}

impl Store {
    /// Ids of the records of a ledger that contain every term (already normalised by
    /// [`crate::web::search_terms`]), in key order.
    pub(crate) async fn search_ids(&self, facility_id: i64, kind: LedgerKind, terms: &[String]) -> Result<Vec<i64>> {
        let rev = self.ledger_revision(facility_id, kind).await?;
        let key = (facility_id, kind);
        let snap = match self.search.get(key, rev) {
            Some(s) => s,
            None => {
                // The revision is read before the rows, so the rows are at least as new as the revision they are
                // filed under: a write in between only makes the next search load again.
                let sql = format!(
                    "SELECT id, search_text FROM {} WHERE facility_id = $1 ORDER BY {}",
                    kind.as_str(),
                    db_col(kind.key_column().key)
                );
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(facility_id).fetch_all(self.pool()).await?;
                let mut snap =
                    Snapshot { rev, ids: Vec::with_capacity(rows.len()), ends: Vec::new(), text: Vec::new() };
                snap.ends.reserve(rows.len());
                for r in &rows {
                    snap.ids.push(r.try_get("id")?);
                    let t: String = r.try_get("search_text")?;
                    snap.text.extend_from_slice(t.as_bytes());
                    snap.ends.push(snap.text.len());
                }
                let snap = Arc::new(snap);
                self.search.put(key, snap.clone());
                snap
            }
        };
        Ok(snap.matching(terms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(rev: i64, rows: &[&str]) -> Snapshot {
        let mut s = Snapshot { rev, ids: Vec::new(), ends: Vec::new(), text: Vec::new() };
        for (i, r) in rows.iter().enumerate() {
            s.ids.push(i as i64 + 1);
            s.text.extend_from_slice(r.as_bytes());
            s.ends.push(s.text.len());
        }
        s
    }

    #[test]
    fn every_term_must_occur_in_the_same_row() {
        let s = snap(1, &["d1 windows server 2019 3階東病棟", "d2 windows 11 外来", "d3 server linux 病棟"]);
        let t = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(s.matching(&t(&["windows", "server"])), [1]);
        assert_eq!(s.matching(&t(&["病棟"])), [1, 3]);
        assert_eq!(s.matching(&t(&["windows 11"])), [2]);
        // A term never spans two rows: "外来 d3" is not in any one row.
        assert_eq!(s.matching(&t(&["外来d3"])), Vec::<i64>::new());
        assert_eq!(s.matching(&t(&["来 d"])), Vec::<i64>::new());
    }

    #[test]
    fn the_cache_answers_only_for_the_same_revision_and_keeps_to_its_budget() {
        let c = SearchCache::default();
        let k = (1, LedgerKind::Devices);
        c.put(k, Arc::new(snap(3, &["a"])));
        assert!(c.get(k, 3).is_some());
        assert!(c.get(k, 4).is_none(), "a newer revision is never answered from an older snapshot");
        // Fill beyond the budget: the least recently used go, the one just put stays.
        let big = "x".repeat(BUDGET_BYTES / 3);
        for f in 2..=5 {
            c.put((f, LedgerKind::Devices), Arc::new(snap(1, &[&big])));
        }
        let inner = c.inner.lock().unwrap();
        assert!(inner.bytes <= BUDGET_BYTES, "{} bytes", inner.bytes);
        assert!(inner.map.contains_key(&(5, LedgerKind::Devices)));
        assert!(!inner.map.contains_key(&k), "the oldest went first");
        assert_eq!(inner.bytes, inner.map.values().map(|e| e.snap.bytes()).sum::<usize>());
    }
}
