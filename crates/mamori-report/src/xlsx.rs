//! Official-looking .xlsx sheets (like the MHLW checklist): merged title row, notes, a bordered
//! header row repeated on every printed page, bordered rows, はい/いいえ drop-downs, date columns,
//! A4 fit to width, Japanese font.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DataValidation, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use serde::{Deserialize, Serialize};

use crate::ReportError;

/// Font used for every cell. Ships with Windows 10 (1809) and later; other systems substitute.
pub const XLSX_FONT: &str = "BIZ UDPゴシック";
/// The two values of a [`ColumnKind::YesNo`] column, exactly as the checklist writes them.
pub const YES: &str = "はい";
pub const NO: &str = "いいえ";

/// One worksheet in the official layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialSheet {
    /// Tab name; `None` uses the title. Cut to 31 characters, characters Excel forbids become "_".
    pub sheet_name: Option<String>,
    /// Title, merged across all columns in row 1.
    pub title: String,
    /// Notes under the title, one merged row each.
    pub notes: Vec<String>,
    pub columns: Vec<Column>,
    /// Data rows; each row has at most `columns.len()` cells (missing cells stay empty but bordered).
    pub rows: Vec<Vec<CellValue>>,
    /// Print A4 landscape instead of portrait.
    pub landscape: bool,
}

/// A column of an [`OfficialSheet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    /// Width in Excel character units (a full-width character is about 2 units).
    pub width: f64,
    pub kind: ColumnKind,
}

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    /// Wrapped text, top-aligned.
    Text,
    /// A real Excel date shown as yyyy/mm/dd.
    Date,
    /// Centered はい/いいえ with a drop-down list on every data row.
    YesNo,
}

/// A cell value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CellValue {
    Empty,
    Text(String),
    Date(NaiveDate),
    /// はい (true) / いいえ (false).
    YesNo(bool),
}

impl From<&str> for CellValue {
    fn from(s: &str) -> Self {
        CellValue::Text(s.to_string())
    }
}

impl From<String> for CellValue {
    fn from(s: String) -> Self {
        CellValue::Text(s)
    }
}

impl From<Option<NaiveDate>> for CellValue {
    fn from(d: Option<NaiveDate>) -> Self {
        d.map_or(CellValue::Empty, CellValue::Date)
    }
}

impl From<Option<bool>> for CellValue {
    fn from(b: Option<bool>) -> Self {
        b.map_or(CellValue::Empty, CellValue::YesNo)
    }
}

/// Row index (0-based) of the header row of a sheet: title, notes, one blank row, header.
pub fn header_row(sheet: &OfficialSheet) -> u32 {
    1 + sheet.notes.len() as u32 + 1
}

/// The typst template that prints [`OfficialSheet`]s.
pub const SHEET_TYP: &str = include_str!("../templates/sheet.typ");

/// The same sheets as a PDF for printing: each sheet starts on a new A4 page (portrait or
/// landscape as set), the header row repeats on every page, はい/いいえ and dates (yyyy/mm/dd)
/// are centred. `facility_name` goes into the page header.
pub fn sheets_to_pdf(
    sheets: &[OfficialSheet],
    facility_name: &str,
    renderer: &crate::PdfRenderer,
) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::with_capacity(sheets.len());
    for sheet in sheets {
        validate(sheet)?;
        let n = sheet.columns.len();
        let rows: Vec<Vec<String>> = sheet
            .rows
            .iter()
            .map(|r| {
                (0..n)
                    .map(|i| match r.get(i) {
                        None | Some(CellValue::Empty) => String::new(),
                        Some(CellValue::Text(t)) => t.clone(),
                        Some(CellValue::Date(d)) => d.format("%Y/%m/%d").to_string(),
                        Some(CellValue::YesNo(b)) => (if *b { YES } else { NO }).to_string(),
                    })
                    .collect()
            })
            .collect();
        out.push(serde_json::json!({
            "title": sheet.title,
            "notes": sheet.notes,
            "landscape": sheet.landscape,
            "columns": sheet.columns.iter().map(|c| serde_json::json!({
                "header": c.header,
                "width": c.width.max(1.0),
                "kind": format!("{:?}", c.kind),
            })).collect::<Vec<_>>(),
            "rows": rows,
        }));
    }
    let title = sheets.first().map(|s| s.title.clone()).unwrap_or_default();
    renderer.render(
        SHEET_TYP,
        &[],
        serde_json::json!({ "title": title, "facility_name": facility_name, "sheets": out }),
    )
}

/// Writes the sheets into one workbook and returns the .xlsx bytes.
pub fn write_xlsx(sheets: &[OfficialSheet]) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    let mut used_names: Vec<String> = Vec::new();
    for sheet in sheets {
        validate(sheet)?;
        let name = unique_name(sheet_name(sheet), &used_names);
        used_names.push(name.clone());
        let ws = workbook.add_worksheet();
        ws.set_name(&name)?;
        write_sheet(ws, sheet)?;
    }
    Ok(workbook.save_to_buffer()?)
}

