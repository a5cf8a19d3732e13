//! Ledger queries of the web: one page of a ledger with search, filter, sort and paging done in SQL, and
//! one record by key — both limited to a vendor's own records when a scope is given.

use mamori_model::ledger::{LedgerKind, LedgerRecord};
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

/// The terms of a search, as stored text is kept: width-normalised (full-width ASCII → ASCII, half-width
/// katakana → full-width), ASCII lower case, split at spaces (the ideographic space included); text in
/// double quotes (also 「」 or full-width quotes) is one term with its spaces. At most 8 terms.
pub fn search_terms(search: &str) -> Vec<String> {
    let mut s = mamori_model::text::normalize_width(search);
    s.make_ascii_lowercase();
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in s.chars() {
        match ch {
            '"' | '「' | '」' | '“' | '”' => {
                quoted = !quoted && ch != '」';
                if !current.trim().is_empty() {
                    terms.push(std::mem::take(&mut current).trim().to_string());
                }
                current.clear();
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        terms.push(current.trim().to_string());
    }
    terms.truncate(8);
    terms
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn search_terms_split_at_spaces_and_keep_quoted_phrases() {
        assert_eq!(search_terms("Windows  Server"), ["windows", "server"]);
        assert_eq!(search_terms("\"Windows 10\" 外来"), ["windows 10", "外来"]);
        assert_eq!(search_terms("ＷＩＮＤＯＷＳ　病棟"), ["windows", "病棟"]);
        assert_eq!(search_terms("「放射線科 2階」"), ["放射線科 2階"]);
        assert_eq!(search_terms("ｻｰﾊﾞ"), ["サーバ"]);
        assert!(search_terms("  \"\"  ").is_empty());
        assert_eq!(search_terms("a b c d e f g h i j").len(), 8);
    }
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
        // Every word must occur somewhere in the row (substring, ASCII case and character width ignored).
        let terms = search_terms(&q.search);
        let contains = if self.backend() == crate::Backend::Postgres { "strpos" } else { "instr" };
        for term in &terms {
            wheres.push(format!("{contains}(search_text, ${next}) > 0"));
            binds.push(term.clone());
            next += 1;
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
        let full_scan = !terms.is_empty();
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
