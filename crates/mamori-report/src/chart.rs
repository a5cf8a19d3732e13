//! Contact chart (連絡体制図): our own small layout and a standalone SVG writer.
//!
//! Layout after the example in the MHLW checklist manual: the facility is a frame holding the
//! internal organisation as a tree (levels from the reporting edges), external bodies
//! (厚生労働省, 警察, 都道府県 …) in columns on the left, vendors in columns on the right, arrows
//! for reporting lines and a numbered badge for the order of contact. Boxes are placed on a grid
//! and never overlap; long texts wrap. The layout picks the column counts that make the chart
//! largest when fitted to A4 landscape.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::pdf::FONT_FAMILY;
use crate::{PdfRenderer, ReportError, xml_escape};

/// 連絡体制図 input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactChart {
    /// e.g. 「サイバーセキュリティインシデント発生時の連絡体制図」
    pub title: String,
    pub facility_name: String,
    pub nodes: Vec<ChartNode>,
    /// (from id, to id, label) — an arrow of reporting/contact; the label may be empty.
    pub edges: Vec<(String, String, String)>,
}

/// One box of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartNode {
    /// Unique id within the chart.
    pub id: String,
    pub group: ChartGroup,
    /// Role, e.g. 「医療情報システム安全管理責任者」 or 「電子カルテ保守」.
    pub role: String,
    /// Person, department or company name.
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Order of contact (1 = first); shown as a numbered badge.
    pub order: Option<u32>,
    /// Internal boxes only: row of the hierarchy inside the facility frame (0 = top, e.g. 最高責任者).
    /// When no internal node has a tier, tiers follow the arrows (breadth-first from the boxes
    /// nobody inside points to); nodes without a tier go below the others.
    #[serde(default)]
    pub tier: Option<u32>,
}

/// Where a box sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChartGroup {
    /// Inside the facility frame (院内).
    Internal,
    /// Vendors / 事業者 (right).
    Vendor,
    /// External bodies / 外部関係機関 (left).
    External,
}

/// A placed box (mm, origin top-left).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedBox {
    pub id: String,
    pub group: ChartGroup,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// Internal boxes: index into the layout's rows.
    row: Option<usize>,
    lines: Vec<(String, bool)>,
}

impl PlacedBox {
    /// Whether two boxes overlap (touching edges do not count).
    pub fn overlaps(&self, o: &PlacedBox) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// A row of internal boxes.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    top: f64,
    bottom: f64,
    gap_above: f64,
    gap_below: f64,
}

/// The computed layout: size in mm and every box.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLayout {
    pub width: f64,
    pub height: f64,
    pub boxes: Vec<PlacedBox>,
    /// The facility frame (x, y, w, h); every internal box lies inside it.
    pub frame: (f64, f64, f64, f64),
    rows: Vec<Row>,
    ext_header: Option<(f64, f64)>,
    ven_header: Option<(f64, f64)>,
}

/// Text size of the boxes in the SVG, in mm (user units); 3 mm ≈ 8.5 pt before fitting to a page.
pub const CHART_TEXT_MM: f64 = FONT;

// Geometry in mm at design size.
const FONT: f64 = 3.0;
const LINE: f64 = FONT * 1.28;
const PAD: f64 = 1.6;
const BOX_W: f64 = 46.0;
const GAP_X: f64 = 5.0;
const GAP_ROW: f64 = 6.0;
const GAP_LEVEL: f64 = 10.0;
const GAP_SIDE: f64 = 17.0;
const FRAME_PAD: f64 = 6.0;
const FRAME_LABEL: f64 = 9.0;
const MARGIN: f64 = 5.0;
const TITLE_H: f64 = 10.0;
const HEADER_H: f64 = 8.0;
const LEGEND_H: f64 = 8.0;
/// A4 landscape area available for the chart in the one-page PDF (mm).
const PAGE_W: f64 = 281.0;
const PAGE_H: f64 = 188.0;

/// Approximate advance of a character in em (BIZ UDPGothic: full-width 1.0, ASCII ≈ 0.6 at most).
fn char_em(c: char) -> f64 {
    if c.is_ascii() { 0.6 } else { 1.0 }
}

fn text_em(s: &str) -> f64 {
    s.chars().map(char_em).sum()
}

