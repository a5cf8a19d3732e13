//! `mamori vuln …`: feeds, scans and findings.
//!
//! Exit codes as the other commands: 0 done, 1 runtime error, 3 input refused (nothing written),
//! 4 `findings --fail-on …` found open findings at or above the threshold.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use mamori_app::vuln::{self as app, ImportOutcome};
use mamori_store::vuln::{FindingFilter, FindingState};

use crate::cmd_ledger::open;
use crate::{Global, exit};

#[derive(Subcommand, Debug)]
pub enum VulnCommand {
    /// NVD（JSON / .json.gz）・CISA KEV（JSON / CSV）・JVN iPedia（XML）を取り込む（全ファイル正常なときだけ書き込む）
    /// / import NVD, KEV and JVN files (all or nothing)
    Import(ImportArgs),
    /// 機器台帳を脆弱性データと照合し、指摘を保存する / match the device ledger against the feeds and save the findings
    Scan(ByArgs),
    /// 指摘の一覧（優先度順）/ list the findings, highest priority first
    Findings(FindingsArgs),
    /// 取り込んだ脆弱性データの鮮度 / freshness of the imported feeds
    Feeds,
    /// 機器ごとの CPE（自動判定・手動指定）と要確認の機器 / the CPEs of each device and the devices to review
    #[command(subcommand)]
    Cpe(CpeCommand),
    /// 指摘の状態を変える（accepted / fixed / false-positive、理由必須）/ set a finding's state, with a reason
    Triage(TriageArgs),
    /// 指摘の状態の変更履歴 / history of the findings' states
    History(HistoryArgs),
}

