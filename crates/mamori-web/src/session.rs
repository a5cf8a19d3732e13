//! Passwords (argon2id), sessions in the database (random 256-bit token; only its SHA-256 stored),
//! CSRF synchronizer tokens, login throttling, first-run setup, login and logout.

use std::net::SocketAddr;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_model::audit::{AuditCategory, NewAuditEntry};
use mamori_model::auth::{self, Principal, Role};
use mamori_store::{NewUser, User};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::i18n::{Lang, Tr};
use crate::views::{AccountPage, Chrome, LoginPage, SetupPage};
use crate::{AppState, WebError, WebResult, unix_now};

pub(crate) const SESSION_COOKIE: &str = "mamori_session";
const PRE_COOKIE: &str = "mamori_pre";
const LANG_COOKIE: &str = "mamori_lang";
const ERA_COOKIE: &str = "mamori_era";

/// Hashes a password with argon2id and a fresh random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, WebError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source works");
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A random token (256 bits, hex).
pub(crate) fn random_token() -> String {
    hex(&random_bytes::<32>())
}

/// A strong random password (20 characters from an unambiguous alphabet, ~110 bits).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<20>().iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Equality that takes the same time wherever the strings differ.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    HeaderValue::from_str(&c).expect("cookie is ASCII")
}

/// Japanese first: English only when the user switched to it.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).map(Lang::parse).unwrap_or(Lang::Ja)
}

pub(crate) fn wareki_of(headers: &HeaderMap) -> bool {
    cookie(headers, ERA_COOKIE) == Some("wareki")
}

/// The source address of a request.
pub(crate) fn source_of(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub user: User,
    pub principal: Principal,
    pub csrf: String,
    pub token_hash: String,
    pub tr: Tr,
    pub wareki: bool,
    pub source: String,
}

impl Ctx {
    pub fn audit(
        &self,
        category: AuditCategory,
        operation: &str,
        target: &str,
        facility_id: Option<i64>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            user_login: self.user.login.clone(),
            user_name: self.user.name.clone(),
            category,
            operation: operation.into(),
            target: target.into(),
            facility_id,
            source: self.source.clone(),
        }
    }

    /// Checks the CSRF token of a state-changing request (form field or `X-CSRF-Token` header).
    pub fn check_csrf(&self, headers: &HeaderMap, form_token: Option<&str>) -> WebResult<()> {
        let given = form_token.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok())).unwrap_or("");
        if ct_eq(given, &self.csrf) { Ok(()) } else { Err(WebError::Csrf) }
    }
}

/// Only refresh `last_seen` once a minute: a page view must not cost a database write.
const TOUCH_EVERY_SECS: i64 = 60;

impl AppState {
    /// The session of a request, or `Unauthenticated` (expired sessions are removed).
    pub(crate) async fn ctx(&self, headers: &HeaderMap, addr: &SocketAddr) -> WebResult<Ctx> {
        let token = cookie(headers, SESSION_COOKIE).ok_or(WebError::Unauthenticated)?;
        let th = token_hash(token);
        let (s, user) = self.store.session_with_user(&th).await?.ok_or(WebError::Unauthenticated)?;
        let now = unix_now();
        if !auth::session_alive(s.created_at, s.last_seen, now) {
            self.store.delete_session(&th).await?;
            return Err(WebError::Unauthenticated);
        }
        if user.disabled {
            self.store.delete_session(&th).await?;
            return Err(WebError::Unauthenticated);
        }
        if now - s.last_seen >= TOUCH_EVERY_SECS {
            self.store.touch_session(&th, now).await?;
        }
        let assigned =
            if user.role == Role::Surveyor { self.store.assigned_facilities(user.id).await? } else { Vec::new() };
        let principal = Principal {
            login: user.login.clone(),
            role: user.role,
            facility_id: user.facility_id,
            vendor_name: user.vendor_name.clone(),
            prefecture: user.prefecture.clone(),
            assigned,
        };
        Ok(Ctx {
            user,
            principal,
            csrf: s.csrf,
            token_hash: th,
            tr: Tr::new(lang_of(headers)),
            wareki: wareki_of(headers),
            source: source_of(addr),
        })
    }
}

// ---------------------------------------------------------------- first run, login, logout

#[derive(Deserialize)]
pub(crate) struct SetupForm {
    login: String,
    name: String,
    password: String,
    password2: String,
    #[serde(default)]
    pre: String,
}

