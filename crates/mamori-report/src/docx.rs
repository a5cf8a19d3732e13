//! Minimal WordprocessingML writer for [`Doc`]: headings (Heading 1–4 styles with Word's outline
//! numbering), paragraphs, bordered tables with a repeated header row, the 「データ未登録」 box, SVG
//! images with a PNG fallback, page header (facility, title) and footer (n / N). Written with the
//! `zip` crate; checked with LibreOffice 7.4 (Word itself not tested here).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use crate::doc::{Block, Doc};
use crate::{ReportError, xml_escape};

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const WP_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing";

/// Text width of the page in EMU (A4 with 20 mm side margins = 170 mm).
const TEXT_WIDTH_EMU: u64 = 170 * 36_000;
/// Maximum image height in EMU (220 mm).
const MAX_IMAGE_HEIGHT_EMU: u64 = 220 * 36_000;
/// A4 landscape: 257 mm text width, at most 150 mm high (room for a caption).
const LANDSCAPE_TEXT_WIDTH_EMU: u64 = 257 * 36_000;
const LANDSCAPE_MAX_HEIGHT_EMU: u64 = 150 * 36_000;

const PORTRAIT: &str = r#"<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/><w:footerReference w:type="default" r:id="rIdFooter"/><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/></w:sectPr>"#;
const LANDSCAPE: &str = r#"<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/><w:footerReference w:type="default" r:id="rIdFooter"/><w:pgSz w:w="16838" w:h="11906" w:orient="landscape"/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/></w:sectPr>"#;

/// An empty paragraph that ends the current section; `landscape` is the orientation of the
/// section it ends.
fn section_break(landscape: bool) -> String {
    format!("<w:p><w:pPr>{}</w:pPr></w:p>", if landscape { LANDSCAPE } else { PORTRAIT })
}

