//! Commands of the foundation: init, facility, import, export, findings, bench.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use mamori_app::{ImportReport, export_bytes, import_table, ledger_findings};
use mamori_model::findings::{FindingOptions, FindingSeverity};
use mamori_model::import::HeaderMapping;
use mamori_model::ledger::LedgerKind;
use mamori_model::{Facility, FacilityKind, NewFacility};
use mamori_store::Store;
use mamori_tabular::{CsvFlavor, ReadOptions, TextEncoding};

use crate::progress::Progress;
use crate::{Global, exit};

pub async fn open(g: &Global) -> Result<Store> {
    Ok(Store::open(g.db_url()).await?)
}

// ---------------------------------------------------------------------------------------------------------
// init / facility

#[derive(Args, Debug, Clone)]
pub struct FacilityArgs {
    /// 施設名 / facility name
    #[arg(long = "facility-name")]
    pub name: Option<String>,
    /// 都道府県（例: 東京都）/ prefecture
    #[arg(long)]
    pub prefecture: Option<String>,
    /// 市区町村 / municipality
    #[arg(long, default_value = "")]
    pub municipality: String,
    /// 許可病床数 / licensed beds
    #[arg(long)]
    pub beds: Option<u32>,
    /// hospital（病院）または clinic（診療所）
    #[arg(long, default_value = "hospital")]
    pub kind: String,
    /// 電子カルテを導入していない / no EHR
    #[arg(long)]
    pub no_ehr: bool,
    /// 医療機関コード（10桁）/ medical institution code
    #[arg(long)]
    pub medical_code: Option<String>,
}

impl FacilityArgs {
    fn to_new(&self) -> Result<Option<NewFacility>> {
        let Some(name) = &self.name else {
            return Ok(None);
        };
        let prefecture =
            self.prefecture.clone().context("--prefecture（都道府県）も指定してください / --prefecture is required")?;
        let kind = FacilityKind::parse(&self.kind)
            .context("--kind は hospital か clinic です / --kind is hospital or clinic")?;
        Ok(Some(NewFacility {
            name: name.clone(),
            kind,
            prefecture,
            municipality: self.municipality.clone(),
            beds: self.beds,
            has_ehr: !self.no_ehr,
            medical_code: self.medical_code.clone(),
        }))
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub facility: FacilityArgs,
}

pub async fn init(g: &Global, a: InitArgs) -> Result<u8> {
    let store = open(g).await?;
    println!("データベースを準備しました / database ready: {}", mamori_store::redact_url(g.db_url()));
    if let Some(f) = a.facility.to_new()? {
        let f = store.add_facility(&f).await?;
        print_facility(&f);
    } else if store.facilities().await?.is_empty() {
        println!(
            "次に施設を登録してください / next, register the facility: mamori init --facility-name 〇〇病院 --prefecture 東京都 --beds 350"
        );
    }
    Ok(exit::OK)
}

#[derive(Subcommand, Debug)]
pub enum FacilityCommand {
    /// 施設を登録する / register a facility
    Add(FacilityArgs),
    /// 施設の一覧 / list facilities
    List,
}

fn print_facility(f: &Facility) {
    let d = &f.data;
    println!(
        "{}\t{}\t{}\t{}{}\t{}\t{}\t電子カルテ{}",
        f.id,
        d.name,
        d.kind.label_ja(),
        d.prefecture,
        d.municipality,
        d.beds.map(|b| format!("{b}床")).unwrap_or_default(),
        d.bed_class().map(|c| c.label_ja()).unwrap_or("-"),
        if d.has_ehr { "あり" } else { "なし" }
    );
}

pub async fn facility(g: &Global, c: FacilityCommand) -> Result<u8> {
    let store = open(g).await?;
    match c {
        FacilityCommand::Add(a) => {
            let f = a.to_new()?.context("--facility-name を指定してください / --facility-name is required")?;
            print_facility(&store.add_facility(&f).await?);
        }
        FacilityCommand::List => {
            for f in store.facilities().await? {
                print_facility(&f);
            }
        }
    }
    Ok(exit::OK)
}

// ---------------------------------------------------------------------------------------------------------
// import

/// The ledgers, as named on the command line.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum LedgerArg {
    /// 機器台帳
    Devices,
    /// 医療情報システム一覧
    Systems,
    /// 利用者ID台帳
    Accounts,
    /// 事業者一覧
    Vendors,
}

