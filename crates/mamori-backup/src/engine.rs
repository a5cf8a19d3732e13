//! The backup engine on rustic_core (バックアップエンジン).
//!
//! Every public operation opens the repository itself and drops it at the end: rustic_core keeps
//! state per opened handle (a second backup through the same handle does not deduplicate), and
//! each open derives the key with scrypt once (see `keys`: 32 MiB with the key files mamori
//! writes, 128 MiB with rustic's default ones).
//! Repository defaults are kept (config version 2, default chunker and compression), so Debian's
//! `restic` reads, checks and restores what we write.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rustic_backend::BackendOptions;
use rustic_core::ReadBackend;
use rustic_core::repofile::{FileType, Metadata, Node, NodeType, SnapshotFile};
use rustic_core::{
    BackupOptions, CheckOptions, ConfigOptions, Credentials, ErrorKind, KeyOptions, LocalDestination, LsOptions,
    OpenStatus, PruneOptions, ReadSource, ReadSourceEntry, ReadSourceOpen, ReadSubsetOption, Repository,
    RepositoryBackends, RepositoryOptions, RestoreOptions, RusticError, RusticResult, SnapshotOptions,
};
use sha2::{Digest, Sha256};

use crate::error::{BackupError, Result};
use crate::sys;
use crate::types::*;

/// Name of the manifest file inside every mamori snapshot.
pub const MANIFEST_NAME: &str = "mamori-manifest.json";
/// Tag on every snapshot mamori writes.
pub const TAG_MAMORI: &str = "mamori";
/// Key user name of the everyday backup key (バックアップ用鍵).
pub const BACKUP_KEY_USER: &str = "mamori-backup";
/// Key user name of the admin key needed for forget/prune (管理者鍵).
pub const ADMIN_KEY_USER: &str = "mamori-admin";

// ---------------------------------------------------------------------------------------------
// opening

fn path_str(repo: &Path) -> Result<&str> {
    repo.to_str().ok_or_else(|| {
        BackupError::invalid(
            format!("リポジトリのパス {} が UTF-8 ではありません", repo.display()),
            format!("repository path {} is not UTF-8", repo.display()),
        )
    })
}

/// A repository on a restic REST server (`rest:http://host:8000/repo`, T3 off-site) rather than a
/// local path. Needs the `rest` cargo feature.
pub fn is_rest(repo: &Path) -> bool {
    repo.to_str().is_some_and(|s| s.starts_with("rest:"))
}

/// Whether this build can reach REST server repositories (cargo feature `rest`).
pub const REST_SUPPORTED: bool = cfg!(feature = "rest");

/// Environment variables with the REST server's HTTP basic-auth credentials: they are never
/// stored with the target (a location with `user:password@` is refused when a target is added).
pub const REST_USER_ENV: &str = "MAMORI_BACKUP_REST_USER";
pub const REST_PASSWORD_ENV: &str = "MAMORI_BACKUP_REST_PASSWORD";

/// Checks a REST location as a person would type it: `rest:http(s)://host[:port]/path`, no
/// credentials in it, and this build able to use it. Japanese first in the message.
pub fn validate_rest_location(location: &str) -> Result<()> {
    let url = location.strip_prefix("rest:").unwrap_or("");
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(BackupError::invalid(
            format!("REST サーバーの場所「{location}」は rest:https://ホスト:ポート/パス の形で書いてください"),
            format!("a REST server location looks like rest:https://host:port/path, not {location}"),
        ));
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains(char::is_whitespace) {
        return Err(BackupError::invalid(
            format!("REST サーバーの場所「{location}」にホスト名がありません"),
            format!("the REST server location {location} has no host"),
        ));
    }
    if authority.contains('@') {
        return Err(BackupError::invalid(
            format!(
                "REST サーバーの場所にユーザー名・パスワードを書かないでください（保存されてしまいます）。環境変数 {REST_USER_ENV} と {REST_PASSWORD_ENV} で渡してください"
            ),
            format!(
                "do not put a user name or password into the REST location (it would be stored); give them in {REST_USER_ENV} and {REST_PASSWORD_ENV}"
            ),
        ));
    }
    if !REST_SUPPORTED {
        return Err(BackupError::invalid(
            format!(
                "{location} は REST サーバーのリポジトリですが、この mamori は REST 対応（cargo feature `rest`）なしでビルドされています。`cargo build --release -p mamori --features backup-rest` でビルドしてください"
            ),
            format!(
                "{location} is a REST server repository, but this mamori was built without the `rest` cargo feature; build it with `cargo build --release -p mamori --features backup-rest`"
            ),
        ));
    }
    Ok(())
}