fn pre_token(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    match cookie(headers, PRE_COOKIE) {
        Some(t) if t.len() == 64 => (t.to_string(), None),
        _ => {
            let t = random_token();
            let c = set_cookie(PRE_COOKIE, &t, secure, None);
            (t, Some(c))
        }
    }
}

fn checkpre(headers: &HeaderMap, given: &str) -> WebResult<()> {
    match cookie(headers, PRE_COOKIE) {
        Some(t) if ct_eq(t, given) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

fn with_cookie(mut res: Response, c: Option<HeaderValue>) -> Response {
    if let Some(c) = c {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub(crate) async fn setup_form(State(st): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    if st.store.count_users().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let (pre, c) = pre_token(&headers, st.secure);
    let page = SetupPage::new(Tr::new(lang_of(&headers)), pre, String::new(), String::new(), String::new());
    Ok(with_cookie(page.into_response(), c))
}

pub(crate) async fn setup_submit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> WebResult<Response> {
    checkpre(&headers, &f.pre)?;
    if st.store.count_users().await? > 0 {
        return Err(WebError::Forbidden);
    }
    let tr = Tr::new(lang_of(&headers));
    let again = |msg: String| SetupPage::new(tr, f.pre.clone(), f.login.clone(), f.name.clone(), msg).into_response();
    if f.password != f.password2 {
        return Ok(again(tr.s("user.password_mismatch").into()));
    }
    if let Err(e) = auth::check_password(&f.login, &f.password) {
        return Ok(again(tr.pick(&e.ja, &e.en).to_string()));
    }
    let hash = hash_password(&f.password)?;
    let user = match st
        .store
        .add_user(&NewUser {
            login: f.login.trim().into(),
            name: f.name.trim().into(),
            role: Role::Admin,
            facility_id: None,
            vendor_name: String::new(),
            prefecture: String::new(),
            password_hash: hash,
        })
        .await
    {
        Ok(u) => u,
        Err(mamori_store::StoreError::Invalid(m)) => return Ok(again(m)),
        Err(e) => return Err(e.into()),
    };
    st.store
        .append_audit(&NewAuditEntry {
            user_login: user.login.clone(),
            user_name: user.name.clone(),
            category: AuditCategory::Admin,
            operation: "初期設定（システム管理者作成）".into(),
            target: format!("利用者 {}", user.login),
            facility_id: None,
            source: source_of(&addr),
        })
        .await?;
    start_session(&st, &user, &addr, "/").await
}

async fn start_session(st: &AppState, user: &User, addr: &SocketAddr, to: &str) -> WebResult<Response> {
    let token = random_token();
    let csrf = random_token();
    st.store.create_session(&token_hash(&token), user.id, &csrf, unix_now(), &source_of(addr)).await?;
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, st.secure, None));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(PRE_COOKIE, "", st.secure, Some(0)));
    Ok(res)
}

pub(crate) async fn login_form(State(st): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    if st.store.count_users().await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (pre, c) = pre_token(&headers, st.secure);
    Ok(with_cookie(LoginPage::new(Tr::new(lang_of(&headers)), pre, String::new(), String::new()).into_response(), c))
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    pre: String,
}

pub(crate) async fn login_submit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> WebResult<Response> {
    checkpre(&headers, &f.pre)?;
    let tr = Tr::new(lang_of(&headers));
    let source = source_of(&addr);
    let login = f.login.trim().to_string();
    let now = unix_now();
    let (by_account, by_source) =
        st.store.login_failures_since(&login, &source, now - auth::THROTTLE_WINDOW_SECS).await?;
    let fail = |key: &str| {
        (axum::http::StatusCode::UNAUTHORIZED, LoginPage::new(tr, f.pre.clone(), login.clone(), tr.s(key).to_string()))
            .into_response()
    };
    let audit_fail = |op: &str| NewAuditEntry {
        user_login: login.clone(),
        user_name: String::new(),
        category: AuditCategory::Auth,
        operation: op.into(),
        target: String::new(),
        facility_id: None,
        source: source.clone(),
    };
    if auth::login_blocked(by_account, by_source) {
        st.store.record_login_failure(&login, &source, now).await?;
        st.store.append_audit(&audit_fail("ログイン失敗（試行回数超過のため拒否）")).await?;
        return Ok(fail("login.blocked"));
    }
    let found = st.store.user_with_hash(&login).await?;
    let ok_user = match &found {
        Some((u, phc)) => {
            let pw = f.password.clone();
            let phc = phc.clone();
            let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            (ok && !u.disabled).then(|| u.clone())
        }
        None => {
            // Spend the same time as for a real account, so timing does not tell which IDs exist.
            let pw = f.password.clone();
            let _ = tokio::task::spawn_blocking(move || hash_password(&pw)).await;
            None
        }
    };
    match ok_user {
        Some(user) => {
            st.store.clear_login_failures(&login).await?;
            st.store.append_audit(&NewAuditEntry { user_name: user.name.clone(), ..audit_fail("ログイン") }).await?;
            start_session(&st, &user, &addr, "/").await
        }
        None => {
            st.store.record_login_failure(&login, &source, now).await?;
            st.store.append_audit(&audit_fail("ログイン失敗")).await?;
            Ok(fail("login.failed"))
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn clear_session_cookie(st: &AppState) -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", st.secure, Some(0))
}

pub(crate) async fn logout(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    st.store.delete_session(&ctx.token_hash).await?;
    st.store.append_audit(&ctx.audit(AuditCategory::Auth, "ログアウト", "", None)).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, clear_session_cookie(&st));
    Ok(res)
}

pub(crate) async fn logout_all(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    let n = st.store.delete_user_sessions(ctx.user.id).await?;
    st.store
        .append_audit(&ctx.audit(AuditCategory::Auth, "ログアウト（全端末）", &format!("セッション{n}件"), None))
        .await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, clear_session_cookie(&st));
    Ok(res)
}

pub(crate) async fn account(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    Ok(AccountPage { chrome: st.chrome(&ctx, "/account", None).await?, error: String::new() }.into_response())
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
    new2: String,
}

/// Changes the signed-in user's password: ends every session and starts a fresh one here.
pub(crate) async fn change_password(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> WebResult<Response> {
    let ctx = st.ctx(&headers, &addr).await?;
    ctx.check_csrf(&headers, Some(&f.csrf))?;
    let t = ctx.tr;
    let again = |chrome: Chrome, msg: String| {
        (axum::http::StatusCode::UNPROCESSABLE_ENTITY, AccountPage { chrome, error: msg }).into_response()
    };
    let (_, phc) = st.store.user_with_hash(&ctx.user.login).await?.ok_or(WebError::Unauthenticated)?;
    let current = f.current.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&current, &phc))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if !ok {
        st.store
            .append_audit(&ctx.audit(AuditCategory::Auth, "パスワード変更の失敗（現在のパスワード誤り）", "", None))
            .await?;
        return Ok(again(st.chrome(&ctx, "/account", None).await?, t.s("account.wrong_current").into()));
    }
    if f.new != f.new2 {
        return Ok(again(st.chrome(&ctx, "/account", None).await?, t.s("user.password_mismatch").into()));
    }
    if let Err(e) = auth::check_password(&ctx.user.login, &f.new) {
        return Ok(again(st.chrome(&ctx, "/account", None).await?, t.pick(&e.ja, &e.en).into()));
    }
    st.store.set_password_hash(ctx.user.id, &hash_password(&f.new)?).await?;
    st.store.append_audit(&ctx.audit(AuditCategory::Auth, "パスワードを変更", "", None)).await?;
    start_session(&st, &ctx.user, &addr, "/").await
}

