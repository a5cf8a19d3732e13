//! Facility pages: home, facility switcher, dashboard, the ledgers (list, detail, edit with history),
//! import with a dry-run report, export. Every handler checks the session, the role's permission for the
//! action, the facility and — for vendors — the record scope, on the server.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use mamori_app::ExportFormat;
use mamori_model::Facility;
use mamori_model::audit::AuditCategory;
use mamori_model::auth::{Action, Role};
use mamori_model::date::to_wareki;
use mamori_model::findings::{Finding, FindingOptions, FindingSeverity};
use mamori_model::import::Severity;
use mamori_model::ledger::{Account, CellKind, Device, InfoSystem, LedgerKind, LedgerRecord, RowReader, Vendor};
use mamori_store::{LedgerQuery, LedgerStats};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::i18n::Tr;
use crate::session::Ctx;
use crate::views::*;
use crate::{AppState, PendingUpload, UploadTarget, WebError, WebResult, unix_now};

/// Rows per list page.
const PAGE_SIZE: i64 = 50;
/// The facility switcher of the header lists at most this many; beyond, it links to the searchable list.
const SWITCHER_MAX: i64 = 200;

pub(crate) fn slug_kind(slug: &str) -> WebResult<LedgerKind> {
    LedgerKind::ALL.into_iter().find(|k| k.as_str() == slug).ok_or(WebError::NotFound)
}

pub(crate) fn kind_label(t: Tr, k: LedgerKind) -> String {
    t.pick(k.label_ja(), k.label_en()).to_string()
}

/// Percent-encoding for query values and path segments.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn require(ctx: &Ctx, a: Action) -> WebResult<()> {
    if ctx.principal.can(a) { Ok(()) } else { Err(WebError::Forbidden) }
}

impl AppState {
    /// A page of the facilities the user sees (filtered in the database: a prefecture's inspector or an
    /// administrator of thousands costs the same as one hospital) and how many match.
    pub(crate) async fn visible_facilities(
        &self,
        ctx: &Ctx,
        search: &str,
        limit: i64,
        offset: i64,
    ) -> WebResult<(Vec<Facility>, i64)> {
        Ok(self.store.facilities_in(&ctx.principal.facility_scope(), search, limit, offset).await?)
    }

    /// Session, permission and facility of a request, in that order: how every facility page starts.
    pub(crate) async fn guard(
        &self,
        headers: &HeaderMap,
        addr: &SocketAddr,
        fid: i64,
        a: Action,
    ) -> WebResult<(Ctx, Facility)> {
        let ctx = self.ctx(headers, addr).await?;
        require(&ctx, a)?;
        let f = self.facility_for(&ctx, fid).await?;
        Ok((ctx, f))
    }

    /// [`AppState::guard`] for a state-changing request: the CSRF token is checked before anything else.
    pub(crate) async fn guard_post(
        &self,
        headers: &HeaderMap,
        addr: &SocketAddr,
        fid: i64,
        csrf: Option<&str>,
        a: Action,
    ) -> WebResult<(Ctx, Facility)> {
        let ctx = self.ctx(headers, addr).await?;
        ctx.check_csrf(headers, csrf)?;
        require(&ctx, a)?;
        let f = self.facility_for(&ctx, fid).await?;
        Ok((ctx, f))
    }

    /// The facility of a URL, if the user may see it.
    pub(crate) async fn facility_for(&self, ctx: &Ctx, fid: i64) -> WebResult<Facility> {
        let f = self.store.facility(fid).await?.ok_or(WebError::NotFound)?;
        if ctx.principal.sees_facility(&f) { Ok(f) } else { Err(WebError::Forbidden) }
    }

