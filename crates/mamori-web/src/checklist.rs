//! Pages of the checklist capability: /f/{fid}/checklist…, /f/{fid}/gmis…. Templates are templates/checklist_*.html, messages i18n/checklist.{ja,en}.toml.
//!
//! Every handler checks the session, the role (ViewChecklist / AnswerChecklist), the facility and — for a
//! vendor — that the form is its own vendor form (a vendor never sees the hospital's form, another vendor's
//! form, the evidence from the hospital's ledgers, the readiness view or the G-MIS survey). Every POST checks
//! CSRF; every change and export goes to the app's access log.

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use mamori_app::checklist::{self as cl, AnswerInput, FormRef, ItemView, Problem, SheetFormat};
use mamori_app::evidence::{Evidence, EvidenceState};
use mamori_catalog::checklist::FormKind;
use mamori_model::Facility;
use mamori_model::audit::AuditCategory;
use mamori_model::auth::{Action, Role};

use crate::i18n::Tr;
use crate::pages::require;
use crate::pages::{attachment, enc};
use crate::session::Ctx;
use crate::views::Chrome;
use crate::{AppState, WebError, WebResult};

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/f/{fid}/checklist", get(index))
        .route("/f/{fid}/checklist/readiness", get(readiness_fragment))
        .route("/f/{fid}/checklist/export", get(export))
        .route("/f/{fid}/checklist/{edition}/hospital", get(hospital_form))
        .route("/f/{fid}/checklist/{edition}/vendor/{vendor}", get(vendor_form))
        .route("/f/{fid}/checklist/{edition}/answer", post(answer))
        .route("/f/{fid}/gmis", get(gmis_page))
        .route("/f/{fid}/gmis/answer", post(gmis_answer))
        .route("/f/{fid}/gmis/export", get(gmis_export))
}

fn is_vendor(ctx: &Ctx) -> bool {
    ctx.principal.role == Role::Vendor
}

/// A vendor may reach only its own vendor form; everybody else who may view the checklist reaches every form.
fn may_see_form(ctx: &Ctx, form: &FormRef) -> bool {
    if is_vendor(ctx) {
        form.kind == FormKind::Vendor
            && !ctx.principal.vendor_name.is_empty()
            && form.vendor == ctx.principal.vendor_name
    } else {
        true
    }
}

fn today() -> NaiveDate {
    cl::today_jst()
}

fn bad(problems: &[Problem]) -> WebError {
    WebError::BadRequest(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))
}

fn form_url(fid: i64, form: &FormRef) -> String {
    match form.kind {
        FormKind::Vendor => format!("/f/{fid}/checklist/{}/vendor/{}", form.edition, enc(&form.vendor)),
        _ => format!("/f/{fid}/checklist/{}/hospital", form.edition),
    }
}

// ---------------------------------------------------------------- views

pub(crate) struct EvView {
    pub source: String,
    pub state: String,
    pub reason: String,
    pub suggests: String,
    pub disagrees: bool,
    pub link: String,
}

pub(crate) struct RowView {
    pub id: String,
    pub number: String,
    pub text: String,
    pub note: String,
    pub r5: bool,
    pub r1: String,
    pub r1_date: String,
    pub target: String,
    pub r2: String,
    pub r2_date: String,
    pub remarks: String,
    pub updated: String,
    /// Why the item need not be answered (empty when it must).
    pub na: String,
    pub overdue: bool,
    pub disagreement: bool,
    pub missing: bool,
    pub help_heading: String,
    pub help_paragraphs: Vec<String>,
    pub help_terms: Vec<(String, String)>,
    pub help_supplement: String,
    pub help_refs: Vec<String>,
    pub evidence: Vec<EvView>,
    pub awaiting: Vec<String>,
    pub errors: Vec<String>,
    /// Which round the inline form offers first (1 until the 1st round is answered, then 2).
    pub next_round: u8,
    /// The inline form's values: what the user posted when it was refused, else defaults.
    pub f_answer: String,
    pub f_date: String,
    pub f_target: String,
    pub f_remarks: String,
    /// Changes of the item, newest first: "when who: what".
    pub history: Vec<String>,
}

fn yn(t: Tr, b: Option<bool>) -> String {
    match b {
        Some(true) => t.s("checklist.yes").into(),
        Some(false) => t.s("checklist.no").into(),
        None => String::new(),
    }
}

