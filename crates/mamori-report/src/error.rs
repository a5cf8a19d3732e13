use thiserror::Error;

/// Everything that can go wrong while producing a document.
///
/// Messages are Japanese first, English second, and say what to do.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A typst template failed to compile or lay out.
    #[error(
        "帳票テンプレートのエラー: {file}:{line}:{column}: {message} / template error at {file}:{line}:{column}: {message}{hints}"
    )]
    Template {
        /// Virtual file the error points into (e.g. `main.typ`), or `-` if unknown.
        file: String,
        /// 1-based line, 0 if unknown.
        line: usize,
        /// 1-based column (in characters), 0 if unknown.
        column: usize,
        /// The typst message.
        message: String,
        /// Typst hints, already formatted (empty or starting with " (hint: ").
        hints: String,
    },
    /// A virtual file name given to the renderer is not usable.
    #[error(
        "仮想ファイル名 {name:?} は使えません。英数字の相対パス（例: checklist.typ）を指定してください / invalid virtual file name {name:?}: use a relative path such as checklist.typ"
    )]
    FileName { name: String },
    /// The embedded fonts could not be read (a broken build).
    #[error("組み込みフォントを読み込めません: {0} / embedded font could not be loaded: {0}")]
    Font(String),
    /// Serialising the template inputs failed.
    #[error("帳票データを JSON にできません: {0} / template inputs could not be serialised: {0}")]
    Inputs(#[from] serde_json::Error),
    /// PDF export failed after layout.
    #[error("PDF を書き出せません: {0} / PDF export failed: {0}")]
    Pdf(String),
    /// Writing the .xlsx failed.
    #[error("Excel ファイル（.xlsx）を作成できません: {0} / .xlsx could not be written: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// A sheet definition is inconsistent (e.g. a row with more cells than columns).
    #[error("シート「{sheet}」の定義が不正です: {what} / sheet {sheet:?} is inconsistent: {what}")]
    Sheet { sheet: String, what: String },
    /// A contact chart is inconsistent (duplicate id, edge to an unknown node …).
    #[error("連絡体制図のデータが不正です: {0} / contact chart data is inconsistent: {0}")]
    Chart(String),
    /// An SVG image could not be read or rasterised.
    #[error("画像（SVG）を処理できません: {0} / image could not be processed: {0}")]
    Image(String),
    /// Writing the .docx container failed.
    #[error("Word ファイル（.docx）を作成できません: {0} / .docx could not be written: {0}")]
    Docx(String),
}

impl From<zip::result::ZipError> for ReportError {
    fn from(e: zip::result::ZipError) -> Self {
        ReportError::Docx(e.to_string())
    }
}

impl From<std::io::Error> for ReportError {
    fn from(e: std::io::Error) -> Self {
        ReportError::Docx(e.to_string())
    }
}
