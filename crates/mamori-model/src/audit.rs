//! The app's own access log (checklist 2-(6) applied to mamori): its entries in the shape of the
//! manual's example (ユーザーID・氏名・時刻・カテゴリ・操作情報, plus the target), and the hash chain
//! that makes an altered or deleted entry detectable. Each entry stores
//! `SHA-256(previous entry's hash + "\n" + its own canonical content)`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash the first entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// カテゴリ of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCategory {
    /// 認証: login, logout, failed login
    Auth,
    /// 閲覧: views of personal data
    View,
    /// 変更: every change
    Change,
    /// 出力: every export
    Export,
    /// 管理: users, settings
    Admin,
}

impl AuditCategory {
    pub const ALL: [AuditCategory; 5] = [Self::Auth, Self::View, Self::Change, Self::Export, Self::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::View => "view",
            Self::Change => "change",
            Self::Export => "export",
            Self::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Auth => "認証",
            Self::View => "閲覧",
            Self::Change => "変更",
            Self::Export => "出力",
            Self::Admin => "管理",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Auth => "Authentication",
            Self::View => "View",
            Self::Change => "Change",
            Self::Export => "Export",
            Self::Admin => "Administration",
        }
    }
}

/// What is logged, before it gets its place in the chain. Never put a secret (password, token) here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// ユーザーID (the login typed, for failed logins)
    pub user_login: String,
    /// 氏名
    pub user_name: String,
    pub category: AuditCategory,
    /// 操作情報 (e.g. ログイン, 機器台帳を更新)
    pub operation: String,
    /// 対象 (e.g. 機器台帳 PC-0001)
    pub target: String,
    pub facility_id: Option<i64>,
    /// 接続元 (source address)
    pub source: String,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3 … without gaps.
    pub seq: i64,
    /// RFC 3339 UTC
    pub at: String,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The content an entry's hash covers, unambiguous (every field length-prefixed).
pub fn canonical(seq: i64, at: &str, e: &NewAuditEntry) -> String {
    let fid = e.facility_id.map(|f| f.to_string()).unwrap_or_default();
    let fields: [&str; 10] = [
        &seq.to_string(),
        at,
        &e.user_login,
        &e.user_name,
        e.category.as_str(),
        &e.operation,
        &e.target,
        &fid,
        &e.source,
        "v1",
    ];
    let mut s = String::new();
    for f in fields {
        s.push_str(&f.len().to_string());
        s.push(':');
        s.push_str(f);
        s.push('\n');
    }
    s
}

/// The hash of an entry linked to the previous one.
pub fn chain_hash(prev_hash: &str, seq: i64, at: &str, e: &NewAuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(seq, at, e).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What is wrong at one place of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ChainProblem {
    /// The entry's content no longer matches its hash: it was altered.
    Altered { seq: i64 },
    /// Entries are missing before this one (deleted).
    Missing { from_seq: i64, to_seq: i64 },
    /// The entry does not link to the previous entry's hash (an entry was removed, inserted or re-hashed).
    BrokenLink { seq: i64 },
    /// The log ends before an anchor recorded outside mamori: the newest entries were deleted.
    Truncated { anchor_seq: i64, last_seq: i64 },
    /// The entry an anchor names has another hash now: the chain was rewritten from there or before.
    AnchorMismatch { seq: i64 },
}

impl ChainProblem {
    pub fn message_ja(&self) -> String {
        match self {
            Self::Altered { seq } => format!("{seq}番の記録が改ざんされています（内容がハッシュと一致しません）"),
            Self::Missing { from_seq, to_seq } if from_seq == to_seq => {
                format!("{from_seq}番の記録が削除されています")
            }
            Self::Missing { from_seq, to_seq } => format!("{from_seq}～{to_seq}番の記録が削除されています"),
            Self::BrokenLink { seq } => {
                format!("{seq}番の記録が直前の記録とつながっていません（差し替え・削除の疑い）")
            }
            Self::Truncated { anchor_seq, last_seq } => format!(
                "記録は{last_seq}番で終わっていますが、控え（アンカー）には{anchor_seq}番まであります。末尾の記録が削除されています"
            ),
            Self::AnchorMismatch { seq } => {
                format!("{seq}番の記録のハッシュが控え（アンカー）と違います（記録が作り直されています）")
            }
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            Self::Altered { seq } => format!("entry {seq} was altered (its content does not match its hash)"),
            Self::Missing { from_seq, to_seq } => format!("entries {from_seq}..={to_seq} were deleted"),
            Self::BrokenLink { seq } => {
                format!("entry {seq} does not link to the previous entry (replaced or removed)")
            }
            Self::Truncated { anchor_seq, last_seq } => format!(
                "the log ends at entry {last_seq} but the anchor recorded entry {anchor_seq}: the newest entries were deleted"
            ),
            Self::AnchorMismatch { seq } => {
                format!("entry {seq} no longer has the hash the anchor recorded (rewritten)")
            }
        }
    }
}

/// The head of the chain written down outside mamori (`mamori audit anchor`: a file kept elsewhere, a
/// printout). A hash chain alone cannot show that its newest entries were cut off; an anchor can: the entry
/// it names must still exist with the same hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAnchor {
    pub seq: i64,
    pub hash: String,
    /// Time of the anchored entry.
    pub at: String,
}

impl ChainAnchor {
    /// The anchor of the newest entry, if any.
    pub fn of_head(entries: &[AuditEntry]) -> Option<Self> {
        entries.last().map(|e| Self { seq: e.seq, hash: e.hash.clone(), at: e.at.clone() })
    }

