//! Ledger queries of the web: one page of a ledger with search, filter, sort and paging done in SQL, and
//! one record by key — both limited to a vendor's own records when a scope is given.

use mamori_model::ledger::{CellKind, LedgerKind, LedgerRecord};
use serde::de::DeserializeOwned;
use sqlx::{AssertSqlSafe, Row};

use crate::ledgers::{db_col, record_from_row as decode};
use crate::{Result, Store, StoreError};

/// What one page of a ledger list asks for. Column keys are checked against the ledger's columns;
/// unknown ones are refused, so no user text ever becomes SQL.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    /// Free text searched in every text column (case-insensitive, substring).
    pub search: String,
    /// (column key, exact value), e.g. ("status", "active").
    pub filters: Vec<(String, String)>,
    /// Record limit of a vendor: (column key, vendor name). A vendor sees only rows where it matches.
    pub scope: Option<(String, String)>,
    /// Column key to sort by; the ledger's key column when empty.
    pub sort: String,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

fn checked_col(kind: LedgerKind, key: &str) -> Result<&'static str> {
    kind.columns().iter().find(|c| c.key == key).map(|c| db_col(c.key)).ok_or_else(|| {
        StoreError::Invalid(format!("{}に列「{key}」はありません / unknown column '{key}'", kind.label_ja()))
    })
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl Store {
    /// One page of a ledger and the number of rows matching (before paging).
    pub async fn ledger_page<T: LedgerRecord + DeserializeOwned>(
        &self,
        facility_id: i64,
        q: &LedgerQuery,
    ) -> Result<(Vec<T>, i64)> {
        let kind = T::KIND;
        let table = kind.as_str();
        let mut wheres = vec!["facility_id = $1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        let mut next = 2;
        if let Some((col, v)) = &q.scope {
            wheres.push(format!("{} = ${next}", checked_col(kind, col)?));
            binds.push(v.clone());
            next += 1;
        }
        for (col, v) in &q.filters {
            wheres.push(format!("{} = ${next}", checked_col(kind, col)?));
            binds.push(v.clone());
            next += 1;
        }
        let search = q.search.trim();
        if !search.is_empty() {
            // One LIKE over the text columns joined (far cheaper than one LIKE per column).
            let joined: Vec<String> = kind
                .columns()
                .iter()
                .filter(|c| !matches!(c.kind, CellKind::Int | CellKind::Bool | CellKind::Date))
                .map(|c| match c.kind {
                    CellKind::Enum(_) => format!("COALESCE({}, '')", db_col(c.key)),
                    _ => db_col(c.key).to_string(),
                })
                .collect();
            // SQLite's LIKE ignores ASCII case already; PostgreSQL needs ILIKE.
            let like = if self.backend() == crate::Backend::Postgres { "ILIKE" } else { "LIKE" };
            wheres.push(format!("({}) {like} ${next} ESCAPE '\\'", joined.join(" || ' ' || ")));
            binds.push(escape_like(search));
        }
        let where_sql = wheres.join(" AND ");
        let sort = if q.sort.is_empty() { db_col(kind.key_column().key) } else { checked_col(kind, &q.sort)? };
        let key = db_col(kind.key_column().key);
        let dir = if q.descending { "DESC" } else { "ASC" };
        let cols: Vec<&str> = kind.columns().iter().map(|c| db_col(c.key)).collect();
        let limit = q.limit.clamp(1, 500);
        let offset = q.offset.max(0);
        let bind_all = |sql: String| {
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(facility_id);
            for b in &binds {
                query = query.bind(b.clone());
            }
            query
        };
        // Without search, COUNT reads only an index and the page comes from the index order (or a top-N
        // sort); with search every row is read anyway, so the page and its total come from one statement.
        let full_scan = !search.is_empty();
        // The inner query sorts and pages only (sort key, id); the outer one reads the 50 full rows.
        let page_sql = |extra: &str| {
            let outer: Vec<String> = cols.iter().map(|c| format!("t.{c}")).collect();
            format!(
                "SELECT {}{} FROM {table} t JOIN (SELECT id AS pick_id{extra} FROM {table} WHERE {where_sql} \
                 ORDER BY {sort} {dir}, {key} ASC LIMIT {limit} OFFSET {offset}) p ON t.id = p.pick_id \
                 ORDER BY t.{sort} {dir}, t.{key} ASC",
                outer.join(", "),
                if extra.is_empty() { "" } else { ", p.total_rows" }
            )
        };
        let count_sql = format!("SELECT COUNT(*) FROM {table} WHERE {where_sql}");
        let (rows, total) = if full_scan {
            let rows = bind_all(page_sql(", COUNT(*) OVER () AS total_rows")).fetch_all(self.pool()).await?;
            let total: i64 = match rows.first() {
                Some(r) => r.try_get("total_rows")?,
                None => bind_all(count_sql).fetch_one(self.pool()).await?.try_get(0)?,
            };
            (rows, total)
        } else {
            let total: i64 = bind_all(count_sql).fetch_one(self.pool()).await?.try_get(0)?;
            let rows = if offset >= total { Vec::new() } else { bind_all(page_sql("")).fetch_all(self.pool()).await? };
            (rows, total)
        };
        Ok((rows.iter().map(decode::<T>).collect::<Result<Vec<T>>>()?, total))
    }

    /// One record by key, or `None` when it does not exist or is outside the vendor's scope.
    pub async fn record<T: LedgerRecord + DeserializeOwned>(
        &self,
        facility_id: i64,
        key: &str,
        scope: Option<(&str, &str)>,
    ) -> Result<Option<T>> {
        let kind = T::KIND;
        let cols: Vec<&str> = kind.columns().iter().map(|c| db_col(c.key)).collect();
        let mut sql = format!(
            "SELECT {} FROM {} WHERE facility_id = $1 AND {} = $2",
            cols.join(", "),
            kind.as_str(),
            db_col(kind.key_column().key)
        );
        if let Some((col, _)) = scope {
            sql.push_str(&format!(" AND {} = $3", checked_col(kind, col)?));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility_id).bind(key);
        if let Some((_, v)) = scope {
            q = q.bind(v);
        }
        q.fetch_optional(self.pool()).await?.as_ref().map(decode::<T>).transpose()
    }

    /// Number of records of a ledger and the time of its latest change, in one statement (dashboard).
    pub async fn ledger_stats(&self, facility_id: i64, kind: LedgerKind) -> Result<(i64, Option<String>)> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n, MAX(updated_at) AS at FROM {} WHERE facility_id = $1",
            kind.as_str()
        )))
        .bind(facility_id)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("n")?, row.try_get("at")?))
    }
}
