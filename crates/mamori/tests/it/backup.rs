//! Behaviour of the backup capability through the binary and the browser: a facility's targets and backup
//! sets in the store, every run recorded, the policy checked against what really exists (generations read
//! from the repositories, media really gone), what is late or failing, the plan and the report as PDF/xlsx,
//! and the status page per facility with its permissions.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");
const PW: &str = "everyday-password-for-tests";
const ADMIN: &str = "admin-password-for-tests";

/// A database with one facility and a systems ledger, in a temp dir.
struct Env {
    dir: tempfile::TempDir,
    db: String,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db").to_string_lossy().into_owned();
        let e = Env { dir, db };
        e.ok(&["init", "--facility-name", "テスト病院", "--prefecture", "東京都", "--beds", "120"], Some(PW));
        std::fs::write(e.p("systems.csv"), "システム名,事業者\n電子カルテ,A社\nPACS,B社\n").unwrap();
        e.ok(&["import", "systems", &e.p("systems.csv")], None);
        e
    }
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
    /// Runs the binary; `pw` is the everyday password (None: unset).
    fn run(&self, args: &[&str], pw: Option<&str>) -> Output {
        let mut c = Command::new(BIN);
        c.arg("--db").arg(&self.db).args(args).env_remove("MAMORI_FACILITY").env("MAMORI_BACKUP_ADMIN_PASSWORD", ADMIN);
        match pw {
            Some(pw) => c.env("MAMORI_BACKUP_PASSWORD", pw),
            None => c.env_remove("MAMORI_BACKUP_PASSWORD"),
        };
        c.output().unwrap()
    }
    fn ok(&self, args: &[&str], pw: Option<&str>) -> String {
        let out = self.run(args, pw);
        assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
        stdout(&out)
    }
    fn status_json(&self, pw: Option<&str>) -> (Option<i32>, serde_json::Value) {
        let out = self.run(&["backup", "status", "--format", "json"], pw);
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out))))
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn holds(status: &serde_json::Value, id: &str) -> serde_json::Value {
    status["policy"]["points"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap()["holds"].clone()
}

fn pdf_text(path: &str) -> String {
    let out = Command::new("pdftotext").args([path, "-"]).output().expect("pdftotext (Debian poppler-utils)");
    assert!(out.status.success());
    // Table cells may wrap: compare without line breaks and spaces.
    String::from_utf8_lossy(&out.stdout).replace(['\n', ' '], "")
}

/// A facility's whole backup story through the binary: configuration in the store, three generations, an
/// offline copy on removable media that only counts once the media is really gone, an off-site copy, key
/// escrow, check and drill; every run recorded; wrong passwords change nothing and are recorded as failures;
/// the plan and the report as PDF and xlsx.
#[test]
fn a_facility_backs_up_rotates_media_and_proves_its_policy() {
    let e = Env::new();
    std::fs::create_dir_all(e.p("landing")).unwrap();
    std::fs::write(
        e.p("landing/ehr.dump"),
        (0..300_000u32).flat_map(|i| (i * 7919).to_le_bytes()).collect::<Vec<u8>>(),
    )
    .unwrap();
    e.ok(&["backup", "target", "add", "--name", "T1", "--tier", "online", "--path", &e.p("t1"), "--primary"], None);
    e.ok(
        &[
            "backup",
            "target",
            "add",
            "--name",
            "RDX",
            "--tier",
            "offline",
            "--kind",
            "removable_media",
            "--path",
            &e.p("rdx/repo"),
            "--media-id",
            "RDX-01",
        ],
        None,
    );
    e.ok(&["backup", "target", "add", "--name", "遠隔地", "--tier", "offsite", "--path", &e.p("offsite")], None);
    // Removable media without an ID, a relative path, an unknown tier: refused, nothing written.
    for bad in [
        vec!["--name", "X", "--tier", "offline", "--kind", "removable_media", "--path", "/x"],
        vec!["--name", "Y", "--tier", "online", "--path", "relative"],
        vec!["--name", "Z", "--tier", "cloud", "--path", "/z"],
    ] {
        let mut args = vec!["backup", "target", "add"];
        args.extend(bad);
        assert!(!e.run(&args, None).status.success(), "{args:?}");
    }
    assert_eq!(e.ok(&["backup", "target", "list"], None).lines().count(), 3);
    // The system must be in the systems ledger.
    let out = e.run(
        &["backup", "set", "add", "--system", "謎のシステム", "--landing", &e.p("landing"), "--work-dir", &e.p("work")],
        None,
    );
    assert!(!out.status.success() && stderr(&out).contains("医療情報システム一覧にありません"), "{}", stderr(&out));
    e.ok(
        &[
            "backup",
            "set",
            "add",
            "--system",
            "電子カルテ",
            "--landing",
            &e.p("landing"),
            "--work-dir",
            &e.p("work"),
            "--schedule",
            "毎日 2:00",
            "--responsible",
            "情報システム課 田中",
            "--priority",
            "1",
            "--restore-procedure",
            "事業者と共にデータベースを復元する",
        ],
        None,
    );

    // Without the password nothing starts, and the message says what to do.
    let out = e.run(&["backup", "init"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("MAMORI_BACKUP_PASSWORD"), "{}", stderr(&out));
    e.ok(&["backup", "init"], Some(PW));
    // A wrong password: refused, nothing changed, recorded as a failed run.
    let out = e.run(&["backup", "run"], Some("wrong-password"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("パスワードが違います"), "{}", stderr(&out));
    let (_, st) = e.status_json(None);
    assert!(
        st["alerts"].as_array().unwrap().iter().any(|a| a["ja"].as_str().unwrap().contains("最後のバックアップ")),
        "{st:#}"
    );
    for i in 0..3 {
        std::fs::write(e.p("landing/schema.sql"), format!("-- version {i}")).unwrap();
        e.ok(&["backup", "run"], Some(PW));
    }
    // Generations read now from the repository; the offline and off-site copies are missing, no drill, no escrow.
    let (code, st) = e.status_json(Some(PW));
    assert_eq!(code, Some(1), "policy not met yet");
    assert_eq!(st["live"], true);
    assert_eq!(holds(&st, "generations"), true);
    assert_eq!(holds(&st, "encryption"), true);
    assert_eq!(holds(&st, "key_escrow"), false);
    assert_eq!(holds(&st, "restore_drill"), false);
    assert_ne!(holds(&st, "offline_generations"), true);

    e.ok(&["backup", "copy", "--target", "RDX"], Some(PW));
    e.ok(&["backup", "copy", "--target", "遠隔地"], Some(PW));
    // The media is still attached and writable: it does not count as offline, whatever a person says.
    let (_, st) = e.status_json(Some(PW));
    assert_eq!(holds(&st, "offline_generations"), false, "{st:#}");
    assert_eq!(holds(&st, "offsite_copy"), true);
    // Detaching records media ID, time and what is on it; here it is not a separate mount, so it is still there.
    let out = e.ok(&["backup", "media", "detach", "--target", "RDX", "--media-id", "RDX-01"], Some(PW));
    assert!(out.contains("まだマウントされています"), "{out}");
    assert!(!e.run(&["backup", "media", "detach", "--target", "RDX", "--media-id", "RDX-99"], None).status.success());
    let (_, st) = e.status_json(None);
    assert_eq!(holds(&st, "offline_generations"), false, "present media is online");
    // The media is really taken away: now the generations recorded at detach count as offline.
    std::fs::rename(e.p("rdx"), e.p("rdx-in-the-safe")).unwrap();
    let (_, st) = e.status_json(None);
    assert_eq!(holds(&st, "offline_generations"), true, "{st:#}");

    e.ok(&["backup", "escrow", "--holder", "院長", "--holder", "情報システム課長", "--where", "事務長室の金庫"], None);
    e.ok(&["backup", "check", "--read-data", "all"], Some(PW));
    let out = e.ok(&["backup", "drill", "--system", "電子カルテ", "--scratch", &e.p("scratch")], Some(PW));
    assert!(out.contains("不一致 0 件"), "{out}");
    let (code, st) = e.status_json(None);
    assert_eq!(code, Some(0), "every point holds, nothing late: {st:#}");
    assert_eq!(st["live"], false, "without the password the generations are the recorded ones");
    assert!(st["alerts"].as_array().unwrap().is_empty(), "{st:#}");
    let text = e.ok(&["backup", "status"], None);
    assert!(text.contains("すべて満たす") && text.contains("取り外し済み"), "{text}");

    // What the checklist, the BCP table and the G-MIS survey read from here, and the BCP's backup table.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (evidence, table) = rt.block_on(async {
        let store = mamori_store::Store::open(&e.db).await.unwrap();
        let f = store.resolve_facility(None).await.unwrap();
        let today = chrono::Utc::now().date_naive();
        let ev = mamori_app::backup::evidence(&store, &f, today).await.unwrap();
        let table = mamori_app::backup::backup_table(&store, &f).await.unwrap();
        store.close().await;
        (ev, table)
    });
    use mamori_app::evidence::{EvidenceState, EvidenceTarget};
    for (target, item) in [
        (EvidenceTarget::Checklist, "3-(2)"),
        (EvidenceTarget::BcpTable, "1-2"),
        (EvidenceTarget::BcpTable, "4-3"),
        (EvidenceTarget::Gmis, "q6"),
        (EvidenceTarget::Gmis, "q7"),
        (EvidenceTarget::Gmis, "q8"),
        (EvidenceTarget::Gmis, "q9"),
    ] {
        let found = evidence.iter().find(|x| x.target == target && x.item == item).unwrap_or_else(|| panic!("{item}"));
        assert_eq!((found.state, found.suggests), (EvidenceState::Supports, Some(true)), "{found:?}");
    }
    assert_eq!(table.len(), 1);
    let row = &table[0];
    assert_eq!((row.system.as_str(), row.generations, row.offline, row.offsite), ("電子カルテ", Some(3), true, true));
    assert!(row.last_run.is_some() && row.last_drill.as_ref().is_some_and(|(_, ok)| *ok), "{row:?}");
    assert!(row.where_kept.contains("RDX") && row.schedule == "毎日 2:00");

    // Forget never goes below three generations and needs the admin key.
    assert!(!e.run(&["backup", "forget", "--keep", "2"], Some(PW)).status.success());

    // Documents.
    e.ok(&["backup", "report", "plan", "-o", &e.p("plan.pdf")], None);
    let plan = pdf_text(&e.p("plan.pdf"));
    for want in [
        "バックアップ計画書",
        "テスト病院",
        "電子カルテ",
        "T2オフライン",
        "RDX-01",
        "T3遠隔地",
        "事業者と共にデータベースを復元する",
        "院長、情報システム課長",
        "毎日2:00",
    ] {
        assert!(plan.contains(want), "plan lacks {want}: {plan}");
    }
    e.ok(&["backup", "report", "report", "-o", &e.p("report.pdf")], None);
    let report = pdf_text(&e.p("report.pdf"));
    for want in
        ["バックアップ実施報告書", "バックアップ成功3回・失敗1回", "復元訓練一致1回", "RDX-01", "取り外し", "満たす"]
    {
        assert!(report.contains(want), "report lacks {want}: {report}");
    }
    e.ok(&["backup", "report", "report", "--format", "xlsx", "-o", &e.p("report.xlsx")], None);
    assert_eq!(&std::fs::read(e.p("report.xlsx")).unwrap()[..2], b"PK");
    assert!(!e.run(&["backup", "report", "plan", "--format", "docx", "-o", &e.p("x")], None).status.success());
    // The password is never stored.
    for file in [e.db.clone(), format!("{}-wal", e.db)] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.windows(PW.len()).any(|w| w == PW.as_bytes()), "{file} holds the password");
    }
    assert!(Path::new(&e.p("rdx-in-the-safe/repo/config")).exists());
}

