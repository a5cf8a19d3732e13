//! `mamori backup …`: the backup engine (mamori-backup, restic-compatible repositories) from the command line.
//! Passwords come from the environment (MAMORI_BACKUP_PASSWORD for everyday backups, MAMORI_BACKUP_ADMIN_PASSWORD
//! for forgetting generations), never from arguments, so they stay out of shell history and process lists; they
//! are never printed, logged or stored.
//!
//! Two ways to work:
//! * with the facility's configuration in the store (targets, backup sets, key escrow): `mamori backup run`
//!   backs up every set into the primary repository, `copy` fills the other targets, `media detach` records the
//!   rotation, `status` checks the policy against reality; every run is recorded (the 実施報告書 reads it);
//! * on a repository path (`--repo`), without configuration: the same engine; the run is recorded when the
//!   database exists (`--db` given or ./mamori.db present).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use mamori_app::backup::{
    self as app, BackupStatus, DocFormat, NewBackupRun, NewBackupSet, NewBackupTarget, NewMediaEvent, engine_target,
    evaluate_status, status_inputs,
};
use mamori_backup::progress::{ProgressHandle, ProgressKind, ProgressSink, set_progress_sink};
use mamori_backup::{
    CommandSource, DirSource, Password, ReadData, SnapshotRef, Target, TargetKind, Tier, backup_command,
    backup_directory, check, copy_to_target, detach_media, forget_prune, generations, init_repository, make_immutable,
    probe_target, repository_exists, restore_drill,
};
use mamori_model::Facility;
use mamori_model::ledger::InfoSystem;
use mamori_store::Store;
use mamori_store::backup::BackupTargetRow;

use crate::exit;
use crate::progress::Progress;

const PASSWORD_ENV: &str = "MAMORI_BACKUP_PASSWORD";
const ADMIN_PASSWORD_ENV: &str = "MAMORI_BACKUP_ADMIN_PASSWORD";

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// 暗号化リポジトリを作る（バックアップ用と管理用の2つの鍵）/ create an encrypted repository with a backup key and an admin key
    Init(RepoArg),
    /// バックアップ: 登録した対象システムすべて（--system で1つ）を主リポジトリへ / back up every backup set (or --system) into the primary repository
    Run(RunArgs),
    /// 方針の実地確認と遅延・失敗 / the policy checked against reality, and what is late or failing
    Status(StatusArgs),
    /// 整合性検査（--read-data でデータも読む）/ check the repository (and its data)
    Check(CheckArgs),
    /// 復元訓練: 作業場所に復元し、取込時のマニフェストとビット単位で照合 / restore drill compared bit for bit
    Drill(DrillArgs),
    /// 古い世代を削除（管理用パスワード、最新 N 世代は必ず残す）/ forget old generations with the admin key
    Forget(ForgetArgs),
    /// 主リポジトリの世代を別の保管先へ複製し、検査する / copy the generations to another target and check it
    Copy(CopyArgs),
    /// 保管先（T1 オンライン / T2 オフライン / T3 遠隔地）/ backup targets
    #[command(subcommand)]
    Target(TargetCommand),
    /// バックアップ対象（システムとダンプの取得元）/ backup sets
    #[command(subcommand)]
    Set(SetCommand),
    /// 取り外し媒体の取り外し・取り付けの記録 / removable media rotation
    #[command(subcommand)]
    Media(MediaCommand),
    /// パスワードの保管者を記録する（パスワードそのものは記録しない）/ record who holds the password (never the password)
    Escrow(EscrowArgs),
    /// 計画書・実施報告書（PDF / xlsx）/ the plan and the report as PDF or xlsx
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Args, Debug, Clone)]
pub struct RepoArg {
    /// リポジトリのパス（省略時は登録した保管先）/ repository path (default: the registered target)
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// 登録した保管先の名前（省略時は主リポジトリ）/ registered target (default: the primary)
    #[arg(long, conflicts_with = "repo")]
    pub target: Option<String>,
    /// 出力形式 text | json
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// システム名（例: 電子カルテ）/ system
    #[arg(long)]
    pub system: Option<String>,
    /// ダンプの種類（例: full）/ dump type
    #[arg(long)]
    pub dump_type: Option<String>,
    /// 取込フォルダ（--repo のとき）/ landing folder (with --repo)
    #[arg(long)]
    pub landing: Option<PathBuf>,
    /// mamori の作業フォルダ（取込フォルダの外）/ mamori's work folder, outside the landing folder
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub repo: RepoArg,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// none | all | rolling（日付に応じて一部のパックを読み、N 日で全パック）/ data read
    #[arg(long, default_value = "none")]
    pub read_data: String,
    /// rolling のとき全パックを読み終える日数 / days in which rolling reads every pack
    #[arg(long, default_value_t = 7)]
    pub every_days: u32,
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// 対象システム（省略時は最新の世代）/ system (default: the newest generation)
    #[arg(long)]
    pub system: Option<String>,
    /// 復元先の作業場所（空であること）/ scratch folder for the restore
    #[arg(long)]
    pub scratch: PathBuf,
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// 残す最新の世代数（3 以上）/ newest generations to keep (at least 3)
    #[arg(long, default_value_t = 3)]
    pub keep: usize,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// 複製先の保管先 / target to copy to
    #[arg(long)]
    pub target: String,
    /// 出力形式 text | json
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Subcommand, Debug)]
pub enum TargetCommand {
    /// 保管先を登録する / add a target
    Add(TargetAddArgs),
    /// 保管先の一覧 / list the targets
    List,
}

#[derive(Args, Debug)]
pub struct TargetAddArgs {
    /// 名前（例: T1, RDX, 遠隔地）/ name
    #[arg(long)]
    pub name: String,
    /// online（T1）| offline（T2）| offsite（T3）
    #[arg(long)]
    pub tier: String,
    /// local_dir | removable_media | immutable_files | rest_server
    #[arg(long, default_value = "local_dir")]
    pub kind: String,
    /// リポジトリの絶対パス、又は REST サーバー（rest:https://ホスト:ポート/パス、REST 対応ビルドのみ）/ absolute
    /// repository path, or a REST server location rest:https://host:port/path (builds with the backup-rest feature)
    #[arg(long)]
    pub path: PathBuf,
    /// 媒体ID（ラベル・管理番号、複数可）/ media ID (repeatable)
    #[arg(long = "media-id")]
    pub media_ids: Vec<String>,
    /// 主リポジトリ（毎回のバックアップ先）にする / make it the primary repository
    #[arg(long)]
    pub primary: bool,
    /// メモ / note
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Subcommand, Debug)]
pub enum SetCommand {
    /// バックアップ対象を登録する（システムは医療情報システム一覧から）/ add a backup set (system from the systems ledger)
    Add(Box<SetAddArgs>),
    /// バックアップ対象の一覧 / list the backup sets
    List,
}

