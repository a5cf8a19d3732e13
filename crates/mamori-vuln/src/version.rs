//! Version comparators for the product families hospitals run.

use std::cmp::Ordering;

/// How versions of a product are written and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// Dotted numbers with optional letters ("2.4.58", "16.12.10a", "2.0-beta9").
    Generic,
    /// FortiOS / FortiProxy "7.2.4" (a trailing ",build1396" or " build1396" is ignored).
    FortiOs,
    /// PAN-OS "10.2.9-h1": a hotfix comes after its base release.
    PanOs,
    /// Citrix ADC / Gateway "13.1-49.15": release, then build. A bare release in NVD means all its builds.
    Citrix,
    /// Ivanti / Pulse Connect Secure "9.0R3.3": version plus release/update.
    Ivanti,
    /// Cisco IOS trains "15.2(4)M": only exact equality is meaningful.
    CiscoIos,
    /// Windows: release ("r2"), service pack in update, or build "10.0.19045.2251".
    Windows,
}

/// The family for a canonical (vendor, product).
pub fn family_for(vendor: &str, product: &str) -> Family {
    match (vendor, product) {
        ("fortinet", p) if p.starts_with("forti") => Family::FortiOs,
        ("paloaltonetworks", "pan-os") => Family::PanOs,
        ("citrix", p)
            if p.contains("application_delivery_controller") || p.contains("netscaler") || p.contains("gateway") =>
        {
            Family::Citrix
        }
        ("ivanti", "connect_secure" | "policy_secure" | "neurons_for_zero-trust_access") => Family::Ivanti,
        ("cisco", "ios") => Family::CiscoIos,
        ("microsoft", p) if p.starts_with("windows") => Family::Windows,
        _ => Family::Generic,
    }
}

/// One comparable piece of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Num(u64),
    /// Pre-release marker (alpha, beta, rc …): sorts before numbers and before the end.
    Pre(u8, String),
    /// Other letters ("a" in 16.12.10a, "h" in -h1, "r" in 9.0R3): sort after the end.
    Word(String),
}

/// A parsed, comparable version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    family: Family,
    segs: Vec<Seg>,
    /// Lower-cased text, for exact-only families.
    text: String,
}

/// Why a version cannot be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unparsable(pub String);

fn pre_rank(w: &str) -> Option<u8> {
    Some(match w {
        "dev" | "snapshot" => 0,
        "alpha" => 1,
        "beta" => 2,
        "pre" | "preview" | "milestone" => 3,
        "rc" => 4,
        _ => return None,
    })
}

