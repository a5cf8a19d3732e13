//! Pages of the bcp capability: /f/{fid}/contacts…, /f/{fid}/bcp…. Templates are templates/bcp_*.html, messages i18n/bcp.{ja,en}.toml.
//!
//! Reading (contacts, chart, confirmation table, trainings, downloads) needs `ViewBcp`; every change needs
//! `EditBcp` and the session's CSRF token. The facility is checked on every route. Views, changes and
//! downloads of the contacts (names, phone numbers) go to the access log.

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use mamori_app::ExportFormat;
use mamori_app::bcp::{self as app, Assessment, ContactIssue};
use mamori_app::evidence::{Evidence, EvidenceState};
use mamori_model::Facility;
use mamori_model::audit::AuditCategory;
use mamori_model::auth::Action;
use mamori_store::bcp::{Contact, ContactKind, Training};

use crate::i18n::Tr;
use crate::pages::{attachment, enc};
use crate::session::Ctx;
use crate::views::Chrome;
use crate::{AppState, PendingUpload, UploadTarget, WebError, WebResult, unix_now};

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/f/{fid}/contacts", get(contacts))
        .route("/f/{fid}/contacts/new", get(new_contact))
        .route("/f/{fid}/contacts/save", post(save_contact))
        .route("/f/{fid}/contacts/defaults", post(add_defaults))
        .route("/f/{fid}/contacts/import", post(import))
        .route("/f/{fid}/contacts/import/confirm", post(import_confirm))
        .route("/f/{fid}/contacts/export", get(export))
        .route("/f/{fid}/contacts/chart", get(chart_page))
        .route("/f/{fid}/contacts/chart.svg", get(chart_svg))
        .route("/f/{fid}/contacts/chart.pdf", get(chart_pdf))
        .route("/f/{fid}/contacts/c/{code}/edit", get(edit_contact))
        .route("/f/{fid}/contacts/c/{code}/delete", post(delete_contact))
        .route("/f/{fid}/bcp", get(table))
        .route("/f/{fid}/bcp/answer", post(answer))
        .route("/f/{fid}/bcp/export", get(bcp_export))
        .route("/f/{fid}/bcp/training", get(trainings).post(add_training))
        .route("/f/{fid}/bcp/training/{id}/delete", post(delete_training))
}

async fn log(st: &AppState, ctx: &Ctx, cat: AuditCategory, op: &str, target: &str, f: &Facility) -> WebResult<()> {
    st.store.append_audit(&ctx.audit(cat, op, target, Some(f.id))).await?;
    Ok(())
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

/// A refusal of the input (the app's invalid-input error) is the user's 400, not a server error.
fn input_err(e: mamori_app::AppError) -> WebError {
    match e {
        mamori_app::AppError::Store(mamori_store::StoreError::Invalid(m)) => WebError::BadRequest(m),
        other => other.into(),
    }
}

/// Runs a CPU-bound rendering on a blocking thread so the server keeps answering other requests.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> mamori_app::Result<T> + Send + 'static) -> WebResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(format!("rendering failed: {e}")))?
        .map_err(WebError::from)
}

fn kind_label(t: Tr, k: ContactKind) -> String {
    t.pick(k.label_ja(), k.label_en()).to_string()
}

fn issue_text(t: Tr, i: &ContactIssue) -> String {
    let mut at = Vec::new();
    if let Some(r) = i.row {
        at.push(if t.is_en() { format!("row {r}") } else { format!("{r}行目") });
    }
    if !i.code.is_empty() {
        at.push(format!("{} {}", t.s("contacts.code"), i.code));
    }
    let at = if at.is_empty() { String::new() } else { format!("{}: ", at.join(" / ")) };
    format!("{at}{}「{}」: {}", app::column_ja(i.column), i.value, t.pick(&i.message_ja, &i.message_en))
}

// ============================================================================================ contacts

pub(crate) struct ContactRow {
    pub code: String,
    pub order: String,
    pub role: String,
    pub who: String,
    pub reach: String,
    pub purpose: String,
    pub arrows: String,
}

pub(crate) struct ContactGroup {
    pub label: String,
    pub rows: Vec<ContactRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "bcp_contacts.html")]