impl LedgerArg {
    pub fn kind(self) -> LedgerKind {
        match self {
            Self::Devices => LedgerKind::Devices,
            Self::Systems => LedgerKind::Systems,
            Self::Accounts => LedgerKind::Accounts,
            Self::Vendors => LedgerKind::Vendors,
        }
    }
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// devices | systems | accounts | vendors
    pub ledger: LedgerArg,
    /// CSV（UTF-8 / BOM付き / Shift_JIS）または .xlsx
    pub file: PathBuf,
    /// 検査だけして書き込まない / check only, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// .xlsx のシート名（既定: 先頭のシート）/ sheet of a workbook
    #[arg(long)]
    pub sheet: Option<String>,
    /// CSV の文字コード: auto | utf8 | cp932
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// 見出しの対応付け「見出し=列キー」（複数可）/ header mapping HEADER=COLUMN_KEY (repeatable)
    #[arg(long = "map")]
    pub map: Vec<String>,
    /// --map の対応付けを施設に保存し、次回から自動で使う / save --map for this facility
    #[arg(long)]
    pub save_mapping: bool,
    /// 結果の出力形式 / report format
    #[arg(long, default_value = "text")]
    pub report: ReportFormat,
    /// 取り込んだ人（記録用）/ who imports (recorded)
    #[arg(long, env = "USER", default_value = "cli")]
    pub by: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

pub async fn import(g: &Global, a: ImportArgs) -> Result<u8> {
    let store = open(g).await?;
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    let kind = a.ledger.kind();
    let encoding = TextEncoding::parse(&a.encoding).context("--encoding は auto / utf8 / cp932 です")?;
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("{} を読めません / cannot read the file", a.file.display()))?;
    let name = a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let cli_map = HeaderMapping::parse_pairs(kind, &a.map).map_err(anyhow::Error::msg)?;
    let mut mapping = store.header_mapping(facility.id, kind).await?;
    mapping.entries.extend(cli_map.entries.iter().cloned());
    let table = match mamori_tabular::read_bytes(&bytes, &name, &ReadOptions { encoding, sheet: a.sheet.clone() }) {
        Ok(t) => t,
        Err(e) => {
            let report = ImportReport {
                ledger: kind.as_str(),
                file: name,
                dry_run: a.dry_run,
                rows: 0,
                written: false,
                counts: None,
                issues: vec![],
            };
            print_report(&report, a.report, Some(&e.to_string()));
            return Ok(exit::INVALID_INPUT);
        }
    };
    let mut bar: Option<Progress> = None;
    let report = import_table(&store, &facility, kind, table, &mapping, &bytes, a.dry_run, &a.by, |done, total| {
        bar.get_or_insert_with(|| Progress::new("書き込み中 / writing", total)).set(done, total)
    })
    .await?;
    if let Some(b) = bar {
        b.finish();
    }
    if a.save_mapping && !cli_map.entries.is_empty() && report.written {
        store.save_header_mapping(facility.id, kind, &cli_map).await?;
    }
    print_report(&report, a.report, None);
    Ok(if report.issues.iter().any(|i| i.severity == mamori_model::import::Severity::Error) {
        exit::INVALID_INPUT
    } else {
        exit::OK
    })
}

