//! BCP: contact data, the contact chart, training records, the BCP confirmation table and the BCP document.
//!
//! * Contacts (連絡体制): validated as a whole ([`check_contacts`]) because arrows refer to other contacts;
//!   imports replace the list or merge into it by ID, all or nothing, with a dry run that says what changes
//!   ([`import_contacts`]); exports use the same columns.
//! * The 連絡体制図 ([`contact_chart`]) is drawn from the contacts: internal contacts inside the facility
//!   frame, one row per level of the 報告先 chain (the head on top), vendors and external bodies outside.
//! * Training records and the yearly reminder ([`training_status`]).
//! * The confirmation table assessment ([`assessment`], [`answer`]) with the evidence of every capability.
//! * The BCP document ([`bcp_doc`]) from the template's outline and the hospital's own data; what is missing
//!   is marked 未入力 / データ未登録, never invented.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{Months, NaiveDate};
use mamori_catalog::CatalogSource;
use mamori_catalog::bcp::{BcpCheck, BcpEdition, BcpItem, Phase, TemplateSection};
use mamori_model::Facility;
use mamori_model::import::RawTable;
use mamori_model::ledger::{Device, InfoSystem, LedgerKind, LedgerRecord, Vendor};
use mamori_report::{Block, ChartGroup, ChartNode, ContactChart, Doc, PdfRenderer};
use mamori_store::Store;
use mamori_store::bcp::{BcpAnswer, Contact, ContactKind, Training};
use mamori_tabular::CsvFlavor;
use serde::Serialize;

use crate::evidence::{Evidence, EvidenceState, EvidenceTarget};
use crate::{AppError, ExportFormat, Result};

/// The edition of the confirmation table mamori assesses.
pub const EDITION: &str = "r6-2024";
/// Title of the chart.
pub const CHART_TITLE: &str = "サイバーセキュリティインシデント発生時の連絡体制図";
/// The mark of data the hospital has not entered yet.
pub const MISSING_MARK: &str = "【未入力】";

/// The confirmation table with its guide and template outline (embedded catalog).
pub fn edition() -> Result<BcpEdition> {
    Ok(mamori_catalog::bcp::load(&CatalogSource::embedded(), EDITION)?)
}

/// One PDF renderer for the process (building the font book costs ~0.1 s).
pub fn renderer() -> Result<&'static PdfRenderer> {
    static R: OnceLock<PdfRenderer> = OnceLock::new();
    if let Some(r) = R.get() {
        return Ok(r);
    }
    let r = PdfRenderer::new().map_err(|e| bcp_err(format!("PDF の準備に失敗しました / PDF renderer: {e}")))?;
    Ok(R.get_or_init(|| r))
}

/// An error of this capability, said to the user (the crate's one error type carries it as an invalid input).
fn bcp_err(msg: String) -> AppError {
    AppError::Store(mamori_store::StoreError::Invalid(msg))
}

fn report_err(what: &str) -> impl Fn(mamori_report::ReportError) -> AppError + '_ {
    move |e| AppError::Report { what: what.to_string(), source: e }
}

// ============================================================================================ contacts

/// The columns of a contact file, in order: (key, Japanese header, English header).
pub const CONTACT_COLUMNS: [(&str, &str, &str); 14] = [
    ("code", "連絡先ID", "Contact ID"),
    ("kind", "区分", "Kind"),
    ("role", "役割", "Role"),
    ("department", "部署・窓口", "Department / desk"),
    ("name", "氏名・名称", "Name"),
    ("phone", "電話番号", "Phone"),
    ("after_hours", "時間外・緊急連絡先", "After hours"),
    ("email", "メールアドレス", "E-mail"),
    ("purpose", "連絡目的", "Purpose"),
    ("order", "連絡順", "Order of contact"),
    ("reports_to", "報告先ID", "Reports to (ID)"),
    ("contacted_by", "連絡担当ID", "Contacted by (ID)"),
    ("systems", "対象システム", "Systems"),
    ("note", "備考", "Note"),
];

/// The column label of a key, Japanese.
pub fn column_ja(key: &str) -> &'static str {
    CONTACT_COLUMNS.iter().find(|c| c.0 == key).map(|c| c.1).unwrap_or("")
}

/// A problem with the contact list: where (row of the file or contact id, column), what and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactIssue {
    /// Row of the file (1-based) for imports.
    pub row: Option<usize>,
    /// The contact's id as given.
    pub code: String,
    /// Column key (see [`CONTACT_COLUMNS`]).
    pub column: &'static str,
    pub value: String,
    pub message_ja: String,
    pub message_en: String,
}

impl std::fmt::Display for ContactIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = self.row {
            write!(f, "{r}行目 / row {r}: ")?;
        }
        if !self.code.is_empty() {
            write!(f, "連絡先ID「{}」: ", self.code)?;
        }
        write!(f, "{}「{}」: {} / {}", column_ja(self.column), self.value, self.message_ja, self.message_en)
    }
}

/// A contact's cells in [`CONTACT_COLUMNS`] order.
pub fn contact_cells(c: &Contact) -> Vec<String> {
    vec![
        c.code.clone(),
        c.kind.label_ja().to_string(),
        c.role.clone(),
        c.department.clone(),
        c.name.clone(),
        c.phone.clone(),
        c.after_hours.clone(),
        c.email.clone(),
        c.purpose.clone(),
        c.order.map(|o| o.to_string()).unwrap_or_default(),
        c.reports_to.clone(),
        c.contacted_by.clone(),
        c.systems.clone(),
        c.note.clone(),
    ]
}

/// Reads one contact from cells by column key; problems go to `issues`.
pub fn contact_from_fields(
    get: impl Fn(&str) -> String,
    row: Option<usize>,
    issues: &mut Vec<ContactIssue>,
) -> Contact {
    let code = mamori_model::text::clean_cell(&get("code"));
    let mut issue = |column: &'static str, value: String, ja: &str, en: &str| {
        issues.push(ContactIssue {
            row,
            code: code.clone(),
            column,
            value,
            message_ja: ja.into(),
            message_en: en.into(),
        })
    };
    let kind_text = get("kind");
    let kind = match ContactKind::parse(&kind_text) {
        Some(k) => k,
        None => {
            issue(
                "kind",
                kind_text.clone(),
                "区分は「院内」「事業者」「外部関係機関」のいずれかです",
                "kind must be 院内 (internal), 事業者 (vendor) or 外部関係機関 (external)",
            );
            ContactKind::Internal
        }
    };
    let order_text = get("order").trim().to_string();
    let order = if order_text.is_empty() {
        None
    } else {
        match mamori_model::text::clean_cell(&order_text).parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                issue("order", order_text, "連絡順は1以上の整数です", "the order of contact is a whole number from 1");
                None
            }
        }
    };
    let t = |k: &str| mamori_model::text::clean_cell(&get(k));
    Contact {
        code: code.clone(),
        kind,
        role: t("role"),
        department: t("department"),
        name: t("name"),
        phone: t("phone"),
        after_hours: t("after_hours"),
        email: t("email"),
        purpose: t("purpose"),
        order,
        reports_to: t("reports_to"),
        contacted_by: t("contacted_by"),
        systems: t("systems"),
        note: t("note"),
    }
}

