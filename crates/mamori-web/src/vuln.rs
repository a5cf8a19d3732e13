//! Pages of the vuln capability: /f/{fid}/vuln…. Templates are templates/vuln_*.html, messages i18n/vuln.{ja,en}.toml.

use axum::Router;

use crate::AppState;

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