// ---------------------------------------------------------------- the status page: roles, forged posts, browser

mod web {
    use std::io::Write;

    use std::process::{Command, Stdio};
    use std::time::Duration;

    use fantoccini::{Client, Locator};

    use super::BIN;
    use crate::harness::*;

    fn pw(login: &str) -> String {
        format!("haru natsu aki fuyu {}", login.len())
    }

    /// The demo hospital (facility 1, 東京都, with the demo's backup configuration) plus a second facility.
    struct App {
        _dir: tempfile::TempDir,
        db: String,
        port: u16,
        _server: Proc,
    }

    impl App {
        fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("web.db").to_string_lossy().into_owned();
            let app = |args: &[&str], stdin: &str| {
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
            app(&["demo", "--no-serve", "--reset"], "");
            app(
                &["facility", "add", "--facility-name", "大阪テスト病院", "--prefecture", "大阪府", "--beds", "200"],
                "",
            );
            for (login, role, extra) in [
                ("backup-mgr", "manager", vec!["--facility", "1"]),
                ("tokyo-pref", "inspector", vec!["--prefecture", "東京都"]),
                ("osaka-pref", "inspector", vec!["--prefecture", "大阪府"]),
                ("bk-vendor", "vendor", vec!["--facility", "1", "--vendor", "みなとネットワークサービス株式会社"]),
            ] {
                let mut args = vec!["user", "add", login, "--name", "試験 利用者", "--role", role, "--password-stdin"];
                args.extend(extra);
                app(&args, &format!("{}\n", pw(login)));
            }
            let port = free_port();
            let server = Command::new(BIN)
                .args(["--db", &db, "serve", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            wait_port(port);
            App { _dir: dir, db, port, _server: Proc(server) }
        }
        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    /// Session cookie and CSRF token of a user, logged in over plain HTTP.
    fn login(port: u16, user: &str) -> (String, String) {
        let page = http(port, "GET", "/login", "", None);
        let pre = page.cookie("mamori_pre").expect("pre-login cookie");
        let res = http(
            port,
            "POST",
            "/login",
            &format!("mamori_pre={pre}"),
            Some(&format!("login={}&password={}&pre={pre}", enc(user), enc(&pw(user)))),
        );
        assert_eq!(res.status, 303, "login of {user}: {}", res.text());
        let cookie = format!("mamori_session={}", res.cookie("mamori_session").expect("session cookie"));
        let home = http(port, "GET", "/facilities", &cookie, None).text();
        let csrf =
            home.split("name=\"csrf\" value=\"").nth(1).expect("csrf field").split('"').next().unwrap().to_string();
        (cookie, csrf)
    }

    async fn audit_ops(db: &str) -> Vec<String> {
        let store = mamori_store::Store::open(db).await.unwrap();
        store
            .audit_all()
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.entry.operation, e.entry.target))
            .collect()
    }

