//! CPE names: 2.3 formatted strings and 2.2 URIs (NISTIR 7695 binding, NISTIR 7696 name matching).
//!
//! A value is kept in its canonical 2.3 formatted-string form: lower case, every character other
//! than `[a-z0-9._-]` quoted with a backslash, and unquoted `*` / `?` only as wildcards at the
//! start or end of a value.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::VulnError;

/// One attribute of a CPE name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Av {
    /// `*`: any value.
    Any,
    /// `-`: not applicable.
    Na,
    /// A value in canonical formatted-string form.
    Value(String),
}

impl Av {
    /// A value from plain text (escaping what needs escaping); `""`/`*` give ANY, `-` gives NA.
    pub fn from_text(text: &str) -> Av {
        let t = text.trim();
        match t {
            "" | "*" => Av::Any,
            "-" => Av::Na,
            _ => Av::Value(escape_text(&t.to_lowercase())),
        }
    }

    /// The value with quoting removed (for display and version comparison).
    pub fn text(&self) -> Option<String> {
        match self {
            Av::Value(v) => Some(unescape(v)),
            _ => None,
        }
    }

    pub fn is_any(&self) -> bool {
        matches!(self, Av::Any)
    }

    fn fs(&self) -> &str {
        match self {
            Av::Any => "*",
            Av::Na => "-",
            Av::Value(v) => v,
        }
    }
}

/// Relation of a source attribute to a target attribute (NISTIR 7696 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Superset,
    Subset,
    Equal,
    Disjoint,
}

/// A parsed CPE name with its 11 attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cpe {
    pub part: Av,
    pub vendor: Av,
    pub product: Av,
    pub version: Av,
    pub update: Av,
    pub edition: Av,
    pub language: Av,
    pub sw_edition: Av,
    pub target_sw: Av,
    pub target_hw: Av,
    pub other: Av,
}

const MAX_CPE_LEN: usize = 2048;

impl Cpe {
    /// Parses a CPE 2.3 formatted string (`cpe:2.3:…`) or a CPE 2.2 URI (`cpe:/…`).
    pub fn parse(input: &str) -> Result<Cpe, VulnError> {
        let s = input.trim();
        let err = |what: &str| VulnError::InvalidCpe { input: truncate(s), what: what.to_string() };
        if s.len() > MAX_CPE_LEN {
            return Err(err("too long"));
        }
        let lower = s.get(..8).map(|p| p.to_ascii_lowercase());
        if lower.as_deref() == Some("cpe:2.3:") {
            parse_fs(&s[8..]).map_err(|w| err(&w))
        } else if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("cpe:/")) {
            parse_uri(&s[5..]).map_err(|w| err(&w))
        } else {
            Err(err("does not start with cpe:2.3: or cpe:/"))
        }
    }

    /// A CPE from plain-text parts (anything not given is ANY).
    pub fn new(part: char, vendor: &str, product: &str, version: &str, update: &str) -> Cpe {
        Cpe {
            part: Av::from_text(&part.to_string()),
            vendor: Av::from_text(vendor),
            product: Av::from_text(product),
            version: Av::from_text(version),
            update: Av::from_text(update),
            edition: Av::Any,
            language: Av::Any,
            sw_edition: Av::Any,
            target_sw: Av::Any,
            target_hw: Av::Any,
            other: Av::Any,
        }
    }

    fn attrs(&self) -> [&Av; 11] {
        [
            &self.part,
            &self.vendor,
            &self.product,
            &self.version,
            &self.update,
            &self.edition,
            &self.language,
            &self.sw_edition,
            &self.target_sw,
            &self.target_hw,
            &self.other,
        ]
    }

    /// The 2.3 formatted string.
    pub fn to_fs(&self) -> String {
        let mut out = String::from("cpe:2.3");
        for a in self.attrs() {
            out.push(':');
            out.push_str(a.fs());
        }
        out
    }

    /// `vendor:product` in plain text, or None when either is not a value.
    pub fn vendor_product(&self) -> Option<(String, String)> {
        Some((self.vendor.text()?, self.product.text()?))
    }

    /// The part letter (`a`, `o`, `h`) when given.
    pub fn part_char(&self) -> Option<char> {
        match &self.part {
            Av::Value(v) => v.chars().next(),
            _ => None,
        }
    }

    /// NISTIR 7696 CPE_Name_Compare: relation of every attribute.
    pub fn compare(&self, target: &Cpe) -> [Relation; 11] {
        let s = self.attrs();
        let t = target.attrs();
        std::array::from_fn(|i| compare_attr(s[i], t[i]))
    }

    /// NISTIR 7696 name matching: true when this (source) name is a superset of or equal to the target.
    pub fn matches(&self, target: &Cpe) -> bool {
        self.compare(target).iter().all(|r| matches!(r, Relation::Superset | Relation::Equal))
    }
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fs())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Compares one source attribute with one target attribute (NISTIR 7696 table 6-2).
pub fn compare_attr(source: &Av, target: &Av) -> Relation {
    match (source, target) {
        (Av::Any, Av::Any) => Relation::Equal,
        (Av::Any, _) => Relation::Superset,
        (Av::Na, Av::Na) => Relation::Equal,
        (Av::Na, Av::Any) => Relation::Subset,
        (Av::Na, Av::Value(_)) => Relation::Disjoint,
        (Av::Value(_), Av::Any) => Relation::Subset,
        (Av::Value(_), Av::Na) => Relation::Disjoint,
        (Av::Value(s), Av::Value(t)) => {
            if has_wildcard(t) {
                // Undefined in NISTIR 7696: a target must not contain wildcards.
                Relation::Disjoint
            } else if s == t {
                Relation::Equal
            } else if has_wildcard(s) && glob(&units(s), &units(t)) {
                Relation::Superset
            } else {
                Relation::Disjoint
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    Lit(char),
    Star,
    Q,
}

fn units(fs: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(fs.len());
    let mut it = fs.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    out.push(Unit::Lit(n));
                }
            }
            '*' => out.push(Unit::Star),
            '?' => out.push(Unit::Q),
            c => out.push(Unit::Lit(c)),
        }
    }
    out
}

