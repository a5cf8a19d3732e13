//! Flat tables as hospitals keep them: CSV in UTF-8, UTF-8 with BOM or Shift_JIS/CP932 (what Japanese Excel
//! writes), and .xlsx workbooks — read into a [`RawTable`] and written back with the same columns.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use encoding_rs::{SHIFT_JIS, UTF_8};
pub use mamori_model::import::{RawRow, RawTable};

#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    #[error("{file}: ファイルを読めません / cannot read the file: {reason}")]
    Io { file: String, reason: String },
    #[error(
        "{file}: 文字コードを判別できません（{line}行目付近）。UTF-8 か Shift_JIS(CP932) で保存し直してください / cannot tell the text encoding (near line {line}); save the file as UTF-8 or Shift_JIS"
    )]
    Encoding { file: String, line: usize },
    #[error(
        "{file}: CSVとして読めません（{line}行目）: {reason}。区切り文字と引用符（\"）の対応を確認してください / not valid CSV at line {line}"
    )]
    Csv { file: String, line: usize, reason: String },
    #[error(
        "{file}: Excelファイル（.xlsx）として読めません: {reason}。Excelで開けるか確認し、.xlsx で保存し直してください / not a readable .xlsx file"
    )]
    Xlsx { file: String, reason: String },
    #[error("{file}: シート「{sheet}」がありません（あるシート: {available}）/ no such sheet")]
    NoSheet { file: String, sheet: String, available: String },
    #[error(
        "{file}: 対応していない形式です（.csv / .txt / .xlsx のみ）。Excelの「名前を付けて保存」で .xlsx か CSV にしてください / unsupported file type"
    )]
    Unsupported { file: String },
    #[error(
        "{row}行目「{column}」の文字「{ch}」は Shift_JIS(CP932) で表せません。UTF-8 の CSV か .xlsx で出力してください / character not representable in CP932 (row {row}, column {column}); export as UTF-8 CSV or .xlsx"
    )]
    NotCp932 { row: usize, column: String, ch: char },
    #[error("xlsx の書き出しに失敗しました / writing the .xlsx failed: {0}")]
    XlsxWrite(String),
}

/// How the bytes of a CSV file are to be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// BOM → UTF-8; valid UTF-8 → UTF-8; otherwise Shift_JIS (CP932).
    #[default]
    Auto,
    Utf8,
    ShiftJis,
}

impl TextEncoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "utf8" | "utf-8" => Some(Self::Utf8),
            "sjis" | "shift_jis" | "shift-jis" | "cp932" | "windows-31j" => Some(Self::ShiftJis),
            _ => None,
        }
    }
}

/// Options for reading a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub encoding: TextEncoding,
    /// Sheet of a workbook; the first sheet when `None`.
    pub sheet: Option<String>,
}

/// Reads a CSV/TSV or .xlsx file by its extension (or its content when the extension says nothing).
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<RawTable, TabularError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| TabularError::Io { file: name.clone(), reason: e.to_string() })?;
    read_bytes(&bytes, &name, opts)
}

/// Reads a file's bytes; `name` is used for the format decision and messages.
pub fn read_bytes(bytes: &[u8], name: &str, opts: &ReadOptions) -> Result<RawTable, TabularError> {
    let lower = name.to_ascii_lowercase();
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") || is_zip {
        return read_xlsx(bytes, name, opts.sheet.as_deref());
    }
    if lower.ends_with(".xls") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(TabularError::Unsupported { file: name.into() });
    }
    read_csv(bytes, name, opts.encoding)
}

/// Decodes CSV text in the given or detected encoding.
pub fn decode_text(bytes: &[u8], name: &str, enc: TextEncoding) -> Result<String, TabularError> {
    let utf8_bom = bytes.starts_with(&[0xEF, 0xBB, 0xBF]);
    let use_sjis = match enc {
        TextEncoding::Utf8 => false,
        TextEncoding::ShiftJis => true,
        TextEncoding::Auto => !utf8_bom && std::str::from_utf8(bytes).is_err(),
    };
    let body = if utf8_bom { &bytes[3..] } else { bytes };
    let encoding = if use_sjis { SHIFT_JIS } else { UTF_8 };
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        // Report the line of the first undecodable byte sequence.
        let line = match text.find('\u{FFFD}') {
            Some(pos) => text[..pos].matches('\n').count() + 1,
            None => 1,
        };
        return Err(TabularError::Encoding { file: name.into(), line });
    }
    Ok(text.into_owned())
}