/// Checks a whole contact list: ids unique and well-formed, a role for each, arrows to existing internal
/// contacts without cycles, e-mail and phone plausible, systems known to the systems ledger.
/// `rows[i]` is the file row of `list[i]`, if any.
pub fn check_contacts(list: &[Contact], rows: &[Option<usize>], systems: &[String]) -> Vec<ContactIssue> {
    let mut out = Vec::new();
    let by_code: HashMap<&str, &Contact> = list.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut seen = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let row = rows.get(i).copied().flatten();
        let mut issue = |column: &'static str, value: &str, ja: String, en: String| {
            out.push(ContactIssue {
                row,
                code: c.code.clone(),
                column,
                value: value.to_string(),
                message_ja: ja,
                message_en: en,
            })
        };
        if c.code.is_empty() {
            issue("code", "", "連絡先IDがありません（例: ciso, v-ehr）".into(), "the contact ID is empty".into());
        } else if c.code.chars().count() > 40 || c.code.chars().any(|ch| ch.is_whitespace() || ch == ',') {
            issue(
                "code",
                &c.code,
                "連絡先IDは空白・カンマを含まない40文字以内です".into(),
                "the ID has at most 40 characters, no spaces or commas".into(),
            );
        } else if !seen.insert(c.code.as_str()) {
            issue("code", &c.code, "連絡先IDが重複しています".into(), "duplicate contact ID".into());
        }
        if c.role.is_empty() {
            issue(
                "role",
                "",
                "役割がありません（例: 医療情報システム安全管理責任者）".into(),
                "the role is empty".into(),
            );
        }
        if !c.email.is_empty() {
            let ok = c.email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
                && !c.email.chars().any(|ch| ch.is_whitespace());
            if !ok {
                issue(
                    "email",
                    &c.email,
                    "メールアドレスの形式ではありません（例: it@hospital.example.jp）".into(),
                    "not an e-mail address".into(),
                );
            }
        }
        for (col, v) in [("phone", &c.phone), ("after_hours", &c.after_hours)] {
            if !v.is_empty() && !v.chars().any(|ch| ch.is_ascii_digit() || ('０'..='９').contains(&ch)) {
                issue(col, v, "電話番号に数字がありません".into(), "a phone number needs digits".into());
            }
        }
        for (col, target) in [("reports_to", &c.reports_to), ("contacted_by", &c.contacted_by)] {
            if target.is_empty() {
                continue;
            }
            match by_code.get(target.as_str()) {
                None => issue(
                    col,
                    target,
                    format!("連絡先ID「{target}」がありません。先にその連絡先を登録してください"),
                    format!("no contact with ID {target:?}: add it first"),
                ),
                Some(_) if target == &c.code => {
                    issue(col, target, "自分自身は指定できません".into(), "a contact cannot point to itself".into())
                }
                Some(t) if t.kind != ContactKind::Internal => issue(
                    col,
                    target,
                    format!("「{target}」は院内の連絡先ではありません（報告・連絡は院内の連絡先が行います）"),
                    format!("{target:?} is not an internal contact"),
                ),
                Some(_) => {}
            }
        }
        if !c.reports_to.is_empty() && c.kind == ContactKind::Internal {
            // Follow the chain: it must end at the top without coming back.
            let mut at = c.reports_to.as_str();
            let mut steps = 0;
            while let Some(next) = by_code.get(at) {
                if next.code == c.code || steps > list.len() {
                    issue(
                        "reports_to",
                        &c.reports_to,
                        "報告先が循環しています（誰かが最上位＝報告先なしである必要があります）".into(),
                        "the reporting chain loops".into(),
                    );
                    break;
                }
                if next.reports_to.is_empty() {
                    break;
                }
                at = next.reports_to.as_str();
                steps += 1;
            }
        }
        for s in c.system_names() {
            if !systems.iter().any(|x| x == &s) {
                issue(
                    "systems",
                    &s,
                    format!(
                        "システム「{s}」が医療情報システム一覧にありません。システム名をそのとおりに書くか、先に一覧に登録してください"
                    ),
                    format!("system {s:?} is not in the systems ledger"),
                );
            }
        }
    }
    out
}

async fn system_names(store: &Store, facility_id: i64) -> Result<Vec<String>> {
    Ok(store.list::<InfoSystem>(facility_id).await?.into_iter().map(|s| s.name).collect())
}

/// Checks and saves one contact (added or edited), keeping the rest of the list consistent.
/// `replacing`: the code the contact had before (for a renamed id), if any.
pub async fn save_contact(
    store: &Store,
    facility: &Facility,
    contact: Contact,
    replacing: Option<&str>,
    by: &str,
) -> Result<std::result::Result<(), Vec<ContactIssue>>> {
    let mut list = store.contacts(facility.id).await?;
    let old = replacing.unwrap_or(&contact.code).to_string();
    list.retain(|c| c.code != old);
    if replacing.is_some_and(|r| r != contact.code) {
        // Arrows to the old id follow the rename.
        for c in &mut list {
            if c.reports_to == old {
                c.reports_to = contact.code.clone();
            }
            if c.contacted_by == old {
                c.contacted_by = contact.code.clone();
            }
        }
    }
    list.push(contact.clone());
    let rows = vec![None; list.len()];
    let issues: Vec<ContactIssue> = check_contacts(&list, &rows, &system_names(store, facility.id).await?)
        .into_iter()
        .filter(|i| i.code == contact.code || i.column == "code")
        .collect();
    if !issues.is_empty() {
        return Ok(Err(issues));
    }
    if replacing.is_some_and(|r| r != contact.code) {
        store.replace_contacts(facility.id, &list, by).await?;
    } else {
        store.save_contact(facility.id, &contact, by).await?;
    }
    Ok(Ok(()))
}

/// Deletes a contact unless another one points to it.
pub async fn delete_contact(
    store: &Store,
    facility: &Facility,
    code: &str,
) -> Result<std::result::Result<bool, String>> {
    let list = store.contacts(facility.id).await?;
    if let Some(c) = list.iter().find(|c| c.reports_to == code || c.contacted_by == code) {
        return Ok(Err(format!(
            "連絡先「{}」が「{code}」を報告先・連絡担当にしています。先にそちらを変更してください / contact {:?} points to {code:?}: change it first",
            c.code, c.code
        )));
    }
    Ok(Ok(store.delete_contact(facility.id, code).await?))
}

/// What a contact file does to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactImportMode {
    /// The file becomes the whole list: contacts not in it are removed (the export → edit → import round trip).
    #[default]
    Replace,
    /// The file's contacts are added or updated by their ID; the others stay.
    Merge,
}