    /// An inspector reads the status and downloads the documents but cannot change anything, by direct URL or
    /// forged post; another prefecture's inspector sees nothing; a manager's change needs the CSRF token and is
    /// logged.
    #[tokio::test]
    async fn the_status_page_is_read_only_for_an_inspector_and_changes_need_manage_and_csrf() {
        let app = App::start();
        let p = app.port;
        let (insp, insp_csrf) = login(p, "tokyo-pref");
        let (osaka, _) = login(p, "osaka-pref");
        let (mgr, mgr_csrf) = login(p, "backup-mgr");
        let (vendor, _) = login(p, "bk-vendor");
        assert_eq!(http(p, "GET", "/f/1/backup", &vendor, None).status, 403, "a vendor has no backup view");
        assert_eq!(http(p, "GET", "/f/1/backup/report?format=pdf", &vendor, None).status, 403);
        assert_eq!(http(p, "GET", "/f/1/backup", "", None).status, 303, "no session: to the login page");
        let page = http(p, "GET", "/f/1/backup", &insp, None);
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("T2 RDX") && html.contains("電子カルテ"), "demo configuration shown");
        assert!(!html.contains("id=\"target-form\"") && !html.contains("id=\"media-form\""), "no forms for a reader");
        // Policy and probe reasons come in the reader's language only (not one "日本語 / English" line).
        assert!(html.contains("主リポジトリを読めません") && !html.contains("cannot read the primary repository"));
        assert!(html.contains("リポジトリが見えません") && !html.contains("no repository visible at"));
        let en = http(p, "GET", "/f/1/backup", &format!("{insp}; mamori_lang=en"), None).text();
        assert!(en.contains("cannot read the primary repository") && !en.contains("主リポジトリを読めません"));
        assert!(en.contains("no repository visible at") && !en.contains("リポジトリが見えません"));
        assert!(
            html.contains("世代数は") && !en.contains("世代数は") && en.contains("generations"),
            "the note on generations"
        );
        assert_eq!(http(p, "GET", "/f/1/backup", &osaka, None).status, 403, "another prefecture");
        assert_eq!(http(p, "GET", "/f/1/backup/plan?format=pdf", &osaka, None).status, 403);
        let pdf = http(p, "GET", "/f/1/backup/plan?format=pdf", &insp, None);
        assert_eq!(pdf.status, 200);
        assert_eq!(&pdf.body[..4], b"%PDF");
        let xlsx = http(p, "GET", "/f/1/backup/report?format=xlsx", &insp, None);
        assert_eq!((xlsx.status, &xlsx.body[..2]), (200, &b"PK"[..]));
        assert_eq!(http(p, "GET", "/f/1/backup/plan?format=exe", &insp, None).status, 400);

