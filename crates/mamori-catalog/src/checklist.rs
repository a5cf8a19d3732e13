//! The MHLW cybersecurity checklist (医療機関におけるサイバーセキュリティ対策チェックリスト) as data.
//!
//! Each edition (one fiscal year) is one file `catalog/checklist/<id>.toml` holding both forms
//! (医療機関確認用 / 事業者確認用) and the manual's per-item help. A new edition is a new file,
//! embedded or overlaid (see [`CatalogSource`]); nothing here names an edition.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{CatalogError, CatalogSource};

/// Folder of the checklist editions inside the catalog.
pub const DIR: &str = "checklist/";

/// One edition of the checklist (チェックリスト 年度版), e.g. `r6-2024` = 令和6年度版.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistEdition {
    /// Stable id, equal to the file name without `.toml` (e.g. `r6-2024`).
    pub id: String,
    /// Fiscal year (年度) the edition is for, e.g. 2024.
    pub fiscal_year: u16,
    /// Edition label as printed, e.g. 令和6年度版.
    pub edition_label: String,
    /// Document title as printed.
    pub title: String,
    /// Whether the wording is the published text or a partial recovery.
    pub status: EditionStatus,
    /// Where the data comes from (document, notice number, seed file).
    pub source: String,
    /// Title of the accompanying manual (チェックリストマニュアル), if any.
    #[serde(default)]
    pub manual_title: Option<String>,
    /// Answer choices printed on the sheet (はい・いいえ).
    pub answer_options: Vec<String>,
    /// Check rounds printed on the sheet (1回目 / 2回目).
    #[serde(default)]
    pub rounds: Vec<String>,
    /// The project's notes on how the data was derived (not official text).
    #[serde(default)]
    pub data_notes: Vec<String>,
    /// What the source is known to contain but this file does not (partial editions).
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Documents the inspector asks to see besides the sheets (e.g. 連絡体制図), each shown by the evidence
    /// of one source on one item. Used by the readiness view.
    #[serde(default)]
    pub inspection_documents: Vec<InspectionDocument>,
    /// The forms of this edition (医療機関確認用, 事業者確認用, …).
    pub forms: Vec<ChecklistForm>,
    /// The manual's per-item explanations; attached to the items at load as [`ChecklistItem::help`].
    #[serde(default)]
    pub manual: Option<Manual>,
    /// Catalog path the edition was loaded from.
    #[serde(skip_deserializing, default)]
    pub file: String,
}

/// A document the inspector checks besides the sheets (立入検査で確認される資料), shown by evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionDocument {
    /// Name as the manual or the notice writes it, e.g. 連絡体制図.
    pub title: String,
    /// The item number whose evidence shows the document, e.g. 3-(1).
    pub item: String,
    /// The evidence source that knows whether it exists, e.g. "contacts".
    pub source: String,
}

/// Publication status of an edition's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EditionStatus {
    /// Published official wording (公表版).
    Official,
    /// Partial recovery of a draft (案); some fields are marked `verified = false`.
    DraftPartial,
}

/// Which party fills a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormKind {
    /// 医療機関確認用 — filled by the hospital.
    Hospital,
    /// 事業者確認用 — filled by each contracted vendor.
    Vendor,
    /// 薬局確認用 — filled by a pharmacy (from FY2025).
    Pharmacy,
}

/// The target group an item row applies to, exactly as printed on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TargetGroup {
    /// サーバ
    #[serde(rename = "サーバ")]
    Server,
    /// 端末PC
    #[serde(rename = "端末PC")]
    TerminalPc,
    /// ネットワーク機器
    #[serde(rename = "ネットワーク機器")]
    NetworkDevice,
    /// 医療情報システム全般 (server, terminal PC and network devices together)
    #[serde(rename = "医療情報システム全般")]
    AllSystems,
    /// サーバ、端末PC (a combined label used by the FY2025 draft)
    #[serde(rename = "サーバ、端末PC")]
    ServerAndTerminalPc,
}

