//! The BCP confirmation table (サイバー攻撃を想定した事業継続計画（BCP）策定の確認表), its guide (手引き)
//! and the outline of the BCP template (ひな形), as data.
//!
//! Each edition is one file `catalog/bcp/<id>.toml`. The table's items 1-1 … 5-6 belong to the five
//! phases 平時 / 検知 / 初動対応 / 復旧処理 / 事後対応 by their first number.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::checklist::{Term, check_reference, is_id};
use crate::{CatalogError, CatalogSource};

/// Folder of the BCP editions inside the catalog.
pub const DIR: &str = "bcp/";

/// One edition of the BCP confirmation table with its guide and template outline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcpEdition {
    /// Stable id, equal to the file name without `.toml` (e.g. `r6-2024`).
    pub id: String,
    /// Title of the table as printed.
    pub title: String,
    /// Month of issue (YYYY-MM).
    pub issued: String,
    pub issuer: String,
    pub source: String,
    /// Notes printed on the table (※ lines).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Column headings of the table (項番 / 大項目 / 確認項目 / 確認欄).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Title of the guide (確認表のための手引き).
    #[serde(default)]
    pub guide_title: Option<String>,
    /// General notes of the guide (BCP 策定時の留意点).
    #[serde(default)]
    pub guide_notes: Vec<String>,
    /// The phases (平時 / 検知 / 初動対応 / 復旧処理 / 事後対応), in order.
    pub phases: Vec<Phase>,
    /// The table's items (項番 1-1 … 5-6), in order.
    pub items: Vec<BcpItem>,
    /// Outline of the BCP template (ひな形).
    #[serde(default)]
    pub template: Option<BcpTemplate>,
    /// External bodies (外部関係機関) a hospital's contact list starts with; each is editable there.
    #[serde(default)]
    pub external_bodies: Vec<ExternalBody>,
    /// Catalog path the edition was loaded from.
    #[serde(skip_deserializing, default)]
    pub file: String,
}

/// A phase of incident handling (大項目 of the table), e.g. 1 平時.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub number: u32,
    /// Name as printed, e.g. 初動対応.
    pub name: String,
    /// The printed explanation in parentheses.
    pub description: String,
}

/// One item of the table (項番), e.g. 3-5 被害状況等調査….
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcpItem {
    /// 項番, e.g. `1-1`; the first number is the phase.
    pub number: String,
    /// Title as printed in the table.
    pub title: String,
    /// Heading in the guide, when it differs slightly from the table.
    #[serde(default)]
    pub guide_heading: Option<String>,
    /// The check points (確認項目), each with the guide's explanation.
    pub checks: Vec<BcpCheck>,
}

/// One check point (確認項目) with the guide's explanation and guideline references.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcpCheck {
    /// Stable id, e.g. `1-1-2`.
    pub id: String,
    /// Wording as printed in the table.
    pub text: String,
    /// The guide's explanation; paragraphs separated by `\n`.
    #[serde(default)]
    pub explanation: String,
    /// Terms explained in the guide.
    #[serde(default)]
    pub terms: Vec<Term>,
    /// References as printed, e.g. （企画管理編：9.1、システム運用編：8.4）.
    #[serde(default)]
    pub references_printed: Option<String>,
    /// References, one per entry, e.g. `▶企画管理編 9.1`.
    #[serde(default)]
    pub references: Vec<String>,
}

/// Outline of the BCP template (ひな形).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcpTemplate {
    pub title: String,
    /// Placeholder marks used in the template (〇〇, ××-××××-××××, …), to be filled by the hospital.
    #[serde(default)]
    pub placeholder_marks: Vec<String>,
    /// Chapters and sections in order; a chapter has a one-part number ("2"), a section more ("2.1.3").
    pub sections: Vec<TemplateSection>,
}

/// One chapter or section of the template, with its official heading.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// Dotted number, e.g. `2.1.3`; a chapter is `2`.
    pub number: String,
    /// Printed chapter label (第２章) for chapters.
    #[serde(default)]
    pub label: Option<String>,
    /// Heading as printed, e.g. 情報機器台帳.
    pub heading: String,
    /// Body text as printed: paragraphs and list lines (I. II. …) separated by `\n`; placeholders such as
    /// 〇〇 / ××-××××-×××× are kept for the hospital to fill. Example tables are not included.
    #[serde(default)]
    pub text: String,
    /// Table items (`1-1`) or check ids (`1-1-3`) this section answers — the project's mapping, not official.
    #[serde(default)]
    pub related: Vec<String>,
    /// Figures and tables the section shows (図◯ / 表◯).
    #[serde(default)]
    pub figures: Vec<TemplateFigure>,
}

