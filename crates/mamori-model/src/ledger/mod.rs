//! The ledgers (台帳) a hospital keeps, with their columns as the checklist manual shows them
//! (seed 002, 2-(1) 機器台帳の例 and 2-(4) 利用者ID台帳の例) plus what the BCP template and the survey need.

mod columns;
mod records;

pub use columns::{CellKind, ColumnDef, EnumValue};
pub use records::{
    Account, AccountStatus, Device, DeviceCategory, DeviceStatus, FieldValue, InfoSystem, LedgerRecord, RowReader,
    Vendor,
};

use serde::{Deserialize, Serialize};

/// Which ledger a file or a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// 機器台帳
    Devices,
    /// 医療情報システム一覧
    Systems,
    /// 利用者ID台帳
    Accounts,
    /// 事業者一覧
    Vendors,
}

impl LedgerKind {
    pub const ALL: [LedgerKind; 4] = [Self::Devices, Self::Systems, Self::Accounts, Self::Vendors];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Devices => "devices",
            Self::Systems => "systems",
            Self::Accounts => "accounts",
            Self::Vendors => "vendors",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "devices" | "device" | "機器台帳" => Some(Self::Devices),
            "systems" | "system" | "医療情報システム一覧" => Some(Self::Systems),
            "accounts" | "account" | "users" | "利用者ID台帳" => Some(Self::Accounts),
            "vendors" | "vendor" | "事業者" | "事業者一覧" => Some(Self::Vendors),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Devices => "機器台帳",
            Self::Systems => "医療情報システム一覧",
            Self::Accounts => "利用者ID台帳",
            Self::Vendors => "事業者一覧",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Devices => "Device ledger",
            Self::Systems => "Information systems",
            Self::Accounts => "User ID ledger",
            Self::Vendors => "Vendors",
        }
    }

    pub fn columns(self) -> &'static [ColumnDef] {
        match self {
            Self::Devices => columns::DEVICE_COLUMNS,
            Self::Systems => columns::SYSTEM_COLUMNS,
            Self::Accounts => columns::ACCOUNT_COLUMNS,
            Self::Vendors => columns::VENDOR_COLUMNS,
        }
    }

    /// The column that identifies a record within a facility (re-imports update by it).
    pub fn key_column(self) -> &'static ColumnDef {
        self.columns().iter().find(|c| c.kind == CellKind::Key).expect("every ledger has a key column")
    }

    pub fn column(self, key: &str) -> Option<&'static ColumnDef> {
        self.columns().iter().find(|c| c.key == key)
    }
}

/// The 47 prefectures (都道府県), in JIS X 0401 order.
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];
