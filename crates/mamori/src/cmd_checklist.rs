//! `mamori checklist …` and `mamori gmis …`: the checklist and the G-MIS survey.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use mamori_app::checklist::{self as cl, AnswerInput, FormRef, Problem, SheetFormat};
use mamori_catalog::checklist::FormKind;
use mamori_model::Facility;
use mamori_store::Store;

use crate::cmd_ledger::{open, write_atomically};
use crate::{Global, exit};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormArg {
    /// 医療機関確認用
    Hospital,
    /// 事業者確認用（事業者ごと）
    Vendor,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportArg {
    Xlsx,
    Pdf,
    Csv,
}

impl From<ExportArg> for SheetFormat {
    fn from(a: ExportArg) -> Self {
        match a {
            ExportArg::Xlsx => SheetFormat::Xlsx,
            ExportArg::Pdf => SheetFormat::Pdf,
            ExportArg::Csv => SheetFormat::Csv,
        }
    }
}

/// Which form copy: edition, form, vendor.
#[derive(Args, Debug, Clone)]
pub struct FormSel {
    /// 版（既定: 最新の公表版）/ edition id, e.g. r6-2024 (default: the newest official one)
    #[arg(long)]
    pub edition: Option<String>,
    /// 様式 / form
    #[arg(long, value_enum, default_value = "hospital")]
    pub form: FormArg,
    /// 事業者名（事業者確認用）/ vendor name of a vendor form, as in the vendor ledger
    #[arg(long)]
    pub vendor: Option<String>,
}

impl FormSel {
    fn form_ref(&self) -> Result<FormRef> {
        let ed = cl::edition(self.edition.as_deref())?;
        Ok(match self.form {
            FormArg::Hospital => {
                FormRef { edition: ed.id, kind: FormKind::Hospital, vendor: self.vendor.clone().unwrap_or_default() }
            }
            FormArg::Vendor => {
                FormRef { edition: ed.id, kind: FormKind::Vendor, vendor: self.vendor.clone().unwrap_or_default() }
            }
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum ChecklistCommand {
    /// チェックリストを表示する（回答・根拠・記入不要）/ show the checklist with answers and evidence
    Show {
        #[command(flatten)]
        sel: FormSel,
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// 回答する（1項目、または --file でCSV一括）/ answer one item, or many from a CSV file (all or nothing)
    Answer(AnswerArgs),
    /// 回答の変更履歴（誰が・いつ・何を）/ history of the answers (who, when, what)
    History {
        /// 項目ID または一意な番号（省略時は様式の全項目）/ item id or unique number (default: every item)
        item: Option<String>,
        #[command(flatten)]
        sel: FormSel,
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// 立入検査への準備状況（未回答・期限超過・連絡体制図・年1回の確認）/ inspection readiness
    Readiness {
        #[arg(long)]
        edition: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// 公式様式で書き出す（xlsx / pdf / csv）/ export in the official layout
    Export {
        #[arg(long, value_enum)]
        format: ExportArg,
        /// 出力先 / output file
        #[arg(long, short)]
        output: PathBuf,
        #[arg(long)]
        edition: Option<String>,
        /// この様式だけ（既定: 医療機関確認用と全事業者の事業者確認用）/ only this form (default: all form copies)
        #[arg(long, value_enum)]
        form: Option<FormArg>,
        #[arg(long)]
        vendor: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct AnswerArgs {
    /// 項目ID（h-2-7-server）または一意な番号（2-(1)）/ item id or unique number
    pub item: Option<String>,
    #[command(flatten)]
    pub sel: FormSel,
    /// 回（1回目 / 2回目）/ round
    #[arg(long, default_value_t = 1)]
    pub round: u8,
    /// はい
    #[arg(long, conflicts_with_all = ["no", "clear"])]
    pub yes: bool,
    /// いいえ
    #[arg(long, conflicts_with_all = ["yes", "clear"])]
    pub no: bool,
    /// この回の回答を消す / clear this round
    #[arg(long)]
    pub clear: bool,
    /// 確認日（既定: 今日）/ date checked (default: today)
    #[arg(long)]
    pub date: Option<String>,
    /// 対応目標日（1回目が いいえ のとき必須、同じ年度内）/ target date (required for No, same fiscal year)
    #[arg(long)]
    pub target: Option<String>,
    /// 備考 / remarks
    #[arg(long)]
    pub remarks: Option<String>,
    /// CSV一括回答（見出し: item,round,answer,date,target,remarks）/ bulk answers from CSV
    #[arg(long, conflicts_with = "item")]
    pub file: Option<PathBuf>,
    /// 記入者（既定: OSのユーザ名）/ who answers (default: the OS user)
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum GmisCommand {
    /// G-MIS調査を表示する（回答・分岐・根拠）/ show the survey with answers, skips and evidence
    Show {
        #[arg(long)]
        survey: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// 回答する: mamori gmis answer 5 はい（空文字で取り消し）/ answer a question (empty clears)
    Answer {
        /// 設問番号またはID（5 / q5）/ question number or id
        question: String,
        /// 回答（はい / いいえ / 記述）/ the answer
        answer: String,
        #[arg(long)]
        survey: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
    /// 根拠付きで書き出す（xlsx / csv）/ export the answers with their evidence
    Export {
        #[arg(long, value_enum)]
        format: ExportArg,
        #[arg(long, short)]
        output: PathBuf,
        #[arg(long)]
        survey: Option<String>,
    },
}

fn who(by: Option<&str>) -> String {
    by.map(str::to_string)
        .unwrap_or_else(|| format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into())))
}

fn date_arg(s: Option<&str>, what: &str) -> Result<Option<NaiveDate>, Problem> {
    cl::parse_date_opt(s.unwrap_or("")).map_err(|v| Problem {
        item: String::new(),
        ja: format!("{what}「{v}」を日付として読めません（例: 2024-06-10、令和6年6月10日）"),
        en: format!("{what} {v:?} is not a date"),
    })
}

fn refuse(problems: &[Problem]) -> u8 {
    eprintln!("受け付けませんでした（何も書き込んでいません）/ refused, nothing was written:");
    for p in problems {
        eprintln!("  {p}");
    }
    exit::INVALID_INPUT
}

fn yn(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "はい",
        Some(false) => "いいえ",
        None => "－",
    }
}

fn od(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "－".into())
}

pub async fn checklist(g: &Global, c: ChecklistCommand) -> Result<u8> {
    let store = open(g).await?;
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    let today = cl::today_jst();
    match c {
        ChecklistCommand::Show { sel, format } => show(&store, &facility, &sel, format, today).await,
        ChecklistCommand::Answer(a) => answer(&store, &facility, a, today).await,
        ChecklistCommand::History { item, sel, format } => {
            let form = sel.form_ref()?;
            let ed = cl::edition(Some(&form.edition))?;
            let facts = cl::facts(&store, &facility).await?;
            if let Err(p) = cl::check_form(&ed, &facts, &form) {
                return Ok(refuse(&[p]));
            }
            let f = ed.form(form.kind).expect("checked by check_form");
            let item_id = match item.as_deref().map(|i| cl::find_item(f, i)) {
                None => None,
                Some(Ok(i)) => Some(i.id.clone()),
                Some(Err(p)) => return Ok(refuse(&[p])),
            };
            let h = store.checklist_history(facility.id, &form.key(), item_id.as_deref()).await?;
            if format == ShowFormat::Json {
                println!("{}", serde_json::to_string_pretty(&h)?);
            } else {
                for c in &h {
                    println!("{}\t{}\t{}\t{} → {}", c.changed_at, c.changed_by, c.item_id, c.before, c.after);
                }
            }
            Ok(exit::OK)
        }
        ChecklistCommand::Readiness { edition, format } => {
            let r = cl::readiness_of(&store, &facility, edition.as_deref(), today).await?;
            if format == ShowFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(exit::OK);
            }
            println!(
                "{} 立入検査への準備 / inspection readiness（{}、{}）",
                facility.data.name, r.edition_label, r.today
            );
            println!(
                "  {}",
                if r.ready {
                    "準備できています / ready"
                } else {
                    "まだ準備が必要です / not ready yet"
                }
            );
            for (_, title, answered, applicable) in &r.forms {
                println!("  {title}: 1回目 回答 {answered}/{applicable}");
            }
            for d in &r.documents {
                let state = if d.ok { "あり / present" } else { "未確認 / not shown by mamori's data" };
                println!("  {}（{}）: {state} {}", d.title, d.item, d.reason_ja);
            }
            println!("  未回答 / missing: {}", r.missing.len());
            for (_, title, _, _) in &r.forms {
                let items: Vec<String> =
                    r.missing
                        .iter()
                        .filter(|m| &m.form_title == title)
                        .map(|m| {
                            if m.target.is_empty() {
                                m.number.clone()
                            } else {
                                format!("{}［{}］", m.number, m.target)
                            }
                        })
                        .collect();
                if !items.is_empty() {
                    println!("    {title}: {}", items.join(" "));
                }
            }
            println!("  期限超過 / overdue: {}", r.overdue.len());
            for m in &r.overdue {
                println!("    {} {} {} 目標日 {}", m.form_title, m.number, m.target, od(m.target_date));
            }
            println!("  根拠との不一致 / disagreements with evidence: {}", r.disagreements);
            println!("  最終確認日 / last checked: {}", od(r.last_checked));
            if r.reminder_due {
                println!(
                    "  ！ 12か月以内の確認がありません（少なくとも年1回確認してください）/ no check within 12 months"
                );
            }
            Ok(exit::OK)
        }
        ChecklistCommand::Export { format, output, edition, form, vendor } => {
            let only = match form {
                None => None,
                Some(f) => Some(FormSel { edition: edition.clone(), form: f, vendor: vendor.clone() }.form_ref()?),
            };
            if let Some(f) = &only {
                let ed = cl::edition(Some(&f.edition))?;
                let facts = cl::facts(&store, &facility).await?;
                if let Err(p) = cl::check_form(&ed, &facts, f) {
                    return Ok(refuse(&[p]));
                }
            }
            let started = std::time::Instant::now();
            let bytes = cl::export(&store, &facility, edition.as_deref(), only.as_ref(), format.into(), today).await?;
            write_atomically(&output, &bytes)?;
            eprintln!(
                "{} を書き出しました（{} バイト、{:.0} ms）/ written",
                output.display(),
                bytes.len(),
                started.elapsed().as_secs_f64() * 1000.0
            );
            Ok(exit::OK)
        }
    }
}

async fn show(store: &Store, facility: &Facility, sel: &FormSel, format: ShowFormat, today: NaiveDate) -> Result<u8> {
    let form = sel.form_ref()?;
    let ed = cl::edition(Some(&form.edition))?;
    let facts = cl::facts(store, facility).await?;
    if let Err(p) = cl::check_form(&ed, &facts, &form) {
        return Ok(refuse(&[p]));
    }
    let evidence = mamori_app::evidence::collect(store, facility, today).await?;
    let v = cl::form_view(store, facility, &form, &evidence, today).await?;
    if format == ShowFormat::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    println!("{} {}（{}）— {}", v.edition_label, v.title, v.form_title, facility.data.name);
    if form.kind == FormKind::Hospital && facts.has_vendor_contract() && ed.form(FormKind::Vendor).is_some() {
        println!("事業者確認用 / vendor forms: {}", facts.contracted_vendors.join("、"));
    }
    let mut section = String::new();
    for i in &v.items {
        if i.section_number != section {
            section = i.section_number.clone();
            println!("\n[{}] {}", i.section_number, i.section_title);
        }
        let r5 = if i.item.r5 { "※" } else { "  " };
        let target = i.item.target.map(|t| format!("［{}］", t.label())).unwrap_or_default();
        println!("{r5} {:<16} {} {}{}", i.item.id, i.item.number, target, i.item.text);
        if let Some(na) = i.not_applicable {
            println!("      {}", na.label_ja());
            continue;
        }
        let a = &i.answer;
        println!(
            "      1回目 {} {}  目標日 {}  2回目 {} {}{}{}",
            yn(a.r1),
            od(a.r1_date),
            od(a.target),
            yn(a.r2),
            od(a.r2_date),
            if a.remarks.is_empty() { String::new() } else { format!("  備考: {}", a.remarks.replace('\n', " ")) },
            if i.overdue { "  ！期限超過 / overdue" } else { "" }
        );
        for e in &i.evidence {
            let sug = e.suggests.map(|b| format!("（示唆: {}）", yn(Some(b)))).unwrap_or_default();
            let dis = if i.current().is_some_and(|c| e.disagrees_with(c)) {
                "  ！回答と不一致 / disagrees"
            } else {
                ""
            };
            println!("      根拠[{}] {}{sug}{dis}", e.source, e.reason_ja);
        }
        for s in &i.awaiting {
            println!("      根拠[{s}] まだ根拠がありません / no evidence yet");
        }
    }
    Ok(exit::OK)
}

async fn answer(store: &Store, facility: &Facility, a: AnswerArgs, today: NaiveDate) -> Result<u8> {
    let form = a.sel.form_ref()?;
    let inputs = if let Some(file) = &a.file {
        let bytes =
            std::fs::read(file).with_context(|| format!("{} を読めません / cannot read the file", file.display()))?;
        match cl::parse_answer_csv(&bytes) {
            Ok(v) => v,
            Err(p) => return Ok(refuse(&p)),
        }
    } else {
        let Some(item) = a.item.clone() else {
            bail!("項目（例: 2-(1)）か --file を指定してください / give an item or --file");
        };
        let answer = match (a.yes, a.no, a.clear) {
            (true, _, _) => Some(true),
            (_, true, _) => Some(false),
            (_, _, true) => None,
            _ => {
                bail!("--yes（はい）、--no（いいえ）、--clear のどれかを指定してください / give --yes, --no or --clear")
            }
        };
        let mut problems = Vec::new();
        let date = match date_arg(a.date.as_deref(), "確認日") {
            Ok(d) => d.or((answer.is_some()).then_some(today)),
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let target = date_arg(a.target.as_deref(), "目標日").unwrap_or_else(|p| {
            problems.push(p);
            None
        });
        if !problems.is_empty() {
            return Ok(refuse(&problems));
        }
        vec![AnswerInput { item, round: a.round, answer, date, target, remarks: a.remarks.clone() }]
    };
    match cl::answer(store, facility, &form, &inputs, &who(a.by.as_deref()), today).await? {
        Ok(n) => {
            println!("{n} 項目を更新しました / {n} item(s) updated");
            Ok(exit::OK)
        }
        Err(p) => Ok(refuse(&p)),
    }
}

pub async fn gmis(g: &Global, c: GmisCommand) -> Result<u8> {
    let store = open(g).await?;
    let facility = store.resolve_facility(g.facility.as_deref()).await?;
    let today = cl::today_jst();
    match c {
        GmisCommand::Show { survey, format } => {
            let evidence = mamori_app::evidence::collect(&store, &facility, today).await?;
            let v = cl::gmis_view(&store, &facility, survey.as_deref(), &evidence).await?;
            if format == ShowFormat::Json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(exit::OK);
            }
            println!("{} — {}", v.title, facility.data.name);
            let mut section = String::new();
            for q in &v.questions {
                if q.section_title != section {
                    section = q.section_title.clone();
                    println!("\n{section}");
                }
                println!("{:>2}. {}", q.question.number, q.question.text);
                if !q.applicable {
                    println!("    回答不要（分岐）/ skipped by the survey's rules");
                    continue;
                }
                println!("    回答: {}", q.answer.as_deref().unwrap_or("（未回答）"));
                for e in &q.evidence {
                    println!("    根拠[{}] {}", e.source, e.reason_ja);
                }
                if let Some(s) = &q.suggestion {
                    println!(
                        "    示唆される回答 / suggested: {s}{}",
                        if q.disagreement { "  ！回答と不一致" } else { "" }
                    );
                }
                for s in &q.awaiting {
                    println!("    根拠[{s}] まだ根拠がありません / no evidence yet");
                }
            }
            match &v.next {
                Some(n) => println!("\n次に回答する設問 / next: {n}"),
                None => println!("\nすべての設問に回答済みです / complete"),
            }
            Ok(exit::OK)
        }
        GmisCommand::Answer { question, answer, survey, by } => {
            match cl::gmis_answer(&store, &facility, survey.as_deref(), &[(question, answer)], &who(by.as_deref()))
                .await?
            {
                Ok(n) => {
                    println!("{n} 件を更新しました / {n} answer(s) changed");
                    Ok(exit::OK)
                }
                Err(p) => Ok(refuse(&p)),
            }
        }
        GmisCommand::Export { format, output, survey } => {
            let bytes = cl::gmis_export(&store, &facility, survey.as_deref(), format.into(), today).await?;
            write_atomically(&output, &bytes)?;
            eprintln!("{} を書き出しました / written", output.display());
            Ok(exit::OK)
        }
    }
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in): a realistic, partly
/// answered 1st round of the hospital's form in the current fiscal year, one vendor's form answered by that
/// vendor, and the first G-MIS answers — so the readiness view has something to say.
pub async fn seed_demo(store: &Store, facility: &Facility) -> Result<()> {
    let today = cl::today_jst();
    let ed = cl::edition(None)?;
    let (fy_start, _) = cl::fiscal_year_range(today);
    // The 1st round was done early in the fiscal year (or yesterday when the year just began).
    let first = (fy_start + chrono::Days::new(70)).min(today - chrono::Days::new(1));
    let (_, fy_end) = cl::fiscal_year_range(first);
    let yes = |item: &str| AnswerInput {
        item: item.into(),
        round: 1,
        answer: Some(true),
        date: Some(first),
        ..Default::default()
    };
    let no = |item: &str, target: NaiveDate, remarks: &str| AnswerInput {
        item: item.into(),
        round: 1,
        answer: Some(false),
        date: Some(first),
        target: Some(target),
        remarks: Some(remarks.into()),
    };
    let overdue_target = (first + chrono::Days::new(30)).min(fy_end);
    let inputs = vec![
        yes("h-0"),
        yes("h-1-1"),
        yes("h-2-1"),
        yes("h-2-2"),
        no("h-2-3", fy_end, "主要4社に提出を依頼済み"),
        yes("h-2-4-server"),
        // The ledger shows retired accounts still present: the evidence disagrees with this はい.
        yes("h-2-5-server"),
        yes("h-2-6-server"),
        no("h-2-7-server", overdue_target, "Windows Server 2012 R2 の更新を計画中"),
        yes("h-2-4-pc"),
        no("h-2-7-pc", fy_end, "Windows 10 端末の入替を予定"),
        yes("h-2-8-network"),
        yes("h-3-1"),
    ];
    match cl::answer(store, facility, &FormRef::hospital(&ed.id), &inputs, "demo", today).await? {
        Ok(_) => {}
        Err(p) => {
            bail!("demo checklist answers refused: {}", p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))
        }
    }
    // One vendor answered its own form; the others have not yet.
    let facts = cl::facts(store, facility).await?;
    if let Some(vendor) = facts.contracted_vendors.first() {
        let v = vec![yes("v-1-1"), yes("v-2-2"), yes("v-2-3"), yes("v-2-4-server"), yes("v-2-5-server")];
        match cl::answer(store, facility, &FormRef::vendor(&ed.id, vendor), &v, &format!("demo:{vendor}"), today)
            .await?
        {
            Ok(_) => {}
            Err(p) => {
                bail!("demo vendor answers refused: {}", p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))
            }
        }
    }
    let g: Vec<(String, String)> = [
        ("q1", "情報システム課 みまもり太郎 042-000-0000"),
        ("q2", "はい"),
        ("q3", "はい"),
        ("q4", "いいえ"),
        ("q5", "はい"),
        ("q6", "はい"),
        ("q7", "はい"),
    ]
    .iter()
    .map(|(q, a)| (q.to_string(), a.to_string()))
    .collect();
    match cl::gmis_answer(store, facility, None, &g, "demo").await? {
        Ok(_) => Ok(()),
        Err(p) => {
            bail!("demo G-MIS answers refused: {}", p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))
        }
    }
}