/// The location handed to rustic: for REST, the credentials from the environment go into the URL
/// (reqwest sends them as HTTP basic auth); never logged or stored.
fn backend_location(repo: &Path) -> Result<String> {
    let s = path_str(repo)?;
    if !is_rest(repo) {
        return Ok(s.to_string());
    }
    match (std::env::var(REST_USER_ENV), std::env::var(REST_PASSWORD_ENV)) {
        (Ok(user), Ok(pass)) if !user.is_empty() => {
            let enc = url_encode;
            let url = &s["rest:".len()..];
            let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
            Ok(format!("rest:{scheme}://{}:{}@{rest}", enc(&user), enc(&pass)))
        }
        _ => Ok(s.to_string()),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for URL user info).
pub(crate) fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether a repository exists at `repo` (a local path: its `config` file; REST: the server lists
/// a config, asked once without retries and with a 20 s timeout, so a status page never waits
/// long for a server that is down). A REST server that cannot be reached is an error.
pub fn repository_exists(repo: &Path) -> Result<bool> {
    if !is_rest(repo) {
        return has_repository(repo);
    }
    let be = rest_backends(repo, 0, std::time::Duration::from_secs(20))?.repository();
    Ok(!be.list(FileType::Config).map_err(BackupError::repo("open", repo))?.is_empty())
}

/// A REST server repository through mamori's own client (`rest.rs`: rustls with ring, no aws-lc).
#[cfg(feature = "rest")]
fn rest_backends(repo: &Path, retries: usize, timeout: std::time::Duration) -> Result<RepositoryBackends> {
    let location = backend_location(repo)?;
    let url = location.strip_prefix("rest:").unwrap_or(&location);
    Ok(crate::rest::RestBackend::new(url, retries, timeout).map_err(BackupError::repo("open", repo))?.into_backends())
}

#[cfg(not(feature = "rest"))]
fn rest_backends(repo: &Path, _retries: usize, _timeout: std::time::Duration) -> Result<RepositoryBackends> {
    rest_guard(repo)?;
    Err(BackupError::invalid("REST サーバーには対応していません", "no REST server support in this build"))
}

fn rest_guard(repo: &Path) -> Result<()> {
    if is_rest(repo) && !REST_SUPPORTED {
        return Err(BackupError::invalid(
            format!(
                "{} は REST サーバーのリポジトリですが、この mamori は REST 対応（cargo feature `rest`）なしでビルドされています",
                repo.display()
            ),
            format!(
                "{} is a REST server repository, but this mamori was built without the `rest` cargo feature",
                repo.display()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn backends(repo: &Path) -> Result<RepositoryBackends> {
    rest_guard(repo)?;
    if is_rest(repo) {
        // Like rustic's REST backend: 5 retries with backoff, 10 minutes per request (large packs).
        return rest_backends(repo, 5, std::time::Duration::from_secs(600));
    }
    BackendOptions::default().repository(backend_location(repo)?).to_backends().map_err(BackupError::repo("open", repo))
}

fn repo_options() -> RepositoryOptions {
    // No local cache: the repository is local anyway, and nothing should be written outside it.
    RepositoryOptions::default().no_cache(true)
}

fn has_repository(repo: &Path) -> Result<bool> {
    if !is_rest(repo) {
        return Ok(repo.join("config").is_file());
    }
    let be = backends(repo)?.repository();
    Ok(!be.list(FileType::Config).map_err(BackupError::repo("open", repo))?.is_empty())
}

/// Number of pack files (for "packs removed" figures), local or remote.
fn count_packs(repo: &Path) -> u64 {
    backends(repo)
        .and_then(|b| b.repository().list(FileType::Pack).map_err(BackupError::repo("list", repo)))
        .map(|v| v.len() as u64)
        .unwrap_or(0)
}

/// Opens a repository with a password. Opening writes nothing.
pub(crate) fn open(repo: &Path, password: &Password) -> Result<Repository<OpenStatus>> {
    open_unlocked(repo, &unlock(repo, password, BACKUP_KEY_USER)?)
}

/// Unlocks the master key (one scrypt derivation when the key of `prefer` fits the password).
pub(crate) fn unlock(repo: &Path, password: &Password, prefer: &str) -> Result<crate::keys::Unlocked> {
    if !has_repository(repo)? {
        return Err(BackupError::NoRepository { repo: repo.to_path_buf() });
    }
    crate::keys::unlock(repo, &backends(repo)?.repository(), password, prefer)
}

/// Opens a repository with an already unlocked master key.
pub(crate) fn open_unlocked(repo: &Path, key: &crate::keys::Unlocked) -> Result<Repository<OpenStatus>> {
    let be = backends(repo)?;
    let r = match crate::progress::current() {
        Some(bars) => Repository::new_with_progress(&repo_options(), &be, bars),
        None => Repository::new(&repo_options(), &be),
    };
    r.map_err(BackupError::repo("open", repo))?
        .open(&Credentials::Masterkey(key.master.clone()))
        .map_err(BackupError::repo("open", repo))
}

// ---------------------------------------------------------------------------------------------
// init

/// Creates a new encrypted repository with two keys: the everyday backup key and a separate
/// admin key that alone may forget/prune. The passwords must differ.
pub fn init_repository(repo: &Path, backup: &Password, admin: &Password) -> Result<InitRun> {
    if backup.expose() == admin.expose() {
        return Err(BackupError::invalid(
            "バックアップ用と管理者用のパスワードは別のものにしてください",
            "the backup and admin passwords must differ",
        ));
    }
    if has_repository(repo)? {
        return Err(BackupError::AlreadyExists { repo: repo.to_path_buf() });
    }
    if !is_rest(repo) {
        std::fs::create_dir_all(repo).map_err(BackupError::io(repo))?;
    }
    let be = backends(repo)?;
    let r = Repository::new(&repo_options(), &be)
        .map_err(BackupError::repo("init", repo))?
        .init(
            &Credentials::password(backup.expose()),
            &KeyOptions::default().username(BACKUP_KEY_USER.to_string()),
            &ConfigOptions::default(),
        )
        .map_err(BackupError::repo("init", repo))?;
    // rustic wrote the backup key with its own scrypt parameters (128 MiB per open): replace it
    // by one with mamori's (see `keys`), and write the admin key the same way.
    let old_id = r.key_id().as_ref().map(hex_id).unwrap_or_default();
    let master = r.key();
    let (backup_key_id, admin_key_id) =
        crate::keys::replace_init_key(repo, &be.repository(), &old_id, &master, backup, admin)?;
    Ok(InitRun { repository: repo.to_path_buf(), repository_id: hex_id(&r.config().id), backup_key_id, admin_key_id })
}

// ---------------------------------------------------------------------------------------------
// names, tags, snapshots

fn validate_name(what: &str, s: &str) -> Result<()> {
    let bad = s.is_empty()
        || s.len() > 64
        || s.chars().any(|c| c == ',' || c == '=' || c == '/' || c.is_whitespace() || c.is_control());
    if bad {
        return Err(BackupError::invalid(
            format!("{what}「{s}」は使えません（1〜64文字、空白・カンマ・= ・/ は不可）"),
            format!("{what} `{s}` is not allowed (1-64 chars, no whitespace, comma, '=' or '/')"),
        ));
    }
    Ok(())
}

fn tags_for(system: &str, dump_type: &str) -> Vec<String> {
    vec![TAG_MAMORI.to_string(), format!("system={system}"), format!("dump={dump_type}")]
}

fn snapshot_template(system: &str, dump_type: &str) -> Result<SnapshotFile> {
    SnapshotOptions::default()
        .label(format!("mamori:{system}"))
        .add_tags(&tags_for(system, dump_type).join(","))
        .and_then(|o| o.to_snapshot())
        .map_err(|e| BackupError::invalid(e.to_string(), e.to_string()))
}

/// Full 64-hex form of a repository id (Display gives only the short 8-hex form).
pub(crate) fn hex_id(id: &impl std::ops::Deref<Target = rustic_core::Id>) -> String {
    id.to_hex().as_str().to_string()
}

/// Check messages without rustic's backtrace and with whitespace folded.
fn short_message(s: &str) -> String {
    let s = s.split("\n\nBacktrace").next().unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn to_chrono(z: &rustic_core::jiff::Zoned) -> DateTime<Utc> {
    let ts = z.timestamp();
    DateTime::from_timestamp(ts.as_second(), u32::try_from(ts.subsec_nanosecond()).unwrap_or(0)).unwrap_or_default()
}

fn generation_of(s: &SnapshotFile) -> Option<Generation> {
    let tags: Vec<&String> = s.tags.iter().collect();
    if !tags.iter().any(|t| t.as_str() == TAG_MAMORI) {
        return None;
    }
    let get = |prefix: &str| tags.iter().find_map(|t| t.strip_prefix(prefix)).unwrap_or_default().to_string();
    Some(Generation {
        snapshot_id: hex_id(&s.id),
        time: to_chrono(&s.time),
        system: get("system="),
        dump_type: get("dump="),
        hostname: s.hostname.clone(),
        paths: s.paths.iter().cloned().collect(),
    })
}

/// All mamori generations in a repository, oldest first (世代一覧).
pub fn generations(repo: &Path, password: &Password) -> Result<Vec<Generation>> {
    let r = open(repo, password)?;
    let snaps = r.get_all_snapshots().map_err(BackupError::repo("list snapshots", repo))?;
    let mut g: Vec<Generation> = snaps.iter().filter_map(generation_of).collect();
    g.sort_by(|a, b| a.time.cmp(&b.time).then(a.snapshot_id.cmp(&b.snapshot_id)));
    Ok(g)
}

// ---------------------------------------------------------------------------------------------
// manifest

fn sha256_reader(mut r: impl Read) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n_total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((n_total, hex::encode(h.finalize())))
}

pub(crate) fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let f = std::fs::File::open(path).map_err(BackupError::io(path))?;
    sha256_reader(f).map_err(BackupError::io(path))
}

fn rel_slash(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Builds the SHA-256 manifest of every regular file under `root` (path, size, sha256).
pub fn build_manifest(root: &Path, system: &str, dump_type: &str) -> Result<(Manifest, Vec<String>)> {
    let (files, others) = sys::walk_files(root).map_err(BackupError::io(root))?;
    // Hash files in parallel (one worker per core): the manifest pass is an extra read of the
    // whole dump set, so it should not take longer than it must.
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Slot = Mutex<Option<Result<(u64, String)>>>;
    let results: Vec<Slot> = files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let r = sha256_file(f);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut entries = Vec::with_capacity(files.len());
    for (f, r) in files.iter().zip(results) {
        let r = r.into_inner().unwrap_or_else(|p| p.into_inner());
        let (size, sha256) =
            r.ok_or_else(|| BackupError::invalid("ハッシュ計算が中断されました", "hashing was interrupted"))??;
        entries.push(ManifestEntry { path: rel_slash(root, f), size, sha256 });
    }
    let warnings = not_in_manifest(&others);
    Ok((
        Manifest {
            format: 1,
            system: system.to_string(),
            dump_type: dump_type.to_string(),
            created_at: Utc::now(),
            root: root.to_string_lossy().into_owned(),
            files: entries,
        },
        warnings,
    ))
}

// ---------------------------------------------------------------------------------------------
// backup from a landing directory

/// A landing directory where the EHR vendor writes its dumps (ダンプ受け入れフォルダ).
#[derive(Clone, Debug)]
pub struct DirSource {
    pub system: String,
    pub dump_type: String,
    pub landing: PathBuf,
    /// mamori's own state directory; the manifest is staged in `<work_dir>/manifest/<system>/`
    /// (a stable path, so the next run finds its parent snapshot). Must be outside `landing`.
    pub work_dir: PathBuf,
}

fn summary_numbers(s: &SnapshotFile) -> (u64, u64, u64) {
    s.summary
        .as_ref()
        .map(|s| (s.total_files_processed, s.total_bytes_processed, s.data_added_packed))
        .unwrap_or_default()
}

/// What the ingest source learnt while rustic read the landing directory.
#[derive(Default)]
struct IngestProgress {
    /// Regular files yielded to the archiver (absolute path, size at listing), in order.
    files: Vec<(PathBuf, u64)>,
    /// SHA-256 and byte count of every file read to its end.
    hashes: BTreeMap<PathBuf, (u64, String)>,
    /// Files yielded whose reader has not finished yet.
    pending: usize,
    /// Not regular files and not directories (left out of the manifest).
    others: Vec<PathBuf>,
}

#[derive(Default)]
struct IngestState {
    progress: Mutex<IngestProgress>,
    changed: std::sync::Condvar,
}

impl IngestState {
    fn lock(&self) -> std::sync::MutexGuard<'_, IngestProgress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Read buffer in front of every ingested file (see `IngestOpen::open`).
const INGEST_READ_BUF: usize = 256 * 1024;

static SKIP_MANIFEST_HASHES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// FOR THE BENCHMARK ONLY (`examples/bench_vs_restic`, to measure what the ingest manifest costs):
/// backups in this process record every file of the manifest with the SHA-256 of nothing. Never
/// called by mamori itself; a manifest written this way fails every restore drill.
#[doc(hidden)]
pub fn benchmark_only_skip_manifest_hashes(skip: bool) {
    SKIP_MANIFEST_HASHES.store(skip, std::sync::atomic::Ordering::Relaxed);
}

/// Fills the caller's buffer completely unless the end of the file comes first. rustic_core 0.13's
/// Rabin chunker truncates its 4 KiB read buffer to the length of every read it gets, so a reader
/// that ever returns a short read (a `BufReader` at its buffer's end) would leave it reading a few
/// bytes per call for the rest of the file.
struct FillReader<R>(R);

impl<R: Read> Read for FillReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.0.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // Hand over what was read; the error comes again on the next call.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// A reader that hashes what rustic reads, so the manifest costs no second pass over the data.
struct HashingReader {
    inner: std::fs::File,
    path: PathBuf,
    hasher: Option<Sha256>,
    bytes: u64,
    state: std::sync::Arc<IngestState>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            if n == 0 {
                let sha = hex::encode(self.hasher.take().map(|h| h.finalize()).unwrap_or_default());
                self.state.lock().hashes.insert(self.path.clone(), (self.bytes, sha));
            } else {
                if !SKIP_MANIFEST_HASHES.load(std::sync::atomic::Ordering::Relaxed) {
                    h.update(&buf[..n]);
                }
                self.bytes += n as u64;
            }
        }
        Ok(n)
    }
}

impl Drop for HashingReader {
    fn drop(&mut self) {
        let mut p = self.state.lock();
        p.pending = p.pending.saturating_sub(1);
        drop(p);
        self.state.changed.notify_all();
    }
}

enum IngestOpen {
    File(PathBuf, std::sync::Arc<IngestState>),
    Manifest(Box<dyn FnOnce() -> RusticResult<Vec<u8>> + Send>),
}

impl ReadSourceOpen for IngestOpen {
    type Reader = Box<dyn Read + Send>;
    fn open(self) -> RusticResult<Self::Reader> {
        match self {
            Self::File(path, state) => match std::fs::File::open(&path) {
                // rustic's chunker reads 4 KiB at a time once a chunk passed its minimum size: the
                // buffer turns those reads into memory copies instead of system calls. `FillReader`
                // because the chunker shrinks its 4 KiB buffer to the length of any short read.
                Ok(inner) => Ok(Box::new(FillReader(std::io::BufReader::with_capacity(
                    INGEST_READ_BUF,
                    HashingReader { inner, path, hasher: Some(Sha256::new()), bytes: 0, state },
                )))),
                Err(e) => {
                    let mut p = state.lock();
                    p.pending = p.pending.saturating_sub(1);
                    drop(p);
                    state.changed.notify_all();
                    Err(RusticError::with_source(ErrorKind::InputOutput, "cannot open `{path}`", e)
                        .attach_context("path", path.display().to_string()))
                }
            },
            Self::Manifest(make) => Ok(Box::new(std::io::Cursor::new(make()?))),
        }
    }
}

type IngestIter = Box<dyn Iterator<Item = RusticResult<ReadSourceEntry<IngestOpen>>> + Send>;

/// The landing directory as rustic's own local source sees it, every regular file hashed while
/// rustic reads it, and the manifest as one last file beside the landing directory
/// (`<landing>.mamori-manifest.json`, which sorts after everything inside it). The manifest's
/// content is made when the archiver reaches it, after every file before it was read.
struct IngestSource {
    inner: rustic_core::LocalSource,
    landing: PathBuf,
    manifest_path: PathBuf,
    template: Manifest,
    state: std::sync::Arc<IngestState>,
}

/// Manifest JSON padded with spaces to a length fixed before the files are read (the node of the
/// manifest file carries its size up front): every size reserved at 20 digits, every hash at 64.
fn manifest_json(m: &Manifest, reserved: Option<usize>) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(m).unwrap_or_default();
    if let Some(len) = reserved {
        json.resize(len.max(json.len()), b' ');
    }
    json
}

fn reserve_len(m: &Manifest, files: &[(PathBuf, u64)], landing: &Path) -> usize {
    let mut r = m.clone();
    r.files = files
        .iter()
        .map(|(p, _)| ManifestEntry { path: rel_slash(landing, p), size: u64::MAX, sha256: "0".repeat(64) })
        .collect();
    manifest_json(&r, None).len()
}

impl ReadSource for IngestSource {
    type Open = IngestOpen;
    type Iter = IngestIter;

    fn size(&self) -> RusticResult<Option<u64>> {
        self.inner.size()
    }

    fn entries(&self) -> Self::Iter {
        let state = self.state.clone();
        let files = self.inner.entries().map(move |e| {
            let e = e?;
            let open = match (e.node.node_type == NodeType::File, e.open) {
                (true, Some(_)) => {
                    let mut p = state.lock();
                    p.files.push((e.path.clone(), e.node.meta.size));
                    p.pending += 1;
                    Some(IngestOpen::File(e.path.clone(), state.clone()))
                }
                (_, _) => {
                    if !e.node.is_dir() {
                        state.lock().others.push(e.path.clone());
                    }
                    None
                }
            };
            Ok(ReadSourceEntry { path: e.path, node: e.node, open })
        });
        let state = self.state.clone();
        let landing = self.landing.clone();
        let template = self.template.clone();
        let path = self.manifest_path.clone();
        let manifest = std::iter::once_with(move || {
            let files = state.lock().files.clone();
            let reserved = reserve_len(&template, &files, &landing);
            let make = move || -> RusticResult<Vec<u8>> {
                // Wait until every file before the manifest was read; if a reader never finishes
                // (it should not happen), hash what is left directly rather than hang.
                let mut p = state.lock();
                loop {
                    if p.pending == 0 {
                        break;
                    }
                    let before = p.pending;
                    let (g, timeout) = state
                        .changed
                        .wait_timeout(p, std::time::Duration::from_secs(120))
                        .unwrap_or_else(|e| e.into_inner());
                    p = g;
                    if timeout.timed_out() && p.pending == before {
                        break;
                    }
                }
                let hashes = p.hashes.clone();
                drop(p);
                let mut m = template;
                for (f, _) in &files {
                    let (size, sha256) = match hashes.get(f) {
                        Some(h) => h.clone(),
                        None => match sha256_file(f) {
                            Ok(h) => h,
                            Err(_) => continue, // unreadable: the count check warns
                        },
                    };
                    m.files.push(ManifestEntry { path: rel_slash(&landing, f), size, sha256 });
                }
                Ok(manifest_json(&m, Some(reserved)))
            };
            let node = Node::new_node(
                path.file_name().unwrap_or_default(),
                NodeType::File,
                Metadata {
                    mode: Some(0o644), // restic stores Go file modes: a regular file is its permission bits
                    mtime: Some(rustic_core::jiff::Timestamp::now()),
                    size: reserved as u64,
                    ..Default::default()
                },
            );
            Ok(ReadSourceEntry { path, node, open: Some(IngestOpen::Manifest(Box::new(make))) })
        });
        Box::new(files.chain(manifest))
    }
}

/// Backs up a landing directory into one snapshot tagged `mamori`, `system=…`, `dump=…`, with the
/// ingest manifest (SHA-256 of every file) beside it as `<landing>.mamori-manifest.json`. The
/// hashes are taken from the very bytes the backup reads (no second pass over the data).
pub fn backup_directory(repo: &Path, password: &Password, src: &DirSource) -> Result<BackupRun> {
    let started_at = Utc::now();
    let t0 = Instant::now();
    validate_name("システム名", &src.system)?;
    validate_name("ダンプ種別", &src.dump_type)?;
    let landing = src.landing.canonicalize().map_err(BackupError::io(&src.landing))?;
    if !landing.is_dir() || landing.parent().is_none() {
        return Err(BackupError::invalid(
            format!("{} はフォルダではないか、ルートです", landing.display()),
            format!("{} is not a directory, or is the root", landing.display()),
        ));
    }
    // Open first: a wrong password must fail before anything is written anywhere.
    let r = open(repo, password)?;

    std::fs::create_dir_all(&src.work_dir).map_err(BackupError::io(&src.work_dir))?;
    let work = src.work_dir.canonicalize().map_err(BackupError::io(&src.work_dir))?;
    if work.starts_with(&landing) || landing.starts_with(&work) {
        return Err(BackupError::invalid(
            "作業フォルダとダンプ受け入れフォルダは別の場所にしてください",
            "work_dir and the landing directory must not contain each other",
        ));
    }
    let name = landing.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let manifest_path = landing.with_file_name(format!("{name}.{MANIFEST_NAME}"));
    let template = Manifest {
        format: 1,
        system: src.system.clone(),
        dump_type: src.dump_type.clone(),
        created_at: Utc::now(),
        root: landing.to_string_lossy().into_owned(),
        files: Vec::new(),
    };
    let state = std::sync::Arc::new(IngestState::default());
    let opts = BackupOptions::default();
    let inner = rustic_core::LocalSource::new(
        opts.ignore_save_opts,
        &opts.excludes,
        &opts.ignore_filter_opts,
        std::slice::from_ref(&landing),
    )
    .map_err(BackupError::repo("backup", repo))?;
    let source = IngestSource {
        inner,
        landing: landing.clone(),
        manifest_path: manifest_path.clone(),
        template: template.clone(),
        state: state.clone(),
    };

    let r = r.to_indexed_ids().map_err(BackupError::repo("read index", repo))?;
    // Every file is read (no parent shortcut), so every file is hashed from what was stored.
    let mut opts = opts;
    opts.parent_opts.force = true;
    let snap = r
        .archive(
            &opts,
            &source,
            snapshot_template(&src.system, &src.dump_type)?,
            &[landing.clone(), manifest_path.clone()],
        )
        .map_err(BackupError::repo("backup", repo))?;
    drop(r);

    let progress = std::mem::take(&mut *state.lock());
    let mut manifest = template;
    for (f, _) in &progress.files {
        if let Some((size, sha256)) = progress.hashes.get(f) {
            manifest.files.push(ManifestEntry { path: rel_slash(&landing, f), size: *size, sha256: sha256.clone() });
        }
    }
    let mut warnings = not_in_manifest(&progress.others);
    let reserved = reserve_len(&manifest, &progress.files, &landing) as u64;
    let (files, bytes, added) = summary_numbers(&snap);
    let want_files = progress.files.len() as u64 + 1;
    let want_bytes = manifest.total_bytes() + reserved;
    if files != want_files || bytes != want_bytes || manifest.files.len() != progress.files.len() {
        warnings.push(format!(
            "バックアップ中に受け入れフォルダが変化したか、読めないファイルがありました（マニフェスト {want_files} 件 {want_bytes} バイト、保存 {files} 件 {bytes} バイト）。復元訓練で確認してください。 / The landing directory changed during the backup or a file could not be read (manifest {want_files} files {want_bytes} bytes, stored {files} files {bytes} bytes); run a restore drill."
        ));
    }
    Ok(BackupRun {
        repository: repo.to_path_buf(),
        snapshot_id: hex_id(&snap.id),
        system: src.system.clone(),
        dump_type: src.dump_type.clone(),
        tags: tags_for(&src.system, &src.dump_type),
        source: landing.to_string_lossy().into_owned(),
        started_at,
        duration_ms: t0.elapsed().as_millis() as u64,
        files,
        bytes,
        added_bytes_packed: added,
        manifest,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// backup from a command's stdout

/// A dump taken as a stream from a command (コマンド出力からのダンプ取得), e.g. `pg_dump`.
#[derive(Clone, Debug)]
pub struct CommandSource {
    pub system: String,
    pub dump_type: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// File name the stream gets inside the snapshot, e.g. `ehr.dump`.
    pub file_name: String,
    /// mamori's state directory; the stream is spooled in `<work_dir>/spool/<system>/` while it
    /// is hashed and removed after the backup.
    pub work_dir: PathBuf,
}

/// Entries of a stream snapshot: the spooled dump and its manifest, side by side.
enum SpoolOpen {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl ReadSourceOpen for SpoolOpen {
    type Reader = Box<dyn Read + Send>;

    fn open(self) -> RusticResult<Self::Reader> {
        match self {
            Self::File(p) => std::fs::File::open(&p).map(|f| Box::new(f) as Box<dyn Read + Send>).map_err(|e| {
                RusticError::with_source(ErrorKind::InputOutput, "cannot open spool file `{path}`", e)
                    .attach_context("path", p.display().to_string())
            }),
            Self::Bytes(b) => Ok(Box::new(std::io::Cursor::new(b))),
        }
    }
}

struct SpoolSource {
    entries: Mutex<Vec<(String, u64, SpoolOpen)>>,
}

fn file_node(name: &str, size: u64) -> Node {
    let meta = Metadata {
        mode: Some(0o100_640),
        mtime: Some(rustic_core::jiff::Timestamp::now()),
        // SAFETY: getuid/getgid cannot fail.
        uid: Some(unsafe { libc::getuid() }),
        gid: Some(unsafe { libc::getgid() }),
        // restic restores a file by its node size: it must be right (rustic's own stdin source
        // leaves it 0, which restic 0.14 restores as an empty file).
        size,
        ..Metadata::default()
    };
    Node::new_node(std::ffi::OsStr::new(name), NodeType::File, meta)
}

impl ReadSource for SpoolSource {
    type Open = SpoolOpen;
    type Iter = std::vec::IntoIter<RusticResult<ReadSourceEntry<SpoolOpen>>>;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }

    fn entries(&self) -> Self::Iter {
        let taken = std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()));
        taken
            .into_iter()
            .map(|(name, size, open)| {
                Ok(ReadSourceEntry { path: PathBuf::from(&name), node: file_node(&name, size), open: Some(open) })
            })
            .collect::<Vec<_>>()
            .into_iter()
    }
}

/// Runs the command, copying its stdout into `spool` while hashing it. Returns size and sha256,
/// or the failure with the tail of stderr.
fn spool_command(src: &CommandSource, command_line: &str, spool: &Path) -> Result<(u64, String)> {
    let mut child = Command::new(&src.program)
        .args(&src.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::CommandFailed {
            command: command_line.to_string(),
            status: format!("起動できません / cannot start: {e}"),
        })?;
    let stderr = child.stderr.take();
    let stderr_thread = std::thread::spawn(move || {
        let mut tail = Vec::new();
        if let Some(mut e) = stderr {
            let mut buf = [0u8; 4096];
            while let Ok(n) = e.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 4096);
                }
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    });
    let copied = (|| -> std::io::Result<(u64, String)> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(spool)?);
        let mut stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = stdout.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok((size, hex::encode(h.finalize())))
    })();
    if copied.is_err() {
        let _ = child.kill();
    }
    let status = child.wait();
    let stderr_tail = stderr_thread.join().unwrap_or_default();
    let fail = |status: String| {
        let _ = std::fs::remove_file(spool);
        let status =
            if stderr_tail.trim().is_empty() { status } else { format!("{status}; stderr: {}", stderr_tail.trim()) };
        BackupError::CommandFailed { command: command_line.to_string(), status }
    };
    let (size, sha) = copied.map_err(|e| fail(format!("spool {}: {e}", spool.display())))?;
    match status {
        Ok(s) if s.success() => Ok((size, sha)),
        Ok(s) => Err(fail(s.to_string())),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Backs up the stdout of a command as one file, with its manifest next to it in the snapshot
/// (`<file_name>.mamori-manifest.json`). The stream is spooled (and hashed) first, so a failing
/// command never leaves a snapshot and restic sees the right file size.
pub fn backup_command(repo: &Path, password: &Password, src: &CommandSource) -> Result<BackupRun> {
    let started_at = Utc::now();
    let t0 = Instant::now();
    validate_name("システム名", &src.system)?;
    validate_name("ダンプ種別", &src.dump_type)?;
    validate_name("ファイル名", &src.file_name)?;
    if src.file_name == "." || src.file_name == ".." {
        return Err(BackupError::invalid("ファイル名が不正です", "bad file name"));
    }
    let command_line = std::iter::once(src.program.to_string_lossy().into_owned())
        .chain(src.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    // Check the password before starting the dump; the backup itself reopens with the same key.
    let key = unlock(repo, password, BACKUP_KEY_USER)?;

    let spool_dir = src.work_dir.join("spool").join(&src.system);
    std::fs::create_dir_all(&spool_dir).map_err(BackupError::io(&spool_dir))?;
    let spool = spool_dir.join(&src.file_name);
    let (size, sha256) = spool_command(src, &command_line, &spool)?;
    let manifest = Manifest {
        format: 1,
        system: src.system.clone(),
        dump_type: src.dump_type.clone(),
        created_at: started_at,
        root: String::new(),
        files: vec![ManifestEntry { path: src.file_name.clone(), size, sha256 }],
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::invalid(e.to_string(), e.to_string()))?;
    let mname = format!("{}.{MANIFEST_NAME}", src.file_name);
    let source = SpoolSource {
        entries: Mutex::new(vec![
            (src.file_name.clone(), size, SpoolOpen::File(spool.clone())),
            (mname, json.len() as u64, SpoolOpen::Bytes(json.clone())),
        ]),
    };
    let result = (|| {
        let r = open_unlocked(repo, &key)?.to_indexed_ids().map_err(BackupError::repo("read index", repo))?;
        let mut opts = BackupOptions::default();
        opts.parent_opts.force = true;
        r.archive(&opts, &source, snapshot_template(&src.system, &src.dump_type)?, &[PathBuf::from(&src.file_name)])
            .map_err(BackupError::repo("backup", repo))
    })();
    let _ = std::fs::remove_file(&spool);
    let snap = result?;
    let (files, bytes, added) = summary_numbers(&snap);
    let mut warnings = Vec::new();
    if files != 2 || bytes != size + json.len() as u64 {
        warnings.push(format!(
            "スナップショットの内容が想定と違います（{files} 件 {bytes} バイト）/ snapshot holds {files} files, {bytes} bytes; expected 2 files, {} bytes",
            size + json.len() as u64
        ));
    }
    Ok(BackupRun {
        repository: repo.to_path_buf(),
        snapshot_id: hex_id(&snap.id),
        system: src.system.clone(),
        dump_type: src.dump_type.clone(),
        tags: tags_for(&src.system, &src.dump_type),
        source: command_line,
        started_at,
        duration_ms: t0.elapsed().as_millis() as u64,
        files,
        bytes,
        added_bytes_packed: added,
        manifest,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// check

/// Checks the repository structure, and reads pack data as asked (整合性検査).
pub fn check(repo: &Path, password: &Password, read: ReadData) -> Result<CheckRun> {
    let at = Utc::now();
    let t0 = Instant::now();
    let r = open(repo, password)?;
    let subset = match read {
        ReadData::None | ReadData::All => ReadSubsetOption::All,
        ReadData::Rolling { run, every } => {
            let every = every.max(1);
            ReadSubsetOption::IdSubSet((run % every, every))
        }
    };
    let opts = CheckOptions::default().read_data(!matches!(read, ReadData::None)).read_data_subset(subset);
    let results = r.check(opts).map_err(BackupError::repo("check", repo))?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (level, e) in &results.0 {
        // CheckErrorLevel is not exported by rustic_core; its Debug form is `Warn` or `Error`.
        if format!("{level:?}") == "Warn" {
            warnings.push(short_message(&e.to_string()));
        } else {
            errors.push(short_message(&e.to_string()));
        }
    }
    Ok(CheckRun {
        repository: repo.to_path_buf(),
        at,
        duration_ms: t0.elapsed().as_millis() as u64,
        read_data: read,
        ok: errors.is_empty(),
        errors,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// restore drill

/// Which snapshot a drill restores.
#[derive(Clone, Debug)]
pub enum SnapshotRef {
    /// The newest mamori snapshot, optionally of one system.
    Latest { system: Option<String> },
    /// A snapshot id or unique id prefix.
    Id(String),
}

fn find_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let (files, _) = sys::walk_files(root).map_err(BackupError::io(root))?;
    Ok(files
        .into_iter()
        .filter(|f| {
            f.file_name()
                .map(|n| {
                    let n = n.to_string_lossy();
                    n == MANIFEST_NAME || n.ends_with(&format!(".{MANIFEST_NAME}"))
                })
                .unwrap_or(false)
        })
        .collect())
}

/// Compares a restored tree with its manifest, bit for bit (SHA-256 of every byte and the size).
pub fn compare_with_manifest(
    restored: &Path,
    manifest: &Manifest,
    manifest_file: &Path,
) -> Result<(u64, u64, Vec<Mismatch>)> {
    let root = restored.join(manifest.root.trim_start_matches('/'));
    let mut mismatches = Vec::new();
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut listed = BTreeSet::new();
    for e in &manifest.files {
        listed.insert(e.path.clone());
        let p = root.join(&e.path);
        if !p.is_file() {
            mismatches.push(Mismatch { path: e.path.clone(), kind: MismatchKind::Missing });
            continue;
        }
        let (size, sha) = sha256_file(&p)?;
        files += 1;
        bytes += size;
        if size != e.size {
            mismatches
                .push(Mismatch { path: e.path.clone(), kind: MismatchKind::Size { expected: e.size, actual: size } });
        } else if sha != e.sha256 {
            mismatches.push(Mismatch {
                path: e.path.clone(),
                kind: MismatchKind::Content { expected: e.sha256.clone(), actual: sha },
            });
        }
    }
    if root.is_dir() {
        let (present, _) = sys::walk_files(&root).map_err(BackupError::io(&root))?;
        for p in present {
            if p == manifest_file {
                continue;
            }
            let rel = rel_slash(&root, &p);
            if !listed.contains(&rel) {
                mismatches.push(Mismatch { path: rel, kind: MismatchKind::Unexpected });
            }
        }
    }
    Ok((files, bytes, mismatches))
}

fn select_snapshot(repo: &Path, snaps: &[SnapshotFile], which: &SnapshotRef) -> Result<SnapshotFile> {
    let snap = match which {
        SnapshotRef::Latest { system } => snaps
            .iter()
            .filter(|s| generation_of(s).map(|g| system.as_ref().is_none_or(|sys| &g.system == sys)).unwrap_or(false))
            .max_by_key(|s| s.time.timestamp())
            .cloned(),
        SnapshotRef::Id(id) => {
            let m: Vec<_> = snaps.iter().filter(|s| !id.is_empty() && hex_id(&s.id).starts_with(id.as_str())).collect();
            if m.len() == 1 { Some(m[0].clone()) } else { None }
        }
    };
    snap.ok_or_else(|| BackupError::SnapshotNotFound {
        id: match which {
            SnapshotRef::Latest { system } => format!("latest {}", system.clone().unwrap_or_default()),
            SnapshotRef::Id(i) => i.clone(),
        },
        repo: repo.to_path_buf(),
    })
}

/// Result of a plain restore (復元結果).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RestoreRun {
    pub repository: PathBuf,
    pub snapshot_id: String,
    pub snapshot_time: DateTime<Utc>,
    pub destination: PathBuf,
    pub duration_ms: u64,
}

/// How a restore writes files (復元方式).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreMode {
    /// The default: one worker per core (2–8) reads, decrypts and writes one blob at a time at
    /// its offset; memory is bounded by the workers' blobs and rustic's 32 MB blob cache.
    #[default]
    Parallel,
    /// One file after another through rustic's `dump`.
    Sequential,
    /// rustic_core's own restorer (20 reader threads, whole pack ranges in flight: fast, but its
    /// memory grows with the data in flight — 373 MiB for a 512 MiB set). Kept for comparison.
    Rustic,
}

/// Number of restore workers: one per core, at least 2 (I/O overlaps decryption), at most 8.
fn restore_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8)
}

fn set_times(path: &Path, meta: &Metadata) {
    let Some(mtime) = meta.mtime.as_ref() else { return };
    let t = std::time::SystemTime::from(*mtime);
    let atime = meta.atime.as_ref().map(|a| std::time::SystemTime::from(*a)).unwrap_or(t);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(atime));
    }
}

fn set_mode(path: &Path, meta: &Metadata) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(mode) = meta.mode {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777));
    }
}

/// One blob of one file: where it goes.
struct BlobJob {
    file: usize,
    offset: u64,
    id: rustic_core::DataId,
}

/// The default restore: files are created at their full length first, then `restore_workers()`
/// threads take blobs in file order, read each (one pread of the blob, decrypt, decompress) and
/// write it at its offset. Only the blobs being worked on are in memory (plus rustic's 32 MB
/// blob cache, which also serves blobs that occur twice).
fn restore_parallel(
    r: &Repository<rustic_core::IndexedFullStatus>,
    repo: &Path,
    node: &Node,
    dest_dir: &Path,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let items = r.ls(node, &LsOptions::default()).map_err(BackupError::repo("restore", repo))?;
    let mut dirs: Vec<(PathBuf, Metadata)> = Vec::new();
    let mut files: Vec<(PathBuf, Metadata)> = Vec::new();
    let mut jobs: Vec<BlobJob> = Vec::new();
    for item in items {
        let (path, n) = item.map_err(BackupError::repo("restore", repo))?;
        let target = dest_dir.join(&path);
        match n.node_type {
            NodeType::Dir => {
                std::fs::create_dir_all(&target).map_err(BackupError::io(&target))?;
                dirs.push((target, n.meta));
            }
            NodeType::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
                }
                let f = std::fs::File::create(&target).map_err(BackupError::io(&target))?;
                let mut offset = 0u64;
                for id in n.content.iter().flatten() {
                    let ie = r.get_index_entry(id).map_err(BackupError::repo("restore", repo))?;
                    jobs.push(BlobJob { file: files.len(), offset, id: *id });
                    offset += u64::from(ie.location.data_length());
                }
                f.set_len(offset).map_err(BackupError::io(&target))?;
                files.push((target, n.meta));
            }
            // Symlinks and special files are not part of dump sets; they are left out.
            _ => {}
        }
    }

    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let first_error: Mutex<Option<BackupError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..restore_workers().min(jobs.len().max(1)) {
            s.spawn(|| {
                let mut open: Option<(usize, std::fs::File)> = None;
                let result = (|| -> Result<()> {
                    loop {
                        if failed.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(());
                        }
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { return Ok(()) };
                        let path = &files[job.file].0;
                        let data = r
                            .get_blob_cached(&rustic_core::BlobId::from(*job.id), rustic_core::repofile::BlobType::Data)
                            .map_err(BackupError::repo("restore", repo))?;
                        if open.as_ref().is_none_or(|(k, _)| *k != job.file) {
                            let f =
                                std::fs::OpenOptions::new().write(true).open(path).map_err(BackupError::io(path))?;
                            open = Some((job.file, f));
                        }
                        if let Some((_, f)) = &open {
                            f.write_all_at(&data, job.offset).map_err(BackupError::io(path))?;
                        }
                    }
                })();
                if let Err(e) = result {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (path, meta) in &files {
        set_mode(path, meta);
        set_times(path, meta);
    }
    // Directories last (writing files into them changed their times), deepest first.
    for (path, meta) in dirs.iter().rev() {
        set_mode(path, meta);
        set_times(path, meta);
    }
    Ok(())
}

fn restore_sequential(
    r: &Repository<rustic_core::IndexedFullStatus>,
    repo: &Path,
    node: &Node,
    dest_dir: &Path,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let items = r.ls(node, &LsOptions::default()).map_err(BackupError::repo("restore", repo))?;
    for item in items {
        let (path, n) = item.map_err(BackupError::repo("restore", repo))?;
        let target = dest_dir.join(&path);
        match n.node_type {
            NodeType::Dir => std::fs::create_dir_all(&target).map_err(BackupError::io(&target))?,
            NodeType::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
                }
                let f = std::fs::File::create(&target).map_err(BackupError::io(&target))?;
                let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
                r.dump(&n, &mut w).map_err(BackupError::repo("restore", repo))?;
                let f = w.into_inner().map_err(|e| BackupError::io(&target)(e.into_error()))?;
                if let Some(mode) = n.meta.mode {
                    let _ = f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777));
                }
            }
            // Symlinks and special files are not part of dump sets; they are left out.
            _ => {}
        }
    }
    Ok(())
}

