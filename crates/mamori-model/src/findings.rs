//! What the ledgers tell without anybody asking: each finding says what, where and why.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ledger::{Account, Device, LedgerKind};

/// Looks up the end of support of a product as written in a ledger (the catalog implements it).
pub trait EosLookup {
    /// (product line name, end of support, source of the date)
    fn end_of_support(&self, product: &str, version: Option<&str>) -> Option<(String, NaiveDate, String)>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    High,
    Medium,
    Low,
    Info,
}

impl FindingSeverity {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::High => "高",
            Self::Medium => "中",
            Self::Low => "低",
            Self::Info => "情報",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// OS past its end of support
    OsEndOfSupport,
    /// software past its end of support
    SoftwareEndOfSupport,
    /// the device's own end-of-support date (保守期限) has passed
    DeviceEndOfSupport,
    /// end of support within the warning window
    EndOfSupportSoon,
    /// account of a retired person still in the ledger
    AccountRetired,
    /// account past its valid-until date and not disabled
    AccountExpired,
    /// account not used for N days
    AccountUnused,
    /// device in use with no owner (利用者) or no place (設置場所)
    DeviceNoOwnerOrPlace,
    DuplicateIp,
    DuplicateHostname,
    /// PC used to log on as administrator: protect it specially
    AdminLogonPc,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OsEndOfSupport => "os_end_of_support",
            Self::SoftwareEndOfSupport => "software_end_of_support",
            Self::DeviceEndOfSupport => "device_end_of_support",
            Self::EndOfSupportSoon => "end_of_support_soon",
            Self::AccountRetired => "account_retired",
            Self::AccountExpired => "account_expired",
            Self::AccountUnused => "account_unused",
            Self::DeviceNoOwnerOrPlace => "device_no_owner_or_place",
            Self::DuplicateIp => "duplicate_ip",
            Self::DuplicateHostname => "duplicate_hostname",
            Self::AdminLogonPc => "admin_logon_pc",
        }
    }
    /// Checklist item the finding is evidence for (FY2024 numbering).
    pub fn checklist_item(self) -> &'static str {
        match self {
            Self::OsEndOfSupport | Self::SoftwareEndOfSupport | Self::DeviceEndOfSupport | Self::EndOfSupportSoon => {
                "2-(7)"
            }
            Self::AccountRetired | Self::AccountExpired | Self::AccountUnused => "2-(5)",
            Self::DeviceNoOwnerOrPlace | Self::DuplicateIp | Self::DuplicateHostname => "2-(1)",
            Self::AdminLogonPc => "2-(4)",
        }
    }
}

/// One finding about one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: FindingSeverity,
    pub ledger: LedgerKind,
    /// Key of the record (管理番号 / ユーザID).
    pub key: String,
    pub title_ja: String,
    pub title_en: String,
    /// Why: the facts behind the finding, with their source.
    pub reason_ja: String,
    pub reason_en: String,
}

/// Settings of the ledger review.
#[derive(Debug, Clone)]
pub struct FindingOptions {
    pub today: NaiveDate,
    /// Accounts not used for this many days are reported (default 90).
    pub unused_days: i64,
    /// End of support within this many days gives an early warning (default 180).
    pub eos_warning_days: i64,
}

impl FindingOptions {
    pub fn new(today: NaiveDate) -> Self {
        Self { today, unused_days: 90, eos_warning_days: 180 }
    }
}

fn f(
    kind: FindingKind,
    severity: FindingSeverity,
    ledger: LedgerKind,
    key: &str,
    t: (String, String),
    r: (String, String),
) -> Finding {
    Finding {
        kind,
        severity,
        ledger,
        key: key.to_string(),
        title_ja: t.0,
        title_en: t.1,
        reason_ja: r.0,
        reason_en: r.1,
    }
}

