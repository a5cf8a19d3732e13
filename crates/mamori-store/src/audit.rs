//! The app's own access log (append-only, hash-chained; the rules are in `mamori_model::audit`) and the
//! history of records changed in the web.

use mamori_model::audit::{
    AuditCategory, AuditEntry, ChainProblem, GENESIS_HASH, NewAuditEntry, chain_hash, verify_chain,
};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_text};

const AUDIT_COLS: &str =
    "seq, at, user_login, user_name, category, operation, target, facility_id, source, prev_hash, hash";

fn audit_from_row(r: &AnyRow) -> Result<AuditEntry> {
    let cat: String = r.try_get("category")?;
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        entry: NewAuditEntry {
            user_login: r.try_get("user_login")?,
            user_name: r.try_get("user_name")?,
            category: AuditCategory::parse(&cat).ok_or_else(|| StoreError::Corrupt(format!("audit category {cat}")))?,
            operation: r.try_get("operation")?,
            target: r.try_get("target")?,
            facility_id: r.try_get("facility_id")?,
            source: r.try_get("source")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// One change of a record made in the web (変更履歴).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub changed_by: String,
    pub changed_at: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

impl Store {
    /// Appends one entry to the access log, linked to the last one. Two writers racing for the same
    /// `seq` cannot both succeed (primary key): the loser reads the new last entry and tries again.
    pub async fn append_audit(&self, e: &NewAuditEntry) -> Result<AuditEntry> {
        let mut last_err = None;
        for attempt in 0..50u64 {
            match self.try_append_audit(e).await {
                Ok(entry) => return Ok(entry),
                Err(err) => last_err = Some(err),
            }
            let jitter = u64::from(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos()
                    % 7,
            );
            tokio::time::sleep(std::time::Duration::from_millis(2 + attempt.min(20) + jitter)).await;
        }
        Err(last_err.expect("tried at least once"))
    }

    async fn try_append_audit(&self, e: &NewAuditEntry) -> Result<AuditEntry> {
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        let (prev_seq, prev_hash) = match last {
            Some(r) => (r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?),
            None => (0, GENESIS_HASH.to_string()),
        };
        let seq = prev_seq + 1;
        let at = now_text();
        let hash = chain_hash(&prev_hash, seq, &at, e);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(seq)
        .bind(&at)
        .bind(&e.user_login)
        .bind(&e.user_name)
        .bind(e.category.as_str())
        .bind(&e.operation)
        .bind(&e.target)
        .bind(e.facility_id)
        .bind(&e.source)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(self.pool())
        .await?;
        Ok(AuditEntry { seq, at, entry: e.clone(), prev_hash, hash })
    }

    pub async fn audit_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM audit_log").fetch_one(self.pool()).await?.try_get(0)?)
    }

    /// Newest first, for the log page.
    pub async fn audit_page(&self, offset: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLS} FROM audit_log ORDER BY seq DESC LIMIT $1 OFFSET $2"
        )))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Every entry in order, for export and verification.
    pub async fn audit_all(&self) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY seq")))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Checks the whole chain: (entries checked, problems; empty = intact).
    pub async fn verify_audit(&self) -> Result<(usize, Vec<ChainProblem>)> {
        let all = self.audit_all().await?;
        Ok((all.len(), verify_chain(&all)))
    }

    pub async fn add_history(
        &self,
        facility_id: i64,
        ledger: &str,
        key: &str,
        by: &str,
        before: &serde_json::Value,
        after: &serde_json::Value,
    ) -> Result<()> {
        insert_history(self.pool(), facility_id, ledger, key, by, before, after).await
    }

    /// Changes of one record, newest first.
    pub async fn history(&self, facility_id: i64, ledger: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT changed_by, changed_at, before_json, after_json FROM record_history \
             WHERE facility_id = $1 AND ledger = $2 AND record_key = $3 ORDER BY id DESC",
        )
        .bind(facility_id)
        .bind(ledger)
        .bind(key)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let parse = |s: String| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()));
                Ok(HistoryEntry {
                    changed_by: r.try_get("changed_by")?,
                    changed_at: r.try_get("changed_at")?,
                    before: parse(r.try_get("before_json")?)?,
                    after: parse(r.try_get("after_json")?)?,
                })
            })
            .collect()
    }
}

/// Inserts one history entry through any executor (the pool, or the transaction of an edit).
pub(crate) async fn insert_history<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    facility_id: i64,
    ledger: &str,
    key: &str,
    by: &str,
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO record_history (facility_id, ledger, record_key, changed_by, changed_at, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(facility_id)
    .bind(ledger)
    .bind(key)
    .bind(by)
    .bind(now_text())
    .bind(before.to_string())
    .bind(after.to_string())
    .execute(exec)
    .await?;
    Ok(())
}
