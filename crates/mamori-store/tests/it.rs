//! Behaviour of the store through its public API, on SQLite and — when the test script started one —
//! on a real PostgreSQL (`MAMORI_TEST_PG_URL`, an admin URL; each test gets its own fresh database).

use chrono::NaiveDate;
use mamori_model::ledger::{Account, Device, LedgerKind, Vendor};
use mamori_model::{FacilityKind, NewFacility};
use mamori_store::{Backend, Store};

/// A store per backend for one test; the temp dir keeps the SQLite file alive.
struct Stores {
    list: Vec<Store>,
    _dir: tempfile::TempDir,
}

async fn stores() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let mut list = vec![Store::open(dir.path().join("t.db").to_str().unwrap()).await.unwrap()];
    match std::env::var("MAMORI_TEST_PG_URL") {
        Ok(admin) => {
            let name = format!("mamori_t_{}", fastrand::u64(..));
            let admin_store = sqlx_admin(&admin).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin_store).await.unwrap();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
            list.push(Store::open(&format!("{base}/{name}")).await.unwrap());
        }
        Err(_) if std::env::var("MAMORI_REQUIRE_PG").is_ok() => {
            panic!("MAMORI_REQUIRE_PG is set but MAMORI_TEST_PG_URL is not")
        }
        Err(_) => eprintln!("note: PostgreSQL tests skipped (MAMORI_TEST_PG_URL not set; scripts/test.sh sets it)"),
    }
    Stores { list, _dir: dir }
}

async fn sqlx_admin(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await.unwrap()
}

fn hospital(name: &str) -> NewFacility {
    NewFacility {
        name: name.into(),
        kind: FacilityKind::Hospital,
        prefecture: "東京都".into(),
        municipality: "千代田区".into(),
        beds: Some(350),
        has_ehr: true,
        medical_code: None,
    }
}

fn device(no: &str, os: &str) -> Device {
    Device {
        asset_no: no.into(),
        category: Some("pc".into()),
        maker: "A社".into(),
        os: os.into(),
        ip_addresses: format!("10.0.0.{}", no.parse::<u32>().unwrap_or(1) % 250 + 1),
        registered_on: NaiveDate::from_ymd_opt(2020, 12, 1),
        status: Some("active".into()),
        admin_logon_pc: Some(true),
        software: "電子カルテ\nOffice".into(),
        software_version: "2.0\n2019".into(),
        ..Default::default()
    }
}

/// The same story gives the same results on SQLite and PostgreSQL.
#[tokio::test]
async fn ledger_story_is_the_same_on_every_backend() {
    let s = stores().await;
    let mut outcomes = Vec::new();
    for store in &s.list {
        let a = store.add_facility(&hospital("みなと病院")).await.unwrap();
        let b = store.add_facility(&hospital("やまて病院")).await.unwrap();
        assert_eq!(a.data.bed_class(), Some(mamori_model::BedClass::Medium));

        let first: Vec<Device> = (1..=1000).map(|i| device(&format!("{i:04}"), "Win11")).collect();
        let c1 = store.upsert(a.id, &first, |_, _| {}).await.unwrap();
        assert_eq!((c1.added, c1.updated, c1.unchanged), (1000, 0, 0));

        // Re-import: one changed, one new, the rest identical; no duplicates.
        let mut second = first.clone();
        second[10].os = "Win8".into();
        second.push(device("2000", "Win10"));
        let c2 = store.upsert(a.id, &second, |_, _| {}).await.unwrap();
        assert_eq!((c2.added, c2.updated, c2.unchanged), (1, 1, 999));
        assert_eq!(store.count(a.id, LedgerKind::Devices).await.unwrap(), 1001);
        assert_eq!(store.count(b.id, LedgerKind::Devices).await.unwrap(), 0, "facilities are separate");

        let back: Vec<Device> = store.list(a.id).await.unwrap();
        assert_eq!(back[10], second[10], "a record comes back exactly as written");
        assert_eq!(back[10].admin_logon_pc, Some(true));
        assert_eq!(back[10].registered_on, NaiveDate::from_ymd_opt(2020, 12, 1));

        let accounts = vec![
            Account {
                no: Some(1),
                user_id: "yamada".into(),
                family_name: "山田".into(),
                status: Some("retired".into()),
                ..Default::default()
            },
            Account {
                no: None,
                user_id: "𠮷田".into(),
                last_login: NaiveDate::from_ymd_opt(2024, 1, 1),
                ..Default::default()
            },
        ];
        store.upsert(a.id, &accounts, |_, _| {}).await.unwrap();
        let acc: Vec<Account> = store.list(a.id).await.unwrap();
        store
            .upsert(b.id, &[Vendor { name: "A社".into(), has_contract: Some(false), ..Default::default() }], |_, _| {})
            .await
            .unwrap();
        let vendors: Vec<Vendor> = store.list(b.id).await.unwrap();
        assert_eq!(vendors[0].has_contract, Some(false));

        let f = store.resolve_facility(Some("やまて病院")).await.unwrap();
        assert_eq!(f.id, b.id);
        assert!(store.resolve_facility(None).await.is_err(), "two facilities: must choose");
        assert!(store.resolve_facility(Some("ない病院")).await.is_err());
        outcomes.push((back, acc, vendors));
    }
    if s.list.len() == 2 {
        assert_eq!(outcomes[0], outcomes[1], "SQLite and PostgreSQL disagree");
        assert_eq!(s.list[1].backend(), Backend::Postgres);
    }
}

/// A failing batch rolls the whole import back: nothing of it stays.
#[tokio::test]
async fn failed_write_leaves_the_ledger_as_before() {
    let s = stores().await;
    for store in &s.list {
        let f = store.add_facility(&hospital("みなと病院")).await.unwrap();
        let base: Vec<Device> = (1..=10).map(|i| device(&i.to_string(), "Win11")).collect();
        store.upsert(f.id, &base, |_, _| {}).await.unwrap();
        let before: Vec<Device> = store.list(f.id).await.unwrap();
        // Duplicate keys are refused before anything is written.
        let dup = vec![device("1", "Win8"), device("1", "Win10")];
        assert!(store.upsert(f.id, &dup, |_, _| {}).await.unwrap_err().to_string().contains("重複"));
        // The database refuses a row of the third batch (a trigger stands in for a disk or constraint failure):
        // the batches already sent are rolled back with it.
        let trigger = match store.backend() {
            Backend::Sqlite => vec![
                "CREATE TRIGGER boom BEFORE INSERT ON devices WHEN NEW.asset_no = '999' BEGIN SELECT RAISE(ABORT, 'boom'); END",
            ],
            Backend::Postgres => vec![
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.asset_no = '999' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER boom BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION boom()",
            ],
        };
        for t in trigger {
            sqlx::query(t).execute(store.pool()).await.unwrap();
        }
        let mut bad: Vec<Device> = (100..1000).map(|i| device(&i.to_string(), "Win8")).collect();
        bad.push(device("2", "changed"));
        let mut batches = 0;
        let err = store.upsert(f.id, &bad, |_, _| batches += 1).await.unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(batches, 2, "two batches were written before the failure");
        let after: Vec<Device> = store.list(f.id).await.unwrap();
        assert_eq!(before, after);
    }
}

#[tokio::test]
async fn facility_rules_and_mappings() {
    let s = stores().await;
    for store in &s.list {
        let mut bad = hospital("x");
        bad.prefecture = "東京".into();
        assert!(store.add_facility(&bad).await.unwrap_err().to_string().contains("都道府県"));
        let mut code = hospital("y");
        code.medical_code = Some("123".into());
        assert!(store.add_facility(&code).await.is_err());
        let f = store.add_facility(&hospital("z")).await.unwrap();
        assert_eq!(store.resolve_facility(None).await.unwrap().id, f.id, "the only facility is the default");
        let m = mamori_model::import::HeaderMapping::parse_pairs(LedgerKind::Devices, &["資産ラベル=asset_no".into()])
            .unwrap();
        store.save_header_mapping(f.id, LedgerKind::Devices, &m).await.unwrap();
        store.save_header_mapping(f.id, LedgerKind::Devices, &m).await.unwrap();
        assert_eq!(store.header_mapping(f.id, LedgerKind::Devices).await.unwrap(), m);
        assert!(store.header_mapping(f.id, LedgerKind::Accounts).await.unwrap().entries.is_empty());
    }
}

// ---------------------------------------------------------------- web: users, sessions, access log, lists

fn web_user(login: &str, role: mamori_model::auth::Role, facility_id: Option<i64>) -> mamori_store::NewUser {
    mamori_store::NewUser {
        login: login.into(),
        name: "山田 太郎".into(),
        role,
        facility_id,
        vendor_name: if role == mamori_model::auth::Role::Vendor { "A社".into() } else { String::new() },
        prefecture: if role == mamori_model::auth::Role::Inspector { "東京都".into() } else { String::new() },
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
    }
}

