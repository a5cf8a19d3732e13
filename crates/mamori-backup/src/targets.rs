//! Targets and tiers (保管先と保管区分): copies to removable media, detach records, immutable
//! files, and probes of a target's real state.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::engine::{self, generations, open};
use crate::error::{BackupError, Result};
use crate::sys::{self, FlagResult, MountEntry};
use crate::types::*;

/// Copies every mamori generation the target does not hold yet from `source` to the target's
/// repository (initialised beforehand with [`crate::init_repository`] and the same backup
/// password), then checks the target with `--read-data`.
pub fn copy_to_target(source: &Path, password: &Password, target: &Target) -> Result<CopyRun> {
    let at = Utc::now();
    let t0 = Instant::now();
    let src = open(source, password)?;
    let dest = open(&target.path, password)?;
    let snaps = src.get_all_snapshots().map_err(BackupError::repo("list snapshots", source))?;
    let snaps: Vec<_> = snaps.into_iter().filter(|s| s.tags.contains(engine::TAG_MAMORI)).collect();
    let relevant = dest.relevant_copy_snapshots(|_| true, &snaps).map_err(BackupError::repo("copy", &target.path))?;
    let to_copy: Vec<_> = relevant.into_iter().filter(|c| c.relevant).map(|c| c.sn).collect();
    let copied: Vec<String> = to_copy.iter().map(|s| engine::hex_id(&s.id)).collect();
    if !to_copy.is_empty() {
        let src = src.to_indexed().map_err(BackupError::repo("read index", source))?;
        let dest = dest.to_indexed_ids().map_err(BackupError::repo("read index", &target.path))?;
        src.copy(&dest, to_copy.iter()).map_err(BackupError::repo("copy", &target.path))?;
    } else {
        drop(dest);
    }
    sys::sync_all();
    let check = engine::check(&target.path, password, ReadData::All)?;
    let generations_on_target = generations(&target.path, password)?;
    Ok(CopyRun {
        target_id: target.id.clone(),
        target_path: target.path.clone(),
        at,
        copied,
        generations_on_target,
        check,
        duration_ms: t0.elapsed().as_millis() as u64,
    })
}

/// Flushes, tries to unmount the removable media holding the target, and records the detach
/// with media ID and time. Whether it is still mounted is read back from mountinfo, not assumed.
/// `generations` are those on the media (from [`CopyRun::generations_on_target`]).
pub fn detach_media(target: &Target, media_id: &str, generations: Vec<Generation>) -> Result<DetachRecord> {
    if media_id.trim().is_empty() {
        return Err(BackupError::invalid(
            "媒体IDを指定してください（媒体のラベルや管理番号）",
            "give the media ID (label or inventory number)",
        ));
    }
    sys::sync_all();
    let mount = sys::mount_of(&target.path);
    let own_mount = mount
        .as_ref()
        .filter(|m| m.mount_point != Path::new("/"))
        .filter(|m| target.path.canonicalize().map(|p| p.starts_with(&m.mount_point)).unwrap_or(false))
        .cloned();
    let mut evidence = Vec::new();
    let mut unmounted = false;
    if let Some(m) = &own_mount {
        match sys::unmount(&m.mount_point) {
            Ok(()) => {
                unmounted = true;
                evidence.push(format!(
                    "{} をアンマウントしました / unmounted {}",
                    m.mount_point.display(),
                    m.mount_point.display()
                ));
            }
            Err(e) => evidence.push(format!(
                "{} をアンマウントできませんでした（{e}）。手動で取り外してください / could not unmount {}: {e}; detach it by hand",
                m.mount_point.display(),
                m.mount_point.display()
            )),
        }
    } else {
        evidence.push(format!(
            "{} は独立した媒体のマウントではありません（ルートファイルシステム上）/ {} is not on a separate mount",
            target.path.display(),
            target.path.display()
        ));
    }
    let still_mounted = match &own_mount {
        Some(m) => sys::is_mount_point(&m.mount_point),
        None => true,
    };
    evidence.push(if still_mounted {
        "mountinfo: まだマウントされています / still mounted".to_string()
    } else {
        "mountinfo: マウントされていません / no longer mounted".to_string()
    });
    Ok(DetachRecord {
        target_id: target.id.clone(),
        media_id: media_id.to_string(),
        at: Utc::now(),
        mount_point: own_mount.map(|m| m.mount_point),
        unmounted_by_mamori: unmounted,
        still_mounted,
        generations,
        evidence: evidence.join("; "),
    })
}

