//! mamori web app: server-rendered pages (askama) with htmx for partial updates, every asset embedded
//! (hospitals run closed networks), accounts with roles enforced on every route and every record,
//! sessions and CSRF tokens in the database, and the app's own hash-chained access log.
//!
//! Entry points: [`serve`] (what `mamori serve` and `mamori demo` run), [`router`] (for tests and the
//! benchmark), [`hash_password`] / [`check_password`] (for `mamori user add`), [`audit_export`].

mod admin;
mod backup;
mod bcp;
mod checklist;
mod i18n;
mod pages;
mod session;
mod summary;
mod views;
mod vuln;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_model::ledger::LedgerKind;
use mamori_store::Store;

pub use admin::audit_export;
pub use i18n::Lang;
pub use session::{hash_password, random_password, verify_password};

/// One error enum for the crate: what went wrong, shown to the user as a page in their language.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("ログインが必要です / login required")]
    Unauthenticated,
    #[error("権限がありません / forbidden")]
    Forbidden,
    #[error("見つかりません / not found")]
    NotFound,
    #[error("CSRFトークンが不正です / bad CSRF token")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] mamori_store::StoreError),
    #[error(transparent)]
    App(#[from] mamori_app::AppError),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, key) = match &self {
            WebError::Unauthenticated => return Redirect::to("/login").into_response(),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden"),
            WebError::NotFound => (StatusCode::NOT_FOUND, "error.not_found"),
            WebError::Csrf => (StatusCode::FORBIDDEN, "error.csrf"),
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, "error.bad_request"),
            WebError::Store(mamori_store::StoreError::Invalid(_)) => (StatusCode::BAD_REQUEST, "error.bad_request"),
            WebError::App(e) if e.invalid_input().is_some() => (StatusCode::BAD_REQUEST, "error.bad_request"),
            WebError::Store(_) | WebError::App(_) | WebError::Internal(_) => {
                eprintln!("mamori-web: {self}");
                (StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
            }
        };
        let detail = match &self {
            WebError::BadRequest(m) => m.clone(),
            WebError::Store(mamori_store::StoreError::Invalid(m)) => m.clone(),
            WebError::App(e) => e.invalid_input().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        (status, views::error_page(key, &detail)).into_response()
    }
}

pub type WebResult<T> = std::result::Result<T, WebError>;

/// What a checked upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadTarget {
    Ledger(LedgerKind),
    Contacts(mamori_app::bcp::ContactImportMode),
}

/// An uploaded file checked by a dry run, waiting for the user's confirmation.
pub(crate) struct PendingUpload {
    pub user_id: i64,
    pub facility_id: i64,
    pub target: UploadTarget,
    pub name: String,
    pub bytes: Vec<u8>,
    pub created: i64,
}

/// A checked upload waits this long for its confirmation.
pub(crate) const UPLOAD_TTL_SECS: i64 = 30 * 60;

impl AppState {
    /// Keeps a checked upload for its confirmation; returns the id the confirmation form sends back.
    pub(crate) fn keep_upload(&self, up: PendingUpload) -> String {
        let id = session::random_token();
        let mut pending = self.pending.lock().expect("pending lock");
        pending.retain(|_, p| up.created - p.created < UPLOAD_TTL_SECS);
        pending.insert(id.clone(), up);
        id
    }

    /// Takes back a checked upload: only the same user, for the same facility and purpose, within its time.
    pub(crate) fn take_upload(
        &self,
        id: &str,
        user_id: i64,
        facility_id: i64,
        target: UploadTarget,
        now: i64,
    ) -> Option<PendingUpload> {
        let mut pending = self.pending.lock().expect("pending lock");
        match pending.get(id) {
            Some(p) if p.user_id == user_id && p.facility_id == facility_id && p.target == target => {
                pending.remove(id).filter(|u| now - u.created < UPLOAD_TTL_SECS)
            }
            _ => None,
        }
    }
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Cookies get `Secure` (served over TLS).
    pub secure: bool,
    pub(crate) pending: Arc<Mutex<HashMap<String, PendingUpload>>>,
    pub(crate) findings_cache: Arc<Mutex<HashMap<i64, pages::CachedFindings>>>,
}

