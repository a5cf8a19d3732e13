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
    /// Role, e.g. 「医療情報システム安全管理責任者」 or 「電子カルテ保守（○○株式会社）」.
    pub role: String,
    /// Person or department name.
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Order of contact (1 = first); shown as a numbered badge.
    pub order: Option<u32>,
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
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    lines: Vec<(String, bool)>,
}

impl PlacedBox {
    /// Whether two boxes overlap (touching edges do not count).
    pub fn overlaps(&self, o: &PlacedBox) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// The computed layout: page size in mm and every box.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLayout {
    pub width: f64,
    pub height: f64,
    pub boxes: Vec<PlacedBox>,
    frame: (f64, f64, f64, f64),
    ext_header: Option<(f64, f64)>,
    ven_header: Option<(f64, f64)>,
    font: f64,
}

// Geometry in mm at design size.
const FONT: f64 = 3.0;
const LINE: f64 = FONT * 1.35;
const PAD: f64 = 2.0;
const BOX_W: f64 = 46.0;
const GAP_X: f64 = 5.0;
const GAP_ROW: f64 = 5.0;
const GAP_LEVEL: f64 = 11.0;
const GAP_SIDE: f64 = 22.0;
const FRAME_PAD: f64 = 6.0;
const FRAME_LABEL: f64 = 8.0;
const MARGIN: f64 = 5.0;
const TITLE_H: f64 = 12.0;
const HEADER_H: f64 = 7.0;
const LEGEND_H: f64 = 8.0;
/// A4 landscape area available for the chart in the one-page PDF (mm).
const PAGE_W: f64 = 277.0;
const PAGE_H: f64 = 190.0;

/// Approximate advance of a character in em (BIZ UDPGothic: full-width 1.0, ASCII ≈ 0.6 at most).
fn char_em(c: char) -> f64 {
    if c.is_ascii() { 0.6 } else { 1.0 }
}

