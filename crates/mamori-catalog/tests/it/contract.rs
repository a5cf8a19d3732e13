use mamori_catalog::CatalogSource;
use mamori_catalog::checklist::EditionStatus;
use mamori_catalog::contract;

use crate::common::tsv;

fn table() -> contract::ContractTable {
    contract::load(&CatalogSource::embedded(), "r6-2024").expect("contract table loads")
}

#[test]
fn the_partial_table_says_what_is_missing() {
    let t = table();
    assert_eq!(t.status, EditionStatus::DraftPartial);
    assert_eq!(t.issuers, ["厚生労働省", "経済産業省", "総務省"]);
    assert_eq!(t.columns, ["項番", "項目", "内容", "初回確認", "完了日"]);
    assert!(!t.gaps.is_empty());
    let parts: Vec<_> = t.parts.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(parts, ["Part1 主に医療機関が実施する項目", "Part2 医療機関と事業者が共同で実施する項目"]);
    // Everything not checked against the official table is marked so, with a note.
    for (_, g, i) in t.items() {
        assert!(g.verified || !i.verified, "{}: an item of an unverified group is unverified", i.number);
        if !i.verified {
            assert!(i.note.is_some(), "{}", i.number);
        }
    }
    assert_eq!(t.item("B-5").unwrap().content.as_deref(), Some("診療等に必要なネットワークを適切に構築する。"));
    let groups: Vec<_> = t.parts[1].groups.iter().map(|g| (g.letter.as_str(), g.title.as_str())).collect();
    assert_eq!(groups, [("A", "共通"), ("B", "システム導入契約"), ("C", "システム保守・運用契約")]);
}

#[test]
fn the_guide_viewpoints_a_to_d_match_the_seed() {
    let t = table();
    let g = t.guide.as_ref().expect("guide");
    let got: Vec<Vec<String>> = g.viewpoints.iter().map(|v| vec![v.letter.clone(), v.title.clone()]).collect();
    assert_eq!(got, tsv("official/contract-viewpoints-seed004.tsv"));
    for v in &g.viewpoints {
        assert!(!v.actions.is_empty() && !v.requirements.is_empty() && !v.related.is_empty(), "{}", v.letter);
    }
    let d = &g.viewpoints[3];
    assert_eq!(d.related, ["A-1", "A-3", "A-11"]);
    assert_eq!(d.requirements.len(), 2);
}
