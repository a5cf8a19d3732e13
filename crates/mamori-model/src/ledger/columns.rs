//! Column definitions of each ledger: the key used in code, the Japanese and English headers, and the
//! other names hospitals' own files use for them.

/// What a cell holds, which decides how it is parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// The identifying column (管理番号, ユーザID …): required, unique within the file and the facility.
    Key,
    Text,
    /// A required text column.
    RequiredText,
    Date,
    Bool,
    Int,
    Enum(&'static [EnumValue]),
    /// One or more IP addresses separated by `,` `;` `、` or line breaks.
    IpList,
    Mac,
}

/// One allowed value of an enumerated column: the stored code, its labels and the spellings accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    pub code: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub aliases: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    pub key: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: CellKind,
}

impl ColumnDef {
    /// Every header spelling that maps to this column.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        [self.key, self.ja, self.en].into_iter().chain(self.aliases.iter().copied())
    }
}

const fn col(
    key: &'static str,
    ja: &'static str,
    en: &'static str,
    aliases: &'static [&'static str],
    kind: CellKind,
) -> ColumnDef {
    ColumnDef { key, ja, en, aliases, kind }
}

pub const DEVICE_CATEGORIES: &[EnumValue] = &[
    EnumValue { code: "server", ja: "サーバ", en: "Server", aliases: &["サーバー", "server", "srv"] },
    EnumValue {
        code: "pc",
        ja: "端末PC",
        en: "Client PC",
        aliases: &["端末", "PC", "パソコン", "クライアント", "client", "端末PC", "ノートPC", "workstation"],
    },
    EnumValue {
        code: "network",
        ja: "ネットワーク機器",
        en: "Network device",
        aliases: &[
            "NW機器",
            "ネットワーク",
            "network",
            "ルータ",
            "スイッチ",
            "ファイアウォール",
            "FW",
            "VPN",
            "無線LAN",
        ],
    },
    EnumValue {
        code: "medical",
        ja: "医療機器",
        en: "Medical device",
        aliases: &["medical", "医療機器", "モダリティ"],
    },
    EnumValue {
        code: "other", ja: "その他", en: "Other", aliases: &["other", "その他", "周辺機器", "プリンタ"]
    },
];

pub const DEVICE_STATUSES: &[EnumValue] = &[
    EnumValue {
        code: "active",
        ja: "稼働",
        en: "Active",
        aliases: &["稼動", "稼働中", "使用中", "運用中", "active", "in use"],
    },
    EnumValue { code: "stopped", ja: "停止", en: "Stopped", aliases: &["停止中", "休止", "stopped"] },
    EnumValue { code: "spare", ja: "予備", en: "Spare", aliases: &["保管", "在庫", "spare"] },
    EnumValue { code: "broken", ja: "故障", en: "Broken", aliases: &["故障中", "broken"] },
    EnumValue {
        code: "retired",
        ja: "廃棄",
        en: "Retired",
        aliases: &["廃棄済", "廃棄済み", "撤去", "retired", "disposed"],
    },
];

pub const ACCOUNT_STATUSES: &[EnumValue] = &[
    EnumValue {
        code: "active", ja: "有効", en: "Active", aliases: &["利用中", "使用中", "在籍", "active", "enabled"]
    },
    EnumValue {
        code: "suspended",
        ja: "休止",
        en: "Suspended",
        aliases: &["休職", "停止", "無効", "suspended", "disabled", "locked", "ロック"],
    },
    EnumValue {
        code: "retired",
        ja: "退職",
        en: "Retired",
        aliases: &["退職済", "退職済み", "退職者", "retired", "left"],
    },
    EnumValue { code: "deleted", ja: "削除", en: "Deleted", aliases: &["削除済", "削除済み", "deleted"] },
];

pub const DEVICE_COLUMNS: &[ColumnDef] = &[
    col("asset_no", "管理番号", "Asset No.", &["資産番号", "機器番号", "No", "番号", "管理No"], CellKind::Key),
    col("category", "機器種別", "Category", &["種別", "区分", "機器区分", "分類"], CellKind::Enum(DEVICE_CATEGORIES)),
    col("maker", "メーカー", "Maker", &["メーカ", "製造元", "vendor name", "manufacturer"], CellKind::Text),
    col("model", "機種・型番", "Model", &["機種", "型番", "型式", "製品名", "機種名"], CellKind::Text),
    col("os", "OS", "OS", &["オペレーティングシステム", "operating system", "ファームウェア"], CellKind::Text),
    col(
        "os_version",
        "OSバージョン",
        "OS version",
        &["OSバージョン", "OS版", "ビルド", "firmware version"],
        CellKind::Text,
    ),
    col("software", "ソフトウェア", "Software", &["アプリケーション", "導入ソフト", "application"], CellKind::Text),
    col(
        "software_version",
        "ソフトウェアバージョン",
        "Software version",
        &["バージョン", "version", "ソフトウェア版数"],
        CellKind::Text,
    ),
    col("ip_addresses", "IPアドレス", "IP address", &["IP", "ip addresses"], CellKind::IpList),
    col("mac", "MACアドレス", "MAC address", &["MAC", "物理アドレス"], CellKind::Mac),
    col(
        "hostname",
        "コンピュータ名",
        "Host name",
        &["ホスト名", "コンピューター名", "端末名", "hostname", "computer name"],
        CellKind::Text,
    ),
    col("location", "設置場所", "Location", &["場所", "設置先", "所在"], CellKind::Text),
    col("user", "利用者", "User", &["使用者", "担当者", "利用部署"], CellKind::Text),
    col("registered_on", "登録日", "Registered", &["導入日", "登録年月日", "registered on"], CellKind::Date),
    col("status", "状態", "Status", &["稼働状況", "ステータス", "state"], CellKind::Enum(DEVICE_STATUSES)),
    col("description", "説明", "Description", &["備考", "メモ", "note", "notes", "remarks"], CellKind::Text),
    col("managed_by", "管理者", "Managed by", &["管理主体", "管理元", "保守事業者", "managed by"], CellKind::Text),
    col(
        "admin_logon_pc",
        "管理者ログオン端末",
        "Admin logon PC",
        &["管理用端末", "管理者端末", "admin pc"],
        CellKind::Bool,
    ),
    col("antivirus", "ウイルス対策ソフト", "Antivirus", &["ウイルス対策", "アンチウイルス", "av"], CellKind::Text),
    col(
        "antivirus_state",
        "ウイルス対策の状態",
        "Antivirus state",
        &["定義ファイル", "av state", "ウイルス対策状況"],
        CellKind::Text,
    ),
    col(
        "end_of_support",
        "サポート終了日",
        "End of support",
        &["保守期限", "EOS", "EOL", "サポート期限"],
        CellKind::Date,
    ),
];