        let target = |csrf: &str, name: &str| {
            format!("csrf={csrf}&name={}&tier=offsite&kind=local_dir&path={}", enc(name), enc("/srv/offsite/ehr"))
        };
        let media = |csrf: &str| format!("csrf={csrf}&target={}&media_id=RDX-A&event=detach", enc("T2 RDX"));
        // The inspector's own valid token does not make it a manager.
        assert_eq!(http(p, "POST", "/f/1/backup/targets", &insp, Some(&target(&insp_csrf, "侵入"))).status, 403);
        assert_eq!(http(p, "POST", "/f/1/backup/media", &insp, Some(&media(&insp_csrf))).status, 403);
        // A manager without a token, with another user's token, or without a session: refused.
        assert_eq!(http(p, "POST", "/f/1/backup/targets", &mgr, Some(&target("", "偽造1"))).status, 403);
        assert_eq!(http(p, "POST", "/f/1/backup/targets", &mgr, Some(&target(&insp_csrf, "偽造2"))).status, 403);
        assert_eq!(http(p, "POST", "/f/1/backup/targets", "", Some(&target(&mgr_csrf, "偽造3"))).status, 303);
        assert_eq!(http(p, "POST", "/f/2/backup/targets", &mgr, Some(&target(&mgr_csrf, "他施設"))).status, 403);
        let html = http(p, "GET", "/f/1/backup", &mgr, None).text();
        for name in ["侵入", "偽造1", "偽造2", "偽造3", "他施設"] {
            assert!(!html.contains(name), "{name} was written");
        }
        // The manager's real change goes through and is logged; bad input is refused with a message.
        let r = http(p, "POST", "/f/1/backup/targets", &mgr, Some(&target(&mgr_csrf, "T3b 予備")));
        assert_eq!(r.status, 303, "{}", r.text());
        let bad = http(
            p,
            "POST",
            "/f/1/backup/targets",
            &mgr,
            Some(&format!("csrf={mgr_csrf}&name=X&tier=offline&kind=removable_media&path=%2Fmnt%2Fx")),
        );
        assert_eq!(bad.status, 422);
        assert!(bad.text().contains("媒体ID"), "{}", bad.text());
        let unknown_media = http(
            p,
            "POST",
            "/f/1/backup/media",
            &mgr,
            Some(&format!("csrf={mgr_csrf}&target={}&media_id=USB-9&event=detach", enc("T2 RDX"))),
        );
        assert_eq!(unknown_media.status, 422);
        assert_eq!(http(p, "POST", "/f/1/backup/media", &mgr, Some(&media(&mgr_csrf))).status, 303);
        let html = http(p, "GET", "/f/1/backup", &mgr, None).text();
        assert!(html.contains("T3b 予備") && html.contains("RDX-A"));
        let log = audit_ops(&app.db).await;
        assert!(log.iter().any(|l| l.contains("バックアップ保管先を登録") && l.contains("T3b 予備")), "{log:?}");
        assert!(log.iter().any(|l| l.contains("バックアップ媒体の取り外しを記録")), "{log:?}");
        assert!(log.iter().any(|l| l.contains("バックアップ計画書を書き出し")), "{log:?}");
        assert!(!log.iter().any(|l| l.contains("侵入") || l.contains("偽造")));
    }