#[derive(Args, Debug)]
pub struct ByArgs {
    /// 実行した人（記録用）/ who runs it (recorded)
    #[arg(long, env = "USER", default_value = "cli")]
    pub by: String,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub by: ByArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFormat {
    Text,
    Csv,
    Xlsx,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// CISA KEV に載っている指摘 / a finding in CISA KEV
    Kev,
    /// CVSS 9.0 以上または KEV / CVSS ≥ 9.0 or KEV
    Critical,
    /// CVSS 7.0 以上または KEV / CVSS ≥ 7.0 or KEV
    High,
    /// 未対応の指摘すべて / any open finding
    Any,
}

#[derive(Args, Debug)]
pub struct FindingsArgs {
    #[arg(long, default_value = "text")]
    pub format: FindingsFormat,
    /// 出力先（既定: 標準出力、xlsx は必須）/ output file (default stdout; required for xlsx)
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// この機器（管理番号）だけ / only this device (asset number)
    #[arg(long)]
    pub device: Option<String>,
    /// KEV のものだけ / KEV only
    #[arg(long)]
    pub kev: bool,
    /// 対応済み・受容・誤検知と、再診断で該当しなくなったものも含める / include closed and no longer matched findings
    #[arg(long)]
    pub all: bool,
    /// 未対応の指摘がこの水準以上なら終了コード 4 / exit 4 when open findings at or above this level exist
    #[arg(long)]
    pub fail_on: Option<FailOn>,
    /// 優先度の高い順にこの件数だけ / only the first N findings, highest priority first
    #[arg(long)]
    pub limit: Option<i64>,
    /// CVE ごとに1行（該当する機器の数）/ one line per CVE with the number of devices it affects
    #[arg(long)]
    pub by_cve: bool,
    /// 件数と内訳（優先度・確度・状態）だけ / only the counts (by priority, confidence, state)
    #[arg(long)]
    pub summary: bool,
}

#[derive(Subcommand, Debug)]
pub enum CpeCommand {
    /// 機器の CPE を手動で指定する（自動判定より優先、次の scan から有効）/ set a device's CPEs by hand
    Set {
        /// 管理番号 / asset number
        device: String,
        #[arg(required = true)]
        cpes: Vec<String>,
        /// 理由 / reason
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        by: ByArgs,
    },
    /// 手動指定をやめて自動判定に戻す / back to the normaliser's guess
    Clear {
        device: String,
        #[command(flatten)]
        by: ByArgs,
    },
    /// 機器ごとの CPE（直近の scan）/ the CPEs chosen by the last scan
    List {
        /// 要確認の機器だけ / only devices to review
        #[arg(long)]
        review: bool,
    },
}

#[derive(Args, Debug)]
pub struct TriageArgs {
    /// 指摘のキー（管理番号|CVE）/ finding key (asset|CVE)
    pub key: String,
    /// accepted | fixed | false-positive
    pub state: String,
    /// 理由 / reason
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub by: ByArgs,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// 指摘のキー（省略時はすべて）/ finding key (all when omitted)
    pub key: Option<String>,
}

pub async fn vuln(g: &Global, c: VulnCommand) -> Result<u8> {
    let store = open(g).await?;
    match c {
        VulnCommand::Import(a) => {
            let code = import(&store, &a.files, &a.by.by).await?;
            Ok(code)
        }
        VulnCommand::Scan(a) => {
            let facility = store.resolve_facility(g.facility.as_deref()).await?;
            let r = app::scan(&store, &facility, &a.by).await?;
            println!(
                "{}: 機器 {} 台を照合 — 指摘 {} 件（新規 {} 件）、CPE 未判定 {} 台、要確認 {} 台、読み込んだ CVE {} 件、{} ms / scanned {} devices: {} findings ({} new), {} unmatched, {} to review, {} CVEs loaded",
                facility.data.name,
                r.devices,
                r.findings,
                r.added,
                r.unmatched,
                r.review,
                r.cves_loaded,
                r.millis,
                r.devices,
                r.findings,
                r.added,
                r.unmatched,
                r.review,
                r.cves_loaded
            );
            println!(
                "  内訳 / split: 脆弱性データの読み込み {} ms、正規化と照合 {} ms、保存ほか {} ms / loading {} ms, matching {} ms, saving and the rest {} ms",
                r.load_millis,
                r.match_millis,
                r.millis.saturating_sub(r.load_millis + r.match_millis),
                r.load_millis,
                r.match_millis,
                r.millis.saturating_sub(r.load_millis + r.match_millis)
            );
            if r.resolved > 0 {
                println!(
                    "再診断で該当しなくなり対応済みにした指摘 {} 件 / {} findings no longer match: closed as fixed",
                    r.resolved, r.resolved
                );
            }
            for k in &r.reopened {
                println!(
                    "再オープン: {k}（対応済みでしたが、まだ該当します）/ reopened: {k} was marked fixed but still matches"
                );
            }
            Ok(exit::OK)
        }
        VulnCommand::Findings(a) => findings(g, &store, a).await,
        VulnCommand::Feeds => {
            let today = chrono::Local::now().date_naive();
            for s in store.vuln_feed_status().await? {
                let age = app::feed_age_days(&s, today);
                let when = s
                    .last
                    .as_ref()
                    .map(|l| format!("{}（{}）", l.imported_at, l.source))
                    .unwrap_or_else(|| "未取込 / never".into());
                let stale = match age {
                    Some(d) if d > app::STALE_DAYS => {
                        format!(" — {d} 日前のデータです。更新してください / {d} days old: update it")
                    }
                    Some(d) => format!(" — {d} 日前 / {d} days old"),
                    None => String::new(),
                };
                println!(
                    "{}: {} 件、データ時点 {}、最終取込 {}{stale}",
                    s.feed.label(),
                    s.records,
                    s.data_as_of.as_deref().unwrap_or("-"),
                    when
                );
            }
            Ok(exit::OK)
        }
        VulnCommand::Cpe(c) => {
            let facility = store.resolve_facility(g.facility.as_deref()).await?;
            match c {
                CpeCommand::Set { device, cpes, reason, by } => {
                    match app::set_cpe(&store, &facility, &device, &cpes, &reason, &by.by).await? {
                        Ok(set) => {
                            println!(
                                "{device}: CPE を設定しました（次の scan から有効）/ CPE set (takes effect at the next scan): {}",
                                set.join(" ")
                            );
                            Ok(exit::OK)
                        }
                        Err(r) => {
                            eprintln!("{r}");
                            Ok(exit::INVALID_INPUT)
                        }
                    }
                }
                CpeCommand::Clear { device, by } => {
                    match app::set_cpe(&store, &facility, &device, &[], "", &by.by).await? {
                        Ok(_) => {
                            println!("{device}: 手動指定を解除しました / override removed");
                            Ok(exit::OK)
                        }
                        Err(r) => {
                            eprintln!("{r}");
                            Ok(exit::INVALID_INPUT)
                        }
                    }
                }
                CpeCommand::List { review } => {
                    for d in store.vuln_device_cpes(facility.id).await? {
                        if review && !d.needs_review {
                            continue;
                        }
                        let cpes: Vec<serde_json::Value> = serde_json::from_str(&d.cpes).unwrap_or_default();
                        let list: Vec<&str> = cpes.iter().filter_map(|c| c["cpe"].as_str()).collect();
                        let unrec: Vec<String> = serde_json::from_str(&d.unrecognised).unwrap_or_default();
                        println!(
                            "{}{}{}: {}{}",
                            d.asset_no,
                            if d.overridden { " [手動 / override]" } else { "" },
                            if d.at_external_point { " [外部接続点 / external point]" } else { "" },
                            if list.is_empty() { "（CPE なし / no CPE）".to_string() } else { list.join(" ") },
                            if unrec.is_empty() {
                                String::new()
                            } else {
                                format!(" — 未判定 / unrecognised: {}", unrec.join("、"))
                            }
                        );
                    }
                    Ok(exit::OK)
                }
            }
        }
        VulnCommand::Triage(a) => {
            let facility = store.resolve_facility(g.facility.as_deref()).await?;
            match app::set_state(&store, &facility, &a.key, &a.state, &a.reason, &a.by.by).await? {
                Ok(s) => {
                    println!("{}: {} / {}（理由 / reason: {}）", a.key, s.label_ja(), s.label_en(), a.reason.trim());
                    Ok(exit::OK)
                }
                Err(r) => {
                    eprintln!("{r}");
                    Ok(exit::INVALID_INPUT)
                }
            }
        }
        VulnCommand::History(a) => {
            let facility = store.resolve_facility(g.facility.as_deref()).await?;
            for h in store.vuln_history(facility.id, a.key.as_deref()).await? {
                println!(
                    "{} {} {} → {} ({}): {}",
                    h.changed_at,
                    h.key,
                    h.from_state.label_ja(),
                    h.to_state.label_ja(),
                    h.changed_by,
                    h.reason
                );
            }
            Ok(exit::OK)
        }
    }
}

async fn import(store: &mamori_store::Store, files: &[PathBuf], by: &str) -> Result<u8> {
    match app::import_feeds(store, files, by).await? {
        ImportOutcome::Refused(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("何も書き込んでいません / nothing was written");
            Ok(exit::INVALID_INPUT)
        }
        ImportOutcome::Written(reports) => {
            for r in reports {
                println!(
                    "{} ({}): {} 件 — 新規 {} 件、更新 {} 件、変更なし {} 件、古いため無視 {} 件、データ時点 {} / {} records: {} added, {} updated, {} unchanged, {} older ignored",
                    r.file,
                    r.feed.as_str(),
                    r.records,
                    r.counts.added,
                    r.counts.updated,
                    r.counts.unchanged,
                    r.counts.older_ignored,
                    r.data_as_of.as_deref().unwrap_or("-"),
                    r.records,
                    r.counts.added,
                    r.counts.updated,
                    r.counts.unchanged,
                    r.counts.older_ignored
                );
            }
            Ok(exit::OK)
        }
    }
}

async fn findings(g: &Global, store: &mamori_store::Store, a: FindingsArgs) -> Result<u8> {
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    if a.format == FindingsFormat::Xlsx && a.output.is_none() {
        anyhow::bail!("xlsx は --output でファイルを指定してください / give --output for xlsx");
    }
    let filter = FindingFilter {
        asset_no: a.device.clone(),
        states: if a.all { vec![] } else { vec![FindingState::Open] },
        kev_only: a.kev,
        include_absent: a.all,
        ..Default::default()
    };
    if a.limit.is_some_and(|n| n < 1) {
        anyhow::bail!("--limit は 1 以上で指定してください / --limit must be at least 1");
    }
    let counts = store.vuln_finding_counts(facility.id, &filter).await?;
    if a.summary || a.by_cve {
        let bytes = if a.summary {
            summary_bytes(&facility, &counts, a.format)?
        } else {
            let (_, cves) = store.vuln_findings_by_cve(facility.id, &filter, 0, a.limit.unwrap_or(i64::MAX)).await?;
            by_cve_bytes(&cves, a.format)?
        };
        match &a.output {
            Some(p) => crate::cmd_ledger::write_atomically(p, &bytes)?,
            None => std::io::Write::write_all(&mut std::io::stdout(), &bytes).context("stdout")?,
        }
        return Ok(exit::OK);
    }
    let total = a.limit.map_or(counts.total, |n| n.min(counts.total));
    if a.format == FindingsFormat::Xlsx && total > app::XLSX_MAX_ROWS {
        anyhow::bail!(
            "指摘が {total} 件あり、Excel の1シートに入る {max} 行を超えます。--format csv で書き出すか、--device / --kev で絞り込んでください / \
             {total} findings exceed the {max} rows of an Excel sheet: use --format csv, or narrow with --device / --kev",
            max = app::XLSX_MAX_ROWS
        );
    }
    // csv / json / text are written row by row as the store reads them (a facility of 10k devices
    // has millions of findings); xlsx (at most one sheet of rows) is built in memory.
    let (mut out, tmp): (Box<dyn std::io::Write + Send>, Option<PathBuf>) = match &a.output {
        Some(p) => {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let tmp = dir.join(format!(".{}.tmp", p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
            let f = std::fs::File::create(&tmp)
                .with_context(|| format!("{} に書き込めません / cannot write", tmp.display()))?;
            (Box::new(std::io::BufWriter::with_capacity(1 << 20, f)), Some(tmp))
        }
        None => (Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout())), None),
    };
    let written = write_findings(store, &facility, &filter, a.format, total, a.limit.map(|_| total), &mut out).await;
    let written = written.and_then(|()| out.flush().context("書き込めません / cannot write"));
    drop(out);
    match (written, &tmp, &a.output) {
        (Ok(()), Some(tmp), Some(p)) => {
            std::fs::rename(tmp, p).with_context(|| format!("{} に書き込めません / cannot write", p.display()))?
        }
        (Ok(()), _, _) => {}
        (Err(e), tmp, _) => {
            if let Some(t) = tmp {
                let _ = std::fs::remove_file(t);
            }
            return Err(e);
        }
    }
    if let Some(level) = a.fail_on {
        // Open findings the last scan still matched, within the filter given.
        let open = FindingFilter { states: vec![FindingState::Open], include_absent: false, ..filter.clone() };
        let count = |f: FindingFilter| async move { store.vuln_finding_counts(facility.id, &f).await.map(|c| c.total) };
        let kev = count(FindingFilter { kev_only: true, ..open.clone() }).await?;
        let hit = match level {
            FailOn::Kev => kev > 0,
            FailOn::Critical => kev > 0 || count(FindingFilter { min_score10: Some(90), ..open.clone() }).await? > 0,
            FailOn::High => kev > 0 || count(FindingFilter { min_score10: Some(70), ..open.clone() }).await? > 0,
            FailOn::Any => count(open.clone()).await? > 0,
        };
        if hit {
            return Ok(exit::FINDINGS);
        }
    }
    Ok(exit::OK)
}

/// Hands `f` the first page (when given) or every row the filter selects, as the store reads them.
async fn each_row(
    store: &mamori_store::Store,
    facility: &mamori_model::Facility,
    filter: &FindingFilter,
    first: &Option<Vec<app::FindingRow>>,
    f: &mut (dyn FnMut(app::FindingRow) -> std::io::Result<()> + Send),
) -> Result<()> {
    match first {
        Some(rows) => {
            for r in rows {
                f(r.clone())?;
            }
        }
        None => app::findings_each(store, facility, filter, f).await?,
    }
    Ok(())
}

async fn write_findings(
    store: &mamori_store::Store,
    facility: &mamori_model::Facility,
    filter: &FindingFilter,
    format: FindingsFormat,
    total: i64,
    limit: Option<i64>,
    out: &mut Box<dyn std::io::Write + Send>,
) -> Result<()> {
    // The first `limit` rows come from one page query; all rows from a stream.
    // (None: stream them; nothing to read when the counts say there is nothing.)
    let first: Option<Vec<app::FindingRow>> = match limit {
        _ if total == 0 => Some(Vec::new()),
        Some(n) => Some(app::findings_page(store, facility, filter, 0, n).await?),
        None => None,
    };
    match format {
        FindingsFormat::Xlsx => {
            let rows = match first.clone() {
                Some(rows) => rows,
                None => app::findings(store, facility, filter).await?,
            };
            out.write_all(&mamori_tabular::write_xlsx(
                "脆弱性診断結果",
                &app::EXPORT_HEADERS,
                &app::export_rows(&rows),
            )?)?;
        }
        FindingsFormat::Csv => {
            out.write_all(&app::csv_head())?;
            each_row(store, facility, filter, &first, &mut |r| {
                out.write_all(app::csv_line(&app::export_row(&r)).as_bytes())
            })
            .await?;
        }
        FindingsFormat::Json => {
            out.write_all(b"[")?;
            let mut lead = true;
            each_row(store, facility, filter, &first, &mut |r| {
                out.write_all(if lead { b"\n  " } else { b",\n  " })?;
                lead = false;
                serde_json::to_writer(&mut *out, &r).map_err(std::io::Error::other)
            })
            .await?;
            out.write_all(if lead { b"]\n" } else { b"\n]\n" })?;
        }
        FindingsFormat::Text => {
            let scan = store.vuln_last_scan(facility.id).await?;
            out.write_all(
                format!(
                    "{} — 脆弱性の指摘 {} 件 / {} findings（直近の診断 / last scan: {}）\n",
                    facility.data.name,
                    total,
                    total,
                    scan.map(|s| s.scanned_at).unwrap_or_else(|| "未実施 / never".into())
                )
                .as_bytes(),
            )?;
            each_row(store, facility, filter, &first, &mut |r| {
                let d = &r.f.data;
                let marks = format!(
                    "{}{}{}",
                    if d.ransomware {
                        "[KEV・ランサムウェア]"
                    } else if d.kev {
                        "[KEV]"
                    } else {
                        ""
                    },
                    if d.at_external_point { "[外部接続点]" } else { "" },
                    if r.f.state != FindingState::Open { format!("[{}]", r.f.state.label_ja()) } else { String::new() },
                );
                out.write_all(
                    format!(
                        "{marks} {} {} {} CVSS {:.1} {}{}\n      {}{}\n      key: {}\n",
                        d.asset_no,
                        r.hostname,
                        d.cve_id,
                        d.score10 as f64 / 10.0,
                        app::confidence_label(&d.confidence).0,
                        d.title_ja.as_deref().map(|t| format!(" — {t}")).unwrap_or_default(),
                        d.reason,
                        d.fixed_version.as_deref().map(|v| format!("（修正版 / fixed in {v}）")).unwrap_or_default(),
                        d.key
                    )
                    .as_bytes(),
                )
            })
            .await?;
        }
    }
    Ok(())
}

fn summary_bytes(
    facility: &mamori_model::Facility,
    c: &mamori_store::vuln::FindingCounts,
    format: FindingsFormat,
) -> Result<Vec<u8>> {
    Ok(match format {
        FindingsFormat::Json => serde_json::to_vec_pretty(c)?,
        FindingsFormat::Text => {
            let mut s = format!(
                "{} — 脆弱性の指摘 {} 件 / {} findings: KEV {}、ランサムウェア悪用 / ransomware {}、外部接続点 / external point {}\n",
                facility.data.name, c.total, c.total, c.kev, c.ransomware, c.external
            );
            s.push_str("優先度 / priority:\n");
            for (k, n) in &c.by_tier {
                let (ja, en) = app::tier_label(k);
                s.push_str(&format!("  {ja} / {en}: {n}\n"));
            }
            s.push_str("確度 / confidence:\n");
            for (k, n) in &c.by_confidence {
                let (ja, en) = app::confidence_label(k);
                s.push_str(&format!("  {ja} / {en}: {n}\n"));
            }
            s.push_str("状態 / state:\n");
            for (st, n) in &c.by_state {
                s.push_str(&format!("  {} / {}: {n}\n", st.label_ja(), st.label_en()));
            }
            s.into_bytes()
        }
        _ => anyhow::bail!("--summary は text か json で出力します / --summary prints text or json"),
    })
}

fn by_cve_bytes(cves: &[mamori_store::vuln::CveCount], format: FindingsFormat) -> Result<Vec<u8>> {
    Ok(match format {
        FindingsFormat::Json => serde_json::to_vec_pretty(cves)?,
        FindingsFormat::Csv => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            let head =
                ["CVE", "該当機器数", "KEV", "ランサムウェア悪用", "CVSS", "タイトル（JVN）"].map(str::to_string);
            out.extend_from_slice(app::csv_line(&head).as_bytes());
            for c in cves {
                let yes = |b: bool| if b { "はい" } else { "" }.to_string();
                let row = [
                    c.cve_id.clone(),
                    c.devices.to_string(),
                    yes(c.kev),
                    yes(c.ransomware),
                    format!("{:.1}", c.score10 as f64 / 10.0),
                    c.title_ja.clone().unwrap_or_default(),
                ];
                out.extend_from_slice(app::csv_line(&row).as_bytes());
            }
            out
        }
        FindingsFormat::Text => {
            let mut s = format!("CVE 別 {} 件 / {} CVEs（該当機器数 / devices affected）\n", cves.len(), cves.len());
            for c in cves {
                s.push_str(&format!(
                    "{}{} {:>6} 台 / devices  CVSS {:.1}{}\n",
                    if c.ransomware {
                        "[KEV・ランサムウェア] "
                    } else if c.kev {
                        "[KEV] "
                    } else {
                        ""
                    },
                    c.cve_id,
                    c.devices,
                    c.score10 as f64 / 10.0,
                    c.title_ja.as_deref().map(|t| format!(" — {t}")).unwrap_or_default()
                ));
            }
            s.into_bytes()
        }
        FindingsFormat::Xlsx => {
            anyhow::bail!("--by-cve は text / csv / json で出力します / --by-cve prints text, csv or json")
        }
    })
}

