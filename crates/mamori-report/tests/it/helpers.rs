//! Helpers: text and page count of a PDF through poppler-utils (pdftotext, pdfinfo).

use std::process::Command;
use std::sync::OnceLock;

use mamori_report::PdfRenderer;

/// One renderer for all tests (as a server would hold it).
pub fn renderer() -> &'static PdfRenderer {
    static R: OnceLock<PdfRenderer> = OnceLock::new();
    R.get_or_init(|| PdfRenderer::new().expect("embedded fonts load"))
}

fn tool(name: &str, pdf: &[u8], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new(name)
        .args(args)
        .arg(&path)
        .args(if name == "pdftotext" { &["-"][..] } else { &[][..] })
        .output()
        .unwrap_or_else(|e| {
            panic!("{name} is needed for this test (Debian package poppler-utils, see APT_PACKAGES): {e}")
        });
    assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The text of a PDF as pdftotext extracts it.
pub fn pdf_text(pdf: &[u8]) -> String {
    tool("pdftotext", pdf, &[])
}

/// The text with all white space removed (pdftotext breaks lines where the PDF does).
pub fn pdf_text_compact(pdf: &[u8]) -> String {
    pdf_text(pdf).chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text in physical layout (lines as on the page), white space removed: a heading number and
/// its text stay together even when the page header is read in between in reading order.
pub fn pdf_layout_text_compact(pdf: &[u8]) -> String {
    tool("pdftotext", pdf, &["-layout"]).chars().filter(|c| !c.is_whitespace()).collect()
}

/// (pages, "W x H pts") from pdfinfo.
pub fn pdf_pages(pdf: &[u8]) -> (usize, String) {
    let info = tool("pdfinfo", pdf, &[]);
    let field =
        |k: &str| info.lines().find_map(|l| l.strip_prefix(k)).map(|v| v.trim().to_string()).unwrap_or_default();
    (field("Pages:").parse().expect("page count"), field("Page size:"))
}