    /// A manager of the demo hospital in Chromium: sees what is late (no run yet), adds an off-site target,
    /// records a media detach; an inspector sees the same page without the forms.
    #[tokio::test]
    async fn browser_a_manager_sees_what_is_late_and_records_media() {
        if !browser_available() {
            return;
        }
        let app = App::start();
        let (c, _driver) = browser().await;
        let r = story(&c, &app).await;
        let _ = c.close().await;
        r.unwrap();
    }

    async fn sign_in(c: &Client, app: &App, user: &str) -> Result<(), fantoccini::error::CmdError> {
        c.goto(&app.url("/login")).await?;
        fill(c, "#login", user).await;
        fill(c, "#password", &pw(user)).await;
        c.find(Locator::Css("#submit")).await?.click().await?;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#who")).await?;
        Ok(())
    }

    async fn story(c: &Client, app: &App) -> Result<(), fantoccini::error::CmdError> {
        sign_in(c, app, "backup-mgr").await?;
        c.find(Locator::Css("#nav-backup")).await?.click().await?;
        // The demo configured targets and the EHR set but nothing ran: the page says so, as failing.
        expect_text(c, "#overall", "満たしていない").await;
        let alerts = text_of(c, "#alerts").await;
        assert!(alerts.contains("成功したバックアップがありません"), "{alerts}");
        assert_eq!(
            c.find(Locator::Css("#point-key_escrow")).await?.attr("data-state").await?.as_deref(),
            Some("ok"),
            "the demo recorded who holds the password"
        );
        assert_eq!(
            c.find(Locator::Css("#point-restore_drill")).await?.attr("data-state").await?.as_deref(),
            Some("ng")
        );
        expect_text(c, "#targets", "取り外し済み").await;
        let png = c.screenshot().await?;
        std::fs::write(screenshots_dir().join("backup_01_status.png"), png).unwrap();
        // Add a target.
        fill(c, "#t-name", "T3b 予備").await;
        c.find(Locator::Css("#t-tier option[value=offsite]")).await?.click().await?;
        fill(c, "#t-path", "/srv/offsite/ehr").await;
        c.find(Locator::Css("#t-submit")).await?.click().await?;
        expect_text(c, "#message", "保管先を登録しました").await;
        expect_text(c, "#targets", "T3b 予備").await;
        // A REST server target is offered only by a build that can reach one; its location may not carry a
        // password (it would be stored): refused with what to do instead.
        let rest_offered = c.find(Locator::Css("#t-kind option[value=rest_server]")).await.is_ok();
        assert_eq!(rest_offered, cfg!(feature = "backup-rest"));
        if rest_offered {
            fill(c, "#t-name", "T3c REST").await;
            c.find(Locator::Css("#t-kind option[value=rest_server]")).await?.click().await?;
            fill(c, "#t-path", "rest:https://offsite:secret@backup.example:8000/ehr/").await;
            c.find(Locator::Css("#t-submit")).await?.click().await?;
            expect_text(c, "#form-error", "MAMORI_BACKUP_REST_PASSWORD").await;
            assert!(!text_of(c, "#targets").await.contains("T3c REST"));
        }
        // Record a detach of a registered medium.
        fill(c, "#m-media", "RDX-B").await;
        c.find(Locator::Css("#m-submit")).await?.click().await?;
        expect_text(c, "#message", "媒体の記録を保存しました").await;
        let media = text_of(c, "#media").await;
        assert!(media.contains("RDX-B") && media.contains("取り外し") && media.contains("backup-mgr"), "{media}");
        let png = c.screenshot().await?;
        std::fs::write(screenshots_dir().join("backup_02_recorded.png"), png).unwrap();
        // The inspector: the same facts, no forms.
        c.goto(&app.url("/logout")).await?;
        c.delete_all_cookies().await?;
        sign_in(c, app, "tokyo-pref").await?;
        c.goto(&app.url("/f/1/backup")).await?;
        expect_text(c, "#media", "RDX-B").await;
        assert!(c.find(Locator::Css("#target-form")).await.is_err(), "no form for the inspector");
        assert!(c.find(Locator::Css("#media-form")).await.is_err());
        let png = c.screenshot().await?;
        std::fs::write(screenshots_dir().join("backup_03_inspector.png"), png).unwrap();
        Ok(())
    }
}