impl TargetGroup {
    /// The label as printed on the sheet.
    pub fn label(self) -> &'static str {
        match self {
            TargetGroup::Server => "サーバ",
            TargetGroup::TerminalPc => "端末PC",
            TargetGroup::NetworkDevice => "ネットワーク機器",
            TargetGroup::AllSystems => "医療情報システム全般",
            TargetGroup::ServerAndTerminalPc => "サーバ、端末PC",
        }
    }
}

/// One form (確認用シート) of an edition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistForm {
    /// Who fills it.
    pub kind: FormKind,
    /// Form title as printed, e.g. 医療機関確認用.
    pub title: String,
    /// True when one copy is filled per contracted vendor (事業者ごと).
    #[serde(default)]
    pub one_per_vendor: bool,
    /// Label of the vendor-name field (事業者名：) when the form has one.
    #[serde(default)]
    pub vendor_name_label: Option<String>,
    /// The sheet's notes as printed (● lines, * lines).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Column headings of the sheet.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Sections in sheet order.
    pub sections: Vec<Section>,
}

/// A numbered section of a form (大項目), e.g. 2 医療情報システムの管理・運用.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Section number as in the manual outline ("0" = the unnumbered 医療情報システムの有無).
    pub number: String,
    /// Section title as printed.
    pub title: String,
    /// Group headings inside the section (e.g. サーバについて、以下を実施している。).
    #[serde(default)]
    pub groups: Vec<TargetHeading>,
    /// Items in sheet order.
    pub items: Vec<ChecklistItem>,
}

/// The printed heading of a target group inside a section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetHeading {
    pub target: TargetGroup,
    pub heading: String,
}

/// One check row (チェック項目).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable id, unique in the edition (e.g. `h-2-7-server`).
    pub id: String,
    /// Official number in the manual outline, e.g. `2-(7)`; `0` for the initial question.
    pub number: String,
    /// Target group the row is printed under, if any.
    #[serde(default)]
    pub target: Option<TargetGroup>,
    /// Marked ※ in the R5年度項目 column.
    #[serde(default)]
    pub r5: bool,
    /// Wording as printed.
    pub text: String,
    /// Condition note printed with the item (e.g. ※事業者と契約していない場合には、記入不要).
    #[serde(default)]
    pub note: Option<String>,
    /// Rules that change which items apply.
    #[serde(default)]
    pub rules: ItemRules,
    /// False when a field could not be checked against the final published text.
    #[serde(default = "yes")]
    pub verified: bool,
    /// Which fields are unverified (`number`, `target`, `text`, …).
    #[serde(default)]
    pub unverified: Vec<String>,
    /// Why it is unverified / where it comes from.
    #[serde(default)]
    pub verification_note: Option<String>,
    /// Sources of mamori's own data expected to give evidence for this item ("ledger", "contacts", "backup",
    /// "bcp", "vuln", "network", "logs"); an item whose sources give nothing shows "no evidence yet".
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The manual's help for this item's number, attached at load.
    #[serde(skip_deserializing, default)]
    pub help: ItemHelp,
}

fn yes() -> bool {
    true
}

/// Item-level rules, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRules {
    /// Answering いいえ ends the checklist (以下すべての項目は確認不要).
    #[serde(default)]
    pub ends_checklist_if_no: bool,
    /// Not required when the hospital has no vendor contract (事業者と契約していない場合には、記入不要).
    #[serde(default)]
    pub skip_if_no_vendor_contract: bool,
}

/// The manual (チェックリストマニュアル) of an edition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    pub title: String,
    /// Legend explaining the ▶ references (凡例).
    #[serde(default)]
    pub reference_legend: Option<String>,
    /// How to use the checklist (Ⅰ チェックリストの使い方), as printed.
    #[serde(default)]
    pub usage: Vec<String>,
    /// Section-level explanations.
    #[serde(default)]
    pub sections: Vec<ManualSection>,
    /// Per-number explanations.
    #[serde(default)]
    pub items: Vec<ManualEntry>,
}

/// Section-level explanation in the manual.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualSection {
    pub number: String,
    pub title: String,
    /// Which forms the section applies to, as printed (【医療機関確認用・事業者確認用】).
    #[serde(default)]
    pub applies_to: Option<String>,
    /// 用語の解説 at section level.
    #[serde(default)]
    pub terms: Vec<Term>,
}