/// The result of a contact import: what it would change (a dry run) or changed.
#[derive(Debug, Clone, Serialize)]
pub struct ContactImportReport {
    pub file: String,
    pub mode: ContactImportMode,
    pub dry_run: bool,
    pub rows: usize,
    pub written: bool,
    pub issues: Vec<ContactIssue>,
    /// IDs of the contacts the file adds, changes and (replacing) removes; how many it leaves as they are.
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

impl ContactImportReport {
    /// One line saying what the import does, Japanese then English.
    pub fn summary(&self) -> String {
        format!(
            "追加 {} 件・変更 {} 件・削除 {} 件・変更なし {} 件 / {} added, {} changed, {} removed, {} unchanged",
            self.added.len(),
            self.changed.len(),
            self.removed.len(),
            self.unchanged,
            self.added.len(),
            self.changed.len(),
            self.removed.len(),
            self.unchanged
        )
    }
}

/// Reads a contact file (the columns of [`CONTACT_COLUMNS`], Japanese or English headers), works out what it
/// changes and, unless `dry_run` or any row has a problem, writes the resulting list in one transaction:
/// the file's contacts alone ([`ContactImportMode::Replace`]) or merged into the current ones by ID.
pub async fn import_contacts(
    store: &Store,
    facility: &Facility,
    table: RawTable,
    mode: ContactImportMode,
    dry_run: bool,
    by: &str,
) -> Result<ContactImportReport> {
    let mut report = ContactImportReport {
        file: table.source.clone(),
        mode,
        dry_run,
        rows: 0,
        written: false,
        issues: Vec::new(),
        added: Vec::new(),
        changed: Vec::new(),
        removed: Vec::new(),
        unchanged: 0,
    };
    let norm = mamori_model::text::fold_key;
    let header_of = |cell: &str| {
        let n = norm(cell);
        CONTACT_COLUMNS.iter().find(|c| norm(c.1) == n || norm(c.0) == n || norm(c.2) == n).map(|c| c.0)
    };
    let Some(h) = table.rows.iter().position(|r| r.cells.iter().any(|c| header_of(c) == Some("code"))) else {
        report.issues.push(ContactIssue {
            row: None,
            code: String::new(),
            column: "code",
            value: String::new(),
            message_ja:
                "見出し行（連絡先ID、区分、役割 …）が見つかりません。mamori contacts export の形式で作成してください"
                    .into(),
            message_en: "no header row (連絡先ID, 区分, 役割 …): use the layout of mamori contacts export".into(),
        });
        return Ok(report);
    };
    let header_line = table.rows[h].line;
    let map: Vec<Option<&'static str>> = table.rows[h].cells.iter().map(|c| header_of(c)).collect();
    for required in ["code", "kind", "role"] {
        if !map.contains(&Some(required)) {
            report.issues.push(ContactIssue {
                row: Some(header_line),
                code: String::new(),
                column: required,
                value: String::new(),
                message_ja: format!("必須の列「{}」がありません", column_ja(required)),
                message_en: format!("required column {:?} is missing", column_ja(required)),
            });
        }
    }
    if !report.issues.is_empty() {
        return Ok(report);
    }
    let mut list = Vec::new();
    let mut rows = Vec::new();
    for r in &table.rows[h + 1..] {
        if r.cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |key: &str| {
            map.iter().position(|m| *m == Some(key)).and_then(|i| r.cells.get(i)).cloned().unwrap_or_default()
        };
        list.push(contact_from_fields(get, Some(r.line), &mut report.issues));
        rows.push(Some(r.line));
    }
    report.rows = list.len();
    let current = store.contacts(facility.id).await?;
    for c in &list {
        match current.iter().find(|o| o.code == c.code) {
            None => report.added.push(c.code.clone()),
            Some(o) if o == c => report.unchanged += 1,
            Some(_) => report.changed.push(c.code.clone()),
        }
    }
    match mode {
        ContactImportMode::Replace => {
            report.removed =
                current.iter().filter(|o| !list.iter().any(|c| c.code == o.code)).map(|o| o.code.clone()).collect();
        }
        ContactImportMode::Merge => {
            // The current contacts the file does not name stay, after the file's (they are checked together:
            // an arrow of the file may point to a contact kept).
            for o in current {
                if !list.iter().any(|c| c.code == o.code) {
                    list.push(o);
                    rows.push(None);
                    report.unchanged += 1;
                }
            }
        }
    }
    report.issues.extend(check_contacts(&list, &rows, &system_names(store, facility.id).await?));
    report.issues.sort_by_key(|i| i.row);
    if report.issues.is_empty() && !dry_run {
        store.replace_contacts(facility.id, &list, by).await?;
        report.written = true;
    }
    Ok(report)
}

/// The contacts as a file with the importer's columns.
pub async fn export_contacts(store: &Store, facility_id: i64, format: ExportFormat) -> Result<Vec<u8>> {
    let rows: Vec<Vec<String>> = store.contacts(facility_id).await?.iter().map(contact_cells).collect();
    let headers: Vec<&str> = CONTACT_COLUMNS.iter().map(|c| c.1).collect();
    Ok(match format {
        ExportFormat::Csv => mamori_tabular::write_csv(&headers, &rows, CsvFlavor::Utf8Bom)?,
        ExportFormat::CsvCp932 => mamori_tabular::write_csv(&headers, &rows, CsvFlavor::Cp932)?,
        ExportFormat::Xlsx => mamori_tabular::write_xlsx("連絡先一覧", &headers, &rows)?,
    })
}

/// The default external bodies of the catalog (厚生労働省 with the number printed in the seed, 警察, …) as
/// contacts, called by the given internal contact. Numbers the seeds do not print are left empty.
pub fn default_external_bodies(contacted_by: &str) -> Result<Vec<Contact>> {
    Ok(edition()?
        .external_bodies
        .iter()
        .map(|b| Contact {
            code: b.code.clone(),
            kind: ContactKind::External,
            role: b.role.clone(),
            name: b.name.clone(),
            phone: b.phone.clone(),
            email: b.email.clone(),
            purpose: b.purpose.clone(),
            contacted_by: contacted_by.to_string(),
            ..Default::default()
        })
        .collect())
}

// ============================================================================================ chart

/// Levels of the internal contacts: 0 for those without 報告先, then one more per step of the chain.
fn levels(contacts: &[Contact]) -> HashMap<String, u32> {
    let by_code: HashMap<&str, &Contact> = contacts.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut out = HashMap::new();
    for c in contacts.iter().filter(|c| c.kind == ContactKind::Internal) {
        let mut depth = 0;
        let mut at = c;
        while !at.reports_to.is_empty() && depth <= contacts.len() as u32 {
            match by_code.get(at.reports_to.as_str()) {
                Some(next) if next.kind == ContactKind::Internal => {
                    at = next;
                    depth += 1;
                }
                _ => break,
            }
        }
        out.insert(c.code.clone(), depth);
    }
    out
}

/// The 連絡体制図 of a facility from its contacts. Arrows: 報告先 (this → its 報告先) and 連絡担当 (the
/// caller → this). Each contact is one box.
pub fn contact_chart(facility_name: &str, contacts: &[Contact]) -> ContactChart {
    let lv = levels(contacts);
    let known: HashSet<&str> = contacts.iter().map(|c| c.code.as_str()).collect();
    let nodes = contacts
        .iter()
        .map(|c| {
            // The department once: not again when the role already names it (「診療部 責任者」).
            let dept = if c.role.contains(&c.department) { "" } else { c.department.as_str() };
            let name = [dept, c.name.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
            let phone = match (c.phone.is_empty(), c.after_hours.is_empty()) {
                // On a line of its own, so a number never breaks in the middle.
                (false, false) => Some(format!("{}\n時間外 {}", c.phone, c.after_hours)),
                (false, true) => Some(c.phone.clone()),
                (true, false) => Some(format!("時間外 {}", c.after_hours)),
                (true, true) => None,
            };
            ChartNode {
                id: c.code.clone(),
                group: match c.kind {
                    ContactKind::Internal => ChartGroup::Internal,
                    ContactKind::Vendor => ChartGroup::Vendor,
                    ContactKind::External => ChartGroup::External,
                },
                role: c.role.clone(),
                name: if name.is_empty() { MISSING_MARK.to_string() } else { name },
                phone: Some(phone.unwrap_or_else(|| MISSING_MARK.to_string())),
                email: (!c.email.is_empty()).then(|| c.email.clone()),
                order: c.order,
                tier: lv.get(&c.code).copied(),
            }
        })
        .collect();
    let mut edges = Vec::new();
    for c in contacts {
        if !c.reports_to.is_empty() && known.contains(c.reports_to.as_str()) && c.reports_to != c.code {
            edges.push((c.code.clone(), c.reports_to.clone(), String::new()));
        }
        if !c.contacted_by.is_empty() && known.contains(c.contacted_by.as_str()) && c.contacted_by != c.code {
            edges.push((c.contacted_by.clone(), c.code.clone(), String::new()));
        }
    }
    ContactChart { title: CHART_TITLE.into(), facility_name: facility_name.into(), nodes, edges }
}

/// The chart of a facility as SVG.
pub async fn chart_svg(store: &Store, facility: &Facility) -> Result<String> {
    let chart = contact_chart(&facility.data.name, &store.contacts(facility.id).await?);
    chart.to_svg().map_err(report_err("連絡体制図を作成できません / cannot draw the contact chart"))
}

/// The chart of a facility as a one-page A4 PDF.
pub async fn chart_pdf(store: &Store, facility: &Facility) -> Result<Vec<u8>> {
    render_chart_pdf(&chart_of(store, facility).await?)
}

// ============================================================================================ trainings

/// Whether a training is due: none yet, or the last one more than a year ago.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingStatus {
    pub last: Option<NaiveDate>,
    /// The date by which the next one should be held (a year after the last).
    pub next_due: Option<NaiveDate>,
    pub overdue: bool,
}

pub fn training_status(trainings: &[Training], today: NaiveDate) -> TrainingStatus {
    let last = trainings.iter().map(|t| t.held_on).filter(|d| *d <= today).max();
    let next_due = last.and_then(|d| d.checked_add_months(Months::new(12)));
    TrainingStatus { last, next_due, overdue: next_due.is_none_or(|d| d < today) }
}

/// The reminder text, or none when a training was held within the last year.
pub fn training_reminder(s: &TrainingStatus) -> Option<(String, String)> {
    if !s.overdue {
        return None;
    }
    Some(match s.last {
        None => (
            "訓練の記録がありません。BCPに沿った訓練を年1回以上実施し、記録してください。".into(),
            "No training recorded: hold one at least once a year and record it.".into(),
        ),
        Some(d) => (
            format!("最後の訓練（{d}）から1年が過ぎています。次の訓練を計画してください。"),
            format!("More than a year since the last training ({d}): plan the next one."),
        ),
    })
}

/// Checks and stores a training record.
pub async fn add_training(store: &Store, facility: &Facility, t: &Training, today: NaiveDate) -> Result<i64> {
    if t.held_on > today {
        return Err(bcp_err(format!(
            "実施日 {} が未来の日付です（実施した訓練を記録してください）/ the date {} is in the future",
            t.held_on, t.held_on
        )));
    }
    if t.scenario.trim().is_empty() {
        return Err(bcp_err("シナリオを入力してください / the scenario is required".into()));
    }
    Ok(store.add_training(facility.id, t).await?)
}

// ============================================================================================ evidence

/// Evidence provider (see [`crate::evidence`]): the contact chart (checklist 3-(1), BCP 1-2 / 2-1), the BCP
/// assessment (checklist 3-(3)), trainings within a year (checklist 3-(1), BCP 1-2) and the ledgers (BCP 1-1).
pub async fn evidence(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<Evidence>> {
    let contacts = store.contacts(facility.id).await?;
    let as_of = store.contacts_updated_at(facility.id).await?.map(|s| s.chars().take(10).collect::<String>());
    let mut out = Vec::new();
    let ev =
        |target, item: &str, source, state, suggests, ja: String, en: String, link: &str, as_of: Option<String>| {
            Evidence {
                target,
                item: item.into(),
                source,
                state,
                suggests,
                reason_ja: ja,
                reason_en: en,
                link: Some(link.into()),
                as_of,
            }
        };
    // Contacts and the chart.
    let internal = contacts.iter().filter(|c| c.kind == ContactKind::Internal).count();
    let vendors = contacts.iter().filter(|c| c.kind == ContactKind::Vendor).count();
    let external = contacts.iter().filter(|c| c.kind == ContactKind::External).count();
    let (state, suggests, ja, en) = if contacts.is_empty() {
        (
            EvidenceState::Missing,
            Some(false),
            "連絡先が登録されていないため、連絡体制図を作成できません。".to_string(),
            "No contacts entered: there is no contact chart.".to_string(),
        )
    } else if internal == 0 || vendors == 0 || external == 0 {
        (
            EvidenceState::Partial,
            None,
            format!(
                "連絡体制図はありますが、院内 {internal} 件・事業者 {vendors} 件・外部関係機関 {external} 件で、欠けている区分があります。"
            ),
            format!(
                "A chart exists but a group is empty: {internal} internal, {vendors} vendors, {external} external."
            ),
        )
    } else {
        (
            EvidenceState::Supports,
            Some(true),
            format!(
                "連絡体制図があります（院内 {internal} 件・事業者 {vendors} 件・外部関係機関 {external} 件の連絡先から作成）。"
            ),
            format!("The contact chart exists ({internal} internal, {vendors} vendor, {external} external contacts)."),
        )
    };
    out.push(ev(
        EvidenceTarget::Checklist,
        "3-(1)",
        "contacts",
        state,
        suggests,
        ja.clone(),
        en.clone(),
        "contacts",
        as_of.clone(),
    ));
    out.push(ev(
        EvidenceTarget::BcpTable,
        "1-2",
        "contacts",
        state,
        suggests,
        ja.clone(),
        en.clone(),
        "contacts",
        as_of.clone(),
    ));
    out.push(ev(EvidenceTarget::BcpTable, "2-1", "contacts", state, suggests, ja, en, "contacts/chart", as_of));

    // Trainings.
    let trainings = store.trainings(facility.id).await?;
    let st = training_status(&trainings, today);
    let (state, suggests, ja, en) = match (st.last, st.overdue) {
        (Some(d), false) => (
            EvidenceState::Supports,
            Some(true),
            format!("1年以内に訓練を実施しています（最新 {d}、記録 {} 件）。", trainings.len()),
            format!("A training was held within a year (latest {d}, {} records).", trainings.len()),
        ),
        (Some(d), true) => (
            EvidenceState::Contradicts,
            Some(false),
            format!("最後の訓練（{d}）から1年以上たっています。"),
            format!("The last training ({d}) is more than a year ago."),
        ),
        (None, _) => {
            (EvidenceState::Missing, Some(false), "訓練の記録がありません。".into(), "No training recorded.".into())
        }
    };
    let as_of = st.last.map(|d| d.to_string());
    out.push(ev(
        EvidenceTarget::Checklist,
        "3-(1)",
        "training",
        state,
        suggests,
        ja.clone(),
        en.clone(),
        "bcp/training",
        as_of.clone(),
    ));
    out.push(ev(EvidenceTarget::BcpTable, "1-2", "training", state, suggests, ja, en, "bcp/training", as_of));

    // The BCP itself: drafted from the confirmation table.
    let e = edition()?;
    let answers = store.bcp_answers(facility.id, EDITION).await?;
    let total = e.checks().count();
    let yes = answers.iter().filter(|a| a.answer == Some(true)).count();
    let answered = answers.iter().filter(|a| a.answer.is_some()).count();
    let last = answers.iter().map(|a| a.answered_at.chars().take(10).collect::<String>()).max();
    let (state, suggests, ja, en) = if answered == 0 {
        (
            EvidenceState::Missing,
            None,
            "BCP策定の確認表がまだ回答されていません。".to_string(),
            "The BCP confirmation table has not been answered.".to_string(),
        )
    } else if yes == total {
        (
            EvidenceState::Supports,
            Some(true),
            format!("BCP策定の確認表の {total} 項目すべてが「はい」です。"),
            format!("All {total} checks of the BCP confirmation table are yes."),
        )
    } else {
        (
            EvidenceState::Partial,
            None,
            format!("BCP策定の確認表: {total} 項目中「はい」{yes}、回答済み {answered}。"),
            format!("BCP confirmation table: {yes} yes, {answered} answered of {total}."),
        )
    };
    out.push(ev(EvidenceTarget::Checklist, "3-(3)", "bcp", state, suggests, ja, en, "bcp", last));

    // The ledgers: BCP 1-1 (devices, systems with the impact of a stop).
    let devices = store.count(facility.id, LedgerKind::Devices).await?;
    let systems: Vec<InfoSystem> = store.list(facility.id).await?;
    let no_alt = systems.iter().filter(|s| s.alternative.trim().is_empty()).count();
    let (state, suggests, ja, en) = if devices == 0 || systems.is_empty() {
        (
            EvidenceState::Missing,
            Some(false),
            format!("機器台帳 {devices} 件・医療情報システム {} 件: 台帳が揃っていません。", systems.len()),
            format!("{devices} devices, {} systems: the ledgers are incomplete.", systems.len()),
        )
    } else if no_alt > 0 {
        (
            EvidenceState::Partial,
            None,
            format!(
                "機器台帳 {devices} 件・医療情報システム {} 件。うち {no_alt} システムは代替手段が未入力です。",
                systems.len()
            ),
            format!("{devices} devices, {} systems; {no_alt} systems lack an alternative operation.", systems.len()),
        )
    } else {
        (
            EvidenceState::Supports,
            Some(true),
            format!("機器台帳 {devices} 件・医療情報システム {} 件（全システムに代替手段あり）。", systems.len()),
            format!("{devices} devices, {} systems, each with an alternative operation.", systems.len()),
        )
    };
    out.push(ev(EvidenceTarget::BcpTable, "1-1", "ledger", state, suggests, ja, en, "l/devices", None));
    Ok(out)
}

// ============================================================================================ assessment

/// One check point with its answer.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub check: BcpCheck,
    pub answer: Option<BcpAnswer>,
}

/// One item (項番) with its check points and the evidence mamori has.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub item: BcpItem,
    pub checks: Vec<CheckView>,
    pub evidence: Vec<Evidence>,
}

