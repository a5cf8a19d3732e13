//! Dates as hospitals write them: 2020/12/1, 2023-04-01, 2020年12月1日, 令和5年4月1日, R5.4.1, H31/4/30, Excel serials.

use chrono::{Datelike, Duration, NaiveDate};

use crate::text::normalize_width;

/// Japanese eras (元号) with their first day, newest first.
const ERAS: &[(&str, &str, i32, (i32, u32, u32))] =
    &[("令和", "r", 2018, (2019, 5, 1)), ("平成", "h", 1988, (1989, 1, 8)), ("昭和", "s", 1925, (1926, 12, 25))];

/// Parse a date cell. `Ok(None)` for an empty cell; `Err` with the reason otherwise.
pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let s = normalize_width(raw).trim().to_string();
    if s.is_empty() {
        return Ok(None);
    }
    // Excel stores dates as serial numbers; calamine may hand them over as text "44166" or "44166.0".
    if let Some(d) = parse_excel_serial(&s) {
        return Ok(Some(d));
    }
    // Trailing time of day ("2023-04-01 00:00:00", "2023/4/1 9:30") is dropped.
    let s = s.split([' ', 'T']).next().unwrap_or("").to_string();
    let lower = s.to_lowercase();
    for (i, (kanji, letter, offset, first)) in ERAS.iter().enumerate() {
        let rest = if let Some(r) = s.strip_prefix(kanji) {
            Some(r.to_string())
        } else {
            lower.strip_prefix(letter).map(str::to_string)
        };
        if let Some(rest) = rest {
            let rest = rest.replacen("元年", "1年", 1);
            let (y, m, d) = split_ymd(&rest).ok_or_else(|| format!("和暦の日付として読めません: {raw}"))?;
            if y < 1 {
                return Err(format!("元号の年が不正です: {raw}"));
            }
            let date = ymd(offset + y, m, d, raw)?;
            let start = NaiveDate::from_ymd_opt(first.0, first.1, first.2).expect("era start");
            if date < start {
                return Err(format!("{kanji}{y}年{m}月{d}日 はこの元号の始まりより前です: {raw}"));
            }
            if let Some((next, _, _, nf)) = i.checked_sub(1).map(|j| ERAS[j]) {
                let next_start = NaiveDate::from_ymd_opt(nf.0, nf.1, nf.2).expect("era start");
                if date >= next_start {
                    return Err(format!("{kanji}{y}年{m}月{d}日 は{next}の期間です（{next}で書いてください）: {raw}"));
                }
            }
            return Ok(Some(date));
        }
    }
    let (y, m, d) = split_ymd(&s).ok_or_else(|| format!("日付として読めません: {raw}"))?;
    if !(1900..=2200).contains(&y) {
        return Err(format!("年が範囲外です（西暦4桁で書いてください）: {raw}"));
    }
    ymd(y, m, d, raw).map(Some)
}

fn ymd(y: i32, m: u32, d: u32, raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("存在しない日付です: {raw}"))
}

/// "2020/12/1", "2020-12-01", "2020.12.1", "2020年12月1日", "5.4.1" → (y, m, d).
fn split_ymd(s: &str) -> Option<(i32, u32, u32)> {
    let parts: Vec<&str> = s.split(['/', '-', '.', '年', '月', '日']).filter(|p| !p.is_empty()).collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    Some((parts[0].parse().ok()?, parts[1].parse().ok()?, parts[2].parse().ok()?))
}

fn parse_excel_serial(s: &str) -> Option<NaiveDate> {
    let n: f64 = s.parse().ok()?;
    // 20000 = 1954-10-03, 80000 = 2119-01-10: outside that a bare number is not a plausible ledger date.
    if !(20000.0..80000.0).contains(&n) || s.contains('/') {
        return None;
    }
    excel_serial_to_date(n)
}

/// Excel's 1900 date system (with its phantom 1900-02-29, hence the 1899-12-30 epoch for serials > 60).
pub fn excel_serial_to_date(n: f64) -> Option<NaiveDate> {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(Duration::days(n.trunc() as i64))
}

/// Japanese fiscal year (年度, April–March) a date belongs to.
pub fn fiscal_year(d: NaiveDate) -> i32 {
    if d.month() >= 4 { d.year() } else { d.year() - 1 }
}

/// 和暦 display: 2023-04-01 → "令和5年4月1日".
pub fn to_wareki(d: NaiveDate) -> String {
    for (kanji, _, offset, first) in ERAS {
        let start = NaiveDate::from_ymd_opt(first.0, first.1, first.2).expect("era start");
        if d >= start {
            let y = d.year() - offset;
            let y = if y == 1 { "元".to_string() } else { y.to_string() };
            return format!("{kanji}{y}年{}月{}日", d.month(), d.day());
        }
    }
    d.format("%Y年%-m月%-d日").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, dd)
    }

    #[test]
    fn every_form_the_issue_names() {
        assert_eq!(parse_date("2020/12/1").unwrap(), d(2020, 12, 1));
        assert_eq!(parse_date("2023-04-01").unwrap(), d(2023, 4, 1));
        assert_eq!(parse_date("令和5年4月1日").unwrap(), d(2023, 4, 1));
        assert_eq!(parse_date("R5.4.1").unwrap(), d(2023, 4, 1));
        assert_eq!(parse_date("r5/4/1").unwrap(), d(2023, 4, 1));
        assert_eq!(parse_date("令和元年5月1日").unwrap(), d(2019, 5, 1));
        assert_eq!(parse_date("H31.4.30").unwrap(), d(2019, 4, 30));
        assert_eq!(parse_date("２０２０／１２／１").unwrap(), d(2020, 12, 1));
        assert_eq!(parse_date("2020年12月1日").unwrap(), d(2020, 12, 1));
        assert_eq!(parse_date("44166").unwrap(), d(2020, 12, 1));
        assert_eq!(parse_date("44166.0").unwrap(), d(2020, 12, 1));
        assert_eq!(parse_date("2023-04-01 00:00:00").unwrap(), d(2023, 4, 1));
        assert_eq!(parse_date("  ").unwrap(), None);
    }

    #[test]
    fn bad_dates_say_why() {
        assert!(parse_date("2023/2/30").unwrap_err().contains("存在しない"));
        assert!(parse_date("令和0年1月1日").is_err());
        assert!(parse_date("平成31年5月1日").unwrap_err().contains("令和"), "H31.5.1 is already Reiwa");
        assert!(parse_date("来月").is_err());
        assert!(parse_date("23/4/1").is_err());
    }

    #[test]
    fn wareki_and_fiscal_year() {
        assert_eq!(to_wareki(d(2023, 4, 1).unwrap()), "令和5年4月1日");
        assert_eq!(to_wareki(d(2019, 5, 1).unwrap()), "令和元年5月1日");
        assert_eq!(fiscal_year(d(2025, 3, 31).unwrap()), 2024);
        assert_eq!(fiscal_year(d(2025, 4, 1).unwrap()), 2025);
    }
}
