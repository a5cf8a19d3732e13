//! PDF through typst: Japanese text, shared style, data only through JSON, errors with positions,
//! no filesystem or network.

use mamori_report::{DOC_TYP, PdfRenderer, ReportError};
use serde_json::json;

use crate::fixtures::{FACILITY, bcp_doc};
use crate::helpers::{pdf_pages, pdf_text, pdf_text_compact, renderer};

const SIMPLE: &str = r#"#import "mamori-style.typ": *
#let data = json("data.json")
#show: mamori-doc.with(title: data.title, facility: data.facility)
= #data.heading
#data.body
"#;

#[test]
fn bcp_document_renders_japanese_text_headings_tables_and_page_numbers() {
    let doc = bcp_doc(false);
    let pdf = doc.to_pdf(renderer()).expect("renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let (pages, size) = pdf_pages(&pdf);
    assert!(pages >= 3, "the fixture fills at least three pages, got {pages}");
    assert!(size.contains("595.276 x 841.89"), "A4 portrait, got {size}");
    let text = pdf_text_compact(&pdf);
    for expected in [
        "サイバー攻撃を想定した事業継続計画（BCP）",
        FACILITY,
        "1総則",
        "1.2対象システム",
        "紙カルテ・紙伝票による運用",
        "2.2バックアップ",
        "データ未登録",
        "システムごとのバックアップ一覧が未登録です。",
        "3.20手順20",
        "4事後対応",
    ] {
        let e: String = expected.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(text.contains(&e), "PDF text lacks {expected:?}");
    }
    // Footer "n / N" on every page (pdftotext drops the thin spaces around the slash).
    let page_texts: Vec<String> = pdf_text(&pdf)
        .split('\u{c}')
        .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect())
        .filter(|p: &String| !p.is_empty())
        .collect();
    assert_eq!(page_texts.len(), pages);
    let facility: String = FACILITY.chars().filter(|c| !c.is_whitespace()).collect();
    for (i, t) in page_texts.iter().enumerate() {
        assert!(t.ends_with(&format!("{}/{pages}", i + 1)), "page {} footer: {t}", i + 1);
        // The facility name heads every page.
        assert!(t.starts_with(&facility), "page {} header: {t}", i + 1);
    }
}

#[test]
fn user_text_is_data_not_markup() {
    let nasty = r#"*太字ではない* #panic("x") $x$ <label> @ref \ 吉田"#;
    let pdf = renderer()
        .render(SIMPLE, &[], json!({"title": "t", "facility": "f", "heading": "見出し", "body": nasty}))
        .expect("user text cannot break the template");
    let text = pdf_text(&pdf);
    assert!(text.contains(r#"*太字ではない* #panic("x") $x$ <label> @ref \ 吉田"#), "{text}");
}

#[test]
fn compile_error_reports_file_line_column_and_message() {
    let src = "#let data = json(\"data.json\")\n本文\n#undefined-function()\n";
    let err = renderer().render(src, &[], json!({})).unwrap_err();
    match &err {
        ReportError::Template { file, line, column, message, .. } => {
            assert_eq!(file, "main.typ");
            assert_eq!((*line, *column), (3, 2));
            assert!(message.contains("unknown variable"), "{message}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.starts_with("帳票テンプレートのエラー: main.typ:3:2"), "{shown}");
}

#[test]
fn error_inside_an_imported_virtual_file_names_that_file() {
    let src = "#import \"part.typ\": x\n#x\n";
    let part = b"#let x = 1 +\n".to_vec();
    let err = renderer().render(src, &[("part.typ", part)], json!({})).unwrap_err();
    match err {
        ReportError::Template { file, line, .. } => assert_eq!((file.as_str(), line), ("part.typ", 1)),
        other => panic!("expected a template error, got {other:?}"),
    }
}

#[test]
fn typst_cannot_read_the_filesystem_or_packages() {
    for src in [
        "#read(\"/etc/passwd\")",
        "#read(\"../../etc/passwd\")",
        "#image(\"/usr/share/fonts/truetype/bizud-gothic/x.png\")",
        "#import \"@preview/cetz:0.3.0\": *",
    ] {
        let err = renderer().render(src, &[], json!({})).unwrap_err();
        assert!(matches!(err, ReportError::Template { .. }), "{src}: {err:?}");
    }
}

#[test]
fn bad_virtual_file_names_are_rejected() {
    for name in ["", "/abs.typ", "../up.typ", "data.json", "main.typ", "mamori-style.typ"] {
        let err = renderer().render("x", &[(name, vec![])], json!({})).unwrap_err();
        assert!(matches!(err, ReportError::FileName { .. }), "{name:?}: {err:?}");
    }
}

#[test]
fn one_renderer_renders_different_data_one_after_another() {
    let r = renderer();
    let a = r
        .render(SIMPLE, &[], json!({"title": "A", "facility": "病院A", "heading": "一つ目", "body": "あいう"}))
        .unwrap();
    let b = r
        .render(SIMPLE, &[], json!({"title": "B", "facility": "病院B", "heading": "二つ目", "body": "かきく"}))
        .unwrap();
    let (ta, tb) = (pdf_text_compact(&a), pdf_text_compact(&b));
    assert!(ta.contains("一つ目") && ta.contains("病院A") && !ta.contains("二つ目"));
    assert!(tb.contains("二つ目") && tb.contains("病院B") && !tb.contains("一つ目"));
    // Same input, same output (no stale cache, deterministic).
    let a2 = r
        .render(SIMPLE, &[], json!({"title": "A", "facility": "病院A", "heading": "一つ目", "body": "あいう"}))
        .unwrap();
    assert_eq!(a, a2);
}

#[test]
fn renderer_can_be_shared_between_threads() {
    let r = renderer();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|i| {
                s.spawn(move || {
                    let pdf = r
                        .render(
                            SIMPLE,
                            &[],
                            json!({"title": "t", "facility": "f", "heading": format!("見出し{i}"), "body": "本文"}),
                        )
                        .unwrap();
                    assert!(pdf_text_compact(&pdf).contains(&format!("見出し{i}")));
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn embedded_fonts_are_biz_udp_gothic_and_extra_fonts_are_checked() {
    let fams = renderer().font_families();
    assert_eq!(fams, vec!["BIZ UDPGothic".to_string()]);
    let err = PdfRenderer::with_extra_fonts(vec![b"not a font".to_vec()]).err().expect("bad font rejected");
    assert!(matches!(err, ReportError::Font(_)));
}

#[test]
fn doc_template_renders_the_title_block_from_inputs() {
    let doc = bcp_doc(false);
    let pages = renderer().page_count(DOC_TYP, &[], doc.template_inputs().unwrap()).unwrap();
    let (pdf_pages_n, _) = pdf_pages(&doc.to_pdf(renderer()).unwrap());
    assert_eq!(pages, pdf_pages_n);
}

#[test]
fn characters_the_embedded_font_lacks_are_found_before_rendering() {
    let inputs = json!({"name": "𠮷田 太郎", "rows": [["髙橋", "﨑"], ["吉田"]], "n": 1});
    // BIZ UDPGothic covers 髙 and 﨑 but not 𠮷 (U+20BB7).
    assert_eq!(renderer().uncovered_chars(&inputs), vec!['𠮷']);
    assert!(renderer().uncovered_chars(&json!({"a": "医療情報システム ABC ①"})).is_empty());
}