fn od(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn state_key(s: EvidenceState) -> &'static str {
    match s {
        EvidenceState::Supports => "supports",
        EvidenceState::Contradicts => "contradicts",
        EvidenceState::Partial => "partial",
        EvidenceState::Missing => "missing",
    }
}

/// Whether the user may follow an evidence link (a ledger the role may not read gets no link).
fn link_allowed(ctx: &Ctx, link: &str) -> bool {
    match link.strip_prefix("l/") {
        Some(slug) => crate::pages::slug_kind(slug.split('/').next().unwrap_or(""))
            .is_ok_and(|k| ctx.principal.can(Action::ViewLedger(k))),
        None => true,
    }
}

fn ev_view(ctx: &Ctx, fid: i64, e: &Evidence, current: Option<bool>) -> EvView {
    let t = ctx.tr;
    EvView {
        source: e.source.to_string(),
        state: t.s(&format!("checklist.ev.{}", state_key(e.state))).to_string(),
        reason: t.pick(&e.reason_ja, &e.reason_en).to_string(),
        suggests: e.suggests.map(|b| yn(t, Some(b))).unwrap_or_default(),
        disagrees: current.is_some_and(|c| e.disagrees_with(c)),
        link: e
            .link
            .as_deref()
            .filter(|l| !l.is_empty() && link_allowed(ctx, l))
            .map(|l| format!("/f/{fid}/{l}"))
            .unwrap_or_default(),
    }
}

fn row_view(ctx: &Ctx, fid: i64, i: &ItemView, errors: Vec<String>) -> RowView {
    let t = ctx.tr;
    let a = &i.answer;
    let help = &i.item.help;
    RowView {
        id: i.item.id.clone(),
        number: i.item.number.clone(),
        text: i.item.text.clone(),
        note: i.item.note.clone().unwrap_or_default(),
        r5: i.item.r5,
        r1: yn(t, a.r1),
        r1_date: od(a.r1_date),
        target: od(a.target),
        r2: yn(t, a.r2),
        r2_date: od(a.r2_date),
        remarks: a.remarks.clone(),
        updated: if a.updated_by.is_empty() {
            String::new()
        } else {
            format!("{} {}", a.updated_by, a.updated_at.replace('T', " ").trim_end_matches('Z'))
        },
        na: i.not_applicable.map(|n| t.pick(n.label_ja(), n.label_en()).to_string()).unwrap_or_default(),
        overdue: i.overdue,
        disagreement: i.disagreement,
        missing: i.missing(),
        help_heading: help.heading.clone(),
        help_paragraphs: help.explanation.split('\n').filter(|p| !p.trim().is_empty()).map(str::to_string).collect(),
        help_terms: help.terms.iter().map(|x| (x.term.clone(), x.definition.clone())).collect(),
        help_supplement: help.supplement.clone().unwrap_or_default(),
        help_refs: help.references.clone(),
        evidence: i.evidence.iter().map(|e| ev_view(ctx, fid, e, i.current())).collect(),
        awaiting: i.awaiting.clone(),
        errors,
        next_round: if a.r1.is_some() { 2 } else { 1 },
        f_answer: "はい".into(),
        f_date: String::new(),
        f_target: String::new(),
        f_remarks: a.remarks.clone(),
        history: Vec::new(),
    }
}

/// One history entry in words: which fields changed from what to what.
fn change_line(t: Tr, c: &mamori_store::checklist::ChecklistChange) -> String {
    let field = |v: &serde_json::Value, k: &str| -> String {
        match &v[k] {
            serde_json::Value::Bool(b) => yn(t, Some(*b)),
            serde_json::Value::String(s) => s.clone(),
            _ => "—".into(),
        }
    };
    let labels = [
        ("r1", "checklist.round1"),
        ("r1_date", "checklist.date"),
        ("target", "checklist.target"),
        ("r2", "checklist.round2"),
        ("r2_date", "checklist.date"),
        ("remarks", "checklist.remarks"),
    ];
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| c.before[*k] != c.after[*k])
        .map(|(k, l)| format!("{} {}→{}", t.s(l), field(&c.before, k), field(&c.after, k)))
        .collect();
    format!("{} {}: {}", c.changed_at.replace('T', " ").trim_end_matches('Z'), c.changed_by, parts.join("、"))
}

