//! The records of each ledger and their conversion from and to the cells of a file row.

use std::net::IpAddr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::LedgerKind;
use super::columns::{ACCOUNT_STATUSES, DEVICE_CATEGORIES, DEVICE_STATUSES, EnumValue};
use crate::date::parse_date;
use crate::text::fold_key;

/// A problem with one cell, before the importer adds file and row.
#[derive(Debug, Clone, PartialEq)]
pub struct CellProblem {
    pub column: &'static str,
    pub value: String,
    pub message_ja: String,
    pub message_en: String,
    pub hint_ja: String,
    pub hint_en: String,
}

/// Reads typed values out of one row whose cells are already in the ledger's column order
/// (`None` = the file has no such column). Problems are collected, not returned one by one,
/// so every bad cell of a file is reported at once.
pub struct RowReader<'a> {
    kind: LedgerKind,
    cells: &'a [Option<String>],
    pub problems: Vec<CellProblem>,
}

impl<'a> RowReader<'a> {
    pub fn new(kind: LedgerKind, cells: &'a [Option<String>]) -> Self {
        debug_assert_eq!(cells.len(), kind.columns().len());
        Self { kind, cells, problems: Vec::new() }
    }

    fn raw(&self, key: &str) -> &str {
        let idx = self.kind.columns().iter().position(|c| c.key == key).expect("known column");
        self.cells[idx].as_deref().unwrap_or("")
    }

    fn problem(&mut self, key: &'static str, value: &str, ja: String, en: String, hint_ja: &str, hint_en: &str) {
        self.problems.push(CellProblem {
            column: key,
            value: value.chars().take(80).collect(),
            message_ja: ja,
            message_en: en,
            hint_ja: hint_ja.into(),
            hint_en: hint_en.into(),
        });
    }

    pub fn text(&mut self, key: &'static str) -> String {
        let v = self.raw(key).to_string();
        if v.chars().count() > MAX_CELL_CHARS {
            self.problem(
                key,
                &v,
                format!("値が長すぎます（{}文字、上限{}文字）", v.chars().count(), MAX_CELL_CHARS),
                format!("value too long ({} characters, limit {})", v.chars().count(), MAX_CELL_CHARS),
                "セルの内容を確認してください（列がずれていないか）",
                "check the cell (are the columns shifted?)",
            );
            return String::new();
        }
        v
    }

    pub fn required(&mut self, key: &'static str) -> String {
        let v = self.text(key);
        if v.is_empty() {
            self.problem(
                key,
                "",
                "必須の値が空です".into(),
                "required value is empty".into(),
                "値を入力してください",
                "enter a value",
            );
        }
        v
    }

    pub fn date(&mut self, key: &'static str) -> Option<NaiveDate> {
        let v = self.raw(key).to_string();
        match parse_date(&v) {
            Ok(d) => d,
            Err(why) => {
                self.problem(
                    key,
                    &v,
                    why,
                    format!("not a date: {v}"),
                    "2023/4/1、2023-04-01、令和5年4月1日、R5.4.1 のいずれかで書いてください",
                    "write it as 2023/4/1, 2023-04-01, 令和5年4月1日 or R5.4.1",
                );
                None
            }
        }
    }

    pub fn flag(&mut self, key: &'static str) -> Option<bool> {
        let v = self.raw(key).to_string();
        if v.is_empty() {
            return None;
        }
        match parse_bool(&v) {
            Some(b) => Some(b),
            None => {
                self.problem(
                    key,
                    &v,
                    format!("はい／いいえとして読めません: {v}"),
                    format!("not a yes/no value: {v}"),
                    "はい・いいえ、有・無、○・× のいずれかで書いてください",
                    "write yes/no (はい/いいえ, 有/無, ○/×)",
                );
                None
            }
        }
    }