#[derive(Args, Debug)]
pub struct SetAddArgs {
    /// システム名（医療情報システム一覧の名前）/ system (as in the systems ledger)
    #[arg(long)]
    pub system: String,
    /// 取込フォルダ（事業者がダンプを書き出す場所）/ landing folder
    #[arg(long, conflicts_with = "command")]
    pub landing: Option<PathBuf>,
    /// ダンプを標準出力に書き出すコマンド / a command writing the dump to standard output
    #[arg(long)]
    pub command: Option<String>,
    /// ダンプの種類 / dump type
    #[arg(long, default_value = "full")]
    pub dump_type: String,
    /// mamori の作業フォルダ / mamori's work folder
    #[arg(long)]
    pub work_dir: PathBuf,
    /// 実施時期（例: 毎日 2:00）/ schedule
    #[arg(long, default_value = "")]
    pub schedule: String,
    /// 担当 / responsible
    #[arg(long, default_value = "")]
    pub responsible: String,
    /// 復旧手順 / restore procedure
    #[arg(long, default_value = "")]
    pub restore_procedure: String,
    /// 復旧優先度（1 が最優先）/ recovery priority (1 first)
    #[arg(long)]
    pub priority: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub enum MediaCommand {
    /// 媒体を取り外す: 書き込みを終え、アンマウントを試み、媒体IDと時刻・媒体上の世代を記録 / detach: flush, unmount, record
    Detach(MediaArgs),
    /// 媒体を取り付けたことを記録 / record that media was attached
    Attach(MediaArgs),
}

#[derive(Args, Debug)]
pub struct MediaArgs {
    /// 保管先の名前 / target
    #[arg(long)]
    pub target: String,
    /// 媒体ID / media ID
    #[arg(long)]
    pub media_id: String,
}

#[derive(Args, Debug)]
pub struct EscrowArgs {
    /// パスワードの保管者（複数可）/ who holds the password (repeatable)
    #[arg(long = "holder", required = true)]
    pub holders: Vec<String>,
    /// 保管場所（例: 事務長室の金庫）/ where it is kept
    #[arg(long = "where", default_value = "")]
    pub where_kept: String,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// バックアップ計画書 / the backup plan
    Plan(DocArgs),
    /// バックアップ実施報告書 / the implementation report
    Report(ReportArgs),
}

#[derive(Args, Debug)]
pub struct DocArgs {
    /// pdf | xlsx
    #[arg(long, default_value = "pdf")]
    pub format: String,
    /// 出力ファイル / output file
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub doc: DocArgs,
    /// 対象期間の初日（既定: 30日前）/ first day (default: 30 days ago)
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// 対象期間の末日（既定: 今日）/ last day (default: today)
    #[arg(long)]
    pub to: Option<NaiveDate>,
}

fn password(var: &str) -> Result<Password> {
    Ok(Password::from_env(var)?)
}

fn print<T: serde::Serialize>(format: &str, value: &T, text: impl FnOnce()) -> Result<()> {
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text();
    }
    Ok(())
}

/// Who ran it, for the run history.
fn who() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

fn now_text() -> String {
    mamori_store::now_text()
}

/// Bars only on a terminal (none in logs, cron and tests): the engine's phases (bytes backed up, packs
/// checked, files restored), one after the other.
fn bars() -> Option<()> {
    std::io::stderr().is_terminal().then_some(())
}

/// The engine's progress as indicatif bars.
#[derive(Debug)]
struct TerminalProgress;

#[derive(Debug)]
struct Bar(indicatif::ProgressBar);

