//! Message catalogs: per language the core file (i18n/ja.toml, i18n/en.toml) plus one file per capability
//! (i18n/checklist.ja.toml, …), all embedded in the binary and merged; a key defined twice is a test failure.
//! Templates ask `t.s("key")`; no user-visible text is written in the templates themselves.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "en" { Lang::En } else { Lang::Ja }
    }
    pub fn other(self) -> Self {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

fn load(src: &str) -> HashMap<String, String> {
    toml::from_str(src).unwrap_or_default()
}

const JA_FILES: [&str; 5] = [
    include_str!("../i18n/ja.toml"),
    include_str!("../i18n/checklist.ja.toml"),
    include_str!("../i18n/bcp.ja.toml"),
    include_str!("../i18n/vuln.ja.toml"),
    include_str!("../i18n/backup.ja.toml"),
];
const EN_FILES: [&str; 5] = [
    include_str!("../i18n/en.toml"),
    include_str!("../i18n/checklist.en.toml"),
    include_str!("../i18n/bcp.en.toml"),
    include_str!("../i18n/vuln.en.toml"),
    include_str!("../i18n/backup.en.toml"),
];

fn merge(files: &[&str]) -> HashMap<String, String> {
    files.iter().flat_map(|f| load(f)).collect()
}

static JA: LazyLock<HashMap<String, String>> = LazyLock::new(|| merge(&JA_FILES));
static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| merge(&EN_FILES));

/// The messages of one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }
    /// The message of `key`; the key itself when missing (a test checks none is).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        let map = match self.lang {
            Lang::Ja => &*JA,
            Lang::En => &*EN,
        };
        match map.get(key) {
            // SAFETY of lifetimes: the catalogs are 'static.
            Some(v) => {
                let v: &'static str = v.as_str();
                v
            }
            None => key,
        }
    }
    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }
    /// Japanese or English text chosen by the language (for labels that live in the model, e.g. column headers).
    pub fn pick<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        if self.is_en() { en } else { ja }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_defined_in_two_files() {
        for files in [&JA_FILES, &EN_FILES] {
            let total: usize = files.iter().map(|f| load(f).len()).sum();
            assert_eq!(total, merge(files).len(), "a message key is defined in two catalog files");
            assert!(
                files.iter().all(|f| toml::from_str::<HashMap<String, String>>(f).is_ok()),
                "a catalog file does not parse"
            );
        }
    }

    #[test]
    fn catalogs_have_the_same_keys_and_no_empty_message() {
        assert!(JA.len() > 50, "ja catalog parsed");
        let mut ja: Vec<&String> = JA.keys().collect();
        let mut en: Vec<&String> = EN.keys().collect();
        ja.sort();
        en.sort();
        assert_eq!(ja, en);
        assert!(JA.values().chain(EN.values()).all(|v| !v.trim().is_empty()));
    }

    /// Every key a template or the Rust code asks for exists in the catalogs.
    #[test]
    fn every_used_key_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut sources: Vec<String> = std::fs::read_dir(dir)
            .expect("templates dir")
            .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("template"))
            .collect();
        let src_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        for e in std::fs::read_dir(src_dir).expect("src dir") {
            let path = e.expect("entry").path();
            if path.extension().is_some_and(|x| x == "rs") && !path.ends_with("i18n.rs") {
                sources.push(std::fs::read_to_string(path).expect("src"));
            }
        }
        let mut checked = 0;
        for src in &sources {
            for part in src.split("s(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                if key.contains('.') && !key.contains(' ') {
                    assert!(JA.contains_key(key), "missing message key {key}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "found {checked} keys");
    }
}