/// The real sample records shipped with the engine's tests (30 NVD records of the hospital incidents,
/// the matching CISA KEV entries, JVN iPedia documents), embedded for the demo hospital.
const DEMO_FEEDS: &[(&str, &[u8])] = &[
    ("CVE-2017-0144.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2017-0144.json")),
    ("CVE-2018-0171.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2018-0171.json")),
    ("CVE-2018-13379.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2018-13379.json")),
    ("CVE-2018-13382.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2018-13382.json")),
    ("CVE-2018-13383.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2018-13383.json")),
    ("CVE-2019-0708.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2019-0708.json")),
    ("CVE-2019-11510.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2019-11510.json")),
    ("CVE-2019-1653.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2019-1653.json")),
    ("CVE-2019-19781.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2019-19781.json")),
    ("CVE-2019-5591.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2019-5591.json")),
    ("CVE-2020-12812.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2020-12812.json")),
    ("CVE-2020-1472.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2020-1472.json")),
    ("CVE-2020-5902.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2020-5902.json")),
    ("CVE-2021-20016.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2021-20016.json")),
    ("CVE-2021-26855.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2021-26855.json")),
    ("CVE-2021-34527.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2021-34527.json")),
    ("CVE-2021-44228.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2021-44228.json")),
    ("CVE-2022-1388.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2022-1388.json")),
    ("CVE-2022-26134.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2022-26134.json")),
    ("CVE-2022-40684.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2022-40684.json")),
    ("CVE-2022-42475.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2022-42475.json")),
    ("CVE-2023-20198.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2023-20198.json")),
    ("CVE-2023-27997.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2023-27997.json")),
    ("CVE-2023-3519.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2023-3519.json")),
    ("CVE-2023-46805.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2023-46805.json")),
    ("CVE-2023-4966.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2023-4966.json")),
    ("CVE-2024-21762.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2024-21762.json")),
    ("CVE-2024-21887.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2024-21887.json")),
    ("CVE-2024-3400.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2024-3400.json")),
    ("CVE-2024-55591.json", include_bytes!("../../mamori-vuln/tests/fixtures/nvd/records/CVE-2024-55591.json")),
    ("kev_subset.json", include_bytes!("../../mamori-vuln/tests/fixtures/kev/kev_subset.json")),
    ("jvndb_detail_2021.rdf", include_bytes!("../../mamori-vuln/tests/fixtures/jvn/jvndb_detail_2021.rdf")),
    ("jvndb_detail_2022.rdf", include_bytes!("../../mamori-vuln/tests/fixtures/jvn/jvndb_detail_2022.rdf")),
    ("jvndb_detail_2023.rdf", include_bytes!("../../mamori-vuln/tests/fixtures/jvn/jvndb_detail_2023.rdf")),
    (
        "dataFeed_jvndb_detail_hnd.xml",
        include_bytes!("../../mamori-vuln/tests/fixtures/jvn/dataFeed_jvndb_detail_hnd.xml"),
    ),
    (
        "getVulnDetailInfo_hnd_JVNDB-2021-002774.xml",
        include_bytes!("../../mamori-vuln/tests/fixtures/jvn/getVulnDetailInfo_hnd_JVNDB-2021-002774.xml"),
    ),
    (
        "getVulnDetailInfo_hnd_JVNDB-2022-000097.xml",
        include_bytes!("../../mamori-vuln/tests/fixtures/jvn/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"),
    ),
];

/// Demo data of this capability (called by `mamori demo` after the ledgers are in): imports the real
/// sample records and scans, so the demo hospital's FortiGate 60E (FortiOS 6.0.4) VPN gateway, its Pulse
/// Connect Secure 9.0R3.3 and its old Windows servers show their findings.
pub async fn seed_demo(store: &mamori_store::Store, facility: &mamori_model::Facility) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("mamori-demo-feeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut paths = Vec::new();
    for (name, bytes) in DEMO_FEEDS {
        let p = dir.join(name);
        std::fs::write(&p, bytes)?;
        paths.push(p);
    }
    let outcome = app::import_feeds(store, &paths, "demo").await;
    let _ = std::fs::remove_dir_all(&dir);
    if let ImportOutcome::Refused(p) = outcome? {
        anyhow::bail!("demo feeds did not import: {}", p.join("\n"));
    }
    app::scan(store, facility, "demo").await?;
    Ok(())
}
