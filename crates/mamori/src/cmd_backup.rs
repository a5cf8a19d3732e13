//! `mamori backup …`: the backup engine (mamori-backup, restic-compatible repositories) from the command line.
//! Passwords come from the environment (MAMORI_BACKUP_PASSWORD for everyday backups, MAMORI_BACKUP_ADMIN_PASSWORD
//! for forgetting generations), never from arguments, so they stay out of shell history and process lists.
//!
//! Still to come (issue 7): targets and policy kept per facility in the store, run history, status page,
//! 計画書 / 実施報告書. Until then each command works on the repository it is given.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use mamori_backup::{
    DirSource, Password, ReadData, SnapshotRef, Target, TargetKind, Tier, backup_directory, check, forget_prune,
    generations, init_repository, probe_target, restore_drill,
};

use crate::exit;

const PASSWORD_ENV: &str = "MAMORI_BACKUP_PASSWORD";
const ADMIN_PASSWORD_ENV: &str = "MAMORI_BACKUP_ADMIN_PASSWORD";

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// 暗号化リポジトリを作る（バックアップ用と管理用の2つの鍵）/ create an encrypted repository with a backup key and an admin key
    Init(RepoArg),
    /// 取込フォルダ（事業者がダンプを書き出す場所）をバックアップする / back up the landing folder of dump files
    Run(RunArgs),
    /// 世代の一覧と保管先の状態 / generations and the target's real state
    Status(StatusArgs),
    /// 整合性検査（--read-data でデータも読む）/ check the repository (and its data)
    Check(CheckArgs),
    /// 復元訓練: 作業場所に復元し、取込時のマニフェストとビット単位で照合 / restore drill compared bit for bit
    Drill(DrillArgs),
    /// 古い世代を削除（管理用パスワード、最新 N 世代は必ず残す）/ forget old generations with the admin key
    Forget(ForgetArgs),
}

#[derive(Args, Debug)]
pub struct RepoArg {
    /// リポジトリのパス / repository path
    #[arg(long)]
    pub repo: PathBuf,
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
    pub system: String,
    /// ダンプの種類（例: full）/ dump type
    #[arg(long, default_value = "full")]
    pub dump_type: String,
    /// 取込フォルダ / landing folder
    #[arg(long)]
    pub landing: PathBuf,
    /// mamori の作業フォルダ（取込フォルダの外）/ mamori's work folder, outside the landing folder
    #[arg(long)]
    pub work_dir: PathBuf,
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

/// Entry from `main`: the backup engine blocks (rustic), so it runs off the async workers.
pub async fn dispatch(_g: &crate::Global, c: BackupCommand) -> Result<u8> {
    tokio::task::spawn_blocking(move || run(c)).await?
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in). Nothing yet.
pub async fn seed_demo(_store: &mamori_store::Store, _facility: &mamori_model::Facility) -> Result<()> {
    Ok(())
}

pub fn run(c: BackupCommand) -> Result<u8> {
    match c {
        BackupCommand::Init(a) => {
            let r = init_repository(&a.repo, &password(PASSWORD_ENV)?, &password(ADMIN_PASSWORD_ENV)?)?;
            print(&a.format, &r, || {
                println!(
                    "リポジトリを作りました / repository created: {} (id {})",
                    r.repository.display(),
                    r.repository_id
                );
                println!(
                    "パスワードを失うとデータは戻りません。保管者を記録してください / losing the password loses the data: record who holds it"
                );
            })?;
        }
        BackupCommand::Run(a) => {
            let src = DirSource { system: a.system, dump_type: a.dump_type, landing: a.landing, work_dir: a.work_dir };
            let r = backup_directory(&a.repo.repo, &password(PASSWORD_ENV)?, &src)?;
            print(&a.repo.format, &r, || {
                println!(
                    "バックアップ完了 / backup done: {} {} — スナップショット {}、{} ファイル、{} バイト（新規 {} バイト）",
                    r.system, r.dump_type, r.snapshot_id, r.files, r.bytes, r.added_bytes_packed
                );
                for w in &r.warnings {
                    println!("警告 / warning: {w}");
                }
            })?;
        }
        BackupCommand::Status(a) => {
            let gens = generations(&a.repo.repo, &password(PASSWORD_ENV)?)?;
            let probe = probe_target(&Target {
                id: "primary".into(),
                tier: Tier::Online,
                path: a.repo.repo.clone(),
                kind: TargetKind::LocalDir,
            });
            print(&a.repo.format, &(&gens, &probe), || {
                println!("世代 / generations: {}", gens.len());
                for g in &gens {
                    println!("  {}  {}  {}  {}", g.time.format("%Y-%m-%d %H:%M"), g.system, g.dump_type, g.snapshot_id);
                }
                println!("保管先の状態（実際に調べた結果）/ target state as probed: {:?}", probe.state);
                for e in &probe.evidence {
                    println!("  {e}");
                }
            })?;
        }
        BackupCommand::Check(a) => {
            let read = match a.read_data.as_str() {
                "none" => ReadData::None,
                "all" => ReadData::All,
                "rolling" => ReadData::rolling_for_day(chrono::Local::now().date_naive(), a.every_days),
                other => anyhow::bail!("--read-data は none / all / rolling です（{other}）"),
            };
            let r = check(&a.repo.repo, &password(PASSWORD_ENV)?, read)?;
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
            let which = SnapshotRef::Latest { system: a.system };
            let r = restore_drill(&a.repo.repo, &password(PASSWORD_ENV)?, &which, &a.scratch, false)?;
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
            })?;
            if !r.ok {
                return Ok(exit::ERROR);
            }
        }
        BackupCommand::Forget(a) => {
            if a.keep < 3 {
                anyhow::bail!(
                    "--keep は 3 以上にしてください（チェックリストマニュアル: 3世代以上）/ keep at least 3 generations"
                );
            }
            let r = forget_prune(&a.repo.repo, &password(ADMIN_PASSWORD_ENV)?, a.keep)?;
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
    }
    Ok(exit::OK)
}
