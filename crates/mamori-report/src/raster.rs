//! SVG → PNG with resvg and the embedded fonts (for the .docx fallback picture).

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::ReportError;
use crate::pdf::{FONT_BOLD, FONT_FAMILY, FONT_REGULAR};

fn options() -> &'static usvg::Options<'static> {
    static OPT: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPT.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT_REGULAR.to_vec());
        db.load_font_data(FONT_BOLD.to_vec());
        db.set_sans_serif_family(FONT_FAMILY);
        usvg::Options { fontdb: Arc::new(db), font_family: FONT_FAMILY.to_string(), ..usvg::Options::default() }
    })
}

/// Rasterises an SVG to PNG at `dpi` (the SVG's own size, e.g. width="398mm", sets the page size).
/// The longer side is capped at 6000 px.
pub fn svg_to_png(svg: &str, dpi: f32) -> Result<Vec<u8>, ReportError> {
    let bad = |what: String| ReportError::Image(what);
    let tree = usvg::Tree::from_str(svg, options()).map_err(|e| bad(e.to_string()))?;
    let size = tree.size();
    let mut scale = dpi / 96.0;
    let longest = size.width().max(size.height()) * scale;
    if longest > 6000.0 {
        scale *= 6000.0 / longest;
    }
    let (w, h) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1)).ok_or_else(|| bad(format!("image size {w} x {h}")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| bad(e.to_string()))
}
