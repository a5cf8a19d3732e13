//! The four ledgers: listing, and the all-or-nothing upsert an import ends with.
//!
//! Records are mapped to rows generically: the database columns are the ledger's column keys (see
//! `mamori_model::ledger::*_COLUMNS`), so a column added to a ledger is a migration plus its definition.

use std::collections::HashMap;

use mamori_model::import::HeaderMapping;
use mamori_model::ledger::{CellKind, FieldValue, LedgerKind, LedgerRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Result, Store, StoreError, now_text};

/// Counts of what an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// One import that was written (取込履歴).
#[derive(Debug, Clone, Serialize)]
pub struct ImportRun {
    pub ledger: String,
    pub source: String,
    pub sha256: String,
    pub rows_in_file: usize,
    pub counts: UpsertCounts,
    pub imported_by: String,
    pub imported_at: String,
}

fn table(kind: LedgerKind) -> &'static str {
    kind.as_str()
}

/// Database column of a ledger column key (`user` is reserved in SQL).
pub(crate) fn db_col(key: &str) -> &str {
    if key == "user" { "user_name" } else { key }
}

/// Whether a column takes part in the free-text search (text and enum columns; not numbers, flags, dates).
pub(crate) fn searchable(k: CellKind) -> bool {
    !matches!(k, CellKind::Int | CellKind::Bool | CellKind::Date)
}