pub(crate) struct ContactsPage {
    pub chrome: Chrome,
    pub groups: Vec<ContactGroup>,
    pub total: usize,
    pub can_edit: bool,
    pub message: String,
    pub issues: Vec<String>,
    pub has_external: bool,
    /// A checked contact file waiting for confirmation: what it would change.
    pub preview: Option<ImportPreview>,
}

/// The dry run of a contact file, shown before anything is written.
pub(crate) struct ImportPreview {
    pub file: String,
    pub merge: bool,
    pub rows: usize,
    pub added: String,
    pub changed: String,
    pub removed: String,
    pub unchanged: usize,
    pub counts: (usize, usize, usize),
    pub upload_id: String,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct MsgQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    format: String,
}

async fn contacts_page(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    message: String,
    issues: Vec<String>,
) -> WebResult<ContactsPage> {
    let t = ctx.tr;
    let list = st.store.contacts(f.id).await?;
    let groups = ContactKind::ALL
        .into_iter()
        .map(|k| ContactGroup {
            label: kind_label(t, k),
            rows: list
                .iter()
                .filter(|c| c.kind == k)
                .map(|c| ContactRow {
                    code: c.code.clone(),
                    order: c.order.map(|o| o.to_string()).unwrap_or_default(),
                    role: c.role.clone(),
                    who: [c.department.as_str(), c.name.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                    reach: [
                        c.phone.clone(),
                        if c.after_hours.is_empty() {
                            String::new()
                        } else {
                            format!("{} {}", t.s("contacts.after_hours_short"), c.after_hours)
                        },
                        c.email.clone(),
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" / "),
                    purpose: c.purpose.clone(),
                    arrows: [
                        (!c.reports_to.is_empty()).then(|| format!("→ {}", c.reports_to)),
                        (!c.contacted_by.is_empty()).then(|| format!("← {}", c.contacted_by)),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                })
                .collect(),
        })
        .collect();
    Ok(ContactsPage {
        chrome: st.chrome(ctx, &format!("/f/{}/contacts", f.id), Some(f)).await?,
        groups,
        total: list.len(),
        can_edit: ctx.principal.can(Action::EditBcp),
        message,
        issues,
        has_external: list.iter().any(|c| c.kind == ContactKind::External),
        preview: None,
    })
}

async fn contacts(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let message = if q.saved.is_some() { ctx.tr.s("contacts.saved").to_string() } else { String::new() };
    let page = contacts_page(&st, &ctx, &f, message, Vec::new()).await?;
    log(&st, &ctx, AuditCategory::View, "連絡先を閲覧", &format!("{}件", page.total), &f).await?;
    Ok(page.into_response())
}

pub(crate) struct FormField {
    pub key: String,
    pub label: String,
    pub value: String,
    pub error: String,
    /// (value, label) for a select.
    pub options: Vec<(String, String)>,
    pub multiline: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "bcp_contact_edit.html")]
pub(crate) struct ContactEditPage {
    pub chrome: Chrome,
    pub original: String,
    pub fields: Vec<FormField>,
    pub errors: Vec<String>,
}

fn contact_form(t: Tr, c: &Contact, all: &[Contact], issues: &[ContactIssue]) -> Vec<FormField> {
    let cells = app::contact_cells(c);
    let internal: Vec<(String, String)> = std::iter::once((String::new(), String::new()))
        .chain(
            all.iter()
                .filter(|x| x.kind == ContactKind::Internal && x.code != c.code)
                .map(|x| (x.code.clone(), format!("{}（{}）", x.role, x.code))),
        )
        .collect();
    app::CONTACT_COLUMNS
        .iter()
        .zip(cells)
        .map(|((key, ja, en), value)| {
            let options = match *key {
                "kind" => ContactKind::ALL.iter().map(|k| (k.label_ja().to_string(), kind_label(t, *k))).collect(),
                "reports_to" | "contacted_by" => {
                    let mut o = internal.clone();
                    if !value.is_empty() && !o.iter().any(|(v, _)| v == &value) {
                        o.push((value.clone(), value.clone()));
                    }
                    o
                }
                _ => Vec::new(),
            };
            FormField {
                key: key.to_string(),
                label: t.pick(ja, en).to_string(),
                value,
                error: issues
                    .iter()
                    .filter(|i| i.column == *key)
                    .map(|i| t.pick(&i.message_ja, &i.message_en).to_string())
                    .collect::<Vec<_>>()
                    .join(" / "),
                options,
                multiline: matches!(*key, "purpose" | "note"),
            }
        })
        .collect()
}

async fn edit_page(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    original: &str,
    c: &Contact,
    issues: &[ContactIssue],
) -> WebResult<ContactEditPage> {
    let all = st.store.contacts(f.id).await?;
    let path = if original.is_empty() {
        format!("/f/{}/contacts/new", f.id)
    } else {
        format!("/f/{}/contacts/c/{}/edit", f.id, enc(original))
    };
    Ok(ContactEditPage {
        chrome: st.chrome(ctx, &path, Some(f)).await?,
        original: original.to_string(),
        fields: contact_form(ctx.tr, c, &all, issues),
        errors: issues.iter().map(|i| issue_text(ctx.tr, i)).collect(),
    })
}

async fn new_contact(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::EditBcp).await?;
    let n = st.store.contacts(f.id).await?.len() + 1;
    let c = Contact { code: format!("c{n:02}"), ..Default::default() };
    Ok(edit_page(&st, &ctx, &f, "", &c, &[]).await?.into_response())
}

