//! Persistence of mamori with sqlx: SQLite as the embedded default (one file, WAL, foreign keys on) and
//! PostgreSQL chosen by a `postgres://` URL. One migration folder per database; the same queries run on
//! both through sqlx's `Any` driver (placeholders `$1…`, ISO dates as text, flags as 0/1 integers).

mod audit;
pub mod backup;
pub mod bcp;
pub mod checklist;
mod facilities;
mod ledgers;
mod search;
mod users;
pub mod vuln;
mod web;

pub use audit::HistoryEntry;
pub use ledgers::{ImportRun, UpsertCounts};
pub use users::{NewUser, SessionRow, User};
pub use web::{LedgerQuery, LedgerStats};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("データベースに接続できません / cannot open the database ({url}): {reason}")]
    Connect { url: String, reason: String },
    #[error("データベースの更新（マイグレーション）に失敗しました / migrating the database failed: {0}")]
    Migrate(String),
    #[error("データベースエラー / database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("保存されている値が不正です / a stored value is invalid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    #[error("施設「{0}」が見つかりません（mamori facility list で確認してください）/ facility not found")]
    NoFacility(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The database of one deployment: one hospital or thousands.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    search: std::sync::Arc<search::SearchCache>,
}

/// Turns what a user gives (`postgres://…`, `sqlite:…`, or a plain file path) into a sqlx URL.
pub fn normalize_url(given: &str) -> (String, Backend) {
    if given.starts_with("postgres://") || given.starts_with("postgresql://") {
        return (given.to_string(), Backend::Postgres);
    }
    let url = if given.starts_with("sqlite:") { given.to_string() } else { format!("sqlite://{given}") };
    let url = if url.contains("mode=") {
        url
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    (url, Backend::Sqlite)
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens (and creates, for SQLite) the database and brings its schema up to date.
    pub async fn open(given: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalize_url(given);
        let connect_err = |e: sqlx::Error| StoreError::Connect { url: redact_url(given), reason: e.to_string() };
        let opts = AnyConnectOptions::from_str(&url).map_err(connect_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(connect_err)?;
        if backend == Backend::Sqlite {
            // WAL is a property of the file: set once, kept by every later connection.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map_err(connect_err)?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Self { pool, backend, search: Default::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the store modules of later capabilities.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Current time as stored (RFC 3339, UTC, seconds).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(normalize_url("mamori.db"), ("sqlite://mamori.db?mode=rwc".into(), Backend::Sqlite));
        assert_eq!(normalize_url("sqlite:///tmp/a.db?mode=ro").0, "sqlite:///tmp/a.db?mode=ro");
        assert_eq!(normalize_url("postgres://u:p@127.0.0.1/db").1, Backend::Postgres);
        assert_eq!(redact_url("postgres://u:secret@127.0.0.1/db"), "postgres://u:***@127.0.0.1/db");
        assert_eq!(redact_url("mamori.db"), "mamori.db");
    }

    /// The migration that added `search_text` backfills it with the same columns the Rust code joins on
    /// every write; a column added to a ledger without updating the search migration fails here.
    #[test]
    fn search_migration_matches_the_ledger_columns() {
        for db in ["sqlite", "postgres"] {
            let path = format!("{}/migrations/{db}/0008_search.sql", env!("CARGO_MANIFEST_DIR"));
            let sql = std::fs::read_to_string(&path).expect("search migration");
            let missing: Vec<String> = mamori_model::ledger::LedgerKind::ALL
                .into_iter()
                .map(|k| format!("UPDATE {} SET search_text = {};", k.as_str(), ledgers::search_text_sql(k)))
                .filter(|expect| !sql.contains(expect))
                .collect();
            assert!(missing.is_empty(), "{path} lacks:\n{}", missing.join("\n"));
        }
    }
}