/// One manual entry, keyed by item number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManualEntry {
    pub number: String,
    #[serde(flatten)]
    pub help: ItemHelp,
}

/// The manual's help for an item (解説): explanation, 用語の解説, 補足 and ▶ guideline references.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemHelp {
    /// The manual's heading for the item (may differ slightly from the sheet wording).
    #[serde(default)]
    pub heading: String,
    /// Target label printed after the heading, e.g. （サーバ、端末PC）.
    #[serde(default)]
    pub target_label: Option<String>,
    /// What the item means and how to confirm it; paragraphs separated by `\n`.
    #[serde(default)]
    pub explanation: String,
    /// 用語の解説.
    #[serde(default)]
    pub terms: Vec<Term>,
    /// 補足.
    #[serde(default)]
    pub supplement: Option<String>,
    /// Examples shown in the manual (機器台帳の例 …) with their column headings.
    #[serde(default)]
    pub examples: Vec<ManualExample>,
    /// Guideline references, one per entry, e.g. `▶企画管理編 9.1`.
    #[serde(default)]
    pub references: Vec<String>,
    /// False when the entry is not checked against the final text.
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub verification_note: Option<String>,
}

/// A term and its definition (用語の解説).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub term: String,
    pub definition: String,
}

/// An example table in the manual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualExample {
    pub title: String,
    #[serde(default)]
    pub columns: Vec<String>,
}

impl ChecklistEdition {
    /// The form of the given kind, if the edition has it.
    pub fn form(&self, kind: FormKind) -> Option<&ChecklistForm> {
        self.forms.iter().find(|f| f.kind == kind)
    }

    /// Every item of every form, in order.
    pub fn items(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.forms.iter().flat_map(|f| f.items())
    }

    /// One item by id.
    pub fn item(&self, id: &str) -> Option<&ChecklistItem> {
        self.items().find(|i| i.id == id)
    }
}

impl ChecklistForm {
    /// Every item of the form, in sheet order.
    pub fn items(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// The items that must be answered, given the answers so far (`true` = はい, `false` = いいえ,
    /// by item id) and whether the hospital has any vendor contract. An item with
    /// `ends_checklist_if_no` answered いいえ is the last applicable item.
    pub fn applicable_items(&self, answers: &BTreeMap<String, bool>, has_vendor_contract: bool) -> Vec<&ChecklistItem> {
        let mut out = Vec::new();
        for item in self.items() {
            if item.rules.skip_if_no_vendor_contract && !has_vendor_contract {
                continue;
            }
            out.push(item);
            if item.rules.ends_checklist_if_no && answers.get(&item.id) == Some(&false) {
                break;
            }
        }
        out
    }
}

impl crate::EditionFile for ChecklistEdition {
    const DIR: &'static str = DIR;
    fn set_file(&mut self, path: &str) {
        self.file = path.to_string();
    }
    fn problems(&mut self, path: &str) -> Vec<String> {
        validate(self, path)
    }
    fn sort_key(&self) -> (String, String) {
        (format!("{:06}", self.fiscal_year), self.id.clone())
    }
}

/// Load every edition in the catalog (embedded and overlaid), sorted by fiscal year then id.
pub fn load_all(src: &CatalogSource) -> Result<Vec<ChecklistEdition>, CatalogError> {
    crate::load_all_editions(src)
}

/// Load one edition by id (file `{DIR}<id>.toml`).
pub fn load(src: &CatalogSource, id: &str) -> Result<ChecklistEdition, CatalogError> {
    crate::load_edition(src, id)
}

/// Parse and validate one edition file.
pub fn load_file(src: &CatalogSource, path: &str) -> Result<ChecklistEdition, CatalogError> {
    crate::load_edition_file(src, path)
}

/// Check an edition and attach the manual's help to its items; returns every problem found.
fn validate(ed: &mut ChecklistEdition, path: &str) -> Vec<String> {
    let mut p = Vec::new();
    let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".toml");
    if !is_id(&ed.id) {
        p.push(format!("版のID「{}」が不正です / bad edition id (use a-z, 0-9, -)", ed.id));
    } else if ed.id != stem {
        p.push(format!(
            "版のID「{}」がファイル名と一致しません / edition id {:?} must equal the file name {stem:?}",
            ed.id, ed.id
        ));
    }
    if !(2000..=2100).contains(&ed.fiscal_year) {
        p.push(format!("年度 {} が範囲外です / fiscal_year {} out of range", ed.fiscal_year, ed.fiscal_year));
    }
    if ed.title.trim().is_empty() {
        p.push("表題がありません / title is empty".into());
    }
    if ed.answer_options.is_empty() {
        p.push("回答の選択肢がありません / answer_options is empty".into());
    }
    if ed.forms.is_empty() {
        p.push("様式がありません / the edition has no forms".into());
    }
    let official = ed.status == EditionStatus::Official;