async fn edit_contact(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, code)): Path<(i64, String)>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::EditBcp).await?;
    let c = st.store.contacts(f.id).await?.into_iter().find(|c| c.code == code).ok_or(WebError::NotFound)?;
    log(&st, &ctx, AuditCategory::View, "連絡先を閲覧（編集）", &code, &f).await?;
    Ok(edit_page(&st, &ctx, &f, &code, &c, &[]).await?.into_response())
}

async fn save_contact(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, form.get("csrf").map(String::as_str), Action::EditBcp).await?;
    let original = form.get("original").cloned().unwrap_or_default();
    let mut issues = Vec::new();
    let c = app::contact_from_fields(|k| form.get(k).cloned().unwrap_or_default(), None, &mut issues);
    let all = st.store.contacts(f.id).await?;
    if original.is_empty() && all.iter().any(|x| x.code == c.code) {
        issues.push(ContactIssue {
            row: None,
            code: c.code.clone(),
            column: "code",
            value: c.code.clone(),
            message_ja: "この連絡先IDはすでに使われています".into(),
            message_en: "this contact ID is already used".into(),
        });
    }
    if !original.is_empty() && !all.iter().any(|x| x.code == original) {
        return Err(WebError::NotFound);
    }
    if issues.is_empty() {
        let replacing = (!original.is_empty()).then_some(original.as_str());
        match app::save_contact(&st.store, &f, c.clone(), replacing, &ctx.user.login).await? {
            Ok(()) => {
                log(&st, &ctx, AuditCategory::Change, "連絡先を保存", &c.code, &f).await?;
                return Ok(Redirect::to(&format!("/f/{fid}/contacts?saved=1")).into_response());
            }
            Err(found) => issues = found,
        }
    }
    let page = edit_page(&st, &ctx, &f, &original, &c, &issues).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn delete_contact(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, code)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::EditBcp).await?;
    match app::delete_contact(&st.store, &f, &code).await? {
        Ok(true) => {
            log(&st, &ctx, AuditCategory::Change, "連絡先を削除", &code, &f).await?;
            Ok(Redirect::to(&format!("/f/{fid}/contacts?saved=1")).into_response())
        }
        Ok(false) => Err(WebError::NotFound),
        Err(why) => Err(WebError::BadRequest(why)),
    }
}

async fn add_defaults(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::EditBcp).await?;
    let mut list = st.store.contacts(f.id).await?;
    // Called by the top of the hospital when there is one.
    let top = list.iter().find(|c| c.kind == ContactKind::Internal && c.reports_to.is_empty()).map(|c| c.code.clone());
    let mut added = 0;
    for b in app::default_external_bodies(top.as_deref().unwrap_or(""))? {
        if !list.iter().any(|c| c.code == b.code) {
            list.push(b);
            added += 1;
        }
    }
    st.store.replace_contacts(f.id, &list, &ctx.user.login).await?;
    log(&st, &ctx, AuditCategory::Change, "外部関係機関の既定の連絡先を追加", &format!("{added}件"), &f).await?;
    Ok(Redirect::to(&format!("/f/{fid}/contacts?saved=1")).into_response())
}

