//! Administration: users (add, disable, enable) and the app's own access log (view, verify, export).

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_model::audit::{AuditCategory, AuditEntry};
use mamori_model::auth::{self, Action, Role};
use mamori_store::{NewUser, Store};
use serde::Deserialize;

use crate::pages::attachment;
use crate::pages::require;
use crate::session::{Ctx, hash_password};
use crate::views::{AuditPage, AuditRow, UserRow, UsersPage};
use crate::{AppState, WebError, WebResult};

/// Time of an entry as the manual's example shows it (2023/5/16 8:30:00), in Japan time.
pub(crate) fn jst(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(d) => {
            let offset = chrono::FixedOffset::east_opt(9 * 3600).expect("valid offset");
            d.with_timezone(&offset).format("%Y/%-m/%-d %-H:%M:%S").to_string()
        }
        Err(_) => at.to_string(),
    }
}

async fn users_page(st: &AppState, ctx: &Ctx, message: String, error: String) -> WebResult<Response> {
    let t = ctx.tr;
    let facilities = st.store.facilities().await?;
    let fname = |id: i64| facilities.iter().find(|f| f.id == id).map(|f| f.data.name.clone()).unwrap_or_default();
    let mut users = Vec::new();
    for u in st.store.users().await? {
        let assigned = if u.role == Role::Surveyor { st.store.assigned_facilities(u.id).await? } else { Vec::new() };
        let assignable = if u.role == Role::Surveyor {
            facilities.iter().map(|f| (f.id, f.data.name.clone(), assigned.contains(&f.id))).collect()
        } else {
            Vec::new()
        };
        let scope = match u.role {
            Role::Admin => String::new(),
            Role::Inspector => u.prefecture.clone(),
            Role::Surveyor => assigned.iter().copied().map(fname).collect::<Vec<_>>().join("、"),
            Role::Vendor => format!("{}（{}）", u.facility_id.map(fname).unwrap_or_default(), u.vendor_name),
            _ => u.facility_id.map(fname).unwrap_or_default(),
        };
        users.push(UserRow {
            login: u.login,
            name: u.name,
            role: t.pick(u.role.label_ja(), u.role.label_en()).into(),
            scope,
            disabled: u.disabled,
            assignable,
        });
    }
    let roles =
        Role::ALL.iter().map(|r| (r.as_str().to_string(), t.pick(r.label_ja(), r.label_en()).to_string())).collect();
    let status =
        if error.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY };
    Ok((
        status,
        UsersPage {
            chrome: st.chrome(ctx, "/admin/users", None).await?,
            users,
            roles,
            all_facilities: facilities.into_iter().map(|f| (f.id, f.data.name)).collect(),
            message,
            error,
        },
    )
        .into_response())
}

pub(crate) async fn users(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    require(&ctx, Action::ManageUsers)?;
    users_page(&st, &ctx, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub(crate) struct AddUserForm {
    #[serde(default)]
    csrf: String,
    login: String,
    name: String,
    role: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    vendor_name: String,
    #[serde(default)]
    prefecture: String,
    password: String,
}

pub(crate) async fn add_user(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<AddUserForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    require(&ctx, Action::ManageUsers)?;
    let t = ctx.tr;
    let Some(role) = Role::parse(&f.role) else {
        return users_page(&st, &ctx, String::new(), format!("role {}", f.role)).await;
    };
    if let Err(e) = auth::check_password(&f.login, &f.password) {
        return users_page(&st, &ctx, String::new(), t.pick(&e.ja, &e.en).into()).await;
    }
    let facility: Option<i64> = f.facility.parse().ok();
    let new = NewUser {
        login: f.login.trim().into(),
        name: f.name.trim().into(),
        role,
        facility_id: if role == Role::Surveyor { None } else { facility },
        vendor_name: f.vendor_name,
        prefecture: f.prefecture,
        password_hash: hash_password(&f.password)?,
    };
    let user = match st.store.add_user(&new).await {
        Ok(u) => u,
        Err(mamori_store::StoreError::Invalid(m)) => return users_page(&st, &ctx, String::new(), m).await,
        Err(e) => return Err(e.into()),
    };
    if role == Role::Surveyor
        && let Some(fid) = facility
    {
        st.store.assign_facility(user.id, fid).await?;
    }
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Admin,
            "利用者を追加",
            &format!("{}（{}）", user.login, role.label_ja()),
            facility,
        ))
        .await?;
    users_page(&st, &ctx, t.s("user.created").into(), String::new()).await
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn set_disabled(
    st: AppState,
    addr: SocketAddr,
    headers: HeaderMap,
    login: String,
    csrf: String,
    disabled: bool,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&csrf))?;
    require(&ctx, Action::ManageUsers)?;
    if login == ctx.user.login {
        return Err(WebError::BadRequest("自分自身は無効にできません / you cannot disable yourself".into()));
    }
    if !st.store.set_user_disabled(&login, disabled).await? {
        return Err(WebError::NotFound);
    }
    let op = if disabled { "利用者を無効化" } else { "利用者を有効化" };
    st.store.append_audit(&ctx.audit(AuditCategory::Admin, op, &login, None)).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

pub(crate) async fn disable_user(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(login): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    set_disabled(st, addr, headers, login, f.csrf, true).await
}

pub(crate) async fn enable_user(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(login): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    set_disabled(st, addr, headers, login, f.csrf, false).await
}

