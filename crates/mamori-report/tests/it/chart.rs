//! Contact chart (連絡体制図): layout without overlaps, valid SVG with every contact once, PDF.

use std::collections::HashMap;

use mamori_report::{ChartGroup, ChartNode, ContactChart, FONT_FAMILY, ReportError};

use crate::fixtures::{FACILITY, chart35};
use crate::helpers::{pdf_pages, pdf_text_compact, renderer};

/// Text of each `<g class="node" data-id=…>` group, concatenated line by line.
fn node_texts(svg: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses as XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("node"))
        .map(|g| {
            let text: String = g.descendants().filter(|t| t.has_tag_name("text")).filter_map(|t| t.text()).collect();
            (g.attribute("data-id").unwrap_or_default().to_string(), text)
        })
        .collect()
}

fn assert_no_overlap(chart: &ContactChart) {
    let layout = chart.layout().expect("layout");
    assert_eq!(layout.boxes.len(), chart.nodes.len());
    for (i, a) in layout.boxes.iter().enumerate() {
        assert!(
            a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= layout.width && a.y + a.h <= layout.height,
            "{} outside",
            a.id
        );
        for b in &layout.boxes[i + 1..] {
            assert!(!a.overlaps(b), "{} overlaps {}", a.id, b.id);
        }
    }
    // Internal boxes inside the facility frame, vendors and external bodies outside it.
    let (fx, fy, fw, fh) = layout.frame;
    let group: HashMap<&str, ChartGroup> = chart.nodes.iter().map(|n| (n.id.as_str(), n.group)).collect();
    for b in &layout.boxes {
        let inside = b.x >= fx && b.x + b.w <= fx + fw && b.y >= fy && b.y + b.h <= fy + fh;
        let outside = b.x + b.w <= fx || b.x >= fx + fw;
        match group[b.id.as_str()] {
            ChartGroup::Internal => assert!(inside, "{} should be inside the frame", b.id),
            ChartGroup::External => assert!(outside && b.x < fx, "{} should be left of the frame", b.id),
            ChartGroup::Vendor => assert!(outside && b.x > fx, "{} should be right of the frame", b.id),
        }
    }
}

#[test]
fn chart_with_35_boxes_has_no_overlaps_and_every_contact_once() {
    let chart = chart35();
    assert_eq!(chart.nodes.len(), 35);
    assert_no_overlap(&chart);
    let svg = chart.to_svg().expect("svg");
    assert!(svg.contains(&format!("font-family=\"{FONT_FAMILY}")));
    let texts = node_texts(&svg);
    assert_eq!(texts.len(), 35, "one box per contact");
    let by_id: HashMap<&str, &str> = texts.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
    assert_eq!(by_id.len(), 35, "no contact drawn twice");
    for n in &chart.nodes {
        let t = by_id.get(n.id.as_str()).unwrap_or_else(|| panic!("{} missing", n.id));
        assert!(t.contains(&n.role) && t.contains(&n.name), "{}: {t}", n.id);
        if let Some(p) = &n.phone {
            assert!(t.contains(p.as_str()), "{} phone", n.id);
        }
        if let Some(e) = &n.email {
            assert!(t.contains(e.as_str()), "{} e-mail", n.id);
        }
        // The name appears in exactly one box.
        assert_eq!(texts.iter().filter(|(_, t)| t.contains(&n.name)).count(), 1, "{}", n.name);
    }
    // One arrow per edge.
    assert_eq!(svg.matches("marker-end=\"url(#arrow)\"").count(), chart.edges.len());
}

