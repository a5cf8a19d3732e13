//! Template structs (askama) and the layout data every page shares.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::{Lang, Tr};
use crate::session::Ctx;

/// What the layout shows around every page: who is signed in, which facility is shown, navigation.
pub(crate) struct Chrome {
    pub t: Tr,
    pub login: String,
    pub user_name: String,
    pub role_label: String,
    pub csrf: String,
    pub is_admin: bool,
    /// (id, name) of the facility shown, if any.
    pub facility: Option<(i64, String)>,
    /// Facilities the user may switch to (shown when more than one).
    pub facilities: Vec<(i64, String)>,
    /// (slug, label) of the ledgers the user may see.
    pub ledgers: Vec<(String, String)>,
    /// (slug, label) of the capability pages the user may see (checklist, contacts, BCP, …), under /f/{id}/{slug}.
    pub sections: Vec<(String, String)>,
    pub path: String,
    pub wareki: bool,
    pub other_lang: String,
}

impl Chrome {
    pub fn new(ctx: &Ctx, path: &str) -> Self {
        Self {
            t: ctx.tr,
            login: ctx.user.login.clone(),
            user_name: ctx.user.name.clone(),
            role_label: ctx.tr.pick(ctx.user.role.label_ja(), ctx.user.role.label_en()).to_string(),
            csrf: ctx.csrf.clone(),
            is_admin: ctx.user.role == mamori_model::auth::Role::Admin,
            facility: None,
            facilities: Vec::new(),
            ledgers: Vec::new(),
            sections: Vec::new(),
            path: path.to_string(),
            wareki: ctx.wareki,
            other_lang: ctx.tr.lang.other().code().to_string(),
        }
    }
    pub fn fid(&self) -> i64 {
        self.facility.as_ref().map(|f| f.0).unwrap_or(0)
    }
    pub fn is_current(&self, id: &i64) -> bool {
        self.facility.as_ref().map(|f| f.0) == Some(*id)
    }
}

/// Pages shown before login have a smaller layout.
pub(crate) struct Bare {
    pub t: Tr,
    pub other_lang: String,
    pub path: String,
}

