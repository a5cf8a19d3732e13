//! The ledger commands of the real binary: import (all or nothing), export round trips, findings, demo,
//! a kill in the middle of an import, and the same story on PostgreSQL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A database with one facility, in a temp dir that lives as long as this value.
struct Env {
    dir: tempfile::TempDir,
    db: String,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db").to_string_lossy().into_owned();
        let e = Env { dir, db };
        let out = e.run(&["init", "--facility-name", "テスト病院", "--prefecture", "東京都", "--beds", "120"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        e
    }
    fn with_db(db: String) -> Self {
        let e = Env { dir: tempfile::tempdir().unwrap(), db };
        let out = e.run(&["init", "--facility-name", "テスト病院", "--prefecture", "東京都", "--beds", "120"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        e
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).arg("--db").arg(&self.db).args(args).env_remove("MAMORI_FACILITY").output().unwrap()
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
    /// The whole ledger as UTF-8 CSV text: what "the database is unchanged" is compared by.
    fn export(&self, ledger: &str) -> String {
        let out = self.run(&["export", ledger, "--format", "csv"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn manual_example_imports_and_round_trips_through_every_format() {
    let e = Env::new();
    let out = e.run(&["import", "devices", fixture("manual_devices_cp932.csv").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("新規 4 件"), "{}", stdout(&out));
    let first = e.export("devices");
    assert!(first.contains("Room1のPC1"), "full-width digits normalised: {first}");
    assert!(first.contains("2020-12-01") && first.contains("停止"), "{first}");

    // Re-import of the same file: no duplicates, nothing changed.
    let out = e.run(&["import", "devices", fixture("manual_devices_cp932.csv").to_str().unwrap()]);
    assert!(stdout(&out).contains("新規 0 件、更新 0 件、変更なし 4 件"), "{}", stdout(&out));

    // Every export format reads back into exactly the same ledger.
    for (fmt, name) in [("csv", "out.csv"), ("csv-cp932", "out-sjis.csv"), ("xlsx", "out.xlsx")] {
        let path = e.path(name);
        let out = e.run(&["export", "devices", "--format", fmt, "-o", &path]);
        assert!(out.status.success(), "{fmt}: {}", stderr(&out));
        let out = e.run(&["import", "devices", &path]);
        assert!(stdout(&out).contains("変更なし 4 件"), "{fmt}: {}{}", stdout(&out), stderr(&out));
        assert_eq!(e.export("devices"), first, "{fmt} round trip changed the ledger");
    }
    let sjis = std::fs::read(e.path("out-sjis.csv")).unwrap();
    assert!(std::str::from_utf8(&sjis).is_err(), "the CP932 export really is Shift_JIS");
}

#[test]
fn accounts_with_japanese_dates_and_findings() {
    let e = Env::new();
    let out = e.run(&["import", "accounts", fixture("accounts_utf8bom.csv").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = e.export("accounts");
    assert!(csv.contains("2027-03-31"), "令和9年3月31日 and R9.3.31 read as 2027-03-31: {csv}");
    let out = e.run(&["findings", "--format", "json", "--today", "2026-11-21"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap().into(), f["kind"].as_str().unwrap().into()))
        .collect();
    assert!(kinds.contains(&("suzuki03".into(), "account_retired".into())), "{kinds:?}");
    assert!(kinds.contains(&("takahashi04".into(), "account_unused".into())), "{kinds:?}");
    assert!(!kinds.iter().any(|(k, _)| k == "yamada01"), "{kinds:?}");
    let out = e.run(&["findings", "--today", "2026-11-21", "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(4), "--fail-on high with a retired account");
}

#[test]
fn every_malformed_file_is_refused_with_its_reason_and_nothing_is_written() {
    let e = Env::new();
    assert!(e.run(&["import", "devices", fixture("manual_devices_cp932.csv").to_str().unwrap()]).status.success());
    let before = e.export("devices");
    let cases: &[(&str, &[&str])] = &[
        ("bad_date.csv", &["2行目", "存在しない日付", "4行目", "日付として読めません"]),
        ("duplicate_key.csv", &["4行目", "「201」が2行目と重複"]),
        ("missing_column.csv", &["必須列「管理番号」がありません"]),
        ("empty.csv", &["ファイルが空です"]),
        ("header_only.csv", &["データ行がありません"]),
        ("bad_status.csv", &["3行目", "「動いてる」は使えない値", "稼働、停止"]),
        ("huge_field.csv", &["2行目", "長すぎます"]),
        ("bad_encoding.csv", &["文字コードを判別できません", "2行目"]),
    ];
    for (file, expected) in cases {
        let out = e.run(&["import", "devices", fixture(file).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{file}: exit code 3 for refused input; {}", stderr(&out));
        let err = stderr(&out);
        for want in *expected {
            assert!(err.contains(want), "{file}: expected «{want}» in:\n{err}");
        }
        assert!(err.contains("何も書き込んでいません") && err.contains("nothing was written"), "{file}: {err}");
        assert_eq!(e.export("devices"), before, "{file} changed the database");
    }
    // --dry-run of a valid file writes nothing either.
    let out = e.run(&["import", "accounts", fixture("accounts_utf8bom.csv").to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success() && stdout(&out).contains("書き込んでいません"), "{}", stdout(&out));
    assert_eq!(e.export("accounts").lines().count(), 1, "only the header: nothing imported");
    // JSON report for tools.
    let out = e.run(&["import", "devices", fixture("bad_date.csv").to_str().unwrap(), "--report", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["written"], false);
    assert_eq!(v["issues"][0]["row"], 2);
    assert_eq!(v["issues"][0]["column"], "登録日");
}

#[test]
fn odd_headers_are_mapped_once_and_remembered() {
    let e = Env::new();
    let f = fixture("odd_headers.csv");
    let out = e.run(&["import", "devices", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--map") || stderr(&out).contains("対応付け"), "{}", stderr(&out));
    let out = e.run(&["import", "devices", f.to_str().unwrap(), "--map", "資産ラベル=asset_no", "--save-mapping"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = e.run(&["import", "devices", f.to_str().unwrap()]);
    assert!(out.status.success() && stdout(&out).contains("変更なし 1 件"), "saved mapping used: {}", stderr(&out));
    let out = e.run(&["findings", "--today", "2026-11-21", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|f| f["key"] == "X-1" && f["kind"] == "os_end_of_support"), "{v}");
}

/// SIGKILL while the import is writing: the database is exactly as before (one transaction).
#[test]
fn kill_during_a_large_import_leaves_the_database_as_before() {
    let e = Env::new();
    assert!(e.run(&["import", "devices", fixture("manual_devices_cp932.csv").to_str().unwrap()]).status.success());
    let before = e.export("devices");
    let big = e.path("big.csv");
    let mut text = String::from("管理番号,メーカー,OS,IPアドレス,コンピュータ名,設置場所,利用者,登録日,状態\n");
    for i in 0..60_000 {
        text.push_str(&format!(
            "B{i:06},富士通,Windows 11 Pro,10.{}.{}.{},PC{i},3階病棟,共用,2024/4/1,稼働\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    std::fs::write(&big, text).unwrap();
    let mut child = Command::new(BIN)
        .args(["--db", &e.db, "import", "devices", &big])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut saw_writing = false;
    for line in lines.by_ref() {
        if line.unwrap().contains("writing") {
            saw_writing = true;
            break;
        }
    }
    assert!(saw_writing, "the import reports its writing progress");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was killed before it finished");
    assert_eq!(e.export("devices"), before, "a killed import left part of itself behind");
    // The next run completes.
    let out = e.run(&["import", "devices", &big]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("新規 60000 件"), "{}", stdout(&out));
}

#[test]
fn demo_hospital_has_what_the_issue_promises_and_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db").to_string_lossy().into_owned();
    let out = Command::new(BIN).args(["--db", &db, "demo", "--no-serve"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in ["機器台帳: 305 件", "利用者ID台帳: 600 件", "医療情報システム一覧: 12 件", "事業者一覧: 9 件"]
    {
        assert!(text.contains(want), "{want} in {text}");
    }
    let out = Command::new(BIN)
        .args(["--db", &db, "findings", "--format", "json", "--today", "2026-11-21"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v.as_array().unwrap();
    let has = |kind: &str, title_part: &str| {
        f.iter().any(|x| x["kind"] == kind && x["title_ja"].as_str().unwrap().contains(title_part))
    };
    assert!(has("os_end_of_support", "FortiOS 6.0.4"), "the VPN gateway's FortiOS 6.0 is past end of support");
    assert!(has("os_end_of_support", "Windows Server 2012 R2"));
    assert!(has("os_end_of_support", "Windows Server 2008 R2"));
    assert!(has("account_retired", ""));
    assert!(has("account_expired", ""));
    assert!(has("account_unused", ""));
    assert!(has("duplicate_ip", "10.10.20.11"));
    assert!(has("admin_logon_pc", ""));
    assert!(!has("os_end_of_support", "25H2"), "Windows 11 25H2 is supported until 2027-10");
    // A report whose reader has gone (`mamori findings | head` after head exits) ends like any Unix tool,
    // without a panic: here the read end is closed before the first write.
    for args in [&["findings", "--format", "json"][..], &["export", "accounts", "--format", "csv"][..]] {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert!(out.status.success() || out.status.signal() == Some(libc::SIGPIPE), "{args:?}: {:?}", out.status);
        assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
    }
    // A second `mamori demo` reuses the hospital instead of duplicating it.
    let out = Command::new(BIN).args(["--db", &db, "demo", "--no-serve"]).output().unwrap();
    assert!(stdout(&out).contains("すでにあります"));
}

/// The same CLI story on PostgreSQL gives the same ledgers as on SQLite.
#[test]
fn the_same_story_on_postgresql() {
    let Ok(admin) = std::env::var("MAMORI_TEST_PG_URL") else {
        assert!(std::env::var("MAMORI_REQUIRE_PG").is_err(), "MAMORI_REQUIRE_PG set without MAMORI_TEST_PG_URL");
        eprintln!("note: PostgreSQL CLI test skipped (MAMORI_TEST_PG_URL not set)");
        return;
    };
    let name = format!("mamori_cli_{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.unwrap();
    });
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let pg = Env::with_db(url);
    let lite = Env::new();
    for e in [&pg, &lite] {
        for (ledger, file) in [("devices", "manual_devices_cp932.csv"), ("accounts", "accounts_utf8bom.csv")] {
            let out = e.run(&["import", ledger, fixture(file).to_str().unwrap()]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        assert_eq!(e.run(&["import", "devices", fixture("bad_date.csv").to_str().unwrap()]).status.code(), Some(3));
    }
    assert_eq!(pg.export("devices"), lite.export("devices"));
    assert_eq!(pg.export("accounts"), lite.export("accounts"));
    let f = |e: &Env| stdout(&e.run(&["findings", "--format", "json", "--today", "2026-11-21"]));
    assert_eq!(f(&pg), f(&lite));
}

/// The backup commands on a real repository: generations, a bit-exact drill, forget only with the admin key.
#[test]
fn backup_commands_keep_generations_and_prove_restores() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::create_dir_all(p("landing")).unwrap();
    std::fs::write(p("landing/ehr.dump"), (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let run = |args: &[&str], pw: &str| {
        Command::new(BIN)
            .args(args)
            .env("MAMORI_BACKUP_PASSWORD", pw)
            .env("MAMORI_BACKUP_ADMIN_PASSWORD", "admin-password-for-tests")
            .output()
            .unwrap()
    };
    let pw = "everyday-password-for-tests";
    let repo = p("repo");
    assert!(run(&["backup", "init", "--repo", &repo], pw).status.success());
    for i in 0..4 {
        std::fs::write(p("landing/schema.sql"), format!("version {i}")).unwrap();
        let out = run(
            &[
                "backup",
                "run",
                "--repo",
                &repo,
                "--system",
                "電子カルテ",
                "--landing",
                &p("landing"),
                "--work-dir",
                &p("work"),
            ],
            pw,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(&["backup", "status", "--repo", &repo], pw);
    assert!(stdout(&out).contains("世代 / generations: 4"), "{}", stdout(&out));
    let out = run(&["backup", "drill", "--repo", &repo, "--system", "電子カルテ", "--scratch", &p("scratch")], pw);
    assert!(out.status.success() && stdout(&out).contains("不一致 0 件"), "{}{}", stdout(&out), stderr(&out));
    let out = run(&["backup", "forget", "--repo", &repo, "--keep", "2"], pw);
    assert!(!out.status.success(), "fewer than 3 generations is refused");
    let out = run(&["backup", "status", "--repo", &repo], "wrong-password");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("パスワードが違います"), "{}", stderr(&out));
    let out = run(&["backup", "forget", "--repo", &repo, "--keep", "3"], pw);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["backup", "status", "--repo", &repo, "--format", "json"], pw);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0].as_array().unwrap().len(), 3, "the newest three generations stay");
    let out = run(&["backup", "check", "--repo", &repo, "--read-data", "all"], pw);
    assert!(out.status.success(), "{}", stdout(&out));
}