fn restore_into(
    repo: &Path,
    key: &crate::keys::Unlocked,
    which: &SnapshotRef,
    dest_dir: &Path,
    mode: RestoreMode,
) -> Result<(SnapshotFile, RestoreRun)> {
    let t0 = Instant::now();
    let r = open_unlocked(repo, key)?;
    let snaps = r.get_all_snapshots().map_err(BackupError::repo("list snapshots", repo))?;
    let snap = select_snapshot(repo, &snaps, which)?;
    let r = r.to_indexed().map_err(BackupError::repo("read index", repo))?;
    std::fs::create_dir_all(dest_dir).map_err(BackupError::io(dest_dir))?;
    let node = r.node_from_snapshot_and_path(&snap, "").map_err(BackupError::repo("restore", repo))?;
    if mode == RestoreMode::Parallel {
        restore_parallel(&r, repo, &node, dest_dir)?;
    } else if mode == RestoreMode::Sequential {
        restore_sequential(&r, repo, &node, dest_dir)?;
    } else {
        let ls = r.ls(&node, &LsOptions::default()).map_err(BackupError::repo("restore", repo))?;
        let dest_str = format!("{}/", path_str(dest_dir)?);
        let dest =
            LocalDestination::new(&dest_str, true, !node.is_dir()).map_err(BackupError::repo("restore", repo))?;
        let opts = RestoreOptions::default();
        let plan = r.prepare_restore(&opts, ls.clone(), &dest, false).map_err(BackupError::repo("restore", repo))?;
        r.restore(plan, &opts, ls, &dest).map_err(BackupError::repo("restore", repo))?;
    }
    let run = RestoreRun {
        repository: repo.to_path_buf(),
        snapshot_id: hex_id(&snap.id),
        snapshot_time: to_chrono(&snap.time),
        destination: dest_dir.to_path_buf(),
        duration_ms: t0.elapsed().as_millis() as u64,
    };
    Ok((snap, run))
}

