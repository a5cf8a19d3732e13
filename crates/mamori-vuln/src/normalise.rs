//! From what hospitals write in their ledgers to candidate CPE names.

use serde::{Deserialize, Serialize};

use crate::cpe::Cpe;

/// What the ledger says about one device (the lead maps ledger rows to this).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceFacts {
    pub device_ref: String,
    pub maker: Option<String>,
    pub model: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    /// (name, version) of installed software / middleware.
    pub software: Vec<(String, Option<String>)>,
    /// The device sits at an external connection point (VPN gateway, firewall, remote-maintenance line).
    pub at_external_point: bool,
    /// CPE names chosen by a person; when given they replace the guesses.
    pub cpe_overrides: Vec<String>,
}

/// One candidate CPE with why it was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpeCandidate {
    pub cpe: Cpe,
    /// Japanese first, English second.
    pub reason: String,
}

/// The normaliser's answer for one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Normalised {
    pub device_ref: String,
    pub candidates: Vec<CpeCandidate>,
    /// Ledger texts no rule recognised (for the review list).
    pub unrecognised: Vec<String>,
    /// Problems a person should fix (bad override, missing version …), Japanese first.
    pub notes: Vec<String>,
}

/// Full-width ASCII to ASCII, ideographic space to space, lower case, collapsed spaces.
pub fn fold(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_lowercase();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-_()".contains(c)
}

/// The first version-looking token in `text` ("6.0.4", "v7.2.4,build1396" → "7.2.4", "9.0r3.3",
/// "15.2(4)m", "13.1-49.15", "10.2.9-h1").
pub fn version_token(text: &str) -> Option<String> {
    let t = fold(text);
    for raw in t.split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == ':') {
        let w = raw.trim_matches(|c: char| !is_version_char(c) || c == '(' || c == ')' && !raw.contains('('));
        let w = w.strip_prefix("ver.").or_else(|| w.strip_prefix("version")).unwrap_or(w);
        let w = if w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()) { &w[1..] } else { w };
        if w.starts_with(|c: char| c.is_ascii_digit())
            && w.chars().all(is_version_char)
            && (w.contains('.') || w.contains('(') || w.chars().all(|c| c.is_ascii_digit()))
        {
            let w = w.trim_end_matches(['.', '-', '_']);
            let balanced = w.matches('(').count() == w.matches(')').count();
            let w = if balanced { w } else { w.trim_end_matches(')') };
            return Some(w.to_string());
        }
    }
    None
}

fn cand(part: char, vendor: &str, product: &str, version: &str, update: &str, reason: String) -> CpeCandidate {
    CpeCandidate { cpe: Cpe::new(part, vendor, product, version, update), reason }
}

fn why(ja: &str, en: &str, text: &str) -> String {
    format!("{ja}（「{text}」）/ {en} (\"{text}\")")
}