    pub(crate) async fn chrome(&self, ctx: &Ctx, path: &str, facility: Option<&Facility>) -> WebResult<Chrome> {
        let mut c = Chrome::new(ctx, path);
        c.facility = facility.map(|f| (f.id, f.data.name.clone()));
        // The switcher lists what the user may see (for an administrator of thousands: the facility list page).
        let (visible, total) = self.visible_facilities(ctx, "", SWITCHER_MAX, 0).await?;
        if total <= SWITCHER_MAX {
            c.facilities = visible.into_iter().map(|f| (f.id, f.data.name)).collect();
        }
        c.ledgers = LedgerKind::ALL
            .into_iter()
            .filter(|k| ctx.principal.can(Action::ViewLedger(*k)))
            .map(|k| (k.as_str().to_string(), kind_label(ctx.tr, k)))
            .collect();
        let p = &ctx.principal;
        let vendor = p.role == mamori_model::auth::Role::Vendor;
        let sections = [
            ("checklist", "nav.checklist", p.can(Action::ViewChecklist)),
            ("gmis", "nav.gmis", p.can(Action::ViewChecklist) && !vendor),
            ("contacts", "nav.contacts", p.can(Action::ViewBcp)),
            ("bcp", "nav.bcp", p.can(Action::ViewBcp)),
            ("vuln", "nav.vuln", p.can(Action::ViewVuln)),
            ("backup", "nav.backup", p.can(Action::ViewBackup)),
        ];
        c.sections = sections
            .into_iter()
            .filter(|s| s.2)
            .map(|(slug, key, _)| (slug.to_string(), ctx.tr.s(key).to_string()))
            .collect();
        Ok(c)
    }
}

fn fmt_date(iso: &str, wareki: bool) -> String {
    match (wareki, NaiveDate::parse_from_str(iso, "%Y-%m-%d")) {
        (true, Ok(d)) => format!("{iso}（{}）", to_wareki(d)),
        _ => iso.to_string(),
    }
}

/// A cell as shown: dates with the optional 和暦, yes/no in the user's language.
fn display_cell(t: Tr, kind: CellKind, v: &str, wareki: bool) -> String {
    match kind {
        CellKind::Date if !v.is_empty() => fmt_date(v, wareki),
        CellKind::Bool => match v {
            "はい" => t.pick("はい", "Yes").into(),
            "いいえ" => t.pick("いいえ", "No").into(),
            _ => v.into(),
        },
        CellKind::Enum(values) if t.is_en() => {
            values.iter().find(|e| e.ja == v).map(|e| e.en.to_string()).unwrap_or_else(|| v.to_string())
        }
        _ => v.to_string(),
    }
}

fn list_columns(kind: LedgerKind) -> &'static [&'static str] {
    match kind {
        LedgerKind::Devices => &[
            "asset_no",
            "category",
            "maker",
            "model",
            "os",
            "hostname",
            "location",
            "user",
            "status",
            "end_of_support",
        ],
        LedgerKind::Systems => &["name", "category", "vendor", "remote_maintenance", "importance", "recovery_priority"],
        LedgerKind::Accounts => {
            &["user_id", "department", "family_name", "given_name", "role", "status", "valid_until", "last_login"]
        }
        LedgerKind::Vendors => &["name", "contact_person", "phone", "emergency_phone", "has_contract"],
    }
}

// ---------------------------------------------------------------- home, switcher, dashboard

