//! Pages of the vuln capability: /f/{fid}/vuln…. Templates are templates/vuln_*.html, messages i18n/vuln.{ja,en}.toml.
//!
//! - GET  /f/{fid}/vuln                 findings (priority order, KEV / ransomware marks, JVN title, filters),
//!   feed freshness, last scan, devices to review
//! - GET  /f/{fid}/vuln/finding?key=…   one finding, its history, the triage form
//! - GET  /f/{fid}/vuln/d/{asset}       one device: its CPEs with reasons, the override form, its findings
//! - GET  /f/{fid}/vuln/export?format=  CSV / xlsx of the findings (access log)
//! - POST /f/{fid}/vuln/triage, /f/{fid}/vuln/d/{asset}/cpe, /f/{fid}/vuln/scan   (TriageVuln, CSRF, access log)
//!
//! Every handler checks the session, the role (ViewVuln / TriageVuln) and the facility on the server.

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use mamori_app::vuln as app;
use mamori_model::Facility;
use mamori_model::audit::AuditCategory;
use mamori_model::auth::Action;
use mamori_model::ledger::Device;
use mamori_store::vuln::{FindingFilter, FindingState, StoredFinding};

use crate::i18n::Tr;
use crate::pages::{attachment, enc};
use crate::session::Ctx;
use crate::views::Chrome;
use crate::{AppState, WebError, WebResult};

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/f/{fid}/vuln", get(findings_page))
        .route("/f/{fid}/vuln/finding", get(finding_page))
        .route("/f/{fid}/vuln/d/{asset}", get(device_page))
        .route("/f/{fid}/vuln/d/{asset}/cpe", post(set_cpe))
        .route("/f/{fid}/vuln/export", get(export))
        .route("/f/{fid}/vuln/triage", post(triage))
        .route("/f/{fid}/vuln/scan", post(scan))
}

/// Rows one page of the findings shows (highest priority first); the pages, filters and the export
/// reach the rest. Counts are made in SQL over every finding the filter selects.
const PAGE_ROWS: usize = 500;

// ---------------------------------------------------------------- view data

pub(crate) struct FeedView {
    pub label: String,
    pub records: i64,
    pub as_of: String,
    pub age: String,
    pub stale: bool,
    pub last: String,
}

pub(crate) struct RowView {
    pub key: String,
    pub key_enc: String,
    pub asset: String,
    pub asset_enc: String,
    pub hostname: String,
    pub device: String,
    pub cve: String,
    pub jvn: String,
    pub title: String,
    pub kev: bool,
    pub ransomware: bool,
    pub external: bool,
    pub score: String,
    pub confidence: String,
    pub confirmed: bool,
    pub fixed: String,
    pub state: String,
    pub state_code: String,
    pub present: bool,
    pub reason: String,
}

fn row_view(t: Tr, f: &StoredFinding, hostname: &str, device: &str) -> RowView {
    let d = &f.data;
    let (cja, cen) = app::confidence_label(&d.confidence);
    RowView {
        key: d.key.clone(),
        key_enc: enc(&d.key),
        asset: d.asset_no.clone(),
        asset_enc: enc(&d.asset_no),
        hostname: hostname.to_string(),
        device: device.to_string(),
        cve: d.cve_id.clone(),
        jvn: d.jvn_id.clone().unwrap_or_default(),
        title: d.title_ja.clone().unwrap_or_default(),
        kev: d.kev,
        ransomware: d.ransomware,
        external: d.at_external_point,
        score: if d.score10 > 0 { format!("{:.1}", d.score10 as f64 / 10.0) } else { "-".into() },
        confidence: t.pick(cja, cen).to_string(),
        confirmed: app::is_confirmed(&d.confidence),
        fixed: d.fixed_version.clone().unwrap_or_default(),
        state: t.pick(f.state.label_ja(), f.state.label_en()).to_string(),
        state_code: f.state.as_str().to_string(),
        present: f.present,
        reason: d.reason.clone(),
    }
}

pub(crate) struct CveView {
    pub cve: String,
    pub devices: i64,
    pub title: String,
    pub kev: bool,
    pub ransomware: bool,
    pub score: String,
    /// The CVE id for a link to its devices' findings.
    pub cve_enc: String,
}

