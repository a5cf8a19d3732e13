//! mamori-backup: offline backup engine on rustic_core (オフラインバックアップエンジン).
//!
//! Restic-compatible encrypted, deduplicated repositories; ingest manifests; tiers (online,
//! offline/immutable, off-site); policy checked against the real system; checks and restore drills.
//! All results are plain serde types the store can persist.

mod engine;
mod error;
mod keys;
pub mod policy;
pub mod progress;
#[cfg(feature = "rest")]
mod rest;
pub mod sys;
mod targets;
mod types;

pub use engine::{
    ADMIN_KEY_USER, BACKUP_KEY_USER, CommandSource, DirSource, MANIFEST_NAME, REST_PASSWORD_ENV, REST_SUPPORTED,
    REST_USER_ENV, RestoreMode, RestoreRun, SnapshotRef, TAG_MAMORI, backup_command, backup_directory,
    benchmark_only_skip_manifest_hashes, build_manifest, check, compare_with_manifest, forget_prune, generations,
    init_repository, is_rest, repository_exists, restore_drill, restore_to, select_forget, validate_rest_location,
};
pub use error::{BackupError, Result};
pub use keys::{SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R, key_parameters};
#[cfg(feature = "rest")]
pub use rest::REST_CACERT_ENV;
pub use targets::*;
pub use types::*;