/// Attaches the history of each item (one query for the form copy).
async fn attach_history(st: &AppState, t: Tr, fid: i64, form: &FormRef, rows: &mut [&mut RowView]) -> WebResult<()> {
    let all = st.store.checklist_history(fid, &form.key(), None).await?;
    for r in rows.iter_mut() {
        r.history = all.iter().filter(|c| c.item_id == r.id).take(10).map(|c| change_line(t, c)).collect();
    }
    Ok(())
}

pub(crate) struct GroupView {
    pub heading: String,
    pub rows: Vec<RowView>,
}

pub(crate) struct SectionView {
    pub heading: String,
    pub groups: Vec<GroupView>,
}

fn sections(ctx: &Ctx, fid: i64, items: &[ItemView]) -> Vec<SectionView> {
    let mut out: Vec<SectionView> = Vec::new();
    for i in items {
        let heading = if i.section_number == "0" {
            i.section_title.clone()
        } else {
            format!("{}　{}", i.section_number, i.section_title)
        };
        if out.last().is_none_or(|s| s.heading != heading) {
            out.push(SectionView { heading, groups: Vec::new() });
        }
        let sec = out.last_mut().expect("pushed");
        let gh = i.group_heading.clone().unwrap_or_default();
        if sec.groups.last().is_none_or(|g| g.heading != gh) {
            sec.groups.push(GroupView { heading: gh, rows: Vec::new() });
        }
        sec.groups.last_mut().expect("pushed").rows.push(row_view(ctx, fid, i, Vec::new()));
    }
    out
}

pub(crate) struct FormLink {
    pub label: String,
    pub url: String,
    pub answered: usize,
    pub applicable: usize,
    pub current: bool,
}

pub(crate) struct ReadinessView {
    pub ready: bool,
    pub edition_label: String,
    pub missing_total: usize,
    /// (form title, missing item labels)
    pub missing: Vec<(String, String)>,
    /// (form title, number and target, target date)
    pub overdue: Vec<(String, String, String)>,
    /// (title, ok, reason)
    pub documents: Vec<(String, bool, String)>,
    pub disagreements: usize,
    pub last_checked: String,
    pub reminder_due: bool,
}

fn readiness_view(t: Tr, r: &cl::Readiness) -> ReadinessView {
    let label = |m: &cl::ReadinessItem| {
        if m.target.is_empty() { m.number.clone() } else { format!("{}［{}］", m.number, m.target) }
    };
    let mut missing = Vec::new();
    for (_, title, _, _) in &r.forms {
        let items: Vec<String> = r.missing.iter().filter(|m| &m.form_title == title).map(label).collect();
        if !items.is_empty() {
            missing.push((title.clone(), items.join(" ")));
        }
    }
    ReadinessView {
        ready: r.ready,
        edition_label: r.edition_label.clone(),
        missing_total: r.missing.len(),
        missing,
        overdue: r.overdue.iter().map(|m| (m.form_title.clone(), label(m), od(m.target_date))).collect(),
        documents: r
            .documents
            .iter()
            .map(|d| (d.title.clone(), d.ok, t.pick(&d.reason_ja, &d.reason_en).to_string()))
            .collect(),
        disagreements: r.disagreements,
        last_checked: r.last_checked.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        reminder_due: r.reminder_due,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checklist_form.html")]
pub(crate) struct FormPage {
    pub chrome: Chrome,
    pub t: Tr,
    pub fid: i64,
    pub edition_id: String,
    pub title: String,
    pub form_title: String,
    pub vendor: String,
    pub notes: Vec<String>,
    pub forms: Vec<FormLink>,
    /// (id, label) of the editions, for the switcher.
    pub editions: Vec<(String, String)>,
    pub readiness: Option<ReadinessView>,
    pub sections: Vec<SectionView>,
    pub can_answer: bool,
    pub csrf: String,
    pub export_query: String,
    pub saved: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "checklist_row.html")]
pub(crate) struct RowFragment {
    pub t: Tr,
    pub fid: i64,
    pub edition_id: String,
    pub vendor: String,
    pub can_answer: bool,
    pub csrf: String,
    pub r: RowView,
}

#[derive(Template, WebTemplate)]
#[template(path = "checklist_readiness.html")]
pub(crate) struct ReadinessFragment {
    pub t: Tr,
    pub fid: i64,
    pub rd: ReadinessView,
}

// ---------------------------------------------------------------- handlers

#[derive(serde::Deserialize, Default)]
pub(crate) struct EditionQuery {
    #[serde(default)]
    edition: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

/// /f/{fid}/checklist: the hospital form of the newest official edition, or a vendor's own form.
async fn index(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<EditionQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    require(&ctx, Action::ViewChecklist)?;
    st.facility_for(&ctx, fid).await?;
    let ed = cl::edition(q.edition.as_deref().filter(|e| !e.is_empty())).map_err(|_| WebError::NotFound)?;
    let form =
        if is_vendor(&ctx) { FormRef::vendor(&ed.id, &ctx.principal.vendor_name) } else { FormRef::hospital(&ed.id) };
    Ok(Redirect::to(&form_url(fid, &form)).into_response())
}

async fn hospital_form(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, edition)): Path<(i64, String)>,
    Query(q): Query<EditionQuery>,
) -> WebResult<Response> {
    let form = FormRef::hospital(&edition);
    form_page(&st, &addr, &headers, fid, form, q.saved.is_some()).await
}