/// The text the ledger list searches: the searchable columns joined by a space, ASCII lower case. Kept in
/// the `search_text` column on every write, so a search reads one column with a plain substring test
/// instead of concatenating and LIKE-matching every column of every row.
pub(crate) fn search_text<T: LedgerRecord>(r: &T) -> String {
    let mut out = String::new();
    for (col, v) in T::KIND.columns().iter().zip(r.values()) {
        if !searchable(col.kind) {
            continue;
        }
        let text = match v {
            FieldValue::Text(s) => s,
            FieldValue::OptText(s) => s.unwrap_or_default(),
            _ => "",
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(text);
    }
    out.make_ascii_lowercase();
    out
}

/// The SQL expression that computes `search_text` from a row's columns (the migration that added the column
/// backfills existing rows with it; a test keeps the migration and [`search_text`] in agreement).
#[cfg(test)]
pub(crate) fn search_text_sql(kind: LedgerKind) -> String {
    let parts: Vec<String> = kind
        .columns()
        .iter()
        .filter(|c| searchable(c.kind))
        .map(|c| format!("COALESCE({}, '')", db_col(c.key)))
        .collect();
    format!("lower({})", parts.join(" || ' ' || "))
}

#[derive(Clone, Copy)]
enum DbKind {
    Text,
    OptText,
    OptInt,
    OptFlag,
}

fn db_kind(k: CellKind) -> DbKind {
    match k {
        CellKind::Key | CellKind::Text | CellKind::RequiredText | CellKind::IpList | CellKind::Mac => DbKind::Text,
        CellKind::Date | CellKind::Enum(_) => DbKind::OptText,
        CellKind::Int => DbKind::OptInt,
        CellKind::Bool => DbKind::OptFlag,
    }
}

pub(crate) fn record_from_row<T: LedgerRecord + DeserializeOwned>(row: &AnyRow) -> Result<T> {
    let mut map = Map::new();
    for c in T::KIND.columns() {
        let col = db_col(c.key);
        let v = match db_kind(c.kind) {
            DbKind::Text => Value::String(row.try_get::<String, _>(col)?),
            DbKind::OptText => row.try_get::<Option<String>, _>(col)?.map(Value::String).unwrap_or(Value::Null),
            DbKind::OptInt => {
                row.try_get::<Option<i64>, _>(col)?.map(|n| Value::Number(n.into())).unwrap_or(Value::Null)
            }
            DbKind::OptFlag => row.try_get::<Option<i64>, _>(col)?.map(|n| Value::Bool(n != 0)).unwrap_or(Value::Null),
        };
        map.insert(c.key.to_string(), v);
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Raises the revision of a ledger inside the transaction that changed it (see migration 0009).
async fn bump_revision(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    facility_id: i64,
    kind: LedgerKind,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ledger_revisions (facility_id, ledger, rev, changed_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (facility_id, ledger) DO UPDATE SET rev = ledger_revisions.rev + 1, changed_at = excluded.changed_at",
    )
    .bind(facility_id)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rows per INSERT statement: well under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
const BATCH_ROWS: usize = 400;

impl Store {
    /// Every record of a ledger of a facility, ordered by key.
    pub async fn list<T: LedgerRecord + DeserializeOwned>(&self, facility_id: i64) -> Result<Vec<T>> {
        let kind = T::KIND;
        let cols: Vec<&str> = kind.columns().iter().map(|c| db_col(c.key)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE facility_id = $1 ORDER BY {}",
            cols.join(", "),
            table(kind),
            db_col(kind.key_column().key)
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(facility_id).fetch_all(self.pool()).await?;
        rows.iter().map(record_from_row::<T>).collect()
    }

    pub async fn count(&self, facility_id: i64, kind: LedgerKind) -> Result<i64> {
        let n: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {} WHERE facility_id = $1", table(kind))))
            .bind(facility_id)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        Ok(n)
    }

    /// Writes the records of one import in ONE transaction: new keys are added, changed records updated,
    /// identical ones left alone; records not in the file stay. A crash at any moment leaves the ledger
    /// as before or as after. `progress(done, total)` is called after each batch.
    pub async fn upsert<T>(
        &self,
        facility_id: i64,
        records: &[T],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<UpsertCounts>
    where
        T: LedgerRecord + Serialize + DeserializeOwned + PartialEq,
    {
        let kind = T::KIND;
        let existing: HashMap<String, T> =
            self.list::<T>(facility_id).await?.into_iter().map(|r| (r.key().to_string(), r)).collect();
        let mut counts = UpsertCounts::default();
        let mut to_write: Vec<&T> = Vec::new();
        let mut keys = std::collections::HashSet::with_capacity(records.len());
        for r in records {
            if r.key().is_empty() || !keys.insert(r.key()) {
                return Err(StoreError::Invalid(format!(
                    "{}「{}」が空か重複しています。取り込みは行っていません / empty or duplicate key '{}': nothing was written",
                    kind.key_column().ja,
                    r.key(),
                    r.key()
                )));
            }
        }
        for r in records {
            match existing.get(r.key()) {
                None => {
                    counts.added += 1;
                    to_write.push(r);
                }
                Some(old) if old == r => counts.unchanged += 1,
                Some(_) => {
                    counts.updated += 1;
                    to_write.push(r);
                }
            }
        }
        drop(existing);
        let mut tx = self.pool().begin().await?;
        self.write_records(&mut tx, facility_id, &to_write, &mut progress).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Writes records in batches inside the caller's transaction.
    async fn write_records<T: LedgerRecord>(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        facility_id: i64,
        to_write: &[&T],
        progress: &mut impl FnMut(usize, usize),
    ) -> Result<()> {
        let kind = T::KIND;
        let cols: Vec<&str> = kind.columns().iter().map(|c| db_col(c.key)).collect();
        let key = db_col(kind.key_column().key);
        let per_row = cols.len() + 3;
        let backend = self.backend();
        let sql_for = |n: usize| {
            let mut sql = format!(
                "INSERT INTO {} (facility_id, {}, updated_at, search_text) VALUES ",
                table(kind),
                cols.join(", ")
            );
            for i in 0..n {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for j in 0..per_row {
                    if j > 0 {
                        sql.push(',');
                    }
                    // SQLite looks a named parameter ($N) up by a linear scan: with thousands of them per statement
                    // that scan dominates the import (measured: 80% of the time), so SQLite gets positional `?`.
                    match backend {
                        Backend::Sqlite => sql.push('?'),
                        Backend::Postgres => sql.push_str(&format!("${}", i * per_row + j + 1)),
                    }
                }
                sql.push(')');
            }
            let sets: Vec<String> = cols
                .iter()
                .filter(|c| **c != key)
                .chain([&"updated_at", &"search_text"])
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            sql.push_str(&format!(" ON CONFLICT (facility_id, {key}) DO UPDATE SET {}", sets.join(", ")));
            sql
        };
        let full_sql = sql_for(BATCH_ROWS);
        let now = now_text();
        let total = to_write.len();
        let mut done = 0;
        for chunk in to_write.chunks(BATCH_ROWS) {
            let partial;
            let sql = if chunk.len() == BATCH_ROWS {
                &full_sql
            } else {
                partial = sql_for(chunk.len());
                &partial
            };
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for r in chunk {
                q = q.bind(facility_id);
                for v in r.values() {
                    q = match v {
                        FieldValue::Text(s) => q.bind(s),
                        FieldValue::OptText(s) => q.bind(s),
                        FieldValue::OptDate(d) => q.bind(d.map(|d| d.format("%Y-%m-%d").to_string())),
                        FieldValue::OptInt(n) => q.bind(n),
                        FieldValue::OptBool(b) => q.bind(b.map(i64::from)),
                    };
                }
                q = q.bind(now.as_str());
                q = q.bind(search_text(*r));
            }
            q.execute(&mut **tx).await?;
            done += chunk.len();
            progress(done, total);
        }
        if !to_write.is_empty() {
            bump_revision(tx, facility_id, kind, &now).await?;
        }
        Ok(())
    }

    /// One record edited by a person: the record and its history entry (before/after) are written in ONE
    /// transaction, so a crash never leaves a change without its history or a history without its change.
    pub async fn save_edit<T>(&self, facility_id: i64, before: &T, after: &T, by: &str) -> Result<()>
    where
        T: LedgerRecord + Serialize,
    {
        let json = |r: &T| serde_json::to_value(r).map_err(|e| StoreError::Corrupt(e.to_string()));
        let (b, a) = (json(before)?, json(after)?);
        let mut tx = self.pool().begin().await?;
        self.write_records(&mut tx, facility_id, &[after], &mut |_, _| {}).await?;
        crate::audit::insert_history(&mut *tx, facility_id, T::KIND.as_str(), after.key(), by, &b, &a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one record by key; true when it existed.
    pub async fn delete_record(&self, facility_id: i64, kind: LedgerKind, key: &str) -> Result<bool> {
        let sql =
            format!("DELETE FROM {} WHERE facility_id = $1 AND {} = $2", table(kind), db_col(kind.key_column().key));
        let mut tx = self.pool().begin().await?;
        let gone =
            sqlx::query(AssertSqlSafe(sql)).bind(facility_id).bind(key).execute(&mut *tx).await?.rows_affected() > 0;
        if gone {
            bump_revision(&mut tx, facility_id, kind, &now_text()).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }

    /// The revision of a ledger of a facility (0 before its first write): raised by every write, so two equal
    /// revisions mean the same records.
    pub async fn ledger_revision(&self, facility_id: i64, kind: LedgerKind) -> Result<i64> {
        let row = sqlx::query("SELECT rev FROM ledger_revisions WHERE facility_id = $1 AND ledger = $2")
            .bind(facility_id)
            .bind(kind.as_str())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get("rev")?,
            None => 0,
        })
    }

    pub async fn header_mapping(&self, facility_id: i64, kind: LedgerKind) -> Result<HeaderMapping> {
        let rows = sqlx::query(
            "SELECT header, column_key FROM header_mappings WHERE facility_id = $1 AND ledger = $2 ORDER BY header",
        )
        .bind(facility_id)
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?;
        let entries =
            rows.iter().map(|r| Ok((r.try_get("header")?, r.try_get("column_key")?))).collect::<Result<Vec<_>>>()?;
        Ok(HeaderMapping { entries })
    }

    /// Saves (adds or replaces) header mappings of a facility's ledger.
    pub async fn save_header_mapping(&self, facility_id: i64, kind: LedgerKind, m: &HeaderMapping) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for (h, k) in &m.entries {
            sqlx::query(
                "INSERT INTO header_mappings (facility_id, ledger, header, column_key) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (facility_id, ledger, header) DO UPDATE SET column_key = excluded.column_key",
            )
            .bind(facility_id)
            .bind(kind.as_str())
            .bind(h)
            .bind(k)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn record_import(&self, facility_id: i64, run: &ImportRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO import_runs (facility_id, ledger, source, sha256, rows_in_file, added, updated, unchanged, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(facility_id)
        .bind(&run.ledger)
        .bind(&run.source)
        .bind(&run.sha256)
        .bind(run.rows_in_file as i64)
        .bind(run.counts.added as i64)
        .bind(run.counts.updated as i64)
        .bind(run.counts.unchanged as i64)
        .bind(&run.imported_by)
        .bind(&run.imported_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Latest import time per ledger (for "ledger kept and updated in the last year").
    pub async fn last_import_at(&self, facility_id: i64, kind: LedgerKind) -> Result<Option<String>> {
        let row = sqlx::query("SELECT MAX(imported_at) AS at FROM import_runs WHERE facility_id = $1 AND ledger = $2")
            .bind(facility_id)
            .bind(kind.as_str())
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<String>, _>("at")?)
    }

    /// Latest change of any record of a ledger.
    pub async fn last_updated_at(&self, facility_id: i64, kind: LedgerKind) -> Result<Option<String>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT MAX(updated_at) AS at FROM {} WHERE facility_id = $1",
            table(kind)
        )))
        .bind(facility_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<Option<String>, _>("at")?)
    }
}