#[tokio::test]
async fn users_sessions_and_throttling() {
    use mamori_model::auth::Role;
    let s = stores().await;
    for store in &s.list {
        let f = store.add_facility(&hospital("中央病院")).await.unwrap();
        assert_eq!(store.count_users().await.unwrap(), 0);
        let admin = store.add_user(&web_user("admin", Role::Admin, None)).await.unwrap();
        assert_eq!(admin.role, Role::Admin);
        // Taken IDs, facility-bound roles without a facility, vendors without a name are refused with a reason.
        let dup = store.add_user(&web_user("admin", Role::Admin, None)).await.unwrap_err().to_string();
        assert!(dup.contains("既に使われています"), "{dup}");
        assert!(store.add_user(&web_user("ops", Role::Operator, None)).await.is_err());
        let mut v = web_user("vendor", Role::Vendor, Some(f.id));
        v.vendor_name = " ".into();
        assert!(store.add_user(&v).await.is_err());
        let ops = store.add_user(&web_user("ops", Role::Operator, Some(f.id))).await.unwrap();
        let sv = store.add_user(&web_user("surveyor", Role::Surveyor, None)).await.unwrap();
        store.assign_facility(sv.id, f.id).await.unwrap();
        store.assign_facility(sv.id, f.id).await.unwrap();
        assert_eq!(store.assigned_facilities(sv.id).await.unwrap(), vec![f.id]);
        let (u, hash) = store.user_with_hash("ops").await.unwrap().unwrap();
        assert_eq!(u.facility_id, Some(f.id));
        assert!(hash.starts_with("$argon2id$"));

        store.create_session("h1", ops.id, "csrf1", 1000, "10.0.0.1").await.unwrap();
        store.create_session("h2", ops.id, "csrf2", 1000, "10.0.0.2").await.unwrap();
        let row = store.session("h1").await.unwrap().unwrap();
        assert_eq!((row.user_id, row.csrf.as_str(), row.last_seen), (ops.id, "csrf1", 1000));
        store.touch_session("h1", 1100).await.unwrap();
        assert_eq!(store.session("h1").await.unwrap().unwrap().last_seen, 1100);
        let (row, u) = store.session_with_user("h1").await.unwrap().unwrap();
        assert_eq!((row.user_id, row.created_at, row.last_seen, row.csrf.as_str()), (ops.id, 1000, 1100, "csrf1"));
        assert_eq!(u, store.user(ops.id).await.unwrap().unwrap());
        assert!(store.session_with_user("nope").await.unwrap().is_none());
        store.delete_session("h1").await.unwrap();
        assert!(store.session("h1").await.unwrap().is_none());
        // Disabling a user ends its sessions.
        assert!(store.set_user_disabled("ops", true).await.unwrap());
        assert!(store.session("h2").await.unwrap().is_none());
        assert!(store.user(ops.id).await.unwrap().unwrap().disabled);
        assert!(!store.set_user_disabled("nobody", true).await.unwrap());
        store.create_session("h3", admin.id, "c", 1000, "").await.unwrap();
        store.create_session("h4", admin.id, "c", 1000, "").await.unwrap();
        assert_eq!(store.delete_user_sessions(admin.id).await.unwrap(), 2);
        // Starting a session sweeps expired ones.
        let idle = mamori_model::auth::SESSION_IDLE_SECS;
        store.create_session("old", admin.id, "c", 1000, "").await.unwrap();
        store.create_session("new", admin.id, "c", 1000 + idle + 1, "").await.unwrap();
        assert!(store.session("old").await.unwrap().is_none());
        assert!(store.session("new").await.unwrap().is_some());

        for at in [100, 200, 300] {
            store.record_login_failure("admin", "10.0.0.9", at).await.unwrap();
        }
        store.record_login_failure("other", "10.0.0.9", 300).await.unwrap();
        assert_eq!(store.login_failures_since("admin", "10.0.0.9", 150).await.unwrap(), (2, 3));
        store.clear_login_failures("admin").await.unwrap();
        assert_eq!(store.login_failures_since("admin", "10.0.0.9", 0).await.unwrap(), (0, 1));
    }
}

#[tokio::test]
async fn access_log_is_append_only_and_detects_tampering() {
    use mamori_model::audit::{AuditCategory, ChainProblem, NewAuditEntry};
    let s = stores().await;
    for store in &s.list {
        let entry = |op: &str| NewAuditEntry {
            user_login: "abc@def".into(),
            user_name: "abcdef".into(),
            category: AuditCategory::Auth,
            operation: op.into(),
            target: String::new(),
            facility_id: None,
            source: "127.0.0.1".into(),
        };
        // Concurrent writers still give one gapless chain.
        let mut handles = Vec::new();
        for i in 0..12 {
            let st = store.clone();
            let e = entry(&format!("ログイン{i}"));
            handles.push(tokio::spawn(async move { st.append_audit(&e).await.unwrap() }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let (n, problems) = store.verify_audit().await.unwrap();
        assert_eq!((n, problems), (12, vec![]));
        let all = store.audit_all().await.unwrap();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>());
        assert_eq!(store.audit_page(0, 5).await.unwrap()[0].seq, 12);

        // The database itself refuses changes and deletions.
        assert!(sqlx::query("UPDATE audit_log SET operation = 'x' WHERE seq = 3").execute(store.pool()).await.is_err());
        assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(store.pool()).await.is_err());

        // Someone with full access to the database drops the protection and edits: verify names the entries.
        match store.backend() {
            Backend::Sqlite => {
                sqlx::query("DROP TRIGGER audit_log_no_update").execute(store.pool()).await.unwrap();
                sqlx::query("DROP TRIGGER audit_log_no_delete").execute(store.pool()).await.unwrap();
            }
            Backend::Postgres => {
                sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
                    .execute(store.pool())
                    .await
                    .unwrap();
            }
        }
        sqlx::query("UPDATE audit_log SET user_login = 'mallory' WHERE seq = 4").execute(store.pool()).await.unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 8").execute(store.pool()).await.unwrap();
        let (_, problems) = store.verify_audit().await.unwrap();
        assert_eq!(problems, vec![ChainProblem::Altered { seq: 4 }, ChainProblem::Missing { from_seq: 8, to_seq: 8 }]);
    }
}

#[tokio::test]
async fn ledger_pages_search_filter_sort_and_scope_in_sql() {
    use mamori_store::LedgerQuery;
    let s = stores().await;
    for store in &s.list {
        let f = store.add_facility(&hospital("中央病院")).await.unwrap();
        let other = store.add_facility(&hospital("別の病院")).await.unwrap();
        let mut devices = Vec::new();
        for i in 1..=120 {
            let mut d = device(&format!("{i:04}"), if i % 3 == 0 { "Windows 10" } else { "Windows 11" });
            d.location = if i % 10 == 0 { "放射線科_100%".into() } else { "外来".into() };
            d.managed_by = if i % 4 == 0 { "A社".into() } else { "病院".into() };
            d.status = Some(if i % 5 == 0 { "retired" } else { "active" }.into());
            devices.push(d);
        }
        store.upsert(f.id, &devices, |_, _| {}).await.unwrap();
        store.upsert(other.id, &devices[..3], |_, _| {}).await.unwrap();

        let q = LedgerQuery { limit: 50, ..Default::default() };
        let (page, total) = store.ledger_page::<Device>(f.id, &q).await.unwrap();
        assert_eq!((page.len(), total), (50, 120));
        assert_eq!(page[0].asset_no, "0001");
        let q = LedgerQuery { offset: 100, limit: 50, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().0.len(), 20);
        let q = LedgerQuery { offset: 1000, limit: 50, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap(), (vec![], 120));
        // Search is case- and width-insensitive, every word must occur, a quoted phrase is one term, and
        // % and _ are literal.
        let q = LedgerQuery { search: "\"windows 10\"".into(), limit: 500, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().1, 40);
        let q = LedgerQuery {
            search: "＂ＷＩＮＤＯＷＳ　１０＂　外来".into(), limit: 500, ..Default::default()
        };
        let (p, total) = store.ledger_page::<Device>(f.id, &q).await.unwrap();
        assert_eq!(total, 36, "Windows 10 and in 外来");
        assert!(p.iter().all(|d| d.location == "外来" && d.os == "Windows 10"));
        let q = LedgerQuery { search: "放射線科 WINDOWS".into(), limit: 500, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().1, 12);
        let q = LedgerQuery { search: "_100%".into(), limit: 500, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().1, 12);
        let q = LedgerQuery { filters: vec![("status".into(), "retired".into())], limit: 500, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().1, 24);
        let q = LedgerQuery { sort: "asset_no".into(), descending: true, limit: 2, ..Default::default() };
        let (p, _) = store.ledger_page::<Device>(f.id, &q).await.unwrap();
        assert_eq!(p.iter().map(|d| d.asset_no.as_str()).collect::<Vec<_>>(), ["0120", "0119"]);
        // A column that does not exist is refused, never put into SQL.
        let q = LedgerQuery { sort: "asset_no; DROP TABLE devices".into(), limit: 2, ..Default::default() };
        assert!(store.ledger_page::<Device>(f.id, &q).await.is_err());
        // A vendor's scope.
        let q = LedgerQuery { scope: Some(("managed_by".into(), "A社".into())), limit: 500, ..Default::default() };
        let (p, total) = store.ledger_page::<Device>(f.id, &q).await.unwrap();
        assert_eq!(total, 30);
        assert!(p.iter().all(|d| d.managed_by == "A社"));
        assert!(store.record::<Device>(f.id, "0004", Some(("managed_by", "A社"))).await.unwrap().is_some());
        assert!(store.record::<Device>(f.id, "0001", Some(("managed_by", "A社"))).await.unwrap().is_none());
        assert_eq!(store.record::<Device>(f.id, "0001", None).await.unwrap().unwrap(), devices[0]);
        assert!(store.record::<Device>(other.id, "0100", None).await.unwrap().is_none());

        let before = serde_json::to_value(&devices[0]).unwrap();
        let mut changed = devices[0].clone();
        changed.location = "病棟".into();
        let after = serde_json::to_value(&changed).unwrap();
        store.add_history(f.id, "devices", "0001", "ops", &before, &after).await.unwrap();
        let h = store.history(f.id, "devices", "0001").await.unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].changed_by.as_str(), h[0].after["location"].as_str()), ("ops", Some("病棟")));
        assert!(store.history(other.id, "devices", "0001").await.unwrap().is_empty());
    }
}

