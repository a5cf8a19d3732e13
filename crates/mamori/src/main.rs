//! `mamori` — one binary, a command for every job. The crates around it hold the work; this file wires
//! them together: global options, the ledger commands, and the web commands (see `cmd_web`).

mod cmd_backup;
mod cmd_bcp;
mod cmd_checklist;
mod cmd_ledger;
mod cmd_vuln;
mod cmd_web;
mod demo;
mod progress;

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: imports allocate a string per cell, and with glibc, allocation and
/// freeing were about 45% of an import's CPU time (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Exit codes, so scripts (cron, CI) can tell what happened.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A runtime error (database, file, …); the message says what and what to do.
    pub const ERROR: u8 = 1;
    /// The input was refused (an import file with errors); nothing was written.
    pub const INVALID_INPUT: u8 = 3;
    /// `findings --fail-on …` found findings at or above the given severity.
    pub const FINDINGS: u8 = 4;
}

/// mamori — 医療機関の情報システムを厚生労働省の求めるとおりに守る / security of hospital information systems as MHLW requires
#[derive(Parser, Debug)]
#[command(name = "mamori", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// データベース: SQLite のファイル名、sqlite:… または postgres://… の URL / database: SQLite file, sqlite: or postgres:// URL
    /// （既定: mamori.db、demo では mamori-demo.db）/ (default: mamori.db; mamori-demo.db for demo)
    #[arg(long, global = true, env = "MAMORI_DB")]
    pub db: Option<String>,
    /// 対象の施設（ID、医療機関コード、施設名）。施設が1つなら省略可 / facility (id, code or name); optional with one facility
    #[arg(long, global = true, env = "MAMORI_FACILITY")]
    pub facility: Option<String>,
}

impl Global {
    /// The database URL or file to use.
    pub fn db_url(&self) -> &str {
        self.db.as_deref().unwrap_or("mamori.db")
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// データベースを作成し、施設を登録する / create the database and register a facility
    Init(cmd_ledger::InitArgs),
    /// 施設の登録・一覧 / add or list facilities
    #[command(subcommand)]
    Facility(cmd_ledger::FacilityCommand),
    /// デモ病院（約350床）を作ってWeb画面を起動する / create the demo hospital and start the web UI
    Demo(demo::DemoArgs),
    /// 台帳ファイル（CSV / .xlsx）を取り込む（全件正常なときだけ書き込む）/ import a ledger file, all or nothing
    Import(cmd_ledger::ImportArgs),
    /// 台帳を書き出す（CSV UTF-8 BOM / CP932 / .xlsx）/ export a ledger
    Export(cmd_ledger::ExportArgs),
    /// 台帳から分かる指摘（サポート終了、不要アカウント等）/ findings from the ledgers
    Findings(cmd_ledger::FindingsArgs),
    /// 性能測定（結果を表示するだけで合否判定はしない）/ benchmarks that print figures
    #[command(subcommand)]
    Bench(cmd_ledger::BenchCommand),
    /// オフラインバックアップ（暗号化・世代管理・復元訓練、restic 互換）/ offline backup (encrypted, generations, drills)
    #[command(subcommand)]
    Backup(cmd_backup::BackupCommand),
    /// チェックリスト（令和6年度版ほか）の回答・確認・出力 / the MHLW checklist: show, answer, export
    #[command(subcommand)]
    Checklist(cmd_checklist::ChecklistCommand),
    /// G-MIS バックアップ・リモートゲートウェイ調査 / the G-MIS backup and remote-gateway survey
    #[command(subcommand)]
    Gmis(cmd_checklist::GmisCommand),
    /// 連絡体制（連絡先と連絡体制図）/ incident contacts and the contact chart
    #[command(subcommand)]
    Contacts(cmd_bcp::ContactsCommand),
    /// BCP（確認表・訓練記録・BCP文書）/ BCP: confirmation table, training records, the BCP document
    #[command(subcommand)]
    Bcp(cmd_bcp::BcpCommand),
    /// 脆弱性診断（NVD / JVN / KEV、オフライン）/ vulnerability diagnosis against NVD, JVN and KEV, offline
    #[command(subcommand)]
    Vuln(cmd_vuln::VulnCommand),
    #[command(flatten)]
    Web(cmd_web::WebCommand),
}

/// A listing piped into `head` or `less` that the reader closes early ends quietly, as Unix tools do, instead
/// of panicking on a write to a closed pipe: commands that only report get the default SIGPIPE action back
/// (the Rust runtime ignores the signal). The server, the demo and backups keep ignoring it, so a closed log
/// pipe never stops a backup half-way or takes the web server down.
fn default_sigpipe_for_reports(cmd: &Command) {
    if matches!(cmd, Command::Demo(_) | Command::Web(_) | Command::Backup(_)) {
        return;
    }
    // SAFETY: called once at start-up before any other thread exists; setting a signal's disposition to
    // SIG_DFL has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    default_sigpipe_for_reports(&cli.command);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = rt.block_on(async move {
        let g = cli.global;
        match cli.command {
            Command::Init(a) => cmd_ledger::init(&g, a).await,
            Command::Facility(c) => cmd_ledger::facility(&g, c).await,
            Command::Demo(a) => demo::run(&g, a).await,
            Command::Import(a) => cmd_ledger::import(&g, a).await,
            Command::Export(a) => cmd_ledger::export(&g, a).await,
            Command::Findings(a) => cmd_ledger::findings(&g, a).await,
            Command::Bench(c) => cmd_ledger::bench(&g, c).await,
            Command::Backup(c) => cmd_backup::dispatch(&g, c).await,
            Command::Checklist(c) => cmd_checklist::checklist(&g, c).await,
            Command::Gmis(c) => cmd_checklist::gmis(&g, c).await,
            Command::Contacts(c) => cmd_bcp::contacts(&g, c).await,
            Command::Bcp(c) => cmd_bcp::bcp(&g, c).await,
            Command::Vuln(c) => cmd_vuln::vuln(&g, c).await,
            Command::Web(c) => cmd_web::run(&g, c).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("エラー / error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
