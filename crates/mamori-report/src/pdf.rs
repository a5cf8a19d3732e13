//! PDF through typst used as a library.
//!
//! The renderer owns everything typst needs that does not change between documents: the standard
//! library, the embedded fonts and the font book (built once). Each [`PdfRenderer::render`] call
//! builds a small borrowed world over fixed virtual paths; typst never sees the real filesystem or
//! the network (package imports fail with a clear error). After each render the comemo cache is
//! trimmed so a long-running server does not grow.

use std::collections::HashMap;

use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;

use crate::ReportError;

/// BIZ UDPGothic Regular (SIL OFL 1.1, see fonts/OFL.txt).
pub static FONT_REGULAR: &[u8] = include_bytes!("../fonts/BIZUDPGothic-Regular.ttf");
/// BIZ UDPGothic Bold (SIL OFL 1.1, see fonts/OFL.txt).
pub static FONT_BOLD: &[u8] = include_bytes!("../fonts/BIZUDPGothic-Bold.ttf");
/// The font family name templates use (`font: "BIZ UDPGothic"`); the SVG writer names it too.
pub const FONT_FAMILY: &str = "BIZ UDPGothic";

/// The shared style module, importable from every template as `mamori-style.typ`.
pub const STYLE_TYP: &str = include_str!("../templates/mamori-style.typ");

/// Virtual path of the main source.
pub const MAIN_PATH: &str = "main.typ";
/// Virtual path of the JSON inputs (`json("data.json")` in a template).
pub const DATA_PATH: &str = "data.json";
/// Virtual path of the shared style module.
pub const STYLE_PATH: &str = "mamori-style.typ";

/// Renders typst templates to PDF with embedded Japanese fonts and no filesystem or network access.
///
/// 帳票 PDF の生成器。Create once (it parses the fonts) and share it (`Send + Sync`).
pub struct PdfRenderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main_id: FileId,
    data_id: FileId,
    style_id: FileId,
    style: Source,
}

impl PdfRenderer {
    /// A renderer with the embedded BIZ UDPGothic fonts.
    pub fn new() -> Result<Self, ReportError> {
        Self::with_extra_fonts(Vec::new())
    }