pub(crate) struct ReviewView {
    pub asset: String,
    pub asset_enc: String,
    pub hostname: String,
    pub device: String,
    pub cpes: String,
    pub unrecognised: String,
}

pub(crate) struct StateOption {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "vuln_findings.html")]
pub(crate) struct FindingsPage {
    pub chrome: Chrome,
    pub can_triage: bool,
    pub feeds: Vec<FeedView>,
    pub any_stale: bool,
    pub last_scan: String,
    pub scanned: bool,
    pub rows: Vec<RowView>,
    pub total: i64,
    /// More rows than the page shows.
    pub truncated: bool,
    pub kev_count: i64,
    pub ransomware_count: i64,
    pub external_count: i64,
    /// "1–500 / 5,824,257" (or by CVE: CVEs).
    pub range: String,
    pub prev_link: String,
    pub next_link: String,
    /// Breakdown of the selected findings: (label, count).
    pub by_tier: Vec<(String, i64)>,
    pub by_confidence: Vec<(String, i64)>,
    pub by_state: Vec<(String, i64)>,
    /// The "by CVE" view: one row per CVE with its number of devices.
    pub by_cve: bool,
    pub cves: Vec<CveView>,
    pub list_link: String,
    pub cve_link: String,
    pub review: Vec<ReviewView>,
    pub states: Vec<StateOption>,
    pub kev_only: bool,
    pub external_only: bool,
    pub min_cvss: String,
    pub query: String,
    pub notice: String,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kev: String,
    #[serde(default)]
    ext: String,
    #[serde(default)]
    min: String,
    /// One CVE only.
    #[serde(default)]
    cve: String,
    #[serde(default)]
    scanned: String,
    /// 1-based page number.
    #[serde(default)]
    page: String,
    /// "cve": one row per CVE.
    #[serde(default)]
    view: String,
}

fn filter_of(q: &ListQuery) -> WebResult<FindingFilter> {
    let mut f = FindingFilter {
        kev_only: q.kev == "1",
        external_only: q.ext == "1",
        min_score10: match q.min.as_str() {
            "" => None,
            "7" => Some(70),
            "9" => Some(90),
            "4" => Some(40),
            _ => {
                return Err(WebError::BadRequest(
                    "CVSS の下限は 4, 7, 9 のいずれかです / min CVSS is 4, 7 or 9".into(),
                ));
            }
        },
        cve_id: (!q.cve.trim().is_empty()).then(|| q.cve.trim().to_string()),
        ..Default::default()
    };
    match q.state.as_str() {
        "" | "open" => f.states = vec![FindingState::Open],
        "all" => f.include_absent = true,
        s => match FindingState::parse(s) {
            Some(st) => {
                f.states = vec![st];
                f.include_absent = true;
            }
            None => return Err(WebError::BadRequest(format!("状態「{s}」はありません / unknown state"))),
        },
    }
    Ok(f)
}

fn device_label(d: &Device) -> String {
    let os = if d.os_version.is_empty() { d.os.clone() } else { format!("{} {}", d.os, d.os_version) };
    format!("{} {} / {}", d.maker, d.model, os).trim().to_string()
}