async fn vendor_form(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, edition, vendor)): Path<(i64, String, String)>,
    Query(q): Query<EditionQuery>,
) -> WebResult<Response> {
    let form = FormRef::vendor(&edition, &vendor);
    form_page(&st, &addr, &headers, fid, form, q.saved.is_some()).await
}

/// Checks role, facility and form scope; returns the context and the facility.
async fn guard(
    st: &AppState,
    addr: &SocketAddr,
    headers: &HeaderMap,
    fid: i64,
    form: &FormRef,
    action: Action,
) -> WebResult<(Ctx, Facility)> {
    let (ctx, f) = st.guard(headers, addr, fid, action).await?;
    if !may_see_form(&ctx, form) {
        return Err(WebError::Forbidden);
    }
    let ed = cl::edition(Some(&form.edition)).map_err(|_| WebError::NotFound)?;
    let facts = cl::facts(&st.store, &f).await?;
    if cl::check_form(&ed, &facts, form).is_err() {
        return Err(WebError::NotFound);
    }
    Ok((ctx, f))
}

async fn form_page(
    st: &AppState,
    addr: &SocketAddr,
    headers: &HeaderMap,
    fid: i64,
    form: FormRef,
    saved: bool,
) -> WebResult<Response> {
    let (ctx, f) = guard(st, addr, headers, fid, &form, Action::ViewChecklist).await?;
    let t = ctx.tr;
    let day = today();
    let vendor = is_vendor(&ctx);
    // Evidence comes from the hospital's own data: never shown on a vendor's form or to a vendor.
    let all_evidence = if vendor { Vec::new() } else { mamori_app::evidence::collect(&st.store, &f, day).await? };
    let evidence: &[Evidence] = if form.kind == FormKind::Vendor { &[] } else { &all_evidence };
    let v = cl::form_view(&st.store, &f, &form, evidence, day).await?;
    let ed = cl::edition(Some(&form.edition))?;
    let (readiness, forms) = if vendor {
        (None, Vec::new())
    } else {
        let r = cl::readiness_with(&st.store, &f, Some(&form.edition), &all_evidence, day).await?;
        let links = r
            .forms
            .iter()
            .map(|(fr, title, answered, applicable)| FormLink {
                label: title.clone(),
                url: form_url(fid, fr),
                answered: *answered,
                applicable: *applicable,
                current: *fr == form,
            })
            .collect();
        (Some(readiness_view(t, &r)), links)
    };
    let editions = if vendor {
        Vec::new()
    } else {
        cl::editions()?.into_iter().map(|e| (e.id.clone(), format!("{}（{}）", e.edition_label, e.id))).collect()
    };
    let mut export_query = format!("edition={}", form.edition);
    // On a vendor's form: that form alone (what the hospital sends to or collects from the vendor); on the
    // hospital's form: every form copy (the inspection package).
    if form.kind == FormKind::Vendor {
        export_query.push_str(&format!("&form=vendor&vendor={}", enc(&form.vendor)));
    }
    let mut sections = sections(&ctx, fid, &v.items);
    let mut rows: Vec<&mut RowView> =
        sections.iter_mut().flat_map(|s| s.groups.iter_mut()).flat_map(|g| g.rows.iter_mut()).collect();
    attach_history(st, t, fid, &form, &mut rows).await?;
    let path = form_url(fid, &form);
    Ok(FormPage {
        chrome: st.chrome(&ctx, &path, Some(&f)).await?,
        t,
        fid,
        edition_id: form.edition.clone(),
        title: format!("{} {}", ed.edition_label, ed.title),
        form_title: v.form_title.clone(),
        vendor: form.vendor.clone(),
        notes: v.notes.clone(),
        forms,
        editions,
        readiness,
        sections,
        can_answer: ctx.principal.can(Action::AnswerChecklist),
        csrf: ctx.csrf.clone(),
        export_query,
        saved,
    }
    .into_response())
}

