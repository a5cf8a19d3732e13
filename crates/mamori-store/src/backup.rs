//! Persistence of the backup capability (tables in migration 0007): targets (保管先), backup sets
//! (バックアップ対象), key escrow (鍵の預託 — who holds the password, never the password), run history
//! (実施記録) and media rotation (媒体の取り外し・取り付け). Methods are `impl Store` blocks here.
//!
//! Values are plain strings and numbers; the backup engine's types are mapped by mamori-app.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_text};

/// Tiers a target may have: T1 online, T2 offline/immutable, T3 off-site.
pub const TIERS: [&str; 3] = ["online", "offline", "offsite"];
/// Kinds of target storage.
pub const TARGET_KINDS: [&str; 4] = ["local_dir", "removable_media", "immutable_files", "rest_server"];
/// Operations recorded in the run history.
pub const RUN_OPS: [&str; 7] = ["init", "backup", "check", "drill", "copy", "forget", "immutable"];

/// A target to add (保管先の登録).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewBackupTarget {
    pub name: String,
    pub tier: String,
    pub kind: String,
    pub path: String,
    /// IDs (labels) of the rotated media of a removable target.
    pub media_ids: Vec<String>,
    /// The repository every backup goes to first (one per facility).
    pub is_primary: bool,
    pub note: String,
}

/// A stored target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupTargetRow {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewBackupTarget,
    /// Generations last read from the repository (JSON of the engine's `Vec<Generation>`), and when.
    pub generations_json: Option<String>,
    pub generations_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// A backup set to add: one system of the systems ledger and where its dumps come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewBackupSet {
    pub system: String,
    /// "landing" (a folder where the vendor writes dumps) or "command" (a dump taken as a stream).
    pub source_kind: String,
    /// The landing folder or the command line.
    pub source: String,
    pub dump_type: String,
    /// mamori's work folder (outside the landing folder).
    pub work_dir: String,
    /// When it runs, as people say it (e.g. 毎日 2:00).
    pub schedule: String,
    /// Who does it (担当).
    pub responsible: String,
    /// How to restore this system (復旧手順), for the plan.
    pub restore_procedure: String,
    /// 1 = restored first.
    pub recovery_priority: Option<i64>,
}

/// A stored backup set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupSetRow {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewBackupSet,
    pub created_by: String,
    pub created_at: String,
}

/// Who holds the repository password and where it is kept (never the password itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyEscrowRow {
    pub holders: Vec<String>,
    pub where_kept: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// One run of an operation (実施記録の1行).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewBackupRun {
    /// One of [`RUN_OPS`].
    pub op: String,
    pub system: String,
    pub target_name: String,
    pub repository: String,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub ok: bool,
    pub bytes: i64,
    pub files: i64,
    pub snapshot_id: String,
    /// What went wrong (empty when ok).
    pub error: String,
    /// The engine's result as JSON (for drills: the DrillReport).
    pub detail: String,
    pub by_user: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRunRow {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewBackupRun,
}

/// A media rotation event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewMediaEvent {
    pub target_name: String,
    pub media_id: String,
    /// "detach" or "attach".
    pub event: String,
    pub at: String,
    pub by_user: String,
    /// Read back from mountinfo after a detach; `None` when recorded by hand.
    pub still_mounted: Option<bool>,
    pub evidence: String,
    /// Generations on the media when it was detached (JSON of the engine's `Vec<Generation>`).
    pub generations_json: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaEventRow {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewMediaEvent,
}

const TARGET_COLS: &str = "id, name, tier, kind, path, media_ids, is_primary, note, generations_json, generations_at, \
                           created_by, created_at";
const SET_COLS: &str = "id, system, source_kind, source, dump_type, work_dir, schedule, responsible, \
                        restore_procedure, recovery_priority, created_by, created_at";
const RUN_COLS: &str = "id, op, system, target_name, repository, started_at, finished_at, ok, bytes, files, \
                        snapshot_id, error, detail, by_user";
const MEDIA_COLS: &str = "id, target_name, media_id, event, at, by_user, still_mounted, evidence, generations_json";

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

