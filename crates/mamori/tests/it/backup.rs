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
