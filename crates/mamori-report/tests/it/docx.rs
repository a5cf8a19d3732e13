//! The editable .docx: unzip, parse the WordprocessingML, check what a reader sees; convert with
//! LibreOffice when it is installed.

use std::io::{Cursor, Read};
use std::process::Command;

use mamori_report::{Block, Doc};

use crate::fixtures::{FACILITY, bcp_doc};
use crate::helpers::pdf_text_compact;

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("docx is a zip");
    let mut s = String::new();
    zip.by_name(name).unwrap_or_else(|_| panic!("{name} missing")).read_to_string(&mut s).unwrap();
    s
}

/// (style, text) of every paragraph outside tables, and the texts of table cells.
fn paragraphs(xml: &str) -> (Vec<(String, String)>, Vec<String>) {
    let doc = roxmltree::Document::parse(xml).expect("document.xml parses");
    let text_of = |n: roxmltree::Node| -> String {
        n.descendants()
            .filter(|t| t.has_tag_name((W, "t")) || t.has_tag_name((W, "br")))
            .map(|t| if t.has_tag_name((W, "br")) { "\n" } else { t.text().unwrap_or("") })
            .collect()
    };
    let mut paras = Vec::new();
    let mut cells = Vec::new();
    for p in doc.descendants().filter(|n| n.has_tag_name((W, "p"))) {
        let in_table = p.ancestors().any(|a| a.has_tag_name((W, "tc")));
        if in_table {
            continue;
        }
        let style = p
            .descendants()
            .find(|n| n.has_tag_name((W, "pStyle")))
            .and_then(|n| n.attribute((W, "val")))
            .unwrap_or("Normal")
            .to_string();
        paras.push((style, text_of(p)));
    }
    for tc in doc.descendants().filter(|n| n.has_tag_name((W, "tc"))) {
        cells.push(text_of(tc));
    }
    (paras, cells)
}

