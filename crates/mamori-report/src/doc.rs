//! A small document model rendered both to PDF (typst) and to an editable .docx.
//!
//! The BCP generator builds one [`Doc`] and gets both outputs from it. Headings are numbered here
//! ("1", "1.2", "1.2.3") so the PDF and the .docx show the same numbers.

use serde::{Deserialize, Serialize};

use crate::{PdfRenderer, ReportError};

/// Resolution of the PNG fallback that [`Doc::to_docx`] embeds with each SVG image.
pub const DOCX_PNG_DPI: f32 = 150.0;

/// The typst template that renders a [`Doc`].
pub const DOC_TYP: &str = include_str!("../templates/doc.typ");

/// A document: title page line, then blocks in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    /// Document title (e.g. 「サイバー攻撃を想定した事業継続計画（BCP）」).
    pub title: String,
    /// Facility name, shown in the page header.
    pub facility_name: String,
    /// Optional subtitle under the title.
    pub subtitle: Option<String>,
    /// Optional date line under the title (already formatted, e.g. 「2026年11月21日 作成」).
    pub date: Option<String>,
    pub blocks: Vec<Block>,
}

/// One block of a [`Doc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A numbered heading, level 1–4 (deeper levels are shown as level 4).
    Heading { level: u8, text: String },
    /// A paragraph; "\n" is a line break, "\n\n" starts a new paragraph.
    Paragraph { text: String },
    /// Data that is not registered yet: shown as a clearly marked box 「データ未登録」 with this text
    /// saying what is missing and where to enter it. Never replace missing data with invented text.
    Missing { text: String },
    /// A table with a header row; short rows are padded with empty cells.
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
    /// An SVG image (e.g. the contact chart), scaled to the text width, or with `full_page` on a
    /// page of its own in A4 landscape (the contact chart stays legible that way).
    Image {
        svg: String,
        caption: Option<String>,
        #[serde(default)]
        full_page: bool,
    },
}

impl Doc {
    /// Heading numbers in block order ("" for non-heading blocks): "1", "1.1", "1.1.1", …
    pub fn heading_numbers(&self) -> Vec<String> {
        let mut counters = [0usize; 4];
        self.blocks
            .iter()
            .map(|b| match b {
                Block::Heading { level, .. } => {
                    let l = (*level).clamp(1, 4) as usize;
                    counters[l - 1] += 1;
                    for c in counters.iter_mut().skip(l) {
                        *c = 0;
                    }
                    counters[..l].iter().map(|c| c.to_string()).collect::<Vec<_>>().join(".")
                }
                _ => String::new(),
            })
            .collect()
    }

    /// The JSON the typst template reads: the model plus heading numbers.
    pub fn template_inputs(&self) -> Result<serde_json::Value, ReportError> {
        let mut value = serde_json::to_value(self)?;
        let numbers = self.heading_numbers();
        if let Some(blocks) = value.get_mut("blocks").and_then(|b| b.as_array_mut()) {
            for (b, n) in blocks.iter_mut().zip(numbers) {
                if let Some(obj) = b.as_object_mut() {
                    obj.insert("number".into(), serde_json::Value::String(n));
                }
            }
        }
        Ok(value)
    }

    /// Renders the document to PDF (A4 portrait, shared style).
    pub fn to_pdf(&self, renderer: &PdfRenderer) -> Result<Vec<u8>, ReportError> {
        renderer.render(DOC_TYP, &[], self.template_inputs()?)
    }

    /// Renders the document to an editable Word file. Images are embedded as SVG with a PNG
    /// fallback at [`DOCX_PNG_DPI`] (Word before 2016 and some viewers show only the PNG).
    pub fn to_docx(&self) -> Result<Vec<u8>, ReportError> {
        crate::docx::write_docx(self, Some(DOCX_PNG_DPI))
    }

    /// Like [`Doc::to_docx`] with the PNG fallback at `png_fallback_dpi`, or none (SVG only:
    /// Word 2016+ and LibreOffice show it; much faster, as rasterising takes most of the time).
    pub fn to_docx_with(&self, png_fallback_dpi: Option<f32>) -> Result<Vec<u8>, ReportError> {
        crate::docx::write_docx(self, png_fallback_dpi)
    }
}
