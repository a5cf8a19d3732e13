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
        // Search is case-insensitive and treats % and _ literally.
        let q = LedgerQuery { search: "windows 10".into(), limit: 500, ..Default::default() };
        assert_eq!(store.ledger_page::<Device>(f.id, &q).await.unwrap().1, 40);
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