impl Version {
    /// Parses `text` as a version of `family`.
    pub fn parse(family: Family, text: &str) -> Result<Version, Unparsable> {
        let raw = text.trim();
        let bad = || Unparsable(raw.chars().take(80).collect());
        if raw.is_empty() || raw.len() > 100 || raw == "-" || raw == "*" {
            return Err(bad());
        }
        let mut s = raw.to_lowercase();
        if family == Family::FortiOs {
            if let Some(i) = s.find([',', ' ', '(']) {
                s.truncate(i);
            }
        }
        if matches!(family, Family::FortiOs | Family::PanOs | Family::Generic | Family::Windows | Family::Citrix)
            && s.starts_with('v')
            && s[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            s.remove(0);
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        if !s.chars().any(|c| c.is_ascii_digit()) && family != Family::Windows {
            return Err(bad());
        }
        if family == Family::FortiOs && !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad());
        }
        if family == Family::CiscoIos {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || "._-()".contains(c)) {
                return Err(bad());
            }
            return Ok(Version { family, segs: Vec::new(), text: s });
        }
        let mut segs = Vec::new();
        let mut cur = String::new();
        let flush = |cur: &mut String, segs: &mut Vec<Seg>| -> Result<(), Unparsable> {
            if cur.is_empty() {
                return Ok(());
            }
            let seg = if cur.as_bytes()[0].is_ascii_digit() {
                if cur.len() > 18 {
                    return Err(Unparsable(cur.clone()));
                }
                Seg::Num(cur.parse().map_err(|_| Unparsable(cur.clone()))?)
            } else if cur == "x" || cur == "xx" {
                // "6.0.x": a placeholder, not a version.
                return Err(Unparsable(cur.clone()));
            } else if let Some(r) = pre_rank(cur) {
                Seg::Pre(r, cur.clone())
            } else {
                Seg::Word(cur.clone())
            };
            segs.push(seg);
            cur.clear();
            Ok(())
        };
        for c in s.chars() {
            if c.is_ascii_digit() {
                if cur.chars().next().is_some_and(|p| !p.is_ascii_digit()) {
                    flush(&mut cur, &mut segs)?;
                }
                cur.push(c);
            } else if c.is_ascii_alphabetic() {
                if cur.chars().next().is_some_and(|p| p.is_ascii_digit()) {
                    flush(&mut cur, &mut segs)?;
                }
                cur.push(c);
            } else if ".-_+~".contains(c) {
                flush(&mut cur, &mut segs)?;
            } else {
                return Err(bad());
            }
        }
        flush(&mut cur, &mut segs)?;
        if segs.is_empty() {
            return Err(bad());
        }
        Ok(Version { family, segs, text: s })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Total order within the family; None for exact-only families when the texts differ.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        if self.family == Family::CiscoIos || other.family == Family::CiscoIos {
            return (self.text == other.text).then_some(Ordering::Equal);
        }
        Some(cmp_segs(&self.segs, &other.segs))
    }

    /// Exact equality as NVD means it for a listed version: for Citrix a bare release ("13.0")
    /// stands for every build of that release.
    pub fn equals_listed(&self, listed: &Version) -> bool {
        if self.family == Family::Citrix
            && listed.segs.len() <= 2
            && listed.segs.iter().all(|s| matches!(s, Seg::Num(_)))
        {
            return self.segs.len() >= listed.segs.len() && self.segs[..listed.segs.len()] == listed.segs[..];
        }
        self.compare(listed) == Some(Ordering::Equal)
    }

    /// A text equal for exactly the versions that compare Equal (trailing zero segments dropped);
    /// used to look listed versions up by hash. For exact-only families, the text itself.
    pub fn canonical(&self) -> String {
        self.prefix_canonical(usize::MAX)
    }

    /// [`Self::canonical`] of the first `n` segments.
    pub fn prefix_canonical(&self, n: usize) -> String {
        if self.family == Family::CiscoIos {
            return self.text.clone();
        }
        let segs = &self.segs[..n.min(self.segs.len())];
        let mut end = segs.len();
        while end > 0 && segs[end - 1] == Seg::Num(0) {
            end -= 1;
        }
        let mut out = String::new();
        for s in &segs[..end] {
            match s {
                Seg::Num(n) => out.push_str(&format!("{n}.")),
                Seg::Pre(_, w) => out.push_str(&format!("~{w}.")),
                Seg::Word(w) => out.push_str(&format!("{w}.")),
            }
        }
        out
    }

    /// Whether this release-level listed version covers builds (Citrix "13.0").
    pub fn is_bare_release(&self) -> bool {
        self.family == Family::Citrix && self.segs.len() <= 2
    }
}