pub(crate) async fn home(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if st.store.count_users().await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let ctx = st.ctx(&headers, &addr).await?;
    if let Some(fid) = ctx.user.facility_id {
        return Ok(Redirect::to(&format!("/f/{fid}")).into_response());
    }
    let (visible, total) = st.visible_facilities(&ctx, "", 1, 0).await?;
    if total == 1 {
        return Ok(Redirect::to(&format!("/f/{}", visible[0].id)).into_response());
    }
    Ok(Redirect::to("/facilities").into_response())
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct FacilitiesQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

/// The facilities the user sees, searchable and paged (a prefecture has hundreds, a national deployment
/// thousands).
pub(crate) async fn facilities(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(fq): Query<FacilitiesQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let search: String = fq.q.trim().chars().take(200).collect();
    let page = fq.page.unwrap_or(1).max(1);
    let (found, total) = st.visible_facilities(&ctx, &search, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let url = |p: i64| {
        let q = if search.is_empty() { String::new() } else { format!("q={}&", enc(&search)) };
        format!("/facilities?{q}page={p}")
    };
    Ok(FacilitiesPage {
        chrome: st.chrome(&ctx, "/facilities", None).await?,
        list: found.into_iter().map(|f| (f.id, f.data.name, f.data.prefecture)).collect(),
        search: search.clone(),
        total,
        page,
        pages,
        prev_url: if page > 1 { url(page - 1) } else { String::new() },
        next_url: if page < pages { url(page + 1) } else { String::new() },
    }
    .into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct SwitchQuery {
    f: i64,
}

pub(crate) async fn switch(Query(q): Query<SwitchQuery>) -> Response {
    Redirect::to(&format!("/f/{}", q.f)).into_response()
}

/// Findings of a facility, recomputed only when a ledger changed or the day changed.
pub(crate) struct CachedFindings {
    stamp: String,
    findings: std::sync::Arc<Vec<Finding>>,
}

async fn findings_of(
    st: &AppState,
    fid: i64,
    stats: &[(LedgerKind, LedgerStats)],
) -> WebResult<std::sync::Arc<Vec<Finding>>> {
    let today = chrono::Local::now().date_naive();
    // The findings are those of the ledgers' current revisions on this day.
    let mut stamp = today.to_string();
    for (k, s) in stats {
        stamp.push_str(&format!("|{}:{}", k.as_str(), s.rev));
    }
    if let Some(c) = st.findings_cache.lock().expect("cache lock").get(&fid)
        && c.stamp == stamp
    {
        return Ok(c.findings.clone());
    }
    let f = std::sync::Arc::new(mamori_app::ledger_findings(&st.store, fid, &FindingOptions::new(today)).await?);
    st.findings_cache.lock().expect("cache lock").insert(fid, CachedFindings { stamp, findings: f.clone() });
    Ok(f)
}

fn vendor_scope(ctx: &Ctx, kind: LedgerKind) -> WebResult<Option<(String, String)>> {
    match ctx.principal.vendor_scope(kind) {
        None => Ok(None),
        Some(s) => match s.column() {
            Some(col) => Ok(Some((col.to_string(), s.vendor_name))),
            None => Err(WebError::Forbidden),
        },
    }
}

pub(crate) async fn dashboard(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewDashboard).await?;
    let t = ctx.tr;
    let mut counts = Vec::new();
    let stats = st.store.ledger_stats_all(fid).await?;
    for (k, s) in stats.iter().filter(|(k, _)| ctx.principal.can(Action::ViewLedger(*k))) {
        let k = *k;
        let scope = vendor_scope(&ctx, k)?;
        let (all, updated) = (s.count, s.changed_at.clone());
        let count = match &scope {
            None => all,
            Some(_) => {
                let q = LedgerQuery { scope: scope.clone(), limit: 1, ..Default::default() };
                match k {
                    LedgerKind::Devices => st.store.ledger_page::<Device>(fid, &q).await?.1,
                    LedgerKind::Systems => st.store.ledger_page::<InfoSystem>(fid, &q).await?.1,
                    LedgerKind::Accounts => st.store.ledger_page::<Account>(fid, &q).await?.1,
                    LedgerKind::Vendors => st.store.ledger_page::<Vendor>(fid, &q).await?.1,
                }
            }
        };
        let updated = updated.map(|u| u.chars().take(10).collect::<String>());
        counts.push(LedgerCount {
            slug: k.as_str().into(),
            label: kind_label(t, k),
            count,
            updated: updated.map(|d| fmt_date(&d, ctx.wareki)).unwrap_or_else(|| "—".into()),
        });
    }
    // Findings name records: shown only for ledgers the user reads in full (never to vendors).
    let (mut severities, mut overdue, mut more) = (Vec::new(), Vec::new(), 0);
    if ctx.principal.role != Role::Vendor {
        let all = findings_of(&st, fid, &stats).await?;
        let shown: Vec<&Finding> = all.iter().filter(|x| ctx.principal.can(Action::ViewLedger(x.ledger))).collect();
        for sev in [FindingSeverity::High, FindingSeverity::Medium, FindingSeverity::Low, FindingSeverity::Info] {
            let n = shown.iter().filter(|x| x.severity == sev).count();
            severities.push((sev.as_str().to_string(), t.s(&format!("sev.{}", sev.as_str())).to_string(), n));
        }
        let urgent: Vec<&&Finding> =
            shown.iter().filter(|x| matches!(x.severity, FindingSeverity::High | FindingSeverity::Medium)).collect();
        more = urgent.len().saturating_sub(20);
        overdue = urgent
            .into_iter()
            .take(20)
            .map(|x| OverdueItem {
                ledger_slug: x.ledger.as_str().into(),
                ledger_label: kind_label(t, x.ledger),
                key: x.key.clone(),
                title: t.pick(&x.title_ja, &x.title_en).to_string(),
                reason: t.pick(&x.reason_ja, &x.reason_en).to_string(),
                severity: x.severity.as_str().into(),
                linkable: !x.key.is_empty(),
            })
            .collect();
    }
    // The capability blocks the role may see; each loads itself after the page (see `summary`).
    let p = &ctx.principal;
    let blocks = [
        ("checklist/readiness", "readiness", p.can(Action::ViewChecklist) && p.role != Role::Vendor),
        ("summary/bcp", "summary-bcp", p.can(Action::ViewBcp)),
        ("summary/vuln", "summary-vuln", p.can(Action::ViewVuln)),
        ("summary/backup", "summary-backup", p.can(Action::ViewBackup)),
    ]
    .into_iter()
    .filter(|b| b.2)
    .map(|(path, id, _)| (path, id))
    .collect();
    Ok(DashboardPage {
        chrome: st.chrome(&ctx, &format!("/f/{fid}"), Some(&f)).await?,
        counts,
        severities,
        overdue,
        overdue_more: more,
        blocks,
    }
    .into_response())
}

// ---------------------------------------------------------------- ledger list

fn list_url(fid: i64, slug: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    if q.is_empty() { format!("/f/{fid}/l/{slug}") } else { format!("/f/{fid}/l/{slug}?{}", q.join("&")) }
}

pub(crate) async fn ledger_list(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug)): Path<(i64, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::ViewLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    match kind {
        LedgerKind::Devices => list_typed::<Device>(&st, &ctx, &headers, &f, &params).await,
        LedgerKind::Systems => list_typed::<InfoSystem>(&st, &ctx, &headers, &f, &params).await,
        LedgerKind::Accounts => list_typed::<Account>(&st, &ctx, &headers, &f, &params).await,
        LedgerKind::Vendors => list_typed::<Vendor>(&st, &ctx, &headers, &f, &params).await,
    }
}

async fn list_typed<T: LedgerRecord + DeserializeOwned>(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    f: &Facility,
    params: &HashMap<String, String>,
) -> WebResult<Response> {
    let kind = T::KIND;
    let slug = kind.as_str();
    let t = ctx.tr;
    let get = |k: &str| params.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let search: String = get("q").chars().take(200).collect();
    let shown = list_columns(kind);
    let sort = get("sort");
    let sort = if shown.contains(&sort.as_str()) { sort } else { String::new() };
    let dir = if get("dir") == "desc" { "desc".to_string() } else { "asc".to_string() };
    let page = get("page").parse::<i64>().unwrap_or(1).max(1);
    let enum_cols: Vec<_> = kind.columns().iter().filter(|c| matches!(c.kind, CellKind::Enum(_))).collect();
    let mut filters = Vec::new();
    let mut views_f = Vec::new();
    for c in &enum_cols {
        let CellKind::Enum(values) = c.kind else { continue };
        let chosen = get(c.key);
        let chosen = if values.iter().any(|e| e.code == chosen) { chosen } else { String::new() };
        if !chosen.is_empty() {
            filters.push((c.key.to_string(), chosen.clone()));
        }
        views_f.push(FilterView {
            col: c.key.into(),
            label: t.pick(c.ja, c.en).into(),
            options: values.iter().map(|e| (e.code.into(), t.pick(e.ja, e.en).into(), e.code == chosen)).collect(),
        });
    }
    let q = LedgerQuery {
        search: search.clone(),
        filters: filters.clone(),
        scope: vendor_scope(ctx, kind)?,
        sort: sort.clone(),
        descending: dir == "desc",
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let (records, total) = st.store.ledger_page::<T>(f.id, &q).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let mut base: Vec<(&str, &str)> = vec![("q", &search)];
    for (k, v) in &filters {
        base.push((k, v));
    }
    let page_url = |p: i64| {
        let ps = p.to_string();
        let mut v = base.clone();
        v.push(("sort", &sort));
        v.push(("dir", if sort.is_empty() { "" } else { &dir }));
        v.push(("page", &ps));
        list_url(f.id, slug, &v)
    };
    let cols: Vec<(usize, &mamori_model::ledger::ColumnDef)> = shown
        .iter()
        .filter_map(|k| kind.columns().iter().position(|c| c.key == *k).map(|i| (i, &kind.columns()[i])))
        .collect();
    let list_cols = cols
        .iter()
        .map(|(_, c)| {
            let (next_dir, arrow) =
                if sort == c.key { if dir == "asc" { ("desc", " ▲") } else { ("asc", " ▼") } } else { ("asc", "") };
            let mut v = base.clone();
            v.push(("sort", c.key));
            v.push(("dir", next_dir));
            ListCol {
                key: c.key.into(),
                label: t.pick(c.ja, c.en).into(),
                sort_url: list_url(f.id, slug, &v),
                arrow: arrow.into(),
            }
        })
        .collect();
    let rows = records
        .iter()
        .map(|r| {
            let cells = r.to_cells();
            ListRow {
                key: r.key().to_string(),
                url: format!("/f/{}/l/{slug}/r/{}", f.id, enc(r.key())),
                cells: cols.iter().map(|(i, c)| display_cell(t, c.kind, &cells[*i], ctx.wareki)).collect(),
            }
        })
        .collect();
    let list = ListData {
        t,
        cols: list_cols,
        rows,
        total,
        page,
        pages,
        prev_url: if page > 1 { page_url(page - 1) } else { String::new() },
        next_url: if page < pages { page_url(page + 1) } else { String::new() },
    };
    if kind == LedgerKind::Accounts {
        let target = if search.is_empty() { "一覧".to_string() } else { format!("一覧（検索: {search}）") };
        st.store.append_audit(&ctx.audit(AuditCategory::View, "利用者ID台帳を閲覧", &target, Some(f.id))).await?;
    }
    if headers.contains_key("hx-request") && !headers.contains_key("hx-boosted") {
        return Ok(LedgerRows { list }.into_response());
    }
    let path = page_url(page);
    Ok(LedgerPage {
        chrome: st.chrome(ctx, &path, Some(f)).await?,
        slug: slug.into(),
        title: kind_label(t, kind),
        search,
        filters: views_f,
        sort,
        dir,
        can_import: ctx.principal.can(Action::ImportLedger(kind)),
        can_export: ctx.principal.can(Action::ExportLedger(kind)),
        list,
    }
    .into_response())
}

// ---------------------------------------------------------------- record, edit

#[derive(serde::Deserialize, Default)]
pub(crate) struct RecordQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(crate) async fn record(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug, key)): Path<(i64, String, String)>,
    Query(q): Query<RecordQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::ViewLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let saved = q.saved.is_some();
    match kind {
        LedgerKind::Devices => record_typed::<Device>(&st, &ctx, &f, &key, saved).await,
        LedgerKind::Systems => record_typed::<InfoSystem>(&st, &ctx, &f, &key, saved).await,
        LedgerKind::Accounts => record_typed::<Account>(&st, &ctx, &f, &key, saved).await,
        LedgerKind::Vendors => record_typed::<Vendor>(&st, &ctx, &f, &key, saved).await,
    }
}

async fn load_record<T: LedgerRecord + DeserializeOwned>(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    key: &str,
) -> WebResult<T> {
    let scope = vendor_scope(ctx, T::KIND)?;
    st.store
        .record::<T>(f.id, key, scope.as_ref().map(|(c, v)| (c.as_str(), v.as_str())))
        .await?
        .ok_or(WebError::NotFound)
}

fn json_cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Bool(b)) => {
            if *b {
                "はい".into()
            } else {
                "いいえ".into()
            }
        }
        Some(other) => other.to_string(),
    }
}

