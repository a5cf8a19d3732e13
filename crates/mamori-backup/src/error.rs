//! The one error type of this crate. Every message is Japanese first, English second, and says
//! what went wrong, where, and what to do.

use std::path::PathBuf;

/// Errors of the backup engine (バックアップエンジンのエラー).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("パスワードが指定されていません（{what}）。{hint} / Password missing ({what}). {hint_en}")]
    PasswordMissing { what: String, hint: String, hint_en: String },
    #[error(
        "パスワードが違います: リポジトリ {repo} を開けませんでした。何も変更していません。正しいパスワードを指定してください。 / Wrong password: repository {repo} could not be opened; nothing was changed. Give the correct password."
    )]
    WrongPassword { repo: PathBuf },
    #[error(
        "{repo} にリポジトリがありません。パスを確認するか、先に初期化（mamori backup init）してください。 / No repository at {repo}: check the path or initialise it first (mamori backup init)."
    )]
    NoRepository { repo: PathBuf },
    #[error(
        "{repo} には既にリポジトリがあります。初期化は行いませんでした。 / A repository already exists at {repo}; it was not initialised again."
    )]
    AlreadyExists { repo: PathBuf },
    #[error(
        "世代の削除（forget/prune）には管理者パスワードが必要です: リポジトリ {repo} は鍵「{user}」で開かれました。何も削除していません。 / Forget/prune need the admin password: repository {repo} was opened with key user \"{user}\"; nothing was deleted."
    )]
    NotAdmin { repo: PathBuf, user: String },
    #[error("入力が不正です: {what} / Invalid input: {what_en}")]
    InvalidInput { what: String, what_en: String },
    #[error("ファイル操作に失敗しました: {path}: {source} / I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "ダンプコマンド「{command}」が失敗しました（{status}）。このスナップショットは保存していません。コマンドの出力とログを確認してください。 / The dump command `{command}` failed ({status}); no snapshot was kept. Check the command and its log."
    )]
    CommandFailed { command: String, status: String },
    #[error(
        "リポジトリ操作「{op}」が失敗しました（{repo}）: {message} / Repository operation `{op}` failed at {repo}: {message}"
    )]
    Repository { op: &'static str, repo: PathBuf, message: String },
    #[error(
        "スナップショット「{id}」がリポジトリ {repo} にありません。`mamori backup status` で一覧を確認してください。 / Snapshot `{id}` not found in {repo}; list them with `mamori backup status`."
    )]
    SnapshotNotFound { id: String, repo: PathBuf },
    #[error(
        "スナップショット {id} に取り込み時のマニフェスト（mamori-manifest.json）がありません。mamori 以外で作られたスナップショットは照合できません。 / Snapshot {id} has no ingest manifest (mamori-manifest.json); snapshots not made by mamori cannot be compared."
    )]
    NoManifest { id: String },
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