/// Restores a snapshot into `dest` (復元). Snapshot paths are kept below `dest`, as restic does.
pub fn restore_to(
    repo: &Path,
    password: &Password,
    which: &SnapshotRef,
    dest: &Path,
    mode: RestoreMode,
) -> Result<RestoreRun> {
    restore_into(repo, &unlock(repo, password, BACKUP_KEY_USER)?, which, dest, mode).map(|(_, r)| r)
}

/// Restores a snapshot into a fresh directory under `scratch` and compares it with the ingest
/// manifest stored in the snapshot (復元訓練). The restored copy is removed afterwards unless
/// `keep_restored` is set. Drills use the default restore (bounded memory, see [`RestoreMode`]).
pub fn restore_drill(
    repo: &Path,
    password: &Password,
    which: &SnapshotRef,
    scratch: &Path,
    keep_restored: bool,
) -> Result<DrillReport> {
    let at = Utc::now();
    let t0 = Instant::now();
    // Fail on a wrong password before creating anything.
    let key = unlock(repo, password, BACKUP_KEY_USER)?;
    let dest_dir = scratch.join(format!("drill-{}", at.format("%Y%m%dT%H%M%S%.6f")));
    let outcome = restore_into(repo, &key, which, &dest_dir, RestoreMode::default()).and_then(|(snap, _)| {
        let sid = hex_id(&snap.id);
        let found = find_manifests(&dest_dir)?;
        let [mfile] = found.as_slice() else {
            return Err(BackupError::NoManifest { id: sid });
        };
        let text = std::fs::read(mfile).map_err(BackupError::io(mfile))?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|_| BackupError::NoManifest { id: sid.clone() })?;
        let (files, bytes, mismatches) = compare_with_manifest(&dest_dir, &manifest, mfile)?;
        Ok((snap, manifest, files, bytes, mismatches))
    });
    if !keep_restored {
        let _ = std::fs::remove_dir_all(&dest_dir);
    }
    let (snap, manifest, files, bytes, mismatches) = outcome?;
    let gen_info = generation_of(&snap);
    Ok(DrillReport {
        repository: repo.to_path_buf(),
        snapshot_id: hex_id(&snap.id),
        system: gen_info.as_ref().map(|g| g.system.clone()).unwrap_or(manifest.system),
        dump_type: gen_info.map(|g| g.dump_type).unwrap_or(manifest.dump_type),
        snapshot_time: to_chrono(&snap.time),
        at,
        files,
        bytes,
        ok: mismatches.is_empty() && files > 0,
        mismatches,
        duration_ms: t0.elapsed().as_millis() as u64,
    })
}

