//! Normalisation of text typed by people (全角・半角).

use unicode_normalization::UnicodeNormalization;

/// Width normalisation for free text: full-width ASCII → ASCII, ideographic space → space, half-width
/// katakana → full-width; nothing else changes (so names keep their kanji variants).
pub fn normalize_width(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut halfwidth_run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            out.extend(run.nfkc());
            run.clear();
        }
    };
    for c in s.chars() {
        let u = c as u32;
        if (0xFF61..=0xFF9F).contains(&u) {
            halfwidth_run.push(c);
            continue;
        }
        flush(&mut halfwidth_run, &mut out);
        match u {
            0xFF01..=0xFF5E => out.push(char::from_u32(u - 0xFEE0).unwrap_or(c)),
            0x3000 => out.push(' '),
            _ => out.push(c),
        }
    }
    flush(&mut halfwidth_run, &mut out);
    out
}

/// Cell text as stored: width-normalised, trimmed, line breaks kept as `\n`.
pub fn clean_cell(s: &str) -> String {
    let t = s.trim();
    // Fast path: plain ASCII without carriage returns needs no change (most cells of a large ledger).
    if t.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t') {
        return t.to_string();
    }
    let n = normalize_width(t);
    let n = if n.contains('\r') { n.replace("\r\n", "\n").replace('\r', "\n") } else { n };
    n.trim().to_string()
}

/// Key for comparing names loosely (headers, enum values): NFKC, lower case, no spaces or punctuation.
pub fn fold_key(s: &str) -> String {
    s.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '・' | '_'
                        | '-'
                        | '.'
                        | '/'
                        | '('
                        | ')'
                        | '（'
                        | '）'
                        | '「'
                        | '」'
                        | '*'
                        | '※'
                        | ':'
                        | '：'
                        | '#'
                        | '＃'
                )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width() {
        assert_eq!(normalize_width("ＰＣ－０１　ｱｲｳ"), "PC-01 アイウ");
        assert_eq!(normalize_width("ﾊﾟｿｺﾝ"), "パソコン");
        assert_eq!(normalize_width("髙橋①"), "髙橋①");
    }

    #[test]
    fn folding() {
        assert_eq!(fold_key("ユーザ ID"), fold_key("ユーザID"));
        assert_eq!(fold_key("IP Address"), "ipaddress");
    }
}