/// The readiness block alone (for the dashboard: `hx-get="/f/{fid}/checklist/readiness" hx-trigger="load"`).
async fn readiness_fragment(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    require(&ctx, Action::ViewChecklist)?;
    if is_vendor(&ctx) {
        return Err(WebError::Forbidden);
    }
    let f = st.facility_for(&ctx, fid).await?;
    let r = cl::readiness(&st.store, &f, today()).await?;
    Ok(ReadinessFragment { t: ctx.tr, fid, rd: readiness_view(ctx.tr, &r) }.into_response())
}

async fn answer(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, edition)): Path<(i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    // CSRF first: a forged post is refused before anything else is looked at.
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, form.get("csrf").map(String::as_str))?;
    let kind = cl::parse_kind(&get("form")).ok_or_else(|| WebError::BadRequest("form".into()))?;
    let fref = FormRef { edition: edition.clone(), kind, vendor: get("vendor") };
    let (ctx, f) = guard(&st, &addr, &headers, fid, &fref, Action::AnswerChecklist).await?;
    let t = ctx.tr;
    let item = get("item");
    let round: u8 = match get("round").as_str() {
        "2" => 2,
        _ => 1,
    };
    let mut problems = Vec::new();
    let answer = cl::parse_yes_no(&get("answer")).unwrap_or_else(|v| {
        problems.push(Problem {
            item: item.clone(), ja: format!("回答「{v}」が不正です"), en: "bad answer".into()
        });
        None
    });
    let day = today();
    let date = match cl::parse_date_opt(&get("date")) {
        Ok(d) => d.or(answer.map(|_| day)),
        Err(v) => {
            problems.push(Problem {
                item: item.clone(),
                ja: format!("確認日「{v}」を日付として読めません（例: 2024-06-10）"),
                en: format!("date {v:?} is not a date"),
            });
            None
        }
    };
    let target = cl::parse_date_opt(&get("target")).unwrap_or_else(|v| {
        problems.push(Problem {
            item: item.clone(),
            ja: format!("目標日「{v}」を日付として読めません（例: 2025-03-31）"),
            en: format!("target {v:?} is not a date"),
        });
        None
    });
    let remarks = form.get("remarks").map(|r| r.trim().to_string());
    if problems.is_empty() {
        let input = AnswerInput { item: item.clone(), round, answer, date, target, remarks };
        match cl::answer(&st.store, &f, &fref, &[input], &ctx.user.login, day).await? {
            Ok(n) => {
                if n > 0 {
                    let ed = cl::edition(Some(&edition))?;
                    st.store
                        .append_audit(&ctx.audit(
                            AuditCategory::Change,
                            &format!("チェックリスト（{}）に回答", fref.label(&ed)),
                            &format!("{edition} {item} {round}回目 {}", yn(Tr::new(crate::Lang::Ja), answer)),
                            Some(fid),
                        ))
                        .await?;
                }
            }
            Err(p) => problems = p,
        }
    }
    let htmx = headers.contains_key("hx-request");
    if !htmx {
        if !problems.is_empty() {
            return Err(bad(&problems));
        }
        return Ok(Redirect::to(&format!("{}?saved=1#item-{}", form_url(fid, &fref), enc(&item))).into_response());
    }
    // htmx: the item's rows again, with the problems shown in place.
    let evidence = if is_vendor(&ctx) || fref.kind == FormKind::Vendor {
        Vec::new()
    } else {
        mamori_app::evidence::collect(&st.store, &f, day).await?
    };
    let v = cl::form_view(&st.store, &f, &fref, &evidence, day).await?;
    let Some(i) = v.items.iter().find(|i| i.item.id == item || i.item.number == item) else {
        return Err(bad(&problems));
    };
    let errors: Vec<String> = problems.iter().map(|p| t.pick(&p.ja, &p.en).to_string()).collect();
    let refused = !errors.is_empty();
    let mut r = row_view(&ctx, fid, i, errors);
    if refused {
        r.next_round = round;
        r.f_answer = get("answer");
        r.f_date = get("date");
        r.f_target = get("target");
        r.f_remarks = get("remarks");
    }
    attach_history(&st, t, fid, &fref, &mut [&mut r]).await?;
    Ok(RowFragment {
        t,
        fid,
        edition_id: edition,
        vendor: fref.vendor.clone(),
        can_answer: true,
        csrf: ctx.csrf.clone(),
        r,
    }
    .into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    edition: Option<String>,
    #[serde(default)]
    form: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
}

