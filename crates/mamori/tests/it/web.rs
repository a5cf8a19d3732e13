//! The web app of the real binary: first-run setup, login, ledgers, import with its dry-run table, edits
//! with history, export, the access log — in headless Chromium (chromedriver + fantoccini) — and every
//! role's limits by direct URL and forged form posts (plain HTTP requests).
//!
//! Browser tests are skipped with a message when /usr/bin/chromedriver is missing, unless
//! MAMORI_REQUIRE_BROWSER=1 (CI), which makes them fail instead. Screenshots (1280×800) go to
//! target/screenshots/.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::harness::*;

const ADMIN_PW: &str = "sakura mochi to ocha";
const VENDOR: &str = "みなとネットワークサービス株式会社";

/// The password given to a test user (the policy forbids one containing the user ID).
fn user_pw(login: &str) -> String {
    format!("haru natsu aki fuyu {}", login.len())
}

/// The demo hospital (facility 1, 東京都) plus a second facility (2, 大阪府), served on a free port.
struct App {
    dir: tempfile::TempDir,
    db: String,
    port: u16,
    _server: Proc,
}

impl App {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("web.db").to_string_lossy().into_owned();
        let run = |args: &[&str]| {
            let out = Command::new(BIN).arg("--db").arg(&db).args(args).env_remove("MAMORI_FACILITY").output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(&["demo", "--no-serve", "--reset"]);
        run(&["facility", "add", "--facility-name", "大阪テスト病院", "--prefecture", "大阪府", "--beds", "200"]);
        let port = free_port();
        let server = Command::new(BIN)
            .args(["--db", &db, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        wait_port(port);
        App { dir, db, port, _server: Proc(server) }
    }

    fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("MAMORI_FACILITY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn add_user(&self, login: &str, role: &str, extra: &[&str]) {
        let mut args = vec!["user", "add", login, "--name", "試験 利用者", "--role", role, "--password-stdin"];
        args.extend_from_slice(extra);
        let out = self.cli(&args, &format!("{}\n", user_pw(login)));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

// ---------------------------------------------------------------- a small HTTP client for forged requests

/// Logs in over plain HTTP; returns the session cookie ("mamori_session=…") and the session's CSRF token.
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
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).expect("csrf field").split('"').next().unwrap().to_string();
    (cookie, csrf)
}

fn first_run_admin(app: &App) -> (String, String) {
    let page = http(app.port, "GET", "/setup", "", None);
    let pre = page.cookie("mamori_pre").unwrap();
    let form = format!(
        "login=admin&name={}&password={}&password2={}&pre={pre}",
        enc("管理 太郎"),
        enc(ADMIN_PW),
        enc(ADMIN_PW)
    );
    assert_eq!(http(app.port, "POST", "/setup", &format!("mamori_pre={pre}"), Some(&form)).status, 303);
    login(app.port, "admin", ADMIN_PW)
}

// ---------------------------------------------------------------- roles, direct URLs, forged posts (no browser)

#[tokio::test]
async fn every_role_is_refused_what_it_must_not_see_or_do() {
    let app = App::start();
    let p = app.port;
    // No session: pages send to the login page, posts change nothing.
    assert_eq!(http(p, "GET", "/", "", None).header("location"), Some("/setup"));
    assert_eq!(http(p, "GET", "/f/1", "", None).header("location"), Some("/login"));
    // An htmx request without a session is sent to the login page as a whole.
    let hx = http_with(p, "GET", "/f/1/l/devices?q=x", "", None, &[("HX-Request", "true")]);
    assert_eq!((hx.status, hx.header("hx-redirect")), (200, Some("/login")));
    let (admin, admin_csrf) = first_run_admin(&app);
    // A second setup is refused once a user exists.
    let page = http(p, "GET", "/setup", "", None);
    assert_eq!(page.header("location"), Some("/login"));
    assert_eq!(http(p, "GET", "/f/1", "", None).header("location"), Some("/login"));

    app.add_user("exec", "executive", &["--facility", "1"]);
    app.add_user("ops", "operator", &["--facility", "1"]);
    app.add_user("mgr", "manager", &["--facility", "1"]);
    app.add_user("minato", "vendor", &["--facility", "1", "--vendor", VENDOR]);
    app.add_user("osaka-pref", "inspector", &["--prefecture", "大阪府"]);
    app.add_user("surveyor", "surveyor", &["--facility", "2"]);
    let pw = user_pw;
    let (exec, exec_csrf) = login(p, "exec", &pw("exec"));
    let (ops, ops_csrf) = login(p, "ops", &pw("ops"));
    let (mgr, _) = login(p, "mgr", &pw("mgr"));
    let (vendor, vendor_csrf) = login(p, "minato", &pw("minato"));
    let (inspector, inspector_csrf) = login(p, "osaka-pref", &pw("osaka-pref"));
    let (surveyor, _) = login(p, "surveyor", &pw("surveyor"));

    let get = |c: &str, path: &str| http(p, "GET", path, c, None).status;
    // Administration is the administrator's alone.
    for c in [&exec, &ops, &mgr, &vendor, &inspector, &surveyor] {
        assert_eq!(get(c, "/admin/users"), 403);
        assert_eq!(get(c, "/admin/audit"), 403);
        assert_eq!(get(c, "/admin/audit/export?format=csv"), 403);
    }
    assert_eq!(get(&admin, "/admin/audit"), 200);
    // Facilities: own facility, assigned facility, prefecture.
    for (c, ok, refused) in [(&exec, 1, 2), (&ops, 1, 2), (&vendor, 1, 2), (&inspector, 2, 1), (&surveyor, 2, 1)] {
        assert_eq!(get(c, &format!("/f/{ok}")), 200);
        assert_eq!(get(c, &format!("/f/{refused}")), 403);
        assert_eq!(get(c, &format!("/f/{refused}/l/devices")), 403);
        assert_eq!(get(c, &format!("/f/{refused}/l/devices/export?format=csv")), 403);
    }
    // The user ID ledger (personal data): never for vendors, surveyors or inspectors — list, record or export.
    for (c, f) in [(&vendor, 1), (&inspector, 2), (&surveyor, 2)] {
        assert_eq!(get(c, &format!("/f/{f}/l/accounts")), 403);
        assert_eq!(get(c, &format!("/f/{f}/l/accounts/r/dr0001")), 403);
        assert_eq!(get(c, &format!("/f/{f}/l/accounts/export?format=xlsx")), 403);
    }
    assert_eq!(get(&exec, "/f/1/l/accounts"), 200);
    // A vendor sees only the devices it manages; another device is not even found.
    let store = mamori_store::Store::open(&app.db).await.unwrap();
    let all: Vec<mamori_model::Device> = store.list(1).await.unwrap();
    let own = all.iter().filter(|d| d.managed_by == VENDOR).count();
    assert!(own > 0 && own < all.len());
    let list = http(p, "GET", "/f/1/l/devices?page=1", &vendor, None).text();
    assert!(list.contains(&format!("id=\"total\">{own} ")), "vendor sees its {own} devices");
    assert_eq!(get(&vendor, "/f/1/l/devices/r/0001"), 404);
    let vendor_key = list.split("data-key=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(get(&vendor, &format!("/f/1/l/devices/r/{vendor_key}")), 200);
    // Read-only roles may not edit, even by a direct URL with their own valid token.
    let form = |csrf: &str| format!("csrf={csrf}&location={}", enc("改ざん"));
    for (c, csrf) in [(&exec, &exec_csrf), (&vendor, &vendor_csrf), (&inspector, &inspector_csrf)] {
        assert_eq!(get(c, "/f/1/l/devices/r/0001/edit"), 403);
        let r = http(p, "POST", "/f/1/l/devices/r/0001/edit", c, Some(&form(csrf)));
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(get(c, "/f/1/l/devices/import"), 403);
    }
    // Forged posts of an operator: no token, another user's token, no session at all.
    let before = http(p, "GET", "/f/1/l/devices/r/0001", &ops, None).text();
    assert_eq!(
        http(p, "POST", "/f/1/l/devices/r/0001/edit", &ops, Some(&format!("location={}", enc("x")))).status,
        403
    );
    assert_eq!(http(p, "POST", "/f/1/l/devices/r/0001/edit", &ops, Some(&form(&admin_csrf))).status, 403);
    assert_eq!(
        http(p, "POST", "/f/1/l/devices/r/0001/edit", "", Some(&form(&ops_csrf))).header("location"),
        Some("/login")
    );
    assert_eq!(
        http(
            p,
            "POST",
            "/admin/users",
            &ops,
            Some(&format!("csrf={ops_csrf}&login=evil&name=x&role=admin&password=abcdefghijkl1234"))
        )
        .status,
        403
    );
    assert_eq!(http(p, "POST", "/admin/users/exec/disable", &admin, Some("csrf=")).status, 403);
    assert!(!http(p, "GET", "/f/1/l/devices/r/0001", &ops, None).text().contains("改ざん"));
    assert_eq!(before, http(p, "GET", "/f/1/l/devices/r/0001", &ops, None).text());
    // The real form of the operator works.
    let real = http(p, "GET", "/f/1/l/devices/r/0001/edit", &ops, None).text();
    assert!(real.contains("id=\"edit-form\""));

    // Logout everywhere ends every session of the user; disabling a user ends its sessions too.
    let (ops2, _) = login(p, "ops", &pw("ops"));
    assert_eq!(http(p, "POST", "/logout-all", &ops, Some(&format!("csrf={ops_csrf}"))).status, 303);
    assert_eq!(http(p, "GET", "/f/1", &ops2, None).header("location"), Some("/login"));
    assert_eq!(http(p, "POST", "/admin/users/exec/disable", &admin, Some(&format!("csrf={admin_csrf}"))).status, 303);
    assert_eq!(http(p, "GET", "/f/1", &exec, None).header("location"), Some("/login"));

    // Changing one's own password: the current one is required, the policy applies, other sessions end.
    let (sv2, sv2_csrf) = login(p, "surveyor", &pw("surveyor"));
    let change =
        |cur: &str, new: &str| format!("csrf={sv2_csrf}&current={}&new={}&new2={}", enc(cur), enc(new), enc(new));
    let r = http(p, "POST", "/account/password", &sv2, Some(&change("wrong", "kawa no nagare wa taezu")));
    assert_eq!(r.status, 422);
    assert!(r.text().contains("現在のパスワードが違います"));
    let r = http(p, "POST", "/account/password", &sv2, Some(&change(&pw("surveyor"), "short")));
    assert_eq!(r.status, 422);
    assert!(r.text().contains("12文字以上"));
    let r = http(p, "POST", "/account/password", &sv2, Some(&change(&pw("surveyor"), "kawa no nagare wa taezu")));
    assert_eq!(r.status, 303);
    assert_eq!(http(p, "GET", "/f/2", &surveyor, None).header("location"), Some("/login"), "other session ended");
    login(p, "surveyor", "kawa no nagare wa taezu");

    // Throttling: after 5 failures the right password is refused too, for a while.
    for _ in 0..5 {
        let page = http(p, "GET", "/login", "", None);
        let pre = page.cookie("mamori_pre").unwrap();
        let r = http(
            p,
            "POST",
            "/login",
            &format!("mamori_pre={pre}"),
            Some(&format!("login=mgr&password=wrong&pre={pre}")),
        );
        assert_eq!(r.status, 401);
    }
    let page = http(p, "GET", "/login", "", None);
    let pre = page.cookie("mamori_pre").unwrap();
    let r = http(
        p,
        "POST",
        "/login",
        &format!("mamori_pre={pre}"),
        Some(&format!("login=mgr&password={}&pre={pre}", enc(&pw("mgr")))),
    );
    assert_eq!(r.status, 401);
    assert!(r.text().contains("しばらく"), "blocked message");

    // Security headers on every page.
    let r = http(p, "GET", "/login", "", None);
    assert!(r.header("content-security-policy").unwrap().contains("script-src 'self'"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    // The access log names the failures and verifies.
    let audit = http(p, "GET", "/admin/audit", &admin, None).text();
    assert!(audit.contains("ログイン失敗") && audit.contains("id=\"audit-verify\""));
    assert!(audit.contains("利用者ID台帳を閲覧"));
    let out = app.cli(&["audit", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test]
async fn access_log_verify_names_the_altered_and_the_deleted_entry() {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        eprintln!("skipped: the sqlite3 command is missing (Debian package sqlite3)");
        return;
    }
    let app = App::start();
    let (admin, _) = first_run_admin(&app);
    for _ in 0..3 {
        http(app.port, "GET", "/f/1/l/accounts", &admin, None);
    }
    let out = app.cli(&["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let csv = app.dir.path().join("log.csv");
    let out = app.cli(&["audit", "export", "--format", "csv", "-o", csv.to_str().unwrap()], "");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("\u{feff}ユーザーID,氏名,時刻,カテゴリ,操作情報,対象"), "{text}");
    assert!(text.contains("admin,管理 太郎,") && text.contains("利用者ID台帳を閲覧"));
    // Someone with the database file drops the protection, alters entry 2 and deletes entry 4.
    let sql = "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; \
               UPDATE audit_log SET operation = 'なし' WHERE seq = 2; DELETE FROM audit_log WHERE seq = 4;";
    let st = Command::new("sqlite3").arg(&app.db).arg(sql).status().unwrap();
    assert!(st.success());
    let out = app.cli(&["audit", "verify"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0));
    assert!(stdout.contains("2番の記録が改ざんされています"), "{stdout}");
    assert!(stdout.contains("4番の記録が削除されています"), "{stdout}");
}

#[tokio::test]
async fn an_anchor_kept_outside_shows_the_newest_entries_deleted() {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        eprintln!("skipped: the sqlite3 command is missing (Debian package sqlite3)");
        return;
    }
    let app = App::start();
    let (admin, _) = first_run_admin(&app);
    for _ in 0..3 {
        http(app.port, "GET", "/f/1/l/accounts", &admin, None);
    }
    let anchor = app.dir.path().join("anchor.json");
    let out = app.cli(&["audit", "anchor", "-o", anchor.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&anchor).unwrap()).unwrap();
    let head = a["seq"].as_i64().unwrap();
    assert!(head >= 4 && a["hash"].as_str().unwrap().len() == 64, "{a}");
    let out = app.cli(&["audit", "verify", "--anchor", anchor.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Someone with the database file removes the newest entries (the anchor's own record among them): the
    // chain alone still verifies, the anchor does not.
    let sql = format!("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= {};", head - 1);
    assert!(Command::new("sqlite3").arg(&app.db).arg(&sql).status().unwrap().success());
    let out = app.cli(&["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(0), "without an anchor a cut-off tail looks intact");
    let out = app.cli(&["audit", "verify", "--anchor", anchor.to_str().unwrap()], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains(&format!("控え（アンカー）には{head}番まであります")), "{stdout}");
    // A file that is not an anchor is refused with a clear message.
    let out = app.cli(&["audit", "verify", "--anchor", app.db.as_str()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("アンカー"));
}

#[tokio::test]
async fn the_administrator_reissues_a_password_and_assigns_a_surveyor_on_the_users_page() {
    let app = App::start();
    let p = app.port;
    let (admin, admin_csrf) = first_run_admin(&app);
    app.add_user("ops", "operator", &["--facility", "1"]);
    app.add_user("surveyor", "surveyor", &[]);
    let (ops, ops_csrf) = login(p, "ops", &user_pw("ops"));
    let (surveyor, _) = login(p, "surveyor", &user_pw("surveyor"));
    assert_eq!(http(p, "GET", "/f/1", &surveyor, None).status, 403, "nothing assigned yet");

    // Only the administrator may do either, also by a forged post with a valid CSRF token of another user.
    let forged = http(p, "POST", "/admin/users/surveyor/reset-password", &ops, Some(&format!("csrf={ops_csrf}")));
    assert_eq!(forged.status, 403);
    let forged = http(p, "POST", "/admin/users/surveyor/assign", &ops, Some(&format!("csrf={ops_csrf}&facility=1")));
    assert_eq!(forged.status, 403);
    // Without the CSRF token the administrator's own post is refused too.
    assert_eq!(http(p, "POST", "/admin/users/ops/reset-password", &admin, Some("csrf=x")).status, 403);

    // A new password: shown once, the old one and the user's sessions end.
    let page = http(p, "POST", "/admin/users/ops/reset-password", &admin, Some(&format!("csrf={admin_csrf}"))).text();
    let new_pw = page.split("ops / ").nth(1).expect("new password shown").split('<').next().unwrap().trim().to_string();
    assert!(new_pw.chars().count() >= 12, "{new_pw}");
    assert_eq!(http(p, "GET", "/f/1", &ops, None).header("location"), Some("/login"), "old session ended");
    let pre = http(p, "GET", "/login", "", None).cookie("mamori_pre").unwrap();
    let old = http(
        p,
        "POST",
        "/login",
        &format!("mamori_pre={pre}"),
        Some(&format!("login=ops&password={}&pre={pre}", enc(&user_pw("ops")))),
    );
    assert_ne!(old.status, 303, "the old password no longer works");
    let (ops2, _) = login(p, "ops", &new_pw);
    assert_eq!(http(p, "GET", "/f/1", &ops2, None).status, 200);

    // Assignment of a facility to the surveyor, then its removal.
    let r = http(p, "POST", "/admin/users/surveyor/assign", &admin, Some(&format!("csrf={admin_csrf}&facility=1")));
    assert_eq!(r.status, 303);
    assert_eq!(http(p, "GET", "/f/1", &surveyor, None).status, 200);
    assert_eq!(http(p, "GET", "/f/2", &surveyor, None).status, 403);
    let r = http(p, "POST", "/admin/users/ops/assign", &admin, Some(&format!("csrf={admin_csrf}&facility=1")));
    assert_eq!(r.status, 400, "only surveyors are assigned facilities");
    let r = http(
        p,
        "POST",
        "/admin/users/surveyor/assign",
        &admin,
        Some(&format!("csrf={admin_csrf}&facility=1&remove=1")),
    );
    assert_eq!(r.status, 303);
    assert_eq!(http(p, "GET", "/f/1", &surveyor, None).status, 403);
    let audit = http(p, "GET", "/admin/audit", &admin, None).text();
    for op in ["パスワードを再発行", "調査員に施設を割当", "調査員の担当施設を解除"] {
        assert!(audit.contains(op), "{op}");
    }
    assert!(!audit.contains(&new_pw), "the password never goes into the log");
}

#[tokio::test]
async fn the_dashboard_loads_the_blocks_each_role_may_see() {
    let app = App::start();
    let p = app.port;
    let (admin, _) = first_run_admin(&app);
    app.add_user("mgr", "manager", &["--facility", "1"]);
    app.add_user("minato", "vendor", &["--facility", "1", "--vendor", VENDOR]);
    app.add_user("tokyo-pref", "inspector", &["--prefecture", "東京都"]);
    app.add_user("osaka-pref", "inspector", &["--prefecture", "大阪府"]);
    let (mgr, _) = login(p, "mgr", &user_pw("mgr"));
    let (vendor, _) = login(p, "minato", &user_pw("minato"));
    let (tokyo, _) = login(p, "tokyo-pref", &user_pw("tokyo-pref"));
    let (osaka, _) = login(p, "osaka-pref", &user_pw("osaka-pref"));
    let blocks = ["/f/1/checklist/readiness", "/f/1/summary/bcp", "/f/1/summary/backup", "/f/1/summary/vuln"];
    for c in [&admin, &mgr, &tokyo] {
        let dash = http(p, "GET", "/f/1", c, None).text();
        for b in blocks {
            // The inspector does not see vulnerability findings (least privilege), so not their block either.
            let expected = !(c == &tokyo && b.ends_with("vuln"));
            assert_eq!(dash.contains(&format!("hx-get=\"{b}\"")), expected, "{b} on the dashboard");
            assert_eq!(http(p, "GET", b, c, None).status, if expected { 200 } else { 403 }, "{b}");
        }
    }
    // The demo's scan found known-exploited vulnerabilities on its VPN gateway.
    let vuln = http(p, "GET", "/f/1/summary/vuln", &mgr, None).text();
    assert!(vuln.contains("id=\"summary-vuln\"") && vuln.contains("KEV"), "{vuln}");
    // Its tiles: open known-exploited findings, then all open confirmed findings (counted in SQL).
    let tiles: Vec<i64> = vuln
        .split("<span class=\"tile-value small\">")
        .skip(1)
        .filter_map(|t| t.split('<').next().and_then(|n| n.trim().parse().ok()))
        .collect();
    assert!(tiles.len() >= 2 && tiles[0] > 0 && tiles[0] <= tiles[1], "KEV and open findings: {tiles:?}");
    // The demo hospital: contacts and a training are there, the backup policy is not (no repository yet).
    let bcp = http(p, "GET", "/f/1/summary/bcp", &mgr, None).text();
    assert!(bcp.contains("id=\"summary-bcp\"") && bcp.contains("連絡先"), "{bcp}");
    let backup = http(p, "GET", "/f/1/summary/backup", &mgr, None).text();
    assert!(backup.contains("満たしている方針"), "{backup}");
    // A vendor gets none of them, not even by direct URL; another prefecture's inspector neither.
    let dash = http(p, "GET", "/f/1", &vendor, None).text();
    for b in blocks {
        assert!(!dash.contains(b), "{b} shown to a vendor");
        assert_eq!(http(p, "GET", b, &vendor, None).status, 403, "{b}");
        assert_eq!(http(p, "GET", b, &osaka, None).status, 403, "{b}");
    }
}

/// A prefecture's inspector among hundreds of facilities: the list shows its prefecture's only, searched
/// and paged; the header's switcher gives way to the list beyond 200.
#[tokio::test]
async fn many_facilities_are_listed_by_scope_searched_and_paged() {
    let app = App::start();
    let p = app.port;
    let (admin, _) = first_run_admin(&app);
    let store = mamori_store::Store::open(&app.db).await.unwrap();
    for i in 0..230 {
        let pref = if i % 2 == 0 { "東京都" } else { "神奈川県" };
        let name = format!("{}病院{i:03}", if i % 5 == 0 { "さくら" } else { "みどり" });
        store
            .add_facility(&mamori_model::NewFacility {
                name,
                kind: mamori_model::FacilityKind::Hospital,
                prefecture: pref.into(),
                municipality: String::new(),
                beds: Some(100),
                has_ehr: true,
                medical_code: None,
            })
            .await
            .unwrap();
    }
    // The demo hospital is in 東京都 too, the Osaka test hospital is not.
    let tokyo_n = 1 + 115;
    app.add_user("tokyo-pref", "inspector", &["--prefecture", "東京都"]);
    let (tokyo, _) = login(p, "tokyo-pref", &user_pw("tokyo-pref"));
    let page1 = http(p, "GET", "/facilities", &tokyo, None).text();
    assert!(page1.contains(&format!("{tokyo_n} 施設（1 / 3）")), "{page1}");
    assert_eq!(page1.matches("<li><a href=\"/f/").count(), 50);
    assert!(
        !page1.contains("神奈川県") && !page1.contains("大阪テスト病院"),
        "only its prefecture (list and switcher)"
    );
    assert!(page1.contains("id=\"next\""));
    let page3 = http(p, "GET", "/facilities?page=3", &tokyo, None).text();
    assert_eq!(page3.matches("<li><a href=\"/f/").count(), tokyo_n - 100);
    // Search: every word must occur; さくら = every 5th, in 東京都 every 10th.
    let found = http(p, "GET", &format!("/facilities?q={}", enc("さくら")), &tokyo, None).text();
    assert!(found.contains("23 施設"), "{found}");
    let list =
        |page: &str| page.split("id=\"facility-list\"").nth(1).unwrap().split("</ul>").next().unwrap().to_string();
    assert!(list(&found).contains("さくら病院000") && !list(&found).contains("みどり病院002"), "{}", list(&found));
    let none = http(p, "GET", &format!("/facilities?q={}", enc("大阪テスト")), &tokyo, None).text();
    assert!(none.contains("0 施設") && !none.contains("大阪テスト病院"), "another prefecture is not found by search");
    // Beyond 200 visible facilities the header has no switcher list; the administrator sees all 232.
    let admin_page = http(p, "GET", "/facilities", &admin, None).text();
    assert!(admin_page.contains("232 施設"), "{admin_page}");
    assert!(
        !http(p, "GET", "/f/1", &admin, None).text().contains("<select name=\"f\""),
        "no list of 232 in the header"
    );
    let tokyo_dash = http(p, "GET", "/f/1", &tokyo, None).text();
    assert!(tokyo_dash.contains("<select name=\"f\""), "116 fit in the header's switcher");
    assert!(tokyo_dash.contains("href=\"/facilities\""), "and the list is linked");
}

#[tokio::test]
async fn users_from_the_command_line_follow_the_password_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db").to_string_lossy().into_owned();
    let run = |args: &[&str], stdin: &str| {
        let mut c = Command::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        c.wait_with_output().unwrap()
    };
    let out = run(&["user", "add", "tanaka", "--name", "田中", "--role", "admin", "--password-stdin"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("12文字以上"));
    let out = run(&["user", "add", "tanaka", "--name", "田中", "--role", "admin"], "");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pw = stdout.split("(shown once): ").nth(1).unwrap().trim();
    assert_eq!(pw.chars().count(), 20);
    let out = run(&["user", "list"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tanaka\t田中\tシステム管理者"));
    // A facility-bound role without a facility is refused with the reason.
    let out = run(
        &["user", "add", "ops", "--name", "運用", "--role", "operator", "--password-stdin"],
        "long enough pass 1\n",
    );
    assert!(!out.status.success());
}

// ---------------------------------------------------------------- the browser

#[tokio::test]
async fn browser_story_setup_login_import_edit_export() {
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
    // First run: the setup page; a weak password is refused with the policy in Japanese.
    c.goto(&app.url("/")).await?;
    assert!(c.current_url().await?.path().ends_with("/setup"));
    fill(c, "#login", "admin").await;
    fill(c, "#name", "管理 太郎").await;
    fill(c, "#password", "short-pw").await;
    fill(c, "#password2", "short-pw").await;
    click(c, "#submit").await;
    let e = text_of(c, "#form-error").await;
    assert!(e.contains("12文字以上"), "{e}");
    shot(c, "01_setup_policy").await;
    fill(c, "#password", ADMIN_PW).await;
    fill(c, "#password2", ADMIN_PW).await;
    click(c, "#submit").await;
    // The administrator sees two facilities: the switcher comes first.
    expect_text(c, ".facility-list", "大阪テスト病院").await;
    shot(c, "02_facilities").await;
    c.find(Locator::Css(".facility-list a")).await?.click().await?;
    // The dashboard says which facility it shows.
    expect_text(c, "#current-facility", "病院").await;
    assert_eq!(text_of(c, "#count-devices .tile-value").await, "305");
    shot(c, "03_dashboard").await;

    // Logout, a wrong password, then the right one.
    click(c, "#logout").await;
    fill(c, "#login", "admin").await;
    fill(c, "#password", "not the password").await;
    click(c, "#submit").await;
    expect_text(c, "#form-error", "違います").await;
    shot(c, "04_login_failed").await;
    fill(c, "#password", ADMIN_PW).await;
    click(c, "#submit").await;
    text_of(c, ".facility-list").await;

    // The device ledger: search narrows the list in place (htmx), in SQL.
    c.goto(&app.url("/f/1/l/devices")).await?;
    assert!(text_of(c, "#total").await.starts_with("305"));
    shot(c, "05_devices").await;
    fill(c, "#q", "Windows Server").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//p[@id='total' and not(starts-with(normalize-space(.), '305'))]"))
        .await?;
    let narrowed = text_of(c, "#total").await;
    let n: i64 = narrowed.split(' ').next().unwrap().parse().unwrap();
    assert!(n > 0 && n < 305, "{narrowed}");

    // Import: a file with errors shows them as a table and writes nothing.
    let bad = app.dir.path().join("機器台帳_誤り.csv");
    std::fs::write(
        &bad,
        "管理番号,機器種別,設置場所,状態,登録日,IPアドレス\n\
         NEW-001,端末PC,外来1,稼働,2024/4/1,10.1.0.1\n\
         NEW-002,端末PC,外来2,使ってる,2024/4/1,10.1.0.2\n\
         NEW-003,端末PC,外来3,稼働,2024/13/45,10.1.0.3\n",
    )
    .unwrap();
    c.goto(&app.url("/f/1/l/devices/import")).await?;
    c.find(Locator::Css("#file")).await?.send_keys(bad.to_str().unwrap()).await?;
    click(c, "#import-check").await;
    expect_text(c, "#import-has-errors", "まだ何も取り込んでいません").await;
    let issues = text_of(c, "#issues").await;
    assert!(issues.contains("使ってる") && issues.contains("2024/13/45"), "{issues}");
    shot(c, "06_import_errors").await;
    c.goto(&app.url("/f/1/l/devices?q=NEW-00")).await?;
    assert!(text_of(c, "#total").await.starts_with("0 "));
    // Fixed, checked, confirmed.
    let good = app.dir.path().join("機器台帳.csv");
    std::fs::write(
        &good,
        "管理番号,機器種別,設置場所,状態,登録日,IPアドレス\n\
         NEW-001,端末PC,外来1,稼働,2024/4/1,10.1.0.1\n\
         NEW-002,端末PC,外来2,稼働,2024/4/1,10.1.0.2\n\
         NEW-003,端末PC,外来3,稼働,令和6年4月1日,10.1.0.3\n",
    )
    .unwrap();
    c.goto(&app.url("/f/1/l/devices/import")).await?;
    c.find(Locator::Css("#file")).await?.send_keys(good.to_str().unwrap()).await?;
    click(c, "#import-check").await;
    assert_eq!(text_of(c, "#import-rows").await, "3");
    shot(c, "07_import_ok").await;
    click(c, "#import-confirm").await;
    expect_text(c, "#import-done", "追加 3").await;
    c.goto(&app.url("/f/1/l/devices?q=NEW-00")).await?;
    assert!(text_of(c, "#total").await.starts_with("3 "));

    // Edit a device: a bad IP address is shown next to its field, then fixed; the history shows the change.
    c.goto(&app.url("/f/1/l/devices/r/NEW-002")).await?;
    click(c, "#edit-link").await;
    fill(c, "#f-location", "病棟3階").await;
    fill(c, "#f-ip_addresses", "10.1.0.999").await;
    click(c, "#save").await;
    expect_text(c, "#err-ip_addresses", "IPアドレス").await;
    shot(c, "08_edit_error").await;
    fill(c, "#f-ip_addresses", "10.1.0.22").await;
    click(c, "#save").await;
    text_of(c, "#saved").await;
    let history = text_of(c, "#history").await;
    assert!(history.contains("外来2") && history.contains("病棟3階") && history.contains("admin"), "{history}");
    shot(c, "09_record_history").await;

    // English switch and 和暦.
    click(c, "#lang-switch").await;
    expect_text(c, "main h2", "History").await;
    c.goto(&app.url("/lang?to=ja&next=/f/1")).await?;

    // Export: the admin's own session downloads the ledger with the importer's headers.
    let (cookie, _) = login(app.port, "admin", ADMIN_PW);
    let r = http(app.port, "GET", "/f/1/l/devices/export?format=csv", &cookie, None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-disposition").unwrap().contains("attachment"));
    let csv = String::from_utf8(r.body.clone()).unwrap();
    assert!(csv.starts_with("\u{feff}管理番号,機器種別"));
    assert!(csv.contains("NEW-002,端末PC") && csv.contains("病棟3階"));
    let r = http(app.port, "GET", "/f/1/l/devices/export?format=xlsx", &cookie, None);
    assert!(r.body.starts_with(b"PK"));

    // The access log shows the story and verifies.
    c.goto(&app.url("/admin/audit")).await?;
    expect_text(c, "#audit-verify", "見つかりませんでした").await;
    let log = text_of(c, "#audit").await;
    for op in ["初期設定", "ログイン失敗", "ログアウト", "機器台帳に取り込み", "機器台帳を更新", "機器台帳を書き出し"]
    {
        assert!(log.contains(op), "{op} missing from the access log");
    }
    shot(c, "10_audit").await;
    c.goto(&app.url("/admin/users")).await?;
    shot(c, "11_users").await;
    c.goto(&app.url("/f/1/l/accounts")).await?;
    shot(c, "12_accounts").await;
    Ok(())
}