/// Sets the immutable attribute (chattr +i, FS_IOC_SETFLAGS) on every file of a repository.
/// Directories stay writable so later runs can add new files; existing files can then neither
/// be changed nor deleted, even by their owner. Reports honestly what could not be set.
pub fn make_immutable(repo: &Path) -> Result<ImmutableReport> {
    let (files, _) = sys::walk_files(repo).map_err(BackupError::io(repo))?;
    let mut set = 0;
    let mut already = 0;
    let mut failed = Vec::new();
    for f in &files {
        match sys::set_immutable(f) {
            FlagResult::Set => set += 1,
            FlagResult::Already => already += 1,
            FlagResult::Unsupported(m) | FlagResult::Denied(m) | FlagResult::Failed(m) => {
                failed.push((f.to_string_lossy().into_owned(), m))
            }
        }
    }
    let total = files.len() as u64;
    let all = total > 0 && failed.is_empty();
    let evidence = if all {
        format!("{total} 個のファイルすべてに変更不可属性が付いています / all {total} files are immutable")
    } else if let Some((_, why)) = failed.first() {
        format!(
            "{} / {total} 個のファイルに変更不可属性を付けられませんでした: {why} / {} of {total} files could not be made immutable",
            failed.len(),
            failed.len()
        )
    } else {
        "ファイルがありません / no files".to_string()
    };
    Ok(ImmutableReport {
        target_path: repo.to_path_buf(),
        files_total: total,
        files_set: set,
        files_already: already,
        failed,
        all_immutable: all,
        evidence,
    })
}

/// Removes the immutable attribute again (admin work before a prune on such a target).
pub fn clear_immutable(repo: &Path) -> Result<u64> {
    let (files, _) = sys::walk_files(repo).map_err(BackupError::io(repo))?;
    let mut n = 0;
    for f in &files {
        if sys::clear_immutable(f) == FlagResult::Set {
            n += 1;
        }
    }
    Ok(n)
}

/// What a probe found out about a target's offline state (オフライン状態).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineState {
    /// The repository is not reachable: media detached.
    Detached,
    /// The filesystem is mounted read-only.
    ReadOnly,
    /// Every repository file carries the immutable flag.
    Immutable,
    /// Attached and writable.
    Online,
}

/// A target as the kernel reports it (保管先の実際の状態).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetProbe {
    pub target_id: String,
    pub path: PathBuf,
    pub repository_present: bool,
    /// statvfs ST_RDONLY; `None` when the path cannot be reached.
    pub read_only: Option<bool>,
    /// FS_IOC_GETFLAGS on every repository file; `None` when unsupported or unreachable.
    pub immutable: Option<bool>,
    pub mount: Option<MountEntry>,
    pub state: OfflineState,
    /// What was looked at and what it showed.
    pub evidence: Vec<Bilingual>,
}