fn has_wildcard(fs: &str) -> bool {
    units(fs).iter().any(|u| !matches!(u, Unit::Lit(_)))
}

/// Iterative glob over units (no recursion: safe on any input).
fn glob(p: &[Unit], t: &[Unit]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == Unit::Q || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == Unit::Star {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == Unit::Star {
        pi += 1;
    }
    pi == p.len()
}

/// Escapes plain text into canonical formatted-string form (no wildcards).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        push_lit(&mut out, c.to_ascii_lowercase());
    }
    out
}

fn push_lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || !c.is_ascii() {
        out.push(c);
    } else {
        out.push('\\');
        out.push(c);
    }
}

/// Removes formatted-string quoting.
pub fn unescape(fs: &str) -> String {
    units(fs)
        .into_iter()
        .map(|u| match u {
            Unit::Lit(c) => c,
            Unit::Star => '*',
            Unit::Q => '?',
        })
        .collect()
}

fn parse_fs(rest: &str) -> Result<Cpe, String> {
    // Split on unquoted ':'.
    let mut comps: Vec<String> = Vec::with_capacity(11);
    let mut cur = String::new();
    let mut it = rest.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => return Err("ends with a lone backslash".into()),
            },
            ':' => comps.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    comps.push(cur);
    if comps.len() != 11 {
        return Err(format!("has {} attributes after cpe:2.3:, 11 expected", comps.len()));
    }
    let mut avs = Vec::with_capacity(11);
    for (i, c) in comps.iter().enumerate() {
        avs.push(fs_value(c).map_err(|w| format!("attribute {}: {w}", i + 1))?);
    }
    build(avs)
}