/// Reviews the device ledger.
pub fn device_findings(devices: &[Device], eos: &dyn EosLookup, o: &FindingOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let dev = LedgerKind::Devices;
    for d in devices.iter().filter(|d| d.in_use()) {
        let key = d.asset_no.as_str();
        let mut products: Vec<(bool, String, Option<String>)> = Vec::new();
        if !d.os.is_empty() {
            products.push((true, d.os.clone(), Some(d.os_version.clone()).filter(|v| !v.is_empty())));
        }
        products.extend(d.software_list().into_iter().map(|(n, v)| (false, n, v)));
        for (is_os, name, version) in products {
            let Some((line, end, source)) = eos.end_of_support(&name, version.as_deref()) else {
                continue;
            };
            let written = match &version {
                Some(v) => format!("{name} {v}"),
                None => name.clone(),
            };
            let days = (end - o.today).num_days();
            if days < 0 {
                let kind = if is_os { FindingKind::OsEndOfSupport } else { FindingKind::SoftwareEndOfSupport };
                out.push(f(
                    kind,
                    FindingSeverity::High,
                    dev,
                    key,
                    (format!("サポート終了の{}: {written}", if is_os { "OS" } else { "ソフトウェア" }), format!("{} past end of support: {written}", if is_os { "OS" } else { "software" })),
                    (
                        format!("{line} のサポートは {end} に終了しています（出典: {source}）。更新プログラムが提供されず、脆弱性が修正されません。"),
                        format!("{line} reached end of support on {end} (source: {source}); no more security updates."),
                    ),
                ));
            } else if days <= o.eos_warning_days {
                out.push(f(
                    FindingKind::EndOfSupportSoon,
                    FindingSeverity::Medium,
                    dev,
                    key,
                    (format!("まもなくサポート終了: {written}"), format!("end of support soon: {written}")),
                    (
                        format!("{line} のサポートは {end} に終了します（あと{days}日、出典: {source}）。"),
                        format!("{line} ends support on {end} (in {days} days; source: {source})."),
                    ),
                ));
            }
        }
        if let Some(end) = d.end_of_support
            && end < o.today
        {
            out.push(f(
                FindingKind::DeviceEndOfSupport,
                FindingSeverity::High,
                dev,
                key,
                ("保守期限切れの機器".into(), "device past its end of support".into()),
                (
                    format!("台帳のサポート終了日 {end} を過ぎています。"),
                    format!("the ledger's end-of-support date {end} has passed."),
                ),
            ));
        }
        let mut missing = Vec::new();
        if d.user.is_empty() {
            missing.push(("利用者", "user"));
        }
        if d.location.is_empty() {
            missing.push(("設置場所", "location"));
        }
        if !missing.is_empty() {
            let ja: Vec<&str> = missing.iter().map(|m| m.0).collect();
            let en: Vec<&str> = missing.iter().map(|m| m.1).collect();
            out.push(f(
                FindingKind::DeviceNoOwnerOrPlace,
                FindingSeverity::Low,
                dev,
                key,
                (format!("{}が未記入の機器", ja.join("・")), format!("device without {}", en.join(" and "))),
                (
                    "機器の所在と利用者を台帳で管理してください（チェックリスト 2-(1)）。".into(),
                    "the checklist (2-(1)) asks to record where each device is and who uses it.".into(),
                ),
            ));
        }
        if d.admin_logon_pc == Some(true) {
            let weak_av = d.antivirus.is_empty() || looks_disabled(&d.antivirus_state);
            out.push(f(
                FindingKind::AdminLogonPc,
                if weak_av { FindingSeverity::Medium } else { FindingSeverity::Info },
                dev,
                key,
                ("管理者ログオン端末".into(), "administrator logon PC".into()),
                if weak_av {
                    (
                        "管理者権限でサーバ等にログオンする端末ですが、ウイルス対策が未記入または無効です。".into(),
                        "this PC logs on to servers as administrator but has no recorded or an inactive antivirus."
                            .into(),
                    )
                } else {
                    (
                        "管理者権限でサーバ等にログオンする端末です。用途を限定し、特に厳重に管理してください。".into(),
                        "this PC logs on to servers as administrator: restrict its use and protect it specially."
                            .into(),
                    )
                },
            ));
        }
    }
    duplicates(
        devices,
        &mut out,
        FindingKind::DuplicateIp,
        |d| d.ips().into_iter().map(|ip| ip.to_string()).collect(),
        ("IPアドレス", "IP address"),
    );
    duplicates(
        devices,
        &mut out,
        FindingKind::DuplicateHostname,
        |d| {
            if d.hostname.is_empty() { vec![] } else { vec![d.hostname.to_lowercase()] }
        },
        ("コンピュータ名", "host name"),
    );
    out
}