/// Looks at a target for real: statvfs, file flags and /proc/self/mountinfo.
pub fn probe_target(target: &Target) -> TargetProbe {
    if engine::is_rest(&target.path) {
        return probe_rest(target);
    }
    let mut evidence = Vec::new();
    let present = target.path.join("config").is_file();
    let mount = sys::mount_of(&target.path);
    if let Some(m) = &mount {
        let (path, at) = (target.path.display(), m.mount_point.display());
        let what = format!("{}, {}, {}", m.fs_type, m.source, m.mount_options);
        evidence.push(Bilingual::new(
            format!("mountinfo: {path} は {at}（{what}）上"),
            format!("mountinfo: {path} is on {at} ({what})"),
        ));
    }
    if !present {
        evidence.push(Bilingual::new(
            format!("{} にリポジトリが見えません（媒体は取り外されています）", target.path.display()),
            format!("no repository visible at {} (media detached)", target.path.display()),
        ));
        return TargetProbe {
            target_id: target.id.clone(),
            path: target.path.clone(),
            repository_present: false,
            read_only: None,
            immutable: None,
            mount,
            state: OfflineState::Detached,
            evidence,
        };
    }
    let read_only = match sys::statvfs_read_only(&target.path) {
        Ok(ro) => {
            evidence.push(if ro {
                Bilingual::new("statvfs: 読み取り専用（ST_RDONLY）", "statvfs: read-only (ST_RDONLY)")
            } else {
                Bilingual::new("statvfs: 書き込み可能", "statvfs: writable")
            });
            Some(ro)
        }
        Err(e) => {
            evidence.push(Bilingual::new(format!("statvfs 失敗: {e}"), format!("statvfs failed: {e}")));
            None
        }
    };
    let immutable = match sys::walk_files(&target.path) {
        Ok((files, _)) => {
            let mut all = true;
            let mut unknown = None;
            let mut n_imm = 0;
            for f in &files {
                match sys::get_immutable(f) {
                    Ok(true) => n_imm += 1,
                    Ok(false) => all = false,
                    Err(FlagResult::Unsupported(m)) | Err(FlagResult::Denied(m)) | Err(FlagResult::Failed(m)) => {
                        unknown = Some(m);
                        break;
                    }
                    Err(_) => {}
                }
            }
            match unknown {
                Some(m) => {
                    evidence.push(Bilingual::new(
                        format!("変更不可属性を読めません: {m}"),
                        format!("cannot read file flags: {m}"),
                    ));
                    None
                }
                None => {
                    evidence.push(Bilingual::new(
                        format!("FS_IOC_GETFLAGS: {} 個中 {n_imm} 個が変更不可", files.len()),
                        format!("FS_IOC_GETFLAGS: {n_imm} of {} files immutable", files.len()),
                    ));
                    Some(all && !files.is_empty())
                }
            }
        }
        Err(e) => {
            evidence.push(Bilingual::new(format!("ファイル一覧を読めません: {e}"), format!("cannot list files: {e}")));
            None
        }
    };
    let state = if read_only == Some(true) {
        OfflineState::ReadOnly
    } else if immutable == Some(true) {
        OfflineState::Immutable
    } else {
        OfflineState::Online
    };
    TargetProbe {
        target_id: target.id.clone(),
        path: target.path.clone(),
        repository_present: true,
        read_only,
        immutable,
        mount,
        state,
        evidence,
    }
}

/// A REST server target: whether the server answers and lists a repository. Read-only or
/// append-only modes of the server cannot be read from the client, so it counts as online.
fn probe_rest(target: &Target) -> TargetProbe {
    let (present, evidence) = match engine::repository_exists(&target.path) {
        Ok(true) => (
            true,
            Bilingual::new(
                "REST サーバーが応答し、リポジトリがあります",
                "the REST server answers and holds a repository",
            ),
        ),
        Ok(false) => (
            false,
            Bilingual::new(
                "REST サーバーは応答しましたが、リポジトリがありません",
                "the REST server answers but holds no repository",
            ),
        ),
        Err(e) => (
            false,
            Bilingual::new(format!("REST サーバーに接続できません: {e}"), format!("cannot reach the REST server: {e}")),
        ),
    };
    TargetProbe {
        target_id: target.id.clone(),
        path: target.path.clone(),
        repository_present: present,
        read_only: None,
        immutable: None,
        mount: None,
        state: OfflineState::Online,
        evidence: vec![
            evidence,
            Bilingual::new(
                "追記専用・読み取り専用の設定はサーバー側のためクライアントからは確認できず、オンラインとして扱います",
                "append-only or read-only modes are server settings the client cannot read: counted as online",
            ),
        ],
    }
}