    pub fn int(&mut self, key: &'static str) -> Option<i64> {
        let v = self.raw(key).to_string();
        if v.is_empty() {
            return None;
        }
        match v.trim_end_matches(".0").parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.problem(
                    key,
                    &v,
                    format!("整数ではありません: {v}"),
                    format!("not a whole number: {v}"),
                    "数字だけで書いてください",
                    "use digits only",
                );
                None
            }
        }
    }

    pub fn choice(&mut self, key: &'static str, values: &'static [EnumValue]) -> Option<&'static str> {
        let v = self.raw(key).to_string();
        if v.is_empty() {
            return None;
        }
        match parse_enum(values, &v) {
            Some(code) => Some(code),
            None => {
                let allowed: Vec<&str> = values.iter().map(|e| e.ja).collect();
                let allowed_en: Vec<&str> = values.iter().map(|e| e.en).collect();
                self.problem(
                    key,
                    &v,
                    format!("「{v}」は使えない値です"),
                    format!("'{v}' is not an allowed value"),
                    &format!("次のいずれかにしてください: {}", allowed.join("、")),
                    &format!("use one of: {}", allowed_en.join(", ")),
                );
                None
            }
        }
    }

    /// IP addresses: each must parse, except masked placeholders such as the manual's `192.168.〇.〇`,
    /// which are kept as written (they are not used for duplicate checks).
    pub fn ip_list(&mut self, key: &'static str) -> String {
        let v = self.text(key);
        for part in split_list(&v) {
            if part.parse::<IpAddr>().is_err() && !is_masked_ip(part) {
                self.problem(
                    key,
                    part,
                    format!("IPアドレスとして読めません: {part}"),
                    format!("not an IP address: {part}"),
                    "192.168.1.10 の形で書き、複数あるときは「,」で区切ってください",
                    "write 192.168.1.10; separate several with ','",
                );
            }
        }
        v
    }

    pub fn mac(&mut self, key: &'static str) -> String {
        let v = self.text(key);
        if v.is_empty() {
            return v;
        }
        let hex: String = v.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
        if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            self.problem(
                key,
                &v,
                format!("MACアドレスとして読めません: {v}"),
                format!("not a MAC address: {v}"),
                "00:11:22:33:44:55 の形で書いてください",
                "write 00:11:22:33:44:55",
            );
        }
        v
    }
}

/// Longest text accepted in one cell; longer values are nearly always a broken file.
pub const MAX_CELL_CHARS: usize = 4000;

pub fn parse_bool(v: &str) -> Option<bool> {
    match fold_key(v).as_str() {
        "はい" | "有" | "有り" | "あり" | "○" | "〇" | "◯" | "yes" | "y" | "true" | "1" | "済" | "受領" | "受領済" => {
            Some(true)
        }
        "いいえ" | "無" | "無し" | "なし" | "×" | "✕" | "no" | "n" | "false" | "0" | "未" | "未受領" => {
            Some(false)
        }
        _ => None,
    }
}

pub fn bool_cell(b: Option<bool>) -> String {
    match b {
        Some(true) => "はい".into(),
        Some(false) => "いいえ".into(),
        None => String::new(),
    }
}

pub fn parse_enum(values: &'static [EnumValue], v: &str) -> Option<&'static str> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Folded spellings of each value list, computed once per list (NFKC is not free on every cell).
    type Folded = HashMap<String, &'static str>;
    static CACHE: OnceLock<Mutex<HashMap<usize, &'static Folded>>> = OnceLock::new();
    let folded: &'static Folded = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(values.as_ptr() as usize).or_insert_with(|| {
            let mut m = Folded::new();
            for e in values {
                for name in [e.code, e.ja, e.en].into_iter().chain(e.aliases.iter().copied()) {
                    m.entry(fold_key(name)).or_insert(e.code);
                }
            }
            Box::leak(Box::new(m))
        })
    };
    folded.get(&fold_key(v)).copied()
}

pub fn enum_label(values: &'static [EnumValue], code: &str) -> &'static str {
    values.iter().find(|e| e.code == code).map(|e| e.ja).unwrap_or("")
}

/// Items of a list cell: separated by `,` `;` `、` `，` or line breaks.
pub fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split([',', ';', '、', '，', '\n']).map(str::trim).filter(|s| !s.is_empty())
}

fn is_masked_ip(s: &str) -> bool {
    s.split('.').count() == 4 && s.chars().any(|c| matches!(c, '〇' | '○' | 'x' | 'X' | '*' | '＊'))
}

