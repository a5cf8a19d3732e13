use std::collections::BTreeMap;

use mamori_catalog::checklist::{self, EditionStatus, FormKind, TargetGroup};
use mamori_catalog::{CatalogError, CatalogSource};

use crate::common::{fixture, tsv};

/// (number, target, text) of every item of a form, sorted, for comparison with the official fixture.
fn rows(edition: &str, kind: FormKind) -> Vec<Vec<String>> {
    let ed = checklist::load(&CatalogSource::embedded(), edition).expect("edition loads");
    let form = ed.form(kind).expect("form exists");
    let mut v: Vec<Vec<String>> = form
        .items()
        .map(|i| vec![i.number.clone(), i.target.map(|t| t.label().to_string()).unwrap_or_default(), i.text.clone()])
        .collect();
    v.sort();
    v
}

fn official(rel: &str) -> Vec<Vec<String>> {
    let mut v = tsv(rel);
    for r in &mut v {
        r.resize(3, String::new());
    }
    v.sort();
    v
}

#[test]
fn r6_hospital_wording_matches_the_seed() {
    let got = rows("r6-2024", FormKind::Hospital);
    let want = official("official/checklist-r6-2024-hospital.tsv");
    assert_eq!(got.len(), 19, "医療機関確認用 has 19 rows (initial question + 18 items)");
    assert_eq!(got, want);
}

#[test]
fn r6_vendor_wording_matches_the_seed() {
    let got = rows("r6-2024", FormKind::Vendor);
    let want = official("official/checklist-r6-2024-vendor.tsv");
    assert_eq!(got.len(), 14, "事業者確認用 has 14 rows");
    assert_eq!(got, want);
}

#[test]
fn r7_draft_wording_matches_the_recovered_reference() {
    let got = rows("r7-2025", FormKind::Hospital);
    let want = official("official/checklist-r7-2025-hospital.tsv");
    assert_eq!(got, want);
}

#[test]
fn r6_item_ids_are_stable_and_in_sheet_order() {
    let ed = checklist::load(&CatalogSource::embedded(), "r6-2024").unwrap();
    let ids = |k| ed.form(k).unwrap().items().map(|i| i.id.as_str()).collect::<Vec<_>>();
    assert_eq!(
        ids(FormKind::Hospital),
        [
            "h-0",
            "h-1-1",
            "h-2-1",
            "h-2-2",
            "h-2-3",
            "h-2-4-server",
            "h-2-5-server",
            "h-2-6-server",
            "h-2-7-server",
            "h-2-9-server",
            "h-2-4-pc",
            "h-2-5-pc",
            "h-2-7-pc",
            "h-2-9-pc",
            "h-2-7-network",
            "h-2-8-network",
            "h-3-1",
            "h-3-2",
            "h-3-3"
        ]
    );
    assert_eq!(
        ids(FormKind::Vendor),
        [
            "v-1-1",
            "v-2-2",
            "v-2-3",
            "v-2-4-server",
            "v-2-5-server",
            "v-2-6-server",
            "v-2-7-server",
            "v-2-9-server",
            "v-2-4-pc",
            "v-2-5-pc",
            "v-2-7-pc",
            "v-2-9-pc",
            "v-2-7-network",
            "v-2-8-network"
        ]
    );
}

#[test]
fn r6_edition_header_forms_and_notes() {
    let ed = checklist::load(&CatalogSource::embedded(), "r6-2024").unwrap();
    assert_eq!(ed.fiscal_year, 2024);
    assert_eq!(ed.status, EditionStatus::Official);
    assert_eq!(ed.edition_label, "令和6年度版");
    assert_eq!(ed.title, "医療機関におけるサイバーセキュリティ対策チェックリスト");
    assert_eq!(ed.answer_options, ["はい", "いいえ"]);
    let h = ed.form(FormKind::Hospital).unwrap();
    let v = ed.form(FormKind::Vendor).unwrap();
    assert_eq!((h.title.as_str(), v.title.as_str()), ("医療機関確認用", "事業者確認用"));
    assert!(!h.one_per_vendor);
    assert!(v.one_per_vendor, "the vendor form is one per contracted vendor");
    assert_eq!(v.vendor_name_label.as_deref(), Some("事業者名："));
    for f in [h, v] {
        assert!(
            f.notes
                .iter()
                .any(|n| n.starts_with("*1回目の確認で「いいえ」の場合、令和6年度中の対応目標日を記入してください。"))
        );
        assert_eq!(f.notes.iter().filter(|n| n.starts_with('●')).count(), 3);
    }
    // Section 2's group headings as printed.
    let s2 = h.sections.iter().find(|s| s.number == "2").unwrap();
    assert_eq!(s2.title, "医療情報システムの管理・運用");
    let heading = |t| s2.groups.iter().find(|g| g.target == t).map(|g| g.heading.as_str());
    assert_eq!(heading(TargetGroup::Server), Some("サーバについて、以下を実施している。"));
    assert_eq!(heading(TargetGroup::TerminalPc), Some("端末PCについて、以下を実施している。"));
}