/// The facility list of each scope is what `FacilityScope::contains` admits, searched and paged.
#[tokio::test]
async fn facilities_in_a_scope_are_listed_searched_and_paged() {
    use mamori_model::auth::FacilityScope;
    let s = stores().await;
    for store in &s.list {
        for i in 0..30 {
            let mut h = hospital(&format!("{}病院{i:02}", if i % 2 == 0 { "さくら" } else { "みなと" }));
            h.prefecture = ["東京都", "大阪府", "北海道"][i % 3].into();
            h.medical_code = (i == 7).then(|| "1312345678".into());
            store.add_facility(&h).await.unwrap();
        }
        let all = store.facilities().await.unwrap();
        let ids = |v: &[mamori_model::Facility]| v.iter().map(|f| f.id).collect::<Vec<_>>();
        for scope in [
            FacilityScope::All,
            FacilityScope::Ids(vec![all[3].id, all[5].id, 99_999]),
            FacilityScope::Ids(vec![]),
            FacilityScope::Prefecture("大阪府".into()),
            FacilityScope::Prefecture("沖縄県".into()),
        ] {
            let want: Vec<_> = all.iter().filter(|f| scope.contains(f)).cloned().collect();
            let (got, total) = store.facilities_in(&scope, "", 1000, 0).await.unwrap();
            assert_eq!((ids(&got), total), (ids(&want), want.len() as i64), "{scope:?}");
        }
        // Search words (all must occur) and paging.
        let (got, total) = store.facilities_in(&FacilityScope::All, "さくら 東京都", 3, 2).await.unwrap();
        let want: Vec<_> =
            all.iter().filter(|f| f.data.name.contains("さくら") && f.data.prefecture == "東京都").cloned().collect();
        assert_eq!(total, want.len() as i64);
        assert_eq!(ids(&got), ids(&want[2..5]));
        // A page past the end still says how many match.
        let (got, total) = store.facilities_in(&FacilityScope::All, "さくら 東京都", 3, 300).await.unwrap();
        assert_eq!((got.len(), total), (0, want.len() as i64));
        let (got, total) = store.facilities_in(&FacilityScope::All, "どこにもない", 3, 0).await.unwrap();
        assert_eq!((got.len(), total), (0, 0));
        let (got, _) =
            store.facilities_in(&FacilityScope::Prefecture("大阪府".into()), "1312345678", 10, 0).await.unwrap();
        assert_eq!(got.len(), 1, "by 医療機関コード");
        assert_eq!(got[0].data.name, "みなと病院07");
    }
}

/// The in-memory search answers exactly what the rows hold after every kind of write — from this Store or
/// from another one on the same database (the CLI while the server runs) — and combines with filters, sorts,
/// scope and paging as the SQL path does.
#[tokio::test]
async fn ledger_search_sees_every_write_and_combines_with_filters_sorts_and_scope() {
    use mamori_store::LedgerQuery;
    let s = stores().await;
    for store in &s.list {
        let f = store.add_facility(&hospital("中央病院")).await.unwrap();
        let mut devices = Vec::new();
        for i in 1..=120 {
            let mut d = device(&format!("{i:04}"), ["Windows 10", "Windows 11", "RHEL 8"][i % 3]);
            d.location = if i % 10 == 0 { "3階東病棟".into() } else { "外来".into() };
            d.managed_by = if i % 4 == 0 { "A社".into() } else { "病院".into() };
            d.status = Some(if i % 5 == 0 { "retired" } else { "active" }.into());
            devices.push(d);
        }
        assert_eq!(store.ledger_revision(f.id, LedgerKind::Devices).await.unwrap(), 0);
        store.upsert(f.id, &devices, |_, _| {}).await.unwrap();
        let stats = store.ledger_stats_all(f.id).await.unwrap();
        let dev = &stats.iter().find(|(k, _)| *k == LedgerKind::Devices).unwrap().1;
        assert_eq!((dev.count, dev.rev), (120, 1));
        assert!(dev.changed_at.is_some());
        let acc = &stats.iter().find(|(k, _)| *k == LedgerKind::Accounts).unwrap().1;
        assert_eq!((acc.count, acc.rev, acc.changed_at.as_deref()), (0, 0, None));

        let page = |q: LedgerQuery| async move {
            let (p, total) = store.ledger_page::<Device>(f.id, &q).await.unwrap();
            (p.into_iter().map(|d| d.asset_no).collect::<Vec<_>>(), total)
        };
        let expect = |keep: &dyn Fn(&Device) -> bool, rev: bool, skip: usize, take: usize, all: &[Device]| {
            let mut v: Vec<String> = all.iter().filter(|d| keep(d)).map(|d| d.asset_no.clone()).collect();
            let total = v.len() as i64;
            if rev {
                v.reverse();
            }
            (v.into_iter().skip(skip).take(take).collect::<Vec<_>>(), total)
        };
        // Key order, both directions, deep pages.
        let q = LedgerQuery { search: "外来".into(), limit: 7, offset: 30, ..Default::default() };
        assert_eq!(page(q).await, expect(&|d| d.location == "外来", false, 30, 7, &devices));
        let q =
            LedgerQuery {
                search: "外来 windows".into(), descending: true, limit: 5, offset: 10, ..Default::default()
            };
        assert_eq!(
            page(q).await,
            expect(&|d| d.location == "外来" && d.os.starts_with("Windows"), true, 10, 5, &devices)
        );
        let q = LedgerQuery { search: "病棟".into(), limit: 50, offset: 500, ..Default::default() };
        assert_eq!(page(q).await, (vec![], 12));
        let q = LedgerQuery { search: "どこにもない".into(), limit: 50, ..Default::default() };
        assert_eq!(page(q).await, (vec![], 0));
        // With a filter, another sort and a vendor's scope: the ids found go to SQL.
        let q = LedgerQuery {
            search: "windows".into(),
            filters: vec![("status".into(), "active".into())],
            scope: Some(("managed_by".into(), "A社".into())),
            sort: "os".into(),
            descending: true,
            limit: 4,
            offset: 2,
        };
        let mut want: Vec<&Device> = devices
            .iter()
            .filter(|d| d.os.starts_with("Windows") && d.status.as_deref() == Some("active") && d.managed_by == "A社")
            .collect();
        // Descending reverses the whole order: ties by key descending too, as in the key-order paths.
        want.sort_by(|a, b| b.os.cmp(&a.os).then(b.asset_no.cmp(&a.asset_no)));
        let total = want.len() as i64;
        let want: Vec<String> = want.iter().skip(2).take(4).map(|d| d.asset_no.clone()).collect();
        assert_eq!(page(q).await, (want, total));

        // An edit, a deletion and an import are seen by the next search; an import that changes nothing keeps
        // the revision.
        let mut edited = devices[0].clone();
        edited.location = "5階西病棟".into();
        store.save_edit(f.id, &devices[0], &edited, "ops").await.unwrap();
        devices[0] = edited;
        let q = || LedgerQuery { search: "病棟".into(), limit: 500, ..Default::default() };
        assert_eq!(page(q()).await, expect(&|d| d.location.contains("病棟"), false, 0, 500, &devices));
        assert!(store.delete_record(f.id, LedgerKind::Devices, "0010").await.unwrap());
        devices.retain(|d| d.asset_no != "0010");
        assert_eq!(page(q()).await.1, 12);
        assert_eq!(store.ledger_revision(f.id, LedgerKind::Devices).await.unwrap(), 3);
        store.upsert(f.id, &devices, |_, _| {}).await.unwrap();
        assert_eq!(store.ledger_revision(f.id, LedgerKind::Devices).await.unwrap(), 3, "nothing changed");
        let mut more = devices.clone();
        let mut d = device("0500", "Windows 11");
        d.location = "病棟".into();
        more.push(d);
        store.upsert(f.id, &more, |_, _| {}).await.unwrap();
        assert_eq!(page(q()).await.1, 13);
        assert!(!store.delete_record(f.id, LedgerKind::Devices, "9999").await.unwrap());
        assert_eq!(store.ledger_revision(f.id, LedgerKind::Devices).await.unwrap(), 4, "no change, no revision");
    }
    // Another Store on the same SQLite file (another process) writes; this one's cached search sees it.
    let first = &s.list[0];
    let other = Store::open(s._dir.path().join("t.db").to_str().unwrap()).await.unwrap();
    let fid = first.facilities().await.unwrap()[0].id;
    let q = LedgerQuery { search: "病棟".into(), limit: 500, ..Default::default() };
    let before = first.ledger_page::<Device>(fid, &q).await.unwrap().1;
    let mut d = device("0777", "RHEL 9");
    d.location = "病棟".into();
    other.upsert(fid, &[d], |_, _| {}).await.unwrap();
    assert_eq!(first.ledger_page::<Device>(fid, &q).await.unwrap().1, before + 1);
}

// ================================================================ BCP: contacts, trainings, confirmation table
mod bcp {
    use super::*;
    use mamori_store::bcp::{BcpAnswer, Contact, ContactKind, Training};