async fn record_typed<T: LedgerRecord + DeserializeOwned>(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    key: &str,
    saved: bool,
) -> WebResult<Response> {
    let kind = T::KIND;
    let t = ctx.tr;
    let rec: T = load_record(st, ctx, f, key).await?;
    let cells = rec.to_cells();
    let fields = kind
        .columns()
        .iter()
        .zip(cells.iter())
        .map(|(c, v)| (t.pick(c.ja, c.en).to_string(), display_cell(t, c.kind, v, ctx.wareki)))
        .collect();
    let history = st
        .store
        .history(f.id, kind.as_str(), key)
        .await?
        .into_iter()
        .map(|h| HistoryView {
            by: h.changed_by,
            at: h.changed_at,
            changes: kind
                .columns()
                .iter()
                .filter_map(|c| {
                    let (b, a) = (json_cell(h.before.get(c.key)), json_cell(h.after.get(c.key)));
                    (b != a).then(|| (t.pick(c.ja, c.en).to_string(), b, a))
                })
                .collect(),
        })
        .collect();
    if kind == LedgerKind::Accounts {
        st.store.append_audit(&ctx.audit(AuditCategory::View, "利用者ID台帳の個人記録を閲覧", key, Some(f.id))).await?;
    }
    let path = format!("/f/{}/l/{}/r/{}", f.id, kind.as_str(), enc(key));
    Ok(RecordPage {
        chrome: st.chrome(ctx, &path, Some(f)).await?,
        slug: kind.as_str().into(),
        title: kind_label(t, kind),
        key: key.into(),
        fields,
        can_edit: ctx.principal.can(Action::EditLedger(kind)),
        saved,
        history,
    }
    .into_response())
}