/// `mamori demo` with both passwords in the environment makes a real repository beside the database: three
/// generations, a check and a drill, recorded; Debian's restic reads it. Without them no repository is made.
#[test]
fn the_demo_makes_a_real_repository_only_with_the_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db").to_string_lossy().into_owned();
    let demo = |with: bool| {
        let mut c = Command::new(BIN);
        c.args(["--db", &db, "demo", "--no-serve", "--reset"]).env_remove("MAMORI_FACILITY");
        if with {
            c.env("MAMORI_BACKUP_PASSWORD", PW).env("MAMORI_BACKUP_ADMIN_PASSWORD", ADMIN);
        } else {
            c.env_remove("MAMORI_BACKUP_PASSWORD").env_remove("MAMORI_BACKUP_ADMIN_PASSWORD");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let repo = format!("{db}-backup/nas/ehr");
    assert!(demo(false).contains("実際のリポジトリも作るには"));
    assert!(!Path::new(&repo).exists());
    assert!(demo(true).contains("3世代"));
    let status = Command::new(BIN)
        .args(["--db", &db, "backup", "status", "--format", "json"])
        .env_remove("MAMORI_BACKUP_PASSWORD")
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(holds(&st, "generations"), true, "{st:#}");
    assert_eq!(holds(&st, "restore_drill"), true);
    assert_eq!(holds(&st, "encryption"), true);
    if Path::new("/usr/bin/restic").exists() {
        let out = Command::new("restic")
            .args(["-r", &repo, "--no-lock", "--json", "snapshots"])
            .env("RESTIC_PASSWORD", PW)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(snaps.as_array().unwrap().len(), 3, "restic sees the three generations");
    }
    // A reset replaces the demo's own files and starts again.
    assert!(demo(true).contains("3世代"));
}

/// A dump taken from a command's standard output (e.g. pg_dump) is a backup set like a landing folder; a failing
/// command keeps no snapshot and is recorded as a failed run.
#[test]
fn a_dump_command_is_backed_up_and_a_failing_one_is_recorded() {
    let e = Env::new();
    std::fs::write(e.p("dump.sql"), "CREATE TABLE pacs (id int);\n".repeat(1000)).unwrap();
    e.ok(&["backup", "target", "add", "--name", "T1", "--tier", "online", "--path", &e.p("t1"), "--primary"], None);
    let cmd = format!("/bin/cat {}", e.p("dump.sql"));
    e.ok(
        &["backup", "set", "add", "--system", "PACS", "--command", &cmd, "--dump-type", "sql", "--work-dir", &e.p("w")],
        None,
    );
    e.ok(&["backup", "init"], Some(PW));
    let out = e.ok(&["backup", "run", "--format", "json"], Some(PW));
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs[0]["system"], "PACS");
    assert!(runs[0]["bytes"].as_u64().unwrap() >= 28_000, "the whole dump is stored: {runs}");
    let out = e.ok(&["backup", "drill", "--system", "PACS", "--scratch", &e.p("scratch")], Some(PW));
    assert!(out.contains("不一致 0 件"), "{out}");
    // The same set with a command that fails: exit 1, the failure recorded with its reason.
    e.ok(&["backup", "set", "add", "--system", "電子カルテ", "--command", "/bin/false", "--work-dir", &e.p("w")], None);
    let out = e.run(&["backup", "run", "--system", "電子カルテ"], Some(PW));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, st) = e.status_json(Some(PW));
    let alerts = st["alerts"].to_string();
    assert!(alerts.contains("電子カルテ: 最後のバックアップ") && alerts.contains("失敗しました"), "{alerts}");
    let gens = st["policy"]["points"][0]["evidence"]["ja"].as_str().unwrap().to_string();
    assert!(gens.contains("PACS: 1 世代") && gens.contains("電子カルテ: 0 世代"), "{gens}");
    let gens_en = st["policy"]["points"][0]["evidence"]["en"].as_str().unwrap().to_string();
    assert!(gens_en.contains("PACS: 1 generations") && !gens_en.contains("世代"), "{gens_en}");
    // Forget with the admin key keeps the newest three; the listing the pages show (no password) follows.
    for _ in 0..3 {
        e.ok(&["backup", "run", "--system", "PACS"], Some(PW));
    }
    e.ok(&["backup", "forget", "--keep", "3"], Some(PW));
    let (_, st) = e.status_json(None);
    let gens = st["policy"]["points"][0]["evidence"]["ja"].as_str().unwrap().to_string();
    assert!(gens.contains("PACS: 3 世代"), "{gens}");
    let runs = e.ok(&["backup", "report", "report", "--format", "pdf", "-o", &e.p("r.pdf")], None);
    assert!(runs.contains("r.pdf"));
    assert!(pdf_text(&e.p("r.pdf")).contains("世代整理"), "the forget is in the report");
}

