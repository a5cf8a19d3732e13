//! Users of the web app, their sessions and the failed logins used for throttling.
//! Only password hashes (argon2id PHC strings) and SHA-256 hashes of session tokens are stored.

use mamori_model::auth::Role;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_text};

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub facility_id: Option<i64>,
    pub vendor_name: String,
    pub prefecture: String,
    pub disabled: bool,
    pub created_at: String,
}

/// A user to create; `password_hash` is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub facility_id: Option<i64>,
    pub vendor_name: String,
    pub prefecture: String,
    pub password_hash: String,
}

/// A session row: times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: i64,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
}

const USER_COLS: &str = "id, login, name, role, facility_id, vendor_name, prefecture, disabled, created_at";

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("user role {role}")))?,
        facility_id: r.try_get("facility_id")?,
        vendor_name: r.try_get("vendor_name")?,
        prefecture: r.try_get("prefecture")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?.try_get(0)?)
    }

    /// Adds a user; a login already taken is refused with a message saying so.
    pub async fn add_user(&self, u: &NewUser) -> Result<User> {
        let login = u.login.trim();
        if login.is_empty() || login.chars().count() > 64 || login.chars().any(char::is_whitespace) {
            return Err(StoreError::Invalid(
                "ユーザIDは空白を含まない1～64文字にしてください / the user ID must be 1-64 characters without spaces"
                    .into(),
            ));
        }
        if u.role.needs_facility() && u.facility_id.is_none() {
            return Err(StoreError::Invalid(format!(
                "{}には施設の指定が必要です（--facility）/ role {} needs a facility",
                u.role.label_ja(),
                u.role.as_str()
            )));
        }
        if u.role == Role::Inspector && u.prefecture.is_empty() {
            return Err(StoreError::Invalid(
                "都道府県・保健所には都道府県の指定が必要です / an inspector needs a prefecture".into(),
            ));
        }
        if u.role == Role::Vendor && u.vendor_name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "事業者には台帳に書かれている事業者名の指定が必要です / a vendor user needs its vendor name".into(),
            ));
        }
        let exists: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        if exists > 0 {
            return Err(StoreError::Invalid(format!(
                "ユーザID「{login}」は既に使われています / user ID '{login}' already exists"
            )));
        }
        let now = now_text();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (login, name, role, facility_id, vendor_name, prefecture, password_hash, disabled, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) RETURNING {USER_COLS}"
        )))
        .bind(login)
        .bind(u.name.trim())
        .bind(u.role.as_str())
        .bind(u.facility_id)
        .bind(u.vendor_name.trim())
        .bind(u.prefecture.trim())
        .bind(&u.password_hash)
        .bind(&now)
        .fetch_one(self.pool())
        .await?;
        user_from_row(&row)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users ORDER BY login")))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user and its password hash, for login.
    pub async fn user_with_hash(&self, login: &str) -> Result<Option<(User, String)>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS}, password_hash FROM users WHERE login = $1")))
                .bind(login)
                .fetch_optional(self.pool())
                .await?;
        match row {
            Some(r) => Ok(Some((user_from_row(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    /// Disables or enables a user; disabling ends all its sessions. False when no such user.
    pub async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool> {
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE login = $2")
            .bind(disabled as i64)
            .bind(login)
            .execute(self.pool())
            .await?
            .rows_affected();
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE login = $1)")
                .bind(login)
                .execute(self.pool())
                .await?;
        }
        Ok(n > 0)
    }

    /// Replaces a password hash and ends every session of the user.
    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now_text())
            .bind(user_id)
            .execute(self.pool())
            .await?;
        self.delete_user_sessions(user_id).await?;
        Ok(())
    }

    pub async fn assigned_facilities(&self, user_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT facility_id FROM user_facilities WHERE user_id = $1 ORDER BY facility_id")
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub async fn assign_facility(&self, user_id: i64, facility_id: i64) -> Result<()> {
        sqlx::query("INSERT INTO user_facilities (user_id, facility_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(facility_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes a surveyor's assignment; true when it existed.
    pub async fn unassign_facility(&self, user_id: i64, facility_id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM user_facilities WHERE user_id = $1 AND facility_id = $2")
            .bind(user_id)
            .bind(facility_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Starts a session; sessions idle or older than the limits of `mamori_model::auth` are removed on the way.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: i64,
        source: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
            .bind(now - mamori_model::auth::SESSION_IDLE_SECS)
            .bind(now - mamori_model::auth::SESSION_ABSOLUTE_SECS)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, source) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(source)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                user_id: r.try_get("user_id")?,
                csrf: r.try_get("csrf")?,
                created_at: r.try_get("created_at")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .transpose()
    }

    /// A session and its user in one statement (every page request starts with this).
    pub async fn session_with_user(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>> {
        let user_cols: Vec<String> = USER_COLS.split(", ").map(|c| format!("u.{c}")).collect();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, s.user_id, s.csrf, s.created_at AS session_created_at, s.last_seen \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            user_cols.join(", ")
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let session = SessionRow {
                user_id: r.try_get("user_id")?,
                csrf: r.try_get("csrf")?,
                created_at: r.try_get("session_created_at")?,
                last_seen: r.try_get("last_seen")?,
            };
            Ok((session, user_from_row(&r)?))
        })
        .transpose()
    }

    pub async fn touch_session(&self, token_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Ends every session of a user (ログアウト（全端末）); returns how many there were.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Records a failed login; failures older than a day are forgotten on the way.
    pub async fn record_login_failure(&self, login: &str, source: &str, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(now - 86_400).execute(self.pool()).await?;
        sqlx::query("INSERT INTO login_failures (login, source, at) VALUES ($1, $2, $3)")
            .bind(login)
            .bind(source)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Failed logins since `since` (Unix seconds): (of this account, from this source).
    pub async fn login_failures_since(&self, login: &str, source: &str, since: i64) -> Result<(usize, usize)> {
        let a: i64 = sqlx::query("SELECT COUNT(*) FROM login_failures WHERE login = $1 AND at >= $2")
            .bind(login)
            .bind(since)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        let s: i64 = sqlx::query("SELECT COUNT(*) FROM login_failures WHERE source = $1 AND at >= $2")
            .bind(source)
            .bind(since)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        Ok((a as usize, s as usize))
    }

    /// Forgets the failures of an account after a successful login.
    pub async fn clear_login_failures(&self, login: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE login = $1").bind(login).execute(self.pool()).await?;
        Ok(())
    }
}