pub const SYSTEM_COLUMNS: &[ColumnDef] = &[
    col("name", "システム名", "System", &["システム", "名称", "system name"], CellKind::Key),
    col("category", "種別", "Category", &["区分", "システム種別"], CellKind::Text),
    col("vendor", "事業者", "Vendor", &["ベンダー", "ベンダ", "保守事業者", "委託先"], CellKind::Text),
    col("contract", "契約", "Contract", &["契約内容", "保守契約", "契約期間"], CellKind::Text),
    col(
        "remote_maintenance",
        "リモート保守",
        "Remote maintenance",
        &["リモートメンテナンス", "リモート保守有無", "remote"],
        CellKind::Bool,
    ),
    col(
        "remote_method",
        "リモート接続方法",
        "Remote method",
        &["接続方法", "リモート方式", "remote access"],
        CellKind::Text,
    ),
    col("mds_sds", "MDS/SDS受領", "MDS/SDS received", &["MDS/SDS", "MDS", "SDS", "MDSSDS提出"], CellKind::Bool),
    col("devices", "稼働機器", "Devices", &["機器", "管理番号一覧", "サーバ"], CellKind::Text),
    col("importance", "重要度", "Importance", &["重要性"], CellKind::Text),
    col("recovery_priority", "復旧優先度", "Recovery priority", &["復旧優先順位"], CellKind::Text),
    col("alternative", "代替手段", "Alternative operation", &["代替運用", "停止時の代替"], CellKind::Text),
    col("description", "説明", "Description", &["備考", "note"], CellKind::Text),
];

pub const ACCOUNT_COLUMNS: &[ColumnDef] = &[
    col("no", "№", "No.", &["No", "番号", "連番"], CellKind::Int),
    col("department", "所属部署", "Department", &["所属", "部署", "診療科"], CellKind::Text),
    col("family_name", "性", "Family name", &["姓", "氏", "苗字"], CellKind::Text),
    col("given_name", "名", "Given name", &["名前"], CellKind::Text),
    col("phone", "電話番号", "Phone", &["内線", "電話", "tel"], CellKind::Text),
    col(
        "user_id",
        "ユーザID",
        "User ID",
        &["ユーザーID", "利用者ID", "ログインID", "アカウント", "ID", "userid", "login"],
        CellKind::Key,
    ),
    col("description", "説明", "Description", &["備考", "note"], CellKind::Text),
    col("role", "権限", "Role", &["権限グループ", "職種", "ロール", "利用権限"], CellKind::Text),
    col("status", "状態", "Status", &["ステータス", "在籍状況"], CellKind::Enum(ACCOUNT_STATUSES)),
    col("valid_until", "有効期限", "Valid until", &["利用期限", "期限", "expires"], CellKind::Date),
    col("last_login", "最終ログイン", "Last login", &["最終ログイン日", "最終利用日", "last logon"], CellKind::Date),
];

pub const VENDOR_COLUMNS: &[ColumnDef] = &[
    col("name", "事業者名", "Vendor", &["事業者", "会社名", "ベンダー", "vendor name"], CellKind::Key),
    col("contact_person", "担当者", "Contact person", &["担当", "窓口"], CellKind::Text),
    col("phone", "電話番号", "Phone", &["電話", "tel"], CellKind::Text),
    col("emergency_phone", "緊急連絡先", "Emergency phone", &["夜間休日連絡先", "緊急時連絡先"], CellKind::Text),
    col("email", "メールアドレス", "E-mail", &["メール", "mail", "email address"], CellKind::Text),
    col("contract", "契約", "Contract", &["契約内容", "契約状況"], CellKind::Text),
    col("has_contract", "契約有無", "Has contract", &["契約あり"], CellKind::Bool),
    col("description", "説明", "Description", &["備考", "note"], CellKind::Text),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fold_key;
    use std::collections::HashMap;

    /// No two columns of one ledger answer to the same header spelling.
    #[test]
    fn header_names_are_unambiguous() {
        for cols in [DEVICE_COLUMNS, SYSTEM_COLUMNS, ACCOUNT_COLUMNS, VENDOR_COLUMNS] {
            let mut seen: HashMap<String, &str> = HashMap::new();
            for c in cols {
                for n in c.names() {
                    if let Some(other) = seen.insert(fold_key(n), c.key) {
                        assert_eq!(other, c.key, "header {n} maps to {other} and {}", c.key);
                    }
                }
            }
        }
    }
}