fn date_cell(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// A record of one ledger: read from a row, written back to the same columns, identified by its key.
pub trait LedgerRecord: Sized {
    const KIND: LedgerKind;
    fn key(&self) -> &str;
    fn read(r: &mut RowReader<'_>) -> Self;
    /// Cells in the order of `KIND.columns()`; reading them back gives the same record.
    fn to_cells(&self) -> Vec<String>;
    /// Typed values in the order of `KIND.columns()`, borrowed (for storing without copies).
    fn values(&self) -> Vec<FieldValue<'_>>;
}

/// A typed field of a record, as stored: enums by their code, dates as they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    OptDate(Option<NaiveDate>),
    OptInt(Option<i64>),
    OptBool(Option<bool>),
}

use FieldValue::{OptBool, OptDate, OptInt, OptText, Text};

/// 機器台帳の1行 (one device).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// 管理番号
    pub asset_no: String,
    /// 機器種別: server / pc / network / medical / other
    pub category: Option<String>,
    pub maker: String,
    /// 機種・型番
    pub model: String,
    pub os: String,
    pub os_version: String,
    /// ソフトウェア (several separated by line breaks or `;`, paired by position with the versions)
    pub software: String,
    pub software_version: String,
    pub ip_addresses: String,
    pub mac: String,
    /// コンピュータ名
    pub hostname: String,
    /// 設置場所
    pub location: String,
    /// 利用者
    pub user: String,
    /// 登録日
    pub registered_on: Option<NaiveDate>,
    /// 状態: active / stopped / spare / broken / retired
    pub status: Option<String>,
    pub description: String,
    /// 管理者: 病院 (the hospital) or the vendor's name
    pub managed_by: String,
    /// 管理者ログオン端末: used to log on to servers and network devices as administrator
    pub admin_logon_pc: Option<bool>,
    pub antivirus: String,
    pub antivirus_state: String,
    pub end_of_support: Option<NaiveDate>,
}

impl Device {
    pub fn category_label(&self) -> &'static str {
        self.category.as_deref().map(|c| enum_label(DEVICE_CATEGORIES, c)).unwrap_or("")
    }
    pub fn status_label(&self) -> &'static str {
        self.status.as_deref().map(|c| enum_label(DEVICE_STATUSES, c)).unwrap_or("")
    }
    /// In use unless the ledger says it is retired, spare or broken (blank counts as in use).
    pub fn in_use(&self) -> bool {
        matches!(self.status.as_deref(), None | Some("active") | Some("stopped"))
    }
    /// (name, version) pairs of the software column.
    pub fn software_list(&self) -> Vec<(String, Option<String>)> {
        let versions: Vec<&str> = split_soft(&self.software_version).collect();
        split_soft(&self.software)
            .enumerate()
            .map(|(i, name)| (name.to_string(), versions.get(i).filter(|v| !v.is_empty()).map(|v| v.to_string())))
            .collect()
    }
    pub fn ips(&self) -> Vec<IpAddr> {
        split_list(&self.ip_addresses).filter_map(|s| s.parse().ok()).collect()
    }
}

fn split_soft(v: &str) -> impl Iterator<Item = &str> {
    v.split(['\n', ';']).map(str::trim).filter(|s| !s.is_empty())
}

pub type DeviceCategory = &'static str;
pub type DeviceStatus = &'static str;
pub type AccountStatus = &'static str;

impl LedgerRecord for Device {
    const KIND: LedgerKind = LedgerKind::Devices;
    fn key(&self) -> &str {
        &self.asset_no
    }
    fn read(r: &mut RowReader<'_>) -> Self {
        Device {
            asset_no: r.required("asset_no"),
            category: r.choice("category", DEVICE_CATEGORIES).map(str::to_string),
            maker: r.text("maker"),
            model: r.text("model"),
            os: r.text("os"),
            os_version: r.text("os_version"),
            software: r.text("software"),
            software_version: r.text("software_version"),
            ip_addresses: r.ip_list("ip_addresses"),
            mac: r.mac("mac"),
            hostname: r.text("hostname"),
            location: r.text("location"),
            user: r.text("user"),
            registered_on: r.date("registered_on"),
            status: r.choice("status", DEVICE_STATUSES).map(str::to_string),
            description: r.text("description"),
            managed_by: r.text("managed_by"),
            admin_logon_pc: r.flag("admin_logon_pc"),
            antivirus: r.text("antivirus"),
            antivirus_state: r.text("antivirus_state"),
            end_of_support: r.date("end_of_support"),
        }
    }
    fn to_cells(&self) -> Vec<String> {
        vec![
            self.asset_no.clone(),
            self.category_label().into(),
            self.maker.clone(),
            self.model.clone(),
            self.os.clone(),
            self.os_version.clone(),
            self.software.clone(),
            self.software_version.clone(),
            self.ip_addresses.clone(),
            self.mac.clone(),
            self.hostname.clone(),
            self.location.clone(),
            self.user.clone(),
            date_cell(self.registered_on),
            self.status_label().into(),
            self.description.clone(),
            self.managed_by.clone(),
            bool_cell(self.admin_logon_pc),
            self.antivirus.clone(),
            self.antivirus_state.clone(),
            date_cell(self.end_of_support),
        ]
    }
    fn values(&self) -> Vec<FieldValue<'_>> {
        vec![
            Text(&self.asset_no),
            OptText(self.category.as_deref()),
            Text(&self.maker),
            Text(&self.model),
            Text(&self.os),
            Text(&self.os_version),
            Text(&self.software),
            Text(&self.software_version),
            Text(&self.ip_addresses),
            Text(&self.mac),
            Text(&self.hostname),
            Text(&self.location),
            Text(&self.user),
            OptDate(self.registered_on),
            OptText(self.status.as_deref()),
            Text(&self.description),
            Text(&self.managed_by),
            OptBool(self.admin_logon_pc),
            Text(&self.antivirus),
            Text(&self.antivirus_state),
            OptDate(self.end_of_support),
        ]
    }
}