/// A cell problem found by RowReader, as the edit form shows it next to the field.
struct FieldProblem {
    column: &'static str,
    message_ja: String,
    message_en: String,
    hint_ja: String,
    hint_en: String,
}

fn edit_fields(t: Tr, kind: LedgerKind, cells: &[String], problems: &[FieldProblem]) -> Vec<EditField> {
    kind.columns()
        .iter()
        .zip(cells.iter())
        .map(|(c, v)| {
            let p = problems.iter().find(|p| p.column == c.key);
            let options: Vec<(String, String)> = match c.kind {
                CellKind::Enum(values) => {
                    values.iter().map(|e| (e.ja.to_string(), t.pick(e.ja, e.en).to_string())).collect()
                }
                CellKind::Bool => vec![
                    ("はい".into(), t.pick("はい", "Yes").into()),
                    ("いいえ".into(), t.pick("いいえ", "No").into()),
                ],
                _ => Vec::new(),
            };
            EditField {
                key: c.key.into(),
                label: t.pick(c.ja, c.en).into(),
                value: v.clone(),
                readonly: c.kind == CellKind::Key,
                multiline: matches!(
                    c.key,
                    "description" | "software" | "software_version" | "alternative" | "contract"
                ),
                options,
                error: p.map(|p| t.pick(&p.message_ja, &p.message_en).to_string()).unwrap_or_default(),
                hint: p.map(|p| t.pick(&p.hint_ja, &p.hint_en).to_string()).unwrap_or_default(),
            }
        })
        .collect()
}

