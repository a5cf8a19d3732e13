//! Official-looking .xlsx, read back with calamine; print setup and drop-downs from the sheet XML.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use mamori_report::{CellValue, Column, ColumnKind, OfficialSheet, ReportError, header_row, write_xlsx};

fn checklist() -> OfficialSheet {
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    OfficialSheet {
        sheet_name: Some("医療機関確認用".into()),
        title: "令和6年度版 医療機関におけるサイバーセキュリティ対策チェックリスト".into(),
        notes: vec![
            "※ 1回目の確認で「いいえ」の場合は、令和6年度中の対応目標日を記入してください。".into(),
            "施設名: さくら総合病院".into(),
        ],
        columns: vec![
            Column { header: "番号".into(), width: 7.0, kind: ColumnKind::Text },
            Column { header: "チェック項目".into(), width: 48.0, kind: ColumnKind::Text },
            Column { header: "1回目".into(), width: 8.0, kind: ColumnKind::YesNo },
            Column { header: "確認日".into(), width: 12.0, kind: ColumnKind::Date },
            Column { header: "目標日".into(), width: 12.0, kind: ColumnKind::Date },
            Column { header: "備考".into(), width: 24.0, kind: ColumnKind::Text },
        ],
        rows: vec![
            vec![
                "1-(1)".into(),
                "医療情報システム安全管理責任者を設置している。".into(),
                CellValue::YesNo(true),
                CellValue::Date(d(6, 3)),
                CellValue::Empty,
                "".into(),
            ],
            vec![
                "2-(1)".into(),
                "医療情報システム全般について、以下を実施している。\n・サーバ、端末PC、ネットワーク機器の台帳管理"
                    .into(),
                CellValue::YesNo(false),
                CellValue::Date(d(6, 3)),
                CellValue::Date(d(12, 25)),
                "機器台帳を整備中 & 来月完了".into(),
            ],
            // A short row: the rest stays empty but bordered.
            vec!["2-(2)".into()],
        ],
        landscape: true,
    }
}

fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn checklist_sheet_round_trips_through_calamine_cell_by_cell() {
    let sheet = checklist();
    let bytes = write_xlsx(std::slice::from_ref(&sheet)).expect("xlsx");
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.clone())).expect("opens");
    assert_eq!(wb.sheet_names(), vec!["医療機関確認用".to_string()]);
    let range = wb.worksheet_range("医療機関確認用").unwrap();
    let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    let s = |v: &str| Data::String(v.to_string());
    assert_eq!(cell(0, 0), s(&sheet.title));
    assert_eq!(cell(1, 0), s(&sheet.notes[0]));
    assert_eq!(cell(2, 0), s(&sheet.notes[1]));
    let h = header_row(&sheet);
    assert_eq!(h, 4);
    let headers: Vec<Data> = (0..6).map(|c| cell(h, c)).collect();
    assert_eq!(headers, ["番号", "チェック項目", "1回目", "確認日", "目標日", "備考"].map(s).to_vec());
    assert_eq!(cell(h + 1, 0), s("1-(1)"));
    assert_eq!(cell(h + 1, 2), s("はい"));
    assert_eq!(cell(h + 2, 2), s("いいえ"));
    assert_eq!(
        cell(h + 2, 1),
        s("医療情報システム全般について、以下を実施している。\n・サーバ、端末PC、ネットワーク機器の台帳管理")
    );
    assert_eq!(cell(h + 2, 5), s("機器台帳を整備中 & 来月完了"));
    // Dates are real dates, not text.
    let date = |v: Data| match v {
        // Excel serial day number: days since 1899-12-30.
        Data::DateTime(dt) => NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|e| e.checked_add_days(chrono::Days::new(dt.as_f64() as u64))),
        other => panic!("expected a date, got {other:?}"),
    };
    assert_eq!(date(cell(h + 1, 3)), NaiveDate::from_ymd_opt(2026, 6, 3));
    assert_eq!(date(cell(h + 2, 4)), NaiveDate::from_ymd_opt(2026, 12, 25));
    assert_eq!(cell(h + 3, 0), s("2-(2)"));
    assert_eq!(cell(h + 3, 2), Data::Empty);
    assert_eq!(cell(h + 1, 4), Data::Empty);
    assert_eq!(range.end(), Some((h + 3, 5)), "nothing beyond the table");

    let xml = sheet_xml(&bytes, 1);
    // Title merged over all six columns; はい/いいえ drop-down over the 1回目 data cells.
    assert!(xml.contains(r#"<mergeCell ref="A1:F1"/>"#), "{xml}");
    assert!(xml.contains(r#"sqref="C6:C8""#) && xml.contains("<formula1>\"はい,いいえ\"</formula1>"), "{xml}");
    // Rows are tall enough for their wrapped text: in row 7 the first line of 2-(1) (25 full-width
    // characters) wraps in the 48-unit column, plus the explicit second line: three lines.
    assert!(xml.contains(r#"<row r="6" spans="1:6" ht="16.5" customHeight="1">"#), "{xml}");
    assert!(xml.contains(r#"<row r="7" spans="1:6" ht="43.5" customHeight="1">"#), "{xml}");
    // A4 landscape, fit to one page wide, header row repeated on every page.
    assert!(xml.contains(r#"paperSize="9""#) && xml.contains(r#"orientation="landscape""#), "{xml}");
    assert!(xml.contains(r#"fitToHeight="0""#) && xml.contains(r#"<pageSetUpPr fitToPage="1"/>"#), "{xml}");
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut wbxml = String::new();
    zip.by_name("xl/workbook.xml").unwrap().read_to_string(&mut wbxml).unwrap();
    assert!(wbxml.contains("_xlnm.Print_Titles") && wbxml.contains("$5:$5"), "{wbxml}");
    let mut styles = String::new();
    zip.by_name("xl/styles.xml").unwrap().read_to_string(&mut styles).unwrap();
    assert!(styles.contains("BIZ UDPゴシック"));
}

#[test]
fn several_sheets_get_unique_valid_names() {
    let mut a = checklist();
    a.sheet_name = None;
    a.title = "確認表: 平時/検知".into();
    let b = a.clone();
    let bytes = write_xlsx(&[a, b]).unwrap();
    let wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec!["確認表_ 平時_検知".to_string(), "確認表_ 平時_検知(2)".to_string()]);
}

#[test]
fn inconsistent_sheet_is_refused_with_the_row_number() {
    let mut s = checklist();
    s.rows[1].push("余分".into());
    match write_xlsx(&[s]) {
        Err(ReportError::Sheet { what, .. }) => assert!(what.contains("2行目"), "{what}"),
        other => panic!("expected a sheet error, got {other:?}"),
    }
    let mut empty = checklist();
    empty.columns.clear();
    empty.rows.clear();
    assert!(matches!(write_xlsx(&[empty]), Err(ReportError::Sheet { .. })));
}

#[test]
fn portrait_sheet_with_no_rows_still_has_a_drop_down_row() {
    let mut s = checklist();
    s.rows.clear();
    s.landscape = false;
    let bytes = write_xlsx(&[s]).unwrap();
    let xml = sheet_xml(&bytes, 1);
    assert!(xml.contains(r#"orientation="portrait""#), "{xml}");
    assert!(xml.contains(r#"sqref="C6""#), "{xml}");
}

#[test]
fn sheets_print_as_pdf_with_the_header_row_on_every_page() {
    let mut sheet = checklist();
    // Enough rows for several pages.
    let row = sheet.rows[1].clone();
    sheet.rows.extend(std::iter::repeat_n(row, 60));
    let n_rows = sheet.rows.len();
    let pdf = mamori_report::sheets_to_pdf(&[sheet], "さくら総合病院", crate::helpers::renderer()).expect("pdf");
    let (pages, size) = crate::helpers::pdf_pages(&pdf);
    assert!(pages >= 2, "{pages} pages");
    assert!(size.contains("841.89 x 595.276"), "landscape: {size}");
    let text = crate::helpers::pdf_text_compact(&pdf);
    assert!(text.contains("令和6年度版医療機関におけるサイバーセキュリティ対策チェックリスト"));
    assert!(text.contains("さくら総合病院"));
    assert_eq!(text.matches("チェック項目").count(), pages, "header row repeated on every page");
    assert_eq!(text.matches("2026/06/03").count(), n_rows - 1);
    assert_eq!(text.matches("2026/12/25").count(), n_rows - 2);
    // Every row but the first and the short last one answers いいえ; the first note mentions it once.
    assert_eq!(text.matches("いいえ").count(), n_rows - 2 + 1);
    assert!(text.contains(&format!("{pages}/{pages}")));
}

#[test]
fn every_sheet_of_a_pdf_carries_its_own_title_in_the_running_header() {
    let mut a = checklist();
    a.title = "医療機関確認用チェックリスト".into();
    a.rows.truncate(2);
    let mut b = a.clone();
    b.title = "事業者確認用チェックリスト（A社）".into();
    let pdf = mamori_report::sheets_to_pdf(&[a, b], "さくら総合病院", crate::helpers::renderer()).expect("pdf");
    let text = crate::helpers::pdf_text(&pdf).replace([' ', '\n'], "");
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.is_empty()).collect();
    assert_eq!(pages.len(), 2, "{text}");
    // Title in the header and above the table: twice on its own page, never on the other sheet's.
    assert_eq!(pages[0].matches("医療機関確認用チェックリスト").count(), 2, "{}", pages[0]);
    assert!(!pages[0].contains("事業者確認用"), "{}", pages[0]);
    assert_eq!(pages[1].matches("事業者確認用チェックリスト（A社）").count(), 2, "{}", pages[1]);
    assert!(!pages[1].contains("医療機関確認用"), "{}", pages[1]);
}
