//! The 2024 contract check table (医療情報システムの契約における当事者間の役割分担等に関する確認表,
//! 契約検討確認表) as data, with the four viewpoints A–D of a practitioners' guide to it.
//!
//! Each edition is one file `catalog/contract/<id>.toml`. The official table was only partly recovered:
//! the edition says so (`status = "draft-partial"`, `gaps`), and each unverified group or item carries
//! `verified = false` with a note.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::checklist::{EditionStatus, is_id};
use crate::{CatalogError, CatalogSource};

/// Folder of the contract tables inside the catalog.
pub const DIR: &str = "contract/";

/// One edition of the contract check table (契約検討確認表).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractTable {
    /// Stable id, equal to the file name without `.toml`.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub short_title: Option<String>,
    /// Month of issue (YYYY-MM).
    pub issued: String,
    pub issuers: Vec<String>,
    pub status: EditionStatus,
    pub source: String,
    /// Column headings (項番 / 項目 / 内容 / 初回確認 / 完了日).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub answer_options: Vec<String>,
    /// How to fill the table, as printed.
    #[serde(default)]
    pub usage: Vec<String>,
    /// What the source has but this file does not.
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Part1 (医療機関が実施) and Part2 (医療機関と事業者が共同で実施).
    pub parts: Vec<ContractPart>,
    /// The guide's viewpoints A–D, if present.
    #[serde(default)]
    pub guide: Option<ContractGuide>,
    /// Catalog path the edition was loaded from.
    #[serde(skip_deserializing, default)]
    pub file: String,
}

/// A part of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractPart {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub groups: Vec<ContractGroup>,
}

/// A lettered group of a part (e.g. A 共通); Part1 has one unlettered group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractGroup {
    /// Group letter, empty for an unlettered group.
    pub letter: String,
    pub title: String,
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
    pub items: Vec<ContractItem>,
}

/// One check point (項番) of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractItem {
    /// 項番, e.g. `A-1` (Part2) or `①` (Part1).
    pub number: String,
    /// 項目.
    pub title: String,
    /// 内容, when recovered.
    #[serde(default)]
    pub content: Option<String>,
    /// 推奨される対応例, when recovered.
    #[serde(default)]
    pub recommended: Option<String>,
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

/// The guide's viewpoints for negotiating contract wording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractGuide {
    pub title: String,
    pub author: String,
    #[serde(default)]
    pub notice: Option<String>,
    pub viewpoints: Vec<Viewpoint>,
}

/// One viewpoint (切り口), e.g. A 管理ルールの可視化.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Viewpoint {
    pub letter: String,
    pub title: String,
    /// 主な関連項番 of the table's Part2.
    pub related: Vec<String>,
    /// 要対応事項.
    pub actions: Vec<String>,
    /// 懸念事項 about typical vendor wording.
    #[serde(default)]
    pub concerns: Vec<String>,
    /// 契約書に定めるべき要件 — the check points a hospital asks for.
    pub requirements: Vec<String>,
    /// 修正文言イメージの意図.
    #[serde(default)]
    pub intents: Vec<String>,
    /// Clauses the guide proposes to add (修正文言イメージ, the added paragraphs only).
    #[serde(default)]
    pub added_clauses: Vec<String>,
    /// Scope notes (対象範囲) printed with the viewpoint.
    #[serde(default)]
    pub scope: Vec<String>,
}

impl ContractTable {
    /// Every item, with its part and group.
    pub fn items(&self) -> impl Iterator<Item = (&ContractPart, &ContractGroup, &ContractItem)> {
        self.parts.iter().flat_map(|p| p.groups.iter().flat_map(move |g| g.items.iter().map(move |i| (p, g, i))))
    }

    /// One item by 項番.
    pub fn item(&self, number: &str) -> Option<&ContractItem> {
        self.items().map(|(_, _, i)| i).find(|i| i.number == number)
    }
}