pub(crate) async fn edit_form(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug, key)): Path<(i64, String, String)>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::EditLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let cells = match kind {
        LedgerKind::Devices => load_record::<Device>(&st, &ctx, &f, &key).await?.to_cells(),
        LedgerKind::Systems => load_record::<InfoSystem>(&st, &ctx, &f, &key).await?.to_cells(),
        LedgerKind::Accounts => load_record::<Account>(&st, &ctx, &f, &key).await?.to_cells(),
        LedgerKind::Vendors => load_record::<Vendor>(&st, &ctx, &f, &key).await?.to_cells(),
    };
    let path = format!("/f/{fid}/l/{slug}/r/{}/edit", enc(&key));
    Ok(EditPage {
        chrome: st.chrome(&ctx, &path, Some(&f)).await?,
        slug,
        title: kind_label(ctx.tr, kind),
        key,
        fields: edit_fields(ctx.tr, kind, &cells, &[]),
        has_errors: false,
    }
    .into_response())
}

pub(crate) async fn edit_submit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug, key)): Path<(i64, String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, form.get("csrf").map(String::as_str))?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::EditLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    match kind {
        LedgerKind::Devices => save_typed::<Device>(&st, &ctx, &f, &key, &form).await,
        LedgerKind::Systems => save_typed::<InfoSystem>(&st, &ctx, &f, &key, &form).await,
        LedgerKind::Accounts => save_typed::<Account>(&st, &ctx, &f, &key, &form).await,
        LedgerKind::Vendors => save_typed::<Vendor>(&st, &ctx, &f, &key, &form).await,
    }
}