/// 医療情報システム一覧の1行 (one information system).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InfoSystem {
    /// システム名 (電子カルテ, 医事会計, PACS …)
    pub name: String,
    pub category: String,
    /// 事業者 (vendor name, as in the vendor list)
    pub vendor: String,
    pub contract: String,
    /// リモート保守の有無
    pub remote_maintenance: Option<bool>,
    pub remote_method: String,
    /// MDS/SDS を受領したか
    pub mds_sds: Option<bool>,
    /// 稼働機器: asset numbers of the devices it runs on
    pub devices: String,
    pub importance: String,
    /// 復旧優先度 (distinct from importance: the BCP orders recovery by it)
    pub recovery_priority: String,
    /// 代替手段 when the system is down
    pub alternative: String,
    pub description: String,
}

impl LedgerRecord for InfoSystem {
    const KIND: LedgerKind = LedgerKind::Systems;
    fn key(&self) -> &str {
        &self.name
    }
    fn read(r: &mut RowReader<'_>) -> Self {
        InfoSystem {
            name: r.required("name"),
            category: r.text("category"),
            vendor: r.text("vendor"),
            contract: r.text("contract"),
            remote_maintenance: r.flag("remote_maintenance"),
            remote_method: r.text("remote_method"),
            mds_sds: r.flag("mds_sds"),
            devices: r.text("devices"),
            importance: r.text("importance"),
            recovery_priority: r.text("recovery_priority"),
            alternative: r.text("alternative"),
            description: r.text("description"),
        }
    }
    fn to_cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.category.clone(),
            self.vendor.clone(),
            self.contract.clone(),
            bool_cell(self.remote_maintenance),
            self.remote_method.clone(),
            bool_cell(self.mds_sds),
            self.devices.clone(),
            self.importance.clone(),
            self.recovery_priority.clone(),
            self.alternative.clone(),
            self.description.clone(),
        ]
    }
    fn values(&self) -> Vec<FieldValue<'_>> {
        vec![
            Text(&self.name),
            Text(&self.category),
            Text(&self.vendor),
            Text(&self.contract),
            OptBool(self.remote_maintenance),
            Text(&self.remote_method),
            OptBool(self.mds_sds),
            Text(&self.devices),
            Text(&self.importance),
            Text(&self.recovery_priority),
            Text(&self.alternative),
            Text(&self.description),
        ]
    }
}

/// 利用者ID台帳の1行 (one user account).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// №
    pub no: Option<i64>,
    /// 所属部署
    pub department: String,
    /// 性 (family name; the manual's header)
    pub family_name: String,
    /// 名
    pub given_name: String,
    pub phone: String,
    /// ユーザID
    pub user_id: String,
    pub description: String,
    /// 権限
    pub role: String,
    /// 状態: active / suspended / retired / deleted
    pub status: Option<String>,
    pub valid_until: Option<NaiveDate>,
    pub last_login: Option<NaiveDate>,
}

impl Account {
    pub fn status_label(&self) -> &'static str {
        self.status.as_deref().map(|c| enum_label(ACCOUNT_STATUSES, c)).unwrap_or("")
    }
    pub fn display_name(&self) -> String {
        format!("{} {}", self.family_name, self.given_name).trim().to_string()
    }
}

impl LedgerRecord for Account {
    const KIND: LedgerKind = LedgerKind::Accounts;
    fn key(&self) -> &str {
        &self.user_id
    }
    fn read(r: &mut RowReader<'_>) -> Self {
        Account {
            no: r.int("no"),
            department: r.text("department"),
            family_name: r.text("family_name"),
            given_name: r.text("given_name"),
            phone: r.text("phone"),
            user_id: r.required("user_id"),
            description: r.text("description"),
            role: r.text("role"),
            status: r.choice("status", ACCOUNT_STATUSES).map(str::to_string),
            valid_until: r.date("valid_until"),
            last_login: r.date("last_login"),
        }
    }
    fn to_cells(&self) -> Vec<String> {
        vec![
            self.no.map(|n| n.to_string()).unwrap_or_default(),
            self.department.clone(),
            self.family_name.clone(),
            self.given_name.clone(),
            self.phone.clone(),
            self.user_id.clone(),
            self.description.clone(),
            self.role.clone(),
            self.status_label().into(),
            date_cell(self.valid_until),
            date_cell(self.last_login),
        ]
    }
    fn values(&self) -> Vec<FieldValue<'_>> {
        vec![
            OptInt(self.no),
            Text(&self.department),
            Text(&self.family_name),
            Text(&self.given_name),
            Text(&self.phone),
            Text(&self.user_id),
            Text(&self.description),
            Text(&self.role),
            OptText(self.status.as_deref()),
            OptDate(self.valid_until),
            OptDate(self.last_login),
        ]
    }
}