fn validate(sheet: &OfficialSheet) -> Result<(), ReportError> {
    let err = |what: String| ReportError::Sheet { sheet: sheet.title.clone(), what };
    if sheet.columns.is_empty() {
        return Err(err("列がありません / no columns".into()));
    }
    if sheet.columns.len() > 16_384 || sheet.rows.len() > 1_000_000 {
        return Err(err("Excel の上限を超えています / exceeds Excel limits".into()));
    }
    for (i, row) in sheet.rows.iter().enumerate() {
        if row.len() > sheet.columns.len() {
            return Err(err(format!(
                "{}行目のセル数 {} が列数 {} を超えています / row {} has {} cells but there are {} columns",
                i + 1,
                row.len(),
                sheet.columns.len(),
                i + 1,
                row.len(),
                sheet.columns.len()
            )));
        }
    }
    Ok(())
}

fn sheet_name(sheet: &OfficialSheet) -> String {
    let raw = sheet.sheet_name.as_deref().unwrap_or(&sheet.title);
    let cleaned: String = raw
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect::<String>()
        .trim_matches('\'')
        .chars()
        .take(31)
        .collect();
    if cleaned.trim().is_empty() { "Sheet".to_string() } else { cleaned }
}

fn unique_name(name: String, used: &[String]) -> String {
    let taken = |n: &str| used.iter().any(|u| u.to_lowercase() == n.to_lowercase());
    if !taken(&name) {
        return name;
    }
    for i in 2.. {
        let suffix = format!("({i})");
        let base: String = name.chars().take(31 - suffix.chars().count()).collect();
        let candidate = format!("{base}{suffix}");
        if !taken(&candidate) {
            return candidate;
        }
    }
    unreachable!("some suffix is always free")
}

/// Width of text in Excel column units at 10 pt (full-width ≈ 2, ASCII ≈ 1.1).
fn text_units(line: &str) -> f64 {
    line.chars().map(|c| if c.is_ascii() { 1.1 } else { 2.0 }).sum()
}

/// Lines the tallest cell of a row needs when wrapped to its column width.
fn row_lines<'a>(cells: impl Iterator<Item = (&'a str, f64)>) -> f64 {
    cells
        .map(|(text, width)| {
            let usable = (width - 1.0).max(1.0);
            text.split('\n').map(|l| (text_units(l) / usable).ceil().max(1.0)).sum::<f64>()
        })
        .fold(1.0, f64::max)
}

fn base() -> Format {
    Format::new().set_font_name(XLSX_FONT).set_font_size(10)
}