fn fs_value(c: &str) -> Result<Av, String> {
    match c {
        "" => Err("empty attribute".into()),
        "*" => Ok(Av::Any),
        "-" => Ok(Av::Na),
        _ => {
            let us = units(&c.to_lowercase());
            let n = us.len();
            // Wildcards only at the ends: `*` once per end, `?` runs at the ends.
            let lead = us.iter().take_while(|u| !matches!(u, Unit::Lit(_))).count();
            let trail = us.iter().rev().take_while(|u| !matches!(u, Unit::Lit(_))).count();
            if lead == n {
                if us.iter().filter(|u| **u == Unit::Star).count() > 1 {
                    return Err("wildcards only".into());
                }
            } else {
                if us[lead..n - trail].iter().any(|u| !matches!(u, Unit::Lit(_))) {
                    return Err("unquoted * or ? inside a value".into());
                }
                for seg in [&us[..lead], &us[n - trail..]] {
                    let stars = seg.iter().filter(|u| **u == Unit::Star).count();
                    if stars > 1 || (stars == 1 && seg.len() > 1) {
                        return Err("mixed * and ? wildcards".into());
                    }
                }
            }
            let mut out = String::with_capacity(c.len());
            for u in us {
                match u {
                    Unit::Lit(ch) => {
                        if ch.is_control() {
                            return Err("control character".into());
                        }
                        push_lit(&mut out, ch)
                    }
                    Unit::Star => out.push('*'),
                    Unit::Q => out.push('?'),
                }
            }
            Ok(Av::Value(out))
        }
    }
}

fn parse_uri(rest: &str) -> Result<Cpe, String> {
    let comps: Vec<&str> = rest.split(':').collect();
    if comps.len() > 7 {
        return Err(format!("has {} components after cpe:/, at most 7 expected", comps.len()));
    }
    let mut avs: Vec<Av> = Vec::with_capacity(11);
    for (i, c) in comps.iter().enumerate() {
        if i == 5 && c.starts_with('~') {
            // Packed edition: ~edition~sw_edition~target_sw~target_hw~other
            let packed: Vec<&str> = c[1..].split('~').collect();
            if packed.len() != 5 {
                return Err("packed edition needs 5 fields (~ed~sw~tsw~thw~other)".into());
            }
            let mut p = Vec::with_capacity(5);
            for f in packed {
                p.push(uri_value(f)?);
            }
            let (ed, sw, tsw, thw, oth) = (p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone(), p[4].clone());
            avs.push(ed);
            // language comes from component 6 when present; fill later.
            let lang = match comps.get(6) {
                Some(l) => uri_value(l)?,
                None => Av::Any,
            };
            avs.push(lang);
            avs.extend([sw, tsw, thw, oth]);
            return build(avs);
        }
        avs.push(uri_value(c)?);
    }
    while avs.len() < 11 {
        avs.push(Av::Any);
    }
    build(avs)
}

fn uri_value(c: &str) -> Result<Av, String> {
    match c {
        "" => return Ok(Av::Any),
        "-" => return Ok(Av::Na),
        _ => {}
    }
    let bytes = c.as_bytes();
    let mut out = String::with_capacity(c.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = c.get(i + 1..i + 3).ok_or("incomplete %-escape")?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| format!("bad %-escape %{hex}"))?;
            match v {
                1 => out.push('?'),
                2 => out.push('*'),
                0x21..=0x7e => push_lit(&mut out, (v as char).to_ascii_lowercase()),
                _ => return Err(format!("%-escape %{hex} is not printable ASCII")),
            }
            i += 3;
        } else if b == b'~' {
            // A lone tilde in a non-edition component is a literal in practice.
            push_lit(&mut out, '~');
            i += 1;
        } else {
            let ch = c[i..].chars().next().ok_or("bad character")?;
            if ch.is_control() || ch == ' ' {
                return Err("space or control character".into());
            }
            push_lit(&mut out, ch.to_ascii_lowercase());
            i += ch.len_utf8();
        }
    }
    // Re-validate wildcard placement.
    fs_value(&out)
}

fn build(avs: Vec<Av>) -> Result<Cpe, String> {
    let mut it = avs.into_iter();
    let mut next = || it.next().unwrap_or(Av::Any);
    let cpe = Cpe {
        part: next(),
        vendor: next(),
        product: next(),
        version: next(),
        update: next(),
        edition: next(),
        language: next(),
        sw_edition: next(),
        target_sw: next(),
        target_hw: next(),
        other: next(),
    };
    match &cpe.part {
        Av::Any => {}
        Av::Value(p) if p == "a" || p == "o" || p == "h" => {}
        _ => return Err("part must be a, o or h".into()),
    }
    Ok(cpe)
}

