//! Behaviour of the vuln capability through the binary and the browser: feed import (all or nothing,
//! idempotent), scan, findings in every format, exit codes, triage with reopening, CPE overrides, the
//! same story on PostgreSQL; the pages by role (direct URLs, forged posts) and a browser story
//! (screenshots in target/screenshots/vuln_*.png).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::harness::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mamori-vuln/tests/fixtures")
}

fn nvd(name: &str) -> String {
    fixtures().join("nvd/records").join(format!("{name}.json")).to_string_lossy().into_owned()
}

fn fx(rel: &str) -> String {
    fixtures().join(rel).to_string_lossy().into_owned()
}

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(BIN).arg("--db").arg(db).args(args).env_remove("MAMORI_FACILITY").output().unwrap()
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(db: &str, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(o.status.success(), "{args:?}: {}", out(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small device ledger: the VPN gateway, a Pulse Secure, an old Windows server, a newer FortiOS,
/// and a device no rule recognises.
const DEVICES: &str = "管理番号,機器種別,メーカー,機種・型番,OS,OSバージョン,IPアドレス,コンピュータ名,状態,説明\n\
VPN-01,ネットワーク機器,Fortinet,FortiGate 60E,FortiOS,6.0.4,\"10.0.0.1, 203.0.113.10\",VPN-GW01,稼働,保守用VPN装置\n\
PCS-01,ネットワーク機器,Pulse Secure,PSA3000,Pulse Connect Secure,9.0R3.3,10.0.0.3,PACS-VPN01,稼働,PACS保守用VPN\n\
SRV-01,サーバ,HPE,ProLiant,Windows Server 2008 R2 Standard,SP1,10.0.1.8,LAB-SV01,稼働,臨床検査サーバ\n\
FW-02,ネットワーク機器,Fortinet,FortiGate 100F,FortiOS,7.4.9,10.0.0.2,FW02,稼働,内部FW\n\
GW-99,ネットワーク機器,某社,社内ゲートウェイ装置,,,10.0.0.9,GW99,稼働,\n";

fn feeds() -> Vec<String> {
    let mut v: Vec<String> = [
        "CVE-2018-13379",
        "CVE-2022-40684",
        "CVE-2022-42475",
        "CVE-2019-11510",
        "CVE-2019-0708",
        "CVE-2020-1472",
        "CVE-2024-55591",
    ]
    .iter()
    .map(|c| nvd(c))
    .collect();
    v.push(fx("kev/kev_subset.json"));
    v.push(fx("jvn/jvndb_detail_2021.rdf"));
    v
}

fn cves_of(db: &str, device: &str) -> Vec<String> {
    let json = ok(db, &["vuln", "findings", "--format", "json", "--device", device]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_array().unwrap().iter().map(|f| f["cve_id"].as_str().unwrap().to_string()).collect()
}

/// The CLI story on one database (SQLite file or PostgreSQL URL).
fn cli_story(db: &str, dir: &Path) {
    ok(db, &["init", "--facility-name", "脆弱性テスト病院", "--prefecture", "東京都", "--beds", "200"]);
    let csv = dir.join("devices.csv");
    std::fs::write(&csv, DEVICES).unwrap();
    ok(db, &["import", "devices", csv.to_str().unwrap()]);

    // A corrupt file among good ones: refused with its reason, exit 3, nothing written.
    let gz = std::fs::read(fx("nvd/nvdcve-2.0-2021.json.gz")).unwrap();
    let cut = dir.join("nvdcve-2.0-2021-cut.json.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let mut args: Vec<String> = vec!["vuln".into(), "import".into()];
    args.extend(feeds());
    args.push(cut.to_string_lossy().into_owned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(db, &refs);
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert!(
        out(&o).contains("nvdcve-2.0-2021-cut.json.gz") && out(&o).contains("何も書き込んでいません"),
        "{}",
        out(&o)
    );
    let status = ok(db, &["vuln", "feeds"]);
    assert!(status.contains("NVD: 0 件") && status.contains("未取込"), "{status}");

    // The good files: written, then idempotent.
    let refs: Vec<&str> = refs[..refs.len() - 1].to_vec();
    let first = ok(db, &refs);
    assert!(first.contains("CVE-2018-13379.json (nvd): 1 件 — 新規 1 件"), "{first}");
    assert!(first.contains("kev_subset.json (kev): 30 件 — 新規 30 件"), "{first}");
    let again = ok(db, &refs);
    assert!(!again.contains("新規 1 件") && again.contains("変更なし 30 件"), "{again}");
    let status = ok(db, &["vuln", "feeds"]);
    assert!(status.contains("NVD: 7 件") && status.contains("CISA KEV: 30 件"), "{status}");
    assert!(status.contains("日前のデータです。更新してください"), "old sample data is flagged: {status}");

    // Findings before any scan: none; scan; the VPN gateway's known flaws, not the 7.x-only ones.
    assert!(cves_of(db, "VPN-01").is_empty());
    let scan = ok(db, &["vuln", "scan", "--by", "ops"]);
    assert!(scan.contains("機器 5 台を照合") && scan.contains("CPE 未判定 1 台"), "{scan}");
    let vpn = cves_of(db, "VPN-01");
    for c in ["CVE-2018-13379", "CVE-2022-42475"] {
        assert!(vpn.contains(&c.to_string()), "VPN-01 has {c}: {vpn:?}");
    }
    for c in ["CVE-2022-40684", "CVE-2024-55591"] {
        assert!(!vpn.contains(&c.to_string()), "7.x-only {c} is not on 6.0.4: {vpn:?}");
    }
    assert!(cves_of(db, "PCS-01").contains(&"CVE-2019-11510".to_string()));
    assert!(cves_of(db, "SRV-01").contains(&"CVE-2019-0708".to_string()));
    assert!(cves_of(db, "FW-02").is_empty(), "FortiOS 7.4.9 is past every fixed version here");
    // Text: KEV ransomware at external points first (CVSS 10.0 before 9.8); the unmatched device is listed for review.
    let text = ok(db, &["vuln", "findings"]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        lines[0].starts_with("[KEV・ランサムウェア][外部接続点] PCS-01 PACS-VPN01 CVE-2019-11510 CVSS 10.0"),
        "{text}"
    );
    assert!(lines[1].starts_with("[KEV・ランサムウェア][外部接続点] VPN-01"), "{text}");
    let review = ok(db, &["vuln", "cpe", "list", "--review"]);
    assert!(review.contains("GW-99") && review.contains("CPE なし"), "{review}");

    // Exports.
    let csv_out = dir.join("findings.csv");
    ok(db, &["vuln", "findings", "--format", "csv", "-o", csv_out.to_str().unwrap()]);
    let csv_text = std::fs::read_to_string(&csv_out).unwrap();
    assert!(csv_text.contains("優先度,管理番号") && csv_text.contains("VPN-01,VPN-GW01"), "{csv_text}");
    let o = run(db, &["vuln", "findings", "--format", "xlsx"]);
    assert_eq!(o.status.code(), Some(1), "xlsx needs -o");
    let xlsx = dir.join("findings.xlsx");
    ok(db, &["vuln", "findings", "--format", "xlsx", "-o", xlsx.to_str().unwrap()]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    // --fail-on: 4 when open KEV findings exist.
    assert_eq!(run(db, &["vuln", "findings", "--fail-on", "kev"]).status.code(), Some(4));

    // Triage: a reason is required; a wrong state or key is refused with exit 3.
    let key = "VPN-01|CVE-2018-13379";
    assert_eq!(run(db, &["vuln", "triage", key, "fixed"]).status.code(), Some(3));
    assert_eq!(run(db, &["vuln", "triage", key, "open", "--reason", "x"]).status.code(), Some(3));
    assert_eq!(run(db, &["vuln", "triage", "NOPE|CVE-1", "fixed", "--reason", "x"]).status.code(), Some(3));
    ok(db, &["vuln", "triage", key, "fixed", "--reason", "FortiOS 6.0.18 に更新", "--by", "ops"]);
    ok(
        db,
        &[
            "vuln",
            "triage",
            "SRV-01|CVE-2019-0708",
            "accepted",
            "--reason",
            "閉域網のみ。更新は2027年3月",
            "--by",
            "mgr",
        ],
    );
    let open = ok(db, &["vuln", "findings", "--format", "json"]);
    assert!(!open.contains(key), "a fixed finding is not in the open list");
    // The ledger still says 6.0.4: the rescan reopens it and says so; the accepted one stays accepted.
    let rescan = ok(db, &["vuln", "scan", "--by", "ops"]);
    assert!(rescan.contains(&format!("再オープン: {key}")), "{rescan}");
    let all: serde_json::Value =
        serde_json::from_str(&ok(db, &["vuln", "findings", "--format", "json", "--all"])).unwrap();
    let state = |k: &str| all.as_array().unwrap().iter().find(|f| f["key"] == k).unwrap()["state"].clone();
    assert_eq!(state(key), "open");
    assert_eq!(state("SRV-01|CVE-2019-0708"), "accepted");
    let hist = ok(db, &["vuln", "history", key]);
    assert!(hist.contains("未対応 → 対応済み (ops): FortiOS 6.0.18 に更新"), "{hist}");
    assert!(hist.contains("対応済み → 未対応"), "{hist}");

    // CPE override: a bad CPE is refused; a good one makes the unknown device diagnosable.
    assert_eq!(run(db, &["vuln", "cpe", "set", "GW-99", "cpe:2.3:broken", "--reason", "x"]).status.code(), Some(3));
    assert_eq!(
        run(
            db,
            &["vuln", "cpe", "set", "NOPE", "cpe:2.3:a:ivanti:connect_secure:9.0:r3.3:*:*:*:*:*:*", "--reason", "x"]
        )
        .status
        .code(),
        Some(3)
    );
    ok(
        db,
        &[
            "vuln",
            "cpe",
            "set",
            "GW-99",
            "cpe:2.3:a:ivanti:connect_secure:9.0:r3.3:*:*:*:*:*:*",
            "--reason",
            "銘板で Pulse Secure 9.0R3.3 と確認",
        ],
    );
    ok(db, &["vuln", "scan"]);
    assert!(cves_of(db, "GW-99").contains(&"CVE-2019-11510".to_string()));
    assert!(ok(db, &["vuln", "cpe", "list"]).contains("GW-99 [手動 / override]"));
}

#[test]
fn cli_import_scan_triage_override_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db").to_string_lossy().into_owned();
    cli_story(&db, dir.path());
}

#[tokio::test]
async fn cli_story_on_postgresql() {
    let Ok(admin) = std::env::var("MAMORI_TEST_PG_URL") else {
        if std::env::var("MAMORI_REQUIRE_PG").is_ok() {
            panic!("MAMORI_REQUIRE_PG is set but MAMORI_TEST_PG_URL is not");
        }
        eprintln!("note: PostgreSQL test skipped (MAMORI_TEST_PG_URL not set; scripts/test.sh sets it)");
        return;
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&admin).await.unwrap();
    let name = format!("mamori_vuln_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    cli_story(&url, dir.path());
}

/// Reading at scale through the CLI: counts, the by-CVE view and the first page agree with the full list;
/// a rescan with nothing changed adds nothing and keeps the findings as they were.
#[test]
fn cli_counts_by_cve_first_page_and_unchanged_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db").to_string_lossy().into_owned();
    let db = db.as_str();
    ok(db, &["init", "--facility-name", "件数テスト病院", "--prefecture", "東京都", "--beds", "200"]);
    let csv = dir.path().join("devices.csv");
    std::fs::write(&csv, DEVICES).unwrap();
    ok(db, &["import", "devices", csv.to_str().unwrap()]);
    let mut args: Vec<String> = vec!["vuln".into(), "import".into()];
    args.extend(feeds());
    ok(db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    ok(db, &["vuln", "scan", "--by", "ops"]);
    let all_json = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut a = vec!["vuln", "findings", "--format", "json"];
        a.extend(extra);
        serde_json::from_str::<serde_json::Value>(&ok(db, &a)).unwrap().as_array().unwrap().clone()
    };
    let full = all_json(&[]);
    assert!(full.len() >= 5, "{full:?}");

    let summary: serde_json::Value =
        serde_json::from_str(&ok(db, &["vuln", "findings", "--summary", "--format", "json"])).unwrap();
    assert_eq!(summary["total"].as_u64().unwrap() as usize, full.len());
    let kev = full.iter().filter(|f| f["kev"] == true).count();
    assert_eq!(summary["kev"].as_u64().unwrap() as usize, kev);
    let text = ok(db, &["vuln", "findings", "--summary"]);
    assert!(text.contains(&format!("脆弱性の指摘 {} 件", full.len())) && text.contains("状態 / state:"), "{text}");

    let by_cve: serde_json::Value =
        serde_json::from_str(&ok(db, &["vuln", "findings", "--by-cve", "--format", "json"])).unwrap();
    let by_cve = by_cve.as_array().unwrap();
    for c in by_cve {
        let id = c["cve_id"].as_str().unwrap();
        let n = full.iter().filter(|f| f["cve_id"] == id).count();
        assert_eq!(c["devices"].as_u64().unwrap() as usize, n, "{id}");
    }
    assert_eq!(by_cve.iter().map(|c| c["devices"].as_u64().unwrap() as usize).sum::<usize>(), full.len());
    let by_cve_text = ok(db, &["vuln", "findings", "--by-cve"]);
    assert!(by_cve_text.contains("CVE-2018-13379") && by_cve_text.contains("台 / devices"), "{by_cve_text}");

    let first = all_json(&["--limit", "2"]);
    assert_eq!(first, full[..2].to_vec(), "the first page is the head of the list");
    assert_eq!(run(db, &["vuln", "findings", "--limit", "0"]).status.code(), Some(1));
    let csv_out = dir.path().join("page.csv");
    ok(db, &["vuln", "findings", "--format", "csv", "--limit", "3", "-o", csv_out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&csv_out).unwrap().lines().count(), 4, "header + 3 rows");

    // Nothing changed: nothing new, the same findings with the same states.
    let all_before = all_json(&["--all"]);
    let rescan = ok(db, &["vuln", "scan", "--by", "ops"]);
    assert!(rescan.contains(&format!("指摘 {} 件（新規 0 件）", full.len())), "{rescan}");
    let all_after = all_json(&["--all"]);
    let strip = |v: &[serde_json::Value]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|f| {
                let mut f = f.clone();
                f.as_object_mut().unwrap().remove("last_seen");
                f
            })
            .collect()
    };
    assert_eq!(strip(&all_before), strip(&all_after));
}

// ---------------------------------------------------------------- the web: roles by direct URL and forged posts

/// The demo hospital (facility 1, with its feeds imported and scanned) plus facility 2, served.
struct App {
    db: String,
    port: u16,
    _dir: tempfile::TempDir,
    _server: Proc,
}

fn pw(login: &str) -> String {
    format!("haru natsu aki fuyu {}", login.len())
}

impl App {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("web.db").to_string_lossy().into_owned();
        ok(&db, &["demo", "--no-serve", "--reset"]);
        ok(&db, &["facility", "add", "--facility-name", "大阪テスト病院", "--prefecture", "大阪府", "--beds", "200"]);
        for (login, role, extra) in [
            ("ops", "operator", vec!["--facility", "1"]),
            ("exec", "executive", vec!["--facility", "1"]),
            ("minato", "vendor", vec!["--facility", "1", "--vendor", "みなとネットワークサービス株式会社"]),
            ("surveyor", "surveyor", vec!["--facility", "1"]),
            ("tokyo-pref", "inspector", vec!["--prefecture", "東京都"]),
        ] {
            let mut args = vec!["user", "add", login, "--name", "試験 利用者", "--role", role, "--password-stdin"];
            args.extend(extra);
            let mut child = Command::new(BIN)
                .arg("--db")
                .arg(&db)
                .args(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(format!("{}\n", pw(login)).as_bytes()).unwrap();
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", out(&o));
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
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).expect("csrf field").split('"').next().unwrap().to_string();
    (cookie, csrf)
}

const VPN_KEY: &str = "0021|CVE-2018-13379";

#[tokio::test]
async fn pages_by_role_direct_urls_and_forged_posts() {
    let app = App::start();
    let p = app.port;
    let (ops, ops_csrf) = login(p, "ops");
    let (exec, exec_csrf) = login(p, "exec");
    let (vendor, _) = login(p, "minato");
    let (surveyor, surveyor_csrf) = login(p, "surveyor");
    let (inspector, _) = login(p, "tokyo-pref");
    let get = |c: &str, path: &str| http(p, "GET", path, c, None);
    let finding = format!("/f/1/vuln/finding?key={}", enc(VPN_KEY));

    // Who sees the findings: the operator, the executive, the assigned surveyor; not the vendor nor the inspector.
    for c in [&ops, &exec, &surveyor] {
        let page = get(c, "/f/1/vuln");
        assert_eq!(page.status, 200);
        assert!(page.text().contains("VPN-GW01") && page.text().contains("CVE-2018-13379"));
        assert_eq!(get(c, &finding).status, 200);
        assert_eq!(get(c, "/f/1/vuln/d/0021").status, 200);
        assert_eq!(get(c, "/f/1/vuln/export?format=csv").status, 200);
    }
    for c in [&vendor, &inspector] {
        for path in ["/f/1/vuln", finding.as_str(), "/f/1/vuln/d/0021", "/f/1/vuln/export?format=xlsx"] {
            assert_eq!(get(c, path).status, 403, "{path}");
        }
    }
    // The by-CVE view, one CVE's devices and the pages: the same guard; a bad page or view is refused.
    let by_cve = get(&ops, "/f/1/vuln?view=cve");
    assert_eq!(by_cve.status, 200);
    assert!(by_cve.text().contains("id=\"by-cve\"") && by_cve.text().contains("CVE-2018-13379"), "{}", by_cve.text());
    let one = get(&surveyor, "/f/1/vuln?state=all&cve=CVE-2018-13379");
    assert_eq!(one.status, 200);
    assert!(one.text().contains("VPN-GW01") && !one.text().contains("CVE-2019-0708"), "{}", one.text());
    assert!(get(&ops, "/f/1/vuln").text().contains("id=\"by-state\""), "counts by state");
    assert_eq!(get(&ops, "/f/1/vuln?page=0").status, 400);
    assert_eq!(get(&ops, "/f/1/vuln?view=nope").status, 400);
    assert_eq!(get(&ops, "/f/1/vuln?page=2").status, 200);
    for c in [&vendor, &inspector] {
        assert_eq!(get(c, "/f/1/vuln?view=cve").status, 403);
        assert_eq!(get(c, "/f/1/vuln/export?format=csv").status, 403);
    }
    assert_eq!(get(&surveyor, "/f/2/vuln?view=cve").status, 403);
    // The CSV export is streamed: BOM, the header, the rows.
    let csv = get(&surveyor, "/f/1/vuln/export?format=csv").text();
    assert!(csv.contains("\u{feff}優先度,管理番号") && csv.contains("VPN-GW01"), "{csv}");
    // The surveyor is assigned facility 1 only.
    assert_eq!(get(&surveyor, "/f/2/vuln").status, 403);
    assert_eq!(get(&ops, "/f/2/vuln").status, 403);
    // Only TriageVuln roles get the forms.
    assert!(get(&ops, &finding).text().contains("id=\"triage-form\""));
    assert!(get(&ops, "/f/1/vuln").text().contains("id=\"scan\""));
    for c in [&surveyor, &exec] {
        assert!(!get(c, &finding).text().contains("id=\"triage-form\""));
        assert!(!get(c, "/f/1/vuln").text().contains("id=\"scan\""));
        assert!(!get(c, "/f/1/vuln/d/0021").text().contains("id=\"cpe-form\""));
    }
    // Forged posts: a read-only role with its own valid token, a missing token, another user's token.
    let triage = |csrf: &str| format!("csrf={csrf}&key={}&state=false-positive&reason={}", enc(VPN_KEY), enc("改ざん"));
    for (c, csrf) in [(&surveyor, &surveyor_csrf), (&exec, &exec_csrf)] {
        assert_eq!(http(p, "POST", "/f/1/vuln/triage", c, Some(&triage(csrf))).status, 403);
        assert_eq!(http(p, "POST", "/f/1/vuln/scan", c, Some(&format!("csrf={csrf}"))).status, 403);
        let form = format!("csrf={csrf}&cpes={}&reason=x", enc("cpe:2.3:o:fortinet:fortios:7.4.9:*:*:*:*:*:*:*"));
        assert_eq!(http(p, "POST", "/f/1/vuln/d/0021/cpe", c, Some(&form)).status, 403);
    }
    assert_eq!(http(p, "POST", "/f/1/vuln/triage", &ops, Some(&triage(""))).status, 403);
    assert_eq!(http(p, "POST", "/f/1/vuln/triage", &ops, Some(&triage(&surveyor_csrf))).status, 403);
    assert_eq!(
        http(p, "POST", "/f/1/vuln/triage", "", Some(&triage(&ops_csrf))).header("location").map(str::to_string),
        Some("/login".into())
    );
    assert_eq!(http(p, "POST", "/f/2/vuln/triage", &ops, Some(&triage(&ops_csrf))).status, 403);
    assert!(get(&ops, &finding).text().contains("id=\"finding-state\">未対応"), "nothing changed");
    // The operator's real post: saved, logged, with history. Without a reason: refused.
    let no_reason = format!("csrf={ops_csrf}&key={}&state=fixed&reason=", enc(VPN_KEY));
    assert_eq!(http(p, "POST", "/f/1/vuln/triage", &ops, Some(&no_reason)).status, 400);
    let real = format!("csrf={ops_csrf}&key={}&state=fixed&reason={}", enc(VPN_KEY), enc("6.0.18 へ更新済み"));
    assert_eq!(http(p, "POST", "/f/1/vuln/triage", &ops, Some(&real)).status, 303);
    let page = get(&surveyor, &finding).text();
    assert!(page.contains("id=\"finding-state\">対応済み") && page.contains("6.0.18 へ更新済み"), "{page}");
    let store = mamori_store::Store::open(&app.db).await.unwrap();
    let log = store.audit_all().await.unwrap();
    assert!(log.iter().any(|e| e.entry.user_login == "ops" && e.entry.target.contains(VPN_KEY)));
    assert!(
        log.iter().any(|e| e.entry.user_login == "surveyor" && e.entry.operation.contains("脆弱性診断結果を書き出し"))
    );
    // Views of findings are logged too (list, one finding, one device), for every role that saw them;
    // refused requests are not views.
    for who in ["ops", "exec", "surveyor"] {
        let views = |op: &str, target: &str| {
            log.iter().any(|e| {
                e.entry.user_login == who
                    && e.entry.category == mamori_model::audit::AuditCategory::View
                    && e.entry.operation == op
                    && e.entry.target.contains(target)
            })
        };
        assert!(views("脆弱性診断結果を閲覧", "一覧"), "{who}: list view not logged");
        assert!(views("脆弱性診断結果（個別）を閲覧", VPN_KEY), "{who}: finding view not logged");
        assert!(views("機器の脆弱性診断結果を閲覧", "0021"), "{who}: device view not logged");
    }
    for who in ["minato", "tokyo-pref"] {
        assert!(
            !log.iter().any(|e| e.entry.user_login == who && e.entry.operation.contains("脆弱性診断結果")),
            "{who} was refused, nothing was shown"
        );
    }
}

// ---------------------------------------------------------------- the browser

async fn browser_login(c: &Client, app: &App, user: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/login")).await?;
    fill(c, "#login", user).await;
    fill(c, "#password", &pw(user)).await;
    click(c, "#submit").await;
    text_of(c, "#who").await;
    Ok(())
}

#[tokio::test]
async fn browser_surveyor_sees_findings_operator_triages() {
    if !browser_available() {
        return;
    }
    let app = App::start();
    let (c, _driver) = browser().await;
    let r = browser_story(&c, &app).await;
    let _ = c.close().await;
    r.unwrap();
}

async fn browser_story(c: &Client, app: &App) -> Result<(), fantoccini::error::CmdError> {
    // The surveyor: findings in priority order, the VPN gateway's KEV/ransomware flaw first; no forms.
    browser_login(c, app, "surveyor").await?;
    c.goto(&app.url("/f/1/vuln")).await?;
    let first = text_of(c, "#findings tbody tr:first-child").await;
    assert!(first.contains("ランサムウェア悪用") && first.contains("外部接続点"), "{first}");
    expect_text(c, "#feeds", "NVD").await;
    expect_text(c, "#feeds-stale", "古い").await;
    assert!(text_of(c, "#review").await.contains("RTX1210") || text_of(c, "#review").await.contains("YAMAHA"));
    assert!(c.find(Locator::Css("#scan")).await.is_err());
    shot(c, "vuln_01_surveyor_findings").await;
    c.goto(&app.url(&format!("/f/1/vuln/finding?key={}", enc(VPN_KEY)))).await?;
    expect_text(c, "#finding-cve", "CVE-2018-13379").await;
    assert!(c.find(Locator::Css("#triage-form")).await.is_err());
    shot(c, "vuln_02_surveyor_finding").await;
    click(c, "#logout").await;

    // The operator: filters to KEV, opens the VPN finding, records it as fixed with a reason.
    browser_login(c, app, "ops").await?;
    c.goto(&app.url("/f/1/vuln")).await?;
    click(c, "#filter-kev").await;
    click(c, "#filter-apply").await;
    let start = Instant::now();
    while !c.current_url().await?.as_str().contains("kev=1") {
        assert!(start.elapsed() < Duration::from_secs(10), "the filter form did not submit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    text_of(c, "#findings").await;
    let rows = c.find_all(Locator::Css("#findings tbody tr")).await?;
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(r.text().await?.contains("KEV"));
    }
    c.goto(&app.url(&format!("/f/1/vuln/finding?key={}", enc(VPN_KEY)))).await?;
    c.find(Locator::Css("#triage-state option[value='fixed']")).await?.click().await?;
    fill(c, "#triage-reason", "FortiOS 6.0.18 へ更新（2026-11-20、みなとネットワーク）").await;
    shot(c, "vuln_03_operator_triage").await;
    click(c, "#triage-submit").await;
    expect_text(c, "#saved", "保存しました").await;
    expect_text(c, "#finding-state", "対応済み").await;
    expect_text(c, "#finding-history", "FortiOS 6.0.18 へ更新").await;
    shot(c, "vuln_04_operator_saved").await;

    // A device with no CPE: set one by hand, rescan, and it gets its findings.
    c.goto(&app.url("/f/1/vuln/d/0024")).await?;
    expect_text(c, "#no-cpe", "判定できません").await;
    fill(c, "#cpe-text", "cpe:2.3:broken").await;
    fill(c, "#cpe-reason", "試し").await;
    click(c, "#cpe-submit").await;
    expect_text(c, "#cpe-error", "CPE").await;
    fill(c, "#cpe-text", "cpe:2.3:a:ivanti:connect_secure:9.0:r3.3:*:*:*:*:*:*").await;
    fill(c, "#cpe-reason", "保守業者の資料で確認").await;
    click(c, "#cpe-submit").await;
    expect_text(c, "#saved", "次の診断").await;
    c.goto(&app.url("/f/1/vuln")).await?;
    click(c, "#scan").await;
    expect_text(c, "#scan-done", "実行しました").await;
    // The ledger still shows FortiOS 6.0.4: the scan reopened the finding the operator closed.
    c.goto(&app.url(&format!("/f/1/vuln/finding?key={}", enc(VPN_KEY)))).await?;
    expect_text(c, "#finding-state", "再オープン").await;
    c.goto(&app.url("/f/1/vuln/d/0024")).await?;
    expect_text(c, "#device-findings", "CVE-2019-11510").await;
    shot(c, "vuln_05_device_override").await;
    Ok(())
}

// ---------------------------------------------------------------- evidence for the checklist and G-MIS

#[tokio::test]
async fn evidence_for_checklist_2_7_and_gmis_q12_follows_the_findings() {
    use mamori_app::evidence::{EvidenceState, EvidenceTarget};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db").to_string_lossy().into_owned();
    ok(&db, &["init", "--facility-name", "根拠テスト病院", "--prefecture", "東京都", "--beds", "120"]);
    let csv = dir.path().join("devices.csv");
    std::fs::write(&csv, DEVICES).unwrap();
    ok(&db, &["import", "devices", csv.to_str().unwrap()]);
    let store = mamori_store::Store::open(&db).await.unwrap();
    let f = store.resolve_facility(None).await.unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    // No scan yet: the item is missing its data.
    let ev = mamori_app::vuln::evidence(&store, &f, today).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].target, ev[0].item.as_str(), ev[0].state),
        (EvidenceTarget::Checklist, "2-(7)", EvidenceState::Missing)
    );
    // Scanned: open KEV findings contradict a はい, KEV first, and the VPN question too.
    let mut args = vec!["vuln".to_string(), "import".to_string()];
    args.extend(feeds());
    ok(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    ok(&db, &["vuln", "scan"]);
    let ev = mamori_app::vuln::evidence(&store, &f, today).await.unwrap();
    let c = ev.iter().find(|e| e.target == EvidenceTarget::Checklist).unwrap();
    assert_eq!((c.state, c.suggests), (EvidenceState::Contradicts, Some(false)));
    assert!(c.reason_ja.contains("CISA KEV") && c.reason_ja.contains("日前のものです"), "{}", c.reason_ja);
    let g = ev.iter().find(|e| e.target == EvidenceTarget::Gmis).unwrap();
    assert_eq!((g.item.as_str(), g.state), ("q12", EvidenceState::Contradicts));
    assert!(g.reason_ja.contains("VPN-01") || g.reason_ja.contains("PCS-01"), "{}", g.reason_ja);
    // The whole list goes through the one evidence interface.
    let all = mamori_app::evidence::collect(&store, &f, today).await.unwrap();
    assert!(all.iter().any(|e| e.source == "vuln" && e.item == "2-(7)"));
    // Every open finding accepted as a risk: nothing contradicts any more, but unpatched and old data keep it "partial".
    let open: serde_json::Value = serde_json::from_str(&ok(&db, &["vuln", "findings", "--format", "json"])).unwrap();
    for f in open.as_array().unwrap() {
        ok(&db, &["vuln", "triage", f["key"].as_str().unwrap(), "accepted", "--reason", "更新計画あり"]);
    }
    let ev = mamori_app::vuln::evidence(&store, &f, today).await.unwrap();
    let c = ev.iter().find(|e| e.target == EvidenceTarget::Checklist).unwrap();
    assert_eq!(c.state, EvidenceState::Partial, "{}", c.reason_ja);
    assert!(c.reason_ja.contains("リスク受容"), "{}", c.reason_ja);
    let g = ev.iter().find(|e| e.target == EvidenceTarget::Gmis).unwrap();
    assert_eq!(g.state, EvidenceState::Partial);
    // Marked fixed instead: the VPN question is supported (by the data as imported).
    for f in open.as_array().unwrap() {
        ok(&db, &["vuln", "triage", f["key"].as_str().unwrap(), "fixed", "--reason", "更新済み"]);
    }
    let ev = mamori_app::vuln::evidence(&store, &f, today).await.unwrap();
    let g = ev.iter().find(|e| e.target == EvidenceTarget::Gmis).unwrap();
    assert_eq!((g.state, g.suggests), (EvidenceState::Supports, Some(true)));
}