/// Wraps text to lines of at most `max_em` em. Japanese text breaks between any two characters
/// (never before closing punctuation); runs of ASCII (addresses, numbers) break after
/// `@ . - / _` or a space when one is on the line.
fn wrap(text: &str, max_em: f64) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line: Vec<char> = Vec::new();
        let mut width = 0.0;
        for c in para.chars() {
            let w = char_em(c);
            let closing = "、。，．）」』】〕ー・,.)".contains(c);
            if width + w > max_em && !line.is_empty() && !(closing && width + w <= max_em + 1.0) {
                // Prefer an ASCII break opportunity when the overflowing char is ASCII.
                let cut = if c.is_ascii() && line.last().is_some_and(char::is_ascii) {
                    line.iter().rposition(|&p| " @.-/_".contains(p)).map(|i| i + 1).filter(|&i| i < line.len())
                } else {
                    None
                };
                let rest: Vec<char> = match cut {
                    Some(i) => line.split_off(i),
                    None => Vec::new(),
                };
                out.push(line.iter().collect::<String>().trim_end().to_string());
                line = rest;
                width = line.iter().copied().map(char_em).sum();
            }
            line.push(c);
            width += w;
        }
        out.push(line.into_iter().collect());
    }
    out.retain(|l| !l.trim().is_empty());
    out
}

fn node_lines(n: &ChartNode) -> Vec<(String, bool)> {
    let max_em = (BOX_W - 2.0 * PAD) / FONT;
    let mut lines: Vec<(String, bool)> = wrap(&n.role, max_em).into_iter().map(|l| (l, true)).collect();
    lines.extend(wrap(&n.name, max_em).into_iter().map(|l| (l, false)));
    if let Some(p) = n.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        lines.extend(wrap(&format!("TEL {p}"), max_em).into_iter().map(|l| (l, false)));
    }
    if let Some(e) = n.email.as_deref().filter(|e| !e.trim().is_empty()) {
        lines.extend(wrap(e, max_em).into_iter().map(|l| (l, false)));
    }
    if lines.is_empty() {
        lines.push(("（未設定）".into(), false));
    }
    lines
}

fn box_h(lines: usize) -> f64 {
    2.0 * PAD + lines as f64 * LINE
}

fn col_w(n: usize) -> f64 {
    if n == 0 { 0.0 } else { n as f64 * BOX_W + (n - 1) as f64 * GAP_X }
}

