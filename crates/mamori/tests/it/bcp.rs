//! The BCP capability through the real binary: contacts (import all or nothing, export round trips), the
//! contact chart (every contact once, one A4 page, 40 boxes), training records and the reminder, the
//! confirmation table, the BCP document of the demo hospital (PDF text, .docx read back by LibreOffice), and
//! in the browser: enter a contact, see it in the chart, download the PDF; an inspector reads but cannot edit.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

struct Env {
    dir: tempfile::TempDir,
    db: String,
}

impl Env {
    /// A database with one facility and two systems in its systems ledger.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db").to_string_lossy().into_owned();
        let e = Env { dir, db };
        e.ok(&["init", "--facility-name", "テスト病院", "--prefecture", "東京都", "--beds", "120"]);
        let systems = e.path("systems.csv");
        std::fs::write(&systems, "システム名,事業者\n電子カルテシステム,A社\nPACS,B社\n").unwrap();
        e.ok(&["import", "systems", &systems]);
        e
    }
    fn demo() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db").to_string_lossy().into_owned();
        let e = Env { dir, db };
        e.ok(&["demo", "--no-serve", "--reset"]);
        e
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).arg("--db").arg(&self.db).args(args).env_remove("MAMORI_FACILITY").output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
        stdout(&out)
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn pdf_text(path: &str) -> String {
    let out = Command::new("pdftotext").args([path, "-"]).output().expect("pdftotext (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdf_pages(path: &str) -> (usize, String) {
    let out = Command::new("pdfinfo").arg(path).output().expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8_lossy(&out.stdout).into_owned();
    let pages = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    let size = info.lines().find_map(|l| l.strip_prefix("Page size:")).unwrap().trim().to_string();
    (pages, size)
}

/// (data-id, text of the box) of every box of a chart SVG.
fn chart_boxes(svg: &str) -> Vec<(String, String)> {
    svg.split("<g class=\"node\" data-id=\"")
        .skip(1)
        .map(|part| {
            let id = part.split('"').next().unwrap().to_string();
            let body = part.split("</g>").next().unwrap();
            let text: String = body
                .split("<text")
                .skip(1)
                .filter_map(|t| t.split_once('>').map(|(_, rest)| rest.split("</text>").next().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("");
            (id, text)
        })
        .collect()
}

const HEADER: &str = "連絡先ID,区分,役割,部署・窓口,氏名・名称,電話番号,時間外・緊急連絡先,メールアドレス,連絡目的,連絡順,報告先ID,連絡担当ID,対象システム,備考\n";

#[test]
fn contacts_import_is_all_or_nothing_and_every_export_reads_back() {
    let e = Env::new();
    let bad = e.path("連絡先_誤り.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}top,院内,最高責任者,,院長 山田,内線100,,,,,,,,\n\
             mgr,院内,医療情報システム安全管理責任者,情報システム課,鈴木,内線200,,suzuki at example,,1,boss,,,\n\
             v-ehr,ベンダー,電子カルテ保守,,A社,03-0000-0000,,ehr@a.example,,２,,mgr,電子カルテシステム、謎システム,\n\
             x,警察,都道府県警察,,,,,,,,,,,\n"
        ),
    )
    .unwrap();
    let out = e.run(&["contacts", "import", &bad]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for want in [
        "3行目 / row 3: 連絡先ID「mgr」: メールアドレス「suzuki at example」",
        "連絡先ID「mgr」: 報告先ID「boss」: 連絡先ID「boss」がありません",
        "4行目 / row 4: 連絡先ID「v-ehr」: 対象システム「謎システム」",
        "5行目 / row 5: 連絡先ID「x」: 区分「警察」",
        "何も書き込んでいません",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(e.ok(&["contacts", "list"]).contains("連絡先がまだありません"), "nothing was written");

    // Fixed: the full-width order ２ is read as 2, ベンダー as 事業者.
    let good = e.path("連絡先.csv");
    std::fs::write(
        &good,
        format!(
            "{HEADER}top,院内,最高責任者,,院長 山田,内線100,,,,,,,,\n\
             mgr,院内,医療情報システム安全管理責任者,情報システム課,鈴木,内線200,090-0000-0000,suzuki@h.example,第一報の受付,1,top,,,\n\
             v-ehr,ベンダー,電子カルテ保守,,A社,03-0000-0000,,ehr@a.example,障害の連絡,２,,mgr,電子カルテシステム、PACS,\n"
        ),
    )
    .unwrap();
    assert!(e.ok(&["contacts", "import", &good, "--dry-run"]).contains("確認のみ: 3 件"));
    assert!(e.ok(&["contacts", "list"]).contains("連絡先がまだありません"), "a dry run writes nothing");
    assert!(e.ok(&["contacts", "import", &good]).contains("3 件で一覧を置き換えました"));
    let first = e.ok(&["contacts", "export"]);
    assert!(first.starts_with('\u{feff}'));
    assert!(
        first.contains(
            "v-ehr,事業者,電子カルテ保守,,A社,03-0000-0000,,ehr@a.example,障害の連絡,2,,mgr,電子カルテシステム、PACS,"
        ),
        "{first}"
    );
    for (fmt, name) in [("csv", "out.csv"), ("csv-cp932", "out-sjis.csv"), ("xlsx", "out.xlsx")] {
        let p = e.path(name);
        e.ok(&["contacts", "export", "--format", fmt, "-o", &p]);
        e.ok(&["contacts", "import", &p]);
        assert_eq!(e.ok(&["contacts", "export"]), first, "{fmt} round trip changed the contacts");
    }

    // Add one, refuse a bad one, add the default external bodies, remove one that nobody points to.
    e.ok(&["contacts", "add", "--id", "ciso", "--role", "CISO", "--name", "副院長 佐藤", "--reports-to", "top"]);
    let out = e.run(&["contacts", "add", "--id", "v2", "--kind", "vendor", "--role", "x", "--reports-to", "nobody"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("連絡先ID「nobody」がありません"), "{}", stderr(&out));
    assert!(e.ok(&["contacts", "add-defaults", "--contacted-by", "top"]).contains("4 件追加"));
    let list = e.ok(&["contacts", "list"]);
    assert!(list.contains("03-6812-7837") && list.contains("igishitsu@mhlw.go.jp"), "{list}");
    let out = e.run(&["contacts", "remove", "top"]);
    assert_eq!(out.status.code(), Some(3), "top is the 報告先 of others");
    e.ok(&["contacts", "remove", "x-ipa"]);
    assert!(!e.ok(&["contacts", "list"]).contains("x-ipa"));
}

#[test]
fn a_chart_of_40_contacts_shows_each_once_on_one_a4_page() {
    let e = Env::new();
    let mut csv = String::from(HEADER);
    csv.push_str("top,院内,最高責任者,,院長,内線100,,,,1,,,,\n");
    csv.push_str("ciso,院内,CISO,,副院長,内線101,,,,2,top,,,\n");
    csv.push_str("mgr,院内,医療情報システム安全管理責任者,情報システム課,課長,内線200,,,,3,ciso,,,\n");
    for i in 0..17 {
        csv.push_str(&format!("d{i:02},院内,部門{i:02} 責任者,部門{i:02},担当{i:02},内線3{i:02},,,,,mgr,,,\n"));
    }
    for i in 0..12 {
        csv.push_str(&format!(
            "v{i:02},事業者,保守{i:02},窓口{i:02},事業者{i:02}株式会社,03-0000-{i:04},,v{i:02}@vendor.example,,,,mgr,,\n"
        ));
    }
    for i in 0..8 {
        csv.push_str(&format!("x{i:02},外部関係機関,機関{i:02},,窓口{i:02},0{i}-0000-0000,,,,,,top,,\n"));
    }
    let file = e.path("40.csv");
    std::fs::write(&file, csv).unwrap();
    assert!(e.ok(&["contacts", "import", &file]).contains("40 件"));
    let svg_path = e.path("chart.svg");
    e.ok(&["contacts", "chart", "--format", "svg", "-o", &svg_path]);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    // Valid SVG: the same parser typst uses reads it.
    mamori_report::svg_to_png(&svg, 20.0).expect("the chart is valid SVG");
    let boxes = chart_boxes(&svg);
    assert_eq!(boxes.len(), 40);
    let mut ids: Vec<&str> = boxes.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every contact exactly once");
    for i in 0..12 {
        let name = format!("事業者{i:02}株式会社");
        assert_eq!(boxes.iter().filter(|(_, t)| t.contains(&name)).count(), 1, "{name}");
    }
    let pdf = e.path("chart.pdf");
    e.ok(&["contacts", "chart", "--format", "pdf", "-o", &pdf]);
    let (pages, size) = pdf_pages(&pdf);
    assert_eq!(pages, 1);
    assert!(size.contains("841.89 x 595.") && size.contains("A4"), "A4 landscape: {size}");
    let text = pdf_text(&pdf);
    assert!(text.contains("テスト病院") && text.contains("連絡体制図"));
}

#[test]
fn trainings_and_the_yearly_reminder() {
    let e = Env::new();
    assert!(e.ok(&["bcp", "training", "list"]).contains("訓練の記録がありません"));
    let two_years_ago = (chrono::Local::now().date_naive() - chrono::Days::new(730)).to_string();
    e.ok(&[
        "bcp",
        "training",
        "add",
        "--date",
        &two_years_ago,
        "--scenario",
        "ランサムウェア机上訓練",
        "--participants",
        "10名",
    ]);
    let list = e.ok(&["bcp", "training", "list"]);
    assert!(list.contains("1年が過ぎています") && list.contains(&two_years_ago), "{list}");
    let tomorrow = (chrono::Local::now().date_naive() + chrono::Days::new(1)).to_string();
    let out = e.run(&["bcp", "training", "add", "--date", &tomorrow, "--scenario", "未来"]);
    assert!(!out.status.success() && stderr(&out).contains("未来の日付"), "{}", stderr(&out));
    let out = e.run(&["bcp", "training", "add", "--date", "2024/13/45", "--scenario", "x"]);
    assert!(!out.status.success() && stderr(&out).contains("日付「2024/13/45」を読めません"), "{}", stderr(&out));
    let recent = (chrono::Local::now().date_naive() - chrono::Days::new(30)).to_string();
    e.ok(&[
        "bcp",
        "training",
        "add",
        "--date",
        &recent,
        "--scenario",
        "VPN停止訓練",
        "--findings",
        "連絡に時間",
        "--plan",
        "掲示する",
    ]);
    let list = e.ok(&["bcp", "training", "list"]);
    assert!(!list.contains("1年が過ぎています") && list.contains("改善計画: 掲示する"), "{list}");

    // The confirmation table: answers, and the evidence mamori has.
    e.ok(&["bcp", "answer", "1-2-3", "はい", "--note", "年1回の机上訓練"]);
    assert!(!e.run(&["bcp", "answer", "9-9-9", "はい"]).status.success());
    assert!(!e.run(&["bcp", "answer", "1-2-3", "たぶん"]).status.success());
    let show = e.ok(&["bcp", "show"]);
    assert!(show.contains("[はい] 1-2-3 教育訓練が実施できているか。"), "{show}");
    assert!(show.contains("備考: 年1回の机上訓練"));
    assert!(show.contains("根拠（training）: 1年以内に訓練を実施しています"), "{show}");
    assert!(show.contains("根拠（contacts）: 連絡先が登録されていないため"), "{show}");
}

#[test]
fn the_demo_hospital_gets_its_own_bcp_with_what_is_missing_marked() {
    let e = Env::demo();
    let pdf = e.path("bcp.pdf");
    let t = Instant::now();
    e.ok(&["bcp", "export", "--format", "pdf", "-o", &pdf]);
    eprintln!("figure: mamori bcp export --format pdf (process incl. start): {:?}", t.elapsed());
    let text = pdf_text(&pdf).replace(['\n', ' '], "");
    // The demo's training record, by its date.
    let trainings = e.ok(&["bcp", "training", "list"]);
    let held_on = trainings.split_whitespace().next().unwrap();
    assert!(text.contains(held_on), "the training of {held_on} is in the BCP");
    for want in [
        "1総則",
        "2体制整備",
        "3サイバーインシデント発生時の対応",
        "4事後対応",
        "2.2.1連絡体制図",
        // The hospital's own data.
        "みまもり総合病院（デモ）",
        "課長石井健太",
        "さくら医療システム株式会社",
        "紙カルテ運用",
        "03-6812-7837",
        // What is missing, plainly.
        "【未入力】",
        "データ未登録",
        "M2",
    ] {
        assert!(text.contains(want), "{want:?} missing from the BCP PDF");
    }
    let docx = e.path("bcp.docx");
    e.ok(&["bcp", "export", "--format", "docx", "-o", &docx]);
    let bytes = std::fs::read(&docx).unwrap();
    assert!(bytes.starts_with(b"PK"));
    // The .docx opens: LibreOffice reads it back as text.
    if Path::new("/usr/bin/soffice").exists() {
        let out = Command::new("soffice")
            .args(["--headless", "--norestore", "--convert-to", "txt:Text", "--outdir"])
            .arg(e.dir.path())
            .arg(&docx)
            .env("HOME", e.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let txt = std::fs::read_to_string(e.path("bcp.txt")).unwrap();
        for want in ["総則", "体制整備", "事後対応", "課長 石井 健太", "データ未登録"] {
            assert!(txt.contains(want), "{want:?} missing from the .docx");
        }
    } else {
        eprintln!("note: LibreOffice not installed: the .docx was not read back");
    }
    // The chart of the demo: every contact once.
    let svg = e.path("chart.svg");
    e.ok(&["contacts", "chart", "--format", "svg", "-o", &svg]);
    let boxes = chart_boxes(&std::fs::read_to_string(&svg).unwrap());
    let json: serde_json::Value = serde_json::from_str(&e.ok(&["contacts", "list", "--json"])).unwrap();
    let contacts = json.as_array().unwrap();
    assert!(contacts.len() >= 20, "a realistic set of contacts");
    assert_eq!(boxes.len(), contacts.len());
    for c in contacts {
        let id = c["code"].as_str().unwrap();
        assert_eq!(boxes.iter().filter(|(b, _)| b == id).count(), 1, "{id}");
    }
}

/// Figures for the note: generation time of the chart, the BCP PDF and the .docx of the demo hospital,
/// in-process, warm (median of 5). Run: cargo test -p mamori --test it bcp::figures -- --ignored --nocapture
#[tokio::test]
#[ignore]
async fn figures() {
    let e = Env::demo();
    let store = mamori_store::Store::open(&e.db).await.unwrap();
    let f = store.resolve_facility(None).await.unwrap();
    let today = chrono::Local::now().date_naive();
    let _ = mamori_app::bcp::bcp_pdf(&store, &f, today).await.unwrap();
    let mut report = Vec::new();
    for name in ["chart SVG", "chart PDF", "BCP PDF", "BCP docx"] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = match name {
                "chart SVG" => mamori_app::bcp::chart_svg(&store, &f).await.unwrap().len(),
                "chart PDF" => mamori_app::bcp::chart_pdf(&store, &f).await.unwrap().len(),
                "BCP PDF" => mamori_app::bcp::bcp_pdf(&store, &f, today).await.unwrap().len(),
                _ => mamori_app::bcp::bcp_docx(&store, &f, today).await.unwrap().len(),
            };
            times.push(t.elapsed());
        }
        times.sort();
        report.push(format!("{name}: median {:?} (min {:?}), {size} bytes", times[2], times[0]));
    }
    println!("figures (demo hospital, {} contacts):", store.contacts(f.id).await.unwrap().len());
    for r in report {
        println!("  {r}");
    }
}