async fn export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewChecklist).await?;
    let format = SheetFormat::parse(&q.format).ok_or_else(|| {
        WebError::BadRequest(format!("形式「{}」は使えません（xlsx, pdf, csv）/ unknown format", q.format))
    })?;
    let ed = cl::edition(q.edition.as_deref().filter(|e| !e.is_empty())).map_err(|_| WebError::NotFound)?;
    let only = match q.form.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(FormRef {
            edition: ed.id.clone(),
            kind: cl::parse_kind(k).ok_or(WebError::NotFound)?,
            vendor: q.vendor.clone().unwrap_or_default(),
        }),
    };
    // A vendor exports its own form only; everybody else any form copy or all of them.
    if is_vendor(&ctx) && !only.as_ref().is_some_and(|o| may_see_form(&ctx, o)) {
        return Err(WebError::Forbidden);
    }
    if let Some(o) = &only {
        let facts = cl::facts(&st.store, &f).await?;
        cl::check_form(&ed, &facts, o).map_err(|p| bad(&[p]))?;
    }
    let bytes = cl::export(&st.store, &f, Some(&ed.id), only.as_ref(), format, today()).await?;
    let what = only.as_ref().map(|o| o.label(&ed)).unwrap_or_else(|| "全様式".into());
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            &format!("チェックリストを書き出し（{}）", format.extension()),
            &format!("{} {what}", ed.edition_label),
            Some(fid),
        ))
        .await?;
    let name = format!("チェックリスト_{}_{}.{}", ed.edition_label, f.data.name, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------- G-MIS

pub(crate) struct QView {
    pub id: String,
    pub number: u32,
    pub text: String,
    pub section: String,
    pub preface: String,
    pub answer: String,
    pub updated: String,
    pub applicable: bool,
    pub options: Vec<String>,
    pub options_unverified: bool,
    pub fields: String,
    pub guidance_heading: String,
    pub guidance: Vec<String>,
    pub evidence: Vec<EvView>,
    pub awaiting: Vec<String>,
    pub suggestion: String,
    pub disagreement: bool,
    pub is_next: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "checklist_gmis.html")]
pub(crate) struct GmisPage {
    pub chrome: Chrome,
    pub t: Tr,
    pub fid: i64,
    pub title: String,
    pub source: String,
    pub guidance_title: String,
    pub guidance_notes: Vec<String>,
    pub questions: Vec<QView>,
    pub complete: bool,
    pub can_answer: bool,
    pub csrf: String,
    pub saved: bool,
}

async fn gmis_guard(
    st: &AppState,
    addr: &SocketAddr,
    headers: &HeaderMap,
    fid: i64,
    a: Action,
) -> WebResult<(Ctx, Facility)> {
    let ctx = st.ctx(headers, addr).await?;
    require(&ctx, a)?;
    // The survey is the hospital's own answer to the ministry: not for vendors.
    if is_vendor(&ctx) {
        return Err(WebError::Forbidden);
    }
    let f = st.facility_for(&ctx, fid).await?;
    Ok((ctx, f))
}