/// A new one-time password for a user who lost theirs: generated, shown once to the administrator, every
/// session of that user ended. The administrator never chooses it, so it never has to be told twice.
pub(crate) async fn reset_password(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(login): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    require(&ctx, Action::ManageUsers)?;
    if login == ctx.user.login {
        return Err(WebError::BadRequest(
            "自分のパスワードは「アカウント」画面で変更してください / change your own password on the account page"
                .into(),
        ));
    }
    let (user, _) = st.store.user_with_hash(&login).await?.ok_or(WebError::NotFound)?;
    let password = crate::random_password();
    let hash = crate::hash_password(&password).map_err(|e| WebError::Internal(e.to_string()))?;
    st.store.set_password_hash(user.id, &hash).await?;
    st.store.append_audit(&ctx.audit(AuditCategory::Admin, "パスワードを再発行", &login, None)).await?;
    let t = ctx.tr;
    let message = format!("{}: {login} / {password}", t.s("user.reset_done"));
    users_page(&st, &ctx, message, String::new()).await
}

#[derive(Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    csrf: String,
    facility: i64,
    #[serde(default)]
    remove: Option<String>,
}

/// Assigns a facility to a surveyor (or removes the assignment).
pub(crate) async fn assign_facility(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(login): Path<String>,
    Form(f): Form<AssignForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    require(&ctx, Action::ManageUsers)?;
    let (user, _) = st.store.user_with_hash(&login).await?.ok_or(WebError::NotFound)?;
    if user.role != Role::Surveyor {
        return Err(WebError::BadRequest(
            "施設の割当は調査員だけに行います / only surveyors are assigned facilities".into(),
        ));
    }
    let facility = st.store.facility(f.facility).await?.ok_or(WebError::NotFound)?;
    let op = if f.remove.is_some() {
        st.store.unassign_facility(user.id, facility.id).await?;
        "調査員の担当施設を解除"
    } else {
        st.store.assign_facility(user.id, facility.id).await?;
        "調査員に施設を割当"
    };
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Admin,
            op,
            &format!("{login} → {}", facility.data.name),
            Some(facility.id),
        ))
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    format: String,
}

const AUDIT_PAGE: i64 = 100;

pub(crate) async fn audit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    require(&ctx, Action::ViewAudit)?;
    let t = ctx.tr;
    let (total, problems) = st.store.verify_audit().await?;
    let total = total as i64;
    let pages = ((total + AUDIT_PAGE - 1) / AUDIT_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows = st
        .store
        .audit_page((page - 1) * AUDIT_PAGE, AUDIT_PAGE)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            user: e.entry.user_login,
            name: e.entry.user_name,
            time: jst(&e.at),
            category: t.pick(e.entry.category.label_ja(), e.entry.category.label_en()).into(),
            operation: e.entry.operation,
            target: e.entry.target,
            source: e.entry.source,
        })
        .collect();
    Ok(AuditPage {
        chrome: st.chrome(&ctx, "/admin/audit", None).await?,
        rows,
        total,
        verified: problems.is_empty(),
        problems: problems.iter().map(|p| t.pick(&p.message_ja(), &p.message_en()).to_string()).collect(),
        head: st.store.audit_page(0, 1).await?.into_iter().next().map(|e| (e.seq, e.hash)),
        page,
        pages,
    }
    .into_response())
}

/// The headers of an exported access log, in the manual's order plus what makes the chain checkable.
pub const AUDIT_HEADERS: [&str; 10] =
    ["ユーザーID", "氏名", "時刻", "カテゴリ", "操作情報", "対象", "施設ID", "接続元", "連番", "ハッシュ"];

fn audit_cells(e: &AuditEntry) -> Vec<String> {
    vec![
        e.entry.user_login.clone(),
        e.entry.user_name.clone(),
        jst(&e.at),
        e.entry.category.label_ja().into(),
        e.entry.operation.clone(),
        e.entry.target.clone(),
        e.entry.facility_id.map(|f| f.to_string()).unwrap_or_default(),
        e.entry.source.clone(),
        e.seq.to_string(),
        e.hash.clone(),
    ]
}

/// The whole access log as CSV (UTF-8 with BOM) or xlsx, for `mamori audit export` and the admin page.
pub async fn audit_export(store: &Store, xlsx: bool) -> Result<Vec<u8>, WebError> {
    let rows: Vec<Vec<String>> = store.audit_all().await?.iter().map(audit_cells).collect();
    let out = if xlsx {
        mamori_tabular::write_xlsx("アクセスログ", &AUDIT_HEADERS, &rows)
    } else {
        mamori_tabular::write_csv(&AUDIT_HEADERS, &rows, mamori_tabular::CsvFlavor::Utf8Bom)
    };
    out.map_err(|e| WebError::Internal(e.to_string()))
}

pub(crate) async fn audit_download(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    require(&ctx, Action::ViewAudit)?;
    let xlsx = q.format == "xlsx";
    st.store
        .append_audit(&ctx.audit(
            AuditCategory::Export,
            if xlsx {
                "アクセスログを書き出し（Excel）"
            } else {
                "アクセスログを書き出し（CSV）"
            },
            "アクセスログ",
            None,
        ))
        .await?;
    let bytes = audit_export(&st.store, xlsx).await?;
    let (ct, name) = if xlsx {
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "アクセスログ.xlsx")
    } else {
        ("text/csv; charset=utf-8", "アクセスログ.csv")
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(ct)), (header::CONTENT_DISPOSITION, attachment(name))], bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn japan_time_like_the_manual() {
        assert_eq!(super::jst("2023-0515T23:30:00Z".replace("0515", "05-15").as_str()), "2023/5/16 8:30:00");
    }
}
