//! mamori-report: the documents mamori hands out.
//!
//! * [`PdfRenderer`]: PDF through typst used as a library, BIZ UDPGothic embedded, a shared style
//!   module (`mamori-style.typ`), data passed as JSON (`json("data.json")`), never spliced into
//!   typst source.
//! * [`write_xlsx`]: official-looking .xlsx sheets ([`OfficialSheet`]).
//! * [`ContactChart`]: the 連絡体制図 as SVG and as a one-page A4 PDF.
//! * [`Doc`]: a document model rendered to PDF and to an editable .docx.

mod chart;
mod doc;
mod docx;
mod error;
mod pdf;
mod raster;
mod xlsx;

pub use chart::{CHART_TEXT_MM, CHART_TYP, ChartGroup, ChartLayout, ChartNode, ContactChart, PlacedBox};
pub use doc::{Block, DOC_TYP, DOCX_PNG_DPI, Doc};
pub use error::ReportError;
pub use pdf::{DATA_PATH, FONT_FAMILY, MAIN_PATH, PdfRenderer, STYLE_PATH, STYLE_TYP};
pub use raster::svg_to_png;
pub use xlsx::{
    CellValue, Column, ColumnKind, NO, OfficialSheet, SHEET_TYP, XLSX_FONT, YES, header_row, sheets_to_pdf, write_xlsx,
};

/// Escapes text for XML content and attribute values and drops characters XML 1.0 forbids.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_escape_escapes_markup_and_drops_control_characters() {
        assert_eq!(super::xml_escape("<a & 'b'>\u{1}\"吉\""), "&lt;a &amp; &apos;b&apos;&gt;&quot;吉&quot;");
    }
}
