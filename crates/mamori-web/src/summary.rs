//! The dashboard's capability blocks: small fragments the dashboard loads after it is shown
//! (`hx-get` + `hx-trigger="load"`), so the dashboard itself stays as fast as its ledger counts and the
//! heavier checks (backup targets probed for real, vulnerability counts) never hold it up. Each block is
//! guarded like its capability's own page: the role's permission and the facility.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use mamori_model::auth::Action;

use crate::{AppState, WebError, WebResult};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/f/{fid}/summary/bcp", get(bcp))
        .route("/f/{fid}/summary/backup", get(backup))
        .route("/f/{fid}/summary/vuln", get(vuln))
}

/// One line of a block: a label, a value, and whether it needs attention.
pub(crate) struct Line {
    pub label: String,
    pub value: String,
    pub attention: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "summary_block.html")]
pub(crate) struct Block {
    pub id: &'static str,
    pub title: String,
    pub lines: Vec<Line>,
    pub notes: Vec<(bool, String)>,
    pub link: String,
    pub link_label: String,
}

fn line(label: &str, value: impl ToString, attention: bool) -> Line {
    Line { label: label.to_string(), value: value.to_string(), attention }
}

/// Contacts and the contact chart, training and its yearly reminder.
async fn bcp(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBcp).await?;
    let t = ctx.tr;
    let today = mamori_app::checklist::today_jst();
    let contacts = st.store.contacts(f.id).await?;
    let trainings = st.store.trainings(f.id).await?;
    let status = mamori_app::bcp::training_status(&trainings, today);
    let mut notes = Vec::new();
    if contacts.is_empty() {
        notes.push((true, t.s("summary.no_contacts").to_string()));
    }
    if let Some((ja, en)) = mamori_app::bcp::training_reminder(&status) {
        notes.push((true, t.pick(&ja, &en).to_string()));
    }
    let lines = vec![
        line(t.s("summary.contacts"), contacts.len(), contacts.is_empty()),
        line(
            t.s("summary.last_training"),
            status.last.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
            status.overdue,
        ),
    ];
    Ok(Block {
        id: "summary-bcp",
        title: t.s("summary.bcp").into(),
        lines,
        notes,
        link: format!("/f/{fid}/contacts"),
        link_label: t.s("nav.contacts").into(),
    }
    .into_response())
}

/// The backup policy against reality (targets probed now) and what is late or failing.
async fn backup(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBackup).await?;
    let t = ctx.tr;
    let inputs = mamori_app::backup::status_inputs(&st.store, &f).await?;
    let configured = !inputs.sets.is_empty() || !inputs.targets.is_empty();
    let status = tokio::task::spawn_blocking(move || mamori_app::backup::evaluate_status(&inputs, None, Utc::now()))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let points = &status.policy.points;
    let holding = points.iter().filter(|p| p.holds == Some(true)).count();
    let errors = status.alerts.iter().filter(|a| a.severity == "error").count();
    let mut notes: Vec<(bool, String)> =
        status.alerts.iter().take(5).map(|a| (a.severity == "error", t.pick(&a.ja, &a.en).to_string())).collect();
    if !configured {
        notes.insert(0, (true, t.s("summary.no_backup").to_string()));
    }
    let lines = vec![
        line(t.s("summary.policy_holds"), format!("{holding} / {}", points.len()), holding < points.len()),
        line(t.s("summary.alerts"), status.alerts.len(), errors > 0),
    ];
    Ok(Block {
        id: "summary-backup",
        title: t.s("summary.backup").into(),
        lines,
        notes,
        link: format!("/f/{fid}/backup"),
        link_label: t.s("nav.backup").into(),
    }
    .into_response())
}

/// Open vulnerability findings (known-exploited first), the last scan and the age of the NVD data.
async fn vuln(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
) -> WebResult<Response> {
    use mamori_store::vuln::{Feed, FindingFilter, FindingState};
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewVuln).await?;
    let t = ctx.tr;
    let today = mamori_app::checklist::today_jst();
    // Counts only (a university hospital's scan holds millions of device findings).
    let open = st
        .store
        .vuln_finding_counts(
            f.id,
            &FindingFilter { states: vec![FindingState::Open], confirmed_only: true, ..Default::default() },
        )
        .await?;
    let (confirmed, kev) = (open.total, open.kev);
    let last = st.store.vuln_last_scan(f.id).await?;
    let feeds = st.store.vuln_feed_status().await?;
    let nvd_age = feeds.iter().find(|x| x.feed == Feed::Nvd).and_then(|x| mamori_app::vuln::feed_age_days(x, today));
    let mut notes = Vec::new();
    if last.is_none() {
        notes.push((true, t.s("summary.no_scan").to_string()));
    }
    match nvd_age {
        None => notes.push((true, t.s("summary.no_nvd").to_string())),
        Some(d) if d > 90 => notes.push((true, t.s("summary.nvd_old").replace("{days}", &d.to_string()))),
        _ => {}
    }
    let lines = vec![
        line(t.s("summary.kev_open"), kev, kev > 0),
        line(t.s("summary.open_findings"), confirmed, confirmed > 0),
        line(
            t.s("summary.last_scan"),
            last.map(|l| l.scanned_at.chars().take(10).collect::<String>()).unwrap_or_else(|| "—".into()),
            false,
        ),
    ];
    Ok(Block {
        id: "summary-vuln",
        title: t.s("summary.vuln").into(),
        lines,
        notes,
        link: format!("/f/{fid}/vuln"),
        link_label: t.s("nav.vuln").into(),
    }
    .into_response())
}
