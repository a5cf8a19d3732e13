//! From a table read out of a hospital's own file to validated ledger records — all or nothing.
//!
//! The importer finds the header row, matches headers by their Japanese or English names (or a saved
//! mapping for odd headers), reads every row, and reports every problem with file, row, column, what is
//! wrong and how to fix it. Records are only handed on when the whole file is valid.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ledger::{ColumnDef, LedgerKind, LedgerRecord, RowReader};
use crate::text::{clean_cell, fold_key};

/// A table as read from a file, before any interpretation: every row with its 1-based row number.
#[derive(Debug, Clone, Default)]
pub struct RawTable {
    /// File name as the user gave it (for messages).
    pub source: String,
    /// Sheet name for workbooks.
    pub sheet: Option<String>,
    pub rows: Vec<RawRow>,
}

#[derive(Debug, Clone)]
pub struct RawRow {
    /// Row number in the file (1-based; for CSV the line the record starts on).
    pub line: usize,
    pub cells: Vec<String>,
}

/// Header → column mapping saved for a facility's odd headers (e.g. `資産ラベル` → `asset_no`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeaderMapping {
    pub entries: Vec<(String, String)>,
}

impl HeaderMapping {
    /// Parses `header=column_key` pairs as given on the command line.
    pub fn parse_pairs(kind: LedgerKind, pairs: &[String]) -> Result<Self, String> {
        let mut entries = Vec::new();
        for p in pairs {
            let (h, k) = p.split_once('=').ok_or_else(|| {
                format!(
                    "対応付け「{p}」は「見出し=列キー」の形で書いてください / write the mapping as HEADER=COLUMN_KEY"
                )
            })?;
            let col = kind.columns().iter().find(|c| c.key == k.trim() || c.ja == k.trim()).ok_or_else(|| {
                let keys: Vec<&str> = kind.columns().iter().map(|c| c.key).collect();
                format!(
                    "列キー「{k}」は{}にありません。使える列: {} / unknown column key",
                    kind.label_ja(),
                    keys.join(", ")
                )
            })?;
            entries.push((h.trim().to_string(), col.key.to_string()));
        }
        Ok(Self { entries })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a file: where, what, and what to do — in Japanese and English.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportIssue {
    pub severity: Severity,
    pub file: String,
    pub row: Option<usize>,
    /// The header as written in the file (or the expected column name when it is missing).
    pub column: Option<String>,
    /// Spreadsheet column letter (A, B, … AA).
    pub column_letter: Option<String>,
    pub value: String,
    pub message_ja: String,
    pub message_en: String,
    pub hint_ja: String,
    pub hint_en: String,
}

impl fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "エラー/error",
            Severity::Warning => "警告/warning",
        };
        write!(f, "{level}: {}", self.file)?;
        if let Some(r) = self.row {
            write!(f, " {r}行目/row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, " 列「{c}」")?;
            if let Some(l) = &self.column_letter {
                write!(f, "({l})")?;
            }
        }
        if !self.value.is_empty() {
            write!(f, " 値「{}」", self.value)?;
        }
        write!(f, ": {}", self.message_ja)?;
        if !self.hint_ja.is_empty() {
            write!(f, " → {}", self.hint_ja)?;
        }
        write!(f, " / {}", self.message_en)?;
        if !self.hint_en.is_empty() {
            write!(f, " → {}", self.hint_en)?;
        }
        Ok(())
    }
}