/// Product renames: (old vendor, old product) → (new vendor, new product).
pub const PRODUCT_RENAMES: &[(&str, &str, &str, &str)] = &[
    ("pulsesecure", "pulse_connect_secure", "ivanti", "connect_secure"),
    ("pulsesecure", "pulse_policy_secure", "ivanti", "policy_secure"),
    ("pulsesecure", "pulse_secure_desktop_client", "ivanti", "secure_access_client"),
    ("juniper", "pulse_connect_secure", "ivanti", "connect_secure"),
    ("juniper", "junos_pulse_secure_access_service", "ivanti", "connect_secure"),
    ("mobileiron", "core", "ivanti", "endpoint_manager_mobile"),
    ("citrix", "netscaler_adc", "citrix", "netscaler_application_delivery_controller"),
];

/// Vendor renames applied after product renames.
pub const VENDOR_RENAMES: &[(&str, &str)] = &[
    ("pulsesecure", "ivanti"),
    ("mobileiron", "ivanti"),
    ("f5networks", "f5"),
    ("palo_alto_networks", "paloaltonetworks"),
    ("paloalto", "paloaltonetworks"),
];

/// The canonical (vendor, product) under vendor renames, both in canonical formatted-string form.
pub fn canonical_vendor_product(vendor: &str, product: &str) -> (String, String) {
    for (ov, op, nv, np) in PRODUCT_RENAMES {
        if vendor == *ov && product == *op {
            return (nv.to_string(), np.to_string());
        }
    }
    for (ov, nv) in VENDOR_RENAMES {
        if vendor == *ov {
            return (nv.to_string(), product.to_string());
        }
    }
    (vendor.to_string(), product.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fs_with_escapes() {
        let c = Cpe::parse(r"cpe:2.3:o:cisco:ios:15.2\(5\)e:*:*:*:*:*:*:*").unwrap();
        assert_eq!(c.version, Av::Value(r"15.2\(5\)e".into()));
        assert_eq!(c.version.text().unwrap(), "15.2(5)e");
        assert_eq!(c.to_fs(), r"cpe:2.3:o:cisco:ios:15.2\(5\)e:*:*:*:*:*:*:*");
    }

    #[test]
    fn uri_and_fs_agree() {
        let u = Cpe::parse("cpe:/a:10web:photo_gallery:::~~~wordpress~~").unwrap();
        let f = Cpe::parse("cpe:2.3:a:10web:photo_gallery:*:*:*:*:*:wordpress:*:*").unwrap();
        assert_eq!(u, f);
        let p = Cpe::parse("cpe:/o:cisco:ios:15.2%284%29m").unwrap();
        assert_eq!(p.version.text().unwrap(), "15.2(4)m");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "cpe:2.3:a:b",
            "cpe:2.3:x:v:p:*:*:*:*:*:*:*:*",
            r"cpe:2.3:a:v:p:1.*0:*:*:*:*:*:*:*",
            "cpe:2.3:a:v:p:1:*:*:*:*:*:*:\\",
            "cpe:/a:v:p:%zz",
            "foo",
        ] {
            assert!(Cpe::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nistir_relations() {
        let src = Cpe::parse("cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*").unwrap();
        let t1 = Cpe::parse("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:sp1:*:*:*:*:*:*").unwrap();
        let t2 = Cpe::parse("cpe:2.3:a:microsoft:internet_explorer:9.0:sp1:*:*:*:*:*:*").unwrap();
        assert!(src.matches(&t1));
        assert!(!src.matches(&t2));
        assert_eq!(compare_attr(&Av::Na, &Av::Any), Relation::Subset);
        assert_eq!(compare_attr(&Av::Any, &Av::Na), Relation::Superset);
        assert_eq!(compare_attr(&Av::Na, &Av::Value("x".into())), Relation::Disjoint);
    }

    #[test]
    fn renames() {
        assert_eq!(
            canonical_vendor_product("pulsesecure", "pulse_connect_secure"),
            ("ivanti".into(), "connect_secure".into())
        );
        assert_eq!(canonical_vendor_product("fortinet", "fortios"), ("fortinet".into(), "fortios".into()));
    }
}