    fn contact(code: &str, kind: ContactKind, role: &str, order: Option<u32>) -> Contact {
        Contact {
            code: code.into(),
            kind,
            role: role.into(),
            name: format!("{role}の担当 𠮷田"),
            phone: "03-0000-0000".into(),
            order,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn contacts_trainings_and_answers_are_kept_per_facility_on_every_backend() {
        let s = stores().await;
        for store in &s.list {
            let a = store.add_facility(&hospital("みなと病院")).await.unwrap();
            let b = store.add_facility(&hospital("やまて病院")).await.unwrap();
            assert!(store.contacts_updated_at(a.id).await.unwrap().is_none());
            let list = vec![
                contact("x-mhlw", ContactKind::External, "厚生労働省", Some(5)),
                contact("v-ehr", ContactKind::Vendor, "電子カルテ保守", None),
                Contact { reports_to: "top".into(), ..contact("ciso", ContactKind::Internal, "CISO", Some(2)) },
                contact("top", ContactKind::Internal, "最高責任者", None),
            ];
            store.replace_contacts(a.id, &list, "ops").await.unwrap();
            let back = store.contacts(a.id).await.unwrap();
            let codes: Vec<&str> = back.iter().map(|c| c.code.as_str()).collect();
            assert_eq!(codes, ["ciso", "top", "v-ehr", "x-mhlw"], "internal first, by contact order");
            assert_eq!(back[0], list[2], "a contact comes back exactly as written");
            assert!(store.contacts(b.id).await.unwrap().is_empty(), "facilities are separate");
            assert!(store.contacts_updated_at(a.id).await.unwrap().is_some());

            // Edit one, add one, delete one.
            let mut ehr = list[1].clone();
            ehr.email = "support@ehr.example".into();
            store.save_contact(a.id, &ehr, "mgr").await.unwrap();
            store.save_contact(a.id, &contact("x-ipa", ContactKind::External, "IPA", None), "mgr").await.unwrap();
            assert!(store.delete_contact(a.id, "x-mhlw").await.unwrap());
            assert!(!store.delete_contact(b.id, "ciso").await.unwrap(), "another facility's contact is not deleted");
            let back = store.contacts(a.id).await.unwrap();
            assert_eq!(back.len(), 4);
            assert_eq!(back.iter().find(|c| c.code == "v-ehr").unwrap().email, "support@ehr.example");
            // An import replaces the whole list; a bad one writes nothing.
            let bad =
                vec![contact("ok", ContactKind::Internal, "x", None), contact(" ", ContactKind::Internal, "y", None)];
            assert!(store.replace_contacts(a.id, &bad, "ops").await.is_err());
            assert_eq!(store.contacts(a.id).await.unwrap().len(), 4);
            store.replace_contacts(a.id, &list[..1], "ops").await.unwrap();
            assert_eq!(store.contacts(a.id).await.unwrap().len(), 1);

            // Trainings, newest first; deletion is limited to the facility.
            let t = |d: (i32, u32, u32), s: &str| Training {
                id: 0,
                held_on: NaiveDate::from_ymd_opt(d.0, d.1, d.2).unwrap(),
                scenario: s.into(),
                participants: "情報システム課 5名".into(),
                findings: "連絡に時間がかかった".into(),
                improvement_plan: "連絡先を掲示する".into(),
                recorded_by: "mgr".into(),
                recorded_at: String::new(),
            };
            let first = store.add_training(a.id, &t((2024, 11, 1), "ランサムウェア感染")).await.unwrap();
            store.add_training(a.id, &t((2025, 10, 1), "VPN装置の脆弱性")).await.unwrap();
            assert!(store.add_training(a.id, &t((2025, 10, 1), " ")).await.is_err(), "a scenario is required");
            let tr = store.trainings(a.id).await.unwrap();
            assert_eq!(
                tr.iter().map(|t| t.scenario.as_str()).collect::<Vec<_>>(),
                ["VPN装置の脆弱性", "ランサムウェア感染"]
            );
            assert_eq!(tr[1].held_on, NaiveDate::from_ymd_opt(2024, 11, 1).unwrap());
            assert!(!store.delete_training(b.id, first).await.unwrap());
            assert!(store.delete_training(a.id, first).await.unwrap());
            assert_eq!(store.trainings(a.id).await.unwrap().len(), 1);

            // Answers of the confirmation table: set, overwrite, clear.
            let ans = |id: &str, v: Option<bool>| BcpAnswer {
                check_id: id.into(),
                answer: v,
                note: "備考".into(),
                answered_by: "mgr".into(),
                answered_at: String::new(),
            };
            store.set_bcp_answer(a.id, "r6-2024", &ans("1-2-1", Some(false))).await.unwrap();
            store.set_bcp_answer(a.id, "r6-2024", &ans("1-2-1", Some(true))).await.unwrap();
            store.set_bcp_answer(a.id, "r6-2024", &ans("1-1-1", None)).await.unwrap();
            let got = store.bcp_answers(a.id, "r6-2024").await.unwrap();
            assert_eq!(
                got.iter().map(|a| (a.check_id.as_str(), a.answer)).collect::<Vec<_>>(),
                [("1-1-1", None), ("1-2-1", Some(true))]
            );
            assert!(store.bcp_answers(b.id, "r6-2024").await.unwrap().is_empty());
            assert!(store.bcp_answers(a.id, "other").await.unwrap().is_empty());
        }
    }
}

// ================================================================ backup (issue 7): targets, sets, escrow, runs, media
mod backup {
    use super::*;
    use mamori_store::backup::{NewBackupRun, NewBackupSet, NewBackupTarget, NewMediaEvent};

    fn target(name: &str, tier: &str, kind: &str, primary: bool) -> NewBackupTarget {
        NewBackupTarget {
            name: name.into(),
            tier: tier.into(),
            kind: kind.into(),
            path: format!("/srv/backup/{name}"),
            media_ids: if kind == "removable_media" { vec!["RDX-01".into(), "RDX-02".into()] } else { vec![] },
            is_primary: primary,
            note: String::new(),
        }
    }

    fn run(op: &str, system: &str, at: &str, ok: bool) -> NewBackupRun {
        NewBackupRun {
            op: op.into(),
            system: system.into(),
            target_name: "T1".into(),
            repository: "/srv/backup/T1".into(),
            started_at: at.into(),
            finished_at: at.into(),
            ok,
            bytes: 1234,
            files: 2,
            snapshot_id: if ok { "abcd".into() } else { String::new() },
            error: if ok { String::new() } else { "ダンプコマンドが失敗".into() },
            detail: "{}".into(),
            by_user: "cli".into(),
        }
    }

    /// Targets, sets, escrow, runs and media events round-trip the same on every backend; bad input is refused
    /// with a message and writes nothing; the password is never a column.
    #[tokio::test]
    async fn backup_records_round_trip_and_refuse_bad_input() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("バックアップ病院")).await.unwrap();
            let other = store.add_facility(&hospital("別の病院")).await.unwrap();
            store.add_backup_target(f.id, &target("T1", "online", "local_dir", true), "admin").await.unwrap();
            store.add_backup_target(f.id, &target("RDX", "offline", "removable_media", false), "admin").await.unwrap();
            // A second primary takes over; only one stays primary.
            store.add_backup_target(f.id, &target("T1b", "online", "local_dir", true), "admin").await.unwrap();
            let ts = store.backup_targets(f.id).await.unwrap();
            assert_eq!(ts.len(), 3);
            assert_eq!(
                ts.iter().filter(|t| t.data.is_primary).map(|t| t.data.name.as_str()).collect::<Vec<_>>(),
                ["T1b"]
            );
            assert_eq!(ts.iter().find(|t| t.data.name == "RDX").unwrap().data.media_ids, ["RDX-01", "RDX-02"]);
            assert!(store.backup_targets(other.id).await.unwrap().is_empty(), "targets stay with their facility");

            for (bad, why) in [
                (target("T1", "online", "local_dir", false), "duplicate name"),
                (target("X", "cloud", "local_dir", false), "unknown tier"),
                (
                    NewBackupTarget { path: "relative/path".into(), ..target("Y", "online", "local_dir", false) },
                    "relative",
                ),
                (
                    NewBackupTarget { media_ids: vec![], ..target("Z", "offline", "removable_media", false) },
                    "no media id",
                ),
                (target("P", "offsite", "local_dir", true), "primary off-site"),
            ] {
                let e = store.add_backup_target(f.id, &bad, "admin").await.expect_err(why);
                assert!(matches!(e, mamori_store::StoreError::Invalid(_)), "{why}: {e}");
            }
            assert_eq!(store.backup_targets(f.id).await.unwrap().len(), 3, "refused targets wrote nothing");

            // A restic REST server (migration 0011): a rest:http(s):// location, never with credentials in it.
            let rest =
                |path: &str| NewBackupTarget { path: path.into(), ..target("T3", "offsite", "rest_server", false) };
            for (bad, why) in [
                (rest("/srv/backup/T3"), "a path is not a REST location"),
                (rest("rest:ftp://offsite.example/ehr"), "neither http nor https"),
                (rest("rest:https://offsite:secret@offsite.example:8000/ehr/"), "credentials in the location"),
                (rest("rest:https:///ehr"), "no host"),
            ] {
                let e = store.add_backup_target(f.id, &bad, "admin").await.expect_err(why);
                assert!(matches!(e, mamori_store::StoreError::Invalid(_)), "{why}: {e}");
                assert!(!e.to_string().contains("secret"), "{why}: the password is not echoed: {e}");
            }
            store.add_backup_target(f.id, &rest("rest:https://offsite.example:8000/ehr/"), "admin").await.unwrap();
            let t3 = store.backup_target(f.id, "T3").await.unwrap().unwrap();
            assert_eq!(
                (t3.data.kind.as_str(), t3.data.path.as_str()),
                ("rest_server", "rest:https://offsite.example:8000/ehr/")
            );
            assert_eq!(store.backup_targets(f.id).await.unwrap().len(), 4);

            store.set_target_generations(f.id, "T1", "[]", "2026-11-20T00:00:00Z").await.unwrap();
            let t1 = store.backup_target(f.id, "T1").await.unwrap().unwrap();
            assert_eq!(t1.generations_at.as_deref(), Some("2026-11-20T00:00:00Z"));

            let set = NewBackupSet {
                system: "電子カルテ".into(),
                source_kind: "landing".into(),
                source: "/srv/dump/ehr".into(),
                dump_type: "full".into(),
                work_dir: "/var/lib/mamori".into(),
                schedule: "毎日 2:00".into(),
                responsible: "情報システム課 田中".into(),
                restore_procedure: "事業者と共に復元する".into(),
                recovery_priority: Some(1),
            };
            store.add_backup_set(f.id, &set, "admin").await.unwrap();
            store
                .add_backup_set(
                    f.id,
                    &NewBackupSet { system: "PACS".into(), recovery_priority: None, ..set.clone() },
                    "admin",
                )
                .await
                .unwrap();
            assert!(store.add_backup_set(f.id, &set, "admin").await.is_err(), "same system and dump type twice");
            assert!(
                store
                    .add_backup_set(
                        f.id,
                        &NewBackupSet { source: "dump".into(), system: "X".into(), ..set.clone() },
                        "a"
                    )
                    .await
                    .is_err(),
                "relative landing folder"
            );
            let sets = store.backup_sets(f.id).await.unwrap();
            assert_eq!(sets.iter().map(|s| s.data.system.as_str()).collect::<Vec<_>>(), ["電子カルテ", "PACS"]);
            assert_eq!(sets[0].data, set);

            assert!(store.key_escrow(f.id).await.unwrap().is_none());
            assert!(store.record_key_escrow(f.id, &["  ".into()], "金庫", "admin").await.is_err());
            store.record_key_escrow(f.id, &["院長".into()], "事務長室の金庫", "admin").await.unwrap();
            store.record_key_escrow(f.id, &["院長".into(), "情報システム課長".into()], "金庫", "admin").await.unwrap();
            let k = store.key_escrow(f.id).await.unwrap().unwrap();
            assert_eq!(k.holders, ["院長", "情報システム課長"], "the newest record holds");

            store.record_backup_run(f.id, &run("backup", "電子カルテ", "2026-11-18T17:00:00Z", true)).await.unwrap();
            store.record_backup_run(f.id, &run("backup", "電子カルテ", "2026-11-19T17:00:00Z", true)).await.unwrap();
            store.record_backup_run(f.id, &run("backup", "電子カルテ", "2026-11-20T17:00:00Z", false)).await.unwrap();
            store.record_backup_run(f.id, &run("drill", "電子カルテ", "2026-11-10T01:00:00Z", true)).await.unwrap();
            assert!(store.record_backup_run(f.id, &run("delete", "", "2026-11-20T17:00:00Z", true)).await.is_err());
            let last_ok = store.last_backup_run(f.id, "backup", Some("電子カルテ"), true).await.unwrap().unwrap();
            assert_eq!(last_ok.data.started_at, "2026-11-19T17:00:00Z");
            let last = store.last_backup_run(f.id, "backup", None, false).await.unwrap().unwrap();
            assert!(!last.data.ok && last.data.error.contains("失敗"));
            assert!(store.last_backup_run(f.id, "backup", Some("PACS"), false).await.unwrap().is_none());
            assert_eq!(store.backup_runs(f.id, None, 10).await.unwrap().len(), 4);
            assert_eq!(store.backup_runs(f.id, Some("drill"), 10).await.unwrap().len(), 1);
            let nov = store.backup_runs_between(f.id, "2026-11-15", "2026-11-20").await.unwrap();
            assert_eq!(nov.len(), 2, "period of the report: {nov:?}");
            assert!(store.backup_runs(other.id, None, 10).await.unwrap().is_empty());

            let ev = NewMediaEvent {
                target_name: "RDX".into(),
                media_id: "RDX-01".into(),
                event: "detach".into(),
                at: "2026-11-20T18:00:00Z".into(),
                by_user: "operator".into(),
                still_mounted: Some(false),
                evidence: "mountinfo: no longer mounted".into(),
                generations_json: Some("[]".into()),
            };
            store.record_media_event(f.id, &ev).await.unwrap();
            store
                .record_media_event(
                    f.id,
                    &NewMediaEvent {
                        event: "attach".into(),
                        at: "2026-11-21T08:00:00Z".into(),
                        still_mounted: None,
                        ..ev.clone()
                    },
                )
                .await
                .unwrap();
            assert!(
                store.record_media_event(f.id, &NewMediaEvent { media_id: " ".into(), ..ev.clone() }).await.is_err()
            );
            let evs = store.media_events(f.id, 10).await.unwrap();
            assert_eq!(evs.iter().map(|e| e.data.event.as_str()).collect::<Vec<_>>(), ["attach", "detach"]);
            assert_eq!(evs[1].data, ev);
        }
    }
}

