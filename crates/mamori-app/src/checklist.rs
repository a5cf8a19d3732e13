//! The checklist (FY2024 and later editions) and the G-MIS survey: assessments, rules, readiness, exports. Also the ledger evidence provider.
//!
//! * Assessments: per facility, edition and form copy (the hospital's own 医療機関確認用, one 事業者確認用 per
//!   contracted vendor) the answers of both rounds with their dates, the target date and remarks
//!   ([`answer`], all or nothing, history kept by the store).
//! * Rules of the manual ([`check_row`], [`applicability`]): 医療情報システムを導入、運用している = いいえ ends the
//!   checklist; no vendor contract → 2-(2), 2-(3) and the 事業者確認用 need not be answered; a target date is
//!   required when the 1st round is いいえ and must fall inside the fiscal year (April–March) of that round.
//! * Readiness for the prefecture's inspection ([`readiness`]).
//! * Exports in the official layout ([`export_sheets`], [`export_xlsx`], [`export_pdf`], [`export_csv`]).
//! * The G-MIS survey ([`gmis_view`], [`gmis_answer`], [`gmis_export`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use mamori_catalog::CatalogSource;
use mamori_catalog::checklist::{self as cat, ChecklistEdition, ChecklistForm, ChecklistItem, EditionStatus, FormKind};
use mamori_catalog::gmis::{self, AnswerSpec, Question, Survey};
use mamori_model::Facility;
use mamori_model::auth::Role;
use mamori_model::findings::{FindingKind, FindingOptions};
use mamori_model::ledger::{Account, Device, InfoSystem, LedgerKind, Vendor};
use mamori_report::{CellValue, Column, ColumnKind, OfficialSheet};
use mamori_store::checklist::{ChecklistAnswer, FormKey};
use mamori_store::{Store, StoreError};
use serde::Serialize;

use crate::evidence::{Evidence, EvidenceState, EvidenceTarget};
use crate::{AppError, Result};

/// The G-MIS survey used when none is named.
pub const DEFAULT_SURVEY: &str = "backup-vpn-2022";

// ---------------------------------------------------------------------------------------------------------
// editions and forms

/// The catalog: the embedded files, overlaid by the directory `MAMORI_CATALOG_DIR` when set (a new fiscal
/// year's edition, or a test edition, is then a data file dropped there: `<dir>/checklist/<id>.toml`).
pub fn catalog_source() -> CatalogSource {
    match std::env::var_os("MAMORI_CATALOG_DIR") {
        Some(dir) if !dir.is_empty() => CatalogSource::with_overlay(dir),
        _ => CatalogSource::embedded(),
    }
}

/// The embedded editions, parsed once per process (they cannot change while it runs).
static EMBEDDED: std::sync::OnceLock<std::result::Result<Vec<ChecklistEdition>, String>> = std::sync::OnceLock::new();

fn overlaid() -> bool {
    std::env::var_os("MAMORI_CATALOG_DIR").is_some_and(|d| !d.is_empty())
}

/// Every checklist edition in the catalog, oldest first.
pub fn editions() -> Result<Vec<ChecklistEdition>> {
    if overlaid() {
        return Ok(cat::load_all(&catalog_source())?);
    }
    EMBEDDED
        .get_or_init(|| cat::load_all(&CatalogSource::embedded()).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| AppError::Catalog(mamori_catalog::CatalogError::Invalid { file: cat::DIR.into(), reason: e }))
}

/// One edition by id, or the newest official edition when `id` is `None`.
pub fn edition(id: Option<&str>) -> Result<ChecklistEdition> {
    match id {
        Some(id) if overlaid() => Ok(cat::load(&catalog_source(), id)?),
        Some(id) => match editions()?.into_iter().find(|e| e.id == id) {
            Some(e) => Ok(e),
            // Not embedded: let the catalog say why (unknown id, bad id) with its own message.
            None => Ok(cat::load(&CatalogSource::embedded(), id)?),
        },
        None => editions()?.into_iter().rev().find(|e| e.status == EditionStatus::Official).ok_or_else(|| {
            invalid("公表版のチェックリストがカタログにありません / no official checklist edition in the catalog")
        }),
    }
}

/// The catalog name of a form kind (`hospital`, `vendor`, `pharmacy`).
pub fn kind_str(k: FormKind) -> &'static str {
    match k {
        FormKind::Hospital => "hospital",
        FormKind::Vendor => "vendor",
        FormKind::Pharmacy => "pharmacy",
    }
}

/// A form kind from its catalog name.
pub fn parse_kind(s: &str) -> Option<FormKind> {
    match s {
        "hospital" => Some(FormKind::Hospital),
        "vendor" => Some(FormKind::Vendor),
        "pharmacy" => Some(FormKind::Pharmacy),
        _ => None,
    }
}

/// One copy of a form: which edition, which form, and for a vendor form which vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormRef {
    pub edition: String,
    pub kind: FormKind,
    /// 事業者名 (as in the vendor ledger) of a vendor form; empty for the hospital's own form.
    pub vendor: String,
}

impl FormRef {
    pub fn hospital(edition: &str) -> Self {
        Self { edition: edition.into(), kind: FormKind::Hospital, vendor: String::new() }
    }
    pub fn vendor(edition: &str, vendor: &str) -> Self {
        Self { edition: edition.into(), kind: FormKind::Vendor, vendor: vendor.into() }
    }
    pub fn key(&self) -> FormKey {
        FormKey { edition: self.edition.clone(), form: kind_str(self.kind).into(), vendor: self.vendor.clone() }
    }
    /// The form's title as printed, with the vendor: 事業者確認用（〇〇株式会社）.
    pub fn label(&self, ed: &ChecklistEdition) -> String {
        let title = ed.form(self.kind).map(|f| f.title.clone()).unwrap_or_else(|| kind_str(self.kind).into());
        if self.vendor.is_empty() { title } else { format!("{title}（{}）", self.vendor) }
    }
}

/// What the rules need to know about the facility.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Vendors of the vendor ledger with a contract (契約の有無 not いいえ), sorted.
    pub contracted_vendors: Vec<String>,
}

impl Facts {
    pub fn has_vendor_contract(&self) -> bool {
        !self.contracted_vendors.is_empty()
    }
}

/// The facts of a facility from its ledgers.
pub async fn facts(store: &Store, facility: &Facility) -> Result<Facts> {
    let vendors: Vec<Vendor> = store.list(facility.id).await?;
    let mut contracted: Vec<String> =
        vendors.into_iter().filter(|v| v.has_contract != Some(false)).map(|v| v.name).collect();
    contracted.sort();
    contracted.dedup();
    Ok(Facts { contracted_vendors: contracted })
}

/// A problem with an answer: which item, what, in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Item id (or question id), or empty for the form as a whole.
    pub item: String,
    pub ja: String,
    pub en: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.item.is_empty() {
            write!(f, "{} / {}", self.ja, self.en)
        } else {
            write!(f, "{}: {} / {}", self.item, self.ja, self.en)
        }
    }
}

fn problem(item: &str, ja: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem { item: item.into(), ja: ja.into(), en: en.into() }
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::Store(StoreError::Invalid(msg.into()))
}

/// Checks that a form copy exists and may be answered: the edition has the form; a vendor form names a
/// contracted vendor of the vendor ledger (事業者確認用 is one per contracted vendor); a hospital form names none.
pub fn check_form(ed: &ChecklistEdition, facts: &Facts, form: &FormRef) -> std::result::Result<(), Problem> {
    let Some(f) = ed.form(form.kind) else {
        return Err(problem(
            "",
            format!("{}に様式「{}」はありません", ed.edition_label, kind_str(form.kind)),
            format!("edition {} has no {} form", ed.id, kind_str(form.kind)),
        ));
    };
    if f.one_per_vendor {
        if form.vendor.trim().is_empty() {
            return Err(problem(
                "",
                format!("「{}」は事業者ごとです。事業者名を指定してください（--vendor）", f.title),
                "the vendor form is one per vendor: name the vendor (--vendor)",
            ));
        }
        if !facts.contracted_vendors.contains(&form.vendor) {
            return Err(problem(
                "",
                format!(
                    "事業者「{}」は事業者一覧に契約のある事業者として登録されていません（登録済み: {}）",
                    form.vendor,
                    if facts.contracted_vendors.is_empty() {
                        "なし".into()
                    } else {
                        facts.contracted_vendors.join("、")
                    }
                ),
                format!("vendor {:?} is not a contracted vendor of the vendor ledger", form.vendor),
            ));
        }
    } else if !form.vendor.is_empty() {
        return Err(problem(
            "",
            format!("「{}」に事業者名は指定できません", f.title),
            "this form is not per vendor: do not name a vendor",
        ));
    }
    Ok(())
}