fn target_row(r: &AnyRow) -> Result<BackupTargetRow> {
    Ok(BackupTargetRow {
        id: r.try_get("id")?,
        data: NewBackupTarget {
            name: r.try_get("name")?,
            tier: r.try_get("tier")?,
            kind: r.try_get("kind")?,
            path: r.try_get("path")?,
            media_ids: lines(&r.try_get::<String, _>("media_ids")?),
            is_primary: r.try_get::<i64, _>("is_primary")? != 0,
            note: r.try_get("note")?,
        },
        generations_json: r.try_get("generations_json")?,
        generations_at: r.try_get("generations_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

fn set_row(r: &AnyRow) -> Result<BackupSetRow> {
    Ok(BackupSetRow {
        id: r.try_get("id")?,
        data: NewBackupSet {
            system: r.try_get("system")?,
            source_kind: r.try_get("source_kind")?,
            source: r.try_get("source")?,
            dump_type: r.try_get("dump_type")?,
            work_dir: r.try_get("work_dir")?,
            schedule: r.try_get("schedule")?,
            responsible: r.try_get("responsible")?,
            restore_procedure: r.try_get("restore_procedure")?,
            recovery_priority: r.try_get("recovery_priority")?,
        },
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

fn run_row(r: &AnyRow) -> Result<BackupRunRow> {
    Ok(BackupRunRow {
        id: r.try_get("id")?,
        data: NewBackupRun {
            op: r.try_get("op")?,
            system: r.try_get("system")?,
            target_name: r.try_get("target_name")?,
            repository: r.try_get("repository")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            ok: r.try_get::<i64, _>("ok")? != 0,
            bytes: r.try_get("bytes")?,
            files: r.try_get("files")?,
            snapshot_id: r.try_get("snapshot_id")?,
            error: r.try_get("error")?,
            detail: r.try_get("detail")?,
            by_user: r.try_get("by_user")?,
        },
    })
}

fn media_row(r: &AnyRow) -> Result<MediaEventRow> {
    Ok(MediaEventRow {
        id: r.try_get("id")?,
        data: NewMediaEvent {
            target_name: r.try_get("target_name")?,
            media_id: r.try_get("media_id")?,
            event: r.try_get("event")?,
            at: r.try_get("at")?,
            by_user: r.try_get("by_user")?,
            still_mounted: r.try_get::<Option<i64>, _>("still_mounted")?.map(|v| v != 0),
            evidence: r.try_get("evidence")?,
            generations_json: r.try_get("generations_json")?,
        },
    })
}

fn invalid(ja: &str, en: &str) -> StoreError {
    StoreError::Invalid(format!("{ja} / {en}"))
}

impl NewBackupTarget {
    /// Checks what a person typed; the message says what to fix.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(invalid("保管先の名前を入力してください", "give the target a name"));
        }
        if !TIERS.contains(&self.tier.as_str()) {
            return Err(invalid(
                &format!("保管区分「{}」は使えません（online / offline / offsite）", self.tier),
                "tier must be online, offline or offsite",
            ));
        }
        if !TARGET_KINDS.contains(&self.kind.as_str()) {
            return Err(invalid(
                &format!(
                    "保管先の種類「{}」は使えません（local_dir / removable_media / immutable_files / rest_server）",
                    self.kind
                ),
                "kind must be local_dir, removable_media, immutable_files or rest_server",
            ));
        }
        if self.kind == "rest_server" {
            let url = self.path.strip_prefix("rest:").unwrap_or("");
            let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            match host.map(|h| h.split('/').next().unwrap_or("")) {
                Some(a) if !a.is_empty() && !a.contains('@') && !a.contains(char::is_whitespace) => {}
                Some(a) if a.contains('@') => {
                    return Err(invalid(
                        "REST サーバーの場所にユーザー名・パスワードを書かないでください（保存されてしまいます）。環境変数 MAMORI_BACKUP_REST_USER と MAMORI_BACKUP_REST_PASSWORD で渡してください",
                        "do not put credentials into the REST location; give them in MAMORI_BACKUP_REST_USER and MAMORI_BACKUP_REST_PASSWORD",
                    ));
                }
                _ => {
                    return Err(invalid(
                        &format!(
                            "REST サーバーの場所「{}」は rest:https://ホスト:ポート/パス の形で書いてください",
                            self.path
                        ),
                        "a REST server location looks like rest:https://host:port/path",
                    ));
                }
            }
        } else if !self.path.starts_with('/') {
            return Err(invalid(
                &format!("保管先のパス「{}」は / で始まる絶対パスにしてください", self.path),
                "the target path must be absolute",
            ));
        }
        if self.is_primary && self.tier != "online" {
            return Err(invalid(
                "主リポジトリ（毎回のバックアップ先）はオンライン区分（online）の保管先にしてください",
                "the primary repository must be an online target",
            ));
        }
        if self.kind == "removable_media" && self.media_ids.is_empty() {
            return Err(invalid(
                "取り外し媒体には媒体ID（ラベル・管理番号）を1つ以上登録してください",
                "removable media need at least one media ID",
            ));
        }
        Ok(())
    }
}

impl NewBackupSet {
    pub fn validate(&self) -> Result<()> {
        if self.system.trim().is_empty() {
            return Err(invalid("システム名を入力してください", "give the system"));
        }
        match self.source_kind.as_str() {
            "landing" if !self.source.starts_with('/') => {
                return Err(invalid(
                    &format!("取込フォルダ「{}」は / で始まる絶対パスにしてください", self.source),
                    "the landing folder must be an absolute path",
                ));
            }
            "landing" | "command" => {}
            other => {
                return Err(invalid(
                    &format!("取得方法「{other}」は使えません（landing / command）"),
                    "source kind must be landing or command",
                ));
            }
        }
        if self.source.trim().is_empty() {
            return Err(invalid("取込フォルダまたはダンプコマンドを入力してください", "give the source"));
        }
        if self.dump_type.trim().is_empty() {
            return Err(invalid("ダンプの種類を入力してください（例: full）", "give the dump type"));
        }
        if self.recovery_priority.is_some_and(|p| p < 1) {
            return Err(invalid("復旧優先度は 1 以上にしてください（1 が最優先）", "recovery priority starts at 1"));
        }
        Ok(())
    }
}

impl Store {
    /// The file of a SQLite database (for data kept beside it, e.g. the demo's backup files); `None` on
    /// PostgreSQL or in memory.
    pub async fn sqlite_file(&self) -> Result<Option<String>> {
        if self.backend() != crate::Backend::Sqlite {
            return Ok(None);
        }
        let row = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("file")).transpose()?.filter(|f| !f.is_empty()))
    }

    /// Adds a target; with `is_primary` the facility's other targets stop being primary, in one transaction.
    pub async fn add_backup_target(&self, facility_id: i64, t: &NewBackupTarget, by: &str) -> Result<BackupTargetRow> {
        t.validate()?;
        if self.backup_target(facility_id, &t.name).await?.is_some() {
            return Err(invalid(
                &format!("保管先「{}」は既に登録されています", t.name),
                "a target with this name exists already",
            ));
        }
        let mut tx = self.pool().begin().await?;
        if t.is_primary {
            sqlx::query("UPDATE backup_targets SET is_primary = 0 WHERE facility_id = $1")
                .bind(facility_id)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO backup_targets (facility_id, name, tier, kind, path, media_ids, is_primary, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {TARGET_COLS}"
        )))
        .bind(facility_id)
        .bind(t.name.trim())
        .bind(&t.tier)
        .bind(&t.kind)
        .bind(&t.path)
        .bind(t.media_ids.join("\n"))
        .bind(t.is_primary as i64)
        .bind(&t.note)
        .bind(by)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        target_row(&row)
    }

    /// The targets of a facility, primary first, then by tier and name.
    pub async fn backup_targets(&self, facility_id: i64) -> Result<Vec<BackupTargetRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TARGET_COLS} FROM backup_targets WHERE facility_id = $1 ORDER BY is_primary DESC, tier, name"
        )))
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(target_row).collect()
    }

    pub async fn backup_target(&self, facility_id: i64, name: &str) -> Result<Option<BackupTargetRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TARGET_COLS} FROM backup_targets WHERE facility_id = $1 AND name = $2"
        )))
        .bind(facility_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(target_row).transpose()
    }

    /// Remembers the generations just read from a target's repository.
    pub async fn set_target_generations(&self, facility_id: i64, name: &str, json: &str, at: &str) -> Result<()> {
        sqlx::query(
            "UPDATE backup_targets SET generations_json = $1, generations_at = $2 WHERE facility_id = $3 AND name = $4",
        )
        .bind(json)
        .bind(at)
        .bind(facility_id)
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn add_backup_set(&self, facility_id: i64, s: &NewBackupSet, by: &str) -> Result<BackupSetRow> {
        s.validate()?;
        if self
            .backup_sets(facility_id)
            .await?
            .iter()
            .any(|x| x.data.system == s.system && x.data.dump_type == s.dump_type)
        {
            return Err(invalid(
                &format!("「{}」（{}）のバックアップ対象は既に登録されています", s.system, s.dump_type),
                "this system and dump type are registered already",
            ));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO backup_sets (facility_id, system, source_kind, source, dump_type, work_dir, schedule, responsible, \
             restore_procedure, recovery_priority, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {SET_COLS}"
        )))
        .bind(facility_id)
        .bind(s.system.trim())
        .bind(&s.source_kind)
        .bind(&s.source)
        .bind(s.dump_type.trim())
        .bind(&s.work_dir)
        .bind(&s.schedule)
        .bind(&s.responsible)
        .bind(&s.restore_procedure)
        .bind(s.recovery_priority)
        .bind(by)
        .bind(now_text())
        .fetch_one(self.pool())
        .await?;
        set_row(&row)
    }

    /// Backup sets, by recovery priority (unset last), then system.
    pub async fn backup_sets(&self, facility_id: i64) -> Result<Vec<BackupSetRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SET_COLS} FROM backup_sets WHERE facility_id = $1 \
             ORDER BY CASE WHEN recovery_priority IS NULL THEN 1 ELSE 0 END, recovery_priority, system, dump_type"
        )))
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(set_row).collect()
    }

    /// Records who holds the password. The newest record is the one that counts.
    pub async fn record_key_escrow(
        &self,
        facility_id: i64,
        holders: &[String],
        where_kept: &str,
        by: &str,
    ) -> Result<KeyEscrowRow> {
        let holders: Vec<String> = holders.iter().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect();
        if holders.is_empty() {
            return Err(invalid(
                "パスワードの保管者を1人以上入力してください（パスワードそのものは入力しないでください）",
                "name at least one holder of the password (never the password itself)",
            ));
        }
        let at = now_text();
        sqlx::query(
            "INSERT INTO backup_key_escrow (facility_id, holders, where_kept, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(facility_id)
        .bind(holders.join("\n"))
        .bind(where_kept)
        .bind(by)
        .bind(&at)
        .execute(self.pool())
        .await?;
        Ok(KeyEscrowRow { holders, where_kept: where_kept.into(), recorded_by: by.into(), recorded_at: at })
    }

    pub async fn key_escrow(&self, facility_id: i64) -> Result<Option<KeyEscrowRow>> {
        let row = sqlx::query(
            "SELECT holders, where_kept, recorded_by, recorded_at FROM backup_key_escrow WHERE facility_id = $1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(facility_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(KeyEscrowRow {
                holders: lines(&r.try_get::<String, _>("holders")?),
                where_kept: r.try_get("where_kept")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: r.try_get("recorded_at")?,
            })
        })
        .transpose()
    }

    /// Records one run; returns its id.
    pub async fn record_backup_run(&self, facility_id: i64, r: &NewBackupRun) -> Result<i64> {
        if !RUN_OPS.contains(&r.op.as_str()) {
            return Err(StoreError::Invalid(format!("unknown backup operation {}", r.op)));
        }
        let row = sqlx::query(
            "INSERT INTO backup_runs (facility_id, op, system, target_name, repository, started_at, finished_at, ok, bytes, \
             files, snapshot_id, error, detail, by_user) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(facility_id)
        .bind(&r.op)
        .bind(&r.system)
        .bind(&r.target_name)
        .bind(&r.repository)
        .bind(&r.started_at)
        .bind(&r.finished_at)
        .bind(r.ok as i64)
        .bind(r.bytes)
        .bind(r.files)
        .bind(&r.snapshot_id)
        .bind(&r.error)
        .bind(&r.detail)
        .bind(&r.by_user)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Runs of a facility, newest first; `op` filters by operation.
    pub async fn backup_runs(&self, facility_id: i64, op: Option<&str>, limit: i64) -> Result<Vec<BackupRunRow>> {
        let rows = match op {
            Some(op) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {RUN_COLS} FROM backup_runs WHERE facility_id = $1 AND op = $2 ORDER BY started_at DESC, id DESC LIMIT $3"
                )))
                .bind(facility_id)
                .bind(op)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {RUN_COLS} FROM backup_runs WHERE facility_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2"
                )))
                .bind(facility_id)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(run_row).collect()
    }

    /// Runs of a facility started in `[from, to)` (RFC 3339 or ISO dates), oldest first: the 実施報告書.
    pub async fn backup_runs_between(&self, facility_id: i64, from: &str, to: &str) -> Result<Vec<BackupRunRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLS} FROM backup_runs WHERE facility_id = $1 AND started_at >= $2 AND started_at < $3 \
             ORDER BY started_at, id"
        )))
        .bind(facility_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_row).collect()
    }

    /// The newest run of an operation (only successful ones with `ok_only`), for a system when given.
    pub async fn last_backup_run(
        &self,
        facility_id: i64,
        op: &str,
        system: Option<&str>,
        ok_only: bool,
    ) -> Result<Option<BackupRunRow>> {
        let ok_clause = if ok_only { " AND ok = 1" } else { "" };
        let row =
            match system {
                Some(s) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {RUN_COLS} FROM backup_runs WHERE facility_id = $1 AND op = $2 AND system = $3{ok_clause} \
                     ORDER BY started_at DESC, id DESC LIMIT 1"
                )))
                .bind(facility_id)
                .bind(op)
                .bind(s)
                .fetch_optional(self.pool())
                .await?,
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {RUN_COLS} FROM backup_runs WHERE facility_id = $1 AND op = $2{ok_clause} \
                     ORDER BY started_at DESC, id DESC LIMIT 1"
                    )))
                    .bind(facility_id)
                    .bind(op)
                    .fetch_optional(self.pool())
                    .await?
                }
            };
        row.as_ref().map(run_row).transpose()
    }

    /// Records a media detach or attach.
    pub async fn record_media_event(&self, facility_id: i64, e: &NewMediaEvent) -> Result<MediaEventRow> {
        if !matches!(e.event.as_str(), "detach" | "attach") {
            return Err(StoreError::Invalid(format!("unknown media event {}", e.event)));
        }
        if e.media_id.trim().is_empty() {
            return Err(invalid("媒体ID（ラベル・管理番号）を入力してください", "give the media ID"));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO backup_media_events (facility_id, target_name, media_id, event, at, by_user, still_mounted, evidence, \
             generations_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {MEDIA_COLS}"
        )))
        .bind(facility_id)
        .bind(&e.target_name)
        .bind(e.media_id.trim())
        .bind(&e.event)
        .bind(&e.at)
        .bind(&e.by_user)
        .bind(e.still_mounted.map(|b| b as i64))
        .bind(&e.evidence)
        .bind(&e.generations_json)
        .fetch_one(self.pool())
        .await?;
        media_row(&row)
    }

    /// Media events of a facility, newest first.
    pub async fn media_events(&self, facility_id: i64, limit: i64) -> Result<Vec<MediaEventRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEDIA_COLS} FROM backup_media_events WHERE facility_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
        )))
        .bind(facility_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(media_row).collect()
    }
}