// ================================================================ checklist (capability: checklist)

mod checklist {
    use chrono::NaiveDate;
    use mamori_store::checklist::{ChecklistAnswer, FormKey};

    use super::{hospital, stores};

    fn key(vendor: &str) -> FormKey {
        FormKey {
            edition: "r6-2024".into(),
            form: if vendor.is_empty() { "hospital" } else { "vendor" }.into(),
            vendor: vendor.into(),
        }
    }

    /// Answers are kept per form copy, changes leave history, unchanged rows write nothing, an empty row
    /// deletes; the same on every backend.
    #[tokio::test]
    async fn answers_and_history_per_form_copy() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("チェック病院")).await.unwrap();
            let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day);
            let no = ChecklistAnswer {
                item_id: "h-2-7-server".into(),
                r1: Some(false),
                r1_date: d(6, 10),
                target: d(12, 1),
                remarks: "更新計画中".into(),
                ..Default::default()
            };
            assert_eq!(
                store.save_checklist_answers(f.id, &key(""), std::slice::from_ref(&no), "yamada").await.unwrap(),
                1
            );
            // The same again: nothing changes, no history.
            assert_eq!(
                store.save_checklist_answers(f.id, &key(""), std::slice::from_ref(&no), "yamada").await.unwrap(),
                0
            );
            let yes2 = ChecklistAnswer { r2: Some(true), r2_date: d(12, 5), ..no.clone() };
            assert_eq!(store.save_checklist_answers(f.id, &key(""), &[yes2], "suzuki").await.unwrap(), 1);
            // A vendor's copy is separate.
            let v = ChecklistAnswer {
                item_id: "v-2-7-server".into(),
                r1: Some(true),
                r1_date: d(7, 1),
                ..Default::default()
            };
            store.save_checklist_answers(f.id, &key("A社"), &[v], "a-sha").await.unwrap();

            let got = store.checklist_answers(f.id, &key("")).await.unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].r1, got[0].r2, got[0].target), (Some(false), Some(true), d(12, 1)));
            assert_eq!(got[0].updated_by, "suzuki");
            assert_eq!(store.checklist_answers(f.id, &key("A社")).await.unwrap().len(), 1);
            assert!(store.checklist_answers(f.id, &key("B社")).await.unwrap().is_empty());
            let forms = store.checklist_forms(f.id).await.unwrap();
            assert_eq!(forms, vec![key(""), key("A社")]);

            let h = store.checklist_history(f.id, &key(""), Some("h-2-7-server")).await.unwrap();
            assert_eq!(h.len(), 2);
            assert_eq!(h[0].changed_by, "suzuki");
            assert_eq!(h[0].before["r2"], serde_json::Value::Null);
            assert_eq!(h[0].after["r2"], serde_json::Value::Bool(true));
            assert_eq!(h[1].before, serde_json::Value::Null);

            // Clearing deletes the row and keeps the history.
            let empty = ChecklistAnswer { item_id: "h-2-7-server".into(), ..Default::default() };
            assert_eq!(store.save_checklist_answers(f.id, &key(""), &[empty], "yamada").await.unwrap(), 1);
            assert!(store.checklist_answers(f.id, &key("")).await.unwrap().is_empty());
            assert_eq!(store.checklist_history(f.id, &key(""), None).await.unwrap().len(), 3);
        }
    }

    /// An answer based on what was read before someone else's change is refused, and nothing of it is written.
    #[tokio::test]
    async fn a_change_based_on_a_stale_read_is_refused() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("同時病院")).await.unwrap();
            let d = NaiveDate::from_ymd_opt(2024, 6, 10);
            let a = |item: &str, r1: bool| ChecklistAnswer {
                item_id: item.into(),
                r1: Some(r1),
                r1_date: d,
                ..Default::default()
            };
            store.save_checklist_answers(f.id, &key(""), &[a("h-2-1", true)], "a").await.unwrap();
            let read = store.checklist_answers(f.id, &key("")).await.unwrap();
            // Someone else changes 2-(1) meanwhile.
            store.save_checklist_answers(f.id, &key(""), &[a("h-2-1", false)], "b").await.unwrap();
            let stale = [a("h-1-1", true), ChecklistAnswer { remarks: "確認済み".into(), ..read[0].clone() }];
            let e = store.save_checklist_answers_if_unchanged(f.id, &key(""), &stale, &read, "a").await.unwrap_err();
            assert!(e.to_string().contains("h-2-1"), "{e}");
            let now = store.checklist_answers(f.id, &key("")).await.unwrap();
            assert_eq!(now.len(), 1, "1-(1) of the refused batch is not written");
            assert_eq!((now[0].r1, now[0].remarks.as_str()), (Some(false), ""));
            // Based on a fresh read it goes through.
            let fresh = store.checklist_answers(f.id, &key("")).await.unwrap();
            let ok = [a("h-1-1", true), ChecklistAnswer { remarks: "確認済み".into(), ..fresh[0].clone() }];
            assert_eq!(store.save_checklist_answers_if_unchanged(f.id, &key(""), &ok, &fresh, "a").await.unwrap(), 2);
        }
    }

    #[tokio::test]
    async fn gmis_answers_with_history() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("調査病院")).await.unwrap();
            let a = |q: &str, v: &str| (q.to_string(), v.to_string());
            let n = store
                .save_gmis_answers(f.id, "backup-vpn-2022", &[a("q5", "はい"), a("q6", "はい")], "u")
                .await
                .unwrap();
            assert_eq!(n, 2);
            assert_eq!(store.save_gmis_answers(f.id, "backup-vpn-2022", &[a("q5", "はい")], "u").await.unwrap(), 0);
            store.save_gmis_answers(f.id, "backup-vpn-2022", &[a("q5", "いいえ"), a("q6", "")], "v").await.unwrap();
            let got = store.gmis_answers(f.id, "backup-vpn-2022").await.unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(
                (got[0].question.as_str(), got[0].answer.as_str(), got[0].updated_by.as_str()),
                ("q5", "いいえ", "v")
            );
            // Based on a stale read (q5 was はい): refused, nothing written.
            let stale = [a("q5", "はい")];
            let e = store
                .save_gmis_answers_if_unchanged(f.id, "backup-vpn-2022", &[a("q8", "はい")], &stale, "w")
                .await
                .unwrap_err();
            assert!(e.to_string().contains("G-MIS"), "{e}");
            assert_eq!(store.gmis_answers(f.id, "backup-vpn-2022").await.unwrap().len(), 1);
            let fresh = [a("q5", "いいえ")];
            store
                .save_gmis_answers_if_unchanged(f.id, "backup-vpn-2022", &[a("q10", "はい")], &fresh, "w")
                .await
                .unwrap();
            assert_eq!(store.gmis_answers(f.id, "backup-vpn-2022").await.unwrap().len(), 2);
        }
    }
}