impl ProgressHandle for Bar {
    fn set_length(&self, len: u64) {
        self.0.set_length(len);
    }
    fn set_title(&self, title: &str) {
        self.0.set_prefix(title.to_string());
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl ProgressSink for TerminalProgress {
    fn start(&self, kind: ProgressKind, title: &str) -> Box<dyn ProgressHandle> {
        let (bar, template) = match kind {
            ProgressKind::Spinner => (indicatif::ProgressBar::new_spinner(), "{spinner} {prefix} {elapsed}"),
            ProgressKind::Counter => {
                (indicatif::ProgressBar::new(0), "{prefix} [{bar:30}] {pos}/{len} (残り / eta {eta})")
            }
            ProgressKind::Bytes => (
                indicatif::ProgressBar::new(0),
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} (残り / eta {eta})",
            ),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(title.to_string());
        if kind == ProgressKind::Spinner {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Box::new(Bar(bar))
    }
}

/// Runs blocking engine work off the async workers; on a terminal it says what runs (the engine's bars then
/// show the bytes and packs).
async fn blocking<T: Send + 'static>(label: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    if bars().is_some() {
        eprintln!("{label}…");
    }
    Ok(tokio::task::spawn_blocking(f).await?)
}

/// The store and facility, when there is a database to record in. With `--repo` and no database,
/// the command works on the repository alone.
async fn context(g: &crate::Global, required: bool) -> Result<Option<(Store, Facility)>> {
    let exists = g.db.is_some() || Path::new(g.db_url()).exists();
    if !exists && !required {
        return Ok(None);
    }
    let store = crate::cmd_ledger::open(g).await?;
    let f = store.resolve_facility(g.facility.as_deref()).await?;
    Ok(Some((store, f)))
}

/// The repository a command works on: `--repo`, `--target NAME`, or the facility's primary target.
async fn repository(ctx: &Option<(Store, Facility)>, a: &RepoArg) -> Result<(PathBuf, Option<BackupTargetRow>)> {
    if let Some(p) = &a.repo {
        let row = match ctx {
            Some((s, f)) => s.backup_targets(f.id).await?.into_iter().find(|t| Path::new(&t.data.path) == p.as_path()),
            None => None,
        };
        return Ok((p.clone(), row));
    }
    let Some((store, f)) = ctx else {
        bail!(
            "--repo でリポジトリを指定するか、保管先を登録してください（mamori backup target add）/ give --repo or register a target"
        )
    };
    let targets = store.backup_targets(f.id).await?;
    let row = match &a.target {
        Some(name) => targets.into_iter().find(|t| &t.data.name == name).with_context(|| {
            format!("保管先「{name}」は登録されていません（mamori backup target list）/ no target {name}")
        })?,
        None => targets.into_iter().find(|t| t.data.is_primary).context(
            "主リポジトリが登録されていません。mamori backup target add --primary … で登録するか --repo を指定してください / no primary target: add one with --primary or give --repo",
        )?,
    };
    Ok((PathBuf::from(&row.data.path), Some(row)))
}

/// Records a run when there is a store; never fails the command for it silently: errors propagate.
async fn record(ctx: &Option<(Store, Facility)>, run: NewBackupRun) -> Result<()> {
    if let Some((s, f)) = ctx {
        s.record_backup_run(f.id, &run).await?;
    }
    Ok(())
}

fn base_run(op: &str, repo: &Path, target: &Option<BackupTargetRow>, started: &str) -> NewBackupRun {
    NewBackupRun {
        op: op.into(),
        target_name: target.as_ref().map(|t| t.data.name.clone()).unwrap_or_default(),
        repository: repo.display().to_string(),
        started_at: started.into(),
        finished_at: now_text(),
        by_user: who(),
        ..Default::default()
    }
}

/// Records a failed run with the engine's error text, then returns the error.
async fn failed<T>(ctx: &Option<(Store, Facility)>, mut run: NewBackupRun, e: mamori_backup::BackupError) -> Result<T> {
    run.ok = false;
    run.error = e.to_string();
    run.finished_at = now_text();
    // A wrong or missing password changed nothing and says so; it is still a failed run worth seeing.
    record(ctx, run).await?;
    Err(e.into())
}

async fn remember(
    ctx: &Option<(Store, Facility)>,
    target: &Option<BackupTargetRow>,
    gens: &[mamori_backup::Generation],
) {
    if let (Some((s, f)), Some(t)) = (ctx, target) {
        let json = serde_json::to_string(gens).unwrap_or_else(|_| "[]".into());
        // Best effort: a failure to cache the listing must not fail the backup that succeeded.
        let _ = s.set_target_generations(f.id, &t.data.name, &json, &now_text()).await;
    }
}

/// Entry from `main`.
pub async fn dispatch(g: &crate::Global, c: BackupCommand) -> Result<u8> {
    if bars().is_some() {
        set_progress_sink(std::sync::Arc::new(TerminalProgress));
    }
    match c {
        BackupCommand::Init(a) => {
            let ctx = context(g, a.repo.is_none()).await?;
            let (repo, target) = repository(&ctx, &a).await?;
            let (pw, admin) = (password(PASSWORD_ENV)?, password(ADMIN_PASSWORD_ENV)?);
            let started = now_text();
            let r = {
                let repo = repo.clone();
                blocking("初期化 / init", move || init_repository(&repo, &pw, &admin)).await?
            };
            let run = base_run("init", &repo, &target, &started);
            let r = match r {
                Ok(r) => r,
                Err(e) => return failed(&ctx, run, e).await,
            };
            record(&ctx, NewBackupRun { ok: true, detail: serde_json::to_string(&r)?, ..run }).await?;
            print(&a.format, &r, || {
                println!(
                    "リポジトリを作りました / repository created: {} (id {})",
                    r.repository.display(),
                    r.repository_id
                );
                println!(
                    "パスワードを失うとデータは戻りません。保管者を記録してください（mamori backup escrow）/ losing the password loses the data: record who holds it"
                );
            })?;
        }
        BackupCommand::Run(a) => return run_backups(g, a).await,
        BackupCommand::Status(a) => {
            if a.repo.repo.is_some() {
                return repo_status(g, &a.repo).await;
            }
            return facility_status(g, &a.repo).await;
        }
        BackupCommand::Check(a) => {
            let ctx = context(g, a.repo.repo.is_none()).await?;
            let (repo, target) = repository(&ctx, &a.repo).await?;
            let read = match a.read_data.as_str() {
                "none" => ReadData::None,
                "all" => ReadData::All,
                "rolling" => ReadData::rolling_for_day(chrono::Local::now().date_naive(), a.every_days),
                other => {
                    bail!("--read-data は none / all / rolling です（{other}）/ --read-data is none, all or rolling")
                }
            };
            let pw = password(PASSWORD_ENV)?;
            let started = now_text();
            let r = {
                let repo = repo.clone();
                blocking("整合性検査 / check", move || check(&repo, &pw, read)).await?
            };
            let run = base_run("check", &repo, &target, &started);
            let r = match r {
                Ok(r) => r,
                Err(e) => return failed(&ctx, run, e).await,
            };
            record(
                &ctx,
                NewBackupRun {
                    ok: r.ok,
                    error: r.errors.join("; "),
                    detail: serde_json::to_string(&r)?,
                    finished_at: now_text(),
                    ..run
                },
            )
            .await?;
            print(&a.repo.format, &r, || {
                println!("検査 / check: {}", if r.ok { "正常 / OK" } else { "異常あり / FAILED" });
                for e in &r.errors {
                    println!("  エラー / error: {e}");
                }
            })?;
            if !r.ok {
                return Ok(exit::ERROR);
            }
        }
        BackupCommand::Drill(a) => {
            let ctx = context(g, a.repo.repo.is_none()).await?;
            let (repo, target) = repository(&ctx, &a.repo).await?;
            let pw = password(PASSWORD_ENV)?;
            let started = now_text();
            let which = SnapshotRef::Latest { system: a.system.clone() };
            let r = {
                let (repo, scratch) = (repo.clone(), a.scratch.clone());
                blocking("復元訓練 / restore drill", move || restore_drill(&repo, &pw, &which, &scratch, false)).await?
            };
            let mut run = base_run("drill", &repo, &target, &started);
            run.system = a.system.clone().unwrap_or_default();
            let r = match r {
                Ok(r) => r,
                Err(e) => return failed(&ctx, run, e).await,
            };
            record(
                &ctx,
                NewBackupRun {
                    ok: r.ok,
                    system: r.system.clone(),
                    bytes: r.bytes as i64,
                    files: r.files as i64,
                    snapshot_id: r.snapshot_id.clone(),
                    error: if r.ok {
                        String::new()
                    } else {
                        format!("不一致 {} 件 / {} mismatches", r.mismatches.len(), r.mismatches.len())
                    },
                    detail: serde_json::to_string(&r)?,
                    finished_at: now_text(),
                    ..run
                },
            )
            .await?;
            print(&a.repo.format, &r, || {
                println!(
                    "復元訓練 / restore drill: {} — {} {}（{} ファイル、{} バイト、不一致 {} 件）",
                    if r.ok { "成功 / OK" } else { "失敗 / FAILED" },
                    r.system,
                    r.snapshot_id,
                    r.files,
                    r.bytes,
                    r.mismatches.len()
                );
                for m in &r.mismatches {
                    println!("  不一致 / mismatch: {} {:?}", m.path, m.kind);
                }
            })?;
            if !r.ok {
                return Ok(exit::ERROR);
            }
        }
        BackupCommand::Forget(a) => {
            if a.keep < 3 {
                bail!(
                    "--keep は 3 以上にしてください（チェックリストマニュアル: 3世代以上）/ keep at least 3 generations"
                );
            }
            let ctx = context(g, a.repo.repo.is_none()).await?;
            let (repo, target) = repository(&ctx, &a.repo).await?;
            let admin = password(ADMIN_PASSWORD_ENV)?;
            let started = now_text();
            let keep = a.keep;
            let r = {
                let repo = repo.clone();
                blocking("世代整理 / forget", move || forget_prune(&repo, &admin, keep)).await?
            };
            let run = base_run("forget", &repo, &target, &started);
            let r = match r {
                Ok(r) => r,
                Err(e) => return failed(&ctx, run, e).await,
            };
            record(&ctx, NewBackupRun { ok: true, detail: serde_json::to_string(&r)?, finished_at: now_text(), ..run })
                .await?;
            // The listing the pages show must not keep forgotten generations.
            if ctx.is_some()
                && target.is_some()
                && let Ok(pw) = password(PASSWORD_ENV)
            {
                let repo2 = repo.clone();
                if let Ok(Ok(gens)) = blocking("世代の確認 / listing", move || generations(&repo2, &pw)).await {
                    remember(&ctx, &target, &gens).await;
                }
            }
            print(&a.repo.format, &r, || {
                println!(
                    "残した世代 {} / 削除した世代 {} / kept {}, removed {}",
                    r.kept.len(),
                    r.removed.len(),
                    r.kept.len(),
                    r.removed.len()
                );
            })?;
        }
        BackupCommand::Copy(a) => return copy(g, a).await,
        BackupCommand::Target(c) => return target_cmd(g, c).await,
        BackupCommand::Set(c) => return set_cmd(g, c).await,
        BackupCommand::Media(c) => return media_cmd(g, c).await,
        BackupCommand::Escrow(a) => {
            let (store, f) = context(g, true).await?.expect("required");
            let k = store.record_key_escrow(f.id, &a.holders, &a.where_kept, &who()).await?;
            println!(
                "パスワードの保管者を記録しました / key escrow recorded: {}（{}）",
                k.holders.join("、"),
                k.where_kept
            );
        }
        BackupCommand::Report(c) => return report_cmd(g, c).await,
    }
    Ok(exit::OK)
}

async fn run_backups(g: &crate::Global, a: RunArgs) -> Result<u8> {
    let ctx = context(g, a.repo.repo.is_none()).await?;
    let (repo, target) = repository(&ctx, &a.repo).await?;
    // What to back up: the given landing folder, or the registered sets.
    let sets: Vec<NewBackupSet> = match (&a.landing, &ctx) {
        (Some(landing), _) => vec![NewBackupSet {
            system: a
                .system
                .clone()
                .context("--landing には --system も指定してください / --landing needs --system")?,
            source_kind: "landing".into(),
            source: landing.display().to_string(),
            dump_type: a.dump_type.clone().unwrap_or_else(|| "full".into()),
            work_dir: a
                .work_dir
                .as_ref()
                .context("--landing には --work-dir も指定してください / --landing needs --work-dir")?
                .display()
                .to_string(),
            ..Default::default()
        }],
        (None, Some((store, f))) => {
            let all = store.backup_sets(f.id).await?;
            let chosen: Vec<NewBackupSet> = all
                .into_iter()
                .map(|s| s.data)
                .filter(|s| a.system.as_ref().is_none_or(|x| x == &s.system))
                .filter(|s| a.dump_type.as_ref().is_none_or(|x| x == &s.dump_type))
                .collect();
            if chosen.is_empty() {
                bail!(
                    "バックアップ対象が登録されていません{}（mamori backup set add）/ no backup set registered",
                    a.system.as_ref().map(|s| format!("（{s}）")).unwrap_or_default()
                );
            }
            chosen
        }
        (None, None) => {
            bail!("--landing と --system と --work-dir を指定してください / give --landing, --system and --work-dir")
        }
    };
    let pw = password(PASSWORD_ENV)?;
    // Lines in logs; on a terminal the engine's bars show the bytes instead.
    let mut progress = bars().is_none().then(|| Progress::new("バックアップ / backup", sets.len()));
    let mut failures = 0;
    let mut results = Vec::new();
    for (n, s) in sets.iter().enumerate() {
        let started = now_text();
        let mut run = base_run("backup", &repo, &target, &started);
        run.system = s.system.clone();
        let r = {
            let (repo, pw, s) = (repo.clone(), pw.clone(), s.clone());
            blocking(
                &format!("{} バックアップ中 / backing up ({}/{})", s.system, n + 1, sets.len()),
                move || {
                    if s.source_kind == "command" {
                        let mut parts = s.source.split_whitespace().map(String::from);
                        let program = PathBuf::from(parts.next().unwrap_or_default());
                        let src = CommandSource {
                            system: s.system.clone(),
                            dump_type: s.dump_type.clone(),
                            program,
                            args: parts.collect(),
                            file_name: format!("{}.dump", s.dump_type),
                            work_dir: PathBuf::from(&s.work_dir),
                        };
                        backup_command(&repo, &pw, &src)
                    } else {
                        let src = DirSource {
                            system: s.system.clone(),
                            dump_type: s.dump_type.clone(),
                            landing: PathBuf::from(&s.source),
                            work_dir: PathBuf::from(&s.work_dir),
                        };
                        backup_directory(&repo, &pw, &src)
                    }
                },
            )
            .await?
        };
        if let Some(p) = progress.as_mut() {
            p.set(n + 1, sets.len());
        }
        match r {
            Ok(r) => {
                record(
                    &ctx,
                    NewBackupRun {
                        ok: true,
                        bytes: r.bytes as i64,
                        files: r.files as i64,
                        snapshot_id: r.snapshot_id.clone(),
                        detail: serde_json::to_string(&serde_json::json!({
                            "added_bytes_packed": r.added_bytes_packed,
                            "duration_ms": r.duration_ms,
                            "source": r.source,
                            "warnings": r.warnings,
                        }))?,
                        finished_at: now_text(),
                        ..run
                    },
                )
                .await?;
                results.push(r);
            }
            Err(e) => {
                failures += 1;
                run.ok = false;
                run.error = e.to_string();
                run.finished_at = now_text();
                record(&ctx, run).await?;
                eprintln!("エラー / error: {}: {e}", s.system);
                if matches!(
                    e,
                    mamori_backup::BackupError::WrongPassword { .. } | mamori_backup::BackupError::NoRepository { .. }
                ) {
                    if let Some(p) = progress {
                        p.finish();
                    }
                    return Err(e.into());
                }
            }
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    if ctx.is_some() && target.is_some() {
        let pw2 = pw.clone();
        let repo2 = repo.clone();
        if let Ok(Ok(gens)) = blocking("世代の確認 / listing", move || generations(&repo2, &pw2)).await {
            remember(&ctx, &target, &gens).await;
        }
    }
    print(&a.repo.format, &results, || {
        for r in &results {
            println!(
                "バックアップ完了 / backup done: {} {} — スナップショット {}、{} ファイル、{} バイト（新規 {} バイト）",
                r.system, r.dump_type, r.snapshot_id, r.files, r.bytes, r.added_bytes_packed
            );
            for w in &r.warnings {
                println!("警告 / warning: {w}");
            }
        }
    })?;
    Ok(if failures > 0 { exit::ERROR } else { exit::OK })
}

/// `status --repo`: the generations and the real state of one repository.
async fn repo_status(g: &crate::Global, a: &RepoArg) -> Result<u8> {
    let ctx = context(g, false).await?;
    let (repo, target) = repository(&ctx, a).await?;
    let pw = password(PASSWORD_ENV)?;
    let repo2 = repo.clone();
    let gens = blocking("世代の確認 / listing", move || generations(&repo2, &pw)).await??;
    remember(&ctx, &target, &gens).await;
    let probe = probe_target(&target.as_ref().map(engine_target).unwrap_or(Target {
        id: "primary".into(),
        tier: Tier::Online,
        path: repo.clone(),
        kind: TargetKind::LocalDir,
    }));
    print(&a.format, &(&gens, &probe), || {
        println!("世代 / generations: {}", gens.len());
        for g in &gens {
            println!("  {}  {}  {}  {}", g.time.format("%Y-%m-%d %H:%M"), g.system, g.dump_type, g.snapshot_id);
        }
        println!("保管先の状態（実際に調べた結果）/ target state as probed: {:?}", probe.state);
        for e in &probe.evidence {
            println!("  {e}");
        }
    })?;
    Ok(exit::OK)
}

fn print_status(st: &BackupStatus) {
    println!(
        "バックアップ方針の確認 / backup policy: {}",
        if st.policy.all_hold() {
            "すべて満たす / all hold"
        } else {
            "満たさない項目あり / not all hold"
        }
    );
    for p in &st.policy.points {
        let (ja, en) = app::point_label(&p.id);
        let mark = match p.holds {
            Some(true) => "○",
            Some(false) => "×",
            None => "？",
        };
        println!("  {mark} {ja} / {en}");
        println!("      {}", p.evidence);
    }
    println!("  ※ {}", st.generations_note);
    println!("保管先 / targets:");
    for t in &st.targets {
        let (sja, sen) = app::target_state_label(t.probe.state, t.target.data.is_primary);
        println!(
            "  {} [{}] {} — {sja} / {sen}{}",
            t.target.data.name,
            app::tier_label(&t.target.data.tier).0,
            t.target.data.path,
            t.generations
                .as_ref()
                .map(|g| format!("、{} 世代（{}）", g.len(), t.generations_source))
                .unwrap_or_default()
        );
        for e in &t.probe.evidence {
            println!("      {e}");
        }
    }
    if st.alerts.is_empty() {
        println!("遅延・失敗 / late or failing: なし / none");
    } else {
        println!("遅延・失敗 / late or failing:");
        for a in &st.alerts {
            println!("  [{}] {} / {}", if a.severity == "error" { "失敗" } else { "遅延" }, a.ja, a.en);
        }
    }
}

/// `status`: the policy of the facility against reality, and what is late or failing. Exit 1 when a
/// policy point does not hold or something failed (for cron).
async fn facility_status(g: &crate::Global, a: &RepoArg) -> Result<u8> {
    let (store, f) = context(g, true).await?.expect("required");
    let inputs = status_inputs(&store, &f).await?;
    // With the password the repositories are read now; without, the last reading is shown as such.
    let pw = Password::from_env(PASSWORD_ENV).ok();
    let st = blocking("方針の確認 / checking", move || evaluate_status(&inputs, pw.as_ref(), Utc::now())).await?;
    app::remember_generations(&store, f.id, &st).await?;
    print(&a.format, &st, || print_status(&st))?;
    Ok(if st.ok() { exit::OK } else { exit::ERROR })
}

async fn copy(g: &crate::Global, a: CopyArgs) -> Result<u8> {
    let ctx = context(g, true).await?;
    let (store, f) = ctx.as_ref().expect("required");
    let targets = store.backup_targets(f.id).await?;
    let primary = targets
        .iter()
        .find(|t| t.data.is_primary)
        .cloned()
        .context("主リポジトリが登録されていません（mamori backup target add --primary）/ no primary target")?;
    let dest = targets
        .iter()
        .find(|t| t.data.name == a.target)
        .cloned()
        .with_context(|| format!("保管先「{}」は登録されていません / no target {}", a.target, a.target))?;
    if dest.data.is_primary {
        bail!("主リポジトリへは複製できません / cannot copy onto the primary");
    }
    let pw = password(PASSWORD_ENV)?;
    let started = now_text();
    let dest_t = engine_target(&dest);
    // A new target gets a repository first (needs the admin password, like `init`).
    let exists = {
        let p = dest_t.path.clone();
        blocking("保管先の確認 / looking at the target", move || repository_exists(&p)).await??
    };
    if !exists {
        let admin = password(ADMIN_PASSWORD_ENV)?;
        let (p, pw2) = (dest_t.path.clone(), pw.clone());
        let r = blocking("初期化 / init", move || init_repository(&p, &pw2, &admin)).await?;
        let run = base_run("init", &dest_t.path, &Some(dest.clone()), &started);
        match r {
            Ok(r) => record(&ctx, NewBackupRun { ok: true, detail: serde_json::to_string(&r)?, ..run }).await?,
            Err(e) => return failed(&ctx, run, e).await,
        }
    }
    let r = {
        let (src, pw, t) = (PathBuf::from(&primary.data.path), pw.clone(), dest_t.clone());
        blocking(&format!("{} へ複製中 / copying", a.target), move || copy_to_target(&src, &pw, &t)).await?
    };
    let run = base_run("copy", &dest_t.path, &Some(dest.clone()), &started);
    let r = match r {
        Ok(r) => r,
        Err(e) => return failed(&ctx, run, e).await,
    };
    remember(&ctx, &Some(dest.clone()), &r.generations_on_target).await;
    record(
        &ctx,
        NewBackupRun {
            ok: r.check.ok,
            files: r.copied.len() as i64,
            error: r.check.errors.join("; "),
            detail: serde_json::to_string(&r)?,
            finished_at: now_text(),
            ..run
        },
    )
    .await?;
    let mut immutable = None;
    if dest.data.kind == "immutable_files" && r.check.ok {
        let started = now_text();
        let p = dest_t.path.clone();
        let im = blocking("変更不可属性の設定 / chattr +i", move || make_immutable(&p)).await?;
        let run = base_run("immutable", &dest_t.path, &Some(dest.clone()), &started);
        let im = match im {
            Ok(im) => im,
            Err(e) => return failed(&ctx, run, e).await,
        };
        record(
            &ctx,
            NewBackupRun {
                ok: im.all_immutable,
                files: im.files_set as i64,
                error: im.failed.iter().map(|(p, e)| format!("{p}: {e}")).collect::<Vec<_>>().join("; "),
                detail: serde_json::to_string(&im)?,
                finished_at: now_text(),
                ..run
            },
        )
        .await?;
        immutable = Some(im);
    }
    print(&a.format, &(&r, &immutable), || {
        println!(
            "複製 / copy → {}: {} 世代を複製、複製先の世代 {}、検査 {}",
            a.target,
            r.copied.len(),
            r.generations_on_target.len(),
            if r.check.ok { "正常 / OK" } else { "異常あり / FAILED" }
        );
        if let Some(im) = &immutable {
            println!("変更不可属性 / immutable: {}", im.evidence);
        }
        if dest.data.kind == "removable_media" {
            println!(
                "次に媒体を取り外して記録してください / now detach the media: mamori backup media detach --target {} --media-id …",
                a.target
            );
        }
    })?;
    let ok = r.check.ok && immutable.as_ref().is_none_or(|i| i.all_immutable);
    Ok(if ok { exit::OK } else { exit::ERROR })
}

async fn target_cmd(g: &crate::Global, c: TargetCommand) -> Result<u8> {
    let (store, f) = context(g, true).await?.expect("required");
    match c {
        TargetCommand::Add(a) => {
            let t = NewBackupTarget {
                name: a.name,
                tier: a.tier,
                kind: a.kind,
                path: a.path.display().to_string(),
                media_ids: a.media_ids,
                is_primary: a.primary,
                note: a.note,
            };
            if let Err(m) = app::check_new_target(&t) {
                bail!("{m}");
            }
            let row = store.add_backup_target(f.id, &t, &who()).await?;
            println!(
                "保管先を登録しました / target added: {} [{}] {}{}",
                row.data.name,
                app::tier_label(&row.data.tier).0,
                row.data.path,
                if row.data.is_primary { "（主リポジトリ / primary）" } else { "" }
            );
        }
        TargetCommand::List => {
            for t in store.backup_targets(f.id).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    t.data.name,
                    app::tier_label(&t.data.tier).0,
                    app::kind_label(&t.data.kind).0,
                    t.data.path,
                    t.data.media_ids.join(","),
                    if t.data.is_primary { "\t主 / primary" } else { "" }
                );
            }
        }
    }
    Ok(exit::OK)
}

async fn set_cmd(g: &crate::Global, c: SetCommand) -> Result<u8> {
    let (store, f) = context(g, true).await?.expect("required");
    match c {
        SetCommand::Add(a) => {
            let a = *a;
            // The system must be one of the systems ledger: the plan and the BCP speak of the same systems.
            let systems: Vec<InfoSystem> = store.list(f.id).await?;
            if !systems.iter().any(|s| s.name == a.system) {
                let known: Vec<&str> = systems.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "システム「{}」は医療情報システム一覧にありません。先に一覧へ登録してください（mamori import systems …）。登録済み: {} / system not in the systems ledger",
                    a.system,
                    if known.is_empty() { "なし".to_string() } else { known.join("、") }
                );
            }
            let (source_kind, source) = match (&a.landing, &a.command) {
                (Some(l), None) => ("landing", l.display().to_string()),
                (None, Some(c)) => ("command", c.clone()),
                _ => bail!(
                    "--landing（取込フォルダ）か --command（ダンプコマンド）のどちらかを指定してください / give --landing or --command"
                ),
            };
            let s = NewBackupSet {
                system: a.system,
                source_kind: source_kind.into(),
                source,
                dump_type: a.dump_type,
                work_dir: a.work_dir.display().to_string(),
                schedule: a.schedule,
                responsible: a.responsible,
                restore_procedure: a.restore_procedure,
                recovery_priority: a.priority,
            };
            let row = store.add_backup_set(f.id, &s, &who()).await?;
            println!(
                "バックアップ対象を登録しました / backup set added: {} {} ← {}",
                row.data.system, row.data.dump_type, row.data.source
            );
        }
        SetCommand::List => {
            for s in store.backup_sets(f.id).await? {
                let d = s.data;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    d.recovery_priority.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                    d.system,
                    d.dump_type,
                    d.source,
                    d.schedule,
                    d.responsible
                );
            }
        }
    }
    Ok(exit::OK)
}