impl Bare {
    pub fn new(t: Tr, path: &str) -> Self {
        Self { t, other_lang: t.lang.other().code().into(), path: path.into() }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub(crate) struct SetupPage {
    pub b: Bare,
    pub pre: String,
    pub login: String,
    pub name: String,
    pub error: String,
}

impl SetupPage {
    pub fn new(t: Tr, pre: String, login: String, name: String, error: String) -> Self {
        Self { b: Bare::new(t, "/setup"), pre, login, name, error }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub b: Bare,
    pub pre: String,
    pub login: String,
    pub error: String,
}

impl LoginPage {
    pub fn new(t: Tr, pre: String, login: String, error: String) -> Self {
        Self { b: Bare::new(t, "/login"), pre, login, error }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    b: Bare,
    key: String,
    detail: String,
}

/// An error page in Japanese (the language is not known everywhere an error can happen, so both are shown).
pub(crate) fn error_page(key: &str, detail: &str) -> Response {
    let ja = ErrorPage { b: Bare::new(Tr::new(Lang::Ja), "/"), key: key.into(), detail: detail.into() };
    match ja.render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => Html(format!("<p>{key}</p>")).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "facilities.html")]
pub(crate) struct FacilitiesPage {
    pub chrome: Chrome,
    /// (id, name, prefecture) of this page.
    pub list: Vec<(i64, String, String)>,
    pub search: String,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub prev_url: String,
    pub next_url: String,
}

pub(crate) struct LedgerCount {
    pub slug: String,
    pub label: String,
    pub count: i64,
    pub updated: String,
}

pub(crate) struct OverdueItem {
    pub ledger_slug: String,
    pub ledger_label: String,
    pub key: String,
    pub title: String,
    pub reason: String,
    pub severity: String,
    pub linkable: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub(crate) struct DashboardPage {
    pub chrome: Chrome,
    pub counts: Vec<LedgerCount>,
    /// (severity code, label, count)
    pub severities: Vec<(String, String, usize)>,
    pub overdue: Vec<OverdueItem>,
    pub overdue_more: usize,
    /// Capability blocks loaded after the page: (path under /f/{id}/, element id).
    pub blocks: Vec<(&'static str, &'static str)>,
}

/// One column of a list.
pub(crate) struct ListCol {
    pub key: String,
    pub label: String,
    pub sort_url: String,
    pub arrow: String,
}

pub(crate) struct ListRow {
    pub key: String,
    pub url: String,
    pub cells: Vec<String>,
}

pub(crate) struct ListData {
    pub t: Tr,
    pub cols: Vec<ListCol>,
    pub rows: Vec<ListRow>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub prev_url: String,
    pub next_url: String,
}

pub(crate) struct FilterView {
    pub col: String,
    pub label: String,
    /// (value, label, selected)
    pub options: Vec<(String, String, bool)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger.html")]
pub(crate) struct LedgerPage {
    pub chrome: Chrome,
    pub slug: String,
    pub title: String,
    pub search: String,
    pub filters: Vec<FilterView>,
    pub sort: String,
    pub dir: String,
    pub can_import: bool,
    pub can_export: bool,
    pub list: ListData,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger_rows.html")]
pub(crate) struct LedgerRows {
    pub list: ListData,
}

pub(crate) struct HistoryView {
    pub by: String,
    pub at: String,
    /// (column label, before, after) of changed columns
    pub changes: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "record.html")]
pub(crate) struct RecordPage {
    pub chrome: Chrome,
    pub slug: String,
    pub title: String,
    pub key: String,
    /// (label, value)
    pub fields: Vec<(String, String)>,
    pub can_edit: bool,
    pub saved: bool,
    pub history: Vec<HistoryView>,
}

pub(crate) struct EditField {
    pub key: String,
    pub label: String,
    pub value: String,
    pub readonly: bool,
    pub multiline: bool,
    /// (value, label) for enumerated columns
    pub options: Vec<(String, String)>,
    pub error: String,
    pub hint: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "edit.html")]
pub(crate) struct EditPage {
    pub chrome: Chrome,
    pub slug: String,
    pub title: String,
    pub key: String,
    pub fields: Vec<EditField>,
    pub has_errors: bool,
}

pub(crate) struct IssueRow {
    pub severity: String,
    pub is_error: bool,
    pub row: String,
    pub column: String,
    pub value: String,
    pub message: String,
    pub hint: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub(crate) struct ImportPage {
    pub chrome: Chrome,
    pub slug: String,
    pub title: String,
    /// Set after a check.
    pub checked: bool,
    pub file: String,
    pub rows: usize,
    pub errors: usize,
    pub issues: Vec<IssueRow>,
    pub upload_id: String,
    /// Set after the import was written: (added, updated, unchanged).
    pub done: Option<(usize, usize, usize)>,
    pub message: String,
}

pub(crate) struct UserRow {
    pub login: String,
    pub name: String,
    pub role: String,
    pub scope: String,
    pub disabled: bool,
    /// A surveyor: (facility id, name, assigned) for the assignment form.
    pub assignable: Vec<(i64, String, bool)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub(crate) struct UsersPage {
    pub chrome: Chrome,
    pub users: Vec<UserRow>,
    /// (code, label)
    pub roles: Vec<(String, String)>,
    pub all_facilities: Vec<(i64, String)>,
    pub message: String,
    pub error: String,
}

pub(crate) struct AuditRow {
    pub seq: i64,
    pub user: String,
    pub name: String,
    pub time: String,
    pub category: String,
    pub operation: String,
    pub target: String,
    pub source: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    pub chrome: Chrome,
    pub rows: Vec<AuditRow>,
    pub total: i64,
    pub verified: bool,
    pub problems: Vec<String>,
    /// (seq, hash) of the newest entry: the value to write down outside mamori (`mamori audit anchor`).
    pub head: Option<(i64, String)>,
    pub page: i64,
    pub pages: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub(crate) struct AccountPage {
    pub chrome: Chrome,
    pub error: String,
}