async fn gmis_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<EditionQuery>,
) -> WebResult<Response> {
    let (ctx, f) = gmis_guard(&st, &addr, &headers, fid, Action::ViewChecklist).await?;
    let t = ctx.tr;
    let evidence = mamori_app::evidence::collect(&st.store, &f, today()).await?;
    let v = cl::gmis_view(&st.store, &f, None, &evidence).await?;
    let s = cl::survey(None)?;
    let mut last_section = String::new();
    let questions = v
        .questions
        .iter()
        .map(|q| {
            let sec = s.sections.iter().find(|x| x.questions.contains(&q.question.id));
            let first_in_section = q.section_title != last_section;
            last_section = q.section_title.clone();
            let fields = match &q.question.answer {
                mamori_catalog::gmis::AnswerSpec::Text { fields, .. } => fields.join("・"),
                _ => String::new(),
            };
            let current = q.answer.as_deref().and_then(|a| cl::parse_yes_no(a).ok().flatten());
            QView {
                id: q.question.id.clone(),
                number: q.question.number,
                text: q.question.text.clone(),
                section: if first_in_section { q.section_title.clone() } else { String::new() },
                preface: if first_in_section {
                    sec.and_then(|x| x.preface.clone()).unwrap_or_default()
                } else {
                    String::new()
                },
                answer: q.answer.clone().unwrap_or_default(),
                updated: if q.updated_by.is_empty() {
                    String::new()
                } else {
                    format!("{} {}", q.updated_by, q.updated_at)
                },
                applicable: q.applicable,
                options: q.options.clone(),
                options_unverified: !q.options_verified,
                fields,
                guidance_heading: q.question.guidance_heading.clone().unwrap_or_default(),
                guidance: q
                    .question
                    .guidance
                    .split('\n')
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_string)
                    .collect(),
                evidence: q.evidence.iter().map(|e| ev_view(&ctx, fid, e, current)).collect(),
                awaiting: q.awaiting.clone(),
                suggestion: q.suggestion.clone().unwrap_or_default(),
                disagreement: q.disagreement,
                is_next: v.next.as_deref() == Some(q.question.id.as_str()),
            }
        })
        .collect();
    Ok(GmisPage {
        chrome: st.chrome(&ctx, &format!("/f/{fid}/gmis"), Some(&f)).await?,
        t,
        fid,
        title: v.title.clone(),
        source: v.source.clone(),
        guidance_title: v.guidance_title.clone(),
        guidance_notes: v.guidance_notes.clone(),
        questions,
        complete: v.complete,
        can_answer: ctx.principal.can(Action::AnswerChecklist),
        csrf: ctx.csrf.clone(),
        saved: q.saved.is_some(),
    }
    .into_response())
}

async fn gmis_answer(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, form.get("csrf").map(String::as_str))?;
    let (ctx, f) = gmis_guard(&st, &addr, &headers, fid, Action::AnswerChecklist).await?;
    let q = form.get("question").cloned().unwrap_or_default();
    let a = form.get("answer").cloned().unwrap_or_default();
    match cl::gmis_answer(&st.store, &f, None, &[(q.clone(), a.clone())], &ctx.user.login).await? {
        Ok(n) => {
            if n > 0 {
                st.store
                    .append_audit(&ctx.audit(AuditCategory::Change, "G-MIS調査に回答", &format!("{q} {a}"), Some(fid)))
                    .await?;
            }
            Ok(Redirect::to(&format!("/f/{fid}/gmis?saved=1#{}", enc(&q))).into_response())
        }
        Err(p) => Err(bad(&p)),
    }
}

async fn gmis_export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> WebResult<Response> {
    let (ctx, f) = gmis_guard(&st, &addr, &headers, fid, Action::ViewChecklist).await?;
    let format = match q.format.as_str() {
        "xlsx" => SheetFormat::Xlsx,
        "csv" => SheetFormat::Csv,
        other => return Err(WebError::BadRequest(format!("形式「{other}」は使えません（xlsx, csv）/ unknown format"))),
    };
    let bytes = cl::gmis_export(&st.store, &f, None, format, today()).await?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            &format!("G-MIS調査の回答を書き出し（{}）", format.extension()),
            cl::DEFAULT_SURVEY,
            Some(fid),
        ))
        .await?;
    let name = format!("G-MIS調査_{}.{}", f.data.name, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}