pub(crate) fn write_docx(doc: &Doc, png_fallback_dpi: Option<f32>) -> Result<Vec<u8>, ReportError> {
    let mut body = String::new();
    // (SVG, PNG fallback) per image: Word shows the SVG where it can, older readers the PNG.
    let mut images: Vec<(String, Option<Vec<u8>>)> = Vec::new();

    body.push_str(&para("Title", &run(&doc.title, false, None)));
    if let Some(s) = &doc.subtitle {
        body.push_str(&para("Subtitle", &run(s, false, None)));
    }
    if let Some(d) = &doc.date {
        body.push_str(&para("Subtitle", &run(d, false, None)));
    }
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                // Word numbers the heading styles itself (numbering.xml), so numbers stay right
                // when a hospital inserts or deletes a section; as generated they equal
                // `Doc::heading_numbers`, which the PDF prints.
                let l = (*level).clamp(1, 4);
                body.push_str(&para(&format!("Heading{l}"), &run(text, false, None)));
            }
            Block::Paragraph { text } => {
                for p in text.split("\n\n") {
                    body.push_str(&para("Normal", &runs_with_breaks(p, false, None)));
                }
            }
            Block::Missing { text } => body.push_str(&missing_box(text)),
            Block::Table { header, rows } => body.push_str(&table(header, rows)),
            Block::Image { svg, caption, full_page } => {
                let png = png_fallback_dpi.map(|dpi| crate::raster::svg_to_png(svg, dpi)).transpose()?;
                let has_png = png.is_some();
                images.push((svg.clone(), png));
                let n = images.len();
                if *full_page {
                    // End the portrait section here; the image gets a landscape section of its own.
                    body.push_str(&section_break(false));
                    body.push_str(&image_para(n, svg, has_png, LANDSCAPE_TEXT_WIDTH_EMU, LANDSCAPE_MAX_HEIGHT_EMU));
                    if let Some(c) = caption {
                        body.push_str(&para("Caption", &run(c, false, None)));
                    }
                    body.push_str(&section_break(true));
                } else {
                    body.push_str(&image_para(n, svg, has_png, TEXT_WIDTH_EMU, MAX_IMAGE_HEIGHT_EMU));
                    if let Some(c) = caption {
                        body.push_str(&para("Caption", &run(c, false, None)));
                    }
                }
            }
        }
    }

    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}" xmlns:wp="{WP_NS}"><w:body>{body}{PORTRAIT}</w:body></w:document>"#
    );

    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdNumbering" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/><Relationship Id="rIdHeader" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/><Relationship Id="rIdFooter" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>"#,
    );
    for (i, (_, png)) in images.iter().enumerate() {
        let n = i + 1;
        rels.push_str(&format!(
            r#"<Relationship Id="rIdImg{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image{n}.svg"/>"#
        ));
        if png.is_some() {
            rels.push_str(&format!(
                r#"<Relationship Id="rIdPng{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image{n}.png"/>"#
            ));
        }
    }
    rels.push_str("</Relationships>");

    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title><dc:creator>mamori</dc:creator></cp:coreProperties>"#,
        xml_escape(&doc.title)
    );

    // Header: facility name left, title right (tab stop); footer: "n / N" centred.
    let header = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:hdr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:pStyle w:val="Header"/><w:tabs><w:tab w:val="right" w:pos="9638"/></w:tabs></w:pPr>{}<w:r><w:tab/></w:r>{}</w:p></w:hdr>"#,
        run(&doc.facility_name, false, None),
        run(&doc.title, false, None)
    );
    let field = |instr: &str| {
        format!(
            r#"<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>"#
        )
    };
    let footer = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:pStyle w:val="Footer"/><w:jc w:val="center"/></w:pPr>{}{}{}</w:p></w:ftr>"#,
        field("PAGE"),
        run(" / ", false, None),
        field("NUMPAGES")
    );

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts: [(&str, &str); 9] = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("word/numbering.xml", NUMBERING),
        ("word/header1.xml", &header),
        ("word/footer1.xml", &footer),
        ("_rels/.rels", ROOT_RELS),
        ("docProps/core.xml", &core),
        ("word/document.xml", &document),
        ("word/styles.xml", STYLES),
        ("word/_rels/document.xml.rels", &rels),
    ];
    for (name, text) in parts {
        zip.start_file(name, opts)?;
        zip.write_all(text.as_bytes())?;
    }
    for (i, (svg, png)) in images.iter().enumerate() {
        zip.start_file(format!("word/media/image{}.svg", i + 1), opts)?;
        zip.write_all(svg.as_bytes())?;
        if let Some(png) = png {
            // PNG is compressed already.
            zip.start_file(
                format!("word/media/image{}.png", i + 1),
                opts.compression_method(zip::CompressionMethod::Stored),
            )?;
            zip.write_all(png)?;
        }
    }
    Ok(zip.finish()?.into_inner())
}