/// Candidates for one product text (OS line, model line or software entry). Empty when unknown.
fn product_rules(text: &str, version: Option<&str>, hardware: Option<&str>) -> Vec<CpeCandidate> {
    let t = fold(text);
    let ver_src = version.map(str::to_string).or_else(|| version_token(&t));
    let ver = ver_src.as_deref().map(fold);
    let v = ver.as_deref().unwrap_or("*");
    let has = |k: &str| t.contains(k);
    let mut out = Vec::new();

    // Fortinet
    if has("fortios") || has("fortigate") || has("fortiwifi") || (has("fortinet") && (has("fg-") || has("fgt"))) {
        let ver = ver.as_deref().map(|v| v.split([',', ' ', '(']).next().unwrap_or(v).to_string());
        out.push(cand(
            'o',
            "fortinet",
            "fortios",
            ver.as_deref().unwrap_or("*"),
            "*",
            why("FortiGate/FortiOS と判断", "read as FortiGate/FortiOS", text),
        ));
        if let Some(m) = hardware.map(fold).or_else(|| Some(t.clone())) {
            if let Some(model) = fortigate_model(&m) {
                out.push(cand(
                    'h',
                    "fortinet",
                    &format!("fortigate_{model}"),
                    "-",
                    "*",
                    why("FortiGate の機種", "FortiGate hardware model", text),
                ));
            }
        }
        return out;
    }
    if has("fortiproxy") {
        out.push(cand('a', "fortinet", "fortiproxy", v, "*", why("FortiProxy と判断", "read as FortiProxy", text)));
        return out;
    }
    // Palo Alto PAN-OS
    if has("pan-os") || has("panos") || has("palo alto") {
        let (base, upd) = match ver.as_deref() {
            Some(v) => match v.split_once("-h") {
                Some((b, h)) => (b.to_string(), format!("h{h}")),
                None => (v.to_string(), "-".to_string()),
            },
            None => ("*".to_string(), "*".to_string()),
        };
        out.push(cand(
            'o',
            "paloaltonetworks",
            "pan-os",
            &base,
            &upd,
            why("PAN-OS と判断（-hN はホットフィックス）", "read as PAN-OS (-hN is a hotfix)", text),
        ));
        return out;
    }
    // Ivanti / Pulse Secure
    if has("connect secure") || has("pulse secure") || has("pulse connect") || has("policy secure") || has("ivanti ics")
    {
        let product = if has("policy secure") { "policy_secure" } else { "connect_secure" };
        let (base, upd) = match ver.as_deref() {
            Some(v) => match v.find('r') {
                Some(i) if i > 0 => (v[..i].to_string(), v[i..].to_string()),
                _ => (v.to_string(), "*".to_string()),
            },
            None => ("*".to_string(), "*".to_string()),
        };
        out.push(cand(
            'a',
            "ivanti",
            product,
            &base,
            &upd,
            why(
                "Pulse Secure / Ivanti（旧 pulsesecure）と判断、9.0R3.3 は版 9.0 + 更新 r3.3",
                "read as Pulse Secure / Ivanti (formerly pulsesecure); 9.0R3.3 is version 9.0 + update r3.3",
                text,
            ),
        ));
        return out;
    }
    // Citrix ADC / Gateway
    if has("netscaler") || has("citrix adc") || has("citrix gateway") || has("citrix") && (has("adc") || has("gateway"))
    {
        let gateway = has("gateway") && !has("adc");
        let r = why(
            "Citrix ADC / NetScaler と判断（13.1-49.15 はリリース 13.1 ビルド 49.15）",
            "read as Citrix ADC / NetScaler (13.1-49.15 is release 13.1 build 49.15)",
            text,
        );
        if gateway {
            out.push(cand('a', "citrix", "netscaler_gateway", v, "*", r.clone()));
            out.push(cand('o', "citrix", "netscaler_gateway_firmware", v, "*", r.clone()));
            out.push(cand('h', "citrix", "netscaler_gateway", "-", "*", r.clone()));
            out.push(cand('o', "citrix", "gateway_firmware", v, "*", r.clone()));
            out.push(cand('h', "citrix", "gateway", "-", "*", r));
        } else {
            out.push(cand('a', "citrix", "netscaler_application_delivery_controller", v, "*", r.clone()));
            out.push(cand('o', "citrix", "application_delivery_controller_firmware", v, "*", r.clone()));
            out.push(cand('h', "citrix", "application_delivery_controller", "-", "*", r));
        }
        return out;
    }
    // Cisco
    if has("ios xe") || has("ios-xe") {
        out.push(cand('o', "cisco", "ios_xe", v, "*", why("Cisco IOS XE と判断", "read as Cisco IOS XE", text)));
        return out;
    }
    if has("cisco ios") || t == "ios" || (has("cisco") && has(" ios")) {
        out.push(cand(
            'o',
            "cisco",
            "ios",
            v,
            "*",
            why("Cisco IOS と判断（トレインは完全一致のみ）", "read as Cisco IOS (trains match exactly only)", text),
        ));
        return out;
    }
    if has("cisco asa") || has("adaptive security appliance") {
        out.push(cand(
            'a',
            "cisco",
            "adaptive_security_appliance_software",
            v,
            "*",
            why("Cisco ASA と判断", "read as Cisco ASA", text),
        ));
        return out;
    }
    // F5
    if has("big-ip") || has("bigip") {
        for p in ["big-ip_local_traffic_manager", "big-ip_access_policy_manager"] {
            out.push(cand(
                'a',
                "f5",
                p,
                v,
                "*",
                why("F5 BIG-IP と判断（LTM/APM）", "read as F5 BIG-IP (LTM/APM)", text),
            ));
        }
        return out;
    }
    // Windows
    if has("windows") {
        let w = windows(&t, version, text);
        if !w.is_empty() {
            return w;
        }
    }
    // Middleware and applications.
    const APPS: &[(&str, &str, &str)] = &[
        ("log4j", "apache", "log4j"),
        ("fortiweb", "fortinet", "fortiweb"),
        ("fortimail", "fortinet", "fortimail"),
        ("forticlient ems", "fortinet", "forticlient_enterprise_management_server"),
        ("tomcat", "apache", "tomcat"),
        ("apache http server", "apache", "http_server"),
        ("httpd", "apache", "http_server"),
        ("confluence", "atlassian", "confluence_server"),
        ("confluence", "atlassian", "confluence_data_center"),
        ("exchange", "microsoft", "exchange_server"),
        ("sql server", "microsoft", "sql_server"),
        ("openssl", "openssl", "openssl"),
        ("openssh", "openbsd", "openssh"),
        ("nginx", "f5", "nginx"),
        ("postgresql", "postgresql", "postgresql"),
        ("mysql", "oracle", "mysql"),
        ("php", "php", "php"),
        ("esxi", "vmware", "esxi"),
        ("vcenter", "vmware", "vcenter_server"),
        ("serverprotect", "trendmicro", "serverprotect"),
        ("apex one", "trendmicro", "apex_one"),
        ("chrome", "google", "chrome"),
        ("firefox", "mozilla", "firefox"),
        ("acrobat reader", "adobe", "acrobat_reader_dc"),
        ("jre", "oracle", "jre"),
        ("jdk", "oracle", "jdk"),
        ("filezilla server", "filezilla-project", "filezilla_server"),
        ("screenconnect", "connectwise", "screenconnect"),
        ("teamviewer", "teamviewer", "teamviewer"),
        ("sonicwall sma", "sonicwall", "sma_100_firmware"),
    ];
    for (k, vendor, product) in APPS {
        if has(k) {
            let (ver, upd) = if *product == "exchange_server" {
                exchange_version(&t, version)
            } else {
                (v.to_string(), "*".to_string())
            };
            out.push(cand(
                if *product == "sma_100_firmware" { 'o' } else { 'a' },
                vendor,
                product,
                &ver,
                &upd,
                why("製品名から判断", "recognised product name", text),
            ));
        }
    }
    out
}