/// An external body of the default contact list, with where its number comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalBody {
    /// Contact id in the hospital's list, e.g. `x-mhlw`.
    pub code: String,
    /// 役割 in the chart, e.g. 厚生労働省.
    pub role: String,
    /// 窓口 as printed.
    pub name: String,
    /// Phone as printed in the source; empty when it differs per prefecture (the hospital enters it).
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// 連絡目的.
    pub purpose: String,
    /// Where the number is printed (seed and place), or why it is empty.
    pub source: String,
}

/// A figure or example table of the template.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFigure {
    pub caption: String,
    #[serde(default)]
    pub columns: Vec<String>,
    /// 出典 printed under it.
    #[serde(default)]
    pub source: Option<String>,
}

impl BcpEdition {
    /// The phase an item belongs to.
    pub fn phase_of(&self, item: &BcpItem) -> Option<&Phase> {
        let n: u32 = item.number.split('-').next()?.parse().ok()?;
        self.phases.iter().find(|p| p.number == n)
    }

    /// The items of one phase, in order.
    pub fn items_in(&self, phase: u32) -> impl Iterator<Item = &BcpItem> {
        self.items.iter().filter(move |i| self.phase_of(i).is_some_and(|p| p.number == phase))
    }

    /// One item by number (e.g. `3-5`).
    pub fn item(&self, number: &str) -> Option<&BcpItem> {
        self.items.iter().find(|i| i.number == number)
    }

    /// Every check point, in order.
    pub fn checks(&self) -> impl Iterator<Item = (&BcpItem, &BcpCheck)> {
        self.items.iter().flat_map(|i| i.checks.iter().map(move |c| (i, c)))
    }
}

impl BcpTemplate {
    /// One section by dotted number.
    pub fn section(&self, number: &str) -> Option<&TemplateSection> {
        self.sections.iter().find(|s| s.number == number)
    }

    /// The chapters (one-part numbers), in order.
    pub fn chapters(&self) -> impl Iterator<Item = &TemplateSection> {
        self.sections.iter().filter(|s| !s.number.contains('.'))
    }
}

impl TemplateSection {
    /// Depth: 1 for a chapter, 2 for `2.1`, 3 for `2.1.3`.
    pub fn depth(&self) -> usize {
        self.number.split('.').count()
    }
}