fn print_report(r: &ImportReport, fmt: ReportFormat, fatal: Option<&str>) {
    if fmt == ReportFormat::Json {
        let mut v = serde_json::to_value(r).expect("report serialises");
        if let Some(f) = fatal {
            v["fatal"] = serde_json::Value::String(f.to_string());
        }
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return;
    }
    if let Some(f) = fatal {
        eprintln!("{f}");
        eprintln!("何も書き込んでいません / nothing was written");
        return;
    }
    for i in &r.issues {
        eprintln!("{i}");
    }
    let errors = r.issues.iter().filter(|i| i.severity == mamori_model::import::Severity::Error).count();
    let label = LedgerKind::parse(r.ledger).map(|k| k.label_ja()).unwrap_or(r.ledger);
    if errors > 0 {
        eprintln!(
            "{label}: {} のエラー {errors} 件。ファイルを直して取り込み直してください。何も書き込んでいません / {errors} errors: nothing was written",
            r.file
        );
    } else if r.dry_run {
        println!(
            "{label}: {} は {} 行すべて正常です（--dry-run のため書き込んでいません）/ all {} rows valid (dry run, nothing written)",
            r.file, r.rows, r.rows
        );
    } else if let Some(c) = r.counts {
        println!(
            "{label}: {} を取り込みました — 新規 {} 件、更新 {} 件、変更なし {} 件 / imported: {} added, {} updated, {} unchanged",
            r.file, c.added, c.updated, c.unchanged, c.added, c.updated, c.unchanged
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// export

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM (Excel opens it correctly)
    Csv,
    /// CSV, Shift_JIS (CP932)
    CsvCp932,
    /// Excel workbook
    Xlsx,
}

impl From<ExportFormat> for mamori_app::ExportFormat {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Csv => Self::Csv,
            ExportFormat::CsvCp932 => Self::CsvCp932,
            ExportFormat::Xlsx => Self::Xlsx,
        }
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    pub ledger: LedgerArg,
    #[arg(long, default_value = "csv")]
    pub format: ExportFormat,
    /// 出力先（既定: 標準出力）/ output file (default: stdout)
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub async fn export(g: &Global, a: ExportArgs) -> Result<u8> {
    let store = open(g).await?;
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    if a.format == ExportFormat::Xlsx && a.output.is_none() {
        bail!("xlsx は --output でファイルを指定してください / give --output for xlsx");
    }
    let bytes = export_bytes(&store, facility.id, a.ledger.kind(), a.format.into()).await?;
    match &a.output {
        Some(p) => write_atomically(p, &bytes)?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(exit::OK)
}

/// Writes through a temp file and rename, so a crash never leaves half a file under the final name.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    std::fs::write(&tmp, bytes).with_context(|| format!("{} に書き込めません / cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{} に書き込めません / cannot write", path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// findings

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFormat {
    Text,
    Json,
    Csv,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityArg {
    High,
    Medium,
    Low,
    Info,
}

#[derive(Args, Debug)]
pub struct FindingsArgs {
    #[arg(long, default_value = "text")]
    pub format: FindingsFormat,
    /// この日数を超えて使われていないアカウントを指摘する / report accounts unused for more days than this
    #[arg(long, default_value_t = 90)]
    pub unused_days: i64,
    /// 基準日（既定: 今日）/ reference date (default: today)
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// この重大度以上があれば終了コード 4 / exit 4 when findings at or above this severity exist
    #[arg(long)]
    pub fail_on: Option<SeverityArg>,
}

pub async fn findings(g: &Global, a: FindingsArgs) -> Result<u8> {
    let store = open(g).await?;
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    let mut opts = FindingOptions::new(a.today.unwrap_or_else(|| chrono::Local::now().date_naive()));
    opts.unused_days = a.unused_days;
    let all = ledger_findings(&store, facility.id, &opts).await?;
    match a.format {
        FindingsFormat::Json => println!("{}", serde_json::to_string_pretty(&all)?),
        FindingsFormat::Csv => {
            let headers = ["重大度", "種類", "台帳", "キー", "指摘", "理由", "チェックリスト"];
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|f| {
                    vec![
                        f.severity.label_ja().into(),
                        f.kind.as_str().into(),
                        f.ledger.label_ja().into(),
                        f.key.clone(),
                        f.title_ja.clone(),
                        f.reason_ja.clone(),
                        f.kind.checklist_item().into(),
                    ]
                })
                .collect();
            use std::io::Write;
            std::io::stdout().write_all(&mamori_tabular::write_csv(&headers, &rows, CsvFlavor::Utf8Bom)?)?;
        }
        FindingsFormat::Text => {
            println!("{} — 指摘 {} 件 / {} findings (基準日 {})", facility.data.name, all.len(), all.len(), opts.today);
            for f in &all {
                println!(
                    "[{}] {} {}: {}\n      {}",
                    f.severity.label_ja(),
                    f.ledger.label_ja(),
                    f.key,
                    f.title_ja,
                    f.reason_ja
                );
            }
            let counts = mamori_model::findings::count_by_severity(&all);
            let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{} {n}", s.label_ja())).collect();
            println!("重大度別 / by severity: {}", summary.join("、"));
        }
    }
    if let Some(level) = a.fail_on {
        let threshold = match level {
            SeverityArg::High => FindingSeverity::High,
            SeverityArg::Medium => FindingSeverity::Medium,
            SeverityArg::Low => FindingSeverity::Low,
            SeverityArg::Info => FindingSeverity::Info,
        };
        if all.iter().any(|f| f.severity <= threshold) {
            return Ok(exit::FINDINGS);
        }
    }
    Ok(exit::OK)
}

// ---------------------------------------------------------------------------------------------------------
// bench

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// 大量の台帳の取り込み速度とメモリ / import speed and peak memory of large ledgers
    Import(BenchImportArgs),
    /// (internal) writes the benchmark's ledger files; run as a child so the measuring process stays small
    #[command(hide = true)]
    Generate(BenchImportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct BenchImportArgs {
    #[arg(long, default_value_t = 100_000)]
    pub devices: usize,
    #[arg(long, default_value_t = 200_000)]
    pub accounts: usize,
    /// csv | xlsx
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// 作業用ディレクトリ（既定: 一時ディレクトリ）/ working directory
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub async fn bench(_g: &Global, c: BenchCommand) -> Result<u8> {
    match c {
        BenchCommand::Import(a) => crate::demo::bench_import(a).await,
        BenchCommand::Generate(a) => crate::demo::bench_generate(a),
    }
}