// ---------------------------------------------------------------------------------------------
// forget + prune (admin only)

/// Pure selection: which generations to remove so that each system keeps its newest `keep`.
/// Snapshots not written by mamori are never selected.
pub fn select_forget(gens: &[Generation], keep: usize) -> (Vec<String>, Vec<String>) {
    let mut by_system: BTreeMap<&str, Vec<&Generation>> = BTreeMap::new();
    for g in gens {
        by_system.entry(g.system.as_str()).or_default().push(g);
    }
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for (_, mut list) in by_system {
        list.sort_by(|a, b| b.time.cmp(&a.time).then(b.snapshot_id.cmp(&a.snapshot_id)));
        for (i, g) in list.iter().enumerate() {
            if i < keep {
                kept.push(g.snapshot_id.clone());
            } else {
                removed.push(g.snapshot_id.clone());
            }
        }
    }
    (kept, removed)
}

/// Removes all but the newest `keep_newest` generations per system and prunes unused data.
/// Needs the admin password; the everyday backup password is refused and nothing changes.
pub fn forget_prune(repo: &Path, admin: &Password, keep_newest: usize) -> Result<ForgetRun> {
    let at = Utc::now();
    let t0 = Instant::now();
    if keep_newest == 0 {
        return Err(BackupError::invalid("保持する世代数は1以上にしてください", "keep_newest must be at least 1"));
    }
    let key = unlock(repo, admin, ADMIN_KEY_USER)?;
    if key.user != ADMIN_KEY_USER {
        return Err(BackupError::NotAdmin { repo: repo.to_path_buf(), user: key.user });
    }
    let r = open_unlocked(repo, &key)?;
    let snaps = r.get_all_snapshots().map_err(BackupError::repo("list snapshots", repo))?;
    let gens: Vec<Generation> = snaps.iter().filter_map(generation_of).collect();
    let (kept, removed) = select_forget(&gens, keep_newest);
    let ids: Vec<_> = snaps.iter().filter(|s| removed.contains(&hex_id(&s.id))).map(|s| s.id).collect();
    let packs_before = count_packs(repo);
    if !ids.is_empty() {
        r.delete_snapshots(&ids).map_err(BackupError::repo("forget", repo))?;
        let opts = PruneOptions::default();
        let plan = r.prune_plan(&opts).map_err(BackupError::repo("prune", repo))?;
        r.prune(&opts, plan).map_err(BackupError::repo("prune", repo))?;
    }
    let packs_after = count_packs(repo);
    Ok(ForgetRun {
        repository: repo.to_path_buf(),
        at,
        keep_newest,
        kept,
        removed,
        packs_removed: packs_before.saturating_sub(packs_after),
        duration_ms: t0.elapsed().as_millis() as u64,
    })
}

