//! Pages of the checklist capability: /f/{fid}/checklist…, /f/{fid}/gmis…. Templates are templates/checklist_*.html, messages i18n/checklist.{ja,en}.toml.

use axum::Router;

use crate::AppState;

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