#[test]
fn docx_has_numbered_headings_paragraphs_tables_missing_box_and_chart() {
    let doc = bcp_doc(true);
    // A low-resolution fallback keeps the debug-build test quick; the default is DOCX_PNG_DPI.
    let bytes = doc.to_docx_with(Some(30.0)).expect("docx");
    let xml = part(&bytes, "word/document.xml");
    let (paras, cells) = paragraphs(&xml);
    let find = |style: &str, text: &str| paras.iter().any(|(s, t)| s == style && t == text);
    assert!(find("Title", "サイバー攻撃を想定した事業継続計画（BCP）"));
    // Heading numbers come from Word's outline numbering on the heading styles.
    assert!(find("Heading1", "総則"));
    assert!(find("Heading2", "目的"));
    assert!(find("Heading2", "連絡体制図"));
    assert!(find("Heading1", "事後対応"));
    let numbering = part(&bytes, "word/numbering.xml");
    assert!(
        numbering.contains(r#"<w:pStyle w:val="Heading2"/><w:suff w:val="space"/><w:lvlText w:val="%1.%2"/>"#),
        "{numbering}"
    );
    let styles = part(&bytes, "word/styles.xml");
    assert!(styles.contains(r#"<w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr>"#));
    assert!(find("Normal", "年1回以上、連絡体制図に基づく訓練を実施する。\n訓練の結果は記録し、改善計画に反映する。"));
    // Table: header and cells in order.
    let i = cells.iter().position(|c| c == "システム").expect("table header");
    assert_eq!(
        &cells[i..i + 8],
        ["システム", "重要度", "復旧優先度", "代替運用", "電子カルテ", "高", "1", "紙カルテ・紙伝票による運用"]
    );
    // The missing-data box says so plainly.
    let boxed = cells.iter().find(|c| c.starts_with("データ未登録 / not registered")).expect("missing box");
    assert!(boxed.contains("バックアップ一覧が未登録です"), "{boxed}");
    // The chart is an embedded SVG in its own landscape section.
    assert!(xml.contains(r#"<a:blip r:embed="rIdPng1">"#), "PNG for every reader");
    assert!(xml.contains(r#"<asvg:svgBlip xmlns:asvg="http://schemas.microsoft.com/office/drawing/2016/SVG/main" r:embed="rIdImg1"/>"#), "SVG for Word 2016+");
    assert!(xml.contains(r#"w:orient="landscape""#));
    let rels = part(&bytes, "word/_rels/document.xml.rels");
    assert!(rels.contains(r#"Target="media/image1.svg""#) && rels.contains(r#"Target="media/image1.png""#));
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut png = Vec::new();
    zip.by_name("word/media/image1.png").unwrap().read_to_end(&mut png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG fallback");
    let svg = part(&bytes, "word/media/image1.svg");
    roxmltree::Document::parse(&svg).expect("embedded SVG parses");
    assert!(svg.contains(FACILITY));
    assert!(part(&bytes, "[Content_Types].xml").contains("image/svg+xml"));
    // Without the fallback the SVG is the picture itself.
    let svg_only = doc.to_docx_with(None).unwrap();
    assert!(part(&svg_only, "word/document.xml").contains(r#"<a:blip r:embed="rIdImg1">"#));
    assert!(zip::ZipArchive::new(Cursor::new(&svg_only[..])).unwrap().by_name("word/media/image1.png").is_err());
    // Every page: facility name and title in the header, "n / N" in the footer.
    let header = part(&bytes, "word/header1.xml");
    assert!(header.contains(FACILITY) && header.contains("サイバー攻撃を想定した事業継続計画（BCP）"));
    let footer = part(&bytes, "word/footer1.xml");
    assert!(footer.contains(" PAGE ") && footer.contains(" NUMPAGES "));
    assert_eq!(xml.matches(r#"r:id="rIdHeader""#).count(), 3, "all three sections carry the header");
    for name in [
        "word/styles.xml",
        "word/numbering.xml",
        "docProps/core.xml",
        "_rels/.rels",
        "word/header1.xml",
        "word/footer1.xml",
    ] {
        roxmltree::Document::parse(&part(&bytes, name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn docx_escapes_text_and_pads_short_rows() {
    let doc = Doc {
        title: "A&B <社> \"計画\"".into(),
        facility_name: "f".into(),
        subtitle: None,
        date: None,
        blocks: vec![Block::Table { header: vec!["a".into(), "b".into()], rows: vec![vec!["<x>".into()]] }],
    };
    let xml = part(&doc.to_docx().unwrap(), "word/document.xml");
    let (paras, cells) = paragraphs(&xml);
    assert_eq!(paras[0], ("Title".to_string(), "A&B <社> \"計画\"".to_string()));
    assert_eq!(cells, vec!["a", "b", "<x>", ""]);
}

#[test]
fn docx_converts_with_libreoffice_when_installed() {
    let Some(soffice) =
        ["soffice", "libreoffice"].into_iter().find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        eprintln!("LibreOffice not installed: skipping the conversion check");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bcp.docx");
    // SVG only: LibreOffice then draws the chart from the SVG, with its text.
    std::fs::write(&path, bcp_doc(true).to_docx_with(None).unwrap()).unwrap();
    let out = Command::new(soffice)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pdf = std::fs::read(dir.path().join("bcp.pdf")).expect("LibreOffice wrote a PDF");
    let text = pdf_text_compact(&pdf);
    let (pages, _) = crate::helpers::pdf_pages(&pdf);
    assert!(pages >= 3, "{pages} pages");
    // Header and footer on the last page too.
    let facility: String = FACILITY.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(text.matches(&facility).count(), pages + 1, "header on every page, plus once in the chart");
    assert!(text.contains("医療情報システム安全管理責任者"), "chart text");
    assert!(text.contains(&format!("{pages}/{pages}")), "footer n / N");
    // The numbers LibreOffice draws equal the ones the PDF shows.
    let text = crate::helpers::pdf_layout_text_compact(&pdf);
    for needle in
        ["1総則", "1.1目的", "2.2バックアップ", "3.20手順20", "4事後対応", "データ未登録", "紙カルテ・紙伝票による運用"]
    {
        assert!(text.contains(needle), "converted PDF lacks {needle}");
    }
}