/// One phase with its items.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    pub phase: Phase,
    pub items: Vec<ItemView>,
}

/// The confirmation table of a facility: answers, notes and evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub title: String,
    pub phases: Vec<PhaseView>,
    pub total: usize,
    pub yes: usize,
    pub no: usize,
}

pub async fn assessment(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Assessment> {
    let e = edition()?;
    let answers: HashMap<String, BcpAnswer> =
        store.bcp_answers(facility.id, EDITION).await?.into_iter().map(|a| (a.check_id.clone(), a)).collect();
    let all = crate::evidence::collect(store, facility, today).await?;
    let mut a = Assessment { title: e.title.clone(), phases: Vec::new(), total: 0, yes: 0, no: 0 };
    for p in &e.phases {
        let items = e
            .items_in(p.number)
            .map(|i| ItemView {
                item: i.clone(),
                checks: i
                    .checks
                    .iter()
                    .map(|c| CheckView { check: c.clone(), answer: answers.get(&c.id).cloned() })
                    .collect(),
                evidence: crate::evidence::for_item(&all, EvidenceTarget::BcpTable, &i.number)
                    .into_iter()
                    .cloned()
                    .collect(),
            })
            .collect::<Vec<_>>();
        for i in &items {
            for c in &i.checks {
                a.total += 1;
                match c.answer.as_ref().and_then(|x| x.answer) {
                    Some(true) => a.yes += 1,
                    Some(false) => a.no += 1,
                    None => {}
                }
            }
        }
        a.phases.push(PhaseView { phase: p.clone(), items });
    }
    Ok(a)
}

/// Records the answer to one check point of the table.
pub async fn answer(
    store: &Store,
    facility: &Facility,
    check_id: &str,
    value: Option<bool>,
    note: &str,
    by: &str,
) -> Result<()> {
    let e = edition()?;
    if !e.checks().any(|(_, c)| c.id == check_id) {
        return Err(bcp_err(format!(
            "確認項目「{check_id}」は確認表にありません（例: 1-2-1）/ no check {check_id:?} in the table"
        )));
    }
    let a = BcpAnswer {
        check_id: check_id.into(),
        answer: value,
        note: note.trim().to_string(),
        answered_by: by.into(),
        answered_at: String::new(),
    };
    Ok(store.set_bcp_answer(facility.id, EDITION, &a).await?)
}

/// Parses はい / いいえ / 未回答 (and yes / no / none).
pub fn parse_answer(s: &str) -> Option<Option<bool>> {
    match s.trim() {
        "はい" | "yes" | "y" | "true" | "1" | "○" | "〇" => Some(Some(true)),
        "いいえ" | "no" | "n" | "false" | "0" | "×" => Some(Some(false)),
        "" | "未回答" | "none" | "-" => Some(None),
        _ => None,
    }
}

// ============================================================================================ BCP document

fn or_missing(s: &str) -> String {
    if s.trim().is_empty() { MISSING_MARK.to_string() } else { s.to_string() }
}

/// Marks the template's placeholder slots (a list line "V. 〇〇〇〇〇〇") as not entered.
fn mark_placeholder_lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            let (num, body) = l.split_once(". ").unwrap_or(("", l));
            if !body.is_empty() && body.chars().all(|c| "〇○△×-".contains(c)) {
                format!("{num}. {MISSING_MARK}（当院で追記）")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Internal contacts from the top of the reporting chain down, each level by contact order.
fn internal_by_level(contacts: &[Contact]) -> Vec<&Contact> {
    let lv = levels(contacts);
    let mut v: Vec<&Contact> = contacts.iter().filter(|c| c.kind == ContactKind::Internal).collect();
    v.sort_by_key(|c| (lv.get(&c.code).copied().unwrap_or(0), c.order.unwrap_or(u32::MAX)));
    v
}

fn contact_label(c: &Contact) -> String {
    [c.department.as_str(), c.name.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

fn contact_reach(c: &Contact) -> String {
    let mut v = Vec::new();
    if !c.phone.is_empty() {
        v.push(format!("TEL {}", c.phone));
    }
    if !c.after_hours.is_empty() {
        v.push(format!("時間外 {}", c.after_hours));
    }
    if !c.email.is_empty() {
        v.push(c.email.clone());
    }
    if v.is_empty() { MISSING_MARK.to_string() } else { v.join("\n") }
}

/// Finds the internal contact whose role contains one of the words.
fn find_role<'a>(contacts: &'a [Contact], words: &[&str]) -> Option<&'a Contact> {
    contacts.iter().filter(|c| c.kind == ContactKind::Internal).find(|c| words.iter().any(|w| c.role.contains(w)))
}

/// The data the BCP document is made of, loaded once.
struct BcpData {
    contacts: Vec<Contact>,
    systems: Vec<InfoSystem>,
    devices: Vec<Device>,
    vendors: Vec<Vendor>,
    trainings: Vec<Training>,
    backups: Vec<crate::backup::BackupTableRow>,
    findings: usize,
}

/// The BCP as a document: the template's chapters and sections in order, each with the template's text
/// (〇〇病院 → the facility's name) and the facility's data; missing data is marked, never invented.
pub async fn bcp_doc(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Doc> {
    let e = edition()?;
    let t = e.template.as_ref().ok_or_else(|| bcp_err("BCP ひな形がカタログにありません / no template".into()))?;
    let d = BcpData {
        contacts: store.contacts(facility.id).await?,
        systems: store.list(facility.id).await?,
        devices: store.list(facility.id).await?,
        vendors: store.list(facility.id).await?,
        trainings: store.trainings(facility.id).await?,
        backups: crate::backup::backup_table(store, facility).await?,
        findings: crate::ledger_findings(store, facility.id, &mamori_model::findings::FindingOptions::new(today))
            .await?
            .len(),
    };
    let name = &facility.data.name;
    let mut blocks = vec![Block::Paragraph {
        text: format!(
            "本書は mamori が {name} の登録データ（連絡先、医療情報システム一覧、機器台帳、事業者一覧、訓練記録、バックアップ記録）と「{}」の構成から作成した草案です。{MISSING_MARK}・「データ未登録」の箇所は、データを登録して作り直すか、本書（.docx）に直接記入してください。",
            t.title
        ),
    }];
    for s in &t.sections {
        blocks.push(Block::Heading { level: s.depth().min(4) as u8, text: s.heading.clone() });
        section_blocks(&mut blocks, s, &d, facility, today);
    }
    Ok(Doc {
        title: "サイバー攻撃を想定した事業継続計画（BCP）".into(),
        facility_name: name.clone(),
        subtitle: Some(format!("{name}　医療情報システム部門等における事業継続計画")),
        date: Some(format!("{} 作成（草案）", today.format("%Y年%-m月%-d日"))),
        blocks,
    })
}

fn para(blocks: &mut Vec<Block>, text: impl Into<String>) {
    blocks.push(Block::Paragraph { text: text.into() });
}

fn missing(blocks: &mut Vec<Block>, text: impl Into<String>) {
    blocks.push(Block::Missing { text: text.into() });
}

fn section_blocks(b: &mut Vec<Block>, s: &TemplateSection, d: &BcpData, facility: &Facility, today: NaiveDate) {
    let name = &facility.data.name;
    let text = mark_placeholder_lines(&s.text.replace("〇〇病院", name));
    let manager = find_role(&d.contacts, &["安全管理責任者"]);
    let head = find_role(&d.contacts, &["最高責任者"]);
    match s.number.as_str() {
        "1.3.1" => {
            para(b, text.lines().next().unwrap_or_default());
            if d.systems.is_empty() {
                missing(
                    b,
                    "医療情報システム一覧が登録されていません（mamori import systems …、または画面の台帳から取り込み）。",
                );
            } else {
                let mut sys: Vec<&InfoSystem> = d.systems.iter().collect();
                sys.sort_by_key(|x| (x.recovery_priority.parse::<u32>().unwrap_or(u32::MAX), x.name.clone()));
                let rows = sys
                    .iter()
                    .map(|x| {
                        vec![x.name.clone(), or_missing(&x.category), or_missing(&x.vendor), or_missing(&x.importance)]
                    })
                    .collect();
                b.push(Block::Table {
                    header: vec!["システム".into(), "分類".into(), "事業者".into(), "重要度".into()],
                    rows,
                });
            }
        }
        "1.4" => match manager.filter(|m| !m.department.is_empty()) {
            Some(m) => para(b, text.replace("○○部門", &m.department)),
            None => {
                para(b, text);
                missing(
                    b,
                    "「○○部門」（BCPの原本を管理する部門）が未入力です。医療情報システム安全管理責任者の連絡先に部署を登録すると、その部署が入ります。",
                );
            }
        },
        "2.1.1" => {
            let mut t = text.clone();
            if let Some(m) = manager {
                t = t.replacen("○○", &contact_label(m), 1);
            }
            if let Some(h) = head {
                t = t.replacen("△△（理事長、病院長）", &contact_label(h), 1);
            }
            para(b, t);
            if manager.is_none() {
                missing(
                    b,
                    "医療情報システム安全管理責任者の連絡先が登録されていません（役割に「医療情報システム安全管理責任者」）。",
                );
            }
            if head.is_none() {
                missing(b, "最高責任者の連絡先が登録されていません（役割に「最高責任者」）。");
            }
        }
        "2.1.2" => {
            para(b, text);
            let internal = internal_by_level(&d.contacts);
            if internal.is_empty() {
                missing(
                    b,
                    "院内の連絡先（最高責任者、CISO、医療情報システム安全管理責任者、CSIRT、各部門の責任者など）が登録されていません。",
                );
            } else {
                let rows = internal
                    .iter()
                    .map(|c| vec![c.role.clone(), or_missing(&contact_label(c)), or_missing(&c.purpose)])
                    .collect();
                b.push(Block::Table {
                    header: vec!["役割".into(), "担当部署・担当者".into(), "役割の概要".into()],
                    rows,
                });
                para(b, "組織内の報告経路は 2.2.1 の連絡体制図に示す。");
            }
        }
        "2.1.3" => {
            para(b, text);
            if d.devices.is_empty() {
                missing(b, "機器台帳が登録されていません（mamori import devices …）。");
            } else {
                let cols = LedgerKind::Devices.columns();
                let idx = |k: &str| cols.iter().position(|c| c.key == k);
                let mut by_cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
                for dev in &d.devices {
                    let cells = dev.to_cells();
                    let cat = idx("category").and_then(|i| cells.get(i)).cloned().unwrap_or_default();
                    let e = by_cat.entry(if cat.is_empty() { "（種別未入力）".into() } else { cat }).or_default();
                    e.0 += 1;
                    if dev.status.as_deref() == Some("active") {
                        e.1 += 1;
                    }
                }
                let rows = by_cat.iter().map(|(k, (n, a))| vec![k.clone(), n.to_string(), a.to_string()]).collect();
                b.push(Block::Table {
                    header: vec!["機器種別".into(), "台数".into(), "うち稼働".into()], rows
                });
                para(
                    b,
                    format!(
                        "機器台帳の全体（{} 台）は mamori の機器台帳（別紙: mamori export devices）のとおり。台帳から分かる指摘（サポート終了、不要アカウント等）は {} 件ある。",
                        d.devices.len(),
                        d.findings
                    ),
                );
            }
        }
        "2.1.4" => {
            para(b, text);
            missing(
                b,
                "ネットワーク・システム構成図は、mamori の構成図機能（M2）がまだないため自動では作成されません。既存の構成図を別紙として添付してください。",
            );
        }
        "2.1.5" => {
            para(b, text);
            if d.systems.is_empty() {
                missing(b, "医療情報システム一覧が登録されていないため、代替手段の表を作成できません。");
            } else {
                let mut sys: Vec<&InfoSystem> = d.systems.iter().collect();
                sys.sort_by_key(|x| (x.recovery_priority.parse::<u32>().unwrap_or(u32::MAX), x.name.clone()));
                let rows = sys
                    .iter()
                    .map(|x| {
                        vec![
                            or_missing(&x.category),
                            x.name.clone(),
                            or_missing(&x.alternative),
                            or_missing(&x.importance),
                            or_missing(&x.recovery_priority),
                        ]
                    })
                    .collect();
                b.push(Block::Table {
                    header: vec![
                        "業務内容".into(),
                        "システム".into(),
                        "代替手段".into(),
                        "重要度".into(),
                        "復旧優先度".into(),
                    ],
                    rows,
                });
                para(b, "復旧優先度は重要度とは別に定め、復旧はこの順に行う（表は復旧優先度の順）。");
                let n = d.systems.iter().filter(|x| x.alternative.trim().is_empty()).count();
                if n > 0 {
                    missing(b, format!("{n} システムの代替手段が未入力です（医療情報システム一覧の「代替手段」）。"));
                }
                if d.systems.iter().any(|x| x.recovery_priority.trim().is_empty()) {
                    missing(b, "復旧優先度が未入力のシステムがあります（医療情報システム一覧の「復旧優先度」）。");
                }
            }
        }
        "2.1.6" => {
            para(b, text);
            if d.devices.is_empty() {
                missing(b, "機器台帳がないため、責任分界（機器ごとの管理者）を示せません。");
            } else {
                let mut by: BTreeMap<String, usize> = BTreeMap::new();
                for dev in &d.devices {
                    *by.entry(if dev.managed_by.trim().is_empty() {
                        MISSING_MARK.into()
                    } else {
                        dev.managed_by.clone()
                    })
                    .or_default() += 1;
                }
                let rows = by.into_iter().map(|(k, n)| vec![k, n.to_string()]).collect();
                b.push(Block::Table {
                    header: vec!["管理者（責任分界）".into(), "機器台数".into()], rows
                });
                para(
                    b,
                    "脆弱性情報の収集と対応プログラムの適用は、上表の管理者ごとに行う。事業者が管理する機器は 2.2.2 の連絡先から情報提供を受ける。",
                );
            }
        }
        "2.2.1" => {
            para(b, text);
            if d.contacts.is_empty() {
                missing(
                    b,
                    "連絡先が登録されていないため、連絡体制図を作成できません（mamori contacts add / import、または画面の「連絡体制」）。",
                );
            } else {
                let chart = contact_chart(name, &d.contacts);
                match chart.to_svg() {
                    Ok(svg) => {
                        b.push(Block::Image { svg, caption: Some(format!("図：{CHART_TITLE}")), full_page: true })
                    }
                    Err(e) => missing(b, format!("連絡体制図を作成できませんでした: {e}")),
                }
                let ext: Vec<&Contact> = d.contacts.iter().filter(|c| c.kind == ContactKind::External).collect();
                if ext.is_empty() {
                    missing(b, "外部関係機関（厚生労働省、警察等）の連絡先が登録されていません。");
                } else {
                    let rows = ext
                        .iter()
                        .map(|c| vec![format!("{}\n{}", c.role, c.name), contact_reach(c), or_missing(&c.purpose)])
                        .collect();
                    b.push(Block::Table {
                        header: vec!["外部関係機関".into(), "連絡先".into(), "連絡目的".into()],
                        rows,
                    });
                }
            }
        }
        "2.2.2" => {
            para(b, text);
            vendor_table(b, d);
        }
        "2.2.3" => {
            para(b, text);
            missing(b, "「年〇回以上」の訓練回数（年間の教育計画）が未入力です。本書に直接記入してください。");
            if d.trainings.is_empty() {
                missing(b, "訓練の記録がありません（mamori bcp training add、または画面の「訓練記録」）。");
            } else {
                let rows = d
                    .trainings
                    .iter()
                    .map(|t| {
                        vec![
                            t.held_on.to_string(),
                            t.scenario.clone(),
                            or_missing(&t.participants),
                            or_missing(&t.findings),
                            or_missing(&t.improvement_plan),
                        ]
                    })
                    .collect();
                b.push(Block::Table {
                    header: vec![
                        "実施日".into(),
                        "シナリオ".into(),
                        "参加者".into(),
                        "結果・課題".into(),
                        "改善計画".into(),
                    ],
                    rows,
                });
            }
            if let Some((ja, _)) = training_reminder(&training_status(&d.trainings, today)) {
                missing(b, ja);
            }
        }
        "2.2.4" => {
            para(b, text);
            if d.backups.is_empty() {
                missing(
                    b,
                    "バックアップの記録がありません（mamori のバックアップ機能で対象システムを登録すると、この表はその記録から作成されます）。",
                );
            } else {
                // The template's four columns (システム / 頻度 / 作成方法 / 復旧方法) and what mamori knows
                // besides: where the generations are kept, the last success and the last restore drill.
                let date = |s: &str| s.chars().take(10).collect::<String>();
                let rows = d
                    .backups
                    .iter()
                    .map(|r| {
                        let mut kept = or_missing(&r.where_kept);
                        if let Some(n) = r.generations {
                            kept.push_str(&format!("\n{n}世代"));
                        }
                        kept.push_str(if r.offline {
                            "\nオフライン保管あり"
                        } else {
                            "\nオフライン保管なし"
                        });
                        kept.push_str(if r.offsite { "\n遠隔地保管あり" } else { "\n遠隔地保管なし" });
                        vec![
                            r.system.clone(),
                            or_missing(&r.schedule),
                            r.what.clone(),
                            or_missing(&r.restore_procedure),
                            kept,
                            r.last_run.as_deref().map(date).unwrap_or_else(|| "記録なし".into()),
                            match &r.last_drill {
                                Some((at, true)) => format!("{}（一致）", date(at)),
                                Some((at, false)) => format!("{}（不一致・失敗）", date(at)),
                                None => "記録なし".into(),
                            },
                        ]
                    })
                    .collect();
                b.push(Block::Table {
                    header: vec![
                        "システム".into(),
                        "頻度".into(),
                        "作成方法".into(),
                        "復旧方法".into(),
                        "保管先・世代".into(),
                        "最終成功".into(),
                        "最終復元訓練".into(),
                    ],
                    rows,
                });
            }
        }
        "3.1" => {
            para(b, text.replace("2.2.1の表◯", "2.2.1の連絡体制図・表"));
            let internal = internal_by_level(&d.contacts);
            if internal.is_empty() {
                missing(b, "部門の連絡先が登録されていません。");
            } else {
                let rows = internal
                    .iter()
                    .map(|c| {
                        vec![
                            or_missing(&c.department),
                            format!("{}\n{}", c.role, or_missing(&c.name)),
                            contact_reach(c),
                        ]
                    })
                    .collect();
                b.push(Block::Table { header: vec!["部署名".into(), "担当者".into(), "連絡先".into()], rows });
            }
            vendor_table(b, d);
        }
        "3.3.2" => {
            para(b, text);
            let remote: Vec<&InfoSystem> = d.systems.iter().filter(|x| x.remote_maintenance == Some(true)).collect();
            if !remote.is_empty() {
                let rows = remote
                    .iter()
                    .map(|x| vec![x.name.clone(), or_missing(&x.remote_method), or_missing(&x.vendor)])
                    .collect();
                para(
                    b,
                    "遮断の順序: ①バックアップに通ずるネットワーク → ②外部の通信経路（下表のリモート保守回線・VPN、インターネット接続） → ③セグメンテーション境界。",
                );
                b.push(Block::Table {
                    header: vec!["外部接続（リモート保守）".into(), "接続方法".into(), "事業者".into()],
                    rows,
                });
            } else if d.systems.is_empty() {
                missing(b, "医療情報システム一覧がないため、遮断すべき外部接続（リモート保守回線等）を示せません。");
            }
        }
        _ => {
            if !text.is_empty() {
                para(b, text.clone());
            }
            // Remaining placeholders of the template are for the hospital to fill.
            if text.contains(MISSING_MARK) || ["〇〇", "○○", "△△"].iter().any(|m| text.contains(m)) {
                missing(
                    b,
                    "ひな形の「〇〇」「【未入力】」の箇所は当院の内容がまだありません。本書に直接記入してください。",
                );
            }
        }
    }
}

/// Vendor contacts per system (2.2.2 / 3.1): the vendor contacts entered, or the vendor ledger.
fn vendor_table(b: &mut Vec<Block>, d: &BcpData) {
    let vendors: Vec<&Contact> = d.contacts.iter().filter(|c| c.kind == ContactKind::Vendor).collect();
    if vendors.is_empty() {
        missing(b, "事業者の連絡先が登録されていません（連絡先の区分「事業者」）。");
        return;
    }
    let rows = vendors
        .iter()
        .map(|c| {
            let systems = if c.systems.is_empty() {
                // The systems ledger knows which systems this vendor serves.
                let s: Vec<String> = d.systems.iter().filter(|x| x.vendor == c.name).map(|x| x.name.clone()).collect();
                if s.is_empty() { c.role.clone() } else { s.join("、") }
            } else {
                c.system_names().join("、")
            };
            let ledger = d.vendors.iter().find(|v| v.name == c.name);
            let mut reach = contact_reach(c);
            if reach == MISSING_MARK
                && let Some(v) = ledger
            {
                reach = [v.phone.as_str(), v.emergency_phone.as_str(), v.email.as_str()]
                    .iter()
                    .filter(|x| !x.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n");
                if reach.is_empty() {
                    reach = MISSING_MARK.into();
                }
            }
            vec![systems, or_missing(&c.name), or_missing(&c.department), reach]
        })
        .collect();
    b.push(Block::Table {
        header: vec!["システム".into(), "事業者".into(), "担当".into(), "連絡先".into()], rows
    });
}

/// Renders a document to PDF (CPU-bound: a server runs it on a blocking thread).
pub fn render_pdf(doc: &Doc) -> Result<Vec<u8>> {
    doc.to_pdf(renderer()?).map_err(report_err("BCPのPDFを作成できません / cannot render the BCP PDF"))
}

/// Renders a document to an editable Word file (CPU-bound, like [`render_pdf`]).
pub fn render_docx(doc: &Doc) -> Result<Vec<u8>> {
    doc.to_docx().map_err(report_err("BCPの.docxを作成できません / cannot write the BCP .docx"))
}

/// Renders a contact chart as a one-page A4 PDF (CPU-bound, like [`render_pdf`]).
pub fn render_chart_pdf(chart: &ContactChart) -> Result<Vec<u8>> {
    chart.to_pdf(renderer()?).map_err(report_err("連絡体制図のPDFを作成できません / cannot render the chart PDF"))
}

/// The chart of a facility (data only; see [`render_chart_pdf`]).
pub async fn chart_of(store: &Store, facility: &Facility) -> Result<ContactChart> {
    Ok(contact_chart(&facility.data.name, &store.contacts(facility.id).await?))
}

/// The BCP as PDF.
pub async fn bcp_pdf(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<u8>> {
    render_pdf(&bcp_doc(store, facility, today).await?)
}

/// The BCP as an editable Word file.
pub async fn bcp_docx(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<u8>> {
    render_docx(&bcp_doc(store, facility, today).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str, kind: ContactKind, reports_to: &str) -> Contact {
        Contact { code: code.into(), kind, role: "役割".into(), reports_to: reports_to.into(), ..Default::default() }
    }

    #[test]
    fn arrows_must_reach_existing_internal_contacts_without_loops() {
        let list = vec![
            c("top", ContactKind::Internal, ""),
            c("a", ContactKind::Internal, "b"),
            c("b", ContactKind::Internal, "a"),
            c("v", ContactKind::Vendor, ""),
            c("x", ContactKind::Internal, "v"),
            c("y", ContactKind::Internal, "nobody"),
            c("top", ContactKind::Internal, ""),
        ];
        let issues = check_contacts(&list, &[], &[]);
        let got: Vec<(&str, &str)> = issues.iter().map(|i| (i.code.as_str(), i.column)).collect();
        assert!(got.contains(&("a", "reports_to")) && got.contains(&("b", "reports_to")), "{got:?}");
        assert!(got.contains(&("x", "reports_to")), "a vendor cannot be a 報告先");
        assert!(got.contains(&("y", "reports_to")));
        assert!(got.contains(&("top", "code")), "duplicate id");
        assert!(!got.iter().any(|(c, _)| *c == "v"));
    }

    #[test]
    fn email_phone_and_systems_are_checked() {
        let mut x = c("v-ehr", ContactKind::Vendor, "");
        x.email = "support at example".into();
        x.phone = "なし".into();
        x.systems = "電子カルテシステム、謎のシステム".into();
        let issues = check_contacts(&[x], &[Some(3)], &["電子カルテシステム".into()]);
        let cols: Vec<&str> = issues.iter().map(|i| i.column).collect();
        assert_eq!(cols, ["email", "phone", "systems"]);
        assert_eq!(issues[2].value, "謎のシステム");
        assert!(issues[0].to_string().starts_with("3行目 / row 3: 連絡先ID「v-ehr」: メールアドレス"), "{}", issues[0]);
    }

    #[test]
    fn chart_levels_follow_the_reporting_chain_and_every_contact_is_one_box() {
        let list = vec![
            c("top", ContactKind::Internal, ""),
            c("ciso", ContactKind::Internal, "top"),
            c("mgr", ContactKind::Internal, "ciso"),
            Contact { contacted_by: "mgr".into(), ..c("v", ContactKind::Vendor, "") },
        ];
        let chart = contact_chart("病院", &list);
        assert_eq!(chart.nodes.len(), 4);
        let tier = |id: &str| chart.nodes.iter().find(|n| n.id == id).unwrap().tier;
        assert_eq!((tier("top"), tier("ciso"), tier("mgr"), tier("v")), (Some(0), Some(1), Some(2), None));
        assert!(chart.edges.contains(&("ciso".into(), "top".into(), String::new())));
        assert!(chart.edges.contains(&("mgr".into(), "v".into(), String::new())));
        assert!(chart.validate().is_ok());
    }

    #[test]
    fn training_is_due_a_year_after_the_last() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let t = |date| Training {
            id: 1,
            held_on: date,
            scenario: "s".into(),
            participants: String::new(),
            findings: String::new(),
            improvement_plan: String::new(),
            recorded_by: String::new(),
            recorded_at: String::new(),
        };
        assert!(training_status(&[], d(2025, 1, 1)).overdue);
        let s = training_status(&[t(d(2024, 11, 21))], d(2025, 11, 21));
        assert!(!s.overdue);
        assert_eq!(s.next_due, Some(d(2025, 11, 21)));
        assert!(training_status(&[t(d(2024, 11, 20))], d(2025, 11, 21)).overdue);
        assert!(
            training_reminder(&training_status(&[t(d(2024, 11, 20))], d(2025, 11, 21)))
                .unwrap()
                .0
                .contains("2024-11-20")
        );
    }

    #[test]
    fn placeholder_only_list_lines_are_marked() {
        assert_eq!(
            mark_placeholder_lines("以下の通り。\nI. 電子カルテ\nVI. 〇〇〇〇"),
            "以下の通り。\nI. 電子カルテ\nVI. 【未入力】（当院で追記）"
        );
    }

    #[test]
    fn answers_parse() {
        assert_eq!(parse_answer("はい"), Some(Some(true)));
        assert_eq!(parse_answer("未回答"), Some(None));
        assert_eq!(parse_answer("たぶん"), None);
    }
}