#[derive(Deserialize)]
pub(crate) struct SwitchQuery {
    #[serde(default)]
    to: String,
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after a switch (no open redirect).
pub(crate) fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') { next } else { "/" }
}

pub(crate) async fn set_lang(State(st): State<AppState>, Query(q): Query<SwitchQuery>) -> Response {
    let lang = Lang::parse(&q.to);
    let mut res = Redirect::to(safe_next(&q.next)).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.code(), st.secure, Some(31_536_000)));
    res
}

pub(crate) async fn set_era(State(st): State<AppState>, Query(q): Query<SwitchQuery>) -> Response {
    let v = if q.to == "wareki" { "wareki" } else { "seireki" };
    let mut res = Redirect::to(safe_next(&q.next)).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(ERA_COOKIE, v, st.secure, Some(31_536_000)));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("sakura mochi to ocha").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("sakura mochi to ocha", &h));
        assert!(!verify_password("sakura mochi to ochA", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("sakura mochi to ocha").unwrap(), "salted");
    }

    #[test]
    fn tokens_and_cookies() {
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
        let p = random_password();
        assert_eq!(p.chars().count(), 20);
        assert!(auth::check_password("admin", &p).is_ok() || p.to_lowercase().contains("admin"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; mamori_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
        assert_eq!(safe_next("/f/1"), "/f/1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        let c = set_cookie(SESSION_COOKIE, "x", true, None);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
    }
}
