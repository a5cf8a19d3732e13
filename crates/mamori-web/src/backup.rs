//! Pages of the backup capability: /f/{fid}/backup…. Templates are templates/backup_*.html, messages i18n/backup.{ja,en}.toml.
//!
//! * `GET /f/{fid}/backup` — the status per facility: the policy checked against reality (targets probed now:
//!   statvfs, file flags, mountinfo; generations as last read by the CLI — the server holds no password), what is
//!   late or failing, targets, backup sets, runs, drills, media rotation, key escrow, document downloads.
//! * `GET /f/{fid}/backup/plan|report?format=pdf|xlsx` — the 計画書 and the 実施報告書 (logged as exports).
//! * `POST /f/{fid}/backup/targets` — add a target; `POST /f/{fid}/backup/media` — record a media detach/attach
//!   (ManageBackup, CSRF, logged as changes).

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use mamori_app::backup::{self as app, DocFormat, NewBackupTarget, NewMediaEvent};
use mamori_model::Facility;
use mamori_model::audit::AuditCategory;
use mamori_model::auth::Action;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::attachment;
use crate::session::Ctx;
use crate::views::Chrome;
use crate::{AppState, WebError, WebResult};

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/f/{fid}/backup", get(status_page))
        .route("/f/{fid}/backup/plan", get(plan_download))
        .route("/f/{fid}/backup/report", get(report_download))
        .route("/f/{fid}/backup/targets", post(add_target))
        .route("/f/{fid}/backup/media", post(media_event))
}

pub(crate) struct PointView {
    pub id: String,
    pub label: String,
    /// "ok", "ng" or "unknown".
    pub state: String,
    pub mark: String,
    pub evidence: String,
}

pub(crate) struct AlertView {
    pub error: bool,
    pub text: String,
}

pub(crate) struct TargetRowView {
    pub name: String,
    pub primary: bool,
    pub tier: String,
    pub kind: String,
    pub path: String,
    pub media_ids: String,
    pub state: String,
    pub offline: bool,
    pub generations: String,
    pub evidence: String,
}

pub(crate) struct SetRowView {
    pub priority: String,
    pub system: String,
    pub what: String,
    pub schedule: String,
    pub responsible: String,
    pub generations: String,
    pub offline: String,
    pub offsite: String,
    pub last_run: String,
    pub last_drill: String,
}

pub(crate) struct RunView {
    pub at: String,
    pub op: String,
    pub system: String,
    pub target: String,
    pub ok: bool,
    pub bytes: String,
    pub info: String,
}

