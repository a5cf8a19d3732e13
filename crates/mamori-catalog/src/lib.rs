//! Official documents and reference data, kept as data files under `catalog/` (never in code).
//!
//! Every file under `catalog/` is embedded into the binary at build time, so a new fiscal year's
//! edition of a document is a new data file, not a code change. Each file names its source.
//! A deployment may also load extra files from a directory at run time (see [`CatalogSource`]).

pub mod bcp;
pub mod checklist;
pub mod contract;
pub mod eos;
pub mod gmis;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// All files of the `catalog/` folder, embedded.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../catalog/"]
struct Embedded;

/// Errors of the catalog: a data file that cannot be read or does not validate.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("カタログファイル {file} を読めません / cannot read catalog file {file}: {reason}")]
    Read { file: String, reason: String },
    #[error(
        "カタログファイル {file} の形式が不正です / catalog file {file} is malformed: {reason}（ファイルを修正してください / fix the file）"
    )]
    Parse { file: String, reason: String },
    #[error("カタログファイル {file} の内容が不正です / catalog file {file} is invalid: {reason}")]
    Invalid { file: String, reason: String },
}

/// Where catalog files come from: the embedded `catalog/` folder, optionally overlaid by a directory
/// of extra or newer files (same relative paths win over the embedded ones).
#[derive(Debug, Clone, Default)]
pub struct CatalogSource {
    overlay: Option<PathBuf>,
}

impl CatalogSource {
    /// Only the files embedded at build time.
    pub fn embedded() -> Self {
        Self { overlay: None }
    }

    /// Embedded files plus the files found in `dir` (which win on equal relative paths).
    pub fn with_overlay(dir: impl Into<PathBuf>) -> Self {
        Self { overlay: Some(dir.into()) }
    }

    /// Relative paths (with `/`) of every file under `prefix`, sorted, embedded and overlaid together.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, CatalogError> {
        let mut names: Vec<String> =
            Embedded::iter().filter(|p| p.starts_with(prefix)).map(|p| p.into_owned()).collect();
        if let Some(dir) = &self.overlay {
            let base = dir.join(prefix);
            if base.is_dir() {
                collect_files(dir, &base, &mut names)?;
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The text of one file, by relative path.
    pub fn read(&self, path: &str) -> Result<Cow<'static, str>, CatalogError> {
        if let Some(dir) = &self.overlay {
            let p = dir.join(path);
            if p.is_file() {
                return std::fs::read_to_string(&p)
                    .map(Cow::Owned)
                    .map_err(|e| CatalogError::Read { file: p.display().to_string(), reason: e.to_string() });
            }
        }
        let file = Embedded::get(path)
            .ok_or_else(|| CatalogError::Read { file: path.to_string(), reason: "not found".into() })?;
        match file.data {
            Cow::Borrowed(b) => std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|e| CatalogError::Read { file: path.to_string(), reason: e.to_string() }),
            Cow::Owned(b) => String::from_utf8(b)
                .map(Cow::Owned)
                .map_err(|e| CatalogError::Read { file: path.to_string(), reason: e.to_string() }),
        }
    }

    /// Parse one TOML file into `T`, naming the file in any error.
    pub fn read_toml<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, CatalogError> {
        let text = self.read(path)?;
        toml::from_str(&text).map_err(|e| CatalogError::Parse { file: path.to_string(), reason: e.to_string() })
    }
}

/// An official document kept as one TOML file per edition under its folder (checklist, BCP table, G-MIS
/// survey, contract table): loaded, validated and listed the same way.
pub(crate) trait EditionFile: serde::de::DeserializeOwned {
    const DIR: &'static str;
    fn set_file(&mut self, path: &str);
    /// Every problem of the file, each naming its item (empty when valid).
    fn problems(&mut self, path: &str) -> Vec<String>;
    /// Order of editions in `load_all`.
    fn sort_key(&self) -> (String, String);
}

pub(crate) fn load_all_editions<T: EditionFile>(src: &CatalogSource) -> Result<Vec<T>, CatalogError> {
    let mut out: Vec<T> = Vec::new();
    for path in src.list(T::DIR)? {
        if path.ends_with(".toml") {
            out.push(load_edition_file(src, &path)?);
        }
    }
    out.sort_by_key(|e| e.sort_key());
    Ok(out)
}

pub(crate) fn load_edition<T: EditionFile>(src: &CatalogSource, id: &str) -> Result<T, CatalogError> {
    if !checklist::is_id(id) {
        return Err(CatalogError::Invalid {
            file: format!("{}{id}.toml", T::DIR),
            reason: format!("版のID「{id}」が不正です / bad edition id {id:?} (use a-z, 0-9, -)"),
        });
    }
    load_edition_file(src, &format!("{}{id}.toml", T::DIR))
}

pub(crate) fn load_edition_file<T: EditionFile>(src: &CatalogSource, path: &str) -> Result<T, CatalogError> {
    let mut e: T = src.read_toml(path)?;
    e.set_file(path);
    let problems = e.problems(path);
    if problems.is_empty() {
        Ok(e)
    } else {
        Err(CatalogError::Invalid { file: path.to_string(), reason: problems.join("; ") })
    }
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), CatalogError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| CatalogError::Read { file: dir.display().to_string(), reason: e.to_string() })?;
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_files(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