/// REST server targets: a location with credentials or in the wrong form is refused in every build; a build
/// without the `backup-rest` feature refuses a REST target with a message that says how to get one.
#[test]
fn rest_server_targets_are_checked_before_they_are_stored() {
    let e = Env::new();
    let add = |path: &str, kind: &str| {
        e.run(
            &["backup", "target", "add", "--name", "遠隔地", "--tier", "offsite", "--kind", kind, "--path", path],
            None,
        )
    };
    let out = add("rest:https://backup:secret@offsite.example:8000/ehr/", "rest_server");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("MAMORI_BACKUP_REST_PASSWORD"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("secret"), "the password is not echoed: {}", stderr(&out));
    for (path, kind) in [("rest:ftp://offsite.example/ehr", "rest_server"), ("/srv/ehr", "rest_server")] {
        let out = add(path, kind);
        assert!(!out.status.success() && stderr(&out).contains("rest:https://"), "{path}: {}", stderr(&out));
    }
    // A rest: location must be registered as kind rest_server.
    let out = add("rest:https://offsite.example:8000/ehr/", "local_dir");
    assert!(!out.status.success() && stderr(&out).contains("rest_server"), "{}", stderr(&out));
    let out = add("rest:https://offsite.example:8000/ehr/", "rest_server");
    if cfg!(feature = "backup-rest") {
        assert!(out.status.success(), "{}", stderr(&out));
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("--features backup-rest"), "{}", stderr(&out));
    }
    let listed = e.ok(&["backup", "target", "list"], None);
    assert_eq!(listed.lines().count(), usize::from(cfg!(feature = "backup-rest")), "{listed}");
    assert!(!listed.contains("secret"));
}