/// The form copies the facility must answer for an edition: its own form and, when it has vendor contracts,
/// one vendor form per contracted vendor.
pub fn required_forms(ed: &ChecklistEdition, facts: &Facts) -> Vec<FormRef> {
    let mut out = Vec::new();
    for f in &ed.forms {
        match f.kind {
            FormKind::Hospital => out.push(FormRef::hospital(&ed.id)),
            FormKind::Vendor if f.one_per_vendor => {
                out.extend(facts.contracted_vendors.iter().map(|v| FormRef::vendor(&ed.id, v)))
            }
            FormKind::Vendor => out.push(FormRef { edition: ed.id.clone(), kind: FormKind::Vendor, vendor: "".into() }),
            FormKind::Pharmacy => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// rules

/// Why an item need not be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicable {
    /// The first item (医療情報システムを導入、運用している) is answered いいえ.
    ChecklistEnded,
    /// The hospital has no vendor contract (※事業者と契約していない場合には、記入不要).
    NoVendorContract,
}

impl NotApplicable {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::ChecklistEnded => "確認不要（医療情報システムなし）",
            Self::NoVendorContract => "記入不要（事業者と契約なし）",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::ChecklistEnded => "not needed (no medical information system)",
            Self::NoVendorContract => "not needed (no vendor contract)",
        }
    }
}

/// For every item of a form (by id): `None` when it must be answered, or why it need not.
pub fn applicability(
    form: &ChecklistForm,
    answers: &BTreeMap<String, ChecklistAnswer>,
    facts: &Facts,
) -> BTreeMap<String, Option<NotApplicable>> {
    let mut out = BTreeMap::new();
    let mut ended = false;
    for item in form.items() {
        let na = if ended {
            Some(NotApplicable::ChecklistEnded)
        } else if item.rules.skip_if_no_vendor_contract && !facts.has_vendor_contract() {
            Some(NotApplicable::NoVendorContract)
        } else {
            None
        };
        out.insert(item.id.clone(), na);
        if item.rules.ends_checklist_if_no && answers.get(&item.id).and_then(|a| a.r1) == Some(false) {
            ended = true;
        }
    }
    out
}

/// The first and last day of the fiscal year (年度, April–March) of a date.
pub fn fiscal_year_range(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    let fy = mamori_model::date::fiscal_year(d);
    (
        NaiveDate::from_ymd_opt(fy, 4, 1).expect("April 1st exists"),
        NaiveDate::from_ymd_opt(fy + 1, 3, 31).expect("March 31st exists"),
    )
}

/// Checks one row against the manual's rules; every problem, in order.
pub fn check_row(
    item: &ChecklistItem,
    row: &ChecklistAnswer,
    na: Option<NotApplicable>,
    today: NaiveDate,
) -> Vec<Problem> {
    let id = item.id.as_str();
    let mut p = Vec::new();
    if let Some(na) = na
        && (row.r1.is_some() || row.r2.is_some())
    {
        p.push(problem(
            id,
            format!("この項目は{}です。回答を消してください", na.label_ja()),
            format!("this item is {}; clear its answer", na.label_en()),
        ));
        return p;
    }
    for (round, ans, date) in [(1, row.r1, row.r1_date), (2, row.r2, row.r2_date)] {
        match (ans, date) {
            (Some(_), None) => p.push(problem(
                id,
                format!("{round}回目の確認日を入力してください"),
                format!("round {round}: give the date checked"),
            )),
            (None, Some(_)) => p.push(problem(
                id,
                format!("{round}回目の確認日に対する「はい・いいえ」を選んでください"),
                format!("round {round}: a date without an answer"),
            )),
            _ => {}
        }
        if let Some(d) = date
            && d > today
        {
            p.push(problem(
                id,
                format!("{round}回目の確認日 {d} が未来の日付です"),
                format!("round {round}: date checked {d} is in the future"),
            ));
        }
    }
    if row.r2.is_some() && row.r1.is_none() {
        p.push(problem(id, "1回目より先に2回目は回答できません", "answer the 1st round before the 2nd"));
    }
    if let (Some(d1), Some(d2)) = (row.r1_date, row.r2_date)
        && d2 < d1
    {
        p.push(problem(
            id,
            format!("2回目の確認日 {d2} が1回目 {d1} より前です"),
            format!("round 2 date {d2} is before round 1 date {d1}"),
        ));
    }
    // いいえ on the first question (no medical information system) is a fact, not a shortfall: no target date.
    if row.r1 == Some(false) && !item.rules.ends_checklist_if_no {
        match (row.target, row.r1_date) {
            (None, _) => p.push(problem(
                id,
                "1回目が「いいえ」のときは対応目標日が必要です（*1回目の確認で「いいえ」の場合、年度中の対応目標日を記入）",
                "a target date is required when the 1st round is No",
            )),
            (Some(t), Some(d1)) => {
                let (from, to) = fiscal_year_range(d1);
                if t < from || t > to {
                    p.push(problem(
                        id,
                        format!("目標日 {t} は1回目の確認日（{d1}）と同じ年度（{from}～{to}）の中にしてください"),
                        format!("target date {t} must fall inside the fiscal year of the 1st round ({from} – {to})"),
                    ));
                } else if t < d1 {
                    p.push(problem(
                        id,
                        format!("目標日 {t} が1回目の確認日 {d1} より前です"),
                        format!("target date {t} is before the 1st round date {d1}"),
                    ));
                }
            }
            (Some(_), None) => {}
        }
    }
    if row.remarks.chars().count() > 1000 {
        p.push(problem(id, "備考は1000文字以内にしてください", "remarks: at most 1000 characters"));
    }
    p
}

// ---------------------------------------------------------------------------------------------------------
// answering

/// One answer as a user gives it (CLI, bulk CSV, web form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerInput {
    /// Item id (`h-2-7-server`) or, when unique in the form, its number (`2-(1)`).
    pub item: String,
    /// 1 or 2.
    pub round: u8,
    /// はい = true, いいえ = false, `None` = clear the round.
    pub answer: Option<bool>,
    pub date: Option<NaiveDate>,
    /// 目標日 (1st round only); `None` keeps the stored one unless the answer is cleared or はい.
    pub target: Option<NaiveDate>,
    /// 備考; `None` keeps the stored remarks.
    pub remarks: Option<String>,
}

/// Finds an item of a form by id or by a number that is unique in the form.
pub fn find_item<'a>(form: &'a ChecklistForm, given: &str) -> std::result::Result<&'a ChecklistItem, Problem> {
    let given = given.trim();
    if let Some(i) = form.items().find(|i| i.id == given) {
        return Ok(i);
    }
    let by_number: Vec<&ChecklistItem> = form.items().filter(|i| i.number == given).collect();
    match by_number.as_slice() {
        [one] => Ok(one),
        [] => Err(problem(
            given,
            format!("項目「{given}」は「{}」にありません", form.title),
            format!("no item {given:?} in this form"),
        )),
        many => Err(problem(
            given,
            format!(
                "番号「{given}」は対象ごとに複数あります。IDで指定してください: {}",
                many.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "this number exists for several target groups; give the item id",
        )),
    }
}

