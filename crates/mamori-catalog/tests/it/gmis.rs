use mamori_catalog::gmis::{self, AnswerSpec, Answers};
use mamori_catalog::{CatalogError, CatalogSource};

use crate::common::{fixture, tsv};

fn survey() -> gmis::Survey {
    gmis::load(&CatalogSource::embedded(), "backup-vpn-2022").expect("survey loads")
}

fn answers(pairs: &[(&str, &str)]) -> Answers {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn ids(qs: Vec<&gmis::Question>) -> Vec<String> {
    qs.into_iter().map(|q| q.id.clone()).collect()
}

#[test]
fn the_14_questions_match_the_seed() {
    let s = survey();
    let got: Vec<Vec<String>> = s.questions.iter().map(|q| vec![q.number.to_string(), q.text.clone()]).collect();
    let want = tsv("official/gmis-backup-vpn-2022.tsv");
    assert_eq!(got.len(), 14);
    assert_eq!(got, want);
}

#[test]
fn guidance_sections_and_answer_kinds() {
    let s = survey();
    assert!(s.questions.iter().all(|q| !q.guidance.is_empty()), "every question has its 回答要領");
    assert_eq!(s.sections.len(), 2);
    assert_eq!(s.sections[1].title, "【リモートゲートウェイ装置に係る質問関係】");
    assert!(s.sections[1].preface.as_deref().unwrap().contains("リモートゲートウェイ装置（VPN装置）"));
    match &s.question("q1").unwrap().answer {
        AnswerSpec::Text { fields, .. } => assert_eq!(fields, &["氏名", "所属", "連絡先"]),
        other => panic!("q1 is free text, got {other:?}"),
    }
    match &s.question("q11").unwrap().answer {
        AnswerSpec::Text { repeated, .. } => assert!(repeated),
        other => panic!("q11 is free text, got {other:?}"),
    }
    match &s.question("q10").unwrap().answer {
        AnswerSpec::Choice { options, verified, note } => {
            assert_eq!(options, &["はい", "いいえ"]);
            assert!(!verified && note.is_some(), "options are not printed in the seed");
        }
        other => panic!("q10 is a choice, got {other:?}"),
    }
    assert_eq!(
        s.question("q14").unwrap().guidance_heading.as_deref(),
        Some("１４．VPN装置へのアクセス記録を定期的に分析・監査しているか")
    );
}

#[test]
fn skip_rules_are_data() {
    let s = survey();
    let rules: Vec<_> = s.rules.iter().map(|r| (r.question.as_str(), r.answer.as_str(), r.goto.as_str())).collect();
    assert_eq!(rules, [("q5", "いいえ", "q10"), ("q10", "いいえ", "end")]);
}

#[test]
fn without_answers_everything_applies_and_q1_comes_first() {
    let s = survey();
    let none = Answers::new();
    assert_eq!(s.applicable(&none).len(), 14);
    assert_eq!(s.next_question(&none).as_deref(), Some("q1"));
}

#[test]
fn no_ehr_skips_to_q10() {
    let s = survey();
    let a = answers(&[
        ("q1", "山田 太郎, 情報システム課, 03-0000-0000"),
        ("q2", "はい"),
        ("q3", "はい"),
        ("q4", "いいえ"),
        ("q5", "いいえ"),
    ]);
    assert_eq!(s.next_question(&a).as_deref(), Some("q10"));
    let path = ids(s.applicable(&a));
    assert!(!path.iter().any(|q| ["q6", "q7", "q8", "q9"].contains(&q.as_str())), "{path:?}");
    assert_eq!(path.len(), 10);
}

#[test]
fn ehr_in_use_asks_the_backup_questions() {
    let s = survey();
    let a = answers(&[("q1", "x"), ("q2", "はい"), ("q3", "はい"), ("q4", "はい"), ("q5", "はい")]);
    assert_eq!(s.next_question(&a).as_deref(), Some("q6"));
}

#[test]
fn no_vpn_ends_the_survey() {
    let s = survey();
    let mut a =
        answers(&[("q1", "x"), ("q2", "はい"), ("q3", "はい"), ("q4", "はい"), ("q5", "いいえ"), ("q10", "いいえ")]);
    assert_eq!(s.next_question(&a), None, "complete");
    let path = ids(s.applicable(&a));
    assert_eq!(path.last().map(String::as_str), Some("q10"));
    assert_eq!(path.len(), 6);
    // Answers to skipped questions are reported, not silently used.
    a.insert("q7".into(), "はい".into());
    a.insert("q12".into(), "はい".into());
    assert_eq!(s.skipped_answers(&a), ["q12", "q7"]);
}

#[test]
fn vpn_present_asks_q11_to_q14() {
    let s = survey();
    let mut a: Answers = (1..=10).map(|n| (format!("q{n}"), "はい".to_string())).collect();
    assert_eq!(s.next_question(&a).as_deref(), Some("q11"));
    a.insert("q11".into(), "".into());
    assert_eq!(s.next_question(&a).as_deref(), Some("q11"), "an empty text is not an answer");
    for n in 11..=14 {
        a.insert(format!("q{n}"), "はい".into());
    }
    assert_eq!(s.next_question(&a), None);
    assert_eq!(s.applicable(&a).len(), 14);
}

#[test]
fn a_rule_leading_backwards_or_to_an_unknown_question_is_rejected() {
    let src = CatalogSource::with_overlay(fixture("invalid"));
    match gmis::load(&src, "bad-goto") {
        Err(CatalogError::Invalid { file, reason }) => {
            assert_eq!(file, "gmis/bad-goto.toml");
            assert!(reason.contains("goto must lead forward"), "{reason}");
            assert!(reason.contains("rule q9=はい: 設問 q9 がありません / unknown question"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn load_all_finds_the_embedded_survey() {
    let all = gmis::load_all(&CatalogSource::embedded()).unwrap();
    assert_eq!(all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["backup-vpn-2022"]);
}
