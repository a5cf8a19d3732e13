//! Plain serde types the store can persist (結果の型).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

/// A repository password (リポジトリのパスワード). Never printed: `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password; an empty one is refused.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(BackupError::PasswordMissing {
                what: "空のパスワード".into(),
                hint: "空でないパスワードを指定してください。".into(),
                hint_en: "Give a non-empty password.".into(),
            });
        }
        Ok(Self(secret))
    }

    /// Reads the password from an environment variable; unset or empty is a clear error.
    pub fn from_env(var: &str) -> Result<Self> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Self(v)),
            _ => Err(BackupError::PasswordMissing {
                what: format!("環境変数 {var}"),
                hint: format!("環境変数 {var} にパスワードを設定してください。"),
                hint_en: format!("Set the environment variable {var}."),
            }),
        }
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Storage tier (保管区分): T1 online, T2 offline/immutable, T3 off-site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Online,
    Offline,
    Offsite,
}

/// What kind of storage a target is (保管先の種類).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A plain local directory.
    LocalDir,
    /// Rotated removable media (RDX/USB), attached for the copy and detached afterwards.
    RemovableMedia,
    /// Files made immutable (chattr +i) after writing.
    ImmutableFiles,
    /// A repository on a restic REST server (`rest:https://…`, e.g. rest-server or `rclone serve
    /// restic`), typically T3 off-site. Needs the `rest` cargo feature.
    RestServer,
}

/// A backup target (バックアップ保管先): one restic-format repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub tier: Tier,
    pub path: PathBuf,
    pub kind: TargetKind,
}

/// One file in the ingest manifest (取り込みマニフェストの1行).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path relative to the manifest root, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// SHA-256 manifest written at ingest (取り込み時の SHA-256 マニフェスト).
/// Stored inside the snapshot as `mamori-manifest.json` and returned in [`BackupRun`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub system: String,
    pub dump_type: String,
    pub created_at: DateTime<Utc>,
    /// Where the listed files live inside the snapshot (absolute landing path, or `""` for a stream).
    pub root: String,
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Result of one backup (バックアップ実行結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupRun {
    pub repository: PathBuf,
    pub snapshot_id: String,
    pub system: String,
    pub dump_type: String,
    pub tags: Vec<String>,
    /// What was read: the landing directory or the command line.
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub files: u64,
    pub bytes: u64,
    /// New data added to the repository, after deduplication and compression.
    pub added_bytes_packed: u64,
    pub manifest: Manifest,
    /// Things a user should look at (Japanese / English).
    pub warnings: Vec<String>,
}

/// How much pack data `check` reads (データ読み取り範囲).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadData {
    /// Structure only: index, packs present with right sizes, trees complete.
    None,
    /// Read and verify every pack.
    All,
    /// Read the packs whose id falls into part `run % every` of `every`: running with
    /// consecutive `run` numbers reads every pack once within `every` runs.
    Rolling { run: u32, every: u32 },
}

impl ReadData {
    /// Rolling subset for a calendar day: every pack is read within `every_days` consecutive days.
    pub fn rolling_for_day(day: chrono::NaiveDate, every_days: u32) -> Self {
        use chrono::Datelike;
        let run = u32::try_from(day.num_days_from_ce()).unwrap_or(0);
        Self::Rolling { run, every: every_days.max(1) }
    }
}

/// Result of `check` (整合性検査の結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckRun {
    pub repository: PathBuf,
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub read_data: ReadData,
    /// Problems that mean data may be lost or unreadable.
    pub errors: Vec<String>,
    /// Oddities that do not affect integrity (e.g. packs left by an interrupted backup).
    pub warnings: Vec<String>,
    pub ok: bool,
}

/// One difference found by a restore drill (復元訓練での不一致).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub path: String,
    pub kind: MismatchKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    Missing,
    Size {
        expected: u64,
        actual: u64,
    },
    Content {
        expected: String,
        actual: String,
    },
    /// A restored file the manifest does not list.
    Unexpected,
}

/// Result of a restore drill (復元訓練の結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DrillReport {
    pub repository: PathBuf,
    pub snapshot_id: String,
    pub system: String,
    pub dump_type: String,
    pub snapshot_time: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub files: u64,
    pub bytes: u64,
    pub mismatches: Vec<Mismatch>,
    pub duration_ms: u64,
    pub ok: bool,
}

/// A generation (世代): one mamori snapshot in a repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    pub snapshot_id: String,
    pub time: DateTime<Utc>,
    pub system: String,
    pub dump_type: String,
    pub hostname: String,
    pub paths: Vec<String>,
}

/// Result of forget + prune (世代整理の結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForgetRun {
    pub repository: PathBuf,
    pub at: DateTime<Utc>,
    pub keep_newest: usize,
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub packs_removed: u64,
    pub duration_ms: u64,
}

/// Result of copying generations to another target (別媒体への複製結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CopyRun {
    pub target_id: String,
    pub target_path: PathBuf,
    pub at: DateTime<Utc>,
    /// Snapshots copied in this run (ids in the source repository).
    pub copied: Vec<String>,
    /// Generations on the target after the copy, per system.
    pub generations_on_target: Vec<Generation>,
    /// `check --read-data` of the target after the copy.
    pub check: CheckRun,
    pub duration_ms: u64,
}

/// Record that removable media was detached (媒体の取り外し記録).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DetachRecord {
    pub target_id: String,
    pub media_id: String,
    pub at: DateTime<Utc>,
    pub mount_point: Option<PathBuf>,
    /// We unmounted it ourselves.
    pub unmounted_by_mamori: bool,
    /// Read back from /proc/self/mountinfo after the attempt.
    pub still_mounted: bool,
    /// Generations that were on the media when it was detached.
    pub generations: Vec<Generation>,
    pub evidence: String,
}

/// Result of making a repository's files immutable (改ざん防止属性の設定結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImmutableReport {
    pub target_path: PathBuf,
    pub files_total: u64,
    pub files_set: u64,
    pub files_already: u64,
    pub failed: Vec<(String, String)>,
    /// True when every file now carries the immutable flag.
    pub all_immutable: bool,
    pub evidence: String,
}

/// Result of initialising a repository (初期化結果).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InitRun {
    pub repository: PathBuf,
    pub repository_id: String,
    pub backup_key_id: String,
    pub admin_key_id: String,
}

/// A reason shown to people, in Japanese and in English. Pages pick the reader's language; the CLI
/// and the documents print both ("日本語 / English", the `Display` form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    pub ja: String,
    pub en: String,
}

impl Bilingual {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self { ja: ja.into(), en: en.into() }
    }

    /// Joins several reasons, each language with its own separator.
    pub fn join(parts: &[Bilingual], ja_sep: &str, en_sep: &str) -> Self {
        Self {
            ja: parts.iter().map(|p| p.ja.as_str()).collect::<Vec<_>>().join(ja_sep),
            en: parts.iter().map(|p| p.en.as_str()).collect::<Vec<_>>().join(en_sep),
        }
    }
}

impl std::fmt::Display for Bilingual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.ja, self.en)
    }
}