impl crate::EditionFile for ContractTable {
    const DIR: &'static str = DIR;
    fn set_file(&mut self, path: &str) {
        self.file = path.to_string();
    }
    fn problems(&mut self, path: &str) -> Vec<String> {
        validate(self, path)
    }
    fn sort_key(&self) -> (String, String) {
        (self.issued.clone(), self.id.clone())
    }
}

/// Load every edition in the catalog (embedded and overlaid), sorted by issue month then id.
pub fn load_all(src: &CatalogSource) -> Result<Vec<ContractTable>, CatalogError> {
    crate::load_all_editions(src)
}

/// Load one edition by id (file `{DIR}<id>.toml`).
pub fn load(src: &CatalogSource, id: &str) -> Result<ContractTable, CatalogError> {
    crate::load_edition(src, id)
}

/// Parse and validate one edition file.
pub fn load_file(src: &CatalogSource, path: &str) -> Result<ContractTable, CatalogError> {
    crate::load_edition_file(src, path)
}

/// `A-1`: an uppercase letter, `-`, a positive integer.
fn is_part2_number(s: &str) -> bool {
    let Some((l, n)) = s.split_once('-') else {
        return false;
    };
    l.len() == 1
        && l.chars().all(|c| c.is_ascii_uppercase())
        && !n.is_empty()
        && !n.starts_with('0')
        && n.chars().all(|c| c.is_ascii_digit())
}

fn validate(t: &ContractTable, path: &str) -> Vec<String> {
    let mut p = Vec::new();
    let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".toml");
    if t.id != stem || !is_id(&t.id) {
        p.push(format!(
            "版のID「{}」がファイル名と一致しません / edition id {:?} must equal the file name {stem:?}",
            t.id, t.id
        ));
    }
    let official = t.status == EditionStatus::Official;
    let mut numbers = BTreeSet::new();
    let mut letters = BTreeSet::new();
    for part in &t.parts {
        for g in &part.groups {
            if !g.letter.is_empty() && !letters.insert(g.letter.as_str()) {
                p.push(format!("区分 {} / group {}: 重複しています / duplicate group letter", g.letter, g.letter));
            }
            if !g.verified && (official || g.note.is_none()) {
                p.push(format!("区分 {} / group {}: 未確認の区分には note が必要で、公表版には置けません / unverified group needs a note and a non-official edition", g.letter, g.letter));
            }
            for i in &g.items {
                let at = format!("項番 {} / item {}", i.number, i.number);
                if !numbers.insert(i.number.as_str()) {
                    p.push(format!("{at}: 重複しています / duplicate number"));
                }
                let well_formed = is_part2_number(&i.number) && i.number.starts_with(&format!("{}-", g.letter));
                if !g.letter.is_empty() && !well_formed {
                    p.push(format!("{at}: 項番は「{}-n」の形にしてください / number must be {}-n", g.letter, g.letter));
                }
                if i.title.trim().is_empty() {
                    p.push(format!("{at}: 項目名がありません / title is empty"));
                }
                if !i.verified && (official || i.note.as_deref().is_none_or(|n| n.trim().is_empty())) {
                    p.push(format!("{at}: 未確認の項目には note が必要で、公表版には置けません / unverified item needs a note and a non-official edition"));
                }
            }
        }
    }
    if let Some(guide) = &t.guide {
        let mut seen = BTreeSet::new();
        for v in &guide.viewpoints {
            let at = format!("切り口 {} / viewpoint {}", v.letter, v.letter);
            if !seen.insert(v.letter.as_str()) {
                p.push(format!("{at}: 重複しています / duplicate letter"));
            }
            if v.title.trim().is_empty() || v.requirements.is_empty() {
                p.push(format!(
                    "{at}: 名称と「契約書に定めるべき要件」が必要です / title and requirements are required"
                ));
            }
            for r in &v.related {
                if !is_part2_number(r) {
                    p.push(format!("{at}: 関連項番「{r}」が不正です / bad related number {r:?} (expected e.g. A-1)"));
                }
            }
        }
    }
    p
}