/// Validates the form with the importer's own rules (RowReader), then writes, records the history and logs.
async fn save_typed<T: LedgerRecord + DeserializeOwned + Serialize + PartialEq>(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    key: &str,
    form: &HashMap<String, String>,
) -> WebResult<Response> {
    let kind = T::KIND;
    let before: T = load_record(st, ctx, f, key).await?;
    let cells: Vec<Option<String>> = kind
        .columns()
        .iter()
        .map(|c| {
            if c.kind == CellKind::Key {
                Some(key.to_string())
            } else {
                Some(form.get(c.key).map(|v| v.trim().replace("\r\n", "\n")).unwrap_or_default())
            }
        })
        .collect();
    let mut reader = RowReader::new(kind, &cells);
    let rec = T::read(&mut reader);
    if !reader.problems.is_empty() {
        let problems: Vec<FieldProblem> = reader
            .problems
            .iter()
            .map(|p| FieldProblem {
                column: p.column,
                message_ja: p.message_ja.clone(),
                message_en: p.message_en.clone(),
                hint_ja: p.hint_ja.clone(),
                hint_en: p.hint_en.clone(),
            })
            .collect();
        let shown: Vec<String> = cells.iter().map(|c| c.clone().unwrap_or_default()).collect();
        let path = format!("/f/{}/l/{}/r/{}/edit", f.id, kind.as_str(), enc(key));
        let page = EditPage {
            chrome: st.chrome(ctx, &path, Some(f)).await?,
            slug: kind.as_str().into(),
            title: kind_label(ctx.tr, kind),
            key: key.into(),
            fields: edit_fields(ctx.tr, kind, &shown, &problems),
            has_errors: true,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let url = format!("/f/{}/l/{}/r/{}?saved=1", f.id, kind.as_str(), enc(key));
    if rec == before {
        return Ok(Redirect::to(&url).into_response());
    }
    st.store.save_edit(f.id, &before, &rec, &ctx.user.login).await?;
    st.store
        .append_audit(&ctx.audit(AuditCategory::Change, &format!("{}を更新", kind.label_ja()), key, Some(f.id)))
        .await?;
    Ok(Redirect::to(&url).into_response())
}

// ---------------------------------------------------------------- export

#[derive(serde::Deserialize)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// `Content-Disposition` for a download with a Japanese file name.
pub(crate) fn attachment(name: &str) -> HeaderValue {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", enc(name)))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub(crate) async fn export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug)): Path<(i64, String)>,
    Query(q): Query<ExportQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::ExportLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let (format, label) = match q.format.as_str() {
        "xlsx" => (ExportFormat::Xlsx, "Excel"),
        "cp932" => (ExportFormat::CsvCp932, "CSV（Shift_JIS）"),
        "csv" | "" => (ExportFormat::Csv, "CSV（UTF-8）"),
        other => {
            return Err(WebError::BadRequest(format!(
                "形式「{other}」は使えません（csv, cp932, xlsx）/ unknown format"
            )));
        }
    };
    let bytes = mamori_app::export_bytes(&st.store, fid, kind, format).await?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            &format!("{}を書き出し（{label}）", kind.label_ja()),
            &format!("{}件", st.store.count(fid, kind).await?),
            Some(fid),
        ))
        .await?;
    let name = format!("{}_{}.{}", kind.label_ja(), f.data.name, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------- import

fn import_page(chrome: Chrome, kind: LedgerKind, t: Tr) -> ImportPage {
    ImportPage {
        chrome,
        slug: kind.as_str().into(),
        title: kind_label(t, kind),
        checked: false,
        file: String::new(),
        rows: 0,
        errors: 0,
        issues: Vec::new(),
        upload_id: String::new(),
        done: None,
        message: String::new(),
    }
}

pub(crate) async fn import_form(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug)): Path<(i64, String)>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::ImportLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let chrome = st.chrome(&ctx, &format!("/f/{fid}/l/{slug}/import"), Some(&f)).await?;
    Ok(import_page(chrome, kind, ctx.tr).into_response())
}