fn read_csv(bytes: &[u8], name: &str, enc: TextEncoding) -> Result<RawTable, TabularError> {
    let text = decode_text(bytes, name, enc)?;
    // Tab-separated when the first line has tabs and no commas.
    let first = text.lines().next().unwrap_or("");
    let delim = if first.contains('\t') && !first.contains(',') { b'\t' } else { b',' };
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delim).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    // Line numbers are counted from byte offsets: the reader's own count is off by one after CRLF.
    let bytes_of_text = text.as_bytes();
    let (mut counted_to, mut line_at) = (0usize, 1usize);
    let mut line_of = |byte: usize| {
        let byte = byte.min(bytes_of_text.len());
        if byte > counted_to {
            line_at += bytes_of_text[counted_to..byte].iter().filter(|b| **b == b'\n').count();
            counted_to = byte;
        }
        line_at
    };
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let mut byte = rec.position().map(|p| p.byte() as usize).unwrap_or(0);
                // A record "starts" at the LF left over from the previous CRLF: skip it.
                while bytes_of_text.get(byte).is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    byte += 1;
                }
                let line = line_of(byte);
                rows.push(RawRow { line, cells: rec.iter().map(str::to_string).collect() });
            }
            Err(e) => {
                let line = e.position().map(|p| line_of(p.byte() as usize)).unwrap_or(rows.len() + 1);
                return Err(TabularError::Csv { file: name.into(), line, reason: e.to_string() });
            }
        }
    }
    Ok(RawTable { source: name.into(), sheet: None, rows })
}

fn read_xlsx(bytes: &[u8], name: &str, sheet: Option<&str>) -> Result<RawTable, TabularError> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TabularError::Xlsx { file: name.into(), reason: e.to_string() })?;
    let names = wb.sheet_names();
    let sheet_name = match sheet {
        Some(s) => {
            if !names.iter().any(|n| n == s) {
                return Err(TabularError::NoSheet { file: name.into(), sheet: s.into(), available: names.join("、") });
            }
            s.to_string()
        }
        None => {
            names.first().cloned().ok_or_else(|| TabularError::Xlsx {
                file: name.into(),
                reason: "シートがありません / no sheet".into(),
            })?
        }
    };
    let range =
        wb.worksheet_range(&sheet_name).map_err(|e| TabularError::Xlsx { file: name.into(), reason: e.to_string() })?;
    let (row0, col0) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
    let mut rows = Vec::with_capacity(range.height());
    for (i, r) in range.rows().enumerate() {
        let mut cells = vec![String::new(); col0];
        cells.extend(r.iter().map(cell_text));
        rows.push(RawRow { line: row0 + i + 1, cells });
    }
    Ok(RawTable { source: name.into(), sheet: Some(sheet_name), rows })
}

/// Text of a workbook cell as a person would read it: integers without ".0", dates as YYYY-MM-DD.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// How a CSV export is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFlavor {
    /// UTF-8 with BOM: Excel opens it correctly and it keeps every character.
    Utf8Bom,
    /// Shift_JIS (CP932) for older tools; fails on characters it cannot represent (e.g. 𠮷).
    Cp932,
}

/// Writes a CSV with CRLF line ends (what Excel writes).
pub fn write_csv(headers: &[&str], rows: &[Vec<String>], flavor: CsvFlavor) -> Result<Vec<u8>, TabularError> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let io = |e: csv::Error| TabularError::Io { file: "csv".into(), reason: e.to_string() };
    w.write_record(headers).map_err(io)?;
    for r in rows {
        w.write_record(r).map_err(io)?;
    }
    let utf8 = w.into_inner().map_err(|e| TabularError::Io { file: "csv".into(), reason: e.to_string() })?;
    match flavor {
        CsvFlavor::Utf8Bom => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            out.extend_from_slice(&utf8);
            Ok(out)
        }
        CsvFlavor::Cp932 => {
            let text = String::from_utf8(utf8).expect("csv writes utf-8");
            let (bytes, _, had_errors) = SHIFT_JIS.encode(&text);
            if had_errors {
                for (ri, r) in rows.iter().enumerate() {
                    for (ci, cell) in r.iter().enumerate() {
                        for ch in cell.chars() {
                            let mut buf = [0u8; 4];
                            if SHIFT_JIS.encode(ch.encode_utf8(&mut buf)).2 {
                                return Err(TabularError::NotCp932 {
                                    row: ri + 2,
                                    column: headers.get(ci).unwrap_or(&"").to_string(),
                                    ch,
                                });
                            }
                        }
                    }
                }
            }
            Ok(bytes.into_owned())
        }
    }
}