/// T3 off-site on a restic REST server through the CLI (only with `--features backup-rest`): `rclone serve restic`
/// on loopback as the server, the basic-auth credentials from the environment only, a copy of every generation,
/// the generations read back from the server for the off-site policy point, and Debian's restic reading it.
#[cfg(feature = "backup-rest")]
#[test]
fn an_offsite_copy_goes_to_a_rest_server_target() {
    struct Rclone(std::process::Child);
    impl Drop for Rclone {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let e = Env::new();
    std::fs::create_dir_all(e.p("landing")).unwrap();
    std::fs::create_dir_all(e.p("rest-store")).unwrap();
    std::fs::write(e.p("landing/ehr.dump"), (0..100_000u32).flat_map(|i| (i * 31).to_le_bytes()).collect::<Vec<u8>>())
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Rclone(
        Command::new("rclone")
            .args(["serve", "restic", "--addr", &format!("127.0.0.1:{port}"), "--user", "offsite", "--pass", "rest-pw"])
            .arg(e.p("rest-store"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rclone (Debian) must be installed: crates/mamori-backup/APT_PACKAGES"),
    );
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "rclone serve restic did not listen");
    let url = format!("rest:http://127.0.0.1:{port}/ehr/");
    e.ok(&["backup", "target", "add", "--name", "T1", "--tier", "online", "--path", &e.p("t1"), "--primary"], None);
    e.ok(
        &["backup", "target", "add", "--name", "遠隔地", "--tier", "offsite", "--kind", "rest_server", "--path", &url],
        None,
    );
    e.ok(
        &["backup", "set", "add", "--system", "電子カルテ", "--landing", &e.p("landing"), "--work-dir", &e.p("w")],
        None,
    );
    e.ok(&["backup", "init"], Some(PW));
    for i in 0..3 {
        std::fs::write(e.p("landing/schema.sql"), format!("-- version {i}")).unwrap();
        e.ok(&["backup", "run"], Some(PW));
    }
    let with_auth = |args: &[&str], auth: bool| {
        let mut c = Command::new(BIN);
        c.arg("--db").arg(&e.db).args(args).env_remove("MAMORI_FACILITY");
        c.env("MAMORI_BACKUP_PASSWORD", PW).env("MAMORI_BACKUP_ADMIN_PASSWORD", ADMIN);
        if auth {
            c.env("MAMORI_BACKUP_REST_USER", "offsite").env("MAMORI_BACKUP_REST_PASSWORD", "rest-pw");
        } else {
            c.env_remove("MAMORI_BACKUP_REST_USER").env_remove("MAMORI_BACKUP_REST_PASSWORD");
        }
        c.output().unwrap()
    };
    // Without the server's credentials the copy fails and says so; with them it copies all three generations.
    let out = with_auth(&["backup", "copy", "--target", "遠隔地"], false);
    assert!(!out.status.success(), "{}", stdout(&out));
    let out = with_auth(&["backup", "copy", "--target", "遠隔地", "--format", "json"], true);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(!stderr(&out).contains("rest-pw") && !stdout(&out).contains("rest-pw"));
    let (r, _): (serde_json::Value, serde_json::Value) = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["copied"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["check"]["ok"], true, "{r}");
    // The off-site point reads the generations from the server.
    let out = with_auth(&["backup", "status", "--format", "json"], true);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(holds(&st, "offsite_copy"), true, "{st:#}");
    let targets = st.to_string();
    assert!(targets.contains("REST サーバーが応答し"), "{st:#}");
    // Debian's restic reads the off-site copy over REST.
    let out = Command::new("restic")
        .args(["-r", &format!("rest:http://offsite:rest-pw@127.0.0.1:{port}/ehr/"), "snapshots", "--json", "--no-lock"])
        .env("RESTIC_PASSWORD", PW)
        .env("RESTIC_CACHE_DIR", e.p("restic-cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap().as_array().unwrap().len(), 3);
}