fn looks_disabled(state: &str) -> bool {
    let s = state.to_lowercase();
    ["無効", "停止", "未導入", "期限切れ", "古い", "disabled", "expired", "outdated", "none", "なし"]
        .iter()
        .any(|w| s.contains(w))
}

fn duplicates(
    devices: &[Device],
    out: &mut Vec<Finding>,
    kind: FindingKind,
    values: impl Fn(&Device) -> Vec<String>,
    label: (&str, &str),
) {
    let mut by_value: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for d in devices.iter().filter(|d| d.in_use()) {
        for v in values(d) {
            by_value.entry(v).or_default().push(&d.asset_no);
        }
    }
    for (v, keys) in by_value.into_iter().filter(|(_, k)| k.len() > 1) {
        for key in &keys {
            let others: Vec<&str> = keys.iter().filter(|k| *k != key).copied().collect();
            out.push(f(
                kind,
                FindingSeverity::Medium,
                LedgerKind::Devices,
                key,
                (format!("{}の重複: {v}", label.0), format!("duplicate {}: {v}", label.1)),
                (
                    format!("管理番号 {} と同じ{}です。台帳の誤りか、実機の設定誤りです。", others.join("、"), label.0),
                    format!("same {} as {}: a ledger or configuration error.", label.1, others.join(", ")),
                ),
            ));
        }
    }
}

/// Reviews the user ID ledger (checklist 2-(5): delete accounts of retired people and unused accounts).
pub fn account_findings(accounts: &[Account], o: &FindingOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let led = LedgerKind::Accounts;
    for a in accounts {
        let key = a.user_id.as_str();
        let who = a.display_name();
        match a.status.as_deref() {
            Some("deleted") => continue,
            Some("retired") => {
                out.push(f(
                    FindingKind::AccountRetired,
                    FindingSeverity::High,
                    led,
                    key,
                    (format!("退職者のアカウント: {key} {who}"), format!("account of a retired person: {key}")),
                    ("状態が「退職」のままです。システムからアカウントを削除し、台帳の状態を「削除」にしてください（チェックリスト 2-(5)）。".into(), "status is retired: delete the account from the system and mark it deleted (checklist 2-(5)).".into()),
                ));
                continue;
            }
            _ => {}
        }
        let enabled = a.status.as_deref() != Some("suspended");
        if let Some(until) = a.valid_until
            && until < o.today
            && enabled
        {
            out.push(f(
                FindingKind::AccountExpired,
                FindingSeverity::High,
                led,
                key,
                (format!("有効期限切れのアカウント: {key} {who}"), format!("expired account: {key}")),
                (
                    format!("有効期限 {until} を過ぎていますが、状態が有効のままです。"),
                    format!("valid until {until}, but still enabled."),
                ),
            ));
        }
        if let Some(last) = a.last_login {
            let idle = (o.today - last).num_days();
            if idle > o.unused_days && enabled {
                out.push(f(
                    FindingKind::AccountUnused,
                    FindingSeverity::Medium,
                    led,
                    key,
                    (
                        format!("{}日以上使われていないアカウント: {key} {who}", o.unused_days),
                        format!("account unused for over {} days: {key}", o.unused_days),
                    ),
                    (
                        format!("最終ログインは {last}（{idle}日前）です。不要なら削除してください。"),
                        format!("last login {last} ({idle} days ago); delete it if no longer needed."),
                    ),
                ));
            }
        }
    }
    out
}

