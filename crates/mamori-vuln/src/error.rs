//! The one error type of this crate.

use std::path::Path;

/// Errors of the vulnerability engine. Every message says what is wrong, where, and what to do,
/// Japanese first, English second.
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// The file could not be opened or read at all.
    #[error(
        "ファイルを読めません: {file}（{source}）。パスと読み取り権限を確認してください。 / Cannot read {file} ({source}). Check the path and read permission."
    )]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is truncated, corrupt or not in the expected format.
    /// Nothing from it is returned.
    #[error(
        "取り込めません: {file}（{position}）: {what_ja}。{todo_ja} / Import rejected: {file} ({position}): {what_en}. {todo_en}"
    )]
    Parse { file: String, position: String, what_ja: String, what_en: String, todo_ja: String, todo_en: String },
    /// A CPE name (2.3 formatted string or 2.2 URI) is not well formed.
    #[error(
        "CPE 名が不正です: 「{input}」: {what}。cpe:2.3:part:vendor:product:… または cpe:/part:vendor:product… の形で書いてください。 / Invalid CPE name \"{input}\": {what}. Write it as cpe:2.3:part:vendor:product:… or cpe:/part:vendor:product…."
    )]
    InvalidCpe { input: String, what: String },
}

impl VulnError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        VulnError::Io { file: path.display().to_string(), source }
    }

    pub(crate) fn parse(file: &str, position: impl Into<String>, what: (&str, &str), todo: (&str, &str)) -> Self {
        VulnError::Parse {
            file: file.to_string(),
            position: position.into(),
            what_ja: what.0.to_string(),
            what_en: what.1.to_string(),
            todo_ja: todo.0.to_string(),
            todo_en: todo.1.to_string(),
        }
    }

    pub(crate) fn parse_owned(
        file: &str,
        position: String,
        what_ja: String,
        what_en: String,
        todo: (&str, &str),
    ) -> Self {
        VulnError::Parse {
            file: file.to_string(),
            position,
            what_ja,
            what_en,
            todo_ja: todo.0.to_string(),
            todo_en: todo.1.to_string(),
        }
    }
}

/// What to do about a truncated or corrupt feed file.
pub(crate) const TODO_REFETCH: (&str, &str) = (
    "配布元からファイルを取得し直してから、もう一度取り込んでください（取込済みのデータは変更していません）",
    "Fetch the file again from its source and re-import it (the data already imported is unchanged)",
);
