use mamori_catalog::bcp;
use mamori_catalog::{CatalogError, CatalogSource};

use crate::common::{fixture, tsv};

fn edition() -> bcp::BcpEdition {
    bcp::load(&CatalogSource::embedded(), "r6-2024").expect("BCP edition loads")
}

#[test]
fn the_confirmation_table_matches_the_seed() {
    let e = edition();
    let got: Vec<Vec<String>> =
        e.checks().map(|(i, c)| vec![i.number.clone(), i.title.clone(), c.text.clone()]).collect();
    let want = tsv("official/bcp-r6-2024.tsv");
    assert_eq!(got.len(), 27);
    assert_eq!(got, want);
    assert_eq!(e.items.len(), 21, "1-1 … 5-6");
}

#[test]
fn phases_and_their_items() {
    let e = edition();
    let names: Vec<_> = e.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["平時", "検知", "初動対応", "復旧処理", "事後対応"]);
    let per_phase: Vec<usize> = (1..=5).map(|n| e.items_in(n).count()).collect();
    assert_eq!(per_phase, [2, 3, 6, 4, 6]);
    assert_eq!(e.phase_of(e.item("3-5").unwrap()).unwrap().name, "初動対応");
}

#[test]
fn the_guide_explains_every_check_with_references_where_printed() {
    let e = edition();
    for (_, c) in e.checks() {
        assert!(!c.explanation.is_empty(), "{} has the guide's explanation", c.id);
        assert_eq!(c.references_printed.is_some(), !c.references.is_empty(), "{}", c.id);
    }
    let first = &e.item("1-1").unwrap().checks[0];
    assert_eq!(first.references, ["▶企画管理編 9.1", "▶システム運用編 8.4"]);
    let contacts = &e.item("1-2").unwrap().checks[0];
    assert_eq!(contacts.references, ["▶経営管理編 3.4.3", "▶企画管理編 2.1", "▶企画管理編 12.3", "▶Q&A 企 Q-16"]);
    assert_eq!(
        e.item("3-4").unwrap().guide_heading.as_deref(),
        Some("経営層への報告、経営層による確認と指示、組織内周知")
    );
}

#[test]
fn the_template_outline_matches_the_seed() {
    let e = edition();
    let t = e.template.as_ref().expect("template outline");
    let got: Vec<Vec<String>> = t.sections.iter().map(|s| vec![s.number.clone(), s.heading.clone()]).collect();
    assert_eq!(got, tsv("official/bcp-template-r6-2024.tsv"));
    assert_eq!(
        t.chapters().map(|c| c.label.as_deref().unwrap_or("")).collect::<Vec<_>>(),
        ["第１章", "第２章", "第３章", "第４章"]
    );
    let ledger = t.section("2.1.3").unwrap();
    assert_eq!(ledger.heading, "情報機器台帳");
    assert_eq!(ledger.depth(), 3);
    let backup = t.section("2.2.4").unwrap();
    assert_eq!(backup.figures[0].columns, ["システム", "頻度", "作成方法", "復旧方法"]);
}

#[test]
fn an_out_of_sequence_item_and_an_empty_check_are_rejected() {
    let src = CatalogSource::with_overlay(fixture("invalid"));
    match bcp::load(&src, "bad-seq") {
        Err(CatalogError::Invalid { file, reason }) => {
            assert_eq!(file, "bcp/bad-seq.toml");
            assert!(
                reason.contains("item 1-3: 項番が順番どおりではありません / out of sequence (expected 1-2)"),
                "{reason}"
            );
            assert!(reason.contains("check 1-3-1: 文言がありません / text is empty"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn load_all_finds_the_embedded_edition() {
    let all = bcp::load_all(&CatalogSource::embedded()).unwrap();
    assert_eq!(all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["r6-2024"]);
}

#[test]
fn the_template_carries_its_body_text_and_covers_every_table_item() {
    let e = edition();
    let t = e.template.as_ref().unwrap();
    let empty: Vec<_> = t.sections.iter().filter(|s| s.text.is_empty()).map(|s| s.number.as_str()).collect();
    assert_eq!(empty, ["1", "1.3", "2", "2.2", "3", "4", "4.2"], "only chapters and pure headings have no body");
    let policy = &t.section("1.2").unwrap().text;
    assert_eq!(policy.lines().filter(|l| l.starts_with(['I', 'V'])).count(), 5, "基本方針 I. … V.");
    assert!(
        t.section("2.1.6").unwrap().text.contains("サーバ、端末PC、ネットワーク機器について脆弱性情報の収集を行う。")
    );
    assert!(t.section("2.2.3").unwrap().text.contains("年〇回以上の教育、訓練を実施する。"), "placeholders are kept");
    // Every table item is answered by some template section (the generator relies on this mapping).
    for item in &e.items {
        let covered = t
            .sections
            .iter()
            .any(|s| s.related.iter().any(|r| r == &item.number || item.checks.iter().any(|c| &c.id == r)));
        assert!(covered, "item {} has a template section", item.number);
    }
    assert_eq!(t.section("2.1.3").unwrap().related, ["1-1-1"]);
}

#[test]
fn default_external_bodies_carry_only_numbers_printed_in_the_seeds() {
    let e = edition();
    let codes: Vec<&str> = e.external_bodies.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(codes, ["x-mhlw", "x-police", "x-pref", "x-ipa"]);
    let mhlw = &e.external_bodies[0];
    // Seed 002: 【連絡先】厚生労働省医政局特定医薬品開発支援・医療情報担当参事官室 03-6812-7837 / igishitsu@mhlw.go.jp
    assert_eq!(
        (mhlw.role.as_str(), mhlw.name.as_str(), mhlw.phone.as_str(), mhlw.email.as_str()),
        ("厚生労働省", "医政局特定医薬品開発支援・医療情報担当参事官室", "03-6812-7837", "igishitsu@mhlw.go.jp")
    );
    // The police number differs per prefecture: left for the hospital, never made up.
    assert!(e.external_bodies[1].phone.is_empty() && e.external_bodies[2].phone.is_empty());
    assert_eq!(e.external_bodies[3].phone, "03-5978-7509", "seed 003: IPA 情報セキュリティ安心相談窓口");
    for b in &e.external_bodies {
        assert!(!b.source.is_empty(), "{} says where its number comes from", b.code);
    }
}