/// The outcome of reading a file: records ready to write, or the reasons they are not.
#[derive(Debug, Clone)]
pub struct ImportPlan<T> {
    pub kind: LedgerKind,
    pub source: String,
    pub header_row: Option<usize>,
    /// (header in the file, column key) for every recognised column.
    pub columns_found: Vec<(String, &'static str)>,
    pub records: Vec<(usize, T)>,
    pub issues: Vec<ImportIssue>,
}

impl<T> ImportPlan<T> {
    pub fn errors(&self) -> impl Iterator<Item = &ImportIssue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
    pub fn error_count(&self) -> usize {
        self.errors().count()
    }
    /// Nothing may be written unless this holds.
    pub fn is_valid(&self) -> bool {
        self.error_count() == 0
    }
}

/// Spreadsheet letter of a 0-based column index: 0 → A, 25 → Z, 26 → AA.
pub fn column_letter(mut idx: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

fn match_header(kind: LedgerKind, header: &str, mapping: &HeaderMapping) -> Option<&'static ColumnDef> {
    let folded = fold_key(header);
    if folded.is_empty() {
        return None;
    }
    if let Some((_, key)) = mapping.entries.iter().find(|(h, _)| fold_key(h) == folded) {
        return kind.column(key);
    }
    kind.columns().iter().find(|c| c.names().any(|n| fold_key(n) == folded))
}

/// How many rows at the top of a file may precede the header row (titles, notes).
const HEADER_SEARCH_ROWS: usize = 20;

/// Reads the table into records of ledger `T`, checking everything; see [`ImportPlan::is_valid`].
pub fn plan<T: LedgerRecord>(table: RawTable, mapping: &HeaderMapping) -> ImportPlan<T> {
    let kind = T::KIND;
    let cols = kind.columns();
    let file = match &table.sheet {
        Some(s) => format!("{} [{}]", table.source, s),
        None => table.source.clone(),
    };
    let mut plan = ImportPlan {
        kind,
        source: file.clone(),
        header_row: None,
        columns_found: Vec::new(),
        records: Vec::new(),
        issues: Vec::new(),
    };
    let file_issue = |msg_ja: String, msg_en: String, hint_ja: String, hint_en: String| ImportIssue {
        severity: Severity::Error,
        file: file.clone(),
        row: None,
        column: None,
        column_letter: None,
        value: String::new(),
        message_ja: msg_ja,
        message_en: msg_en,
        hint_ja,
        hint_en,
    };

    // The header row is the one among the first rows that names the most known columns.
    let header_idx = table
        .rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, r)| (i, r.cells.iter().filter(|c| match_header(kind, c, mapping).is_some()).count()))
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    let Some(header_idx) = header_idx else {
        let msg = if table.rows.iter().all(|r| r.cells.iter().all(|c| c.trim().is_empty())) {
            ("ファイルが空です".to_string(), "the file is empty".to_string())
        } else {
            (
                format!("{}の見出し行が見つかりません", kind.label_ja()),
                format!("no header row of the {} found", kind.label_en()),
            )
        };
        let expected: Vec<&str> = cols.iter().map(|c| c.ja).collect();
        plan.issues.push(file_issue(
            msg.0,
            msg.1,
            format!("先頭行に見出し（{}）を置いてください", expected.join("、")),
            "put a header row with the column names at the top".into(),
        ));
        return plan;
    };
    let header = table.rows[header_idx].clone();
    plan.header_row = Some(header.line);

    // Column index in the file for each ledger column.
    let mut positions: Vec<Option<usize>> = vec![None; cols.len()];
    for (i, h) in header.cells.iter().enumerate() {
        let h_clean = clean_cell(h);
        match match_header(kind, &h_clean, mapping) {
            Some(col) => {
                let ci = cols.iter().position(|c| c.key == col.key).expect("column of this ledger");
                if let Some(prev) = positions[ci] {
                    plan.issues.push(ImportIssue {
                        row: Some(header.line),
                        column: Some(h_clean.clone()),
                        column_letter: Some(column_letter(i)),
                        message_ja: format!("列「{}」が{}列目と重複しています", col.ja, column_letter(prev)),
                        message_en: format!("column '{}' appears twice", col.en),
                        hint_ja: "どちらかの見出しを変えるか削除してください".into(),
                        hint_en: "rename or remove one of them".into(),
                        ..file_issue(String::new(), String::new(), String::new(), String::new())
                    });
                } else {
                    positions[ci] = Some(i);
                    plan.columns_found.push((h_clean, col.key));
                }
            }
            None if !h_clean.is_empty() => plan.issues.push(ImportIssue {
                severity: Severity::Warning,
                row: Some(header.line),
                column: Some(h_clean.clone()),
                column_letter: Some(column_letter(i)),
                message_ja: "この列は台帳の項目に対応しないため取り込みません".into(),
                message_en: "this column matches no ledger column and is not imported".into(),
                hint_ja: "取り込むには「見出し=列キー」で対応付けを保存してください".into(),
                hint_en: "save a mapping HEADER=COLUMN_KEY to import it".into(),
                ..file_issue(String::new(), String::new(), String::new(), String::new())
            }),
            None => {}
        }
    }
    let key_col = kind.key_column();
    let key_idx = cols.iter().position(|c| c.key == key_col.key).expect("key column");
    if positions[key_idx].is_none() {
        let found: Vec<&str> = header.cells.iter().map(|s| s.as_str()).filter(|s| !s.trim().is_empty()).collect();
        plan.issues.push(ImportIssue {
            row: Some(header.line),
            column: Some(key_col.ja.into()),
            ..file_issue(
                format!("必須列「{}」がありません（見出し: {}）", key_col.ja, found.join("、")),
                format!("required column '{}' is missing", key_col.en),
                format!(
                    "見出しに「{}」の列を加えるか、対応付け（見出し={}）を指定してください",
                    key_col.ja, key_col.key
                ),
                format!("add a '{}' column or map your header to '{}'", key_col.en, key_col.key),
            )
        });
        return plan;
    }

    let mut seen_keys: HashMap<String, usize> = HashMap::new();
    let mut cells: Vec<Option<String>> = vec![None; cols.len()];
    for row in table.rows.into_iter().skip(header_idx + 1) {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        for (slot, pos) in cells.iter_mut().zip(&positions) {
            *slot = pos.map(|p| row.cells.get(p).map(|c| clean_cell(c)).unwrap_or_default());
        }
        let mut reader = RowReader::new(kind, &cells);
        let record = T::read(&mut reader);
        let mut ok = reader.problems.is_empty();
        for p in reader.problems {
            let ci = cols.iter().position(|c| c.key == p.column).expect("column");
            plan.issues.push(ImportIssue {
                severity: Severity::Error,
                file: file.clone(),
                row: Some(row.line),
                column: Some(
                    header
                        .cells
                        .get(positions[ci].unwrap_or(0))
                        .map(|h| clean_cell(h))
                        .unwrap_or_else(|| cols[ci].ja.into()),
                ),
                column_letter: positions[ci].map(column_letter),
                value: p.value,
                message_ja: p.message_ja,
                message_en: p.message_en,
                hint_ja: p.hint_ja,
                hint_en: p.hint_en,
            });
        }
        let key = record.key().to_string();
        if !key.is_empty() {
            if let Some(first) = seen_keys.get(&key) {
                ok = false;
                plan.issues.push(ImportIssue {
                    severity: Severity::Error,
                    file: file.clone(),
                    row: Some(row.line),
                    column: Some(key_col.ja.into()),
                    column_letter: positions[key_idx].map(column_letter),
                    value: key.clone(),
                    message_ja: format!("{}「{key}」が{first}行目と重複しています", key_col.ja),
                    message_en: format!("{} '{key}' duplicates row {first}", key_col.en),
                    hint_ja: format!("{}は台帳の中で一意にしてください", key_col.ja),
                    hint_en: format!("each {} must be unique", key_col.en),
                });
            } else {
                seen_keys.insert(key, row.line);
            }
        }
        if ok {
            plan.records.push((row.line, record));
        }
    }
    if plan.records.is_empty() && plan.is_valid() {
        plan.issues.push(ImportIssue {
            row: Some(header.line),
            ..file_issue(
                "見出し行のあとにデータ行がありません".into(),
                "the file has a header but no data rows".into(),
                "台帳の行を入れてから取り込んでください".into(),
                "add the ledger rows and import again".into(),
            )
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Account, Device};

    fn table(rows: &[&[&str]]) -> RawTable {
        RawTable {
            source: "t.csv".into(),
            sheet: None,
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| RawRow { line: i + 1, cells: r.iter().map(|s| s.to_string()).collect() })
                .collect(),
        }
    }

    /// The manual's 機器台帳の例 (seed 002, 2-(1)) imports as it is.
    #[test]
    fn manual_example_devices() {
        let t = table(&[
            &[
                "管理番号",
                "メーカー",
                "OS",
                "ソフトウェア",
                "ソフトウェア\nバージョン",
                "IPアドレス",
                "コンピュータ名",
                "設置場所",
                "利用者",
                "登録日",
                "状態",
                "説明",
            ],
            &[
                "001",
                "A社",
                "Win11",
                "〇〇電子カルテ",
                "2.0",
                "192.168.〇.〇",
                "Room1のPC１",
                "Room1",
                "a医師（〇〇科）",
                "2020/12/1",
                "稼働",
                "",
            ],
            &[
                "002",
                "A社",
                "Win11",
                "〇〇電子カルテ",
                "1.2",
                "192.168.〇.〇",
                "Room1のPC2",
                "Room1",
                "b医師（〇〇科）",
                "2020/12/1",
                "停止",
                "メンテナンス",
            ],
        ]);
        let p = plan::<Device>(t, &HeaderMapping::default());
        assert!(p.is_valid(), "{:#?}", p.issues);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[0].1.hostname, "Room1のPC1", "full-width digit normalised");
        assert_eq!(p.records[1].1.status.as_deref(), Some("stopped"));
        assert_eq!(p.records[1].1.software_version, "1.2");
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let t = table(&[
            &["利用者ID台帳（令和6年4月）"],
            &[],
            &["No", "所属部署", "性", "名", "ユーザID", "権限", "状態"],
            &["1", "内科", "山田", "太郎", "yamada", "医師", "有効"],
        ]);
        let p = plan::<Account>(t, &HeaderMapping::default());
        assert!(p.is_valid(), "{:#?}", p.issues);
        assert_eq!(p.header_row, Some(3));
        assert_eq!(p.records[0].0, 4);
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_passes() {
        let t = table(&[
            &["管理番号", "登録日", "状態", "IPアドレス"],
            &["001", "2023/2/30", "稼働", "10.0.0.1"],
            &["002", "R5.4.1", "動いてる", "10.0.0.2"],
            &["001", "2023-04-01", "稼働", "10.0.0.300"],
            &["", "2023-04-01", "稼働", ""],
        ]);
        let p = plan::<Device>(t, &HeaderMapping::default());
        assert!(!p.is_valid());
        let rows: Vec<(Option<usize>, Option<String>)> = p.errors().map(|e| (e.row, e.column_letter.clone())).collect();
        assert_eq!(
            rows,
            vec![
                (Some(2), Some("B".into())),
                (Some(3), Some("C".into())),
                (Some(4), Some("D".into())),
                (Some(4), Some("A".into())),
                (Some(5), Some("A".into())),
            ]
        );
        let dup = p.errors().find(|e| e.message_ja.contains("重複")).unwrap();
        assert!(dup.message_ja.contains("2行目"), "{dup}");
    }

    #[test]
    fn missing_key_column_and_mapping() {
        let t = table(&[&["資産ラベル", "メーカー"], &["X1", "A社"]]);
        let p = plan::<Device>(t.clone(), &HeaderMapping::default());
        assert!(!p.is_valid());
        assert!(p.errors().next().unwrap().message_ja.contains("管理番号"));
        let m = HeaderMapping::parse_pairs(LedgerKind::Devices, &["資産ラベル=asset_no".into()]).unwrap();
        let p = plan::<Device>(t, &m);
        assert!(p.is_valid(), "{:#?}", p.issues);
        assert_eq!(p.records[0].1.asset_no, "X1");
        assert!(HeaderMapping::parse_pairs(LedgerKind::Devices, &["a=nope".into()]).is_err());
    }

    #[test]
    fn empty_inputs() {
        let p = plan::<Device>(table(&[]), &HeaderMapping::default());
        assert!(p.errors().next().unwrap().message_ja.contains("空"));
        let p = plan::<Device>(table(&[&["管理番号", "メーカー"]]), &HeaderMapping::default());
        assert!(p.errors().next().unwrap().message_ja.contains("データ行がありません"));
    }

    #[test]
    fn huge_field_is_rejected() {
        let big = "x".repeat(10_000);
        let p = plan::<Device>(table(&[&["管理番号", "説明"], &["1", &big]]), &HeaderMapping::default());
        assert!(p.errors().next().unwrap().message_ja.contains("長すぎ"));
        assert_eq!(column_letter(27), "AB");
    }
}