fn para(style: &str, runs: &str) -> String {
    format!(r#"<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{runs}</w:p>"#)
}

fn run(text: &str, bold: bool, color: Option<&str>) -> String {
    let mut rpr = String::new();
    if bold {
        rpr.push_str("<w:b/>");
    }
    if let Some(c) = color {
        rpr.push_str(&format!(r#"<w:color w:val="{c}"/>"#));
    }
    let rpr = if rpr.is_empty() { rpr } else { format!("<w:rPr>{rpr}</w:rPr>") };
    format!(r#"<w:r>{rpr}<w:t xml:space="preserve">{}</w:t></w:r>"#, xml_escape(text))
}

fn runs_with_breaks(text: &str, bold: bool, color: Option<&str>) -> String {
    text.split('\n').map(|l| run(l, bold, color)).collect::<Vec<_>>().join("<w:r><w:br/></w:r>")
}

fn borders(tag: &str, val: &str, color: &str, size: u8) -> String {
    let sides = ["top", "left", "bottom", "right"];
    let mut s = format!("<w:{tag}>");
    for side in sides {
        s.push_str(&format!(r#"<w:{side} w:val="{val}" w:sz="{size}" w:space="0" w:color="{color}"/>"#));
    }
    if tag == "tblBorders" {
        for side in ["insideH", "insideV"] {
            s.push_str(&format!(r#"<w:{side} w:val="{val}" w:sz="{size}" w:space="0" w:color="{color}"/>"#));
        }
    }
    s.push_str(&format!("</w:{tag}>"));
    s
}

fn cell(text: &str, header: bool, width_twips: u32) -> String {
    let shd = if header { r#"<w:shd w:val="clear" w:color="auto" w:fill="E6E6E6"/>"# } else { "" };
    format!(
        r#"<w:tc><w:tcPr><w:tcW w:w="{width_twips}" w:type="dxa"/>{shd}</w:tcPr><w:p><w:pPr><w:pStyle w:val="TableText"/></w:pPr>{}</w:p></w:tc>"#,
        runs_with_breaks(text, header, None)
    )
}

fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let ncols = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0)).max(1);
    // 170 mm text width = 9638 twips, shared by the widest line of each column (4–30 em).
    let em = |s: &str| {
        s.split('\n').map(|l| l.chars().map(|c| if c.is_ascii() { 0.55 } else { 1.0 }).sum::<f64>()).fold(0.0, f64::max)
    };
    let weights: Vec<f64> = (0..ncols)
        .map(|i| {
            let head = header.get(i).map_or(0.0, |h| em(h));
            let body = rows.iter().filter_map(|r| r.get(i)).map(|c| em(c)).fold(0.0, f64::max);
            head.max(body).clamp(4.0, 30.0)
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let widths: Vec<u32> = weights.iter().map(|w| (9638.0 * w / total) as u32).collect();
    let mut s = format!(
        r#"<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/>{}<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar></w:tblPr><w:tblGrid>"#,
        borders("tblBorders", "single", "6E6E6E", 4)
    );
    for w in &widths {
        s.push_str(&format!(r#"<w:gridCol w:w="{w}"/>"#));
    }
    s.push_str("</w:tblGrid>");
    s.push_str("<w:tr><w:trPr><w:tblHeader/></w:trPr>");
    for (i, w) in widths.iter().enumerate() {
        s.push_str(&cell(header.get(i).map(String::as_str).unwrap_or(""), true, *w));
    }
    s.push_str("</w:tr>");
    for r in rows {
        s.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for (i, w) in widths.iter().enumerate() {
            s.push_str(&cell(r.get(i).map(String::as_str).unwrap_or(""), false, *w));
        }
        s.push_str("</w:tr>");
    }
    s.push_str("</w:tbl>");
    // A paragraph after a table keeps two consecutive tables apart in Word.
    s.push_str(&para("Normal", ""));
    s
}

fn missing_box(text: &str) -> String {
    let mut content = para("TableText", &run("データ未登録 / not registered", true, Some("B00020")));
    for p in text.split("\n\n") {
        content.push_str(&para("TableText", &runs_with_breaks(p, false, None)));
    }
    format!(
        r#"<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/>{}</w:tblPr><w:tblGrid><w:gridCol w:w="9638"/></w:tblGrid><w:tr><w:tc><w:tcPr><w:tcW w:w="9638" w:type="dxa"/><w:shd w:val="clear" w:color="auto" w:fill="FFF4F4"/></w:tcPr>{content}</w:tc></w:tr></w:tbl>{}"#,
        borders("tblBorders", "dashed", "B00020", 8),
        para("Normal", "")
    )
}

/// Width and height of an SVG from its viewBox (or width/height attributes), in user units.
fn svg_size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> Option<&str> {
        let start = svg.find(&format!("{name}=\""))? + name.len() + 2;
        let end = svg[start..].find('"')? + start;
        Some(&svg[start..end])
    };
    if let Some(vb) = attr("viewBox") {
        let v: Vec<f64> = vb.split([' ', ',']).filter_map(|x| x.trim().parse().ok()).collect();
        if v.len() == 4 && v[2] > 0.0 && v[3] > 0.0 {
            return (v[2], v[3]);
        }
    }
    let num = |s: &str| s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<f64>().ok();
    match (attr("width").and_then(num), attr("height").and_then(num)) {
        (Some(w), Some(h)) if w > 0.0 && h > 0.0 => (w, h),
        _ => (4.0, 3.0),
    }
}

fn image_para(n: usize, svg: &str, has_png: bool, max_w: u64, max_h: u64) -> String {
    let blip = if has_png { format!("rIdPng{n}") } else { format!("rIdImg{n}") };
    let (w, h) = svg_size(svg);
    let mut cx = max_w;
    let mut cy = (cx as f64 * h / w) as u64;
    if cy > max_h {
        cy = max_h;
        cx = (cy as f64 * w / h) as u64;
    }
    format!(
        r#"<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="Image {n}"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="{n}" name="image{n}.svg"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{blip}"><a:extLst><a:ext uri="{{96DAC541-7B7A-43D3-8B79-37D633B846F1}}"><asvg:svgBlip xmlns:asvg="http://schemas.microsoft.com/office/drawing/2016/SVG/main" r:embed="rIdImg{n}"/></a:ext></a:extLst></a:blip><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="svg" ContentType="image/svg+xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/><Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="BIZ UDPGothic" w:hAnsi="BIZ UDPGothic" w:eastAsia="BIZ UDPゴシック" w:cs="BIZ UDPGothic"/><w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="ja-JP" w:eastAsia="ja-JP"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="300" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="center"/><w:spacing w:after="240"/></w:pPr><w:rPr><w:b/><w:sz w:val="36"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Subtitle"><w:name w:val="Subtitle"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:sz w:val="22"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr><w:pBdr><w:bottom w:val="single" w:sz="8" w:space="1" w:color="3C3C3C"/></w:pBdr><w:spacing w:before="360" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="28"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr><w:spacing w:before="240" w:after="120"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:numPr><w:ilvl w:val="2"/><w:numId w:val="1"/></w:numPr><w:spacing w:before="200" w:after="80"/><w:outlineLvl w:val="2"/></w:pPr><w:rPr><w:b/><w:sz w:val="21"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading4"><w:name w:val="heading 4"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:numPr><w:ilvl w:val="3"/><w:numId w:val="1"/></w:numPr><w:outlineLvl w:val="3"/></w:pPr><w:rPr><w:b/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="TableText"><w:name w:val="Table Text"/><w:basedOn w:val="Normal"/><w:pPr><w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="19"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Header"><w:name w:val="header"/><w:basedOn w:val="Normal"/><w:pPr><w:pBdr><w:bottom w:val="single" w:sz="4" w:space="1" w:color="969696"/></w:pBdr><w:spacing w:after="0"/></w:pPr><w:rPr><w:color w:val="464646"/><w:sz w:val="16"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/><w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:color w:val="464646"/><w:sz w:val="16"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Caption"><w:name w:val="caption"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:sz w:val="18"/></w:rPr></w:style>
</w:styles>"#;

/// Outline numbering "1", "1.1", "1.1.1", "1.1.1.1" attached to the Heading 1–4 styles, followed by a space.
const NUMBERING: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="multilevel"/><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading1"/><w:suff w:val="space"/><w:lvlText w:val="%1"/><w:lvlJc w:val="left"/><w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading2"/><w:suff w:val="space"/><w:lvlText w:val="%1.%2"/><w:lvlJc w:val="left"/><w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl><w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading3"/><w:suff w:val="space"/><w:lvlText w:val="%1.%2.%3"/><w:lvlJc w:val="left"/><w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl><w:lvl w:ilvl="3"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading4"/><w:suff w:val="space"/><w:lvlText w:val="%1.%2.%3.%4"/><w:lvlJc w:val="left"/><w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>"#;