async fn media_cmd(g: &crate::Global, c: MediaCommand) -> Result<u8> {
    let (store, f) = context(g, true).await?.expect("required");
    let (a, event) = match &c {
        MediaCommand::Detach(a) => (a, "detach"),
        MediaCommand::Attach(a) => (a, "attach"),
    };
    let t = store
        .backup_target(f.id, &a.target)
        .await?
        .with_context(|| format!("保管先「{}」は登録されていません / no target {}", a.target, a.target))?;
    if !t.data.media_ids.is_empty() && !t.data.media_ids.contains(&a.media_id) {
        bail!(
            "媒体ID「{}」は保管先「{}」に登録されていません（登録済み: {}）/ media ID not registered for this target",
            a.media_id,
            a.target,
            t.data.media_ids.join("、")
        );
    }
    let ev = if event == "detach" {
        // What is on the media, read now when the password is at hand, else as last read.
        let target = engine_target(&t);
        let gens = match Password::from_env(PASSWORD_ENV) {
            Ok(pw) if target.path.join("config").is_file() => {
                let p = target.path.clone();
                blocking("世代の確認 / listing", move || generations(&p, &pw)).await?.ok()
            }
            _ => None,
        }
        .or_else(|| app::recorded_generations(&t))
        .unwrap_or_default();
        let media_id = a.media_id.clone();
        let d = blocking("取り外し / detach", move || detach_media(&target, &media_id, gens)).await??;
        NewMediaEvent {
            target_name: t.data.name.clone(),
            media_id: d.media_id.clone(),
            event: "detach".into(),
            at: d.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            by_user: who(),
            still_mounted: Some(d.still_mounted),
            evidence: d.evidence.clone(),
            generations_json: Some(serde_json::to_string(&d.generations)?),
        }
    } else {
        NewMediaEvent {
            target_name: t.data.name.clone(),
            media_id: a.media_id.clone(),
            event: "attach".into(),
            at: now_text(),
            by_user: who(),
            still_mounted: None,
            evidence: String::new(),
            generations_json: None,
        }
    };
    let row = store.record_media_event(f.id, &ev).await?;
    match event {
        "detach" => {
            println!(
                "取り外しを記録しました / detach recorded: {} 媒体 {}（{}）",
                row.data.target_name,
                row.data.media_id,
                app::jst(&row.data.at)
            );
            println!("  {}", row.data.evidence);
            if row.data.still_mounted == Some(true) {
                println!(
                    "  注意: まだマウントされています。媒体を物理的に取り外すまでオフラインとは数えません / still mounted: not counted as offline until detached"
                );
            }
        }
        _ => println!("取り付けを記録しました / attach recorded: {} 媒体 {}", row.data.target_name, row.data.media_id),
    }
    Ok(exit::OK)
}

