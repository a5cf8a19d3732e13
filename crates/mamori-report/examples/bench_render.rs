//! Benchmark of the document outputs. Prints figures; with `--out DIR` also writes the files.
//!
//! cargo run --release -p mamori-report --example bench_render [-- --out /tmp/report-samples]

#[path = "../tests/it/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use mamori_report::{CellValue, Column, ColumnKind, OfficialSheet, PdfRenderer, write_xlsx};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn sheet200() -> OfficialSheet {
    let columns = vec![
        Column { header: "番号".into(), width: 6.0, kind: ColumnKind::Text },
        Column { header: "チェック項目".into(), width: 50.0, kind: ColumnKind::Text },
        Column { header: "1回目".into(), width: 8.0, kind: ColumnKind::YesNo },
        Column { header: "確認日".into(), width: 12.0, kind: ColumnKind::Date },
        Column { header: "目標日".into(), width: 12.0, kind: ColumnKind::Date },
        Column { header: "備考".into(), width: 30.0, kind: ColumnKind::Text },
    ];
    let d = NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date");
    let rows = (0..200)
        .map(|i| {
            vec![
                CellValue::Text(format!("{}-({})", i / 10 + 1, i % 10 + 1)),
                CellValue::Text(
                    "サーバについて、利用者の職種・担当業務別の情報区分毎のアクセス利用権限を設定している。".into(),
                ),
                CellValue::YesNo(i % 3 != 0),
                CellValue::Date(d + chrono::Days::new(i)),
                if i % 3 == 0 { CellValue::Date(d + chrono::Days::new(200)) } else { CellValue::Empty },
                CellValue::Text(String::new()),
            ]
        })
        .collect();
    OfficialSheet {
        sheet_name: Some("医療機関確認用".into()),
        title: "医療機関におけるサイバーセキュリティ対策チェックリスト".into(),
        notes: vec!["※ 1回目の確認で「いいえ」の場合は、目標日を記入してください。".into()],
        columns,
        rows,
        landscape: false,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let doc = fixtures::bcp_doc(false);
    let chart = fixtures::chart35();

    let t = Instant::now();
    let renderer = PdfRenderer::new()?;
    let t_new = t.elapsed();
    let t = Instant::now();
    let first = doc.to_pdf(&renderer)?;
    let t_first = t.elapsed();
    let pages = renderer.page_count(mamori_report::DOC_TYP, &[], doc.template_inputs()?)?;

    // Warm = same renderer and template, different data each time (typst memoises identical
    // input, which would make a repeated render look unrealistically fast).
    let runs = 10;
    let mut warm_doc = Vec::new();
    for i in 0..runs {
        let mut d = doc.clone();
        d.date = Some(format!("2026年11月{}日 作成", i + 1));
        let t = Instant::now();
        d.to_pdf(&renderer)?;
        warm_doc.push(t.elapsed());
    }
    let mut same_doc = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        doc.to_pdf(&renderer)?;
        same_doc.push(t.elapsed());
    }
    let mut svg_times = Vec::new();
    let mut svg = String::new();
    for _ in 0..runs {
        let t = Instant::now();
        svg = chart.to_svg()?;
        svg_times.push(t.elapsed());
    }
    let mut chart_pdf_times = Vec::new();
    let mut chart_pdf = Vec::new();
    for i in 0..runs {
        let mut c = chart.clone();
        c.nodes[0].phone = Some(format!("内線 {}", 100 + i));
        let t = Instant::now();
        chart_pdf = c.to_pdf(&renderer)?;
        chart_pdf_times.push(t.elapsed());
    }
    let sheet = sheet200();
    let mut xlsx_times = Vec::new();
    let mut xlsx = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        xlsx = write_xlsx(std::slice::from_ref(&sheet))?;
        xlsx_times.push(t.elapsed());
    }
    let mut sheet_pdf_times = Vec::new();
    let mut sheet_pdf = Vec::new();
    for i in 0..runs {
        let mut sh = sheet.clone();
        sh.notes.push(format!("出力 {i}"));
        let t = Instant::now();
        sheet_pdf = mamori_report::sheets_to_pdf(std::slice::from_ref(&sh), fixtures::FACILITY, &renderer)?;
        sheet_pdf_times.push(t.elapsed());
    }
    let doc_img = fixtures::bcp_doc(true);
    let mut docx_times = Vec::new();
    let mut docx = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        docx = doc_img.to_docx()?;
        docx_times.push(t.elapsed());
    }

    println!("mamori-report bench ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("PdfRenderer::new (fonts, book)       {}", ms(t_new));
    println!("first PDF, cold ({pages} pages)         {}  ({} bytes)", ms(t_first), first.len());
    println!("warm PDF ({pages} pages, new data), median of {runs}  {}", ms(median(warm_doc)));
    println!("same PDF again (memoised), median     {}", ms(median(same_doc)));
    println!("chart SVG (35 boxes), median          {}  ({} bytes)", ms(median(svg_times)), svg.len());
    let layout = chart.layout()?;
    let scale = (281.0 / layout.width).min(190.0 / layout.height).min(1.0);
    println!(
        "chart {:.0} x {:.0} mm, on A4 landscape x{:.2}: box text {:.1} pt",
        layout.width,
        layout.height,
        scale,
        mamori_report::CHART_TEXT_MM * scale / 0.3528
    );
    println!("chart one-page PDF, warm, new data    {}  ({} bytes)", ms(median(chart_pdf_times)), chart_pdf.len());
    println!("xlsx 200 rows, median                 {}  ({} bytes)", ms(median(xlsx_times)), xlsx.len());
    println!("sheet PDF 200 rows, warm, new data    {}  ({} bytes)", ms(median(sheet_pdf_times)), sheet_pdf.len());
    println!("docx with chart image, median         {}  ({} bytes)", ms(median(docx_times)), docx.len());

    if let Some(dir) = out {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(format!("{dir}/bcp.pdf"), doc_img.to_pdf(&renderer)?)?;
        std::fs::write(format!("{dir}/bcp.docx"), docx)?;
        std::fs::write(format!("{dir}/chart.svg"), svg)?;
        std::fs::write(format!("{dir}/chart.pdf"), chart_pdf)?;
        std::fs::write(format!("{dir}/checklist.xlsx"), xlsx)?;
        std::fs::write(format!("{dir}/checklist.pdf"), sheet_pdf)?;
        println!("files written to {dir}");
    }
    Ok(())
}