#[test]
fn layout_stays_overlap_free_for_many_shapes() {
    // From 0 to 60 boxes with long names, mixed groups, chains and fans.
    for n in [0usize, 1, 2, 5, 12, 31, 60] {
        let nodes: Vec<ChartNode> = (0..n)
            .map(|i| ChartNode {
                id: format!("n{i}"),
                group: [ChartGroup::Internal, ChartGroup::Vendor, ChartGroup::External, ChartGroup::Internal][i % 4],
                role: "長い役職名".repeat(1 + i % 4),
                name: format!("株式会社テスト{i}{}", "の長い名前".repeat(i % 5)),
                phone: (i % 2 == 0).then(|| format!("03-0000-{i:04}")),
                email: (i % 3 == 0).then(|| format!("very.long.mail.address.number{i}@example-hospital.example.jp")),
                order: (i % 5 == 0).then_some(i as u32),
                tier: None,
            })
            .collect();
        let edges = (1..n).map(|i| (format!("n{}", (i - 1) / 3), format!("n{i}"), "連絡".to_string())).collect();
        let chart = ContactChart { title: "t".into(), facility_name: "f".into(), nodes, edges };
        assert_no_overlap(&chart);
        assert_eq!(node_texts(&chart.to_svg().unwrap()).len(), n);
    }
}

#[test]
fn text_is_escaped_and_survives_as_real_text() {
    let mut chart = chart35();
    chart.nodes[0].name = "A&B <院長> \"山田\" '太郎'".into();
    chart.title = "連絡体制図 <試作> & 確認".into();
    let svg = chart.to_svg().unwrap();
    let texts = node_texts(&svg);
    let t = &texts.iter().find(|(id, _)| id == "director").unwrap().1;
    assert!(t.contains("A&B <院長> \"山田\" '太郎'"), "{t}");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(doc.descendants().any(|n| n.text() == Some("連絡体制図 <試作> & 確認")));
}

#[test]
fn inconsistent_chart_data_is_reported() {
    let mut dup = chart35();
    dup.nodes[1].id = dup.nodes[0].id.clone();
    assert!(matches!(dup.to_svg(), Err(ReportError::Chart(m)) if m.contains("重複")));
    let mut dangling = chart35();
    dangling.edges.push(("director".into(), "nobody".into(), String::new()));
    let err = dangling.to_svg().unwrap_err().to_string();
    assert!(err.contains("nobody"), "{err}");
}

#[test]
fn tiers_put_the_head_of_the_hospital_on_top() {
    let chart = chart35();
    let layout = chart.layout().unwrap();
    let y = |id: &str| layout.boxes.iter().find(|b| b.id == id).unwrap().y;
    assert!(y("director") < y("ciso") && y("ciso") < y("manager") && y("manager") < y("csirt"));
    assert_eq!(y("csirt"), y("itstaff"));
    // Without tiers the rows follow the arrows: the first box nobody points to is on top.
    let mut untiered = chart35();
    for n in &mut untiered.nodes {
        n.tier = None;
    }
    untiered.edges =
        [("director", "ciso"), ("ciso", "manager"), ("manager", "csirt"), ("csirt", "itstaff"), ("manager", "med")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string(), "指示".to_string()))
            .collect();
    let layout = untiered.layout().unwrap();
    let y = |id: &str| layout.boxes.iter().find(|b| b.id == id).unwrap().y;
    assert!(y("director") < y("ciso") && y("ciso") < y("manager"), "director → ciso → manager top-down");
    assert!(y("manager") < y("csirt") && y("csirt") < y("itstaff"));
}

#[test]
fn chart_pdf_is_one_a4_landscape_page_with_the_contacts_as_text() {
    let chart = chart35();
    let pdf = chart.to_pdf(renderer()).expect("pdf");
    let (pages, size) = pdf_pages(&pdf);
    assert_eq!(pages, 1);
    assert!(size.contains("841.89 x 595.276"), "A4 landscape, got {size}");
    let text = pdf_text_compact(&pdf);
    for needle in [FACILITY, "連絡体制図", "厚生労働省", "03-6812-7837", "最高責任者", "医療情報システム安全管理責任者"]
    {
        let n: String = needle.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(text.contains(&n), "PDF lacks {needle}");
    }
}

#[test]
fn chart_with_35_boxes_prints_at_a_legible_size_on_a4_landscape() {
    let layout = chart35().layout().unwrap();
    // The one-page template leaves 281 x 190 mm for the chart.
    let scale = (281.0 / layout.width).min(190.0 / layout.height).min(1.0);
    let points = mamori_report::CHART_TEXT_MM * scale / 0.3528;
    assert!(points >= 5.8, "box text prints at {points:.1} pt");
}