/// Applies the inputs to the stored answers of a form copy and writes them — only when every changed row
/// passes the rules; otherwise nothing is written and every problem is returned. `Ok(Ok(n))`: rows changed.
pub async fn answer(
    store: &Store,
    facility: &Facility,
    form: &FormRef,
    inputs: &[AnswerInput],
    by: &str,
    today: NaiveDate,
) -> Result<std::result::Result<usize, Vec<Problem>>> {
    let ed = edition(Some(&form.edition))?;
    let facts = facts(store, facility).await?;
    if let Err(p) = check_form(&ed, &facts, form) {
        return Ok(Err(vec![p]));
    }
    let f = ed.form(form.kind).expect("checked by check_form");
    let mut rows: BTreeMap<String, ChecklistAnswer> =
        store.checklist_answers(facility.id, &form.key()).await?.into_iter().map(|a| (a.item_id.clone(), a)).collect();
    let based_on: Vec<ChecklistAnswer> = rows.values().cloned().collect();
    let mut problems = Vec::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for input in inputs {
        let item = match find_item(f, &input.item) {
            Ok(i) => i,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let row = rows
            .entry(item.id.clone())
            .or_insert_with(|| ChecklistAnswer { item_id: item.id.clone(), ..Default::default() });
        match input.round {
            1 => {
                row.r1 = input.answer;
                row.r1_date = input.date;
                match input.answer {
                    Some(false) => {
                        if input.target.is_some() {
                            row.target = input.target;
                        }
                    }
                    // A target date belongs to a いいえ; a はい or a cleared round has none.
                    _ => row.target = input.target.filter(|_| input.answer == Some(false)),
                }
            }
            2 => {
                row.r2 = input.answer;
                row.r2_date = input.date;
                if input.target.is_some() {
                    problems.push(problem(
                        &item.id,
                        "目標日は1回目の「いいえ」に付けます（--round 1）",
                        "a target date belongs to the 1st round",
                    ));
                }
            }
            r => problems.push(problem(
                &item.id,
                format!("回は1か2です（{r}）"),
                format!("round must be 1 or 2, not {r}"),
            )),
        }
        if let Some(r) = &input.remarks {
            row.remarks = r.trim().replace("\r\n", "\n");
        }
        touched.insert(item.id.clone());
    }
    // Rules on the whole form after the change: an item made not applicable by another answer is checked too.
    let na = applicability(f, &rows, &facts);
    for item in f.items() {
        let Some(row) = rows.get(&item.id) else { continue };
        let was_changed = touched.contains(&item.id);
        let na_i = na.get(&item.id).copied().flatten();
        if was_changed || (na_i.is_some() && (row.r1.is_some() || row.r2.is_some())) {
            problems.extend(check_row(item, row, na_i, today));
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let changed: Vec<ChecklistAnswer> = rows.into_values().filter(|r| touched.contains(&r.item_id)).collect();
    Ok(Ok(store.save_checklist_answers_if_unchanged(facility.id, &form.key(), &changed, &based_on, by).await?))
}

/// Reads a bulk answer file (CSV, UTF-8 with or without BOM): columns item, round, answer (はい/いいえ/yes/no/empty),
/// date, target, remarks; a header row is required. Every bad row is reported (line numbers are the file's).
pub fn parse_answer_csv(bytes: &[u8]) -> std::result::Result<Vec<AnswerInput>, Vec<Problem>> {
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec![problem("", "ファイルが空です", "the file is empty")]);
    };
    let cols: Vec<String> = split_csv_line(header).into_iter().map(|c| c.trim().to_lowercase()).collect();
    let idx = |names: &[&str]| cols.iter().position(|c| names.contains(&c.as_str()));
    let (Some(ci), Some(cr), Some(ca), Some(cd)) = (
        idx(&["item", "項目", "番号"]),
        idx(&["round", "回"]),
        idx(&["answer", "回答", "はい・いいえ"]),
        idx(&["date", "確認日"]),
    ) else {
        return Err(vec![problem(
            "",
            "見出し行に item, round, answer, date（項目, 回, 回答, 確認日）が必要です",
            "the header row needs item, round, answer, date (target, remarks optional)",
        )]);
    };
    let ct = idx(&["target", "目標日"]);
    let cm = idx(&["remarks", "備考"]);
    for (n, line) in lines {
        let at = format!("{}行目", n + 1);
        let cells = split_csv_line(line);
        let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_string()).unwrap_or_default();
        let mut bad = |ja: String, en: String| problems.push(problem(&at, ja, en));
        let round = match get(Some(cr)).as_str() {
            "1" | "１" | "1回目" => 1,
            "2" | "２" | "2回目" => 2,
            other => {
                bad(format!("回「{other}」は 1 か 2 にしてください"), format!("round {other:?} must be 1 or 2"));
                continue;
            }
        };
        let answer = match parse_yes_no(&get(Some(ca))) {
            Ok(a) => a,
            Err(v) => {
                bad(
                    format!("回答「{v}」は はい・いいえ のどちらかにしてください"),
                    format!("answer {v:?}: use はい or いいえ"),
                );
                continue;
            }
        };
        let date = match parse_date_opt(&get(Some(cd))) {
            Ok(d) => d,
            Err(v) => {
                bad(
                    format!("確認日「{v}」を日付として読めません（例: 2024-06-10）"),
                    format!("date {v:?} is not a date"),
                );
                continue;
            }
        };
        let target = match parse_date_opt(&get(ct)) {
            Ok(d) => d,
            Err(v) => {
                bad(
                    format!("目標日「{v}」を日付として読めません（例: 2025-03-31）"),
                    format!("target {v:?} is not a date"),
                );
                continue;
            }
        };
        let remarks = cm.map(|_| get(cm));
        out.push(AnswerInput { item: get(Some(ci)), round, answer, date, target, remarks });
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// はい/いいえ (and yes/no, y/n, ○/×); empty = `None`.
pub fn parse_yes_no(s: &str) -> std::result::Result<Option<bool>, String> {
    match s.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "はい" | "yes" | "y" | "true" | "○" | "〇" => Ok(Some(true)),
        "いいえ" | "no" | "n" | "false" | "×" => Ok(Some(false)),
        other => Err(other.to_string()),
    }
}

/// A date as the ledgers accept it (2024-06-10, 2024/6/10, 令和6年6月10日, R6.6.10); empty = `None`.
pub fn parse_date_opt(s: &str) -> std::result::Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match mamori_model::date::parse_date(s) {
        Ok(Some(d)) => Ok(Some(d)),
        _ => Err(s.to_string()),
    }
}

/// Splits one CSV line (double quotes, "" inside quotes).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

// ---------------------------------------------------------------------------------------------------------
// the form as shown

/// One item of a form as the pages and the CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub item: ChecklistItem,
    pub section_number: String,
    pub section_title: String,
    /// The printed heading of the item's target group (サーバについて、以下を実施している。), if any.
    pub group_heading: Option<String>,
    pub answer: ChecklistAnswer,
    pub not_applicable: Option<NotApplicable>,
    /// What mamori's own data says about the item (never overwriting the answer).
    pub evidence: Vec<Evidence>,
    /// Expected evidence sources that have nothing yet ("no evidence yet").
    pub awaiting: Vec<String>,
    /// The current answer (2nd round if given, else 1st) disagrees with some evidence.
    pub disagreement: bool,
    /// 1st round いいえ, target date passed and the 2nd round not はい.
    pub overdue: bool,
}

impl ItemView {
    /// The answer that counts now: the 2nd round when given, else the 1st.
    pub fn current(&self) -> Option<bool> {
        self.answer.r2.or(self.answer.r1)
    }
    /// Applicable and without a 1st-round answer with its date.
    pub fn missing(&self) -> bool {
        self.not_applicable.is_none() && (self.answer.r1.is_none() || self.answer.r1_date.is_none())
    }
}

/// A form copy with its items, answers and evidence.
#[derive(Debug, Clone, Serialize)]
pub struct FormView {
    pub edition_id: String,
    pub edition_label: String,
    pub title: String,
    pub form: FormRef,
    pub form_title: String,
    pub notes: Vec<String>,
    pub items: Vec<ItemView>,
    pub facts: Facts,
}

/// The form copy as shown. `evidence` is the collected evidence (see [`crate::evidence::collect`]) or empty
/// for a user who must not see it (a vendor sees only its own answers).
pub async fn form_view(
    store: &Store,
    facility: &Facility,
    form: &FormRef,
    evidence: &[Evidence],
    today: NaiveDate,
) -> Result<FormView> {
    let ed = edition(Some(&form.edition))?;
    let facts = facts(store, facility).await?;
    let Some(f) = ed.form(form.kind) else {
        return Err(invalid(format!("{} has no {} form", ed.id, kind_str(form.kind))));
    };
    let answers: BTreeMap<String, ChecklistAnswer> =
        store.checklist_answers(facility.id, &form.key()).await?.into_iter().map(|a| (a.item_id.clone(), a)).collect();
    let na = applicability(f, &answers, &facts);
    let mut items = Vec::new();
    for section in &f.sections {
        for item in &section.items {
            let answer = answers
                .get(&item.id)
                .cloned()
                .unwrap_or(ChecklistAnswer { item_id: item.id.clone(), ..Default::default() });
            let ev: Vec<Evidence> = if item.evidence.is_empty() {
                Vec::new()
            } else {
                crate::evidence::for_item(evidence, EvidenceTarget::Checklist, &item.number)
                    .into_iter()
                    .cloned()
                    .collect()
            };
            let awaiting: Vec<String> =
                item.evidence.iter().filter(|s| !ev.iter().any(|e| e.source == s.as_str())).cloned().collect();
            let group_heading =
                item.target.and_then(|t| section.groups.iter().find(|g| g.target == t)).map(|g| g.heading.clone());
            let mut v = ItemView {
                item: item.clone(),
                section_number: section.number.clone(),
                section_title: section.title.clone(),
                group_heading,
                answer,
                not_applicable: na.get(&item.id).copied().flatten(),
                evidence: ev,
                awaiting,
                disagreement: false,
                overdue: false,
            };
            v.disagreement = v.current().is_some_and(|a| v.evidence.iter().any(|e| e.disagrees_with(a)));
            v.overdue = v.not_applicable.is_none()
                && v.answer.r1 == Some(false)
                && v.answer.r2 != Some(true)
                && v.answer.target.is_some_and(|t| t < today);
            items.push(v);
        }
    }
    Ok(FormView {
        edition_id: ed.id.clone(),
        edition_label: ed.edition_label.clone(),
        title: ed.title.clone(),
        form_title: form.label(&ed),
        form: form.clone(),
        notes: f.notes.clone(),
        items,
        facts,
    })
}