fn feed_views(t: Tr, feeds: &[mamori_store::vuln::FeedStatus]) -> Vec<FeedView> {
    let today = chrono::Local::now().date_naive();
    feeds
        .iter()
        .map(|s| {
            let age = app::feed_age_days(s, today);
            FeedView {
                label: s.feed.label().to_string(),
                records: s.records,
                as_of: s.data_as_of.clone().unwrap_or_else(|| "-".into()),
                age: match age {
                    Some(d) => format!("{d}{}", t.s("vuln.days_ago")),
                    None => t.s("vuln.never").to_string(),
                },
                stale: age.is_none_or(|d| d > app::STALE_DAYS),
                last: s
                    .last
                    .as_ref()
                    .map(|l| format!("{}（{}, {}）", l.imported_at, l.source, l.imported_by))
                    .unwrap_or_else(|| t.s("vuln.never").to_string()),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- findings page

pub(crate) async fn findings_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewVuln).await?;
    let t = ctx.tr;
    let filter = filter_of(&q)?;
    let page: i64 = match q.page.as_str() {
        "" => 1,
        p => p.parse().ok().filter(|n: &i64| *n >= 1).ok_or_else(|| {
            WebError::BadRequest(format!("ページ「{p}」は 1 以上の数で指定してください / page must be a number from 1"))
        })?,
    };
    let by_cve = match q.view.as_str() {
        "" => false,
        "cve" => true,
        v => return Err(WebError::BadRequest(format!("表示「{v}」はありません / unknown view"))),
    };
    let per = PAGE_ROWS as i64;
    let offset = (page - 1).saturating_mul(per);
    let counts = st.store.vuln_finding_counts(f.id, &filter).await?;
    let feeds = feed_views(t, &st.store.vuln_feed_status().await?);
    let last = st.store.vuln_last_scan(f.id).await?;
    let devices: HashMap<String, Device> =
        st.store.list::<Device>(f.id).await?.into_iter().map(|d| (d.asset_no.clone(), d)).collect();
    let (views, cves, listed) = if by_cve {
        let (n, list) = st.store.vuln_findings_by_cve(f.id, &filter, offset, per).await?;
        let cves: Vec<CveView> = list
            .into_iter()
            .map(|c| CveView {
                cve_enc: enc(&c.cve_id),
                cve: c.cve_id,
                devices: c.devices,
                title: c.title_ja.unwrap_or_default(),
                kev: c.kev,
                ransomware: c.ransomware,
                score: if c.score10 > 0 { format!("{:.1}", c.score10 as f64 / 10.0) } else { "-".into() },
            })
            .collect();
        (Vec::new(), cves, n)
    } else {
        // At most the rows the counts say are there: the read stops at the last one.
        let rows = st.store.vuln_findings_page(f.id, &filter, offset, per.min(counts.total - offset)).await?;
        let views: Vec<RowView> = rows
            .iter()
            .map(|r| {
                let d = devices.get(&r.data.asset_no);
                let hostname = d.map(|d| d.hostname.clone()).unwrap_or_default();
                let label = d.map(|d| format!("{} {}", d.maker, d.model).trim().to_string()).unwrap_or_default();
                row_view(t, r, &hostname, &label)
            })
            .collect();
        (views, Vec::new(), counts.total)
    };
    let review = st
        .store
        .vuln_device_cpes(f.id)
        .await?
        .into_iter()
        .filter(|d| d.needs_review)
        .map(|d| {
            let dev = devices.get(&d.asset_no);
            let cpes: Vec<serde_json::Value> = serde_json::from_str(&d.cpes).unwrap_or_default();
            let unrec: Vec<String> = serde_json::from_str(&d.unrecognised).unwrap_or_default();
            ReviewView {
                asset_enc: enc(&d.asset_no),
                asset: d.asset_no,
                hostname: dev.map(|d| d.hostname.clone()).unwrap_or_default(),
                device: dev.map(device_label).unwrap_or_default(),
                cpes: cpes.iter().filter_map(|c| c["cpe"].as_str()).collect::<Vec<_>>().join(" "),
                unrecognised: unrec.join("、"),
            }
        })
        .collect();
    let selected = if q.state.is_empty() { "open" } else { q.state.as_str() };
    let mut states =
        vec![StateOption { code: "all".into(), label: t.s("vuln.state_all").into(), selected: selected == "all" }];
    states.extend(FindingState::ALL.iter().map(|s| StateOption {
        code: s.as_str().into(),
        label: t.pick(s.label_ja(), s.label_en()).into(),
        selected: selected == s.as_str(),
    }));
    // A view of the findings is security-sensitive (where the hospital is open to attack): logged
    // like the ledger pages' views, with the filter it was shown with.
    let shown =
        if query_text(&q).is_empty() { "一覧".to_string() } else { format!("一覧（{}）", query_text(&q)) };
    let shown = if by_cve { format!("{shown} CVE 別") } else { shown };
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::View,
            "脆弱性診断結果を閲覧",
            &format!("{shown} {}件（{}ページ目）", counts.total, page),
            Some(f.id),
        ))
        .await?;
    let base = {
        let qt = query_text(&q);
        let v = if by_cve { "view=cve" } else { "" };
        let mut parts: Vec<&str> = Vec::new();
        if !qt.is_empty() {
            parts.push(&qt);
        }
        if !v.is_empty() {
            parts.push(v);
        }
        format!("/f/{fid}/vuln?{}", parts.join("&"))
    };
    let link = |p: i64| format!("{base}{}page={p}", if base.ends_with('?') { "" } else { "&" });
    let shown_to = (offset + if by_cve { cves.len() as i64 } else { views.len() as i64 }).min(listed);
    let list_base = {
        let qt = query_text(&q);
        if qt.is_empty() { format!("/f/{fid}/vuln") } else { format!("/f/{fid}/vuln?{qt}") }
    };
    let cve_link = format!("{list_base}{}view=cve", if list_base.contains('?') { "&" } else { "?" });
    // Counts keyed by a code, shown under the code's label in the reader's language.
    let labelled = |rows: &[(String, i64)], label: fn(&str) -> (&'static str, &'static str)| {
        rows.iter()
            .map(|(k, n)| {
                let (ja, en) = label(k);
                (t.pick(ja, en).to_string(), *n)
            })
            .collect()
    };
    let tier_rows = labelled(&counts.by_tier, app::tier_label);
    let conf_rows = labelled(&counts.by_confidence, app::confidence_label);
    let state_rows =
        counts.by_state.iter().map(|(s, n)| (t.pick(s.label_ja(), s.label_en()).to_string(), *n)).collect();
    Ok(FindingsPage {
        chrome: st.chrome(&ctx, &format!("/f/{fid}/vuln"), Some(&f)).await?,
        can_triage: ctx.principal.can(Action::TriageVuln),
        any_stale: feeds.iter().any(|x| x.stale),
        feeds,
        scanned: last.is_some(),
        last_scan: last
            .map(|s| {
                format!(
                    "{}（{}）: {} {} / {} {} / CVE {}",
                    s.scanned_at,
                    s.scanned_by,
                    s.devices,
                    t.s("vuln.devices_unit"),
                    s.findings,
                    t.s("vuln.findings_unit"),
                    s.cves_loaded
                )
            })
            .unwrap_or_default(),
        total: counts.total,
        kev_count: counts.kev,
        ransomware_count: counts.ransomware,
        external_count: counts.external,
        truncated: listed > per,
        range: if listed == 0 { String::new() } else { format!("{}–{} / {}", offset + 1, shown_to, listed) },
        prev_link: if page > 1 { link(page - 1) } else { String::new() },
        next_link: if offset + per < listed { link(page + 1) } else { String::new() },
        by_tier: tier_rows,
        by_confidence: conf_rows,
        by_state: state_rows,
        by_cve,
        cves,
        list_link: list_base,
        cve_link,
        rows: views,
        review,
        states,
        kev_only: q.kev == "1",
        external_only: q.ext == "1",
        min_cvss: q.min.clone(),
        query: query_text(&q),
        notice: if q.scanned == "1" { t.s("vuln.scan_done").into() } else { String::new() },
    }
    .into_response())
}