async fn report_cmd(g: &crate::Global, c: ReportCommand) -> Result<u8> {
    let (store, f) = context(g, true).await?.expect("required");
    let now = Utc::now();
    let (doc, args) = match &c {
        ReportCommand::Plan(a) => (app::plan_document(&store, &f, now).await?, a),
        ReportCommand::Report(a) => {
            let to = a.to.unwrap_or_else(|| chrono::Local::now().date_naive());
            let from = a.from.unwrap_or(to - chrono::Duration::days(30));
            if from > to {
                bail!("--from は --to 以前の日付にしてください / --from must not be after --to");
            }
            (app::report_document(&store, &f, from, to, now).await?, &a.doc)
        }
    };
    let format = DocFormat::parse(&args.format)
        .with_context(|| format!("--format は pdf か xlsx です（{}）/ --format is pdf or xlsx", args.format))?;
    let bytes = blocking("文書の作成 / rendering", move || doc.render(format)).await??;
    std::fs::write(&args.output, &bytes).with_context(|| {
        format!("{} に書き込めません / cannot write {}", args.output.display(), args.output.display())
    })?;
    println!("{} を書き出しました（{} バイト）/ written", args.output.display(), bytes.len());
    Ok(exit::OK)
}

/// Where the demo keeps its backup files: beside the SQLite file (`<db>-backup/`), or in the temp dir on
/// PostgreSQL.
async fn demo_dir(store: &Store, facility: &Facility) -> PathBuf {
    if let Ok(Some(f)) = store.sqlite_file().await {
        return PathBuf::from(format!("{f}-backup"));
    }
    std::env::temp_dir().join(format!("mamori-demo-backup-{}", facility.id))
}