// ---------------------------------------------------------------------------------------------------------
// readiness

/// One line of what the inspector will find missing or overdue.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessItem {
    pub form: FormRef,
    pub form_title: String,
    pub item_id: String,
    pub number: String,
    pub target: String,
    pub text: String,
    pub target_date: Option<NaiveDate>,
}

/// A document the inspector asks for, and whether mamori's data shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessDocument {
    pub title: String,
    pub item: String,
    pub source: String,
    pub ok: bool,
    /// The evidence's reason, or empty when nothing is known yet.
    pub reason_ja: String,
    pub reason_en: String,
}

/// What the prefecture's inspection (立入検査) will check, and what is missing, at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub edition_id: String,
    pub edition_label: String,
    pub today: NaiveDate,
    /// Everything the inspector checks is there and nothing is overdue.
    pub ready: bool,
    /// Form copies to be answered (the hospital's own, one per contracted vendor), with (answered, applicable).
    pub forms: Vec<(FormRef, String, usize, usize)>,
    /// Applicable items without a 1st-round answer and date.
    pub missing: Vec<ReadinessItem>,
    /// いいえ items whose target date has passed without a はい in the 2nd round.
    pub overdue: Vec<ReadinessItem>,
    pub documents: Vec<ReadinessDocument>,
    /// Items where mamori's data disagrees with the answer.
    pub disagreements: usize,
    /// The latest date any round was checked.
    pub last_checked: Option<NaiveDate>,
    /// No check within the last 12 months (the manual asks for at least one a year).
    pub reminder_due: bool,
}