#[test]
fn r6_r5_marks_match_the_seed_counts() {
    let ed = checklist::load(&CatalogSource::embedded(), "r6-2024").unwrap();
    let count = |k| ed.form(k).unwrap().items().filter(|i| i.r5).count();
    // The seed's text layer has 10 / 8 "※" marks on the two sheets, one of each being the column header.
    assert_eq!(count(FormKind::Hospital), 9);
    assert_eq!(count(FormKind::Vendor), 7);
    assert!(ed.item("h-2-8-network").unwrap().r5);
    assert!(!ed.item("h-2-7-network").unwrap().r5);
}

#[test]
fn r6_rules_are_data() {
    let ed = checklist::load(&CatalogSource::embedded(), "r6-2024").unwrap();
    let h0 = ed.item("h-0").unwrap();
    assert!(h0.rules.ends_checklist_if_no);
    assert_eq!(h0.note.as_deref(), Some("（「いいえ」の場合、以下すべての項目は確認不要）"));
    for id in ["h-2-2", "h-2-3"] {
        let i = ed.item(id).unwrap();
        assert!(i.rules.skip_if_no_vendor_contract, "{id}");
        assert_eq!(i.note.as_deref(), Some("※事業者と契約していない場合には、記入不要"));
    }
    let skipping: Vec<_> = ed.items().filter(|i| i.rules.skip_if_no_vendor_contract).map(|i| i.id.as_str()).collect();
    assert_eq!(skipping, ["h-2-2", "h-2-3"]);

    let h = ed.form(FormKind::Hospital).unwrap();
    let mut answers = BTreeMap::new();
    assert_eq!(h.applicable_items(&answers, true).len(), 19);
    let no_vendor = h.applicable_items(&answers, false);
    assert_eq!(no_vendor.len(), 17);
    assert!(no_vendor.iter().all(|i| i.id != "h-2-2" && i.id != "h-2-3"));
    answers.insert("h-0".to_string(), false);
    let ended: Vec<_> = h.applicable_items(&answers, true).iter().map(|i| i.id.clone()).collect();
    assert_eq!(ended, ["h-0"], "いいえ on the initial question ends the checklist");
    answers.insert("h-0".to_string(), true);
    assert_eq!(h.applicable_items(&answers, true).len(), 19);
}

#[test]
fn r6_every_item_has_the_manual_help_and_references() {
    let ed = checklist::load(&CatalogSource::embedded(), "r6-2024").unwrap();
    for i in ed.items() {
        assert!(!i.help.explanation.is_empty(), "{} has an explanation", i.id);
        assert!(!i.help.references.is_empty(), "{} has ▶ references", i.id);
        assert!(i.help.references.iter().all(|r| r.starts_with('▶')));
    }
    let led = ed.item("h-2-1").unwrap();
    assert_eq!(led.help.references, ["▶経営管理編 1.2.1＜管理責任＞②", "▶企画管理編 9.1"]);
    assert_eq!(led.help.target_label.as_deref(), Some("（医療情報システム全般）"));
    assert!(led.help.supplement.as_deref().unwrap().contains("「はい」にマルをつけてください"));
    assert!(led.help.examples[0].columns.contains(&"IPアドレス".to_string()));
    let backup = ed.item("h-3-2").unwrap();
    assert_eq!(backup.help.terms[0].term, "世代管理");
    assert_eq!(
        backup.help.references,
        [
            "▶経営管理編 3.4.1",
            "▶企画管理編 11.2",
            "▶システム運用編 11.1",
            "▶システム運用編 12.2",
            "▶システム運用編 18.1"
        ]
    );
    // The same number shares its help across target rows and forms.
    assert_eq!(ed.item("h-2-7-server").unwrap().help, ed.item("v-2-7-network").unwrap().help);
    let manual = ed.manual.as_ref().unwrap();
    let s2 = manual.sections.iter().find(|s| s.number == "2").unwrap();
    assert_eq!(s2.applies_to.as_deref(), Some("【医療機関確認用・事業者確認用】"));
    assert_eq!(s2.terms.len(), 3);
}