pub(crate) struct MediaView {
    pub at: String,
    pub target: String,
    pub media_id: String,
    pub event: String,
    pub by: String,
    pub evidence: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backup_status.html")]
pub(crate) struct StatusPage {
    pub chrome: Chrome,
    pub all_hold: bool,
    pub generations_note: String,
    pub points: Vec<PointView>,
    pub alerts: Vec<AlertView>,
    pub targets: Vec<TargetRowView>,
    pub sets: Vec<SetRowView>,
    pub runs: Vec<RunView>,
    pub drills: Vec<RunView>,
    pub media: Vec<MediaView>,
    /// (holders, where, recorded at)
    pub escrow: Option<(String, String, String)>,
    pub can_manage: bool,
    /// (name, media IDs) of the targets that have media, for the media form.
    pub media_targets: Vec<(String, String)>,
    /// (value, label)
    pub tiers: Vec<(String, String)>,
    pub kinds: Vec<(String, String)>,
    /// This build reaches restic REST servers (`rest:https://…` locations).
    pub rest_supported: bool,
    pub message: String,
    pub error: String,
}

fn pick(t: Tr, pair: (&str, &str)) -> String {
    t.pick(pair.0, pair.1).to_string()
}

fn run_view(t: Tr, r: &mamori_store::backup::BackupRunRow) -> RunView {
    let d = &r.data;
    RunView {
        at: app::jst(&d.started_at),
        op: pick(t, app::op_label(&d.op)),
        system: d.system.clone(),
        target: d.target_name.clone(),
        ok: d.ok,
        bytes: if d.bytes > 0 { app::human_bytes(d.bytes) } else { String::new() },
        info: if d.ok { d.snapshot_id.chars().take(8).collect() } else { d.error.clone() },
    }
}

async fn render_status(st: &AppState, ctx: &Ctx, f: &Facility, message: String, error: String) -> WebResult<Response> {
    let t = ctx.tr;
    let inputs = app::status_inputs(&st.store, f).await?;
    let table = app::backup_table(&st.store, f).await?;
    // Probing walks the repositories' files (statvfs, ioctl): off the async workers.
    let inputs2 = inputs.clone();
    let status = tokio::task::spawn_blocking(move || app::evaluate_status(&inputs2, None, Utc::now()))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let points = status
        .policy
        .points
        .iter()
        .map(|p| {
            let (state, mark) = match p.holds {
                Some(true) => ("ok", "○"),
                Some(false) => ("ng", "×"),
                None => ("unknown", "？"),
            };
            PointView {
                id: p.id.clone(),
                label: pick(t, app::point_label(&p.id)),
                state: state.into(),
                mark: mark.into(),
                evidence: t.pick(&p.evidence.ja, &p.evidence.en).to_string(),
            }
        })
        .collect();
    let alerts = status
        .alerts
        .iter()
        .map(|a| AlertView { error: a.severity == "error", text: t.pick(&a.ja, &a.en).to_string() })
        .collect();
    let targets = status
        .targets
        .iter()
        .map(|v| {
            let d = &v.target.data;
            TargetRowView {
                name: d.name.clone(),
                primary: d.is_primary,
                tier: pick(t, app::tier_label(&d.tier)),
                kind: pick(t, app::kind_label(&d.kind)),
                path: d.path.clone(),
                media_ids: d.media_ids.join("、"),
                state: pick(t, app::target_state_label(v.probe.state, d.is_primary)),
                offline: v.probe.state != mamori_app::backup::engine::OfflineState::Online,
                generations: match &v.generations {
                    Some(g) => format!("{}（{}）", g.len(), t.pick(&v.generations_source.ja, &v.generations_source.en)),
                    None => t.s("backup.unknown").to_string(),
                },
                evidence: v
                    .probe
                    .evidence
                    .iter()
                    .map(|e| t.pick(&e.ja, &e.en))
                    .collect::<Vec<_>>()
                    .join(t.pick("。", "; ")),
            }
        })
        .collect();
    let yes_no = |b: bool| t.s(if b { "backup.yes" } else { "backup.no" }).to_string();
    let sets = table
        .iter()
        .map(|r| SetRowView {
            priority: r.recovery_priority.map(|p| p.to_string()).unwrap_or_default(),
            system: r.system.clone(),
            what: r.what.clone(),
            schedule: r.schedule.clone(),
            responsible: r.responsible.clone(),
            generations: r.generations.map(|g| g.to_string()).unwrap_or_else(|| t.s("backup.unknown").to_string()),
            offline: yes_no(r.offline),
            offsite: yes_no(r.offsite),
            last_run: r.last_run.as_deref().map(app::jst).unwrap_or_default(),
            last_drill: r
                .last_drill
                .as_ref()
                .map(|(at, ok)| {
                    format!("{}（{}）", app::jst(at), t.s(if *ok { "backup.drill_ok" } else { "backup.drill_ng" }))
                })
                .unwrap_or_default(),
        })
        .collect();
    let runs = inputs.runs.iter().map(|r| run_view(t, r)).collect();
    let drills = inputs.runs.iter().filter(|r| r.data.op == "drill").map(|r| run_view(t, r)).collect();
    let media = inputs
        .media
        .iter()
        .map(|e| MediaView {
            at: app::jst(&e.data.at),
            target: e.data.target_name.clone(),
            media_id: e.data.media_id.clone(),
            event: t.s(if e.data.event == "detach" { "backup.detach" } else { "backup.attach" }).to_string(),
            by: e.data.by_user.clone(),
            evidence: e.data.evidence.clone(),
        })
        .collect();
    let page = StatusPage {
        chrome: st.chrome(ctx, &format!("/f/{}/backup", f.id), Some(f)).await?,
        all_hold: status.ok(),
        generations_note: t.pick(&status.generations_note.ja, &status.generations_note.en).to_string(),
        points,
        alerts,
        targets,
        sets,
        runs,
        drills,
        media,
        escrow: inputs.escrow.as_ref().map(|k| (k.holders.join("、"), k.where_kept.clone(), app::jst(&k.recorded_at))),
        can_manage: ctx.principal.can(Action::ManageBackup),
        media_targets: inputs
            .targets
            .iter()
            .filter(|t| t.data.kind == "removable_media")
            .map(|t| (t.data.name.clone(), t.data.media_ids.join("、")))
            .collect(),
        tiers: ["online", "offline", "offsite"].iter().map(|v| (v.to_string(), pick(t, app::tier_label(v)))).collect(),
        // A REST server target only where this build can reach one (cargo feature `backup-rest`).
        kinds: ["local_dir", "removable_media", "immutable_files", "rest_server"]
            .iter()
            .filter(|v| **v != "rest_server" || app::engine::REST_SUPPORTED)
            .map(|v| (v.to_string(), pick(t, app::kind_label(v))))
            .collect(),
        rest_supported: app::engine::REST_SUPPORTED,
        message,
        error: error.clone(),
    };
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
pub(crate) struct StatusQuery {
    #[serde(default)]
    saved: String,
}

pub(crate) async fn status_page(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<StatusQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBackup).await?;
    let message = match q.saved.as_str() {
        "target" => ctx.tr.s("backup.saved_target").to_string(),
        "media" => ctx.tr.s("backup.saved_media").to_string(),
        _ => String::new(),
    };
    render_status(&st, &ctx, &f, message, String::new()).await
}

#[derive(Deserialize)]
pub(crate) struct DocQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

async fn download(
    st: &AppState,
    ctx: &Ctx,
    f: &Facility,
    doc: app::BackupDocument,
    format: DocFormat,
    label: &str,
) -> WebResult<Response> {
    let name = format!("{}.{}", doc.file_stem, format.extension());
    let bytes = tokio::task::spawn_blocking(move || doc.render(format))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            &format!("{label}を書き出し（{}）", format.extension()),
            &name,
            Some(f.id),
        ))
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