/// The list's filter as a query string (for the export link and the access log).
fn query_text(q: &ListQuery) -> String {
    let mut query = Vec::new();
    for (k, v) in [("state", &q.state), ("kev", &q.kev), ("ext", &q.ext), ("min", &q.min), ("cve", &q.cve)] {
        if !v.is_empty() {
            query.push(format!("{k}={}", enc(v)));
        }
    }
    query.join("&")
}

// ---------------------------------------------------------------- one finding

#[derive(serde::Deserialize)]
pub(crate) struct KeyQuery {
    key: String,
    #[serde(default)]
    saved: String,
}

pub(crate) struct HistoryView {
    pub at: String,
    pub by: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "vuln_finding.html")]
pub(crate) struct FindingPage {
    pub chrome: Chrome,
    pub can_triage: bool,
    pub row: RowView,
    pub matched_cpe: String,
    pub criterion: String,
    pub state_reason: String,
    pub state_by: String,
    pub state_at: String,
    pub first_seen: String,
    pub last_seen: String,
    pub cvss: String,
    pub kev_action: String,
    pub kev_due: String,
    pub history: Vec<HistoryView>,
    pub choices: Vec<StateOption>,
    pub saved: bool,
}

pub(crate) async fn finding_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<KeyQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewVuln).await?;
    let t = ctx.tr;
    let sf = st.store.vuln_finding(f.id, &q.key).await?.ok_or(WebError::NotFound)?;
    st.store.append_audit(&ctx.audit(AuditCategory::View, "脆弱性診断結果（個別）を閲覧", &q.key, Some(f.id))).await?;
    let dev = st.store.record::<Device>(f.id, &sf.data.asset_no, None).await?;
    // The detail (CVSS vectors, KEV action) is read from the feed records, not stored per finding.
    let detail = app::finding_detail(&st.store, &sf.data).await?;
    let cvss = ["cvss_v3", "cvss_v4"]
        .iter()
        .filter_map(|k| {
            let c = &detail[k];
            c["base_score"].as_f64().map(|s| {
                format!(
                    "CVSS {} {:.1} {} ({})",
                    c["version"].as_str().unwrap_or(""),
                    s,
                    c["severity"].as_str().unwrap_or(""),
                    c["vector"].as_str().unwrap_or("")
                )
            })
        })
        .collect::<Vec<_>>()
        .join(" / ");
    let history = st
        .store
        .vuln_history(f.id, Some(&q.key))
        .await?
        .into_iter()
        .map(|h| HistoryView {
            at: h.changed_at,
            by: h.changed_by,
            from: t.pick(h.from_state.label_ja(), h.from_state.label_en()).into(),
            to: t.pick(h.to_state.label_ja(), h.to_state.label_en()).into(),
            reason: h.reason,
        })
        .collect();
    let choices = [FindingState::Accepted, FindingState::Fixed, FindingState::FalsePositive]
        .iter()
        .map(|s| StateOption {
            code: s.as_str().replace('_', "-"),
            label: t.pick(s.label_ja(), s.label_en()).into(),
            selected: *s == sf.state,
        })
        .collect();
    let path = format!("/f/{fid}/vuln/finding?key={}", enc(&q.key));
    Ok(FindingPage {
        chrome: st.chrome(&ctx, &path, Some(&f)).await?,
        can_triage: ctx.principal.can(Action::TriageVuln),
        row: row_view(
            t,
            &sf,
            dev.as_ref().map(|d| d.hostname.as_str()).unwrap_or(""),
            &dev.as_ref().map(device_label).unwrap_or_default(),
        ),
        matched_cpe: sf.data.matched_cpe.clone(),
        criterion: sf.data.criterion.clone(),
        state_reason: sf.state_reason.clone(),
        state_by: sf.state_by.clone(),
        state_at: sf.state_at.clone().unwrap_or_default(),
        first_seen: sf.first_seen.clone(),
        last_seen: sf.last_seen.clone(),
        cvss,
        kev_action: detail["kev"]["required_action"].as_str().unwrap_or("").to_string(),
        kev_due: detail["kev"]["due_date"].as_str().unwrap_or("").to_string(),
        history,
        choices,
        saved: q.saved == "1",
    }
    .into_response())
}