#[test]
fn r7_draft_is_marked_partial_and_unverified() {
    let ed = checklist::load(&CatalogSource::embedded(), "r7-2025").unwrap();
    assert_eq!(ed.status, EditionStatus::DraftPartial);
    assert_eq!(ed.fiscal_year, 2025);
    assert!(ed.form(FormKind::Vendor).is_none(), "the vendor form was not recovered");
    assert!(!ed.gaps.is_empty());
    for i in ed.items() {
        assert!(!i.verified, "{} is unverified", i.id);
        assert!(!i.unverified.is_empty() && i.verification_note.is_some(), "{}", i.id);
    }
    let reuse = ed.item("h-2-8").unwrap();
    assert_eq!(reuse.number, "2-⑧");
    assert_eq!(reuse.help.references, ["▶システム運用編 8.⑤"]);
    assert_eq!(ed.item("h-2-12").unwrap().target, Some(TargetGroup::ServerAndTerminalPc));
}

#[test]
fn load_all_lists_the_embedded_editions_by_year() {
    let all = checklist::load_all(&CatalogSource::embedded()).unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["r6-2024", "r7-2025"]);
}

#[test]
fn a_new_edition_loads_from_an_overlay_without_code_change() {
    let src = CatalogSource::with_overlay(fixture("overlay"));
    let all = checklist::load_all(&src).unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["r6-2024", "r7-2025", "t1-2099"]);
    let t = checklist::load(&src, "t1-2099").unwrap();
    assert_eq!(t.fiscal_year, 2099);
    assert_eq!(t.item("v-2-1-server").unwrap().target, Some(TargetGroup::Server));
    assert_eq!(t.item("h-1-1").unwrap().help.references, ["▶企画管理編 9.1"]);
    assert!(checklist::load(&CatalogSource::embedded(), "t1-2099").is_err(), "not embedded");
}

fn invalid_reason(id: &str) -> (String, String) {
    let src = CatalogSource::with_overlay(fixture("invalid"));
    match checklist::load(&src, id) {
        Err(CatalogError::Invalid { file, reason }) => (file, reason),
        other => panic!("expected Invalid for {id}, got {other:?}"),
    }
}

#[test]
fn duplicate_id_and_missing_text_are_rejected_naming_file_and_item() {
    let (file, reason) = invalid_reason("bad-dup");
    assert_eq!(file, "checklist/bad-dup.toml");
    assert!(reason.contains("item h-1-1: IDが重複しています / duplicate id"), "{reason}");
    assert!(reason.contains("item h-1-1: 文言がありません / text is empty"), "{reason}");
    // The message a user sees names the file and says what to do.
    let msg = checklist::load(&CatalogSource::with_overlay(fixture("invalid")), "bad-dup").unwrap_err().to_string();
    assert!(msg.contains("checklist/bad-dup.toml") && msg.contains("IDが重複しています"), "{msg}");
    // One bad file makes load_all fail too, naming it.
    let err = checklist::load_all(&CatalogSource::with_overlay(fixture("invalid"))).unwrap_err();
    assert!(err.to_string().contains("checklist/bad-"), "{err}");
}

#[test]
fn bad_numbers_references_and_unverified_items_are_rejected() {
    let (_, reason) = invalid_reason("bad-number");
    assert!(reason.contains("item h-2-1: 番号「2-(1」が不正です / bad number \"2-(1\""), "{reason}");
    assert!(reason.contains("/ number \"3-(1)\" is not in section 2"), "{reason}");
    assert!(reason.contains("bad reference \"企画管理編 9.1\""), "{reason}");
    assert!(
        reason
            .contains("item h-3-1: 公表版に未確認の項目があります / an official edition cannot hold unverified items"),
        "{reason}"
    );
    assert!(reason.contains("item h-2-1: 番号 2-(1 の解説がマニュアルにありません / no manual entry"), "{reason}");
}

#[test]
fn unknown_field_is_a_parse_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("mamori-catalog-it-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("checklist")).unwrap();
    let text = std::fs::read_to_string(fixture("overlay/checklist/t1-2099.toml"))
        .unwrap()
        .replace("id = \"t1-2099\"", "id = \"t2-2099\"")
        .replace("text = \"試験用の項目です。\"", "txet = \"試験用の項目です。\"");
    std::fs::write(dir.join("checklist/t2-2099.toml"), text).unwrap();
    let err = checklist::load(&CatalogSource::with_overlay(&dir), "t2-2099").unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    match err {
        CatalogError::Parse { file, reason } => {
            assert_eq!(file, "checklist/t2-2099.toml");
            assert!(reason.contains("txet"), "{reason}");
        }
        other => panic!("expected Parse, got {other:?}"),
    }
}

#[test]
fn a_bad_edition_id_is_refused_before_reading() {
    let err = checklist::load(&CatalogSource::embedded(), "../eos/x").unwrap_err();
    assert!(matches!(err, CatalogError::Invalid { .. }), "{err}");
}
