//! `mamori contacts …` and `mamori bcp …`: contacts, the contact chart, training records, the BCP.

use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use mamori_app::bcp as app;
use mamori_model::audit::{AuditCategory, NewAuditEntry};
use mamori_model::ledger::{InfoSystem, Vendor};
use mamori_model::{Facility, date};
use mamori_store::Store;
use mamori_store::bcp::{Contact, ContactKind, Training};
use mamori_tabular::ReadOptions;

use crate::cmd_ledger::{ExportFormat, open, write_atomically};
use crate::{Global, exit};

#[derive(Subcommand, Debug)]
pub enum ContactsCommand {
    /// 連絡先を表示する / list the contacts
    List {
        /// JSON で出力 / print JSON
        #[arg(long)]
        json: bool,
    },
    /// 連絡先を追加・更新する（同じIDなら更新）/ add a contact, or update the one with this ID
    Add(ContactArgs),
    /// 連絡先を削除する / remove a contact
    Remove {
        /// 連絡先ID / contact ID
        id: String,
    },
    /// 外部関係機関の既定の一覧（厚生労働省・警察・IPA 等）を追加する / add the default external bodies
    AddDefaults {
        /// 外部関係機関へ連絡する院内の連絡先ID / the internal contact who calls them
        #[arg(long)]
        contacted_by: Option<String>,
    },
    /// 連絡先ファイル（CSV / .xlsx）で一覧を置き換える（全件正常なときだけ）/ replace the list from a file, all or nothing
    Import {
        file: PathBuf,
        /// 確認だけして書き込まない（何が変わるかを表示）/ check only and show what would change
        #[arg(long)]
        dry_run: bool,
        /// ファイルにない連絡先を残す（既定はファイルで一覧を置き換える）/ keep contacts not in the file (default: the file replaces the list)
        #[arg(long)]
        merge: bool,
    },
    /// 連絡先を書き出す / export the contacts
    Export {
        #[arg(long, default_value = "csv")]
        format: ExportFormat,
        /// 出力先（既定: 標準出力）/ output file (default: stdout)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// 連絡体制図（SVG / A4 PDF）/ the contact chart as SVG or a one-page A4 PDF
    Chart {
        #[arg(long, default_value = "pdf")]
        format: ChartFormat,
        /// 出力先 / output file
        #[arg(long, short)]
        output: PathBuf,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    Svg,
    Pdf,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Pdf,
    Docx,
}

#[derive(Args, Debug, Clone)]
pub struct ContactArgs {
    /// 連絡先ID（例: ciso, v-ehr）/ contact ID
    #[arg(long)]
    pub id: String,
    /// 区分: 院内 / 事業者 / 外部関係機関（internal / vendor / external）
    #[arg(long, default_value = "internal")]
    pub kind: String,
    /// 役割（例: 医療情報システム安全管理責任者）/ role
    #[arg(long)]
    pub role: String,
    /// 部署・窓口 / department or desk
    #[arg(long, default_value = "")]
    pub department: String,
    /// 氏名・名称 / name
    #[arg(long, default_value = "")]
    pub name: String,
    #[arg(long, default_value = "")]
    pub phone: String,
    /// 時間外・緊急連絡先 / after-hours number
    #[arg(long, default_value = "")]
    pub after_hours: String,
    #[arg(long, default_value = "")]
    pub email: String,
    /// 連絡目的 / purpose
    #[arg(long, default_value = "")]
    pub purpose: String,
    /// 連絡順 / order of contact (1 = first)
    #[arg(long)]
    pub order: Option<String>,
    /// 報告先ID / reports to (ID of an internal contact)
    #[arg(long, default_value = "")]
    pub reports_to: String,
    /// 連絡担当ID / contacted by (ID of an internal contact)
    #[arg(long, default_value = "")]
    pub contacted_by: String,
    /// 対象システム（医療情報システム一覧の名前、「、」区切り）/ systems
    #[arg(long, default_value = "")]
    pub systems: String,
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Subcommand, Debug)]
pub enum BcpCommand {
    /// BCP策定の確認表を回答・根拠とともに表示する / show the confirmation table with answers and evidence
    Show {
        #[arg(long)]
        json: bool,
    },
    /// 確認欄に回答する / answer one check point
    Answer {
        /// 確認項目（例: 1-2-1）/ check id
        check: String,
        /// はい / いいえ / 未回答
        value: String,
        /// 備考 / note
        #[arg(long, default_value = "")]
        note: String,
    },
    /// BCP文書（PDF / 編集できる .docx）を作成する / write the BCP document
    Export {
        #[arg(long, default_value = "pdf")]
        format: DocFormat,
        #[arg(long, short)]
        output: PathBuf,
    },
    /// 訓練記録 / training records
    #[command(subcommand)]
    Training(TrainingCommand),
}

#[derive(Subcommand, Debug)]
pub enum TrainingCommand {
    /// 訓練を記録する / record a training
    Add {
        /// 実施日（2025-10-01、令和7年10月1日 など）/ date held
        #[arg(long)]
        date: String,
        /// シナリオ / scenario
        #[arg(long)]
        scenario: String,
        /// 参加者 / participants
        #[arg(long, default_value = "")]
        participants: String,
        /// 結果・課題 / findings
        #[arg(long, default_value = "")]
        findings: String,
        /// 改善計画 / improvement plan
        #[arg(long, default_value = "")]
        plan: String,
    },
    /// 訓練記録を表示する（1年以上なければ知らせる）/ list the trainings (with the yearly reminder)
    List,
}

fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "?".into()))
}