/// Reads an uploaded contact file of a multipart form: (csrf, mode, file name and bytes).
async fn read_contact_upload(mut mp: Multipart) -> WebResult<(Option<String>, String, Option<(String, Vec<u8>)>)> {
    let (mut csrf, mut mode, mut file) = (None, String::new(), None);
    while let Some(field) = mp.next_field().await.map_err(|e| WebError::BadRequest(e.to_string()))? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = Some(field.text().await.map_err(|e| WebError::BadRequest(e.to_string()))?),
            "mode" => mode = field.text().await.map_err(|e| WebError::BadRequest(e.to_string()))?,
            "file" => {
                let name = field.file_name().unwrap_or("contacts.csv").to_string();
                let bytes = field.bytes().await.map_err(|e| WebError::BadRequest(e.to_string()))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok((csrf, mode, file))
}

fn import_mode(s: &str) -> app::ContactImportMode {
    if s == "merge" { app::ContactImportMode::Merge } else { app::ContactImportMode::Replace }
}

/// Step 1 of a contact import: check the file and show what it would change; nothing is written yet.
async fn import(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    mp: Multipart,
) -> WebResult<Response> {
    let (csrf, mode, file) = read_contact_upload(mp).await?;
    let (ctx, f) = st.guard_post(&headers, &addr, fid, csrf.as_deref(), Action::EditBcp).await?;
    let t = ctx.tr;
    let mode = import_mode(&mode);
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let page = contacts_page(&st, &ctx, &f, t.s("contacts.import_no_file").into(), Vec::new()).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let table = match mamori_tabular::read_bytes(&bytes, &name, &mamori_tabular::ReadOptions::default()) {
        Ok(tb) => tb,
        Err(e) => {
            let page = contacts_page(&st, &ctx, &f, e.to_string(), Vec::new()).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let r = app::import_contacts(&st.store, &f, table, mode, true, &ctx.user.login).await?;
    if !r.issues.is_empty() {
        let issues = r.issues.iter().map(|i| issue_text(t, i)).collect();
        let page = contacts_page(&st, &ctx, &f, t.s("contacts.import_refused").into(), issues).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let upload_id = st.keep_upload(PendingUpload {
        user_id: ctx.user.id,
        facility_id: fid,
        target: UploadTarget::Contacts(mode),
        name: name.clone(),
        bytes,
        created: unix_now(),
    });
    let mut page = contacts_page(&st, &ctx, &f, t.s("contacts.import_checked").into(), Vec::new()).await?;
    let none = || t.s("contacts.import_none").to_string();
    let list = |v: &[String]| if v.is_empty() { none() } else { v.join(", ") };
    page.preview = Some(ImportPreview {
        file: name,
        merge: mode == app::ContactImportMode::Merge,
        rows: r.rows,
        added: list(&r.added),
        changed: list(&r.changed),
        removed: list(&r.removed),
        unchanged: r.unchanged,
        counts: (r.added.len(), r.changed.len(), r.removed.len()),
        upload_id,
    });
    Ok(page.into_response())
}

#[derive(serde::Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upload: String,
    #[serde(default)]
    mode: String,
}

/// Step 2: write the file checked in step 1 (the same user, facility and mode, within 30 minutes).
async fn import_confirm(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::EditBcp).await?;
    let t = ctx.tr;
    let mode = import_mode(&form.mode);
    let Some(up) = st.take_upload(&form.upload, ctx.user.id, fid, UploadTarget::Contacts(mode), unix_now()) else {
        let page = contacts_page(&st, &ctx, &f, t.s("contacts.import_expired").into(), Vec::new()).await?;
        return Ok((StatusCode::GONE, page).into_response());
    };
    let table = mamori_tabular::read_bytes(&up.bytes, &up.name, &mamori_tabular::ReadOptions::default())
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    // Checked again as it is written: the list may have changed since the dry run.
    let r = app::import_contacts(&st.store, &f, table, mode, false, &ctx.user.login).await?;
    if !r.written {
        let issues = r.issues.iter().map(|i| issue_text(t, i)).collect();
        let page = contacts_page(&st, &ctx, &f, t.s("contacts.import_refused").into(), issues).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let op = match mode {
        app::ContactImportMode::Replace => "連絡先を取り込み（置き換え）",
        app::ContactImportMode::Merge => "連絡先を取り込み（追加・更新）",
    };
    log(&st, &ctx, AuditCategory::Change, op, &format!("{}件 {} {}", r.rows, up.name, r.summary()), &f).await?;
    Ok(Redirect::to(&format!("/f/{fid}/contacts?saved=1")).into_response())
}

async fn export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let format = match q.format.as_str() {
        "xlsx" => ExportFormat::Xlsx,
        "csv" | "" => ExportFormat::Csv,
        other => return Err(WebError::BadRequest(format!("形式「{other}」は使えません（csv, xlsx）/ unknown format"))),
    };
    let bytes = app::export_contacts(&st.store, f.id, format).await?;
    log(&st, &ctx, AuditCategory::Export, "連絡先を書き出し", format.extension(), &f).await?;
    Ok(download(bytes, format.content_type(), &format!("連絡先_{}.{}", f.data.name, format.extension())))
}

#[derive(Template, WebTemplate)]
#[template(path = "bcp_chart.html")]
pub(crate) struct ChartPage {
    pub chrome: Chrome,
    /// The chart, made by our own SVG writer (every text escaped), embedded as markup.
    pub svg: String,
    pub empty: bool,
}

async fn chart_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let n = st.store.contacts(f.id).await?.len();
    let svg = app::chart_svg(&st.store, &f).await?;
    // Drop the XML declaration for inline use.
    let svg = svg.split_once("?>").map(|(_, rest)| rest.trim_start().to_string()).unwrap_or(svg);
    log(&st, &ctx, AuditCategory::View, "連絡体制図を閲覧", &format!("{n}件"), &f).await?;
    Ok(ChartPage { chrome: st.chrome(&ctx, &format!("/f/{fid}/contacts/chart"), Some(&f)).await?, svg, empty: n == 0 }
        .into_response())
}

async fn chart_svg(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let svg = app::chart_svg(&st.store, &f).await?;
    log(&st, &ctx, AuditCategory::Export, "連絡体制図を出力", "SVG", &f).await?;
    Ok(download(svg.into_bytes(), "image/svg+xml", &format!("連絡体制図_{}.svg", f.data.name)))
}

async fn chart_pdf(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let chart = app::chart_of(&st.store, &f).await?;
    let pdf = blocking(move || app::render_chart_pdf(&chart)).await?;
    log(&st, &ctx, AuditCategory::Export, "連絡体制図を出力", "PDF", &f).await?;
    Ok(download(pdf, "application/pdf", &format!("連絡体制図_{}.pdf", f.data.name)))
}

// ============================================================================================ BCP table

pub(crate) struct EvidenceView {
    pub state: String,
    pub css: String,
    pub source: String,
    pub reason: String,
    pub link: String,
}

pub(crate) struct CheckRow {
    pub id: String,
    pub text: String,
    pub answer: String,
    pub note: String,
    pub by: String,
    pub explanation: String,
    pub references: String,
    /// The data suggests another answer than the one given.
    pub disagrees: bool,
}

pub(crate) struct ItemRow {
    pub number: String,
    pub title: String,
    pub checks: Vec<CheckRow>,
    pub evidence: Vec<EvidenceView>,
}

pub(crate) struct PhaseRow {
    pub title: String,
    pub description: String,
    pub items: Vec<ItemRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "bcp_table.html")]