/// Writes one sheet with a bold, frozen header row, auto-filter and text cells (so 001 stays 001).
pub fn write_xlsx(sheet: &str, headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, TabularError> {
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| TabularError::XlsxWrite(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(err)?;
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color("D9E1F2")
        .set_font_name("BIZ UDPGothic");
    let body = Format::new().set_font_name("BIZ UDPGothic").set_text_wrap();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head).map_err(err)?;
        let width = rows
            .iter()
            .take(200)
            .map(|r| r.get(c).map(|s| display_width(s)).unwrap_or(0))
            .max()
            .unwrap_or(0)
            .max(display_width(h));
        ws.set_column_width(c as u16, (width as f64 + 2.0).clamp(6.0, 50.0)).map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string_with_format(r as u32 + 1, c as u16, v, &body).map_err(err)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    if !headers.is_empty() {
        ws.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

/// Rough display width: wide (CJK) characters count two.
fn display_width(s: &str) -> usize {
    s.lines().next().unwrap_or("").chars().map(|c| if (c as u32) < 0x1100 { 1 } else { 2 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        let text = "管理番号,メーカー\r\n001,Ａ社\r\n";
        let sjis = SHIFT_JIS.encode(text).0.into_owned();
        for (bytes, what) in [
            (text.as_bytes().to_vec(), "utf8"),
            ([&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(), "bom"),
            (sjis, "sjis"),
        ] {
            let t = read_bytes(&bytes, "a.csv", &ReadOptions::default()).unwrap();
            assert_eq!(t.rows[0].cells[0], "管理番号", "{what}");
            assert_eq!(t.rows[1].cells[1], "Ａ社", "{what}");
            assert_eq!(t.rows[1].line, 2);
        }
    }

    #[test]
    fn garbage_is_an_encoding_error_with_a_line() {
        let mut bytes = "a,b\r\nc,d\r\n".as_bytes().to_vec();
        bytes.extend_from_slice(&[0x82, 0xFF, 0xFF]);
        let e = read_bytes(&bytes, "x.csv", &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, TabularError::Encoding { line: 3, .. }), "{e}");
    }

    #[test]
    fn cp932_export_refuses_what_it_cannot_hold() {
        let rows = vec![vec!["1".to_string(), "𠮷田".to_string()]];
        let e = write_csv(&["no", "名"], &rows, CsvFlavor::Cp932).unwrap_err();
        assert!(matches!(e, TabularError::NotCp932 { row: 2, ch: '𠮷', .. }), "{e}");
        let ok = write_csv(&["no", "名"], &[vec!["1".into(), "吉田".into()]], CsvFlavor::Cp932).unwrap();
        let back = read_bytes(&ok, "b.csv", &ReadOptions::default()).unwrap();
        assert_eq!(back.rows[1].cells[1], "吉田");
    }

    #[test]
    fn xlsx_round_trip() {
        let rows = vec![vec!["001".to_string(), "複数行\nのセル".to_string(), String::new()]];
        let bytes = write_xlsx("機器台帳", &["管理番号", "説明", "空"], &rows).unwrap();
        let t = read_bytes(&bytes, "o.xlsx", &ReadOptions::default()).unwrap();
        assert_eq!(t.sheet.as_deref(), Some("機器台帳"));
        assert_eq!(t.rows[1].cells[0], "001");
        assert_eq!(t.rows[1].cells[1], "複数行\nのセル");
        assert!(matches!(
            read_bytes(&bytes, "o.xlsx", &ReadOptions { sheet: Some("x".into()), ..Default::default() }),
            Err(TabularError::NoSheet { .. })
        ));
        assert!(matches!(
            read_bytes(b"PK\x03\x04garbage", "o.xlsx", &ReadOptions::default()),
            Err(TabularError::Xlsx { .. })
        ));
    }
}