    // Manual: unique numbers, well-formed references.
    let mut manual_numbers: BTreeMap<String, ItemHelp> = BTreeMap::new();
    if let Some(m) = &ed.manual {
        for e in &m.items {
            if !is_item_number(&e.number) {
                p.push(format!(
                    "マニュアル項目 {}: 番号が不正です / manual entry {:?}: bad number",
                    e.number, e.number
                ));
            }
            if manual_numbers.insert(e.number.clone(), e.help.clone()).is_some() {
                p.push(format!(
                    "マニュアル項目 {}: 番号が重複しています / manual entry {:?} duplicated",
                    e.number, e.number
                ));
            }
            for r in &e.help.references {
                if let Err(why) = check_reference(r) {
                    p.push(format!(
                        "マニュアル項目 {}: 参照「{r}」が不正です / manual entry {:?}: bad reference {r:?} ({why})",
                        e.number, e.number
                    ));
                }
            }
            if !e.help.verified && e.help.verification_note.as_deref().is_none_or(|s| s.trim().is_empty()) {
                p.push(format!("マニュアル項目 {}: verified = false には verification_note が必要です / unverified manual entry {:?} needs a verification_note", e.number, e.number));
            }
        }
    }

    let mut ids = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for form in &mut ed.forms {
        if !kinds.insert(form.kind) {
            p.push(format!("様式 {:?} が重複しています / form {:?} appears twice", form.kind, form.kind));
        }
        if official && form.items().next().is_none() {
            p.push(format!("様式「{}」に項目がありません / form {:?} has no items", form.title, form.kind));
        }
        let mut section_numbers = BTreeSet::new();
        let mut first = true;
        for section in &mut form.sections {
            if !section_numbers.insert(section.number.clone()) {
                p.push(format!(
                    "様式「{}」: 大項目 {} が重複しています / section {:?} duplicated",
                    form.title, section.number, section.number
                ));
            }
            if !section.number.chars().all(|c| c.is_ascii_digit()) || section.number.is_empty() {
                p.push(format!(
                    "大項目番号「{}」が不正です / section number {:?} must be digits",
                    section.number, section.number
                ));
            }
            let group_targets: BTreeSet<TargetGroup> = section.groups.iter().map(|g| g.target).collect();
            for item in &mut section.items {
                let at = format!("項目 {} / item {}", item.id, item.id);
                if !is_id(&item.id) {
                    p.push(format!("{at}: IDが不正です / bad id (use a-z, 0-9, -)"));
                }
                if !ids.insert(item.id.clone()) {
                    p.push(format!("{at}: IDが重複しています / duplicate id"));
                }
                if item.text.trim().is_empty() {
                    p.push(format!("{at}: 文言がありません / text is empty"));
                }
                if !is_item_number(&item.number) {
                    p.push(format!(
                        "{at}: 番号「{}」が不正です / bad number {:?} (expected e.g. 2-(7) or 2-⑦)",
                        item.number, item.number
                    ));
                } else if section_of(&item.number) != section.number {
                    p.push(format!(
                        "{at}: 番号「{}」が大項目 {} に属しません / number {:?} is not in section {}",
                        item.number, section.number, item.number, section.number
                    ));
                }
                if let Some(t) = item.target
                    && !group_targets.is_empty()
                    && !group_targets.contains(&t)
                {
                    p.push(format!("{at}: 対象「{}」の見出しが大項目にありません / target {:?} has no group heading in its section", t.label(), t.label()));
                }
                if item.rules.ends_checklist_if_no && !first {
                    p.push(format!("{at}: ends_checklist_if_no は様式の最初の項目にのみ指定できます / ends_checklist_if_no only on a form's first item"));
                }
                if !item.verified {
                    if official {
                        p.push(format!(
                            "{at}: 公表版に未確認の項目があります / an official edition cannot hold unverified items"
                        ));
                    }
                    if item.verification_note.as_deref().is_none_or(|s| s.trim().is_empty()) {
                        p.push(format!("{at}: verified = false には verification_note が必要です / unverified item needs a verification_note"));
                    }
                } else if !item.unverified.is_empty() {
                    p.push(format!("{at}: unverified を指定するなら verified = false にしてください / unverified fields listed but verified = true"));
                }
                match manual_numbers.get(&item.number) {
                    Some(h) => item.help = h.clone(),
                    None if official && ed.manual.is_some() => p.push(format!(
                        "{at}: 番号 {} の解説がマニュアルにありません / no manual entry for number {:?}",
                        item.number, item.number
                    )),
                    None => {}
                }
                first = false;
            }
        }
    }
    p
}