pub(crate) async fn import_check(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug)): Path<(i64, String)>,
    mut mp: Multipart,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    let kind = slug_kind(&slug)?;
    let (mut csrf, mut file): (Option<String>, Option<(String, Vec<u8>)>) = (None, None);
    while let Some(field) = mp.next_field().await.map_err(|e| WebError::BadRequest(e.to_string()))? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = Some(field.text().await.map_err(|e| WebError::BadRequest(e.to_string()))?),
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                let bytes = field.bytes().await.map_err(|e| WebError::BadRequest(e.to_string()))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    ctx.check_csrf(&headers, csrf.as_deref())?;
    require(&ctx, Action::ImportLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let t = ctx.tr;
    let chrome = st.chrome(&ctx, &format!("/f/{fid}/l/{slug}/import"), Some(&f)).await?;
    let mut page = import_page(chrome, kind, t);
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        page.message = t.s("error.bad_request").into();
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let table = match mamori_tabular::read_bytes(&bytes, &name, &mamori_tabular::ReadOptions::default()) {
        Ok(tb) => tb,
        Err(e) => {
            page.message = e.to_string();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mapping = st.store.header_mapping(fid, kind).await?;
    let report =
        mamori_app::import_table(&st.store, &f, kind, table, &mapping, &bytes, true, &ctx.user.login, |_, _| {})
            .await?;
    page.checked = true;
    page.file = name.clone();
    page.rows = report.rows;
    page.errors = report.error_count();
    page.issues = report
        .issues
        .iter()
        .map(|i| IssueRow {
            severity: match i.severity {
                Severity::Error => t.s("import.error").into(),
                Severity::Warning => t.s("import.warning").into(),
            },
            is_error: i.severity == Severity::Error,
            row: i.row.map(|r| r.to_string()).unwrap_or_default(),
            column: match (&i.column, &i.column_letter) {
                (Some(c), Some(l)) => format!("{c}（{l}）"),
                (Some(c), None) => c.clone(),
                _ => String::new(),
            },
            value: i.value.clone(),
            message: t.pick(&i.message_ja, &i.message_en).into(),
            hint: t.pick(&i.hint_ja, &i.hint_en).into(),
        })
        .collect();
    if page.errors == 0 {
        page.upload_id = st.keep_upload(PendingUpload {
            user_id: ctx.user.id,
            facility_id: fid,
            target: UploadTarget::Ledger(kind),
            name,
            bytes,
            created: unix_now(),
        });
    }
    let status = if page.errors == 0 { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page).into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upload: String,
}

pub(crate) async fn import_confirm(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, slug)): Path<(i64, String)>,
    Form(form): Form<ConfirmForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&form.csrf))?;
    let kind = slug_kind(&slug)?;
    require(&ctx, Action::ImportLedger(kind))?;
    let f = st.facility_for(&ctx, fid).await?;
    let t = ctx.tr;
    let chrome = st.chrome(&ctx, &format!("/f/{fid}/l/{slug}/import"), Some(&f)).await?;
    let mut page = import_page(chrome, kind, t);
    let upload = st.take_upload(&form.upload, ctx.user.id, fid, UploadTarget::Ledger(kind), unix_now());
    let Some(up) = upload else {
        page.message = t.s("import.expired").into();
        return Ok((StatusCode::GONE, page).into_response());
    };
    let table = mamori_tabular::read_bytes(&up.bytes, &up.name, &mamori_tabular::ReadOptions::default())
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let mapping = st.store.header_mapping(fid, kind).await?;
    let report =
        mamori_app::import_table(&st.store, &f, kind, table, &mapping, &up.bytes, false, &ctx.user.login, |_, _| {})
            .await?;
    match (report.written, report.counts) {
        (true, Some(c)) => {
            st.store
                .append_audit(&ctx.audit(
                    AuditCategory::Change,
                    &format!("{}に取り込み", kind.label_ja()),
                    &format!("{}（追加{} 更新{} 変更なし{}）", up.name, c.added, c.updated, c.unchanged),
                    Some(fid),
                ))
                .await?;
            page.done = Some((c.added, c.updated, c.unchanged));
            Ok(page.into_response())
        }
        _ => {
            page.message = t.s("import.errors").into();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_dates() {
        assert_eq!(enc("PC-0001"), "PC-0001");
        assert_eq!(enc("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(fmt_date("2019-05-01", true), "2019-05-01（令和元年5月1日）");
        assert_eq!(fmt_date("2019-05-01", false), "2019-05-01");
        assert!(slug_kind("devices").is_ok());
        assert!(slug_kind("../etc").is_err());
    }
}