impl ContactChart {
    /// Checks ids are unique and non-empty and every edge joins two known nodes.
    pub fn validate(&self) -> Result<(), ReportError> {
        let mut seen = HashSet::new();
        for n in &self.nodes {
            if n.id.trim().is_empty() {
                return Err(ReportError::Chart(format!(
                    "「{}」の id が空です / node {:?} has an empty id",
                    n.role, n.role
                )));
            }
            if !seen.insert(n.id.as_str()) {
                return Err(ReportError::Chart(format!(
                    "id「{}」が重複しています / duplicate node id {:?}",
                    n.id, n.id
                )));
            }
        }
        for (f, t, _) in &self.edges {
            for end in [f, t] {
                if !seen.contains(end.as_str()) {
                    return Err(ReportError::Chart(format!(
                        "矢印 {f} → {t} の「{end}」という連絡先がありません / edge {f} -> {t}: unknown node {end:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn order_key(&self, i: usize) -> (u32, usize) {
        (self.nodes[i].order.unwrap_or(u32::MAX), i)
    }

    /// Tiers of the internal nodes (see [`ChartNode::tier`]), each sorted by contact order.
    fn internal_levels(&self) -> Vec<Vec<usize>> {
        let internal: Vec<usize> =
            (0..self.nodes.len()).filter(|&i| self.nodes[i].group == ChartGroup::Internal).collect();
        let mut depth: HashMap<usize, usize> = HashMap::new();
        if internal.iter().any(|&i| self.nodes[i].tier.is_some()) {
            let max = internal.iter().filter_map(|&i| self.nodes[i].tier).max().unwrap_or(0) as usize;
            for &i in &internal {
                depth.insert(i, self.nodes[i].tier.map_or(max + 1, |t| t as usize));
            }
        } else {
            let index: HashMap<&str, usize> = self.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
            let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
            let mut has_parent: HashSet<usize> = HashSet::new();
            for (f, t, _) in &self.edges {
                let (Some(&a), Some(&b)) = (index.get(f.as_str()), index.get(t.as_str())) else { continue };
                if a != b && self.nodes[a].group == ChartGroup::Internal && self.nodes[b].group == ChartGroup::Internal
                {
                    children.entry(a).or_default().push(b);
                    has_parent.insert(b);
                }
            }
            let mut queue: VecDeque<usize> = VecDeque::new();
            // Boxes without any arrow inside the frame go to a row of their own at the bottom.
            let isolated: Vec<usize> =
                internal.iter().copied().filter(|i| !has_parent.contains(i) && !children.contains_key(i)).collect();
            let mut roots: Vec<usize> =
                internal.iter().copied().filter(|i| !has_parent.contains(i) && children.contains_key(i)).collect();
            roots.sort_by_key(|&i| self.order_key(i));
            for r in roots {
                depth.insert(r, 0);
                queue.push_back(r);
            }
            loop {
                while let Some(i) = queue.pop_front() {
                    let d = depth[&i];
                    let mut cs = children.get(&i).cloned().unwrap_or_default();
                    cs.sort_by_key(|&c| self.order_key(c));
                    for c in cs {
                        if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(c) {
                            e.insert(d + 1);
                            queue.push_back(c);
                        }
                    }
                }
                // Nodes only reachable through a cycle: start again from the first of them.
                match internal
                    .iter()
                    .copied()
                    .filter(|i| !depth.contains_key(i) && !isolated.contains(i))
                    .min_by_key(|&i| self.order_key(i))
                {
                    Some(i) => {
                        depth.insert(i, 0);
                        queue.push_back(i);
                    }
                    None => break,
                }
            }
            let bottom = depth.values().copied().max().map_or(0, |m| m + 1);
            for i in isolated {
                depth.insert(i, bottom);
            }
        }
        let mut tiers: Vec<usize> = depth.values().copied().collect();
        tiers.sort_unstable();
        tiers.dedup();
        let mut levels: Vec<Vec<usize>> = vec![Vec::new(); tiers.len()];
        for i in internal {
            let l = tiers.binary_search(&depth[&i]).unwrap_or(0);
            levels[l].push(i);
        }
        for l in &mut levels {
            l.sort_by_key(|&i| self.order_key(i));
        }
        levels
    }

    /// Computes the layout (validates first). Among the candidate column counts it keeps the one
    /// that prints largest on A4 landscape.
    pub fn layout(&self) -> Result<ChartLayout, ReportError> {
        self.validate()?;
        let lines: Vec<Vec<(String, bool)>> = self.nodes.iter().map(node_lines).collect();
        let levels = self.internal_levels();
        // Side boxes with arrows first, so they land in the column next to the frame.
        let linked: HashSet<&str> = self.edges.iter().flat_map(|(a, b, _)| [a.as_str(), b.as_str()]).collect();
        let by_order = |g: ChartGroup| {
            let mut v: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].group == g).collect();
            v.sort_by_key(|&i| (!linked.contains(self.nodes[i].id.as_str()), self.order_key(i)));
            v
        };
        let ext = by_order(ChartGroup::External);
        let ven = by_order(ChartGroup::Vendor);
        let widest_level = levels.iter().map(Vec::len).max().unwrap_or(1).max(1);

        let mut best: Option<(f64, ChartLayout)> = None;
        for per_row in 1..=widest_level.min(8) {
            for ext_cols in 1..=ext.len().clamp(1, 4) {
                for ven_cols in 1..=ven.len().clamp(1, 4) {
                    let l = self.place(&lines, &levels, &ext, &ven, per_row, ext_cols, ven_cols);
                    let scale = (PAGE_W / l.width).min(PAGE_H / l.height);
                    if best.as_ref().is_none_or(|(s, _)| scale > *s + 1e-9) {
                        best = Some((scale, l));
                    }
                }
            }
        }
        best.map(|(_, l)| l).ok_or_else(|| ReportError::Chart("layout failed".into()))
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &self,
        lines: &[Vec<(String, bool)>],
        levels: &[Vec<usize>],
        ext: &[usize],
        ven: &[usize],
        per_row: usize,
        ext_cols: usize,
        ven_cols: usize,
    ) -> ChartLayout {
        let mut boxes: Vec<Option<PlacedBox>> = vec![None; self.nodes.len()];
        let mut rows: Vec<Row> = Vec::new();
        let top = MARGIN + TITLE_H;
        let per_row = per_row.max(1);

        // Side columns: balanced, column-major in contact order.
        let side = |items: &[usize], cols: usize| -> Vec<Vec<usize>> {
            if items.is_empty() {
                return Vec::new();
            }
            items.chunks(items.len().div_ceil(cols)).map(<[usize]>::to_vec).collect()
        };
        let ext_chunks = side(ext, ext_cols);
        let ven_chunks = side(ven, ven_cols);
        let ext_w = col_w(ext_chunks.len());
        let ven_w = col_w(ven_chunks.len());

        // Facility frame with one row per tier (wrapped after per_row boxes), all rows of a tier
        // on one column grid.
        let widest = levels.iter().map(|l| l.len().min(per_row)).max().unwrap_or(1).max(1);
        let inner_w = col_w(widest);
        let frame_x = MARGIN + if ext_chunks.is_empty() { 0.0 } else { ext_w + GAP_SIDE };
        let frame_y = top + HEADER_H;
        let mut y = frame_y + FRAME_PAD + FRAME_LABEL;
        for (li, level) in levels.iter().enumerate() {
            let cols = level.len().min(per_row);
            let x0 = frame_x + FRAME_PAD + (inner_w - col_w(cols)) / 2.0;
            let nrows = level.len().div_ceil(per_row);
            for (ri, row) in level.chunks(per_row).enumerate() {
                if ri > 0 {
                    y += GAP_ROW;
                } else if li > 0 {
                    y += GAP_LEVEL;
                }
                let row_h = row.iter().map(|&i| box_h(lines[i].len())).fold(0.0, f64::max);
                let offset = (cols - row.len()) / 2;
                for (ci, &i) in row.iter().enumerate() {
                    boxes[i] = Some(PlacedBox {
                        id: self.nodes[i].id.clone(),
                        group: ChartGroup::Internal,
                        x: x0 + (offset + ci) as f64 * (BOX_W + GAP_X),
                        y,
                        w: BOX_W,
                        h: row_h,
                        row: Some(rows.len()),
                        lines: lines[i].clone(),
                    });
                }
                rows.push(Row {
                    top: y,
                    bottom: y + row_h,
                    gap_above: if ri > 0 {
                        GAP_ROW
                    } else if li > 0 {
                        GAP_LEVEL
                    } else {
                        FRAME_LABEL
                    },
                    gap_below: if ri + 1 < nrows { GAP_ROW } else { GAP_LEVEL.min(FRAME_PAD * 2.0) },
                });
                y += row_h;
            }
        }
        let frame_w = inner_w + 2.0 * FRAME_PAD;
        let mut frame_h = (y + FRAME_PAD - frame_y).max(FRAME_LABEL + 2.0 * FRAME_PAD);

        // The first chunk goes into the column next to the frame.
        let mut place_side = |chunks: &[Vec<usize>], x0: f64, group: ChartGroup| -> f64 {
            let mut bottom: f64 = frame_y;
            let n = chunks.len();
            for (c, chunk) in chunks.iter().enumerate() {
                let col = if group == ChartGroup::External { n - 1 - c } else { c };
                let x = x0 + col as f64 * (BOX_W + GAP_X);
                let mut y = frame_y;
                for &i in chunk {
                    let h = box_h(lines[i].len());
                    boxes[i] = Some(PlacedBox {
                        id: self.nodes[i].id.clone(),
                        group,
                        x,
                        y,
                        w: BOX_W,
                        h,
                        row: None,
                        lines: lines[i].clone(),
                    });
                    y += h + GAP_ROW;
                }
                bottom = bottom.max(y - GAP_ROW);
            }
            bottom
        };
        let ext_bottom = place_side(&ext_chunks, MARGIN, ChartGroup::External);
        let ven_x = frame_x + frame_w + GAP_SIDE;
        let ven_bottom = place_side(&ven_chunks, ven_x, ChartGroup::Vendor);
        frame_h = frame_h.max(ext_bottom.max(ven_bottom) - frame_y);

        let width = if ven_chunks.is_empty() { frame_x + frame_w + MARGIN } else { ven_x + ven_w + MARGIN };
        let height = frame_y + frame_h + LEGEND_H + MARGIN;
        ChartLayout {
            width,
            height,
            boxes: boxes.into_iter().flatten().collect(),
            frame: (frame_x, frame_y, frame_w, frame_h),
            rows,
            ext_header: (!ext_chunks.is_empty()).then_some((MARGIN, ext_w)),
            ven_header: (!ven_chunks.is_empty()).then_some((ven_x, ven_w)),
        }
    }

    /// A standalone SVG (mm user units, real text in the embedded font).
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let layout = self.layout()?;
        Ok(self.svg_from_layout(&layout))
    }

    fn svg_from_layout(&self, l: &ChartLayout) -> String {
        let f = FONT;
        let node: HashMap<&str, &ChartNode> = self.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w:.1}mm" height="{h:.1}mm" viewBox="0 0 {w:.2} {h:.2}" font-family="{font}, 'BIZ UDPゴシック', sans-serif" font-size="{f}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>
<rect x="0" y="0" width="{w:.2}" height="{h:.2}" fill="#fff"/>
"##,
            w = l.width,
            h = l.height,
            font = FONT_FAMILY,
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" text-anchor="middle">{}</text>"#,
            l.width / 2.0,
            MARGIN + TITLE_H * 0.55,
            f * 1.6,
            xml_escape(&self.title)
        );
        // Baseline high enough that the order badges poking out of the first boxes stay clear.
        let header_y = MARGIN + TITLE_H + HEADER_H * 0.45;
        if let Some((x, w)) = l.ext_header {
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{header_y:.2}" font-weight="bold" text-anchor="middle">外部関係機関</text>"#,
                x + w / 2.0
            );
        }
        if let Some((x, w)) = l.ven_header {
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{header_y:.2}" font-weight="bold" text-anchor="middle">事業者（ベンダー）</text>"#,
                x + w / 2.0
            );
        }
        let (fx, fy, fw, fh) = l.frame;
        let _ = writeln!(
            s,
            r##"<rect x="{fx:.2}" y="{fy:.2}" width="{fw:.2}" height="{fh:.2}" rx="2" fill="#f3f7fc" stroke="#1f4e79" stroke-width="0.6"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-weight="bold" fill="#1f4e79" font-size="{:.2}">{}</text>"##,
            fx + FRAME_PAD,
            fy + FRAME_PAD + f * 0.9,
            f * 1.2,
            xml_escape(&self.facility_name)
        );
        // Edges under the boxes, labels above everything.
        s.push_str(
            "<g class=\"edges\" stroke=\"#333\" stroke-width=\"0.35\" fill=\"none\" stroke-linejoin=\"round\">\n",
        );
        let mut labels = String::new();
        for (pts, label, anchor) in route_edges(self, l) {
            let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            let _ = writeln!(s, r#"<polyline points="{}" marker-end="url(#arrow)"/>"#, d.join(" "));
            if let Some((lx, ly, start)) = anchor.filter(|_| !label.trim().is_empty()) {
                let fs = f * 0.8;
                let tw = text_em(&label) * fs + 0.8;
                let rx = if start { lx - 0.4 } else { lx - tw + 0.4 };
                let _ = writeln!(
                    labels,
                    r##"<rect x="{rx:.2}" y="{:.2}" width="{tw:.2}" height="{:.2}" fill="#fff" fill-opacity="0.85"/><text x="{lx:.2}" y="{ly:.2}" font-size="{fs:.2}" text-anchor="{}" fill="#333">{}</text>"##,
                    ly - fs * 0.9,
                    fs * 1.15,
                    if start { "start" } else { "end" },
                    xml_escape(&label)
                );
            }
        }
        s.push_str("</g>\n");
        for b in &l.boxes {
            let n = node[b.id.as_str()];
            let (fill, stroke) = match n.group {
                ChartGroup::Internal => ("#ffffff", "#1f4e79"),
                ChartGroup::Vendor => ("#eef7ee", "#2e7d32"),
                ChartGroup::External => ("#fff5e6", "#b35c00"),
            };
            let _ = writeln!(s, r#"<g class="node" data-id="{}">"#, xml_escape(&b.id));
            let _ = writeln!(
                s,
                r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" rx="1.2" fill="{fill}" stroke="{stroke}" stroke-width="0.5"/>"#,
                b.x, b.y, b.w, b.h
            );
            let mut ty = b.y + PAD + f * 0.95;
            for (text, bold) in &b.lines {
                let weight = if *bold { r#" font-weight="bold""# } else { "" };
                let _ = writeln!(s, r#"<text x="{:.2}" y="{ty:.2}"{weight}>{}</text>"#, b.x + PAD, xml_escape(text));
                ty += LINE;
            }
            if let Some(o) = n.order {
                let r = f * 0.8;
                let (cx, cy) = (b.x + b.w - r - 0.6, b.y - r * 0.35);
                let _ = writeln!(
                    s,
                    r##"<circle cx="{cx:.2}" cy="{cy:.2}" r="{r:.2}" fill="{stroke}" stroke="#fff" stroke-width="0.3"/><text x="{cx:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" fill="#fff" text-anchor="middle">{o}</text>"##,
                    cy + f * 0.32,
                    f * 0.9
                );
            }
            s.push_str("</g>\n");
        }
        s.push_str(&labels);
        let ly = l.height - MARGIN - LEGEND_H * 0.3;
        let _ = writeln!(
            s,
            r##"<text x="{MARGIN:.2}" y="{ly:.2}" font-size="{:.2}" fill="#333">矢印: 報告・連絡の流れ　丸数字: 連絡の順番　青: 院内　緑: 事業者　橙: 外部関係機関</text>"##,
            f * 0.9
        );
        s.push_str("</svg>\n");
        s
    }

    /// The chart as a one-page A4 landscape PDF, fitted to the page.
    pub fn to_pdf(&self, renderer: &PdfRenderer) -> Result<Vec<u8>, ReportError> {
        let svg = self.to_svg()?;
        let inputs = serde_json::json!({ "title": self.title, "facility_name": self.facility_name });
        renderer.render(CHART_TYP, &[("chart.svg", svg.into_bytes())], inputs)
    }
}

/// The one-page template for the chart.
pub const CHART_TYP: &str = include_str!("../templates/chart.typ");

type Pt = (f64, f64);
/// Label anchor: (x, y baseline, text-anchor start?)
type Anchor = Option<(f64, f64, bool)>;

/// Routes every edge on lanes that run in the gaps between rows, the frame padding and the
/// channels between the frame and the side columns, so lines do not pass under boxes.
fn route_edges(chart: &ContactChart, l: &ChartLayout) -> Vec<(Vec<Pt>, String, Anchor)> {
    let pos: HashMap<&str, &PlacedBox> = l.boxes.iter().map(|b| (b.id.as_str(), b)).collect();
    let (fx, _, fw, _) = l.frame;
    let f = FONT;
    // Lane counters so parallel lines stay apart.
    let mut bus_index: HashMap<(usize, String), usize> = HashMap::new();
    let mut row_side_lanes: HashMap<usize, usize> = HashMap::new();
    let mut left_lanes = 0usize;
    let mut right_lanes = 0usize;
    let mut frame_lanes = [0usize; 2];
    let mut gap_lanes: HashMap<i64, usize> = HashMap::new();
    // Side edges sorted by the side box's height so channel lanes do not cross each other.
    let mut order: Vec<usize> = (0..chart.edges.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| {
            let (from, to, _) = &chart.edges[i];
            let y = |id: &str| pos.get(id).map_or(0.0, |b| if b.group == ChartGroup::Internal { 0.0 } else { b.y });
            y(from) + y(to)
        };
        key(a).total_cmp(&key(b))
    });
    let mut out = Vec::new();
    for i in order {
        let (from, to, label) = &chart.edges[i];
        let (Some(&a), Some(&b)) = (pos.get(from.as_str()), pos.get(to.as_str())) else { continue };
        if from == to {
            continue;
        }
        let (pts, anchor): (Vec<Pt>, Anchor) = match (a.row, b.row) {
            (Some(ra), Some(rb)) => {
                // Route from the upper box to the lower one, then orient.
                let (u, lo, ru, rl, down) = if ra <= rb { (a, b, ra, rb, true) } else { (b, a, rb, ra, false) };
                let row_u = &l.rows[ru];
                let row_l = &l.rows[rl];
                let pts: Vec<Pt> = if ru == rl {
                    let y = u.y - (row_u.gap_above / 2.0).min(2.5);
                    vec![(u.cx(), u.y), (u.cx(), y), (lo.cx(), y), (lo.cx(), lo.y)]
                } else {
                    // Parallel buses below one row: one per source box.
                    let n = bus_index.len();
                    let k = *bus_index.entry((ru, u.id.clone())).or_insert(n) % 3;
                    let ya = u.bottom() + row_u.gap_below / 2.0 + (k as f64 - 1.0) * 1.0;
                    if rl == ru + 1 {
                        vec![(u.cx(), u.bottom()), (u.cx(), ya), (lo.cx(), ya), (lo.cx(), lo.y)]
                    } else {
                        // Rows in between: go down a gap between their boxes (a trunk), or along
                        // the frame padding when no gap is free.
                        let yb = lo.y - row_l.gap_above / 2.0;
                        let blocked = |x: f64| {
                            l.boxes.iter().any(|b| {
                                b.row.is_some_and(|r| r > ru && r < rl) && x > b.x - 0.8 && x < b.x + b.w + 0.8
                            })
                        };
                        let mut candidates: Vec<f64> = vec![u.cx()];
                        for b in l.boxes.iter().filter(|b| b.row.is_some_and(|r| r > ru && r < rl)) {
                            candidates.push(b.x - GAP_X / 2.0);
                            candidates.push(b.x + b.w + GAP_X / 2.0);
                        }
                        let target = (u.cx() + lo.cx()) / 2.0;
                        candidates.sort_by(|p, q| (p - target).abs().total_cmp(&(q - target).abs()));
                        let xl = match candidates.into_iter().find(|&x| !blocked(x)) {
                            Some(x) => x,
                            None => {
                                let left = target < fx + fw / 2.0;
                                let lane = &mut frame_lanes[usize::from(!left)];
                                let off = FRAME_PAD * 0.5 - (*lane % 3) as f64 * 1.0;
                                *lane += 1;
                                if left { fx + off } else { fx + fw - off }
                            }
                        };
                        vec![(u.cx(), u.bottom()), (u.cx(), ya), (xl, ya), (xl, yb), (lo.cx(), yb), (lo.cx(), lo.y)]
                    }
                };
                let pts = if down { pts } else { pts.into_iter().rev().collect() };
                // Label beside the last (vertical) segment, right of a downward arrow, left of an upward one.
                let (p, q) = (pts[pts.len() - 2], pts[pts.len() - 1]);
                let anchor = Some(if down {
                    (q.0 + 0.8, (p.1 + q.1) / 2.0 + f * 0.3, true)
                } else {
                    (q.0 - 0.8, (p.1 + q.1) / 2.0 + f * 0.3, false)
                });
                (pts, anchor)
            }
            (Some(r), None) | (None, Some(r)) => {
                let (inner, outer) = if a.row.is_some() { (a, b) } else { (b, a) };
                let row = &l.rows[r];
                let k = row_side_lanes.entry(r).or_insert(0);
                let max_lanes = ((row.gap_above * 0.4) / 1.0).floor().max(1.0) as usize;
                let y = inner.y - 1.2 - (*k % max_lanes) as f64 * 1.0;
                *k += 1;
                let left = outer.cx() < fx;
                let (lanes, sign) = if left { (&mut left_lanes, -1.0) } else { (&mut right_lanes, 1.0) };
                let j = *lanes % (((GAP_SIDE - 8.0) / 1.6) as usize).max(1);
                *lanes += 1;
                let edge_x = if left { fx } else { fx + fw };
                let xl = edge_x + sign * (3.0 + j as f64 * 1.6);
                let ox = if left { outer.x + outer.w } else { outer.x };
                let oy = outer.cy().min(outer.y + outer.h - 2.0).max(outer.y + 2.0);
                // Boxes of nearer side columns between the channel and this box: the line must not run
                // under them (it would look like an arrow from that box). Cross their column in a gap
                // between two boxes, then reach this box along the gap between the columns.
                let between: Vec<&PlacedBox> = l
                    .boxes
                    .iter()
                    .filter(|b| {
                        b.row.is_none()
                            && b.group == outer.group
                            && if left {
                                b.x > outer.x + outer.w && b.x + b.w <= fx
                            } else {
                                b.x < outer.x && b.x >= fx + fw
                            }
                    })
                    .collect();
                let pts = if between.is_empty() {
                    vec![(inner.cx(), inner.y), (inner.cx(), y), (xl, y), (xl, oy), (ox, oy)]
                } else {
                    let free = |yy: f64| between.iter().all(|b| yy < b.y - 0.6 || yy > b.y + b.h + 0.6);
                    let mut candidates: Vec<f64> = vec![oy];
                    // Not above the topmost box: the column's heading is there.
                    let top_y = between.iter().map(|b| b.y).fold(f64::INFINITY, f64::min);
                    for b in between.iter().filter(|b| b.y > top_y + 0.01) {
                        candidates.push(b.y - GAP_ROW / 2.0);
                    }
                    for b in &between {
                        candidates.push(b.y + b.h + GAP_ROW / 2.0);
                    }
                    candidates.sort_by(|p, q| (p - oy).abs().total_cmp(&(q - oy).abs()));
                    let yf = candidates.into_iter().find(|&c| free(c)).unwrap_or(oy);
                    // Several lines through one gap stay apart.
                    let n = gap_lanes.entry((yf * 10.0).round() as i64).or_insert(0usize);
                    let yf = if (yf - oy).abs() < 1e-9 { yf } else { yf + ((*n % 3) as f64 - 1.0) * 0.9 };
                    *n += 1;
                    let mid = if left { outer.x + outer.w + GAP_X / 2.0 } else { outer.x - GAP_X / 2.0 };
                    vec![(inner.cx(), inner.y), (inner.cx(), y), (xl, y), (xl, yf), (mid, yf), (mid, oy), (ox, oy)]
                };
                let pts = if a.row.is_some() { pts } else { pts.into_iter().rev().collect() };
                // Label just above the horizontal piece at the side box.
                let anchor = if left { (ox + 0.8, oy - 0.8, true) } else { (ox - 0.8, oy - 0.8, false) };
                (pts, Some(anchor))
            }
            (None, None) => {
                let (pa, pb) = (exit_point(a, b.cx(), b.cy()), exit_point(b, a.cx(), a.cy()));
                (vec![pa, pb], Some(((pa.0 + pb.0) / 2.0, (pa.1 + pb.1) / 2.0, true)))
            }
        };
        out.push((pts, label.clone(), anchor));
    }
    out
}

/// Point where the segment from the box centre towards (tx, ty) leaves the box.
fn exit_point(b: &PlacedBox, tx: f64, ty: f64) -> Pt {
    let (cx, cy) = (b.cx(), b.cy());
    let (dx, dy) = (tx - cx, ty - cy);
    if dx.abs() < 1e-9 && dy.abs() < 1e-9 {
        return (cx, cy);
    }
    let sx = if dx.abs() > 1e-9 { (b.w / 2.0) / dx.abs() } else { f64::INFINITY };
    let sy = if dy.abs() > 1e-9 { (b.h / 2.0) / dy.abs() } else { f64::INFINITY };
    let t = sx.min(sy);
    (cx + dx * t, cy + dy * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_keeps_closing_punctuation() {
        let lines = wrap("医療情報システム安全管理責任者", 8.0);
        assert_eq!(lines, vec!["医療情報システム", "安全管理責任者"]);
        // A closing bracket may hang rather than start a line.
        assert_eq!(wrap("あいうえお）", 5.0), vec!["あいうえお）"]);
        assert!(wrap("", 5.0).is_empty());
    }

    #[test]
    fn wrap_breaks_addresses_after_at_or_dot() {
        // 0.6 em per ASCII char: 10 em = 16 chars.
        let lines = wrap("support@ehr-vendor.example.co.jp", 10.0);
        assert_eq!(lines, vec!["support@ehr-", "vendor.example.", "co.jp"]);
        for l in &lines {
            assert!(text_em(l) <= 10.0);
        }
    }

    /// Whether a horizontal or vertical segment runs through the inside of a box.
    fn crosses(p: Pt, q: Pt, b: &PlacedBox) -> bool {
        let (x0, x1) = (p.0.min(q.0), p.0.max(q.0));
        let (y0, y1) = (p.1.min(q.1), p.1.max(q.1));
        x1 > b.x + 0.3 && x0 < b.x + b.w - 0.3 && y1 > b.y + 0.3 && y0 < b.y + b.h - 0.3
    }

    #[test]
    fn lines_to_an_outer_side_column_do_not_run_under_the_boxes_of_the_nearer_one() {
        let node = |id: &str, group: ChartGroup, tier: Option<u32>| ChartNode {
            id: id.into(),
            group,
            role: format!("役割 {id}"),
            name: "名称が少し長い株式会社 窓口".into(),
            phone: Some("03-0000-0000".into()),
            email: Some(format!("{id}@vendor.example.co.jp")),
            order: None,
            tier,
        };
        let mut nodes = vec![node("top", ChartGroup::Internal, Some(0)), node("mgr", ChartGroup::Internal, Some(1))];
        let mut edges = vec![("mgr".to_string(), "top".to_string(), String::new())];
        for i in 0..12 {
            nodes.push(node(&format!("v{i}"), ChartGroup::Vendor, None));
            edges.push(("mgr".into(), format!("v{i}"), String::new()));
        }
        for i in 0..8 {
            nodes.push(node(&format!("x{i}"), ChartGroup::External, None));
            edges.push(("top".into(), format!("x{i}"), String::new()));
        }
        let chart = ContactChart { title: "t".into(), facility_name: "f".into(), nodes, edges };
        let l = chart.layout().unwrap();
        let columns: HashSet<i64> = l.boxes.iter().filter(|b| b.row.is_none()).map(|b| b.x.round() as i64).collect();
        assert!(columns.len() >= 3, "more than one column on a side: {columns:?}");
        for (pts, _, _) in route_edges(&chart, &l) {
            let ends: Vec<&PlacedBox> = l
                .boxes
                .iter()
                .filter(|b| {
                    [pts[0], pts[pts.len() - 1]].iter().any(|p| {
                        p.0 >= b.x - 0.01 && p.0 <= b.x + b.w + 0.01 && p.1 >= b.y - 0.01 && p.1 <= b.y + b.h + 0.01
                    })
                })
                .collect();
            for w in pts.windows(2) {
                for b in l.boxes.iter().filter(|b| b.row.is_none() && !ends.iter().any(|e| e.id == b.id)) {
                    assert!(!crosses(w[0], w[1], b), "a line runs under {} ({:?} -> {:?})", b.id, w[0], w[1]);
                }
            }
        }
    }

    #[test]
    fn exit_point_lies_on_the_border() {
        let b = PlacedBox {
            id: "a".into(),
            group: ChartGroup::Vendor,
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 4.0,
            row: None,
            lines: vec![],
        };
        assert_eq!(exit_point(&b, 100.0, 2.0), (10.0, 2.0));
        assert_eq!(exit_point(&b, 5.0, -50.0), (5.0, 0.0));
    }
}