fn fortigate_model(t: &str) -> Option<String> {
    // "fortigate 60e", "fortigate-60e", "fg-60e", "fgt60e"
    let idx = t
        .find("fortigate")
        .map(|i| i + "fortigate".len())
        .or_else(|| t.find("fgt").map(|i| i + 3))
        .or_else(|| t.find("fg-").map(|i| i + 3))?;
    let rest = t[idx..].trim_start_matches([' ', '-', '_']);
    let model: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (model.chars().next()?.is_ascii_digit()).then_some(model.trim_end_matches('-').to_string())
}

fn exchange_version(t: &str, version: Option<&str>) -> (String, String) {
    let year = ["2010", "2013", "2016", "2019"].into_iter().find(|y| t.contains(y)).unwrap_or("*");
    let all = format!("{t} {}", version.map(fold).unwrap_or_default());
    let cu = all.split_once("cu").and_then(|(_, r)| {
        let n: String = r.trim_start().chars().take_while(char::is_ascii_digit).collect();
        (!n.is_empty()).then_some(n)
    });
    (year.to_string(), cu.map(|n| format!("cumulative_update_{n}")).unwrap_or_else(|| "*".into()))
}

fn windows(t: &str, version: Option<&str>, text: &str) -> Vec<CpeCandidate> {
    let mut out = Vec::new();
    let all = format!("{t} {}", version.map(fold).unwrap_or_default());
    let sp = all
        .split_once("service pack")
        .map(|(_, r)| r.trim_start())
        .or_else(|| all.split_once("sp").map(|(_, r)| r))
        .and_then(|r| {
            let n: String = r.chars().take_while(char::is_ascii_digit).collect();
            (!n.is_empty()).then(|| format!("sp{n}"))
        });
    // A build number "10.0.19045.3803" (or "19045.3803").
    let build = all.split(|c: char| c.is_whitespace() || c == '(' || c == ')').find_map(|w| {
        let parts: Vec<&str> = w.split('.').collect();
        if parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
            Some(w.to_string())
        } else if parts.len() == 2
            && parts[0].len() == 5
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        {
            Some(format!("10.0.{w}"))
        } else {
            None
        }
    });
    let r2 = all.contains(" r2");
    let reason =
        why("Windows の製品名・リリース・SP・ビルドから判断", "read as Windows release / service pack / build", text);
    if t.contains("server") {
        let year = ["2003", "2008", "2012", "2016", "2019", "2022", "2025"].into_iter().find(|y| t.contains(y));
        match year {
            Some(y @ ("2003" | "2008" | "2012")) => {
                let ver = if r2 { "r2" } else { "-" };
                out.push(cand(
                    'o',
                    "microsoft",
                    &format!("windows_server_{y}"),
                    ver,
                    sp.as_deref().unwrap_or("*"),
                    reason,
                ));
            }
            Some(y) => {
                out.push(cand(
                    'o',
                    "microsoft",
                    &format!("windows_server_{y}"),
                    build.as_deref().unwrap_or("-"),
                    "*",
                    reason,
                ));
            }
            None => {}
        }
        return out;
    }
    for (k, product) in [("windows 11", "windows_11"), ("windows 10", "windows_10")] {
        if t.contains(k) {
            let rel = all.split_whitespace().find(|w| {
                (w.len() == 4 && (w.ends_with("h1") || w.ends_with("h2")) && w[..2].chars().all(|c| c.is_ascii_digit()))
                    || (w.len() == 4
                        && w.chars().all(|c| c.is_ascii_digit())
                        && ["1507", "1511", "1607", "1703", "1709", "1803", "1809", "1903", "1909", "2004"].contains(w))
            });
            let product = match rel {
                Some(r) => format!("{product}_{r}"),
                None => product.to_string(),
            };
            out.push(cand('o', "microsoft", &product, build.as_deref().unwrap_or("-"), "*", reason));
            return out;
        }
    }
    for (k, product) in [
        ("windows 8.1", "windows_8.1"),
        ("windows 7", "windows_7"),
        ("windows xp", "windows_xp"),
        ("windows vista", "windows_vista"),
    ] {
        if t.contains(k) {
            out.push(cand('o', "microsoft", product, "-", sp.as_deref().unwrap_or("*"), reason));
            return out;
        }
    }
    out
}

