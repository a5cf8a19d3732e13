//! Pages of the bcp capability: /f/{fid}/contacts…, /f/{fid}/bcp…. Templates are templates/bcp_*.html, messages i18n/bcp.{ja,en}.toml.

use axum::Router;

use crate::AppState;

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