/// The warnings for what the landing directory holds besides regular files (never in the manifest).
fn not_in_manifest(others: &[PathBuf]) -> Vec<String> {
    others
        .iter()
        .map(|o| {
            format!(
                "通常ファイルではないため照合対象外: {p} / not a regular file, not in the manifest: {p}",
                p = o.display()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustic's chunker shrinks its read buffer to any short read: the ingest reader must never give one
    /// before the end of the file, whatever the reader below does.
    #[test]
    fn the_ingest_reader_fills_every_buffer_until_the_end() {
        struct Dribble(Vec<u8>, usize);
        impl Read for Dribble {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = (self.1 % 3 + 1).min(buf.len()).min(self.0.len() - self.1.min(self.0.len()));
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut r = FillReader(std::io::BufReader::with_capacity(100, Dribble(data.clone(), 0)));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let mut sizes = Vec::new();
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sizes.push(n);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, data);
        assert_eq!(sizes, vec![4096, 4096, 10_000 - 8192]);
    }

    fn g(system: &str, id: &str, day: u32) -> Generation {
        Generation {
            snapshot_id: id.into(),
            time: DateTime::from_timestamp(1_700_000_000 + i64::from(day) * 86_400, 0).unwrap(),
            system: system.into(),
            dump_type: "full".into(),
            hostname: "h".into(),
            paths: vec![],
        }
    }

    #[test]
    fn forget_keeps_the_newest_n_of_every_system_separately() {
        let gens = vec![g("ehr", "e1", 1), g("ehr", "e4", 4), g("ehr", "e2", 2), g("ehr", "e3", 3), g("pacs", "p1", 1)];
        let (kept, removed) = select_forget(&gens, 3);
        assert_eq!(removed, vec!["e1".to_string()]);
        assert!(kept.contains(&"p1".to_string()), "a system with few generations keeps them all");
        assert_eq!(kept.len(), 4);
    }

    #[test]
    fn names_with_separators_are_refused() {
        assert!(validate_name("システム名", "ehr").is_ok());
        assert!(validate_name("システム名", "電子カルテ").is_ok());
        for bad in ["", "a,b", "a b", "a=b", "a/b"] {
            assert!(validate_name("システム名", bad).is_err(), "{bad:?}");
        }
    }
}
