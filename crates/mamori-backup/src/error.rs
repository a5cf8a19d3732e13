//! The one error type of this crate. Every message is Japanese first, English second, and says
//! what went wrong, where, and what to do.

use std::path::PathBuf;

use crate::types::Bilingual;

/// Errors of the backup engine (バックアップエンジンのエラー). `Display` prints both languages;
/// [`BackupError::message`] gives them apart, for pages that show one.
#[derive(Debug)]
pub enum BackupError {
    PasswordMissing { what: String, hint: String, hint_en: String },
    WrongPassword { repo: PathBuf },
    NoRepository { repo: PathBuf },
    AlreadyExists { repo: PathBuf },
    NotAdmin { repo: PathBuf, user: String },
    InvalidInput { what: String, what_en: String },
    Io { path: PathBuf, source: std::io::Error },
    CommandFailed { command: String, status: String },
    Repository { op: &'static str, repo: PathBuf, message: String },
    SnapshotNotFound { id: String, repo: PathBuf },
    NoManifest { id: String },
}

impl BackupError {
    /// The message in Japanese and in English.
    pub fn message(&self) -> Bilingual {
        let (ja, en) = match self {
            Self::PasswordMissing { what, hint, hint_en } => (
                format!("パスワードが指定されていません（{what}）。{hint}"),
                format!("Password missing ({what}). {hint_en}"),
            ),
            Self::WrongPassword { repo } => {
                let repo = repo.display();
                (
                    format!(
                        "パスワードが違います: リポジトリ {repo} を開けませんでした。何も変更していません。正しいパスワードを指定してください。"
                    ),
                    format!(
                        "Wrong password: repository {repo} could not be opened; nothing was changed. Give the correct password."
                    ),
                )
            }
            Self::NoRepository { repo } => {
                let repo = repo.display();
                (
                    format!(
                        "{repo} にリポジトリがありません。パスを確認するか、先に初期化（mamori backup init）してください。"
                    ),
                    format!("No repository at {repo}: check the path or initialise it first (mamori backup init)."),
                )
            }
            Self::AlreadyExists { repo } => {
                let repo = repo.display();
                (
                    format!("{repo} には既にリポジトリがあります。初期化は行いませんでした。"),
                    format!("A repository already exists at {repo}; it was not initialised again."),
                )
            }
            Self::NotAdmin { repo, user } => {
                let repo = repo.display();
                (
                    format!(
                        "世代の削除（forget/prune）には管理者パスワードが必要です: リポジトリ {repo} は鍵「{user}」で開かれました。何も削除していません。"
                    ),
                    format!(
                        "Forget/prune need the admin password: repository {repo} was opened with key user \"{user}\"; nothing was deleted."
                    ),
                )
            }
            Self::InvalidInput { what, what_en } => {
                (format!("入力が不正です: {what}"), format!("Invalid input: {what_en}"))
            }
            Self::Io { path, source } => {
                let path = path.display();
                (format!("ファイル操作に失敗しました: {path}: {source}"), format!("I/O error at {path}: {source}"))
            }
            Self::CommandFailed { command, status } => (
                format!(
                    "ダンプコマンド「{command}」が失敗しました（{status}）。このスナップショットは保存していません。コマンドの出力とログを確認してください。"
                ),
                format!(
                    "The dump command `{command}` failed ({status}); no snapshot was kept. Check the command and its log."
                ),
            ),
            Self::Repository { op, repo, message } => {
                let repo = repo.display();
                (
                    format!("リポジトリ操作「{op}」が失敗しました（{repo}）: {message}"),
                    format!("Repository operation `{op}` failed at {repo}: {message}"),
                )
            }
            Self::SnapshotNotFound { id, repo } => {
                let repo = repo.display();
                (
                    format!(
                        "スナップショット「{id}」がリポジトリ {repo} にありません。`mamori backup status` で一覧を確認してください。"
                    ),
                    format!("Snapshot `{id}` not found in {repo}; list them with `mamori backup status`."),
                )
            }
            Self::NoManifest { id } => (
                format!(
                    "スナップショット {id} に取り込み時のマニフェスト（mamori-manifest.json）がありません。mamori 以外で作られたスナップショットは照合できません。"
                ),
                format!(
                    "Snapshot {id} has no ingest manifest (mamori-manifest.json); snapshots not made by mamori cannot be compared."
                ),
            ),
        };
        Bilingual::new(ja, en)
    }
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.message().fmt(f)
    }
}

impl std::error::Error for BackupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;

impl BackupError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn invalid(what: impl Into<String>, what_en: impl Into<String>) -> Self {
        Self::InvalidInput { what: what.into(), what_en: what_en.into() }
    }

    pub(crate) fn repo(
        op: &'static str,
        repo: impl Into<PathBuf>,
    ) -> impl FnOnce(Box<rustic_core::RusticError>) -> Self {
        let repo = repo.into();
        move |err| Self::Repository { op, repo, message: scrub_rest_password(err.to_string()) }
    }
}

/// A REST server error may quote the URL with the basic-auth password mamori put into it (from
/// the environment): never let that reach a message or a log.
fn scrub_rest_password(message: String) -> String {
    match std::env::var(crate::engine::REST_PASSWORD_ENV) {
        Ok(pw) if !pw.is_empty() => {
            let enc = crate::engine::url_encode(&pw);
            message.replace(&enc, "***").replace(&pw, "***")
        }
        _ => message,
    }
}