impl AppState {
    pub fn new(store: Store, secure: bool) -> Self {
        Self { store, secure, pending: Arc::default(), findings_cache: Arc::default() }
    }
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

async fn asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match Assets::get(&path) {
        Some(f) => {
            let ct = if path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else if path.ends_with(".css") {
                "text/css; charset=utf-8"
            } else if path.ends_with(".svg") {
                "image/svg+xml"
            } else {
                "text/plain; charset=utf-8"
            };
            (
                [(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "public, max-age=3600")],
                Body::from(f.data.into_owned()),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Security headers on every response: no inline scripts, no framing, no referrer, no sniffing.
async fn security_headers(req: Request, next: Next) -> Response {
    let is_htmx = req.headers().contains_key("hx-request");
    let mut res = next.run(req).await;
    // An expired session during an htmx request: send the whole page to the login form, not the fragment.
    if is_htmx && res.status().is_redirection() && res.headers().get(header::LOCATION).is_some_and(|l| l == "/login") {
        *res.status_mut() = StatusCode::OK;
        res.headers_mut().insert("hx-redirect", HeaderValue::from_static("/login"));
    }
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::VARY, HeaderValue::from_static("HX-Request, Cookie"));
    res
}

/// Every route of the app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/setup", get(session::setup_form).post(session::setup_submit))
        .route("/login", get(session::login_form).post(session::login_submit))
        .route("/logout", post(session::logout))
        .route("/logout-all", post(session::logout_all))
        .route("/account", get(session::account))
        .route("/account/password", post(session::change_password))
        .route("/lang", get(session::set_lang))
        .route("/era", get(session::set_era))
        .route("/facilities", get(pages::facilities))
        .route("/switch", get(pages::switch))
        .route("/f/{fid}", get(pages::dashboard))
        .route("/f/{fid}/l/{ledger}", get(pages::ledger_list))
        .route("/f/{fid}/l/{ledger}/export", get(pages::export))
        .route("/f/{fid}/l/{ledger}/import", get(pages::import_form).post(pages::import_check))
        .route("/f/{fid}/l/{ledger}/import/confirm", post(pages::import_confirm))
        .route("/f/{fid}/l/{ledger}/r/{key}", get(pages::record))
        .route("/f/{fid}/l/{ledger}/r/{key}/edit", get(pages::edit_form).post(pages::edit_submit))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{login}/disable", post(admin::disable_user))
        .route("/admin/users/{login}/enable", post(admin::enable_user))
        .route("/admin/users/{login}/reset-password", post(admin::reset_password))
        .route("/admin/users/{login}/assign", post(admin::assign_facility))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/audit/export", get(admin::audit_download))
        .route("/static/{*path}", get(asset))
        .merge(checklist::routes())
        .merge(bcp::routes())
        .merge(vuln::routes())
        .merge(backup::routes())
        .merge(summary::routes())
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// TLS certificate and key (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Serves until Ctrl-C (or SIGTERM). With `tls`, HTTPS only and cookies marked `Secure`.
pub async fn serve(store: Store, listen: SocketAddr, tls: Option<TlsFiles>) -> anyhow::Result<()> {
    let state = AppState::new(store, tls.is_some());
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let h2 = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        h2.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    match tls {
        Some(t) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key).await.map_err(|e| {
                anyhow::anyhow!(
                    "証明書または秘密鍵を読めません（{} / {}）: {e} / cannot read the TLS certificate or key",
                    t.cert.display(),
                    t.key.display()
                )
            })?;
            axum_server::bind_rustls(listen, config).handle(handle).serve(app).await?;
        }
        None => {
            axum_server::bind(listen).handle(handle).serve(app).await?;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
