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