/// 事業者 (a vendor) with its contacts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vendor {
    pub name: String,
    pub contact_person: String,
    pub phone: String,
    /// 夜間・休日の緊急連絡先
    pub emergency_phone: String,
    pub email: String,
    pub contract: String,
    /// 契約の有無 (a hospital with no vendor contract need not answer checklist 2-(2), 2-(3))
    pub has_contract: Option<bool>,
    pub description: String,
}

impl LedgerRecord for Vendor {
    const KIND: LedgerKind = LedgerKind::Vendors;
    fn key(&self) -> &str {
        &self.name
    }
    fn read(r: &mut RowReader<'_>) -> Self {
        Vendor {
            name: r.required("name"),
            contact_person: r.text("contact_person"),
            phone: r.text("phone"),
            emergency_phone: r.text("emergency_phone"),
            email: r.text("email"),
            contract: r.text("contract"),
            has_contract: r.flag("has_contract"),
            description: r.text("description"),
        }
    }
    fn to_cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.contact_person.clone(),
            self.phone.clone(),
            self.emergency_phone.clone(),
            self.email.clone(),
            self.contract.clone(),
            bool_cell(self.has_contract),
            self.description.clone(),
        ]
    }
    fn values(&self) -> Vec<FieldValue<'_>> {
        vec![
            Text(&self.name),
            Text(&self.contact_person),
            Text(&self.phone),
            Text(&self.emergency_phone),
            Text(&self.email),
            Text(&self.contract),
            OptBool(self.has_contract),
            Text(&self.description),
        ]
    }
}

/// Used by tests and the key-column check: every ledger's key column is of kind `Key`.
#[cfg(test)]
fn key_kind_ok(kind: LedgerKind) -> bool {
    use super::columns::CellKind;
    kind.columns().iter().filter(|c| c.kind == CellKind::Key).count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: LedgerRecord + PartialEq + std::fmt::Debug>(rec: T) {
        let cells: Vec<Option<String>> = rec.to_cells().into_iter().map(Some).collect();
        let mut r = RowReader::new(T::KIND, &cells);
        let back = T::read(&mut r);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(back, rec);
    }

    #[test]
    fn records_survive_their_own_cells() {
        round_trip(Device {
            asset_no: "001".into(),
            category: Some("pc".into()),
            maker: "A社".into(),
            os: "Win11".into(),
            software: "〇〇電子カルテ\nOffice 2019".into(),
            software_version: "2.0\n16.0".into(),
            ip_addresses: "192.168.1.10, 10.0.0.1".into(),
            mac: "00:11:22:33:44:55".into(),
            registered_on: NaiveDate::from_ymd_opt(2020, 12, 1),
            status: Some("active".into()),
            admin_logon_pc: Some(false),
            ..Default::default()
        });
        round_trip(Account {
            no: Some(3),
            user_id: "u0003".into(),
            status: Some("retired".into()),
            last_login: NaiveDate::from_ymd_opt(2024, 1, 5),
            ..Default::default()
        });
        round_trip(InfoSystem { name: "電子カルテ".into(), remote_maintenance: Some(true), ..Default::default() });
        round_trip(Vendor { name: "A社".into(), has_contract: Some(true), ..Default::default() });
        assert_eq!(Device::default().values().len(), LedgerKind::Devices.columns().len());
        assert_eq!(InfoSystem::default().values().len(), LedgerKind::Systems.columns().len());
        assert_eq!(Account::default().values().len(), LedgerKind::Accounts.columns().len());
        assert_eq!(Vendor::default().values().len(), LedgerKind::Vendors.columns().len());
        for k in LedgerKind::ALL {
            assert!(key_kind_ok(k));
        }
    }

    #[test]
    fn software_pairs_by_position() {
        let d = Device { software: "EHR\nOffice".into(), software_version: "2.0".into(), ..Default::default() };
        assert_eq!(d.software_list(), vec![("EHR".into(), Some("2.0".into())), ("Office".into(), None)]);
    }
}
