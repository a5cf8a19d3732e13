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

    // A file with part of the list: replacing would drop the contacts its arrows point to, so it is refused;
    // merged it adds and changes by ID and keeps the rest. Every run says what it adds, changes and removes.
    let part = e.path("一部.csv");
    std::fs::write(
        &part,
        format!(
            "{HEADER}v-ehr,事業者,電子カルテ保守,,B社,03-1111-1111,,ehr@b.example,障害の連絡,2,,mgr,電子カルテシステム,\n\
             x-soc,外部関係機関,SOC,,SOC社,03-2222-2222,,,,,,top,,\n"
        ),
    )
    .unwrap();
    let out = e.run(&["contacts", "import", &part, "--dry-run"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stderr(&out).contains("連絡先ID「mgr」がありません"), "{}", stderr(&out));
    let dry = e.ok(&["contacts", "import", &part, "--dry-run", "--merge"]);
    assert!(dry.contains("追加 1 件・変更 1 件・削除 0 件・変更なし 2 件"), "{dry}");
    assert!(dry.contains("追加 / added: x-soc") && dry.contains("変更 / changed: v-ehr"), "{dry}");
    assert_eq!(e.ok(&["contacts", "export"]), first, "a dry run writes nothing");
    assert!(e.ok(&["contacts", "import", &part, "--merge"]).contains("2 件を一覧に反映しました"));
    let merged = e.ok(&["contacts", "export"]);
    assert!(
        merged.contains("院長 山田") && merged.contains("B社") && merged.contains("SOC社") && !merged.contains("A社")
    );
    let back = e.ok(&["contacts", "import", &good]);
    assert!(
        back.contains("追加 0 件・変更 1 件・削除 1 件・変更なし 2 件") && back.contains("削除 / removed: x-soc"),
        "{back}"
    );
    assert_eq!(e.ok(&["contacts", "export"]), first);

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
    } else if std::env::var_os("MAMORI_REQUIRE_OFFICE").is_some() {
        panic!(
            "LibreOffice (soffice) is required here to read the .docx back: apt-get install libreoffice-writer-nogui"
        );
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
    for name in ["chart SVG", "chart PDF", "BCP PDF", "BCP docx", "BCP docx without PNG fallback"] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = match name {
                "chart SVG" => mamori_app::bcp::chart_svg(&store, &f).await.unwrap().len(),
                "chart PDF" => mamori_app::bcp::chart_pdf(&store, &f).await.unwrap().len(),
                "BCP PDF" => mamori_app::bcp::bcp_pdf(&store, &f, today).await.unwrap().len(),
                "BCP docx" => mamori_app::bcp::bcp_docx(&store, &f, today).await.unwrap().len(),
                _ => {
                    let doc = mamori_app::bcp::bcp_doc(&store, &f, today).await.unwrap();
                    doc.to_docx_with(None).unwrap().len()
                }
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

// ================================================================ the web: roles, forged posts, the browser

mod web {
    use std::io::Write;

    use std::process::{Command, Stdio};
    use std::time::Duration;

    use fantoccini::{Client, Locator};

    use super::BIN;
    use crate::harness::*;

    const ADMIN_PW: &str = "sakura mochi to ocha";

    fn user_pw(login: &str) -> String {
        format!("haru natsu aki fuyu {}", login.len())
    }

    /// The demo hospital (1, 東京都) and a second facility (2, 大阪府), served; users of every kind.
    struct App {
        db: String,
        port: u16,
        _dir: tempfile::TempDir,
        _server: Proc,
    }

    impl App {
        fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("web.db").to_string_lossy().into_owned();
            let run = |args: &[&str], stdin: &str| {
                let mut child = Command::new(BIN)
                    .arg("--db")
                    .arg(&db)
                    .args(args)
                    .env_remove("MAMORI_FACILITY")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            };
            run(&["demo", "--no-serve", "--reset"], "");
            run(
                &["facility", "add", "--facility-name", "大阪テスト病院", "--prefecture", "大阪府", "--beds", "200"],
                "",
            );
            for (login, role, extra) in [
                ("admin", "admin", vec![]),
                ("mgr", "manager", vec!["--facility", "1"]),
                ("ops", "operator", vec!["--facility", "1"]),
                ("minato", "vendor", vec!["--facility", "1", "--vendor", "みなとネットワークサービス株式会社"]),
                ("tokyo-pref", "inspector", vec!["--prefecture", "東京都"]),
                ("osaka-pref", "inspector", vec!["--prefecture", "大阪府"]),
            ] {
                let pw = if login == "admin" { ADMIN_PW.to_string() } else { user_pw(login) };
                let mut args = vec!["user", "add", login, "--name", "試験 利用者", "--role", role, "--password-stdin"];
                args.extend(extra);
                run(&args, &format!("{pw}\n"));
            }
            let port = free_port();
            let server = Command::new(BIN)
                .args(["--db", &db, "serve", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            wait_port(port);
            App { db, port, _dir: dir, _server: Proc(server) }
        }
        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    /// Logs in over plain HTTP: the session cookie and its CSRF token.
    fn login(port: u16, user: &str, password: &str) -> (String, String) {
        let page = http(port, "GET", "/login", "", None);
        let pre = page.cookie("mamori_pre").expect("pre-login cookie");
        let res = http(
            port,
            "POST",
            "/login",
            &format!("mamori_pre={pre}"),
            Some(&format!("login={}&password={}&pre={pre}", enc(user), enc(password))),
        );
        assert_eq!(res.status, 303, "login of {user}: {}", res.text());
        let cookie = format!("mamori_session={}", res.cookie("mamori_session").expect("session cookie"));
        let home = http(port, "GET", "/facilities", &cookie, None).text();
        let csrf =
            home.split("name=\"csrf\" value=\"").nth(1).expect("csrf field").split('"').next().unwrap().to_string();
        (cookie, csrf)
    }

    fn contact_form(csrf: &str, code: &str, name: &str) -> String {
        format!(
            "csrf={csrf}&original=&code={code}&kind={}&role={}&name={}&phone=03-1111-2222&reports_to=manager",
            enc("院内"),
            enc("夜間当直責任者"),
            enc(name)
        )
    }

    #[tokio::test]
    async fn bcp_pages_refuse_who_must_not_see_or_change_them() {
        let app = App::start();
        let p = app.port;
        let (mgr, mgr_csrf) = login(p, "mgr", &user_pw("mgr"));
        let (ops, ops_csrf) = login(p, "ops", &user_pw("ops"));
        let (vendor, _) = login(p, "minato", &user_pw("minato"));
        let (tokyo, tokyo_csrf) = login(p, "tokyo-pref", &user_pw("tokyo-pref"));
        let (osaka, _) = login(p, "osaka-pref", &user_pw("osaka-pref"));
        let get = |c: &str, path: &str| http(p, "GET", path, c, None).status;
        let store = mamori_store::Store::open(&app.db).await.unwrap();
        let before = store.contacts(1).await.unwrap();

        // The inspector of the prefecture reads the contacts, the chart, the table and the documents.
        for path in [
            "/f/1/contacts",
            "/f/1/contacts/chart",
            "/f/1/contacts/chart.svg",
            "/f/1/contacts/export?format=csv",
            "/f/1/bcp",
            "/f/1/bcp/training",
            "/f/1/bcp/export?format=docx",
        ] {
            assert_eq!(get(&tokyo, path), 200, "{path}");
        }
        let page = http(p, "GET", "/f/1/bcp", &tokyo, None).text();
        assert!(!page.contains("/bcp/answer"), "no answer form for a read-only role");
        assert!(page.contains("根拠あり") && page.contains("連絡体制図があります"), "evidence is shown");
        assert!(!http(p, "GET", "/f/1/contacts", &tokyo, None).text().contains("/contacts/new"));
        // … but changes nothing: not by a direct URL, not by a post with its own valid token.
        for path in ["/f/1/contacts/new", "/f/1/contacts/c/director/edit"] {
            assert_eq!(get(&tokyo, path), 403, "{path}");
        }
        for (c, csrf) in [(&tokyo, &tokyo_csrf), (&ops, &ops_csrf)] {
            for (path, form) in [
                ("/f/1/contacts/save", contact_form(csrf, "evil", "改ざん")),
                ("/f/1/contacts/c/director/delete", format!("csrf={csrf}")),
                ("/f/1/contacts/defaults", format!("csrf={csrf}")),
                ("/f/1/bcp/answer", format!("csrf={csrf}&check=1-1-2&answer={}", enc("はい"))),
                ("/f/1/bcp/training", format!("csrf={csrf}&held_on=2025-01-01&scenario=x")),
                ("/f/1/bcp/training/1/delete", format!("csrf={csrf}")),
                ("/f/1/contacts/import/confirm", format!("csrf={csrf}&upload=x&mode=merge")),
            ] {
                assert_eq!(http(p, "POST", path, c, Some(&form)).status, 403, "{path}");
            }
        }
        // Another prefecture's inspector and the vendor do not see this facility's BCP at all.
        for path in ["/f/1/contacts", "/f/1/contacts/chart.pdf", "/f/1/bcp", "/f/1/bcp/export?format=pdf"] {
            assert_eq!(get(&osaka, path), 403, "{path}");
            assert_eq!(get(&vendor, path), 403, "{path}");
        }
        // Forged posts of the manager: no token, another user's token, no session.
        assert_eq!(http(p, "POST", "/f/1/contacts/save", &mgr, Some(&contact_form("", "evil", "x"))).status, 403);
        assert_eq!(
            http(p, "POST", "/f/1/contacts/save", &mgr, Some(&contact_form(&tokyo_csrf, "evil", "x"))).status,
            403
        );
        let r = http(p, "POST", "/f/1/contacts/save", "", Some(&contact_form(&mgr_csrf, "evil", "x")));
        assert_eq!(r.header("location"), Some("/login"));
        // The manager may not touch another facility.
        assert_eq!(get(&mgr, "/f/2/contacts"), 403);
        assert_eq!(
            http(p, "POST", "/f/2/contacts/save", &mgr, Some(&contact_form(&mgr_csrf, "evil", "x"))).status,
            403
        );
        // A confirmation needs a file this user checked for this facility and mode: a made-up id is gone.
        let confirm = format!("csrf={mgr_csrf}&upload={}&mode=replace", "a".repeat(64));
        assert_eq!(http(p, "POST", "/f/1/contacts/import/confirm", &mgr, Some(&confirm)).status, 410);
        assert_eq!(store.contacts(1).await.unwrap(), before, "nothing changed");
        assert!(store.contacts(2).await.unwrap().is_empty());

        // The real form works, and a bad one says what is wrong.
        let r = http(p, "POST", "/f/1/contacts/save", &mgr, Some(&contact_form(&mgr_csrf, "night", "当直 花子")));
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(store.contacts(1).await.unwrap().iter().any(|c| c.code == "night" && c.name == "当直 花子"));
        // Renaming an ID carries the arrows of the others along.
        let rename = format!(
            "csrf={mgr_csrf}&original=manager&code=it-manager&kind={}&role={}&reports_to=ciso",
            enc("院内"),
            enc("医療情報システム安全管理責任者")
        );
        assert_eq!(http(p, "POST", "/f/1/contacts/save", &mgr, Some(&rename)).status, 303);
        let after = store.contacts(1).await.unwrap();
        assert!(!after.iter().any(|c| c.code == "manager"));
        assert_eq!(after.iter().find(|c| c.code == "csirt").unwrap().reports_to, "it-manager");
        assert!(
            after
                .iter()
                .filter(|c| c.kind == mamori_store::bcp::ContactKind::Vendor)
                .all(|c| c.contacted_by != "manager")
        );
        let bad = format!("{}&email=nope", contact_form(&mgr_csrf, "night2", "x"))
            .replace("reports_to=manager", "reports_to=ghost");
        let r = http(p, "POST", "/f/1/contacts/save", &mgr, Some(&bad));
        assert_eq!(r.status, 422);
        let t = r.text();
        assert!(t.contains("id=\"err-email\"") && t.contains("id=\"err-reports_to\""), "{t}");
        let r = http(
            p,
            "POST",
            "/f/1/bcp/answer",
            &mgr,
            Some(&format!("csrf={mgr_csrf}&check=9-9-9&answer=%E3%81%AF%E3%81%84")),
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains("確認項目「9-9-9」は確認表にありません"), "the reason is shown: {}", r.text());

        // Views and downloads of the contacts are in the access log.
        let log = store.audit_all().await.unwrap();
        let ops: Vec<(String, String)> =
            log.iter().map(|e| (e.entry.user_login.clone(), e.entry.operation.clone())).collect();
        for (who, op) in [
            ("tokyo-pref", "連絡先を閲覧"),
            ("tokyo-pref", "連絡先を書き出し"),
            ("tokyo-pref", "BCP文書を出力"),
            ("mgr", "連絡先を保存"),
        ] {
            assert!(ops.iter().any(|(u, o)| u == who && o == op), "{who} {op} missing from the access log");
        }
    }

    async fn sign_in(c: &Client, app: &App, login: &str) {
        c.goto(&app.url("/login")).await.unwrap();
        fill(c, "#login", login).await;
        fill(c, "#password", &user_pw(login)).await;
        click(c, "#submit").await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#who")).await.unwrap();
    }

    #[tokio::test]
    async fn browser_enter_a_contact_see_it_in_the_chart_download_the_pdf() {
        if !browser_available() {
            return;
        }
        let app = App::start();
        let (c, _driver) = browser().await;
        let r = story(&c, &app).await;
        let _ = c.close().await;
        r.unwrap();
    }

    async fn story(c: &Client, app: &App) -> Result<(), fantoccini::error::CmdError> {
        sign_in(c, app, "mgr").await;
        c.goto(&app.url("/f/1/contacts")).await?;
        expect_text(c, "main", "医療情報システム安全管理責任者").await;
        shot(c, "bcp_01_contacts").await;
        // A new vendor contact: a bad e-mail first, shown at its field.
        click(c, "#contact-new").await;
        fill(c, "#f-code", "v-cloud").await;
        c.find(Locator::Css("#f-kind")).await?.select_by_value("事業者").await?;
        fill(c, "#f-role", "クラウドバックアップ保守").await;
        fill(c, "#f-name", "株式会社テスト雲").await;
        fill(c, "#f-phone", "03-9999-0000").await;
        fill(c, "#f-email", "cloud at example").await;
        c.find(Locator::Css("#f-contacted_by")).await?.select_by_value("manager").await?;
        click(c, "#save").await;
        expect_text(c, "#err-email", "メールアドレス").await;
        shot(c, "bcp_02_contact_error").await;
        fill(c, "#f-email", "cloud@test-kumo.example").await;
        click(c, "#save").await;
        expect_text(c, "#contacts-message", "保存しました").await;
        // The chart shows it, once.
        click(c, "#chart-link").await;
        let chart = text_of(c, "#chart").await;
        assert_eq!(chart.matches("株式会社テスト雲").count(), 1, "{chart}");
        shot(c, "bcp_03_chart").await;
        // The PDF of the chart and of the BCP, with the browser's own session.
        let cookie = c.get_named_cookie("mamori_session").await?;
        let cookie = format!("mamori_session={}", cookie.value());
        for (path, want) in
            [("/f/1/contacts/chart.pdf", "株式会社テスト雲"), ("/f/1/bcp/export?format=pdf", "株式会社テスト雲")]
        {
            let r = http(app.port, "GET", path, &cookie, None);
            assert_eq!(r.status, 200, "{path}");
            assert!(r.header("content-disposition").unwrap().contains("attachment"));
            assert!(r.body.starts_with(b"%PDF"));
            let file = screenshots_dir().join("bcp_download.pdf");
            std::fs::write(&file, &r.body).unwrap();
            let text = super::pdf_text(file.to_str().unwrap()).replace(['\n', ' '], "");
            assert!(text.contains(want), "{path}: {want} missing");
        }
        // The table: answer a check; the evidence is shown beside it.
        c.goto(&app.url("/f/1/bcp")).await?;
        expect_text(c, "#item-1-2", "連絡体制図があります").await;
        c.find(Locator::Css("#answer-1-1-4")).await?.select_by_value("いいえ").await?;
        fill(c, "#note-1-1-4", "適用基準を策定中").await;
        click(c, "#save-1-1-4").await;
        text_of(c, "#saved").await;
        shot(c, "bcp_04_table").await;
        // A training.
        c.goto(&app.url("/f/1/bcp/training")).await?;
        fill(c, "#t-held_on", &chrono::Local::now().date_naive().to_string()).await;
        fill(c, "#t-scenario", "VPN装置の侵害を想定した訓練").await;
        fill(c, "#t-findings", "遮断手順が未整備").await;
        click(c, "#training-save").await;
        expect_text(c, "#trainings", "VPN装置の侵害を想定した訓練").await;
        shot(c, "bcp_05_training").await;
        // An import with a mistake shows what and where, and changes nothing.
        let bad = screenshots_dir().join("連絡先_誤り.csv");
        std::fs::write(&bad, format!("{}top,院内,最高責任者,,院長,内線100,,,,,ghost,,,\n", super::HEADER)).unwrap();
        c.goto(&app.url("/f/1/contacts")).await?;
        c.find(Locator::Css("#contacts-file")).await?.send_keys(bad.to_str().unwrap()).await?;
        click(c, "#contacts-import").await;
        let issues = text_of(c, "#contacts-issues").await;
        assert!(issues.contains("2行目 / 連絡先ID top: 報告先ID「ghost」"), "{issues}");
        expect_text(c, "main", "株式会社テスト雲").await;
        shot(c, "bcp_05b_import_refused").await;
        // A good file is checked first: the page says what it adds and removes, and nothing is written until
        // confirmed. Merging keeps the contacts the file does not name.
        let before = text_of(c, "main").await;
        let one = screenshots_dir().join("連絡先_追加.csv");
        std::fs::write(&one, format!("{}x-soc,外部関係機関,SOC,,SOC社,03-2222-2222,,,,,,,,\n", super::HEADER)).unwrap();
        c.find(Locator::Css("#contacts-file")).await?.send_keys(one.to_str().unwrap()).await?;
        click(c, "#contacts-import").await;
        expect_text(c, "#preview-added", "x-soc").await;
        assert_ne!(text_of(c, "#preview-removed").await, "なし", "replacing removes the others");
        shot(c, "bcp_05c_import_preview_replace").await;
        c.goto(&app.url("/f/1/contacts")).await?;
        assert!(!text_of(c, "main").await.contains("SOC社"), "nothing written before confirming");
        c.find(Locator::Css("#contacts-file")).await?.send_keys(one.to_str().unwrap()).await?;
        click(c, "#contacts-mode-merge").await;
        click(c, "#contacts-import").await;
        expect_text(c, "#preview-removed", "なし").await;
        shot(c, "bcp_05d_import_preview_merge").await;
        click(c, "#contacts-import-confirm").await;
        expect_text(c, "#contacts-message", "保存しました").await;
        let after = text_of(c, "main").await;
        assert!(after.contains("SOC社") && after.contains("株式会社テスト雲"), "{before}\n→\n{after}");

        // The inspector reads the same, without any form.
        click(c, "#logout").await;
        sign_in(c, app, "tokyo-pref").await;
        c.goto(&app.url("/f/1/bcp")).await?;
        assert_eq!(text_of(c, "#answer-1-1-4").await, "いいえ");
        assert!(c.find(Locator::Css("#save-1-1-4")).await.is_err(), "no form for the inspector");
        shot(c, "bcp_06_inspector_table").await;
        c.goto(&app.url("/f/1/contacts/chart")).await?;
        expect_text(c, "#chart", "株式会社テスト雲").await;
        c.goto(&app.url("/f/1/contacts/new")).await?;
        expect_text(c, "body", "権限").await;
        Ok(())
    }
}

/// The evidence the BCP capability gives the checklist and the confirmation table, through the one interface.
#[tokio::test]
async fn evidence_of_contacts_trainings_and_the_table_reaches_the_checklist_and_the_bcp_table() {
    use mamori_app::evidence::{EvidenceState, EvidenceTarget, collect, for_item};
    let e = Env::new();
    let store = mamori_store::Store::open(&e.db).await.unwrap();
    let f = store.resolve_facility(None).await.unwrap();
    let today = chrono::Local::now().date_naive();
    let state = |all: &[mamori_app::evidence::Evidence], t, item: &str, source: &str| {
        for_item(all, t, item).into_iter().find(|x| x.source == source).map(|x| x.state)
    };
    let all = collect(&store, &f, today).await.unwrap();
    assert_eq!(state(&all, EvidenceTarget::Checklist, "3-(1)", "contacts"), Some(EvidenceState::Missing));
    assert_eq!(state(&all, EvidenceTarget::Checklist, "3-(1)", "training"), Some(EvidenceState::Missing));
    assert_eq!(state(&all, EvidenceTarget::Checklist, "3-(3)", "bcp"), Some(EvidenceState::Missing));
    assert_eq!(state(&all, EvidenceTarget::BcpTable, "1-1", "ledger"), Some(EvidenceState::Missing));

    e.ok(&["contacts", "add", "--id", "top", "--role", "最高責任者"]);
    e.ok(&["contacts", "add-defaults", "--contacted-by", "top"]);
    let all = collect(&store, &f, today).await.unwrap();
    assert_eq!(
        state(&all, EvidenceTarget::Checklist, "3-(1)", "contacts"),
        Some(EvidenceState::Partial),
        "no vendor yet"
    );
    e.ok(&["contacts", "add", "--id", "v", "--kind", "事業者", "--role", "電子カルテ保守", "--contacted-by", "top"]);
    e.ok(&["bcp", "training", "add", "--date", &today.to_string(), "--scenario", "机上訓練"]);
    e.ok(&["bcp", "answer", "1-1-1", "はい"]);
    let all = collect(&store, &f, today).await.unwrap();
    for (t, item, source) in [
        (EvidenceTarget::Checklist, "3-(1)", "contacts"),
        (EvidenceTarget::BcpTable, "1-2", "contacts"),
        (EvidenceTarget::BcpTable, "2-1", "contacts"),
        (EvidenceTarget::Checklist, "3-(1)", "training"),
        (EvidenceTarget::BcpTable, "1-2", "training"),
    ] {
        assert_eq!(state(&all, t, item, source), Some(EvidenceState::Supports), "{item} {source}");
    }
    assert_eq!(state(&all, EvidenceTarget::Checklist, "3-(3)", "bcp"), Some(EvidenceState::Partial));
    // A year later without another training, the data contradicts a はい.
    let later = today + chrono::Days::new(400);
    let all = collect(&store, &f, later).await.unwrap();
    let t = for_item(&all, EvidenceTarget::Checklist, "3-(1)").into_iter().find(|x| x.source == "training").unwrap();
    assert_eq!(t.state, EvidenceState::Contradicts);
    assert!(t.disagrees_with(true));
}

#[test]
fn a_bcp_without_data_says_what_is_missing_and_invents_nothing() {
    let e = Env::new();
    let pdf = e.path("bcp.pdf");
    e.ok(&["bcp", "export", "-o", &pdf]);
    let text = pdf_text(&pdf).replace(['\n', ' '], "");
    for want in [
        "連絡先が登録されていないため、連絡体制図を作成できません",
        "訓練の記録がありません",
        "バックアップの記録がありません",
        "機器台帳が登録されていません",
        "医療情報システム安全管理責任者の連絡先が登録されていません",
        "「○○部門」（BCPの原本を管理する部門）が未入力です",
        // The template's own text and the two systems the hospital did enter.
        "本事業継続計画（以下、本BCPという）は、テスト病院（以下、当院という）",
        "電子カルテシステム",
    ] {
        assert!(text.contains(want), "{want:?} missing");
    }
    // Nothing the hospital did not enter: no contact numbers, no made-up names.
    for absent in ["03-6812-7837", "TEL", "igishitsu"] {
        assert!(!text.contains(absent), "{absent:?} appears though nothing was entered");
    }
    // An empty chart is still a valid one-page chart.
    let chart = e.path("chart.pdf");
    e.ok(&["contacts", "chart", "-o", &chart]);
    assert_eq!(pdf_pages(&chart).0, 1);
}