fn doc_format(s: &str) -> WebResult<DocFormat> {
    DocFormat::parse(if s.is_empty() { "pdf" } else { s })
        .ok_or_else(|| WebError::BadRequest(format!("形式「{s}」は使えません（pdf, xlsx）/ unknown format")))
}

pub(crate) async fn plan_download(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<DocQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBackup).await?;
    let format = doc_format(&q.format)?;
    let doc = app::plan_document(&st.store, &f, Utc::now()).await?;
    download(&st, &ctx, &f, doc, format, "バックアップ計画書").await
}

pub(crate) async fn report_download(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Query(q): Query<DocQuery>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard(&headers, &addr, fid, Action::ViewBackup).await?;
    let format = doc_format(&q.format)?;
    let date = |s: &str, default| {
        if s.is_empty() {
            Ok(default)
        } else {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                WebError::BadRequest(format!("日付「{s}」は YYYY-MM-DD で指定してください / dates are YYYY-MM-DD"))
            })
        }
    };
    let today = chrono::Local::now().date_naive();
    let to = date(&q.to, today)?;
    let from = date(&q.from, to - chrono::Duration::days(30))?;
    if from > to {
        return Err(WebError::BadRequest("開始日は終了日以前にしてください / from must not be after to".into()));
    }
    let doc = app::report_document(&st.store, &f, from, to, Utc::now()).await?;
    download(&st, &ctx, &f, doc, format, "バックアップ実施報告書").await
}

#[derive(Deserialize)]
pub(crate) struct TargetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    media_ids: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn add_target(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<TargetForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::ManageBackup).await?;
    let t = NewBackupTarget {
        name: form.name.trim().to_string(),
        tier: form.tier,
        kind: form.kind,
        path: form.path.trim().to_string(),
        media_ids: form
            .media_ids
            .split([',', '、', '\n', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        // The primary is chosen where backups run (the CLI), not from a page.
        is_primary: false,
        note: form.note,
    };
    if let Err(m) = app::check_new_target(&t) {
        return render_status(&st, &ctx, &f, String::new(), m).await;
    }
    match st.store.add_backup_target(f.id, &t, &ctx.user.login).await {
        Ok(row) => {
            st.store
                .append_audit(&ctx.audit(
                    AuditCategory::Change,
                    "バックアップ保管先を登録",
                    &format!("{}（{}、{}）", row.data.name, row.data.tier, row.data.path),
                    Some(f.id),
                ))
                .await?;
            Ok(Redirect::to(&format!("/f/{}/backup?saved=target", f.id)).into_response())
        }
        Err(mamori_store::StoreError::Invalid(m)) => render_status(&st, &ctx, &f, String::new(), m).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct MediaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    media_id: String,
    #[serde(default)]
    event: String,
}

pub(crate) async fn media_event(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(fid): Path<i64>,
    Form(form): Form<MediaForm>,
) -> WebResult<Response> {
    let (ctx, f) = st.guard_post(&headers, &addr, fid, Some(&form.csrf), Action::ManageBackup).await?;
    let bad = |m: &str| m.to_string();
    let target = st.store.backup_target(f.id, &form.target).await?;
    let problem = match (&target, form.event.as_str()) {
        (None, _) => Some(bad("保管先を選んでください / choose a target")),
        (_, e) if e != "detach" && e != "attach" => Some(bad("操作を選んでください / choose detach or attach")),
        (Some(t), _) if !t.data.media_ids.iter().any(|m| m == form.media_id.trim()) => Some(format!(
            "媒体ID「{}」は保管先「{}」に登録されていません（登録済み: {}）/ media ID not registered for this target",
            form.media_id,
            t.data.name,
            t.data.media_ids.join("、")
        )),
        _ => None,
    };
    if let Some(m) = problem {
        return render_status(&st, &ctx, &f, String::new(), m).await;
    }
    let t = target.expect("checked");
    let detach = form.event == "detach";
    let ev = NewMediaEvent {
        target_name: t.data.name.clone(),
        media_id: form.media_id.trim().to_string(),
        event: form.event.clone(),
        at: mamori_store::now_text(),
        by_user: ctx.user.login.clone(),
        still_mounted: None,
        evidence: if detach {
            "Web画面で記録（mamori はアンマウントしていません。実際に取り外されたかは保管先の確認で判定します）/ recorded on the web page; the real state is probed".into()
        } else {
            String::new()
        },
        // What the media holds, as last read from it (the server has no password to read it now).
        generations_json: if detach { t.generations_json.clone() } else { None },
    };
    st.store.record_media_event(f.id, &ev).await?;
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Change,
            if detach {
                "バックアップ媒体の取り外しを記録"
            } else {
                "バックアップ媒体の取り付けを記録"
            },
            &format!("{} {}", t.data.name, ev.media_id),
            Some(f.id),
        ))
        .await?;
    Ok(Redirect::to(&format!("/f/{}/backup?saved=media", f.id)).into_response())
}