fn cmp_segs(a: &[Seg], b: &[Seg]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let o = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => cmp_seg(x, y),
            (Some(x), None) => tail(x),
            (None, Some(y)) => tail(y).reverse(),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// How a version with an extra segment `x` compares to the shorter one.
fn tail(x: &Seg) -> Ordering {
    match x {
        Seg::Num(0) => Ordering::Equal,
        Seg::Num(_) => Ordering::Greater,
        Seg::Pre(..) => Ordering::Less,
        Seg::Word(_) => Ordering::Greater,
    }
}

fn cmp_seg(x: &Seg, y: &Seg) -> Ordering {
    use Seg::*;
    match (x, y) {
        (Num(a), Num(b)) => a.cmp(b),
        (Pre(a, sa), Pre(b, sb)) => a.cmp(b).then_with(|| sa.cmp(sb)),
        (Word(a), Word(b)) => a.cmp(b),
        (Pre(..), _) => Ordering::Less,
        (_, Pre(..)) => Ordering::Greater,
        (Num(_), Word(_)) => Ordering::Greater,
        (Word(_), Num(_)) => Ordering::Less,
    }
}

/// Combines an NVD (version, update) pair into the single string a family compares.
/// `update` is the plain-text update value, None when ANY/NA.
pub fn combine(family: Family, version: &str, update: Option<&str>) -> String {
    match (family, update) {
        (Family::PanOs, Some(u)) if u.starts_with('h') => format!("{version}-{u}"),
        (Family::Ivanti, Some(u)) if u.starts_with('r') => format!("{version}{u}"),
        // "2.0" + "beta9" is the pre-release 2.0-beta9.
        (Family::Generic, Some(u)) if is_prerelease_update(u) => format!("{version}-{u}"),
        _ => version.to_string(),
    }
}

fn is_prerelease_update(u: &str) -> bool {
    let word: String = u.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    pre_rank(&word).is_some() && u[word.len()..].chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Bounds of an NVD range.
#[derive(Clone, Copy, Debug, Default)]
pub struct Range<'a> {
    pub start_including: Option<&'a str>,
    pub start_excluding: Option<&'a str>,
    pub end_including: Option<&'a str>,
    pub end_excluding: Option<&'a str>,
}

impl Range<'_> {
    /// Is `v` inside the range? Err when a bound does not parse or the family cannot order.
    pub fn contains(&self, v: &Version) -> Result<bool, Unparsable> {
        let f = v.family;
        let check = |bound: Option<&str>, ok: &dyn Fn(Ordering) -> bool| -> Result<bool, Unparsable> {
            match bound {
                None => Ok(true),
                Some(b) => {
                    let bv = Version::parse(f, b)?;
                    let o = v.compare(&bv).ok_or_else(|| Unparsable(format!("{} vs {b}", v.text)))?;
                    Ok(ok(o))
                }
            }
        };
        Ok(check(self.start_including, &|o| o != Ordering::Less)?
            && check(self.start_excluding, &|o| o == Ordering::Greater)?
            && check(self.end_including, &|o| o != Ordering::Greater)?
            && check(self.end_excluding, &|o| o == Ordering::Less)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(f: Family, s: &str) -> Version {
        Version::parse(f, s).unwrap()
    }

    #[test]
    fn generic_order() {
        use Ordering::*;
        let g = Family::Generic;
        assert_eq!(v(g, "2.15.0").compare(&v(g, "2.15")), Some(Equal));
        assert_eq!(v(g, "2.0-beta9").compare(&v(g, "2.0")), Some(Less));
        assert_eq!(v(g, "16.12.10a").compare(&v(g, "16.12.10")), Some(Greater));
        assert_eq!(v(g, "4.0e").compare(&v(g, "4.0")), Some(Greater));
        assert_eq!(v(g, "10.0.19045.2251").compare(&v(g, "10.0.19045.999")), Some(Greater));
        assert!(Version::parse(g, "不明").is_err());
        assert!(Version::parse(g, "6.0.x?").is_err());
    }

    #[test]
    fn family_specific() {
        use Ordering::*;
        assert_eq!(v(Family::PanOs, "10.2.9-h1").compare(&v(Family::PanOs, "10.2.9")), Some(Greater));
        assert_eq!(v(Family::PanOs, "10.2.9-h1").compare(&v(Family::PanOs, "10.2.10")), Some(Less));
        assert_eq!(v(Family::Citrix, "13.1-49.15").compare(&v(Family::Citrix, "13.1-49.13")), Some(Greater));
        assert!(v(Family::Citrix, "13.0-47.24").equals_listed(&v(Family::Citrix, "13.0")));
        assert!(!v(Family::Citrix, "13.1-47.24").equals_listed(&v(Family::Citrix, "13.0")));
        assert_eq!(v(Family::Ivanti, "9.0R3.3").compare(&v(Family::Ivanti, "9.0r3.3")), Some(Equal));
        assert_eq!(v(Family::Ivanti, "9.1r1").compare(&v(Family::Ivanti, "9.1r1.0")), Some(Equal));
        assert_eq!(v(Family::Ivanti, "9.0r3.3").compare(&v(Family::Ivanti, "9.0r4")), Some(Less));
        assert_eq!(v(Family::FortiOs, "v7.2.4,build1396 (GA)").compare(&v(Family::FortiOs, "7.2.4")), Some(Equal));
        assert_eq!(v(Family::CiscoIos, "15.2(4)M").compare(&v(Family::CiscoIos, "15.2(4)m")), Some(Equal));
        assert_eq!(v(Family::CiscoIos, "15.2(4)M").compare(&v(Family::CiscoIos, "15.2(5)e")), None);
    }

    #[test]
    fn ranges() {
        let f = Family::FortiOs;
        let r = Range { start_including: Some("6.0.0"), end_excluding: Some("6.0.5"), ..Default::default() };
        assert!(r.contains(&v(f, "6.0.4")).unwrap());
        assert!(!r.contains(&v(f, "6.0.5")).unwrap());
        assert!(r.contains(&v(f, "6.0.0")).unwrap());
        assert!(!r.contains(&v(f, "5.6.99")).unwrap());
        let ios = Range { end_excluding: Some("15.3"), ..Default::default() };
        assert!(ios.contains(&v(Family::CiscoIos, "15.2(4)m")).is_err());
    }
}