pub(crate) struct TablePage {
    pub chrome: Chrome,
    pub title: String,
    pub phases: Vec<PhaseRow>,
    pub total: usize,
    pub yes: usize,
    pub no: usize,
    pub can_edit: bool,
    pub saved: bool,
    pub reminder: String,
}

fn evidence_view(t: Tr, fid: i64, e: &Evidence) -> EvidenceView {
    let (state, css) = match e.state {
        EvidenceState::Supports => (t.s("bcp.ev_supports"), "sev-info"),
        EvidenceState::Contradicts => (t.s("bcp.ev_contradicts"), "sev-high"),
        EvidenceState::Partial => (t.s("bcp.ev_partial"), "sev-medium"),
        EvidenceState::Missing => (t.s("bcp.ev_missing"), "sev-low"),
    };
    EvidenceView {
        state: state.into(),
        css: css.into(),
        source: match e.source {
            "contacts" => t.s("bcp.src_contacts").into(),
            "training" => t.s("bcp.src_training").into(),
            "bcp" => t.s("bcp.src_bcp").into(),
            "ledger" => t.s("bcp.src_ledger").into(),
            "backup" => t.s("bcp.src_backup").into(),
            "vuln" => t.s("bcp.src_vuln").into(),
            other => other.into(),
        },
        reason: t.pick(&e.reason_ja, &e.reason_en).into(),
        link: e.link.as_ref().map(|l| format!("/f/{fid}/{l}")).unwrap_or_default(),
    }
}