async fn log(store: &Store, category: AuditCategory, operation: &str, target: &str, f: &Facility) -> Result<()> {
    store
        .append_audit(&NewAuditEntry {
            user_login: cli_actor(),
            user_name: String::new(),
            category,
            operation: operation.into(),
            target: target.into(),
            facility_id: Some(f.id),
            source: "cli".into(),
        })
        .await?;
    Ok(())
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn print_issues(issues: &[app::ContactIssue]) {
    for i in issues {
        eprintln!("エラー / error: {i}");
    }
}

fn contact_from_args(a: &ContactArgs) -> std::result::Result<Contact, Vec<app::ContactIssue>> {
    let mut issues = Vec::new();
    let get = |k: &str| -> String {
        match k {
            "code" => a.id.clone(),
            "kind" => a.kind.clone(),
            "role" => a.role.clone(),
            "department" => a.department.clone(),
            "name" => a.name.clone(),
            "phone" => a.phone.clone(),
            "after_hours" => a.after_hours.clone(),
            "email" => a.email.clone(),
            "purpose" => a.purpose.clone(),
            "order" => a.order.clone().unwrap_or_default(),
            "reports_to" => a.reports_to.clone(),
            "contacted_by" => a.contacted_by.clone(),
            "systems" => a.systems.clone(),
            "note" => a.note.clone(),
            _ => String::new(),
        }
    };
    let c = app::contact_from_fields(get, None, &mut issues);
    if issues.is_empty() { Ok(c) } else { Err(issues) }
}

pub async fn contacts(g: &Global, c: ContactsCommand) -> Result<u8> {
    let store = open(g).await?;
    let f = store.resolve_facility(g.facility.as_deref()).await?;
    match c {
        ContactsCommand::List { json } => {
            let list = store.contacts(f.id).await?;
            log(&store, AuditCategory::View, "連絡先を表示", &format!("{}件", list.len()), &f).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(exit::OK);
            }
            if list.is_empty() {
                println!("連絡先がまだありません。mamori contacts add / import で登録してください / no contacts yet");
            }
            for k in ContactKind::ALL {
                let of: Vec<&Contact> = list.iter().filter(|c| c.kind == k).collect();
                if of.is_empty() {
                    continue;
                }
                println!("■ {}（{}件）", k.label_ja(), of.len());
                for c in of {
                    let order = c.order.map(|o| format!("[{o}] ")).unwrap_or_default();
                    println!(
                        "  {order}{}  {}  {} {}  {}{}",
                        c.code,
                        c.role,
                        c.department,
                        c.name,
                        [c.phone.as_str(), c.email.as_str()]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(" / "),
                        if c.reports_to.is_empty() {
                            String::new()
                        } else {
                            format!("  → 報告先 {}", c.reports_to)
                        }
                    );
                }
            }
            Ok(exit::OK)
        }
        ContactsCommand::Add(a) => {
            let contact = match contact_from_args(&a) {
                Ok(c) => c,
                Err(issues) => {
                    print_issues(&issues);
                    return Ok(exit::INVALID_INPUT);
                }
            };
            match app::save_contact(&store, &f, contact.clone(), None, &cli_actor()).await? {
                Ok(()) => {
                    log(&store, AuditCategory::Change, "連絡先を保存", &contact.code, &f).await?;
                    println!("連絡先「{}」を保存しました / saved", contact.code);
                    Ok(exit::OK)
                }
                Err(issues) => {
                    print_issues(&issues);
                    Ok(exit::INVALID_INPUT)
                }
            }
        }
        ContactsCommand::Remove { id } => match app::delete_contact(&store, &f, &id).await? {
            Ok(true) => {
                log(&store, AuditCategory::Change, "連絡先を削除", &id, &f).await?;
                println!("連絡先「{id}」を削除しました / removed");
                Ok(exit::OK)
            }
            Ok(false) => bail!("連絡先「{id}」はありません（mamori contacts list で確認）/ no contact {id:?}"),
            Err(why) => {
                eprintln!("エラー / error: {why}");
                Ok(exit::INVALID_INPUT)
            }
        },
        ContactsCommand::AddDefaults { contacted_by } => {
            let mut list = store.contacts(f.id).await?;
            let mut added = 0;
            for b in app::default_external_bodies(contacted_by.as_deref().unwrap_or(""))? {
                if !list.iter().any(|c| c.code == b.code) {
                    list.push(b);
                    added += 1;
                }
            }
            let systems: Vec<String> = store.list::<InfoSystem>(f.id).await?.into_iter().map(|s| s.name).collect();
            let issues = app::check_contacts(&list, &[], &systems);
            if !issues.is_empty() {
                print_issues(&issues);
                return Ok(exit::INVALID_INPUT);
            }
            store.replace_contacts(f.id, &list, &cli_actor()).await?;
            log(&store, AuditCategory::Change, "外部関係機関の既定の連絡先を追加", &format!("{added}件"), &f).await?;
            println!("外部関係機関を {added} 件追加しました（番号が空の機関は記入してください）/ added {added}");
            Ok(exit::OK)
        }
        ContactsCommand::Import { file, dry_run, merge } => {
            let table = mamori_tabular::read_file(&file, &ReadOptions::default())?;
            let mode = if merge { app::ContactImportMode::Merge } else { app::ContactImportMode::Replace };
            let r = app::import_contacts(&store, &f, table, mode, dry_run, &cli_actor()).await?;
            if !r.issues.is_empty() {
                print_issues(&r.issues);
                eprintln!(
                    "{} 件の問題があるため、何も書き込んでいません / {} problems: nothing was written",
                    r.issues.len(),
                    r.issues.len()
                );
                return Ok(exit::INVALID_INPUT);
            }
            let codes = |label: &str, v: &[String]| {
                if !v.is_empty() {
                    println!("  {label}: {}", v.join(", "));
                }
            };
            if r.written {
                log(
                    &store,
                    AuditCategory::Change,
                    "連絡先を取り込み",
                    &format!("{}件 {} {}", r.rows, r.file, r.summary()),
                    &f,
                )
                .await?;
                match mode {
                    app::ContactImportMode::Replace => println!(
                        "連絡先 {} 件で一覧を置き換えました / replaced the list with {} contacts",
                        r.rows, r.rows
                    ),
                    app::ContactImportMode::Merge => {
                        println!("連絡先 {} 件を一覧に反映しました / merged {} contacts into the list", r.rows, r.rows)
                    }
                }
            } else {
                println!("確認のみ: {} 件、問題なし / dry run: {} contacts, no problems", r.rows, r.rows);
            }
            println!("{}", r.summary());
            codes("追加 / added", &r.added);
            codes("変更 / changed", &r.changed);
            codes("削除 / removed", &r.removed);
            Ok(exit::OK)
        }
        ContactsCommand::Export { format, output } => {
            if format == ExportFormat::Xlsx && output.is_none() {
                bail!("xlsx は --output でファイルを指定してください / give --output for xlsx");
            }
            let bytes = app::export_contacts(&store, f.id, format.into()).await?;
            log(&store, AuditCategory::Export, "連絡先を書き出し", &format!("{format:?}"), &f).await?;
            match output {
                Some(p) => write_atomically(&p, &bytes)?,
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(exit::OK)
        }
        ContactsCommand::Chart { format, output } => {
            let bytes = match format {
                ChartFormat::Svg => app::chart_svg(&store, &f).await?.into_bytes(),
                ChartFormat::Pdf => app::chart_pdf(&store, &f).await?,
            };
            write_atomically(&output, &bytes)?;
            log(&store, AuditCategory::Export, "連絡体制図を出力", &format!("{format:?}"), &f).await?;
            println!("連絡体制図を書き出しました / wrote the contact chart: {}", output.display());
            Ok(exit::OK)
        }
    }
}

pub async fn bcp(g: &Global, c: BcpCommand) -> Result<u8> {
    let store = open(g).await?;
    let f = store.resolve_facility(g.facility.as_deref()).await?;
    match c {
        BcpCommand::Show { json } => {
            let a = app::assessment(&store, &f, today()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&a)?);
                return Ok(exit::OK);
            }
            println!("{}（{}）", a.title, f.data.name);
            println!("はい {} / いいえ {} / 未回答 {}（全 {} 項目）", a.yes, a.no, a.total - a.yes - a.no, a.total);
            for p in &a.phases {
                println!("\n■ {} {}", p.phase.number, p.phase.name);
                for i in &p.items {
                    println!("  {} {}", i.item.number, i.item.title);
                    for c in &i.checks {
                        let ans = match c.answer.as_ref().and_then(|x| x.answer) {
                            Some(true) => "はい",
                            Some(false) => "いいえ",
                            None => "未回答",
                        };
                        println!("    [{ans}] {} {}", c.check.id, c.check.text);
                        if let Some(n) = c.answer.as_ref().filter(|x| !x.note.is_empty()) {
                            println!("           備考: {}", n.note);
                        }
                    }
                    for e in &i.evidence {
                        println!("    根拠（{}）: {}", e.source, e.reason_ja);
                    }
                }
            }
            Ok(exit::OK)
        }
        BcpCommand::Answer { check, value, note } => {
            let Some(v) = app::parse_answer(&value) else {
                bail!(
                    "回答は はい / いいえ / 未回答 のいずれかです / answer is はい, いいえ or 未回答 (got {value:?})"
                );
            };
            app::answer(&store, &f, &check, v, &note, &cli_actor()).await?;
            log(&store, AuditCategory::Change, "BCP確認表に回答", &format!("{check} {value}"), &f).await?;
            println!("{check}: {value} を記録しました / recorded");
            Ok(exit::OK)
        }
        BcpCommand::Export { format, output } => {
            let bytes = match format {
                DocFormat::Pdf => app::bcp_pdf(&store, &f, today()).await?,
                DocFormat::Docx => app::bcp_docx(&store, &f, today()).await?,
            };
            write_atomically(&output, &bytes)?;
            log(&store, AuditCategory::Export, "BCP文書を出力", &format!("{format:?}"), &f).await?;
            println!("BCP を書き出しました / wrote the BCP: {}", output.display());
            Ok(exit::OK)
        }
        BcpCommand::Training(TrainingCommand::Add { date, scenario, participants, findings, plan }) => {
            let held_on = match date::parse_date(&date) {
                Ok(Some(d)) => d,
                Ok(None) => bail!("実施日を指定してください（例: 2025-10-01）/ the date is required"),
                Err(why) => bail!("日付「{date}」を読めません（例: 2025-10-01）: {why} / cannot read the date"),
            };
            let t = Training {
                id: 0,
                held_on,
                scenario,
                participants,
                findings,
                improvement_plan: plan,
                recorded_by: cli_actor(),
                recorded_at: String::new(),
            };
            let id = app::add_training(&store, &f, &t, today()).await?;
            log(&store, AuditCategory::Change, "訓練を記録", &format!("{held_on} {}", t.scenario), &f).await?;
            println!("訓練を記録しました（{held_on}、#{id}）/ recorded");
            Ok(exit::OK)
        }
        BcpCommand::Training(TrainingCommand::List) => {
            let list = store.trainings(f.id).await?;
            for t in &list {
                println!("{}  {}  参加: {}", t.held_on, t.scenario, t.participants);
                if !t.findings.is_empty() {
                    println!("    結果・課題: {}", t.findings);
                }
                if !t.improvement_plan.is_empty() {
                    println!("    改善計画: {}", t.improvement_plan);
                }
            }
            if let Some((ja, en)) = app::training_reminder(&app::training_status(&list, today())) {
                println!("⚠ {ja} / {en}");
            }
            Ok(exit::OK)
        }
    }
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in): the hospital's
/// organisation, each department's 責任者 / システム管理者 / 機器管理者, the vendors of its systems from the
/// vendor ledger, the external bodies of the catalog, one training, a few answers of the table.
pub async fn seed_demo(store: &Store, facility: &Facility) -> Result<()> {
    let internal =
        |code: &str, role: &str, dept: &str, name: &str, phone: &str, order: Option<u32>, up: &str| Contact {
            code: code.into(),
            kind: ContactKind::Internal,
            role: role.into(),
            department: dept.into(),
            name: name.into(),
            phone: phone.into(),
            order,
            reports_to: up.into(),
            ..Default::default()
        };
    let mut list = vec![
        Contact {
            email: "director@mimamori-hp.example".into(),
            purpose: "診療継続方針・外部への報告の決定".into(),
            after_hours: "090-0000-1001".into(),
            ..internal("director", "最高責任者", "院長", "森 正和", "内線 100", Some(4), "")
        },
        Contact {
            email: "ciso@mimamori-hp.example".into(),
            purpose: "情報セキュリティの統括、経営層への報告".into(),
            after_hours: "090-0000-1002".into(),
            ..internal(
                "ciso",
                "CISO（最高情報セキュリティ責任者）",
                "副院長",
                "清水 恵",
                "内線 101",
                Some(3),
                "director",
            )
        },
        Contact {
            email: "it-manager@mimamori-hp.example".into(),
            purpose: "第一報の受付、原因調査・被害拡大防止の指示、事業者への連絡".into(),
            after_hours: "090-0000-1003".into(),
            ..internal(
                "manager",
                "医療情報システム安全管理責任者",
                "医療情報システム課",
                "課長 石井 健太",
                "内線 200",
                Some(1),
                "ciso",
            )
        },
        Contact {
            email: "csirt@mimamori-hp.example".into(),
            purpose: "インシデント対応（切り分け・証拠保全・記録）".into(),
            ..internal(
                "csirt",
                "CSIRT（院内インシデント対応チーム）",
                "医療情報システム課",
                "リーダー 藤田 翔",
                "内線 210",
                Some(2),
                "manager",
            )
        },
    ];
    let depts: [(&str, &str, &str, &str); 8] = [
        ("med", "診療部", "責任者", "診療部長 岡田 修"),
        ("nurse", "看護部", "責任者", "看護部長 長谷川 由紀"),
        ("pharm", "薬剤部", "システム管理者", "薬剤部長 村上 聡"),
        ("rad", "放射線科", "機器管理者", "技師長 近藤 大輔"),
        ("lab", "臨床検査科", "システム管理者", "技師長 坂本 美咲"),
        ("ijika", "医事課", "システム管理者", "課長 遠藤 亮"),
        ("somu", "総務課", "責任者（広報・渉外）", "課長 青木 由美"),
        ("eiyo", "栄養科", "責任者", "科長 福田 彩"),
    ];
    for (i, (code, dept, role, name)) in depts.iter().enumerate() {
        list.push(Contact {
            purpose: "部門内の異常の報告、紙運用への切り替え".into(),
            ..internal(code, &format!("{dept} {role}"), dept, name, &format!("内線 3{i:02}"), None, "manager")
        });
    }
    // Vendors of the systems, from the vendor and systems ledgers.
    let mut vendors: Vec<Vendor> = store.list(facility.id).await?;
    let mut systems: Vec<InfoSystem> = store.list(facility.id).await?;
    // The vendor of the system to recover first comes first.
    systems.sort_by_key(|s| (s.recovery_priority.parse::<u32>().unwrap_or(u32::MAX), s.name.clone()));
    let first_system = |v: &Vendor| systems.iter().position(|s| s.vendor == v.name).unwrap_or(usize::MAX);
    vendors.sort_by_key(|v| (first_system(v), v.name.clone()));
    for (i, v) in vendors.iter().enumerate() {
        let of: Vec<&str> = systems.iter().filter(|s| s.vendor == v.name).map(|s| s.name.as_str()).collect();
        let role = match of.first() {
            Some(first) if of.len() > 1 => format!("{first} ほか保守"),
            Some(first) => format!("{first} 保守"),
            None => v.contract.trim_end_matches("契約").to_string(),
        };
        list.push(Contact {
            code: format!("v-{:02}", i + 1),
            kind: ContactKind::Vendor,
            role: if role.is_empty() { "保守事業者".into() } else { role },
            department: v.contact_person.clone(),
            name: v.name.clone(),
            phone: v.phone.clone(),
            after_hours: v.emergency_phone.clone(),
            email: v.email.clone(),
            purpose: "障害・インシデントの連絡、調査・復旧の依頼".into(),
            order: (i < 2).then_some(5 + i as u32),
            contacted_by: if i % 3 == 2 { "csirt".into() } else { "manager".into() },
            systems: of.join("、"),
            ..Default::default()
        });
    }
    let mut ext = app::default_external_bodies("director")?;
    for (i, e) in ext.iter_mut().enumerate() {
        if i < 2 {
            e.order = Some(7 + i as u32);
        }
    }
    list.extend(ext);
    let names: Vec<String> = systems.iter().map(|s| s.name.clone()).collect();
    let issues = app::check_contacts(&list, &[], &names);
    if !issues.is_empty() {
        bail!(
            "demo contacts are inconsistent: {}",
            issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; ")
        );
    }
    store.replace_contacts(facility.id, &list, "demo").await?;
    let held_on = today() - chrono::Days::new(230);
    store
        .add_training(
            facility.id,
            &Training {
                id: 0,
                held_on,
                scenario: "ランサムウェア感染により電子カルテが停止した想定の机上訓練（夜間の発見から院長報告・紙運用切替まで）".into(),
                participants: "院長、副院長、医療情報システム課 4名、看護部、医事課、さくら医療システム株式会社（計 12名）".into(),
                findings: "夜間の第一報で安全管理責任者に連絡がつくまで40分かかった。紙の伝票の保管場所を知らない職員がいた。"
                    .into(),
                improvement_plan: "時間外連絡先を連絡体制図に記載し各部署に掲示する。紙運用マニュアルの保管場所を周知する（次回訓練で確認）。"
                    .into(),
                recorded_by: "demo".into(),
                recorded_at: String::new(),
            },
        )
        .await?;
    for (check, v, note) in [
        ("1-1-1", Some(true), "機器台帳をmamoriで管理"),
        ("1-1-2", Some(false), "ネットワーク構成図が古い（更新予定）"),
        ("1-2-1", Some(true), "連絡体制図をmamoriで作成し掲示"),
        ("1-2-3", Some(true), ""),
    ] {
        app::answer(store, facility, check, v, note, "demo").await?;
    }
    Ok(())
}