/// Readiness of a facility for the inspection, for the newest official edition (`edition_id` = `None`) or a
/// given one. The lead's dashboard can call this and show [`Readiness::ready`], the counts and the reminder.
pub async fn readiness(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Readiness> {
    readiness_of(store, facility, None, today).await
}

/// [`readiness`] for a given edition.
pub async fn readiness_of(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    today: NaiveDate,
) -> Result<Readiness> {
    let evidence = crate::evidence::collect(store, facility, today).await?;
    readiness_with(store, facility, edition_id, &evidence, today).await
}

/// [`readiness_of`] with evidence already collected (a page that shows both saves collecting it twice).
pub async fn readiness_with(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    evidence: &[Evidence],
    today: NaiveDate,
) -> Result<Readiness> {
    let ed = edition(edition_id)?;
    let facts = facts(store, facility).await?;
    let mut forms = Vec::new();
    let (mut missing, mut overdue) = (Vec::new(), Vec::new());
    let mut disagreements = 0;
    let mut last_checked: Option<NaiveDate> = None;
    for form in required_forms(&ed, &facts) {
        let v = form_view(store, facility, &form, evidence, today).await?;
        let applicable = v.items.iter().filter(|i| i.not_applicable.is_none()).count();
        let answered = v.items.iter().filter(|i| i.not_applicable.is_none() && !i.missing()).count();
        forms.push((form.clone(), v.form_title.clone(), answered, applicable));
        for i in &v.items {
            for d in [i.answer.r1_date, i.answer.r2_date].into_iter().flatten() {
                last_checked = last_checked.max(Some(d));
            }
            let line = || ReadinessItem {
                form: form.clone(),
                form_title: v.form_title.clone(),
                item_id: i.item.id.clone(),
                number: i.item.number.clone(),
                target: i.item.target.map(|t| t.label().to_string()).unwrap_or_default(),
                text: i.item.text.clone(),
                target_date: i.answer.target,
            };
            if i.missing() {
                missing.push(line());
            }
            if i.overdue {
                overdue.push(line());
            }
            if i.disagreement {
                disagreements += 1;
            }
        }
    }
    let documents: Vec<ReadinessDocument> = ed
        .inspection_documents
        .iter()
        .map(|d| {
            let ev = evidence
                .iter()
                .find(|e| e.target == EvidenceTarget::Checklist && e.item == d.item && e.source == d.source);
            ReadinessDocument {
                title: d.title.clone(),
                item: d.item.clone(),
                source: d.source.clone(),
                ok: ev.is_some_and(|e| e.state == EvidenceState::Supports),
                reason_ja: ev.map(|e| e.reason_ja.clone()).unwrap_or_default(),
                reason_en: ev.map(|e| e.reason_en.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let year_ago = today.checked_sub_months(chrono::Months::new(12)).unwrap_or(today);
    let reminder_due = last_checked.is_none_or(|d| d < year_ago);
    let ready = missing.is_empty() && overdue.is_empty() && documents.iter().all(|d| d.ok) && !reminder_due;
    Ok(Readiness {
        edition_id: ed.id.clone(),
        edition_label: ed.edition_label.clone(),
        today,
        ready,
        forms,
        missing,
        overdue,
        documents,
        disagreements,
        last_checked,
        reminder_due,
    })
}

// ---------------------------------------------------------------------------------------------------------
// exports

/// Export formats of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Pdf,
    Csv,
}

impl SheetFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "xlsx" => Some(Self::Xlsx),
            "pdf" => Some(Self::Pdf),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
            Self::Csv => "csv",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pdf => "application/pdf",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The form copies of an export: the required ones plus any other copy holding answers (e.g. a vendor whose
/// contract ended), or just `only` when given.
async fn export_forms(
    store: &Store,
    facility: &Facility,
    ed: &ChecklistEdition,
    only: Option<&FormRef>,
) -> Result<Vec<FormRef>> {
    if let Some(f) = only {
        return Ok(vec![f.clone()]);
    }
    let facts = facts(store, facility).await?;
    let mut forms = required_forms(ed, &facts);
    for k in store.checklist_forms(facility.id).await? {
        if k.edition != ed.id {
            continue;
        }
        if let Some(kind) = parse_kind(&k.form) {
            let f = FormRef { edition: k.edition, kind, vendor: k.vendor };
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
    }
    Ok(forms)
}

fn yes_no_col(header: &str) -> Column {
    Column { header: header.into(), width: 9.0, kind: ColumnKind::YesNo }
}

fn date_col(header: &str) -> Column {
    Column { header: header.into(), width: 12.0, kind: ColumnKind::Date }
}

/// The sheets in the official layout: one per form copy (医療機関確認用, then 事業者確認用 per vendor), each with
/// the sheet's title, notes, the R5 column, the item wording with its number, both rounds (はい・いいえ and 確認日),
/// 目標日 and 備考; section and target-group headings as rows, as printed.
pub async fn export_sheets(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    only: Option<&FormRef>,
    today: NaiveDate,
) -> Result<Vec<OfficialSheet>> {
    let ed = edition(edition_id)?;
    let mut sheets = Vec::new();
    for form in export_forms(store, facility, &ed, only).await? {
        let v = form_view(store, facility, &form, &[], today).await?;
        let f = ed.form(form.kind).expect("form of the edition");
        let mut notes = vec![format!("医療機関名：{}", facility.data.name)];
        if let Some(label) = &f.vendor_name_label {
            notes.push(format!("{label}{}", form.vendor));
        } else if !form.vendor.is_empty() {
            notes.push(format!("事業者名：{}", form.vendor));
        }
        notes.extend(f.notes.iter().cloned());
        let columns = vec![
            Column { header: "R5年度項目 ※".into(), width: 9.0, kind: ColumnKind::Text },
            Column { header: "チェック項目".into(), width: 60.0, kind: ColumnKind::Text },
            yes_no_col("1回目 はい・いいえ"),
            date_col("1回目 確認日"),
            date_col("目標日"),
            yes_no_col("2回目 はい・いいえ"),
            date_col("2回目 確認日"),
            Column { header: "備考".into(), width: 26.0, kind: ColumnKind::Text },
        ];
        let mut rows: Vec<Vec<CellValue>> = Vec::new();
        let mut last_section = String::new();
        let mut last_group: Option<String> = None;
        for i in &v.items {
            if i.section_number != last_section {
                last_section = i.section_number.clone();
                last_group = None;
                let head = if i.section_number == "0" {
                    i.section_title.clone()
                } else {
                    format!("{}　{}", i.section_number, i.section_title)
                };
                rows.push(vec![CellValue::Empty, CellValue::Text(format!("【{head}】"))]);
            }
            if i.group_heading.is_some() && i.group_heading != last_group {
                last_group = i.group_heading.clone();
                rows.push(vec![CellValue::Empty, CellValue::Text(i.group_heading.clone().unwrap_or_default())]);
            }
            let mut text =
                if i.item.number == "0" { i.item.text.clone() } else { format!("{}({})", i.item.text, i.item.number) };
            if let Some(n) = &i.item.note {
                text.push('\n');
                text.push_str(n);
            }
            let mut remarks = i.answer.remarks.clone();
            if let Some(na) = i.not_applicable {
                if !remarks.is_empty() {
                    remarks.push('\n');
                }
                remarks.push_str(na.label_ja());
            }
            rows.push(vec![
                CellValue::Text(if i.item.r5 { "※".into() } else { String::new() }),
                CellValue::Text(text),
                i.answer.r1.into(),
                i.answer.r1_date.into(),
                i.answer.target.into(),
                i.answer.r2.into(),
                i.answer.r2_date.into(),
                CellValue::Text(remarks),
            ]);
        }
        let sheet_name = if form.vendor.is_empty() { f.title.clone() } else { format!("{}_{}", f.title, form.vendor) };
        sheets.push(OfficialSheet {
            sheet_name: Some(sheet_name),
            title: format!("{} {}（{}）", ed.edition_label, ed.title, f.title),
            notes,
            columns,
            rows,
            landscape: true,
        });
    }
    Ok(sheets)
}

fn report_err(e: mamori_report::ReportError) -> AppError {
    AppError::Report { what: "チェックリスト / checklist".into(), source: e }
}

/// The checklist as an .xlsx workbook in the official layout (one sheet per form copy).
pub async fn export_xlsx(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    only: Option<&FormRef>,
    today: NaiveDate,
) -> Result<Vec<u8>> {
    let sheets = export_sheets(store, facility, edition_id, only, today).await?;
    mamori_report::write_xlsx(&sheets).map_err(report_err)
}

/// The same sheets as a PDF for printing (typst, BIZ UDPGothic embedded).
pub async fn export_pdf(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    only: Option<&FormRef>,
    today: NaiveDate,
) -> Result<Vec<u8>> {
    let sheets = export_sheets(store, facility, edition_id, only, today).await?;
    let renderer = mamori_report::PdfRenderer::new().map_err(report_err)?;
    mamori_report::sheets_to_pdf(&sheets, &facility.data.name, &renderer).map_err(report_err)
}

/// Every answer as one CSV table (UTF-8 with BOM): form, vendor, item, both rounds, target, remarks, who and when.
pub async fn export_csv(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    only: Option<&FormRef>,
    today: NaiveDate,
) -> Result<Vec<u8>> {
    let ed = edition(edition_id)?;
    let headers = [
        "版",
        "様式",
        "事業者名",
        "項目ID",
        "番号",
        "対象",
        "R5年度項目",
        "チェック項目",
        "1回目",
        "1回目確認日",
        "目標日",
        "2回目",
        "2回目確認日",
        "備考",
        "記入不要の理由",
        "更新者",
        "更新日時",
    ];
    let yn = |b: Option<bool>| b.map(|b| if b { "はい" } else { "いいえ" }).unwrap_or("").to_string();
    let d = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let mut rows = Vec::new();
    for form in export_forms(store, facility, &ed, only).await? {
        let v = form_view(store, facility, &form, &[], today).await?;
        for i in &v.items {
            rows.push(vec![
                ed.edition_label.clone(),
                ed.form(form.kind).map(|f| f.title.clone()).unwrap_or_default(),
                form.vendor.clone(),
                i.item.id.clone(),
                i.item.number.clone(),
                i.item.target.map(|t| t.label().to_string()).unwrap_or_default(),
                if i.item.r5 { "※".into() } else { String::new() },
                i.item.text.clone(),
                yn(i.answer.r1),
                d(i.answer.r1_date),
                d(i.answer.target),
                yn(i.answer.r2),
                d(i.answer.r2_date),
                i.answer.remarks.clone(),
                i.not_applicable.map(|n| n.label_ja().to_string()).unwrap_or_default(),
                i.answer.updated_by.clone(),
                i.answer.updated_at.clone(),
            ]);
        }
    }
    Ok(mamori_tabular::write_csv(&headers, &rows, mamori_tabular::CsvFlavor::Utf8Bom)?)
}

/// One export in the given format.
pub async fn export(
    store: &Store,
    facility: &Facility,
    edition_id: Option<&str>,
    only: Option<&FormRef>,
    format: SheetFormat,
    today: NaiveDate,
) -> Result<Vec<u8>> {
    match format {
        SheetFormat::Xlsx => export_xlsx(store, facility, edition_id, only, today).await,
        SheetFormat::Pdf => export_pdf(store, facility, edition_id, only, today).await,
        SheetFormat::Csv => export_csv(store, facility, edition_id, only, today).await,
    }
}

// ---------------------------------------------------------------------------------------------------------
// evidence of the ledgers

fn ev(item: &str, state: EvidenceState, suggests: Option<bool>, ja: String, en: String, link: &str) -> Evidence {
    Evidence {
        target: EvidenceTarget::Checklist,
        item: item.into(),
        source: "ledger",
        state,
        suggests,
        reason_ja: ja,
        reason_en: en,
        link: Some(link.into()),
        as_of: None,
    }
}

/// Whether a device is a remote gateway (VPN装置) as the ledger describes it.
fn is_vpn_device(d: &Device) -> bool {
    let hay = format!("{} {} {} {}", d.model, d.hostname, d.description, d.os).to_uppercase();
    d.category.as_deref() == Some("network") && hay.contains("VPN") && !hay.contains("IP-VPN")
}

/// Evidence provider (see [`crate::evidence`]): what the ledgers (and the app's users) say about the checklist
/// items 1-(1), 2-(1)…2-(5), 2-(7) and the G-MIS questions 2, 5, 10, 11, 12. Reasons give counts, never the
/// names of staff (readers of the checklist may not read the user ID ledger).
pub async fn ledger_evidence(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<Evidence>> {
    let fid = facility.id;
    let mut out = Vec::new();

    // 1-(1) / G-MIS 2: a security manager (安全管理責任者) is named — a manager account of the facility.
    let managers = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Manager && u.facility_id == Some(fid) && !u.disabled)
        .count();
    let (state, sug, ja, en) = if managers > 0 {
        (
            EvidenceState::Supports,
            Some(true),
            format!("mamori に安全管理責任者・企画管理者の利用者が {managers} 名登録されています"),
            format!("{managers} security manager user(s) of this facility are registered in mamori"),
        )
    } else {
        (
            EvidenceState::Missing,
            None,
            "mamori に安全管理責任者・企画管理者の利用者が登録されていません（体制図・任命文書で確認してください）"
                .into(),
            "no security manager user is registered in mamori (check the appointment document)".into(),
        )
    };
    out.push(ev("1-(1)", state, sug, ja.clone(), en.clone(), ""));
    out.push(Evidence { target: EvidenceTarget::Gmis, item: "q2".into(), ..ev("", state, sug, ja, en, "") });

    // 2-(1): the device ledger is kept and updated within a year.
    let (devices_n, updated) = store.ledger_stats(fid, LedgerKind::Devices).await?;
    let opts = FindingOptions::new(today);
    let findings = crate::ledger_findings(store, fid, &opts).await?;
    let count = |kinds: &[FindingKind]| findings.iter().filter(|f| kinds.contains(&f.kind)).count();
    let updated_day = updated.as_deref().and_then(|u| NaiveDate::parse_from_str(u.get(..10)?, "%Y-%m-%d").ok());
    let mut e21 = if devices_n == 0 {
        ev(
            "2-(1)",
            EvidenceState::Contradicts,
            Some(false),
            "機器台帳が登録されていません".into(),
            "no device ledger in mamori".into(),
            "l/devices",
        )
    } else if updated_day.is_some_and(|d| (today - d).num_days() > 365) {
        let d = updated_day.expect("checked");
        ev(
            "2-(1)",
            EvidenceState::Contradicts,
            Some(false),
            format!("機器台帳（{devices_n} 台）の最終更新が {d} で、1年以上更新されていません"),
            format!("the device ledger ({devices_n} devices) was last updated on {d}, over a year ago"),
            "l/devices",
        )
    } else {
        let quality =
            count(&[FindingKind::DeviceNoOwnerOrPlace, FindingKind::DuplicateIp, FindingKind::DuplicateHostname]);
        let d = updated_day.map(|d| d.to_string()).unwrap_or_else(|| "不明".into());
        if quality > 0 {
            ev(
                "2-(1)",
                EvidenceState::Partial,
                Some(true),
                format!(
                    "機器台帳 {devices_n} 台（最終更新 {d}）。ただし利用者・設置場所の空欄や重複が {quality} 件あります"
                ),
                format!(
                    "device ledger of {devices_n} devices (updated {d}); {quality} entries lack owner/place or are duplicated"
                ),
                "l/devices",
            )
        } else {
            ev(
                "2-(1)",
                EvidenceState::Supports,
                Some(true),
                format!("機器台帳 {devices_n} 台、最終更新 {d}（1年以内）"),
                format!("device ledger of {devices_n} devices, updated {d} (within a year)"),
                "l/devices",
            )
        }
    };
    e21.as_of = updated_day.map(|d| d.to_string());
    out.push(e21);

    // 2-(2), 2-(3): the systems ledger records remote maintenance and MDS/SDS per vendor-served system.
    let systems: Vec<InfoSystem> = store.list(fid).await?;
    let served: Vec<&InfoSystem> = systems.iter().filter(|s| !s.vendor.trim().is_empty()).collect();
    if !served.is_empty() {
        let n = served.len();
        let known = served.iter().filter(|s| s.remote_maintenance.is_some()).count();
        let remote = served.iter().filter(|s| s.remote_maintenance == Some(true)).count();
        out.push(if known == n {
            ev(
                "2-(2)",
                EvidenceState::Supports,
                Some(true),
                format!("事業者が保守する {n} システムすべてでリモート保守の有無が記録されています（あり {remote}）"),
                format!("remote maintenance is recorded for all {n} vendor-served systems ({remote} use it)"),
                "l/systems",
            )
        } else {
            ev(
                "2-(2)",
                EvidenceState::Partial,
                None,
                format!("{n} システム中 {} でリモート保守の有無が未確認です", n - known),
                format!("remote maintenance unknown for {} of {n} systems", n - known),
                "l/systems",
            )
        });
        let yes = served.iter().filter(|s| s.mds_sds == Some(true)).count();
        let no = served.iter().filter(|s| s.mds_sds == Some(false)).count();
        out.push(if yes == n {
            ev(
                "2-(3)",
                EvidenceState::Supports,
                Some(true),
                format!("{n} システムすべてで MDS/SDS の提出が記録されています"),
                format!("MDS/SDS received for all {n} systems"),
                "l/systems",
            )
        } else {
            ev(
                "2-(3)",
                if no > 0 { EvidenceState::Contradicts } else { EvidenceState::Partial },
                if no > 0 { Some(false) } else { None },
                format!("{n} システム中 MDS/SDS 提出あり {yes}、なし {no}、未記入 {}", n - yes - no),
                format!("MDS/SDS: {yes} received, {no} not received, {} unknown of {n} systems", n - yes - no),
                "l/systems",
            )
        });
    }

    // 2-(4): permissions per role in the account ledger; 2-(5): retired / unused accounts.
    let accounts: Vec<Account> = store.list(fid).await?;
    if !accounts.is_empty() {
        let n = accounts.len();
        let with_role = accounts.iter().filter(|a| !a.role.trim().is_empty()).count();
        let roles: BTreeSet<&str> = accounts.iter().map(|a| a.role.trim()).filter(|r| !r.is_empty()).collect();
        out.push(if with_role == n {
            ev(
                "2-(4)",
                EvidenceState::Supports,
                Some(true),
                format!("利用者ID台帳の {n} 件すべてに権限（{} 種類）が設定されています", roles.len()),
                format!("all {n} accounts have a role/permission ({} kinds)", roles.len()),
                "l/accounts",
            )
        } else if with_role == 0 {
            ev(
                "2-(4)",
                EvidenceState::Contradicts,
                Some(false),
                format!("利用者ID台帳の {n} 件に権限の記載がありません"),
                format!("none of the {n} accounts records a role/permission"),
                "l/accounts",
            )
        } else {
            ev(
                "2-(4)",
                EvidenceState::Partial,
                None,
                format!("利用者ID台帳の {n} 件中 {} 件に権限の記載がありません", n - with_role),
                format!("{} of {n} accounts record no role/permission", n - with_role),
                "l/accounts",
            )
        });
        let retired = count(&[FindingKind::AccountRetired]);
        let expired = count(&[FindingKind::AccountExpired]);
        let unused = count(&[FindingKind::AccountUnused]);
        out.push(if retired + expired + unused > 0 {
            ev(
                "2-(5)",
                EvidenceState::Contradicts,
                Some(false),
                format!(
                    "不要なアカウントが残っています: 退職者 {retired} 件、有効期限切れ {expired} 件、{} 日以上未使用 {unused} 件",
                    opts.unused_days
                ),
                format!(
                    "unneeded accounts remain: {retired} retired, {expired} expired, {unused} unused for {}+ days",
                    opts.unused_days
                ),
                "l/accounts",
            )
        } else {
            ev(
                "2-(5)",
                EvidenceState::Supports,
                Some(true),
                format!("利用者ID台帳 {n} 件に退職者・期限切れ・長期未使用のアカウントはありません"),
                format!("no retired, expired or long-unused account among {n}"),
                "l/accounts",
            )
        });
    }

    // 2-(7): end of support from the ledger findings (patch state itself is the vulnerability capability's).
    if devices_n > 0 {
        let eos =
            count(&[FindingKind::OsEndOfSupport, FindingKind::SoftwareEndOfSupport, FindingKind::DeviceEndOfSupport]);
        let soon = count(&[FindingKind::EndOfSupportSoon]);
        // Which target group (サーバ / 端末PC / ネットワーク機器) the findings concern, for the reader of each row.
        let devices: Vec<Device> = store.list(fid).await?;
        let category: BTreeMap<&str, &str> =
            devices.iter().map(|d| (d.asset_no.as_str(), d.category.as_deref().unwrap_or(""))).collect();
        let mut by_group: BTreeMap<&str, usize> = BTreeMap::new();
        for f in findings.iter().filter(|f| {
            f.ledger == LedgerKind::Devices
                && matches!(
                    f.kind,
                    FindingKind::OsEndOfSupport | FindingKind::SoftwareEndOfSupport | FindingKind::DeviceEndOfSupport
                )
        }) {
            let group = match category.get(f.key.as_str()).copied() {
                Some("server") => "サーバ",
                Some("pc") => "端末PC",
                Some("network") => "ネットワーク機器",
                _ => "その他",
            };
            *by_group.entry(group).or_default() += 1;
        }
        let split_ja: Vec<String> = ["サーバ", "端末PC", "ネットワーク機器", "その他"]
            .iter()
            .filter_map(|g| by_group.get(g).map(|n| format!("{g} {n}")))
            .collect();
        let split_en: Vec<String> =
            [("サーバ", "servers"), ("端末PC", "PCs"), ("ネットワーク機器", "network devices"), ("その他", "other")]
                .iter()
                .filter_map(|(g, en)| by_group.get(g).map(|n| format!("{en} {n}")))
                .collect();
        out.push(if eos > 0 {
            ev(
                "2-(7)",
                EvidenceState::Contradicts,
                Some(false),
                format!(
                    "サポート終了の OS・ソフトウェア・機器が {eos} 件あります（{}）。更新プログラムが提供されません",
                    split_ja.join("、")
                ),
                format!(
                    "{eos} OS/software/devices are past their end of support ({}): no more patches",
                    split_en.join(", ")
                ),
                "l/devices",
            )
        } else if soon > 0 {
            ev(
                "2-(7)",
                EvidenceState::Partial,
                None,
                format!("まもなくサポート終了のものが {soon} 件あります"),
                format!("{soon} reach their end of support soon"),
                "l/devices",
            )
        } else {
            ev(
                "2-(7)",
                EvidenceState::Partial,
                None,
                "台帳にサポート終了の OS・ソフトウェアはありません（適用状況そのものは台帳からは分かりません）".into(),
                "nothing past its end of support in the ledger (the patch state itself is not in the ledger)".into(),
                "l/devices",
            )
        });
    }

    // G-MIS 5 (EHR in use), 10/11/12 (VPN devices).
    let gm = |item: &str, state, sug: Option<bool>, ja: String, en: String, link: &str| Evidence {
        target: EvidenceTarget::Gmis,
        item: item.into(),
        ..ev("", state, sug, ja, en, link)
    };
    out.push(if facility.data.has_ehr {
        gm(
            "q5",
            EvidenceState::Supports,
            Some(true),
            "施設情報: 電子カルテあり".into(),
            "facility: uses an EHR".into(),
            "",
        )
    } else {
        gm("q5", EvidenceState::Supports, Some(false), "施設情報: 電子カルテなし".into(), "facility: no EHR".into(), "")
    });
    if devices_n > 0 {
        let devices: Vec<Device> = store.list(fid).await?;
        let vpn: Vec<&Device> = devices.iter().filter(|d| is_vpn_device(d)).collect();
        if vpn.is_empty() {
            out.push(gm(
                "q10",
                EvidenceState::Partial,
                None,
                "機器台帳に VPN 装置と分かる機器はありません（事業者にも確認してください）".into(),
                "no device in the ledger is recognisably a VPN gateway (ask the vendors too)".into(),
                "l/devices",
            ));
        } else {
            let mut by_model: BTreeMap<(String, String), usize> = BTreeMap::new();
            for d in &vpn {
                *by_model.entry((d.maker.clone(), d.model.clone())).or_default() += 1;
            }
            let list: Vec<String> = by_model.iter().map(|((m, t), n)| format!("{m} {t} ×{n}")).collect();
            out.push(gm(
                "q10",
                EvidenceState::Supports,
                Some(true),
                format!("機器台帳に VPN 装置が {} 台あります", vpn.len()),
                format!("{} VPN gateway(s) in the device ledger", vpn.len()),
                "l/devices",
            ));
            out.push(gm(
                "q11",
                EvidenceState::Supports,
                None,
                format!("機器台帳より: {}", list.join("、")),
                format!("from the device ledger: {}", list.join(", ")),
                "l/devices",
            ));
            let keys: BTreeSet<&str> = vpn.iter().map(|d| d.asset_no.as_str()).collect();
            let old = findings
                .iter()
                .filter(|f| f.ledger == LedgerKind::Devices && keys.contains(f.key.as_str()))
                .filter(|f| {
                    matches!(
                        f.kind,
                        FindingKind::OsEndOfSupport
                            | FindingKind::SoftwareEndOfSupport
                            | FindingKind::DeviceEndOfSupport
                    )
                })
                .count();
            if old > 0 {
                out.push(gm(
                    "q12",
                    EvidenceState::Contradicts,
                    Some(false),
                    format!("VPN 装置のうち {old} 件がサポート終了の OS・機器です"),
                    format!("{old} VPN gateway findings are past their end of support"),
                    "l/devices",
                ));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// G-MIS survey

/// The survey by id, or the default one.
pub fn survey(id: Option<&str>) -> Result<Survey> {
    Ok(gmis::load(&catalog_source(), id.unwrap_or(DEFAULT_SURVEY))?)
}

/// One question as shown.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionView {
    pub question: Question,
    pub section_title: String,
    pub answer: Option<String>,
    pub updated_by: String,
    pub updated_at: String,
    /// On the path the answers select (not skipped).
    pub applicable: bool,
    /// Choice options (empty for text answers).
    pub options: Vec<String>,
    pub options_verified: bool,
    pub evidence: Vec<Evidence>,
    pub awaiting: Vec<String>,
    /// The answer the evidence suggests (はい / いいえ), when it suggests one.
    pub suggestion: Option<String>,
    pub disagreement: bool,
}

/// The survey with the facility's answers.
#[derive(Debug, Clone, Serialize)]
pub struct GmisView {
    pub survey_id: String,
    pub title: String,
    pub source: String,
    pub guidance_title: String,
    pub guidance_notes: Vec<String>,
    pub questions: Vec<QuestionView>,
    pub next: Option<String>,
    pub complete: bool,
}

fn option_of(opts: &[String], b: bool) -> Option<String> {
    let want = if b { "はい" } else { "いいえ" };
    opts.iter().find(|o| o.as_str() == want).cloned()
}

pub async fn gmis_view(
    store: &Store,
    facility: &Facility,
    survey_id: Option<&str>,
    evidence: &[Evidence],
) -> Result<GmisView> {
    let s = survey(survey_id)?;
    let stored = store.gmis_answers(facility.id, &s.id).await?;
    let answers: gmis::Answers = stored.iter().map(|a| (a.question.clone(), a.answer.clone())).collect();
    let on_path: BTreeSet<String> = s.applicable(&answers).iter().map(|q| q.id.clone()).collect();
    let questions = s
        .questions
        .iter()
        .map(|q| {
            let st = stored.iter().find(|a| a.question == q.id);
            let (options, verified) = match &q.answer {
                AnswerSpec::Choice { options, verified, .. } => (options.clone(), *verified),
                AnswerSpec::Text { .. } => (Vec::new(), true),
            };
            let ev: Vec<Evidence> =
                crate::evidence::for_item(evidence, EvidenceTarget::Gmis, &q.id).into_iter().cloned().collect();
            let awaiting =
                q.evidence.iter().filter(|src| !ev.iter().any(|e| e.source == src.as_str())).cloned().collect();
            let suggestion = ev.iter().find_map(|e| e.suggests).and_then(|b| option_of(&options, b));
            let answer = st.map(|a| a.answer.clone());
            let disagreement = match (&answer, &suggestion) {
                (Some(a), Some(s)) => a != s,
                _ => false,
            };
            QuestionView {
                section_title: s
                    .sections
                    .iter()
                    .find(|x| x.questions.contains(&q.id))
                    .map(|x| x.title.clone())
                    .unwrap_or_default(),
                question: q.clone(),
                answer,
                updated_by: st.map(|a| a.updated_by.clone()).unwrap_or_default(),
                updated_at: st.map(|a| a.updated_at.clone()).unwrap_or_default(),
                applicable: on_path.contains(&q.id),
                options,
                options_verified: verified,
                evidence: ev,
                awaiting,
                suggestion,
                disagreement,
            }
        })
        .collect();
    let next = s.next_question(&answers);
    Ok(GmisView {
        survey_id: s.id.clone(),
        title: s.title.clone(),
        source: s.source.clone(),
        guidance_title: s.guidance_title.clone().unwrap_or_default(),
        guidance_notes: s.guidance_notes.clone(),
        complete: next.is_none(),
        next,
        questions,
    })
}

/// Finds a question by id (`q6`) or number (`6`).
fn find_question<'a>(s: &'a Survey, given: &str) -> Option<&'a Question> {
    let g = given.trim();
    s.question(g).or_else(|| {
        g.trim_start_matches(['q', 'Q']).parse::<u32>().ok().and_then(|n| s.questions.iter().find(|q| q.number == n))
    })
}

/// Answers questions (id or number, answer; empty clears). Choice answers must be one of the options; a
/// question the other answers skip cannot be answered, and answers the new answers skip are removed (the
/// survey's skip rules: no EHR → continue at 10; no VPN → end). All or nothing.
pub async fn gmis_answer(
    store: &Store,
    facility: &Facility,
    survey_id: Option<&str>,
    inputs: &[(String, String)],
    by: &str,
) -> Result<std::result::Result<usize, Vec<Problem>>> {
    let s = survey(survey_id)?;
    let mut answers: gmis::Answers =
        store.gmis_answers(facility.id, &s.id).await?.into_iter().map(|a| (a.question, a.answer)).collect();
    let before = answers.clone();
    let based_on: Vec<(String, String)> = before.iter().map(|(q, a)| (q.clone(), a.clone())).collect();
    let mut problems = Vec::new();
    let mut given = Vec::new();
    for (q, a) in inputs {
        let Some(question) = find_question(&s, q) else {
            problems.push(problem(
                q,
                format!("設問「{q}」はこの調査にありません"),
                format!("no question {q:?} in the survey"),
            ));
            continue;
        };
        let a = a.trim().to_string();
        if let AnswerSpec::Choice { options, .. } = &question.answer
            && !a.is_empty()
            && !options.contains(&a)
        {
            problems.push(problem(
                &question.id,
                format!("回答「{a}」は選択肢（{}）にありません", options.join("・")),
                format!("answer {a:?} is not one of the options"),
            ));
            continue;
        }
        if a.chars().count() > 2000 {
            problems.push(problem(&question.id, "回答は2000文字以内にしてください", "at most 2000 characters"));
            continue;
        }
        if a.is_empty() {
            answers.remove(&question.id);
        } else {
            answers.insert(question.id.clone(), a);
        }
        given.push(question.id.clone());
    }
    let skipped = s.skipped_answers(&answers);
    for q in &given {
        if skipped.contains(q) && answers.contains_key(q) {
            let why = s
                .rules
                .iter()
                .find(|r| answers.get(&r.question) == Some(&r.answer))
                .map(|r| {
                    format!("設問{}が「{}」のため", s.question(&r.question).map(|x| x.number).unwrap_or(0), r.answer)
                })
                .unwrap_or_default();
            problems.push(problem(
                q,
                format!("{why}この設問は回答不要です"),
                "the other answers skip this question (skip rules of the survey)",
            ));
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    for q in skipped {
        answers.remove(&q);
    }
    let mut changes: Vec<(String, String)> = Vec::new();
    for q in &s.questions {
        let (b, a) = (before.get(&q.id), answers.get(&q.id));
        if b != a {
            changes.push((q.id.clone(), a.cloned().unwrap_or_default()));
        }
    }
    Ok(Ok(store.save_gmis_answers_if_unchanged(facility.id, &s.id, &changes, &based_on, by).await?))
}

/// The survey's answers with the evidence behind each, as .xlsx (official-looking sheet) or CSV.
pub async fn gmis_export(
    store: &Store,
    facility: &Facility,
    survey_id: Option<&str>,
    format: SheetFormat,
    today: NaiveDate,
) -> Result<Vec<u8>> {
    let evidence = crate::evidence::collect(store, facility, today).await?;
    let v = gmis_view(store, facility, survey_id, &evidence).await?;
    let headers =
        ["No.", "設問項目", "回答", "回答不要", "mamori のデータによる根拠", "示唆される回答", "回答者", "回答日時"];
    let rows: Vec<Vec<String>> = v
        .questions
        .iter()
        .map(|q| {
            vec![
                q.question.number.to_string(),
                q.question.text.clone(),
                q.answer.clone().unwrap_or_default(),
                if q.applicable { String::new() } else { "回答不要（分岐）".into() },
                q.evidence.iter().map(|e| e.reason_ja.clone()).collect::<Vec<_>>().join("\n"),
                q.suggestion.clone().unwrap_or_default(),
                q.updated_by.clone(),
                q.updated_at.clone(),
            ]
        })
        .collect();
    match format {
        SheetFormat::Csv => Ok(mamori_tabular::write_csv(&headers, &rows, mamori_tabular::CsvFlavor::Utf8Bom)?),
        SheetFormat::Xlsx | SheetFormat::Pdf => {
            let widths = [5.0, 50.0, 20.0, 10.0, 40.0, 10.0, 12.0, 20.0];
            let sheet = OfficialSheet {
                sheet_name: Some("G-MIS調査".into()),
                title: v.title.clone(),
                notes: vec![format!("医療機関名：{}", facility.data.name), format!("出典：{}", v.source)],
                columns: headers
                    .iter()
                    .zip(widths)
                    .map(|(h, w)| Column { header: (*h).into(), width: w, kind: ColumnKind::Text })
                    .collect(),
                rows: rows.into_iter().map(|r| r.into_iter().map(CellValue::Text).collect()).collect(),
                landscape: true,
            };
            if format == SheetFormat::Xlsx {
                mamori_report::write_xlsx(&[sheet]).map_err(report_err)
            } else {
                let renderer = mamori_report::PdfRenderer::new().map_err(report_err)?;
                mamori_report::sheets_to_pdf(&[sheet], &facility.data.name, &renderer).map_err(report_err)
            }
        }
    }
}

/// Today in Japan (the checklist's dates are Japanese calendar days).
pub fn today_jst() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ed() -> ChecklistEdition {
        edition(Some("r6-2024")).unwrap()
    }

    fn row(item: &str) -> ChecklistAnswer {
        ChecklistAnswer { item_id: item.into(), ..Default::default() }
    }

    #[test]
    fn default_edition_is_the_newest_official_one() {
        assert_eq!(edition(None).unwrap().id, "r6-2024");
    }

    #[test]
    fn target_date_is_required_for_no_and_inside_the_fiscal_year() {
        let e = ed();
        let item = e.item("h-2-7-server").unwrap();
        let today = d(2025, 1, 10);
        let mut r = row("h-2-7-server");
        r.r1 = Some(false);
        r.r1_date = Some(d(2024, 6, 10));
        let p = check_row(item, &r, None, today);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].ja.contains("目標日"));
        // Inside FY2024 (2024-04-01 … 2025-03-31): accepted, the last day included.
        r.target = Some(d(2025, 3, 31));
        assert!(check_row(item, &r, None, today).is_empty());
        // The next fiscal year: refused with the range.
        r.target = Some(d(2025, 4, 1));
        let p = check_row(item, &r, None, today);
        assert!(p[0].ja.contains("2024-04-01～2025-03-31"), "{p:?}");
        // A 1st round in March belongs to the fiscal year that ends that month.
        r.r1_date = Some(d(2025, 1, 5));
        r.target = Some(d(2025, 3, 1));
        assert!(check_row(item, &r, None, today).is_empty());
        r.target = Some(d(2024, 12, 1));
        assert!(check_row(item, &r, None, today)[0].ja.contains("より前"));
        // はい needs no target date; a date is required with an answer and must not be in the future.
        let mut y = row("h-2-7-server");
        y.r1 = Some(true);
        assert!(check_row(item, &y, None, today)[0].ja.contains("確認日"));
        y.r1_date = Some(d(2025, 2, 1));
        assert!(check_row(item, &y, None, today)[0].ja.contains("未来"));
        y.r1_date = Some(d(2024, 5, 1));
        y.r2 = Some(true);
        y.r2_date = Some(d(2024, 4, 1));
        assert!(check_row(item, &y, None, today)[0].ja.contains("より前"));
    }

    #[test]
    fn no_system_ends_the_checklist_and_no_contract_skips_two_items() {
        let e = ed();
        let form = e.form(FormKind::Hospital).unwrap();
        let with = Facts { contracted_vendors: vec!["A社".into()] };
        let none = Facts::default();
        let mut answers = BTreeMap::new();
        let na = applicability(form, &answers, &with);
        assert!(na.values().all(Option::is_none));
        let na = applicability(form, &answers, &none);
        assert_eq!(na["h-2-2"], Some(NotApplicable::NoVendorContract));
        assert_eq!(na["h-2-3"], Some(NotApplicable::NoVendorContract));
        assert_eq!(na.values().filter(|v| v.is_some()).count(), 2);
        let mut r0 = row("h-0");
        r0.r1 = Some(false);
        answers.insert("h-0".to_string(), r0);
        let na = applicability(form, &answers, &with);
        assert_eq!(na["h-0"], None);
        assert!(na.iter().filter(|(k, _)| *k != "h-0").all(|(_, v)| *v == Some(NotApplicable::ChecklistEnded)));
        // An answer to an item the checklist no longer needs is refused.
        let mut r = row("h-1-1");
        r.r1 = Some(true);
        r.r1_date = Some(d(2024, 6, 1));
        let mut no_system = row("h-0");
        no_system.r1 = Some(false);
        no_system.r1_date = Some(d(2024, 6, 1));
        assert!(check_row(e.item("h-0").unwrap(), &no_system, None, d(2024, 7, 1)).is_empty(), "no target date for 0");
        let p = check_row(e.item("h-1-1").unwrap(), &r, Some(NotApplicable::ChecklistEnded), d(2024, 7, 1));
        assert!(p[0].ja.contains("確認不要"), "{p:?}");
    }

    #[test]
    fn vendor_forms_are_one_per_contracted_vendor() {
        let e = ed();
        let facts = Facts { contracted_vendors: vec!["A社".into(), "B社".into()] };
        let forms = required_forms(&e, &facts);
        assert_eq!(
            forms,
            vec![FormRef::hospital("r6-2024"), FormRef::vendor("r6-2024", "A社"), FormRef::vendor("r6-2024", "B社")]
        );
        assert!(required_forms(&e, &Facts::default()).len() == 1);
        assert!(check_form(&e, &facts, &FormRef::vendor("r6-2024", "A社")).is_ok());
        assert!(check_form(&e, &facts, &FormRef::vendor("r6-2024", "C社")).is_err());
        assert!(check_form(&e, &facts, &FormRef::vendor("r6-2024", "")).is_err());
        assert!(check_form(&e, &facts, &FormRef { vendor: "A社".into(), ..FormRef::hospital("r6-2024") }).is_err());
    }

    #[test]
    fn items_are_found_by_id_or_unique_number() {
        let e = ed();
        let form = e.form(FormKind::Hospital).unwrap();
        assert_eq!(find_item(form, "2-(1)").unwrap().id, "h-2-1");
        assert_eq!(find_item(form, "h-2-7-pc").unwrap().id, "h-2-7-pc");
        assert!(find_item(form, "2-(7)").unwrap_err().ja.contains("h-2-7-server"));
        assert!(find_item(form, "9-(9)").is_err());
    }

    #[test]
    fn bulk_csv_reports_every_bad_row() {
        let ok = "item,round,answer,date,target,remarks\nh-2-1,1,はい,2024-06-10,,\n\"2-(2)\",1,いいえ,2024/6/10,2025/3/31,\"確認中, 来月\"\n";
        let v = parse_answer_csv(ok.as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].remarks.as_deref(), Some("確認中, 来月"));
        assert_eq!(v[1].target, Some(d(2025, 3, 31)));
        let bad = "item,round,answer,date\nh-2-1,3,はい,2024-06-10\nh-2-2,1,たぶん,2024-06-10\nh-2-3,1,はい,昨日\n";
        let p = parse_answer_csv(bad.as_bytes()).unwrap_err();
        assert_eq!(p.iter().map(|p| p.item.as_str()).collect::<Vec<_>>(), ["2行目", "3行目", "4行目"]);
        assert!(parse_answer_csv(b"a,b\n").is_err());
    }
}