fn table_rows(t: Tr, fid: i64, a: &Assessment) -> Vec<PhaseRow> {
    a.phases
        .iter()
        .map(|p| PhaseRow {
            title: format!("{} {}", p.phase.number, p.phase.name),
            description: p.phase.description.clone(),
            items: p
                .items
                .iter()
                .map(|i| ItemRow {
                    number: i.item.number.clone(),
                    title: i.item.title.clone(),
                    checks: i
                        .checks
                        .iter()
                        .map(|c| {
                            let given = c.answer.as_ref().and_then(|x| x.answer);
                            CheckRow {
                                id: c.check.id.clone(),
                                text: c.check.text.clone(),
                                answer: match given {
                                    Some(true) => "はい".into(),
                                    Some(false) => "いいえ".into(),
                                    None => String::new(),
                                },
                                note: c.answer.as_ref().map(|x| x.note.clone()).unwrap_or_default(),
                                by: c
                                    .answer
                                    .as_ref()
                                    .filter(|x| x.answer.is_some())
                                    .map(|x| {
                                        format!(
                                            "{} {}",
                                            x.answered_by,
                                            x.answered_at.chars().take(10).collect::<String>()
                                        )
                                    })
                                    .unwrap_or_default(),
                                explanation: c.check.explanation.clone(),
                                references: c.check.references_printed.clone().unwrap_or_default(),
                                disagrees: given.is_some_and(|g| i.evidence.iter().any(|e| e.disagrees_with(g))),
                            }
                        })
                        .collect(),
                    evidence: i.evidence.iter().map(|e| evidence_view(t, fid, e)).collect(),
                })
                .collect(),
        })
        .collect()
}

async fn table(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let a = app::assessment(&st.store, &f, today()).await?;
    let trainings = st.store.trainings(f.id).await?;
    let reminder = app::training_reminder(&app::training_status(&trainings, today()))
        .map(|(ja, en)| ctx.tr.pick(&ja, &en).to_string())
        .unwrap_or_default();
    Ok(TablePage {
        chrome: st.chrome(&ctx, &format!("/f/{fid}/bcp"), Some(&f)).await?,
        title: a.title.clone(),
        phases: table_rows(ctx.tr, fid, &a),
        total: a.total,
        yes: a.yes,
        no: a.no,
        can_edit: ctx.principal.can(Action::EditBcp),
        saved: q.saved.is_some(),
        reminder,
    }
    .into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    csrf: String,
    check: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    note: String,
}

async fn answer(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<AnswerForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::EditBcp).await?;
    let value = app::parse_answer(&form.answer).ok_or_else(|| {
        WebError::BadRequest(format!("回答「{}」は はい / いいえ / 未回答 のいずれかです / bad answer", form.answer))
    })?;
    app::answer(&st.store, &f, &form.check, value, &form.note, &ctx.user.login).await.map_err(input_err)?;
    log(&st, &ctx, AuditCategory::Change, "BCP確認表に回答", &format!("{} {}", form.check, form.answer), &f).await?;
    Ok(Redirect::to(&format!("/f/{fid}/bcp?saved=1#c-{}", enc(&form.check))).into_response())
}