    /// A renderer with the embedded fonts plus extra font files (TTF/OTF/TTC bytes), e.g. a Noto Sans
    /// CJK JP file the operator provides so rare kanji such as 𠮷 (U+20BB7) render; BIZ UDPGothic
    /// lacks that glyph. Extra fonts are used as fallback after BIZ UDPGothic.
    pub fn with_extra_fonts(extra: Vec<Vec<u8>>) -> Result<Self, ReportError> {
        let mut fonts: Vec<Font> = Vec::new();
        for (name, data) in [("BIZUDPGothic-Regular", FONT_REGULAR), ("BIZUDPGothic-Bold", FONT_BOLD)] {
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(ReportError::Font(name.to_string()));
            }
        }
        for (i, data) in extra.into_iter().enumerate() {
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(ReportError::Font(format!("extra font #{}", i + 1)));
            }
        }
        let book = FontBook::from_fonts(&fonts);
        let main_id = file_id(MAIN_PATH)?;
        let data_id = file_id(DATA_PATH)?;
        let style_id = file_id(STYLE_PATH)?;
        Ok(Self {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(book),
            fonts,
            main_id,
            data_id,
            style_id,
            style: Source::new(style_id, STYLE_TYP.to_string()),
        })
    }

    /// Family names of all loaded fonts (for diagnostics and tests).
    pub fn font_families(&self) -> Vec<String> {
        let mut v: Vec<String> = self.fonts.iter().map(|f| f.info().family.to_string()).collect();
        v.dedup();
        v
    }

    /// Characters in the strings of `inputs` that no loaded font can draw (they would print as
    /// empty boxes), e.g. 𠮷 (U+20BB7) with the embedded BIZ UDPGothic alone. Call before
    /// rendering user data and tell the user, or add a font with [`Self::with_extra_fonts`].
    pub fn uncovered_chars(&self, inputs: &serde_json::Value) -> Vec<char> {
        fn walk(v: &serde_json::Value, out: &mut Vec<char>, fonts: &[Font]) {
            match v {
                serde_json::Value::String(s) => {
                    for c in s.chars() {
                        if !c.is_whitespace()
                            && !c.is_control()
                            && !out.contains(&c)
                            && !fonts.iter().any(|f| f.info().coverage.contains(c as u32))
                        {
                            out.push(c);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out, fonts)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out, fonts)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(inputs, &mut out, &self.fonts);
        out
    }

    /// Compiles `main` (typst source) to PDF.
    ///
    /// * `files`: further virtual files the template reads (images, other modules), by relative
    ///   path. Use fixed names: every distinct path is interned by typst for the process lifetime.
    /// * `inputs`: the data, readable in the template as `json("data.json")`. Never build typst
    ///   source from user text; pass it here.
    ///
    /// The style module is always available as `mamori-style.typ`.
    pub fn render(
        &self,
        main: &str,
        files: &[(&str, Vec<u8>)],
        inputs: serde_json::Value,
    ) -> Result<Vec<u8>, ReportError> {
        let document = self.compile(main, files, inputs)?;
        let result = typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default());
        typst::comemo::evict(10);
        result.map_err(|diags| {
            ReportError::Pdf(diags.iter().map(|d| d.message.to_string()).collect::<Vec<_>>().join("; "))
        })
    }

    /// Compiles and returns the number of pages only (useful for checks before export).
    pub fn page_count(
        &self,
        main: &str,
        files: &[(&str, Vec<u8>)],
        inputs: serde_json::Value,
    ) -> Result<usize, ReportError> {
        let n = self.compile(main, files, inputs)?.pages().len();
        typst::comemo::evict(10);
        Ok(n)
    }

    fn compile(
        &self,
        main: &str,
        files: &[(&str, Vec<u8>)],
        inputs: serde_json::Value,
    ) -> Result<PagedDocument, ReportError> {
        let mut map: HashMap<FileId, Bytes> = HashMap::with_capacity(files.len() + 1);
        for (name, data) in files {
            let id = file_id(name)?;
            if id == self.main_id || id == self.data_id || id == self.style_id {
                return Err(ReportError::FileName { name: (*name).to_string() });
            }
            map.insert(id, Bytes::new(data.clone()));
        }
        map.insert(self.data_id, Bytes::new(serde_json::to_vec(&inputs)?));
        let world = RenderWorld { renderer: self, main: Source::new(self.main_id, main.to_string()), files: map };
        let warned = typst::compile::<PagedDocument>(&world);
        warned.output.map_err(|diags| {
            let first = diags.iter().find(|d| d.severity == Severity::Error).or_else(|| diags.first());
            match first {
                Some(d) => world.template_error(d),
                None => ReportError::Template {
                    file: "-".into(),
                    line: 0,
                    column: 0,
                    message: "unknown error".into(),
                    hints: String::new(),
                },
            }
        })
    }
}

fn file_id(name: &str) -> Result<FileId, ReportError> {
    let bad = || ReportError::FileName { name: name.to_string() };
    if name.is_empty() || name.starts_with('/') || name.contains("..") || name.contains('\\') {
        return Err(bad());
    }
    let vpath = VirtualPath::new(name).map_err(|_| bad())?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

struct RenderWorld<'a> {
    renderer: &'a PdfRenderer,
    main: Source,
    files: HashMap<FileId, Bytes>,
}

impl RenderWorld<'_> {
    fn template_error(&self, d: &SourceDiagnostic) -> ReportError {
        let mut file = "-".to_string();
        let (mut line, mut column) = (0, 0);
        if let Some(id) = d.span.id() {
            file = id.vpath().get_without_slash().to_string();
            if let (Some(range), Ok(source)) = (self.range(d.span), self.source(id))
                && let Some((l, c)) = source.lines().byte_to_line_column(range.start)
            {
                line = l + 1;
                column = c + 1;
            }
        }
        let hints = if d.hints.is_empty() {
            String::new()
        } else {
            format!(" (hint: {})", d.hints.iter().map(|h| h.v.to_string()).collect::<Vec<_>>().join("; "))
        };
        ReportError::Template { file, line, column, message: d.message.to_string(), hints }
    }
}

impl World for RenderWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.renderer.main_id
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.renderer.main_id {
            return Ok(self.main.clone());
        }
        if id == self.renderer.style_id {
            return Ok(self.renderer.style.clone());
        }
        let bytes = self.file(id)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text.to_string()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.renderer.main_id {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        if id == self.renderer.style_id {
            return Ok(Bytes::from_string(self.renderer.style.clone()));
        }
        if let Some(b) = self.files.get(&id) {
            return Ok(b.clone());
        }
        match id.root() {
            VirtualRoot::Package(_) => Err(FileError::Other(Some(
                "パッケージは使えません（ネットワークなし） / packages are not available".into(),
            ))),
            VirtualRoot::Project => Err(FileError::NotFound(id.vpath().get_without_slash().into())),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        use chrono::Datelike;
        let date = match offset {
            None => chrono::Local::now().date_naive(),
            Some(d) => (chrono::Utc::now() + chrono::Duration::seconds(d.seconds() as i64)).date_naive(),
        };
        Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
    }
}