/// An id: lowercase ASCII letters, digits and `-`, not empty.
pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The section part of an item number ("2-(7)" -> "2", "0" -> "0").
fn section_of(number: &str) -> &str {
    number.split('-').next().unwrap_or(number)
}

/// `0`, `N-(n)` (FY2024 style) or `N-①` (FY2025 draft style, circled numbers ① … ⑳).
pub fn is_item_number(s: &str) -> bool {
    if s == "0" {
        return true;
    }
    let Some((sec, sub)) = s.split_once('-') else {
        return false;
    };
    if sec.is_empty() || !sec.chars().all(|c| c.is_ascii_digit()) || sec.starts_with('0') {
        return false;
    }
    if let Some(inner) = sub.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) && !inner.starts_with('0');
    }
    let mut chars = sub.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if ('①'..='⑳').contains(&c))
}

/// Guideline volumes a reference may name.
const VOLUMES: &[&str] = &["概説編", "経営管理編", "企画管理編", "システム運用編", "Q&A", "[特集]"];

/// A reference is `▶<volume> <place>`, e.g. `▶企画管理編 9.1`; for the four 編 the place starts with a digit.
pub(crate) fn check_reference(r: &str) -> Result<(), &'static str> {
    let rest = r.strip_prefix('▶').ok_or("must start with ▶")?;
    let (vol, place) = rest.split_once(' ').ok_or("expected ▶<volume> <place>")?;
    if !VOLUMES.contains(&vol) {
        return Err("unknown volume (概説編, 経営管理編, 企画管理編, システム運用編, Q&A, [特集])");
    }
    let place = place.trim();
    if place.is_empty() {
        return Err("empty place");
    }
    if vol.ends_with('編') && !place.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("place must start with a chapter number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_numbers() {
        for ok in ["0", "1-(1)", "2-(7)", "2-(13)", "2-⑬", "3-①"] {
            assert!(is_item_number(ok), "{ok}");
        }
        for bad in ["", "2", "2-(7", "2-7", "2-()", "02-(1)", "2-(01)", "a-(1)", "2-①②", "2-(1))"] {
            assert!(!is_item_number(bad), "{bad}");
        }
    }

    #[test]
    fn references() {
        assert!(check_reference("▶企画管理編 9.1").is_ok());
        assert!(check_reference("▶経営管理編 1.2.1＜管理責任＞②").is_ok());
        assert!(check_reference("▶Q&A 企 Q-16").is_ok());
        assert!(check_reference("企画管理編 9.1").is_err());
        assert!(check_reference("▶企画管理編9.1").is_err());
        assert!(check_reference("▶運用編 9.1").is_err());
        assert!(check_reference("▶企画管理編 ").is_err());
        assert!(check_reference("▶企画管理編 第9章").is_err());
    }
}