async fn bcp_export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let name = format!("BCP_{}", f.data.name);
    let resp = match q.format.as_str() {
        "pdf" | "" => {
            let doc = app::bcp_doc(&st.store, &f, today()).await?;
            download(blocking(move || app::render_pdf(&doc)).await?, "application/pdf", &format!("{name}.pdf"))
        }
        "docx" => download(
            {
                let doc = app::bcp_doc(&st.store, &f, today()).await?;
                blocking(move || app::render_docx(&doc)).await?
            },
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            &format!("{name}.docx"),
        ),
        other => return Err(WebError::BadRequest(format!("形式「{other}」は使えません（pdf, docx）/ unknown format"))),
    };
    log(&st, &ctx, AuditCategory::Export, "BCP文書を出力", if q.format == "docx" { "docx" } else { "PDF" }, &f).await?;
    Ok(resp)
}

// ============================================================================================ trainings

pub(crate) struct TrainingRow {
    pub id: i64,
    pub held_on: String,
    pub scenario: String,
    pub participants: String,
    pub findings: String,
    pub plan: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "bcp_training.html")]
pub(crate) struct TrainingPage {
    pub chrome: Chrome,
    pub rows: Vec<TrainingRow>,
    pub reminder: String,
    pub next_due: String,
    pub can_edit: bool,
    pub error: String,
    pub form: HashMap<String, String>,
}

impl TrainingPage {
    pub fn value(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }
}

async fn training_page(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    error: String,
    form: HashMap<String, String>,
) -> WebResult<TrainingPage> {
    let list = st.store.trainings(f.id).await?;
    let status = app::training_status(&list, today());
    Ok(TrainingPage {
        chrome: st.chrome(ctx, &format!("/f/{}/bcp/training", f.id), Some(f)).await?,
        rows: list
            .iter()
            .map(|t| TrainingRow {
                id: t.id,
                held_on: t.held_on.to_string(),
                scenario: t.scenario.clone(),
                participants: t.participants.clone(),
                findings: t.findings.clone(),
                plan: t.improvement_plan.clone(),
            })
            .collect(),
        reminder: app::training_reminder(&status).map(|(ja, en)| ctx.tr.pick(&ja, &en).to_string()).unwrap_or_default(),
        next_due: status.next_due.map(|d| d.to_string()).unwrap_or_default(),
        can_edit: ctx.principal.can(Action::EditBcp),
        error,
        form,
    })
}

async fn trainings(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    Ok(training_page(&st, &ctx, &f, String::new(), HashMap::new()).await?.into_response())
}

async fn add_training(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, form.get("csrf").map(String::as_str), Action::EditBcp).await?;
    let get = |k: &str| form.get(k).map(|v| v.trim().replace("\r\n", "\n")).unwrap_or_default();
    let held_on = match mamori_model::date::parse_date(&get("held_on")) {
        Ok(Some(d)) => d,
        Ok(None) => {
            let page = training_page(&st, &ctx, &f, ctx.tr.s("bcp.training_date_required").into(), form).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(why) => {
            let page = training_page(&st, &ctx, &f, why, form).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let t = Training {
        id: 0,
        held_on,
        scenario: get("scenario"),
        participants: get("participants"),
        findings: get("findings"),
        improvement_plan: get("plan"),
        recorded_by: ctx.user.login.clone(),
        recorded_at: String::new(),
    };
    match app::add_training(&st.store, &f, &t, today()).await {
        Ok(_) => {
            log(&st, &ctx, AuditCategory::Change, "訓練を記録", &format!("{held_on} {}", t.scenario), &f).await?;
            Ok(Redirect::to(&format!("/f/{fid}/bcp/training")).into_response())
        }
        Err(mamori_app::AppError::Store(mamori_store::StoreError::Invalid(why))) => {
            let page = training_page(&st, &ctx, &f, why, form).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_training(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::EditBcp).await?;
    if !st.store.delete_training(f.id, id).await? {
        return Err(WebError::NotFound);
    }
    log(&st, &ctx, AuditCategory::Change, "訓練記録を削除", &format!("#{id}"), &f).await?;
    Ok(Redirect::to(&format!("/f/{fid}/bcp/training")).into_response())
}