/// Wraps text to lines of at most `max_em` em, breaking between any two characters (Japanese
/// text has no spaces) but not before closing punctuation.
fn wrap(text: &str, max_em: f64) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut width = 0.0;
        for c in para.chars() {
            let w = char_em(c);
            let closing = "、。，．）」』】〕ー・,.)".contains(c);
            if width + w > max_em && !line.is_empty() && !(closing && width + w <= max_em + 1.0) {
                out.push(std::mem::take(&mut line));
                width = 0.0;
            }
            line.push(c);
            width += w;
        }
        out.push(line);
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

    /// Levels of the internal nodes: breadth-first from the nodes nobody inside reports to.
    fn internal_levels(&self) -> Vec<Vec<usize>> {
        let internal: Vec<usize> =
            (0..self.nodes.len()).filter(|&i| self.nodes[i].group == ChartGroup::Internal).collect();
        let index: HashMap<&str, usize> =
            self.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut has_parent: HashSet<usize> = HashSet::new();
        for (f, t, _) in &self.edges {
            let (Some(&a), Some(&b)) = (index.get(f.as_str()), index.get(t.as_str())) else { continue };
            if a != b
                && self.nodes[a].group == ChartGroup::Internal
                && self.nodes[b].group == ChartGroup::Internal
            {
                children.entry(a).or_default().push(b);
                has_parent.insert(b);
            }
        }
        let key = |i: &usize| (self.nodes[*i].order.unwrap_or(u32::MAX), *i);
        let mut depth: HashMap<usize, usize> = HashMap::new();
        let mut queue: VecDeque<usize> = VecDeque::new();
        let mut roots: Vec<usize> = internal.iter().copied().filter(|i| !has_parent.contains(i)).collect();
        roots.sort_by_key(key);
        for r in roots {
            depth.insert(r, 0);
            queue.push_back(r);
        }
        loop {
            while let Some(i) = queue.pop_front() {
                let d = depth[&i];
                let mut cs = children.get(&i).cloned().unwrap_or_default();
                cs.sort_by_key(key);
                for c in cs {
                    if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(c) {
                        e.insert(d + 1);
                        queue.push_back(c);
                    }
                }
            }
            // Nodes only reachable through a cycle: start again from the first of them.
            match internal.iter().copied().filter(|i| !depth.contains_key(i)).min_by_key(key) {
                Some(i) => {
                    depth.insert(i, 0);
                    queue.push_back(i);
                }
                None => break,
            }
        }
        let max = depth.values().copied().max().map_or(0, |m| m + 1);
        let mut levels = vec![Vec::new(); max];
        for i in internal {
            levels[depth[&i]].push(i);
        }
        for l in &mut levels {
            l.sort_by_key(key);
        }
        levels
    }

    /// Computes the layout (validates first).
    pub fn layout(&self) -> Result<ChartLayout, ReportError> {
        self.validate()?;
        let lines: Vec<Vec<(String, bool)>> = self.nodes.iter().map(node_lines).collect();
        let levels = self.internal_levels();
        let by_order = |g: ChartGroup| {
            let mut v: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].group == g).collect();
            v.sort_by_key(|&i| (self.nodes[i].order.unwrap_or(u32::MAX), i));
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
        Ok(best.map(|(_, l)| l).expect("at least one candidate layout"))
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
        let top = MARGIN + TITLE_H;

        // Side columns: balanced, column-major in contact order.
        let side = |items: &[usize], cols: usize| -> (usize, Vec<Vec<usize>>) {
            if items.is_empty() {
                return (0, Vec::new());
            }
            let per = items.len().div_ceil(cols);
            let chunks: Vec<Vec<usize>> = items.chunks(per).map(<[usize]>::to_vec).collect();
            (chunks.len(), chunks)
        };
        let (ext_n, ext_chunks) = side(ext, ext_cols);
        let (ven_n, ven_chunks) = side(ven, ven_cols);
        let col_w = |n: usize| if n == 0 { 0.0 } else { n as f64 * BOX_W + (n - 1) as f64 * GAP_X };
        let ext_w = col_w(ext_n);
        let ven_w = col_w(ven_n);

        // Facility frame.
        let inner_w = col_w(per_row.max(1));
        let frame_x = MARGIN + if ext_n > 0 { ext_w + GAP_SIDE } else { 0.0 };
        let frame_y = top + HEADER_H;
        let mut y = frame_y + FRAME_PAD + FRAME_LABEL;
        for (li, level) in levels.iter().enumerate() {
            if li > 0 {
                y += GAP_LEVEL - GAP_ROW;
            }
            for row in level.chunks(per_row.max(1)) {
                let row_h = row.iter().map(|&i| box_h(lines[i].len())).fold(0.0, f64::max);
                let row_w = col_w(row.len());
                let mut x = frame_x + FRAME_PAD + (inner_w - row_w) / 2.0;
                for &i in row {
                    boxes[i] = Some(PlacedBox {
                        id: self.nodes[i].id.clone(),
                        x,
                        y,
                        w: BOX_W,
                        h: row_h,
                        lines: lines[i].clone(),
                    });
                    x += BOX_W + GAP_X;
                }
                y += row_h + GAP_ROW;
            }
        }
        let frame_w = inner_w + 2.0 * FRAME_PAD;
        let mut frame_h = (y - GAP_ROW + FRAME_PAD - frame_y).max(FRAME_LABEL + 2.0 * FRAME_PAD);

        let mut place_side = |chunks: &[Vec<usize>], x0: f64| -> f64 {
            let mut bottom: f64 = frame_y;
            for (c, chunk) in chunks.iter().enumerate() {
                let x = x0 + c as f64 * (BOX_W + GAP_X);
                let mut y = frame_y;
                for &i in chunk {
                    let h = box_h(lines[i].len());
                    boxes[i] = Some(PlacedBox { id: self.nodes[i].id.clone(), x, y, w: BOX_W, h, lines: lines[i].clone() });
                    y += h + GAP_ROW;
                }
                bottom = bottom.max(y - GAP_ROW);
            }
            bottom
        };
        let ext_bottom = place_side(&ext_chunks, MARGIN);
        let ven_x = frame_x + frame_w + GAP_SIDE;
        let ven_bottom = place_side(&ven_chunks, ven_x);
        // The frame is at least as tall as the side columns so arrows meet it.
        let side_bottom = ext_bottom.max(ven_bottom);
        frame_h = frame_h.max(side_bottom - frame_y);

        let width = if ven_n > 0 { ven_x + ven_w + MARGIN } else { frame_x + frame_w + MARGIN };
        let height = frame_y + frame_h + LEGEND_H + MARGIN;
        ChartLayout {
            width,
            height,
            boxes: boxes.into_iter().flatten().collect(),
            frame: (frame_x, frame_y, frame_w, frame_h),
            ext_header: (ext_n > 0).then_some((MARGIN, ext_w)),
            ven_header: (ven_n > 0).then_some((ven_x, ven_w)),
            font: FONT,
        }
    }

    /// A standalone SVG (mm user units, real text in the embedded font).
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let layout = self.layout()?;
        Ok(self.svg_from_layout(&layout))
    }

    fn svg_from_layout(&self, l: &ChartLayout) -> String {
        let f = l.font;
        let pos: HashMap<&str, &PlacedBox> = l.boxes.iter().map(|b| (b.id.as_str(), b)).collect();
        let node: HashMap<&str, &ChartNode> = self.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w:.1}mm" height="{h:.1}mm" viewBox="0 0 {w:.2} {h:.2}" font-family="{font}, 'BIZ UDPゴシック', sans-serif" font-size="{f}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>
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
        // Column headers.
        let header_y = MARGIN + TITLE_H + HEADER_H * 0.6;
        if let Some((x, w)) = l.ext_header {
            let _ = writeln!(s, r#"<text x="{:.2}" y="{header_y:.2}" font-weight="bold" text-anchor="middle">外部関係機関</text>"#, x + w / 2.0);
        }
        if let Some((x, w)) = l.ven_header {
            let _ = writeln!(s, r#"<text x="{:.2}" y="{header_y:.2}" font-weight="bold" text-anchor="middle">事業者（ベンダー）</text>"#, x + w / 2.0);
        }
        // Facility frame.
        let (fx, fy, fw, fh) = l.frame;
        let _ = writeln!(
            s,
            r##"<rect x="{fx:.2}" y="{fy:.2}" width="{fw:.2}" height="{fh:.2}" rx="2" fill="#f3f7fc" stroke="#1f4e79" stroke-width="0.6"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-weight="bold" fill="#1f4e79" font-size="{:.2}">{}</text>"##,
            fx + FRAME_PAD,
            fy + FRAME_PAD + FRAME_LABEL * 0.3,
            f * 1.2,
            xml_escape(&self.facility_name)
        );
        // Edges under the boxes.
        s.push_str("<g class=\"edges\" stroke=\"#333\" stroke-width=\"0.35\" fill=\"none\">\n");
        let mut labels = String::new();
        for (from, to, label) in &self.edges {
            let (Some(a), Some(b)) = (pos.get(from.as_str()), pos.get(to.as_str())) else { continue };
            if from == to {
                continue;
            }
            let pts = route(a, b);
            let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            let _ = writeln!(s, r#"<polyline points="{}" marker-end="url(#arrow)"/>"#, d.join(" "));
            if !label.trim().is_empty() {
                let (lx, ly) = label_point(&pts);
                let text = xml_escape(label);
                let tw = label.chars().map(char_em).sum::<f64>() * f * 0.8 + 1.2;
                let _ = writeln!(
                    labels,
                    r##"<rect x="{:.2}" y="{:.2}" width="{tw:.2}" height="{:.2}" fill="#fff" fill-opacity="0.9"/><text x="{lx:.2}" y="{:.2}" font-size="{:.2}" text-anchor="middle" fill="#333">{text}</text>"##,
                    lx - tw / 2.0,
                    ly - f * 0.55,
                    f * 1.0,
                    ly + f * 0.3,
                    f * 0.8
                );
            }
        }
        s.push_str("</g>\n");
        // Boxes.
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
                let r = f * 0.85;
                let _ = writeln!(
                    s,
                    r##"<circle cx="{:.2}" cy="{:.2}" r="{r:.2}" fill="{stroke}"/><text x="{:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" fill="#fff" text-anchor="middle">{o}</text>"##,
                    b.x + b.w - r * 0.6,
                    b.y + r * 0.6,
                    b.x + b.w - r * 0.6,
                    b.y + r * 0.6 + f * 0.33,
                    f * 0.9
                );
            }
            s.push_str("</g>\n");
        }
        s.push_str(&labels);
        // Legend.
        let ly = l.height - MARGIN - LEGEND_H * 0.3;
        let _ = writeln!(
            s,
            r##"<text x="{MARGIN:.2}" y="{ly:.2}" font-size="{:.2}" fill="#333">矢印: 報告・連絡の流れ / 右上の番号: 連絡の順番 / 青枠: 院内　緑: 事業者　橙: 外部関係機関</text>"##,
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

fn center(b: &PlacedBox) -> (f64, f64) {
    (b.x + b.w / 2.0, b.y + b.h / 2.0)
}

/// Point where the segment from the box centre towards (tx, ty) leaves the box.
fn exit_point(b: &PlacedBox, tx: f64, ty: f64) -> (f64, f64) {
    let (cx, cy) = center(b);
    let (dx, dy) = (tx - cx, ty - cy);
    if dx.abs() < 1e-9 && dy.abs() < 1e-9 {
        return (cx, cy);
    }
    let sx = if dx.abs() > 1e-9 { (b.w / 2.0) / dx.abs() } else { f64::INFINITY };
    let sy = if dy.abs() > 1e-9 { (b.h / 2.0) / dy.abs() } else { f64::INFINITY };
    let t = sx.min(sy);
    (cx + dx * t, cy + dy * t)
}

/// Route of an edge: an elbow connector when the target is below, otherwise a straight line
/// between the box borders.
fn route(a: &PlacedBox, b: &PlacedBox) -> Vec<(f64, f64)> {
    let (ax, _) = center(a);
    let (bx, _) = center(b);
    if b.y >= a.y + a.h + 1.0 && (a.x - b.x).abs() < 400.0 && side_of(a, b).is_none() {
        let mid = b.y - (GAP_LEVEL / 2.0).min((b.y - a.y - a.h) / 2.0);
        return vec![(ax, a.y + a.h), (ax, mid), (bx, mid), (bx, b.y)];
    }
    let (cx, cy) = center(b);
    let (dx, dy) = center(a);
    vec![exit_point(a, cx, cy), exit_point(b, dx, dy)]
}

/// Boxes in different horizontal regions (side column vs frame) are joined by straight lines.
fn side_of(a: &PlacedBox, b: &PlacedBox) -> Option<()> {
    let separated = a.x + a.w + GAP_SIDE - 1.0 <= b.x || b.x + b.w + GAP_SIDE - 1.0 <= a.x;
    separated.then_some(())
}

fn label_point(pts: &[(f64, f64)]) -> (f64, f64) {
    if pts.len() == 4 {
        // On the horizontal part of an elbow, or the lower vertical part when it is straight.
        let (x, y) = pts[2];
        if (pts[1].0 - x).abs() < 1.0 {
            return (x, (pts[2].1 + pts[3].1) / 2.0);
        }
        return ((pts[1].0 + x) / 2.0, y);
    }
    let (a, b) = (pts[0], pts[pts.len() - 1]);
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_keeps_closing_punctuation() {
        let lines = wrap("医療情報システム安全管理責任者", 8.0);
        assert_eq!(lines, vec!["医療情報システム", "安全管理責任者"]);
        // A closing bracket may hang rather than start a line.
        let lines = wrap("あいうえお）", 5.0);
        assert_eq!(lines, vec!["あいうえお）"]);
        assert!(wrap("", 5.0).is_empty());
    }

    #[test]
    fn exit_point_lies_on_the_border() {
        let b = PlacedBox { id: "a".into(), x: 0.0, y: 0.0, w: 10.0, h: 4.0, lines: vec![] };
        assert_eq!(exit_point(&b, 100.0, 2.0), (10.0, 2.0));
        assert_eq!(exit_point(&b, 5.0, -50.0), (5.0, 0.0));
    }
}