    /// Checks the chain against this anchor (entries in `seq` order).
    pub fn check(&self, entries: &[AuditEntry]) -> Option<ChainProblem> {
        match entries.iter().find(|e| e.seq == self.seq) {
            Some(e) if e.hash == self.hash => None,
            Some(e) => Some(ChainProblem::AnchorMismatch { seq: e.seq }),
            None => {
                let last_seq = entries.iter().map(|e| e.seq).filter(|s| *s < self.seq).max().unwrap_or(0);
                if entries.iter().any(|e| e.seq > self.seq) {
                    // Deleted in the middle: `verify_chain` already reports the gap.
                    None
                } else {
                    Some(ChainProblem::Truncated { anchor_seq: self.seq, last_seq })
                }
            }
        }
    }
}

/// Checks entries given in `seq` order, the first one being seq 1. Returns every problem found.
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    for e in entries {
        if e.seq > expected_seq {
            problems.push(ChainProblem::Missing { from_seq: expected_seq, to_seq: e.seq - 1 });
        }
        if chain_hash(&e.prev_hash, e.seq, &e.at, &e.entry) != e.hash {
            problems.push(ChainProblem::Altered { seq: e.seq });
        } else if e.prev_hash != prev_hash
            && !matches!(problems.last(), Some(ChainProblem::Missing { to_seq, .. }) if *to_seq == e.seq - 1)
        {
            problems.push(ChainProblem::BrokenLink { seq: e.seq });
        }
        prev_hash = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let entry = NewAuditEntry {
                    user_login: "abc@def".into(),
                    user_name: "山田 太郎".into(),
                    category: AuditCategory::Auth,
                    operation: "ログイン".into(),
                    target: String::new(),
                    facility_id: Some(1),
                    source: "127.0.0.1".into(),
                };
                let at = format!("2026-11-21T08:30:{seq:02}Z");
                let hash = chain_hash(&prev, seq, &at, &entry);
                let e = AuditEntry { seq, at, entry, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_anchor_shows_a_cut_off_tail_that_the_chain_alone_cannot() {
        let full = chain(6);
        let anchor = ChainAnchor::of_head(&full).unwrap();
        assert_eq!(anchor.seq, 6);
        assert_eq!(anchor.check(&full), None);
        // The newest two entries deleted: the chain itself still verifies…
        let cut = &full[..4];
        assert!(verify_chain(cut).is_empty());
        // …the anchor does not.
        assert_eq!(anchor.check(cut), Some(ChainProblem::Truncated { anchor_seq: 6, last_seq: 4 }));
        assert!(ChainProblem::Truncated { anchor_seq: 6, last_seq: 4 }.message_ja().contains("削除"));
        // The whole log rebuilt from entry 3 on with new hashes (an attacker with the database re-hashing):
        let mut rebuilt = full.clone();
        rebuilt[5].entry.operation = "偽の記録".into();
        let mut prev = rebuilt[4].hash.clone();
        for e in rebuilt.iter_mut().skip(5) {
            e.prev_hash = prev.clone();
            e.hash = chain_hash(&prev, e.seq, &e.at, &e.entry);
            prev = e.hash.clone();
        }
        assert!(verify_chain(&rebuilt).is_empty(), "a re-hashed chain is consistent in itself");
        assert_eq!(anchor.check(&rebuilt), Some(ChainProblem::AnchorMismatch { seq: 6 }));
        // An older anchor still holds when newer entries were added.
        let old = ChainAnchor::of_head(&full[..3]).unwrap();
        assert_eq!(old.check(&full), None);
        assert_eq!(ChainAnchor::of_head(&[]), None);
    }

    #[test]
    fn intact_chain_verifies() {
        assert!(verify_chain(&chain(5)).is_empty());
        assert!(verify_chain(&[]).is_empty());
    }

    #[test]
    fn altered_entry_is_named() {
        let mut c = chain(5);
        c[2].entry.operation = "ログオフ".into();
        assert_eq!(verify_chain(&c), vec![ChainProblem::Altered { seq: 3 }]);
    }

    #[test]
    fn deleted_entry_is_named() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c), vec![ChainProblem::Missing { from_seq: 2, to_seq: 2 }]);
        let mut c = chain(5);
        c.remove(0);
        assert_eq!(verify_chain(&c), vec![ChainProblem::Missing { from_seq: 1, to_seq: 1 }]);
    }

    #[test]
    fn rehashed_entry_breaks_the_link() {
        // An attacker edits entry 3 and recomputes its hash: entry 4 no longer links to it.
        let mut c = chain(5);
        c[2].entry.user_login = "mallory".into();
        c[2].hash = chain_hash(&c[2].prev_hash, 3, &c[2].at.clone(), &c[2].entry);
        assert_eq!(verify_chain(&c), vec![ChainProblem::BrokenLink { seq: 4 }]);
    }

    #[test]
    fn canonical_form_is_unambiguous() {
        let a = NewAuditEntry {
            user_login: "a".into(),
            user_name: "b\n1:c".into(),
            category: AuditCategory::View,
            operation: String::new(),
            target: String::new(),
            facility_id: None,
            source: String::new(),
        };
        let b = NewAuditEntry { user_login: "a\n1:b".into(), user_name: "c".into(), ..a.clone() };
        assert_ne!(canonical(1, "t", &a), canonical(1, "t", &b));
    }
}