fn write_sheet(ws: &mut Worksheet, sheet: &OfficialSheet) -> Result<(), ReportError> {
    let ncols = sheet.columns.len() as u16;
    let last_col = ncols - 1;

    let title_fmt =
        base().set_bold().set_font_size(14).set_align(FormatAlign::Center).set_align(FormatAlign::VerticalCenter);
    let note_fmt = base().set_text_wrap().set_align(FormatAlign::Top).set_font_size(9);
    let head_fmt = base()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(0xE6E6E6)
        .set_border(FormatBorder::Thin);
    let text_fmt = base().set_text_wrap().set_align(FormatAlign::Top).set_border(FormatBorder::Thin);
    let center_fmt = base().set_align(FormatAlign::Center).set_align(FormatAlign::Top).set_border(FormatBorder::Thin);
    let date_fmt = center_fmt.clone().set_num_format("yyyy/mm/dd");

    let merged = |ws: &mut Worksheet, row: u32, text: &str, fmt: &Format| -> Result<(), ReportError> {
        if last_col == 0 {
            ws.write_string_with_format(row, 0, text, fmt)?;
        } else {
            ws.merge_range(row, 0, row, last_col, text, fmt)?;
        }
        Ok(())
    };

    merged(ws, 0, &sheet.title, &title_fmt)?;
    ws.set_row_height(0, 24)?;
    let total_width: f64 = sheet.columns.iter().map(|c| c.width.max(1.0)).sum();
    for (i, note) in sheet.notes.iter().enumerate() {
        let row = 1 + i as u32;
        merged(ws, row, note, &note_fmt)?;
        // Merged cells do not grow with wrapped text; estimate the lines (a full-width char ≈ 2 units).
        ws.set_row_height(row, 13.5 * row_lines(std::iter::once((note.as_str(), total_width))))?;
    }

    let hrow = header_row(sheet);
    for (c, col) in sheet.columns.iter().enumerate() {
        let c = c as u16;
        ws.set_column_width(c, col.width.max(1.0))?;
        ws.write_string_with_format(hrow, c, &col.header, &head_fmt)?;
    }

    let first = hrow + 1;
    ws.set_row_height(hrow, 13.5 * row_lines(sheet.columns.iter().map(|c| (c.header.as_str(), c.width))) + 4.0)?;
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = first + r as u32;
        // Spreadsheet programs do not grow rows for wrapped text on opening; set the height.
        let texts = row.iter().zip(&sheet.columns).filter_map(|(v, c)| match v {
            CellValue::Text(t) => Some((t.as_str(), c.width)),
            _ => None,
        });
        ws.set_row_height(r, 13.5 * row_lines(texts) + 3.0)?;
        for (c, col) in sheet.columns.iter().enumerate() {
            let cell = row.get(c).unwrap_or(&CellValue::Empty);
            let c = c as u16;
            let fmt = match col.kind {
                ColumnKind::Text => &text_fmt,
                ColumnKind::Date => &date_fmt,
                ColumnKind::YesNo => &center_fmt,
            };
            match cell {
                CellValue::Empty => {
                    ws.write_blank(r, c, fmt)?;
                }
                CellValue::Text(s) => {
                    ws.write_string_with_format(r, c, s, fmt)?;
                }
                CellValue::Date(d) => {
                    // Excel dates run from 1900 to 9999.
                    let dt = u16::try_from(d.year())
                        .ok()
                        .filter(|y| (1900..=9999).contains(y))
                        .and_then(|y| ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok())
                        .ok_or_else(|| ReportError::Sheet {
                            sheet: sheet.title.clone(),
                            what: format!(
                                "{}行目「{}」の日付 {d} は Excel で扱えません（1900〜9999年） / date {d} in row {}, column {:?} is outside 1900–9999",
                                r - first + 1,
                                col.header,
                                r - first + 1,
                                col.header
                            ),
                        })?;
                    ws.write_datetime_with_format(r, c, &dt, &date_fmt)?;
                }
                CellValue::YesNo(b) => {
                    ws.write_string_with_format(r, c, if *b { YES } else { NO }, &center_fmt)?;
                }
            }
        }
    }
    let last = first + (sheet.rows.len() as u32).max(1) - 1;
    for (c, col) in sheet.columns.iter().enumerate() {
        if col.kind == ColumnKind::YesNo {
            let dv = DataValidation::new()
                .allow_list_strings(&[YES, NO])?
                .set_error_title("入力値 / value")?
                .set_error_message("「はい」か「いいえ」を選んでください / choose はい or いいえ")?;
            ws.add_data_validation(first, c as u16, last, c as u16, &dv)?;
        }
    }

    ws.set_paper_size(9); // A4
    if sheet.landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    ws.set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_repeat_rows(hrow, hrow)?;
    ws.set_freeze_panes(first, 0)?;
    ws.set_footer("&C&P / &N");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(title: &str, name: Option<&str>) -> OfficialSheet {
        OfficialSheet {
            sheet_name: name.map(str::to_string),
            title: title.into(),
            notes: vec![],
            columns: vec![Column { header: "a".into(), width: 10.0, kind: ColumnKind::Text }],
            rows: vec![],
            landscape: false,
        }
    }

    #[test]
    fn sheet_names_are_cleaned_cut_and_unique() {
        assert_eq!(sheet_name(&sheet("a/b:c", None)), "a_b_c");
        let long = "医療機関におけるサイバーセキュリティ対策チェックリスト（医療機関確認用）";
        assert_eq!(sheet_name(&sheet(long, None)).chars().count(), 31);
        assert_eq!(sheet_name(&sheet("t", Some("  "))), "Sheet");
        let used = vec!["確認表".to_string(), "確認表(2)".to_string()];
        assert_eq!(unique_name("確認表".into(), &used), "確認表(3)");
    }

    #[test]
    fn row_lines_counts_wrapped_and_explicit_lines() {
        // 10 full-width characters need 20 units: two lines in a column of 11 units.
        assert_eq!(row_lines(std::iter::once(("あいうえおかきくけこ", 11.0))), 2.0);
        assert_eq!(row_lines(std::iter::once(("a\nb\nc", 10.0))), 3.0);
        assert_eq!(row_lines([("短い", 10.0), ("あいうえおかきくけこさしすせそ", 9.0)].into_iter()), 4.0);
        assert_eq!(row_lines(std::iter::empty()), 1.0);
    }

    #[test]
    fn dates_excel_cannot_hold_are_refused_not_changed() {
        let mut s = sheet("t", None);
        s.columns[0].kind = ColumnKind::Date;
        s.rows = vec![vec![CellValue::Date(NaiveDate::from_ymd_opt(1868, 10, 23).unwrap())]];
        let e = write_xlsx(&[s]).unwrap_err().to_string();
        assert!(e.contains("1行目") && e.contains("1868-10-23"), "{e}");
    }

    #[test]
    fn row_wider_than_columns_is_rejected_with_its_number() {
        let mut s = sheet("t", None);
        s.rows = vec![vec!["x".into()], vec!["x".into(), "y".into()]];
        let e = validate(&s).unwrap_err().to_string();
        assert!(e.contains("2行目"), "{e}");
    }
}