// ---------------------------------------------------------------- one device

pub(crate) struct CpeView {
    pub cpe: String,
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "vuln_device.html")]
pub(crate) struct DevicePage {
    pub chrome: Chrome,
    pub can_triage: bool,
    pub asset: String,
    pub asset_enc: String,
    pub device: String,
    pub hostname: String,
    pub external: bool,
    pub scanned: bool,
    pub cpes: Vec<CpeView>,
    pub unrecognised: Vec<String>,
    pub notes: Vec<String>,
    pub override_text: String,
    pub override_reason: String,
    pub override_by: String,
    pub rows: Vec<RowView>,
    pub error: String,
    pub saved: bool,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct SavedQuery {
    #[serde(default)]
    saved: String,
}

async fn device_page_for(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    asset: &str,
    error: String,
    saved: bool,
) -> WebResult<DevicePage> {
    let t = ctx.tr;
    let dev = st.store.record::<Device>(f.id, asset, None).await?.ok_or(WebError::NotFound)?;
    let row = st.store.vuln_device_cpes(f.id).await?.into_iter().find(|d| d.asset_no == asset);
    let ov = st.store.vuln_overrides(f.id).await?.into_iter().find(|o| o.asset_no == asset);
    let cpes: Vec<CpeView> = row
        .as_ref()
        .map(|r| serde_json::from_str::<Vec<serde_json::Value>>(&r.cpes).unwrap_or_default())
        .unwrap_or_default()
        .iter()
        .map(|c| CpeView {
            cpe: c["cpe"].as_str().unwrap_or("").to_string(),
            reason: c["reason"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    let list = |s: Option<&String>| -> Vec<String> { s.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default() };
    let filter = FindingFilter { asset_no: Some(asset.to_string()), include_absent: true, ..Default::default() };
    let rows = st
        .store
        .vuln_findings(f.id, &filter)
        .await?
        .iter()
        .map(|x| row_view(t, x, &dev.hostname, &device_label(&dev)))
        .collect();
    Ok(DevicePage {
        chrome: st.chrome(ctx, &format!("/f/{}/vuln/d/{}", f.id, enc(asset)), Some(f)).await?,
        can_triage: ctx.principal.can(Action::TriageVuln),
        asset: asset.to_string(),
        asset_enc: enc(asset),
        device: device_label(&dev),
        hostname: dev.hostname.clone(),
        external: app::at_external_point(&dev),
        scanned: row.is_some(),
        cpes,
        unrecognised: list(row.as_ref().map(|r| &r.unrecognised)),
        notes: list(row.as_ref().map(|r| &r.notes)),
        override_text: ov.as_ref().map(|o| o.cpes.join("\n")).unwrap_or_default(),
        override_reason: ov.as_ref().map(|o| o.reason.clone()).unwrap_or_default(),
        override_by: ov.as_ref().map(|o| format!("{}（{}）", o.set_by, o.set_at)).unwrap_or_default(),
        rows,
        error,
        saved,
    })
}

pub(crate) async fn device_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, asset)): Path<(i64, String)>,
    Query(q): Query<SavedQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewVuln).await?;
    let page = device_page_for(&st, &ctx, &f, &asset, String::new(), q.saved == "1").await?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::View,
            "機器の脆弱性診断結果を閲覧",
            &format!("{asset}（{}件）", page.rows.len()),
            Some(f.id),
        ))
        .await?;
    Ok(page.into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct CpeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    cpes: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn set_cpe(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((fid, asset)): Path<(i64, String)>,
    Form(form): Form<CpeForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::TriageVuln).await?;
    let cpes: Vec<String> = form.cpes.split_whitespace().map(str::to_string).collect();
    match app::set_cpe(&st.store, &f, &asset, &cpes, &form.reason, &ctx.user.login).await? {
        Ok(set) => {
            let op = if set.is_empty() { "CPE の手動指定を解除" } else { "CPE を手動指定" };
            st.store
                .append_audit(&ctx.audit(AuditCategory::Change, op, &format!("{asset}: {}", set.join(" ")), Some(f.id)))
                .await?;
            Ok(Redirect::to(&format!("/f/{fid}/vuln/d/{}?saved=1", enc(&asset))).into_response())
        }
        Err(app::Refusal::UnknownDevice(_)) => Err(WebError::NotFound),
        Err(r) => {
            let mut page = device_page_for(&st, &ctx, &f, &asset, r.to_string(), false).await?;
            page.override_text = form.cpes;
            page.override_reason = form.reason;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

// ---------------------------------------------------------------- triage, scan, export

#[derive(serde::Deserialize)]
pub(crate) struct TriageForm {
    #[serde(default)]
    csrf: String,
    key: String,
    state: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn triage(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<TriageForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::TriageVuln).await?;
    match app::set_state(&st.store, &f, &form.key, &form.state, &form.reason, &ctx.user.login).await? {
        Ok(s) => {
            st.store
                .append_audit(&ctx.audit(
                    AuditCategory::Change,
                    &format!("脆弱性の指摘を「{}」に変更", s.label_ja()),
                    &format!("{}: {}", form.key, form.reason.trim()),
                    Some(f.id),
                ))
                .await?;
            Ok(Redirect::to(&format!("/f/{fid}/vuln/finding?key={}&saved=1", enc(&form.key))).into_response())
        }
        Err(app::Refusal::UnknownFinding(_)) => Err(WebError::NotFound),
        Err(r) => Err(WebError::BadRequest(r.to_string())),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn scan(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::TriageVuln).await?;
    let r = app::scan(&st.store, &f, &ctx.user.login).await?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Change,
            "脆弱性診断を実行",
            &format!(
                "機器 {} 台、指摘 {} 件（新規 {}、再オープン {}）",
                r.devices,
                r.findings,
                r.added,
                r.reopened.len()
            ),
            Some(f.id),
        ))
        .await?;
    Ok(Redirect::to(&format!("/f/{fid}/vuln?scanned=1")).into_response())
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(flatten)]
    list: ListQuery,
}

pub(crate) async fn export(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewVuln).await?;
    let filter = filter_of(&q.list)?;
    let total = st.store.vuln_finding_counts(f.id, &filter).await?.total;
    let ext = match q.format.as_str() {
        "xlsx" => "xlsx",
        "csv" | "" => "csv",
        other => return Err(WebError::BadRequest(format!("形式「{other}」は使えません（csv, xlsx）/ unknown format"))),
    };
    if ext == "xlsx" && total > app::XLSX_MAX_ROWS {
        return Err(WebError::BadRequest(format!(
            "指摘が {total} 件あり、Excel の1シートに入る {} 行を超えます。CSV で書き出すか、絞り込んでください / \
             {total} findings exceed the {} rows of an Excel sheet: export CSV or filter",
            app::XLSX_MAX_ROWS,
            app::XLSX_MAX_ROWS
        )));
    }
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            &format!("脆弱性診断結果を書き出し（{ext}）"),
            &format!("{total}件"),
            Some(f.id),
        ))
        .await?;
    let (body, ct) = if ext == "xlsx" {
        let rows = app::findings(&st.store, &f, &filter).await?;
        let bytes = mamori_tabular::write_xlsx("脆弱性診断結果", &app::EXPORT_HEADERS, &app::export_rows(&rows))
            .map_err(|e| WebError::Internal(e.to_string()))?;
        (axum::body::Body::from(bytes), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else {
        (csv_body(st.store.clone(), f.clone(), filter), "text/csv; charset=utf-8")
    };
    let name = format!("脆弱性診断結果_{}.{ext}", f.data.name);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(ct)), (header::CONTENT_DISPOSITION, attachment(&name))], body)
        .into_response())
}

/// The findings CSV as a streamed body: a task reads the rows from the store and sends them in
/// chunks of about 256 KiB (memory stays bounded whatever the number of findings; a client that
/// stops reading stops the task).
fn csv_body(store: mamori_store::Store, f: Facility, filter: FindingFilter) -> axum::body::Body {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::spawn(async move {
        let run = async {
            let names = app::device_names(&store, &f).await.map_err(|e| e.to_string())?;
            let mut rows = store.vuln_findings_stream(f.id, &filter).await.map_err(|e| e.to_string())?;
            let mut buf = app::csv_head();
            while let Some(r) = rows.next().await {
                let row = app::with_names(r.map_err(|e| e.to_string())?, &names);
                buf.extend_from_slice(app::csv_line(&app::export_row(&row)).as_bytes());
                if buf.len() >= 256 * 1024 && tx.send(Ok(std::mem::take(&mut buf))).await.is_err() {
                    return Ok(Vec::new()); // the client went away
                }
            }
            Ok::<_, String>(buf)
        };
        let last = run.await.map_err(std::io::Error::other);
        let _ = tx.send(last).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    axum::body::Body::from_stream(stream)
}