// ------------------------------------------------------------------------------------------------------------
// vuln (vulnerability diagnosis): global feeds with a product index, per-facility findings and their lifecycle.

mod vuln {
    use mamori_store::vuln::{
        DeviceCpeRow, Feed, FeedCounts, FeedFile, FeedRecord, FeedStream, FeedStreamEnd, FindingData, FindingFilter,
        FindingState, ScanRow, StreamOutcome,
    };

    use super::{hospital, stores};

    fn rec(id: &str, stamp: &str, data: &str, products: &[(&str, &str)], cves: &[&str]) -> FeedRecord {
        FeedRecord {
            id: id.into(),
            stamp: (!stamp.is_empty()).then(|| stamp.to_string()),
            digest: format!("d-{data}"),
            data: data.into(),
            products: products.iter().map(|(v, p)| (v.to_string(), p.to_string())).collect(),
            cves: cves.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn file(feed: Feed, name: &str, records: Vec<FeedRecord>) -> FeedFile {
        FeedFile {
            feed,
            source: name.into(),
            sha256: format!("sha-{name}"),
            data_as_of: Some("2026-08-01".into()),
            records,
        }
    }

    fn found(asset: &str, cve: &str, kev: bool, priority: i64) -> FindingData {
        FindingData {
            key: format!("{asset}|{cve}"),
            asset_no: asset.into(),
            cve_id: cve.into(),
            jvn_id: None,
            confidence: "range".into(),
            tier: if kev { "kev".into() } else { "cvss".into() },
            priority,
            score10: priority % 1000,
            kev,
            ransomware: false,
            at_external_point: false,
            title_ja: Some("テスト脆弱性".into()),
            fixed_version: Some("6.0.5".into()),
            matched_cpe: "cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*".into(),
            criterion: "cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*".into(),
            reason: "範囲内 / in range".into(),
            detail: "{}".into(),
        }
    }

    #[tokio::test]
    async fn feeds_are_incremental_and_scans_load_only_their_products() {
        let s = stores().await;
        for store in &s.list {
            let nvd = || {
                file(
                    Feed::Nvd,
                    "nvd.json",
                    vec![
                        rec("CVE-1", "2026-01-01T00:00:00", "one", &[("fortinet", "fortios")], &[]),
                        rec("CVE-2", "2026-01-01T00:00:00", "two", &[("microsoft", "windows_7")], &[]),
                    ],
                )
            };
            let c = store.vuln_import_feeds(&[nvd()], "ops").await.unwrap();
            assert_eq!(c, vec![FeedCounts { added: 2, ..Default::default() }]);
            // Idempotent.
            let c = store.vuln_import_feeds(&[nvd()], "ops").await.unwrap();
            assert_eq!(c, vec![FeedCounts { unchanged: 2, ..Default::default() }]);
            // Newer record replaces (with its product index); an older one is ignored.
            let newer = file(
                Feed::Nvd,
                "mod.json",
                vec![
                    rec("CVE-1", "2026-02-01T00:00:00", "one-v2", &[("ivanti", "connect_secure")], &[]),
                    rec("CVE-2", "2025-12-01T00:00:00", "two-old", &[("microsoft", "windows_7")], &[]),
                    rec("CVE-3", "2026-02-01T00:00:00", "three", &[("fortinet", "fortios")], &[]),
                ],
            );
            let c = store.vuln_import_feeds(&[newer], "ops").await.unwrap();
            assert_eq!(c, vec![FeedCounts { added: 1, updated: 1, unchanged: 0, older_ignored: 1 }]);
            let kev = file(
                Feed::Kev,
                "kev.json",
                vec![rec("CVE-3", "", "kev3", &[], &[]), rec("CVE-9", "", "kev9", &[], &[])],
            );
            let jvn = file(
                Feed::Jvn,
                "jvn.rdf",
                vec![
                    rec("JVNDB-1", "2026-03-01", "jvn1", &[("fortinet", "fortios")], &["CVE-3"]),
                    rec("JVNDB-2", "2026-03-01", "jvn2", &[("cybozu", "garoon")], &["CVE-2"]),
                ],
            );
            store.vuln_import_feeds(&[kev, jvn], "ops").await.unwrap();

            // Only the records of the asked products (and what JVN links them to) are loaded.
            let slice = store.vuln_slice(&[("fortinet".into(), "fortios".into())]).await.unwrap();
            let mut cves = slice.cves.clone();
            cves.sort();
            assert_eq!(cves, ["three"], "CVE-1 moved to ivanti, CVE-2 is windows");
            assert_eq!(slice.kev, ["kev3"]);
            assert_eq!(slice.jvn, ["jvn1"]);
            let slice = store.vuln_slice(&[("cybozu".into(), "garoon".into())]).await.unwrap();
            assert_eq!(slice.jvn, ["jvn2"]);
            assert_eq!(slice.cves, ["two"], "the CVE a JVN entry names comes along, so NVD decides");
            assert!(store.vuln_slice(&[("nobody".into(), "nothing".into())]).await.unwrap().cves.is_empty());
            let known = store.vuln_known_products().await.unwrap();
            assert!(known.contains(&("ivanti".to_string(), "connect_secure".to_string())));
            assert!(known.contains(&("cybozu".to_string(), "garoon".to_string())));
            assert!(!known.contains(&("nobody".to_string(), "nothing".to_string())));

            let status = store.vuln_feed_status().await.unwrap();
            let nvd_s = status.iter().find(|s| s.feed == Feed::Nvd).unwrap();
            assert_eq!(nvd_s.records, 3);
            assert_eq!(nvd_s.last.as_ref().unwrap().source, "mod.json");
            assert_eq!(nvd_s.data_as_of.as_deref(), Some("2026-08-01"));
            assert_eq!(store.vuln_feed_imports(10).await.unwrap().len(), 5);
        }
    }

    /// A reader that emits `n` records of product `fortinet:fortios`, then fails if `fail` says so.
    fn stream(name: &str, n: usize, fail: Option<&'static str>) -> FeedStream {
        let name = name.to_string();
        FeedStream {
            feed: Feed::Nvd,
            source: name.clone(),
            read: Box::new(move |emit| {
                for i in 0..n {
                    emit(rec(
                        &format!("CVE-S-{i}"),
                        "2026-01-01T00:00:00",
                        &format!("s{i}"),
                        &[("fortinet", "fortios")],
                        &[],
                    ))?;
                }
                match fail {
                    Some(why) => Err(format!("{name}: {why}")),
                    None => Ok(FeedStreamEnd { sha256: format!("sha-{name}"), data_as_of: Some("2026-01-01".into()) }),
                }
            }),
        }
    }

    #[tokio::test]
    async fn streamed_import_writes_batches_in_one_transaction_and_a_bad_file_rolls_all_back() {
        let s = stores().await;
        for store in &s.list {
            // A file cut after 5,000 records (more than two batches were already written into the
            // transaction): nothing stays, the file after it is still read and reported too.
            let out = store
                .vuln_import_streams(
                    vec![
                        stream("good.json", 3, None),
                        stream("cut.json.gz", 5_000, Some("truncated")),
                        stream("bad2.json", 1, Some("broken")),
                    ],
                    "ops",
                )
                .await
                .unwrap();
            match out {
                StreamOutcome::Refused(p) => assert_eq!(p, ["cut.json.gz: truncated", "bad2.json: broken"]),
                StreamOutcome::Written(_) => panic!("a bad file must refuse the import"),
            }
            let slice = store.vuln_slice(&[("fortinet".into(), "fortios".into())]).await.unwrap();
            assert!(slice.cves.is_empty(), "rolled back: {} records left", slice.cves.len());
            assert!(store.vuln_feed_imports(10).await.unwrap().is_empty(), "no import recorded");
            // The same file whole: every batch written, counted once; again: all unchanged.
            for expect in [
                FeedCounts { added: 4_500, ..Default::default() },
                FeedCounts { unchanged: 4_500, ..Default::default() },
            ] {
                match store.vuln_import_streams(vec![stream("whole.json.gz", 4_500, None)], "ops").await.unwrap() {
                    StreamOutcome::Written(f) => {
                        assert_eq!((f.len(), f[0].records, f[0].counts), (1, 4_500, expect));
                    }
                    StreamOutcome::Refused(p) => panic!("{p:?}"),
                }
            }
            assert_eq!(store.vuln_slice(&[("fortinet".into(), "fortios".into())]).await.unwrap().cves.len(), 4_500);
            assert_eq!(store.vuln_feed_imports(10).await.unwrap().len(), 2);
        }
    }

    #[tokio::test]
    async fn findings_keep_their_lifecycle_across_rescans() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("脆弱性病院")).await.unwrap();
            let other = store.add_facility(&hospital("別の病院")).await.unwrap();
            let dev = DeviceCpeRow {
                asset_no: "0001".into(),
                cpes: r#"[{"cpe":"cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*","reason":"r"}]"#.into(),
                unrecognised: "[]".into(),
                notes: "[]".into(),
                overridden: false,
                at_external_point: true,
                needs_review: false,
            };
            let out = store
                .vuln_save_scan(
                    f.id,
                    "ops",
                    &[dev.clone()],
                    vec![found("0001", "CVE-A", true, 4098), found("0001", "CVE-B", false, 1075)],
                    ScanRow::default(),
                )
                .await
                .unwrap();
            assert_eq!((out.findings, out.added), (2, 2));
            let list = store.vuln_findings(f.id, &FindingFilter::default()).await.unwrap();
            assert_eq!(
                list.iter().map(|x| x.data.cve_id.as_str()).collect::<Vec<_>>(),
                ["CVE-A", "CVE-B"],
                "priority order"
            );
            assert!(list.iter().all(|x| x.state == FindingState::Open && x.present));
            assert!(store.vuln_findings(other.id, &FindingFilter::default()).await.unwrap().is_empty());

            // Triage needs a reason; unknown keys change nothing.
            assert!(store.vuln_set_state(f.id, "0001|CVE-A", FindingState::Fixed, " ", "ops").await.is_err());
            assert_eq!(store.vuln_set_state(f.id, "0001|CVE-X", FindingState::Fixed, "r", "ops").await.unwrap(), None);
            assert_eq!(
                store.vuln_set_state(other.id, "0001|CVE-A", FindingState::Fixed, "r", "ops").await.unwrap(),
                None
            );
            let prev =
                store.vuln_set_state(f.id, "0001|CVE-A", FindingState::Fixed, "6.0.18 に更新", "ops").await.unwrap();
            assert_eq!(prev, Some(FindingState::Open));
            store.vuln_set_state(f.id, "0001|CVE-B", FindingState::Accepted, "閉域網のみ", "mgr").await.unwrap();

            // Rescan: A still matches → reopened; B gone → kept accepted, not present; C new.
            let out = store
                .vuln_save_scan(
                    f.id,
                    "ops",
                    &[dev.clone()],
                    vec![found("0001", "CVE-A", true, 4098), found("0001", "CVE-C", false, 1050)],
                    ScanRow::default(),
                )
                .await
                .unwrap();
            assert_eq!(out.reopened, ["0001|CVE-A"]);
            assert_eq!((out.added, out.resolved), (1, 0));
            let a = store.vuln_finding(f.id, "0001|CVE-A").await.unwrap().unwrap();
            assert_eq!(a.state, FindingState::Open);
            assert!(a.state_reason.contains("再オープン"));
            let b = store.vuln_finding(f.id, "0001|CVE-B").await.unwrap().unwrap();
            assert_eq!((b.state, b.present, b.state_by.as_str()), (FindingState::Accepted, false, "mgr"));
            let shown = store.vuln_findings(f.id, &FindingFilter::default()).await.unwrap();
            assert_eq!(shown.len(), 2, "a finding the scan no longer matches is not listed by default");
            let kev = store.vuln_findings(f.id, &FindingFilter { kev_only: true, ..Default::default() }).await.unwrap();
            assert_eq!(kev.len(), 1);

            // Rescan without C: the open C is closed as fixed by the scan.
            let out = store
                .vuln_save_scan(
                    f.id,
                    "ops",
                    &[dev.clone()],
                    vec![found("0001", "CVE-A", true, 4098)],
                    ScanRow::default(),
                )
                .await
                .unwrap();
            assert_eq!(out.resolved, 1);
            let c = store.vuln_finding(f.id, "0001|CVE-C").await.unwrap().unwrap();
            assert_eq!((c.state, c.present), (FindingState::Fixed, false));

            let h = store.vuln_history(f.id, Some("0001|CVE-A")).await.unwrap();
            let steps: Vec<(FindingState, FindingState)> = h.iter().map(|x| (x.from_state, x.to_state)).collect();
            assert_eq!(steps, [(FindingState::Open, FindingState::Fixed), (FindingState::Fixed, FindingState::Open)]);
            assert_eq!(h[0].reason, "6.0.18 に更新");
            assert_eq!(store.vuln_history(f.id, None).await.unwrap().len(), 4);
            let scan = store.vuln_last_scan(f.id).await.unwrap().unwrap();
            assert_eq!((scan.findings, scan.resolved), (1, 1));

            // Device CPEs and overrides.
            assert_eq!(store.vuln_device_cpes(f.id).await.unwrap(), [dev.clone()]);
            let cpe = vec!["cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*".to_string()];
            store.vuln_set_override(f.id, "0001", &cpe, "台帳の表記揺れ", "ops").await.unwrap();
            let o = store.vuln_overrides(f.id).await.unwrap();
            assert_eq!((o.len(), o[0].cpes.clone(), o[0].set_by.as_str()), (1, cpe, "ops"));
            assert!(store.vuln_overrides(other.id).await.unwrap().is_empty());
            store.vuln_set_override(f.id, "0001", &[], "", "ops").await.unwrap();
            assert!(store.vuln_overrides(f.id).await.unwrap().is_empty());
        }
    }

    // --------------------------------------------------------------------------------- at scale (0010)

    use std::borrow::Cow;
    use std::sync::Arc;

    use mamori_store::vuln::{FindingFact, NewFinding, ScanDevice, StoredFinding};

    fn device_row(asset: &str) -> DeviceCpeRow {
        DeviceCpeRow {
            asset_no: asset.into(),
            cpes: "[]".into(),
            unrecognised: "[]".into(),
            notes: "[]".into(),
            overridden: false,
            at_external_point: false,
            needs_review: false,
        }
    }

    /// A finding as the app hands it to the store (`n` varies priority, KEV and confidence).
    fn nf(cve: &str, n: i64, fixed: &str) -> NewFinding {
        let fact = FindingFact {
            cve_id: cve.into(),
            jvn_id: None,
            title_ja: None,
            fixed_version: Some(fixed.into()),
            matched_cpe: "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*".into(),
            criterion: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*".into(),
            reason: "範囲内 / in range".into(),
        };
        let kev = n % 7 == 0;
        NewFinding {
            fact_id: fact.id(),
            fact: Arc::new(fact),
            confidence: Cow::Borrowed(if n % 3 == 0 { "vendor_product_only" } else { "range" }),
            tier: Cow::Borrowed(if kev { "kev" } else { "cvss" }),
            priority: if kev { 4000 } else { 0 } + n % 100,
            score10: n % 100,
            kev,
            ransomware: false,
            at_external_point: false,
        }
    }

    fn dev(asset: &str, digest: &str, n: usize) -> ScanDevice {
        ScanDevice { asset_no: asset.into(), row: Some(device_row(asset)), digest: digest.into(), findings: n }
    }

    /// A scan of `devices` whose findings are `per[i]`; also which devices the store asked for findings.
    async fn scan_asking(
        store: &mamori_store::Store,
        fid: i64,
        devices: &[ScanDevice],
        per: &[Vec<NewFinding>],
    ) -> (mamori_store::vuln::ScanOutcome, Vec<usize>) {
        let mut asked = Vec::new();
        let out = store
            .vuln_save_scan_devices(
                fid,
                "ops",
                devices,
                &mut |i| {
                    asked.push(i);
                    Ok(per[i].clone())
                },
                ScanRow::default(),
            )
            .await
            .unwrap();
        (out, asked)
    }

    /// Everything a scan may change, for before/after comparisons.
    async fn dump(
        store: &mamori_store::Store,
        fid: i64,
    ) -> (Vec<StoredFinding>, usize, Vec<DeviceCpeRow>, Option<ScanRow>) {
        let all = FindingFilter { include_absent: true, ..Default::default() };
        let full = store.vuln_findings(fid, &all).await.unwrap();
        // The kept counts agree with the rows, whatever happened before.
        let c = store.vuln_finding_counts(fid, &all).await.unwrap();
        assert_eq!(c.total as usize, full.len());
        for (st, n) in &c.by_state {
            assert_eq!(*n as usize, full.iter().filter(|x| x.state == *st).count(), "{st:?}");
        }
        let shown = store.vuln_finding_counts(fid, &FindingFilter::default()).await.unwrap();
        assert_eq!(shown.total as usize, full.iter().filter(|x| x.present).count());
        let (_, by_cve) = store.vuln_findings_by_cve(fid, &all, 0, 100_000).await.unwrap();
        assert_eq!(by_cve.iter().map(|x| x.devices).sum::<i64>(), c.total);
        (
            full,
            store.vuln_history(fid, None).await.unwrap().len(),
            store.vuln_device_cpes(fid).await.unwrap(),
            store.vuln_last_scan(fid).await.unwrap(),
        )
    }

    #[tokio::test]
    async fn rescans_rewrite_only_changed_devices_and_keep_states() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("大規模病院")).await.unwrap();
            let a1 = vec![nf("CVE-1", 1, "2.0"), nf("CVE-2", 2, "2.0")];
            let b1 = vec![nf("CVE-3", 4, "2.0")];
            let devices = vec![dev("A", "a1", 2), dev("B", "b1", 1)];
            let per = [a1.clone(), b1.clone()];
            let (out, asked) = scan_asking(store, f.id, &devices, &per).await;
            assert_eq!((out.findings, out.added), (3, 3));
            assert_eq!(asked, [0, 1], "a first scan writes every device");
            store.vuln_set_state(f.id, "A|CVE-1", FindingState::Accepted, "閉域網のみ", "mgr").await.unwrap();
            store.vuln_set_state(f.id, "B|CVE-3", FindingState::FalsePositive, "別製品", "mgr").await.unwrap();
            let before = dump(store, f.id).await;

            // Nothing changed: no device is asked for its findings, no row rewritten, states kept;
            // present findings show the new scan as last seen.
            let (out, asked) = scan_asking(store, f.id, &devices, &per).await;
            assert!(asked.is_empty(), "unchanged devices are not rewritten: {asked:?}");
            assert_eq!((out.findings, out.added, out.resolved), (3, 0, 0));
            assert!(out.reopened.is_empty());
            let after = dump(store, f.id).await;
            let scan_at = after.3.as_ref().unwrap().scanned_at.clone();
            assert_eq!(after.0.len(), 3);
            for (x, y) in before.0.iter().zip(&after.0) {
                assert_eq!((&x.data, x.state, x.present, &x.first_seen), (&y.data, y.state, y.present, &y.first_seen));
                assert_eq!(y.last_seen, scan_at, "{}", y.data.key);
            }
            assert_eq!(before.1, after.1, "no history for an unchanged rescan");

            // A "fixed" finding that still matches is reopened even when the device's digest is unchanged.
            store.vuln_set_state(f.id, "A|CVE-2", FindingState::Fixed, "更新済み", "ops").await.unwrap();
            let out = store
                .vuln_save_scan_devices(f.id, "ops", &devices, &mut |i| Ok(per[i].clone()), ScanRow::default())
                .await
                .unwrap();
            assert_eq!(out.reopened, ["A|CVE-2"]);
            let a2 = store.vuln_finding(f.id, "A|CVE-2").await.unwrap().unwrap();
            assert_eq!((a2.state, a2.present), (FindingState::Open, true));
            let a1_now = store.vuln_finding(f.id, "A|CVE-1").await.unwrap().unwrap();
            assert_eq!((a1_now.state, a1_now.state_by.as_str()), (FindingState::Accepted, "mgr"));

            // A changes (CVE-2 gone, CVE-4 new, CVE-1's data changes); B leaves the ledger.
            let a2_list = vec![nf("CVE-1", 5, "3.0"), nf("CVE-4", 8, "2.0")];
            let out = store
                .vuln_save_scan_devices(
                    f.id,
                    "ops",
                    &[dev("A", "a2", 2)],
                    &mut |_| Ok(a2_list.clone()),
                    ScanRow::default(),
                )
                .await
                .unwrap();
            assert_eq!((out.findings, out.added, out.resolved), (2, 1, 1));
            let c1 = store.vuln_finding(f.id, "A|CVE-1").await.unwrap().unwrap();
            assert_eq!(
                (c1.state, c1.present, c1.data.fixed_version.as_deref(), c1.state_reason.as_str()),
                (FindingState::Accepted, true, Some("3.0"), "閉域網のみ"),
                "the lifecycle survives a change of the finding's data"
            );
            let gone = store.vuln_finding(f.id, "A|CVE-2").await.unwrap().unwrap();
            assert_eq!(
                (gone.state, gone.present),
                (FindingState::Fixed, false),
                "open and vanished: fixed by the scan"
            );
            let b = store.vuln_finding(f.id, "B|CVE-3").await.unwrap().unwrap();
            assert_eq!(
                (b.state, b.present, b.state_by.as_str()),
                (FindingState::FalsePositive, false, "mgr"),
                "a device no longer scanned: its findings are kept, not present"
            );
            assert!(
                !b.last_seen.is_empty() && b.last_seen <= store.vuln_last_scan(f.id).await.unwrap().unwrap().scanned_at
            );
            let shown = store.vuln_findings(f.id, &FindingFilter::default()).await.unwrap();
            assert_eq!(shown.iter().map(|x| x.data.key.as_str()).collect::<Vec<_>>(), ["A|CVE-4", "A|CVE-1"]);
            let h = store.vuln_history(f.id, Some("A|CVE-2")).await.unwrap();
            assert_eq!(h.last().map(|x| (x.from_state, x.to_state)), Some((FindingState::Open, FindingState::Fixed)));
            assert_eq!(store.vuln_device_cpes(f.id).await.unwrap().len(), 1);
            dump(store, f.id).await;
        }
    }

    #[tokio::test]
    async fn pages_counts_by_cve_and_stream_agree_with_the_full_list() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("頁病院")).await.unwrap();
            let other = store.add_facility(&hospital("隣の病院")).await.unwrap();
            let per: Vec<Vec<NewFinding>> = (0..30)
                .map(|d| {
                    (0..40).map(|c| nf(&format!("CVE-{:03}", (c * 7 + d) % 60), (c * 13 + d) as i64, "1.1")).collect()
                })
                .collect();
            let devices: Vec<ScanDevice> =
                (0..30).map(|d| dev(&format!("D{d:02}"), &format!("x{d}"), per[d].len())).collect();
            for fid in [f.id, other.id] {
                store
                    .vuln_save_scan_devices(fid, "ops", &devices, &mut |i| Ok(per[i].clone()), ScanRow::default())
                    .await
                    .unwrap();
            }
            store.vuln_set_state(f.id, "D03|CVE-003", FindingState::Accepted, "r", "ops").await.unwrap();
            store.vuln_set_state(f.id, "D04|CVE-011", FindingState::Fixed, "r", "ops").await.unwrap();
            for filter in [
                FindingFilter::default(),
                FindingFilter { states: vec![FindingState::Open], ..Default::default() },
                FindingFilter { kev_only: true, ..Default::default() },
                FindingFilter { confirmed_only: true, min_score10: Some(40), ..Default::default() },
                FindingFilter { assets: Some(vec!["D01".into(), "D07".into()]), ..Default::default() },
                FindingFilter { cve_id: Some("CVE-010".into()), include_absent: true, ..Default::default() },
            ] {
                let full = store.vuln_findings(f.id, &filter).await.unwrap();
                let mut paged = Vec::new();
                for page in 0.. {
                    let p = store.vuln_findings_page(f.id, &filter, page * 97, 97).await.unwrap();
                    if p.is_empty() {
                        break;
                    }
                    paged.extend(p);
                }
                assert_eq!(paged, full, "pages = the full list, in priority order");
                assert!(full.windows(2).all(|w| w[0].data.priority >= w[1].data.priority));
                let mut streamed = Vec::new();
                store
                    .vuln_findings_each(f.id, &filter, &mut |x| {
                        streamed.push(x);
                        Ok(())
                    })
                    .await
                    .unwrap();
                assert_eq!(streamed, full);
                let c = store.vuln_finding_counts(f.id, &filter).await.unwrap();
                assert_eq!(c.total as usize, full.len());
                assert_eq!(c.kev as usize, full.iter().filter(|x| x.data.kev).count());
                assert_eq!(c.by_state.iter().map(|x| x.1).sum::<i64>(), c.total);
                assert_eq!(c.by_tier.iter().map(|x| x.1).sum::<i64>(), c.total);
                for (conf, n) in &c.by_confidence {
                    assert_eq!(*n as usize, full.iter().filter(|x| &x.data.confidence == conf).count());
                }
                let (ncve, by_cve) = store.vuln_findings_by_cve(f.id, &filter, 0, 1000).await.unwrap();
                let mut expect: std::collections::BTreeMap<&str, i64> = Default::default();
                for x in &full {
                    *expect.entry(x.data.cve_id.as_str()).or_default() += 1;
                }
                assert_eq!(ncve as usize, expect.len());
                assert_eq!(by_cve.iter().map(|x| x.devices).sum::<i64>(), c.total);
                for x in &by_cve {
                    assert_eq!(expect.get(x.cve_id.as_str()), Some(&x.devices), "{}", x.cve_id);
                }
                assert!(by_cve.windows(2).all(|w| w[0].priority >= w[1].priority));
            }
            assert!(store.vuln_finding_counts(f.id, &FindingFilter::default()).await.unwrap().total > 0);
        }
    }

    #[tokio::test]
    async fn a_scan_that_fails_midway_leaves_the_store_as_before() {
        let s = stores().await;
        for store in &s.list {
            let f = store.add_facility(&hospital("中断病院")).await.unwrap();
            // 40 devices × 500 findings: more than one write batch before the failure.
            let make = |v: i64| -> Vec<Vec<NewFinding>> {
                (0..40)
                    .map(|d| (0..500).map(|c| nf(&format!("CVE-{c:04}"), c + d + v, &format!("{v}.0"))).collect())
                    .collect()
            };
            let first = make(1);
            let devices: Vec<ScanDevice> = (0..40).map(|d| dev(&format!("D{d:02}"), "v1", 500)).collect();
            store
                .vuln_save_scan_devices(f.id, "ops", &devices, &mut |i| Ok(first[i].clone()), ScanRow::default())
                .await
                .unwrap();
            store.vuln_set_state(f.id, "D00|CVE-0001", FindingState::Accepted, "r", "ops").await.unwrap();
            let before = dump(store, f.id).await;
            assert_eq!(before.0.len(), 20_000);
            let second = make(2);
            let devices2: Vec<ScanDevice> = (0..40).map(|d| dev(&format!("D{d:02}"), "v2", 500)).collect();
            let err = store
                .vuln_save_scan_devices(
                    f.id,
                    "ops",
                    &devices2,
                    &mut |i| {
                        if i == 37 {
                            Err(mamori_store::StoreError::Invalid("中断 / cancelled".into()))
                        } else {
                            Ok(second[i].clone())
                        }
                    },
                    ScanRow::default(),
                )
                .await;
            assert!(err.is_err());
            let after = dump(store, f.id).await;
            assert!(before == after, "a failed scan changes nothing");
            // A first scan that fails leaves nothing either.
            let g = store.add_facility(&hospital("初回中断病院")).await.unwrap();
            let r = store
                .vuln_save_scan_devices(
                    g.id,
                    "ops",
                    &devices,
                    &mut |i| {
                        if i < 39 { Ok(first[i].clone()) } else { Err(mamori_store::StoreError::Invalid("x".into())) }
                    },
                    ScanRow::default(),
                )
                .await;
            assert!(r.is_err());
            assert_eq!(dump(store, g.id).await, (vec![], 0, vec![], None));
        }
    }
}