/// Candidate CPEs for a device. With `known`, guesses from maker/product words are kept only
/// when the dictionary knows that vendor:product.
pub fn normalise(facts: &DeviceFacts, known: Option<&dyn Fn(&str, &str) -> bool>) -> Normalised {
    let mut n = Normalised { device_ref: facts.device_ref.clone(), ..Default::default() };
    if !facts.cpe_overrides.is_empty() {
        for o in &facts.cpe_overrides {
            match Cpe::parse(o) {
                Ok(cpe) => n
                    .candidates
                    .push(CpeCandidate { cpe, reason: "台帳で指定された CPE / CPE set in the ledger".into() }),
                Err(e) => n.notes.push(e.to_string()),
            }
        }
        return n;
    }
    let maker = facts.maker.as_deref().unwrap_or("");
    let model = facts.model.as_deref().unwrap_or("");
    // The OS line: "FortiOS 6.0.4", "Windows Server 2012 R2"; appliances often only have maker + model.
    let os_line = facts.os.as_deref().unwrap_or("");
    let mut texts: Vec<(String, Option<String>)> = Vec::new();
    if !os_line.trim().is_empty() {
        texts.push((format!("{maker} {os_line}"), facts.os_version.clone()));
    } else if !model.trim().is_empty() {
        texts.push((format!("{maker} {model}"), facts.os_version.clone()));
    }
    let mut found_os = false;
    for (i, (text, ver)) in texts.iter().enumerate() {
        let c = product_rules(text, ver.as_deref(), Some(&format!("{maker} {model}")));
        if c.is_empty() {
            n.unrecognised.push(text.trim().to_string());
        } else {
            found_os = i == 0;
            n.candidates.extend(c);
        }
    }
    let _ = found_os;
    for (name, ver) in &facts.software {
        let mut c = product_rules(name, ver.as_deref(), None);
        if c.is_empty() {
            if let Some(k) = known {
                // Generic guess: maker word + product words.
                let words: Vec<String> =
                    fold(name).split(' ').filter(|w| version_token(w).is_none()).map(str::to_string).collect();
                if words.len() >= 2 {
                    let vendor = &words[0];
                    let product = words[1..].join("_");
                    if k(vendor, &product) {
                        let v = ver.clone().or_else(|| version_token(name)).unwrap_or_else(|| "*".into());
                        c.push(cand(
                            'a',
                            vendor,
                            &product,
                            &v,
                            "*",
                            why("辞書にある vendor:product と一致", "vendor:product found in the dictionary", name),
                        ));
                    }
                }
            }
        }
        if c.is_empty() {
            n.unrecognised.push(name.clone());
        }
        n.candidates.extend(c);
    }
    for c in &n.candidates {
        if c.cpe.version.is_any() && c.cpe.part_char() != Some('h') {
            n.notes.push(format!(
                "版数が台帳にないため製品名だけで照合します: {} / No version in the ledger, matching by product only: {}",
                c.cpe, c.cpe
            ));
        }
    }
    n
}