/// Counts by severity, for dashboards.
pub fn count_by_severity(findings: &[Finding]) -> BTreeMap<FindingSeverity, usize> {
    let mut m = BTreeMap::new();
    for f in findings {
        *m.entry(f.severity).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Eos;
    impl EosLookup for Eos {
        fn end_of_support(&self, product: &str, _v: Option<&str>) -> Option<(String, NaiveDate, String)> {
            match product {
                "Win8" => Some(("Windows 8".into(), NaiveDate::from_ymd_opt(2016, 1, 12)?, "test".into())),
                "Server2016" => {
                    Some(("Windows Server 2016".into(), NaiveDate::from_ymd_opt(2027, 1, 12)?, "test".into()))
                }
                _ => None,
            }
        }
    }

    fn opts() -> FindingOptions {
        FindingOptions::new(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
    }

    fn dev(no: &str, os: &str, ip: &str, host: &str) -> Device {
        Device {
            asset_no: no.into(),
            os: os.into(),
            ip_addresses: ip.into(),
            hostname: host.into(),
            user: "u".into(),
            location: "l".into(),
            ..Default::default()
        }
    }

    #[test]
    fn devices() {
        let mut retired = dev("9", "Win8", "10.0.0.1", "PC1");
        retired.status = Some("retired".into());
        let ds = vec![
            dev("1", "Win8", "10.0.0.1", "PC1"),
            dev("2", "Server2016", "10.0.0.1", "pc1"),
            dev("3", "Win11", "10.0.0.3", "PC3"),
            retired,
        ];
        let fs = device_findings(&ds, &Eos, &opts());
        let kinds: Vec<(&str, FindingKind)> = fs.iter().map(|f| (f.key.as_str(), f.kind)).collect();
        assert!(kinds.contains(&("1", FindingKind::OsEndOfSupport)));
        assert!(kinds.contains(&("2", FindingKind::EndOfSupportSoon)));
        assert!(kinds.contains(&("1", FindingKind::DuplicateIp)) && kinds.contains(&("2", FindingKind::DuplicateIp)));
        assert!(kinds.contains(&("2", FindingKind::DuplicateHostname)), "host names compare case-insensitively");
        assert!(!kinds.iter().any(|(k, _)| *k == "9"), "retired devices are not reviewed");
        assert!(!kinds.iter().any(|(k, _)| *k == "3"));
        let eos = fs.iter().find(|f| f.kind == FindingKind::OsEndOfSupport).unwrap();
        assert!(eos.reason_ja.contains("2016-01-12") && eos.reason_ja.contains("出典"));
    }

    #[test]
    fn accounts() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let a = |id: &str, status: Option<&str>, until, last| Account {
            user_id: id.into(),
            status: status.map(str::to_string),
            valid_until: until,
            last_login: last,
            ..Default::default()
        };
        let accs = vec![
            a("ret", Some("retired"), None, None),
            a("exp", Some("active"), d(2026, 3, 31), d(2026, 11, 1)),
            a("idle", None, None, d(2026, 8, 1)),
            a("fresh", Some("active"), d(2027, 3, 31), d(2026, 11, 20)),
            a("off", Some("suspended"), d(2026, 3, 31), d(2025, 1, 1)),
            a("gone", Some("deleted"), None, None),
        ];
        let fs = account_findings(&accs, &opts());
        let kinds: Vec<(&str, FindingKind)> = fs.iter().map(|f| (f.key.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("ret", FindingKind::AccountRetired),
                ("exp", FindingKind::AccountExpired),
                ("idle", FindingKind::AccountUnused)
            ]
        );
        let mut o = opts();
        o.unused_days = 200;
        assert!(account_findings(&accs, &o).iter().all(|f| f.kind != FindingKind::AccountUnused));
    }
}