impl crate::EditionFile for BcpEdition {
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
pub fn load_all(src: &CatalogSource) -> Result<Vec<BcpEdition>, CatalogError> {
    crate::load_all_editions(src)
}

/// Load one edition by id (file `{DIR}<id>.toml`).
pub fn load(src: &CatalogSource, id: &str) -> Result<BcpEdition, CatalogError> {
    crate::load_edition(src, id)
}

/// Parse and validate one edition file.
pub fn load_file(src: &CatalogSource, path: &str) -> Result<BcpEdition, CatalogError> {
    crate::load_edition_file(src, path)
}

/// `P-n`: two positive integers joined by `-`.
fn is_item_number(s: &str) -> bool {
    let Some((a, b)) = s.split_once('-') else {
        return false;
    };
    [a, b].iter().all(|x| !x.is_empty() && !x.starts_with('0') && x.chars().all(|c| c.is_ascii_digit()))
}

/// Dotted positive integers, e.g. `2.1.3`.
fn is_section_number(s: &str) -> bool {
    s.split('.').all(|x| !x.is_empty() && !x.starts_with('0') && x.chars().all(|c| c.is_ascii_digit()))
}

fn validate(e: &BcpEdition, path: &str) -> Vec<String> {
    let mut p = Vec::new();
    let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".toml");
    if e.id != stem || !is_id(&e.id) {
        p.push(format!(
            "版のID「{}」がファイル名と一致しません / edition id {:?} must equal the file name {stem:?}",
            e.id, e.id
        ));
    }
    for (i, ph) in e.phases.iter().enumerate() {
        if ph.number as usize != i + 1 {
            p.push(format!(
                "段階 {} / phase {}: 番号が連番ではありません / numbers must run 1, 2, 3 …",
                ph.name, ph.number
            ));
        }
        if ph.name.trim().is_empty() {
            p.push(format!("段階 {}: 名称がありません / phase {} has no name", ph.number, ph.number));
        }
    }
    if e.items.is_empty() {
        p.push("確認項目がありません / the table has no items".into());
    }
    let mut numbers = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut prev: Option<(u32, u32)> = None;
    for item in &e.items {
        let at = format!("項番 {} / item {}", item.number, item.number);
        if !numbers.insert(item.number.as_str()) {
            p.push(format!("{at}: 項番が重複しています / duplicate number"));
        }
        if !is_item_number(&item.number) {
            p.push(format!("{at}: 項番が不正です / bad number (expected e.g. 3-5)"));
        } else {
            let (a, b) = item.number.split_once('-').unwrap_or_default();
            let key = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            let expected = match prev {
                None => (1, 1),
                Some((pa, pb)) if key.0 == pa => (pa, pb + 1),
                Some((pa, _)) => (pa + 1, 1),
            };
            if key != expected {
                p.push(format!(
                    "{at}: 項番が順番どおりではありません / out of sequence (expected {}-{})",
                    expected.0, expected.1
                ));
            }
            prev = Some(key);
            if e.phase_of(item).is_none() {
                p.push(format!("{at}: 段階 {} がありません / no phase {}", key.0, key.0));
            }
        }
        if item.title.trim().is_empty() {
            p.push(format!("{at}: 大項目名がありません / title is empty"));
        }
        if item.checks.is_empty() {
            p.push(format!("{at}: 確認項目がありません / no check points"));
        }
        for c in &item.checks {
            let at = format!("確認項目 {} / check {}", c.id, c.id);
            if !is_id(&c.id) || !c.id.starts_with(&format!("{}-", item.number)) {
                p.push(format!("{at}: IDは「{}-n」の形にしてください / id must be {}-n", item.number, item.number));
            }
            if !ids.insert(c.id.as_str()) {
                p.push(format!("{at}: IDが重複しています / duplicate id"));
            }
            if c.text.trim().is_empty() {
                p.push(format!("{at}: 文言がありません / text is empty"));
            }
            for r in &c.references {
                if let Err(why) = check_reference(r) {
                    p.push(format!("{at}: 参照「{r}」が不正です / bad reference {r:?} ({why})"));
                }
            }
            if c.references_printed.is_some() && c.references.is_empty() {
                p.push(format!("{at}: references_printed に対応する references がありません / references_printed without references"));
            }
        }
    }
    if let Some(t) = &e.template {
        let mut seen = BTreeSet::new();
        let mut prev: Option<&str> = None;
        for s in &t.sections {
            let at = format!("ひな形 {} / template section {}", s.number, s.number);
            if !is_section_number(&s.number) {
                p.push(format!("{at}: 番号が不正です / bad number (expected e.g. 2.1.3)"));
            }
            if !seen.insert(s.number.as_str()) {
                p.push(format!("{at}: 番号が重複しています / duplicate number"));
            }
            if s.heading.trim().is_empty() {
                p.push(format!("{at}: 見出しがありません / heading is empty"));
            }
            // A section's parent must come before it ("2.1.3" needs "2.1").
            if let Some((parent, _)) = s.number.rsplit_once('.')
                && !seen.contains(parent)
            {
                p.push(format!("{at}: 親の節 {parent} が先にありません / parent {parent} must come first"));
            }
            if let Some(pv) = prev
                && !follows(pv, &s.number)
            {
                p.push(format!("{at}: {pv} の次の番号ではありません / does not follow {pv}"));
            }
            prev = Some(&s.number);
            for r in &s.related {
                let known = e.items.iter().any(|i| &i.number == r || i.checks.iter().any(|c| &c.id == r));
                if !known {
                    p.push(format!("{at}: 関連する確認項目 {r} がありません / related {r:?} is neither an item nor a check of the table"));
                }
            }
        }
    }
    p
}

/// Whether dotted number `next` may directly follow `prev` in an outline
/// (first child, next sibling, or next sibling of an ancestor).
fn follows(prev: &str, next: &str) -> bool {
    let pv: Vec<u32> = prev.split('.').filter_map(|x| x.parse().ok()).collect();
    let nx: Vec<u32> = next.split('.').filter_map(|x| x.parse().ok()).collect();
    if nx.len() == pv.len() + 1 {
        return nx[..pv.len()] == pv[..] && nx[pv.len()] == 1;
    }
    if nx.is_empty() || nx.len() > pv.len() {
        return false;
    }
    let k = nx.len() - 1;
    nx[..k] == pv[..k] && nx[k] == pv[k] + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_order() {
        assert!(follows("1", "1.1"));
        assert!(follows("1.3.2", "1.4"));
        assert!(follows("2.2.4", "3"));
        assert!(follows("2.1", "2.1.1"));
        assert!(!follows("2.1", "2.1.2"));
        assert!(!follows("2.1.1", "2.1.3"));
        assert!(!follows("1", "3"));
    }

    #[test]
    fn numbers() {
        assert!(is_item_number("5-6"));
        assert!(!is_item_number("5"));
        assert!(!is_item_number("5-0"));
        assert!(is_section_number("2.1.3"));
        assert!(!is_section_number("2..1"));
    }
}