impl Normalised {
    /// True when nothing could be turned into a CPE.
    pub fn is_unmatched(&self) -> bool {
        self.candidates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(f: &DeviceFacts) -> Vec<String> {
        normalise(f, None).candidates.iter().map(|c| c.cpe.to_fs()).collect()
    }

    #[test]
    fn version_tokens() {
        assert_eq!(version_token("FortiOS 6.0.4").as_deref(), Some("6.0.4"));
        assert_eq!(version_token("v7.2.4,build1396 (GA)").as_deref(), Some("7.2.4"));
        assert_eq!(version_token("Cisco IOS 15.2(4)M").as_deref(), Some("15.2(4)m"));
        assert_eq!(version_token("Pulse Connect Secure 9.0R3.3").as_deref(), Some("9.0r3.3"));
        assert_eq!(version_token("ＦｏｒｔｉＯＳ　６.０.４").as_deref(), Some("6.0.4"));
    }

    #[test]
    fn hospital_texts() {
        let f = DeviceFacts {
            maker: Some("Fortinet".into()),
            model: Some("FortiGate 60E".into()),
            os: Some("FortiOS 6.0.4".into()),
            ..Default::default()
        };
        assert_eq!(
            fs(&f),
            ["cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*", "cpe:2.3:h:fortinet:fortigate_60e:-:*:*:*:*:*:*:*"]
        );
        let w = DeviceFacts { os: Some("Windows Server 2012 R2".into()), ..Default::default() };
        assert_eq!(fs(&w), ["cpe:2.3:o:microsoft:windows_server_2012:r2:*:*:*:*:*:*:*"]);
        let w10 = DeviceFacts {
            os: Some("Windows 10 22H2".into()),
            os_version: Some("19045.3803".into()),
            ..Default::default()
        };
        assert_eq!(fs(&w10), ["cpe:2.3:o:microsoft:windows_10_22h2:10.0.19045.3803:*:*:*:*:*:*:*"]);
        let p = DeviceFacts { software: vec![("Pulse Connect Secure 9.0R3.3".into(), None)], ..Default::default() };
        assert_eq!(fs(&p), ["cpe:2.3:a:ivanti:connect_secure:9.0:r3.3:*:*:*:*:*:*"]);
        let c =
            DeviceFacts { maker: Some("Cisco".into()), os: Some("Cisco IOS 15.2(4)M".into()), ..Default::default() };
        assert_eq!(fs(&c), [r"cpe:2.3:o:cisco:ios:15.2\(4\)m:*:*:*:*:*:*:*"]);
        let pan = DeviceFacts { os: Some("PAN-OS 10.2.9-h1".into()), ..Default::default() };
        assert_eq!(fs(&pan), ["cpe:2.3:o:paloaltonetworks:pan-os:10.2.9:h1:*:*:*:*:*:*"]);
        let w7 = DeviceFacts { os: Some("Windows 7 Professional SP1".into()), ..Default::default() };
        assert_eq!(fs(&w7), ["cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*"]);
        let unknown = DeviceFacts {
            device_ref: "X".into(),
            maker: Some("某社".into()),
            model: Some("電子カルテ端末".into()),
            ..Default::default()
        };
        assert!(normalise(&unknown, None).is_unmatched());
    }
}
