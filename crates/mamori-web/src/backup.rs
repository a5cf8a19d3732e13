//! Pages of the backup capability: /f/{fid}/backup…. Templates are templates/backup_*.html, messages i18n/backup.{ja,en}.toml.

use axum::Router;

use crate::AppState;

/// The routes of this capability, merged into [`crate::router`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