/// Marks a folder as made by the demo, so `demo --reset` may replace it and nothing else.
const DEMO_MARKER: &str = ".mamori-demo";

/// Demo data of this capability (called by `mamori demo` after the ledgers are in): the EHR gets a backup set,
/// an online primary, rotated RDX media and an off-site target, and the key escrow. With the passwords in the
/// environment (MAMORI_BACKUP_PASSWORD and MAMORI_BACKUP_ADMIN_PASSWORD) a real small repository is made too:
/// three generations of a synthetic dump, a check and a restore drill, all recorded. Without them no password
/// is invented: targets are recorded and the runs stay empty (the status page then shows what is missing).
pub async fn seed_demo(store: &Store, facility: &Facility) -> Result<()> {
    let systems: Vec<InfoSystem> = store.list(facility.id).await?;
    let Some(ehr) = systems.iter().find(|s| s.name.contains("電子カルテ")) else {
        return Ok(());
    };
    let base = demo_dir(store, facility).await;
    if base.join(DEMO_MARKER).is_file() {
        // A previous demo's files (the database was reset): start again.
        std::fs::remove_dir_all(&base).with_context(|| format!("{} を削除できません", base.display()))?;
    }
    let p = |n: &str| base.join(n).display().to_string();
    let by = "demo";
    for t in [
        NewBackupTarget {
            name: "T1 院内NAS".into(),
            tier: "online".into(),
            kind: "local_dir".into(),
            path: p("nas/ehr"),
            is_primary: true,
            note: "電子カルテ系ネットワーク上のNAS（毎回のバックアップ先）".into(),
            ..Default::default()
        },
        NewBackupTarget {
            name: "T2 RDX".into(),
            tier: "offline".into(),
            kind: "removable_media".into(),
            path: p("rdx/ehr"),
            media_ids: vec!["RDX-A".into(), "RDX-B".into(), "RDX-C".into()],
            note: "週替わりで3本をローテーション、取り外し後は施錠保管".into(),
            ..Default::default()
        },
        NewBackupTarget {
            name: "T3 遠隔地".into(),
            tier: "offsite".into(),
            kind: "immutable_files".into(),
            path: p("offsite/ehr"),
            note: "系列病院のサーバ室（変更不可属性）".into(),
            ..Default::default()
        },
    ] {
        if store.backup_target(facility.id, &t.name).await?.is_none() {
            store.add_backup_target(facility.id, &t, by).await?;
        }
    }
    let set = NewBackupSet {
        system: ehr.name.clone(),
        source_kind: "landing".into(),
        source: p("landing/ehr"),
        dump_type: "full".into(),
        work_dir: p("work"),
        schedule: "毎日 2:00（事業者のダンプ出力 1:00 の後）".into(),
        responsible: "情報システム課 システム運用担当者".into(),
        restore_procedure: "1. 感染端末をネットワークから切り離し、被害範囲を確認する。\n2. 事業者と連絡し、復元先サーバ（新規又は初期化済み）を用意する。\n3. オフライン媒体（RDX）から最新の正常な世代を選び、mamori backup drill で取込時のマニフェストと一致することを確認する。\n4. 事業者の手順でデータベースを復元し、動作確認後に診療部門へ再開を連絡する。".into(),
        recovery_priority: Some(1),
    };
    if store.backup_sets(facility.id).await?.is_empty() {
        store.add_backup_set(facility.id, &set, by).await?;
    }
    if store.key_escrow(facility.id).await?.is_none() {
        store
            .record_key_escrow(
                facility.id,
                &["院長".into(), "情報システム課長".into()],
                "事務長室の金庫（封印した封筒）",
                by,
            )
            .await?;
    }
    let (Ok(pw), Ok(admin)) = (Password::from_env(PASSWORD_ENV), Password::from_env(ADMIN_PASSWORD_ENV)) else {
        println!(
            "  バックアップ: 保管先と対象を登録しました。実際のリポジトリも作るには {PASSWORD_ENV} と {ADMIN_PASSWORD_ENV} を設定してください / backup: targets recorded; set both password variables for a real demo repository"
        );
        return Ok(());
    };
    if Path::new(&p("nas/ehr")).join("config").exists() {
        println!(
            "  バックアップ: {} に既にリポジトリがあるため作りません / a repository exists there already",
            p("nas/ehr")
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&base)?;
    std::fs::write(base.join(DEMO_MARKER), "mamori demo backup files\n")?;
    let ctx = Some((store.clone(), facility.clone()));
    let primary = store.backup_target(facility.id, "T1 院内NAS").await?;
    let repo = PathBuf::from(p("nas/ehr"));
    let run = |op: &str, started: &str| NewBackupRun { by_user: by.into(), ..base_run(op, &repo, &primary, started) };
    let t0 = now_text();
    let r = {
        let (repo, pw, admin) = (repo.clone(), pw.clone(), admin.clone());
        tokio::task::spawn_blocking(move || init_repository(&repo, &pw, &admin)).await??
    };
    record(&ctx, NewBackupRun { ok: true, detail: serde_json::to_string(&r)?, ..run("init", &t0) }).await?;
    // A synthetic dump: 1 MiB of incompressible data and a SQL text file that changes every day.
    let landing = PathBuf::from(&set.source);
    std::fs::create_dir_all(&landing)?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(landing.join("ehr_data.dmp"), &noise)?;
    for day in 1..=3 {
        let sql: String =
            (0..2000).map(|i| format!("INSERT INTO karte VALUES ({i}, '第{day}日の記録 {i}');\n")).collect();
        std::fs::write(landing.join("ehr_schema.sql"), sql)?;
        let t0 = now_text();
        let src = DirSource {
            system: set.system.clone(),
            dump_type: set.dump_type.clone(),
            landing: landing.clone(),
            work_dir: PathBuf::from(&set.work_dir),
        };
        let (repo2, pw2) = (repo.clone(), pw.clone());
        let b = tokio::task::spawn_blocking(move || backup_directory(&repo2, &pw2, &src)).await??;
        record(
            &ctx,
            NewBackupRun {
                ok: true,
                system: b.system.clone(),
                bytes: b.bytes as i64,
                files: b.files as i64,
                snapshot_id: b.snapshot_id.clone(),
                ..run("backup", &t0)
            },
        )
        .await?;
    }
    let t0 = now_text();
    let (repo2, pw2) = (repo.clone(), pw.clone());
    let c = tokio::task::spawn_blocking(move || check(&repo2, &pw2, ReadData::All)).await??;
    record(&ctx, NewBackupRun { ok: c.ok, detail: serde_json::to_string(&c)?, ..run("check", &t0) }).await?;
    let t0 = now_text();
    let (repo2, pw2, scratch) = (repo.clone(), pw.clone(), base.join("drill"));
    let system = set.system.clone();
    let d = tokio::task::spawn_blocking(move || {
        restore_drill(&repo2, &pw2, &SnapshotRef::Latest { system: Some(system) }, &scratch, false)
    })
    .await??;
    record(
        &ctx,
        NewBackupRun {
            ok: d.ok,
            system: d.system.clone(),
            bytes: d.bytes as i64,
            files: d.files as i64,
            snapshot_id: d.snapshot_id.clone(),
            detail: serde_json::to_string(&d)?,
            ..run("drill", &t0)
        },
    )
    .await?;
    let (repo2, pw2) = (repo.clone(), pw.clone());
    let gens = tokio::task::spawn_blocking(move || generations(&repo2, &pw2)).await??;
    remember(&ctx, &primary, &gens).await;
    println!(
        "  バックアップ: {} に3世代・検査・復元訓練（{:.1} 秒）/ backup: a real repository with 3 generations",
        repo.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
