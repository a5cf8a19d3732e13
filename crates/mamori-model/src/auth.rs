//! Who may do what: the roles of mamori, the permissions matrix (role × action), which facilities and
//! records a user may see, the password policy and the login throttling rule. Pure rules, no IO: the
//! web enforces them on every route and every record.

use serde::{Deserialize, Serialize};

use crate::Facility;
use crate::ledger::LedgerKind;

/// The roles of the checklist's organisation, plus the outside parties who use mamori.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// システム管理者 (administrator of mamori itself)
    Admin,
    /// 経営層: reads everything of its facility, approves
    Executive,
    /// 安全管理責任者・企画管理者: edits everything of its facility
    Manager,
    /// システム運用担当者: edits the ledgers, backups and logs
    Operator,
    /// 事業者: only what concerns its own systems
    Vendor,
    /// 調査員: only the facilities assigned to it, read-only
    Surveyor,
    /// 都道府県・保健所: read-only, only the facilities of its prefecture
    Inspector,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Self::Admin, Self::Executive, Self::Manager, Self::Operator, Self::Vendor, Self::Surveyor, Self::Inspector];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Executive => "executive",
            Self::Manager => "manager",
            Self::Operator => "operator",
            Self::Vendor => "vendor",
            Self::Surveyor => "surveyor",
            Self::Inspector => "inspector",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s || r.label_ja() == s)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Admin => "システム管理者",
            Self::Executive => "経営層",
            Self::Manager => "安全管理責任者・企画管理者",
            Self::Operator => "システム運用担当者",
            Self::Vendor => "事業者",
            Self::Surveyor => "調査員",
            Self::Inspector => "都道府県・保健所",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Admin => "Administrator",
            Self::Executive => "Executive",
            Self::Manager => "Security manager",
            Self::Operator => "System operator",
            Self::Vendor => "Vendor",
            Self::Surveyor => "Surveyor",
            Self::Inspector => "Prefecture / health centre",
        }
    }

    /// Roles bound to one facility (they must be given one when created).
    pub fn needs_facility(self) -> bool {
        matches!(self, Self::Executive | Self::Manager | Self::Operator | Self::Vendor)
    }
}

/// Something a user asks to do. Facility and record limits are checked separately
/// ([`Principal::sees_facility`], [`VendorScope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ViewDashboard,
    ViewLedger(LedgerKind),
    EditLedger(LedgerKind),
    ImportLedger(LedgerKind),
    ExportLedger(LedgerKind),
    /// 承認 (e.g. of a checklist answer)
    Approve,
    ManageUsers,
    /// The app's own access log
    ViewAudit,
    /// The checklist (both editions) and the G-MIS survey: read, and download the exports
    ViewChecklist,
    /// Answer the checklist / G-MIS survey. A vendor answers only its own vendor edition (scope checked separately).
    AnswerChecklist,
    /// The BCP confirmation table, the contact data and chart, training records: read and download
    ViewBcp,
    /// Edit contacts, training records, the BCP confirmation table
    EditBcp,
    /// Vulnerability findings: read and download
    ViewVuln,
    /// Import feeds, run scans, set a finding's state (accepted / fixed / false positive), override a device's CPE
    TriageVuln,
    /// Backup targets, runs, drills and the policy status: read and download the plan and report
    ViewBackup,
    /// Configure backup targets and record media rotation (running a backup is the CLI's job)
    ManageBackup,
}

impl Action {
    /// Every action, for exhaustive tests and the permissions page.
    pub fn all() -> Vec<Action> {
        let mut v = vec![
            Self::ViewDashboard,
            Self::Approve,
            Self::ManageUsers,
            Self::ViewAudit,
            Self::ViewChecklist,
            Self::AnswerChecklist,
            Self::ViewBcp,
            Self::EditBcp,
            Self::ViewVuln,
            Self::TriageVuln,
            Self::ViewBackup,
            Self::ManageBackup,
        ];
        for k in LedgerKind::ALL {
            v.extend([Self::ViewLedger(k), Self::EditLedger(k), Self::ImportLedger(k), Self::ExportLedger(k)]);
        }
        v
    }
}

/// The permissions matrix. Least privilege: anything not granted here is refused.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use LedgerKind::*;
    match role {
        Role::Admin => true,
        Role::Executive => matches!(
            action,
            ViewDashboard | ViewLedger(_) | ExportLedger(_) | Approve | ViewChecklist | ViewBcp | ViewVuln | ViewBackup
        ),
        // The security manager answers the checklist and keeps the BCP; the operator runs the systems
        // (ledgers, vulnerabilities, backups) and reads the rest.
        Role::Manager => {
            matches!(action, ViewDashboard | ViewLedger(_) | EditLedger(_) | ImportLedger(_) | ExportLedger(_))
                || matches!(action, ViewChecklist | AnswerChecklist | ViewBcp | EditBcp)
                || matches!(action, ViewVuln | TriageVuln | ViewBackup | ManageBackup)
        }
        Role::Operator => {
            matches!(action, ViewDashboard | ViewLedger(_) | EditLedger(_) | ImportLedger(_) | ExportLedger(_))
                || matches!(action, ViewChecklist | ViewBcp | ViewVuln | TriageVuln | ViewBackup | ManageBackup)
        }
        // A vendor never sees the user ID ledger (personal data of the hospital's staff); it answers its own
        // vendor edition of the checklist and nothing else.
        Role::Vendor => {
            matches!(action, ViewDashboard | ViewLedger(Devices | Systems | Vendors) | ViewChecklist | AnswerChecklist)
        }
        // Outside reviewers read the ledgers of what they review, never the staff's personal data. The surveyor
        // of the national programme does the vulnerability diagnosis; the inspector checks the checklist, the
        // contact chart and the BCP, and the backup status.
        Role::Surveyor => matches!(
            action,
            ViewDashboard | ViewLedger(Devices | Systems | Vendors) | ViewChecklist | ViewBcp | ViewVuln | ViewBackup
        ),
        Role::Inspector => matches!(
            action,
            ViewDashboard | ViewLedger(Devices | Systems | Vendors) | ViewChecklist | ViewBcp | ViewBackup
        ),
    }
}

/// Which facilities a user sees, as a store filters them (see [`Principal::facility_scope`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacilityScope {
    All,
    /// These facilities only (none when empty).
    Ids(Vec<i64>),
    /// Every facility of this 都道府県.
    Prefecture(String),
}

impl FacilityScope {
    /// Whether a facility is in the scope: what the store's filter must agree with.
    pub fn contains(&self, f: &Facility) -> bool {
        match self {
            FacilityScope::All => true,
            FacilityScope::Ids(ids) => ids.contains(&f.id),
            FacilityScope::Prefecture(p) => &f.data.prefecture == p,
        }
    }
}

/// A signed-in user as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub login: String,
    pub role: Role,
    /// The facility of facility-bound roles.
    pub facility_id: Option<i64>,
    /// 事業者名 of a vendor user, as written in the ledgers (systems' 事業者, devices' 管理者).
    pub vendor_name: String,
    /// 都道府県 of an inspector.
    pub prefecture: String,
    /// Facilities assigned to a surveyor.
    pub assigned: Vec<i64>,
}

impl Principal {
    pub fn can(&self, action: Action) -> bool {
        permits(self.role, action)
    }

    /// Whether the user may see anything of this facility at all.
    pub fn sees_facility(&self, f: &Facility) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Executive | Role::Manager | Role::Operator | Role::Vendor => self.facility_id == Some(f.id),
            Role::Surveyor => self.assigned.contains(&f.id),
            Role::Inspector => !self.prefecture.is_empty() && f.data.prefecture == self.prefecture,
        }
    }

    /// The facilities this principal sees, as a filter a store runs to list them (the list form of
    /// [`Principal::sees_facility`], which stays the check for one facility).
    pub fn facility_scope(&self) -> FacilityScope {
        match self.role {
            Role::Admin => FacilityScope::All,
            Role::Executive | Role::Manager | Role::Operator | Role::Vendor => {
                FacilityScope::Ids(self.facility_id.into_iter().collect())
            }
            Role::Surveyor => FacilityScope::Ids(self.assigned.clone()),
            Role::Inspector if self.prefecture.is_empty() => FacilityScope::Ids(Vec::new()),
            Role::Inspector => FacilityScope::Prefecture(self.prefecture.clone()),
        }
    }

    /// Record-level limit on a ledger: `None` = every record of a visible facility.
    pub fn vendor_scope(&self, kind: LedgerKind) -> Option<VendorScope> {
        (self.role == Role::Vendor).then(|| VendorScope { kind, vendor_name: self.vendor_name.clone() })
    }
}

/// A vendor sees only the records that concern it: the systems it serves, the devices it manages and
/// its own vendor entry. An empty vendor name sees nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorScope {
    pub kind: LedgerKind,
    pub vendor_name: String,
}

impl VendorScope {
    /// The column whose value must equal the vendor's name, or `None` when the ledger is closed to vendors.
    pub fn column(&self) -> Option<&'static str> {
        match self.kind {
            LedgerKind::Devices => Some("managed_by"),
            LedgerKind::Systems => Some("vendor"),
            LedgerKind::Vendors => Some("name"),
            LedgerKind::Accounts => None,
        }
    }
}

/// Why a password is refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ja} / {en}")]
pub struct PasswordRejected {
    pub ja: String,
    pub en: String,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The password policy: at least 12 characters, at most 128, not containing the user ID, not one
/// character repeated, not a well-known password.
pub fn check_password(login: &str, password: &str) -> Result<(), PasswordRejected> {
    let n = password.chars().count();
    let no = |ja: String, en: String| Err(PasswordRejected { ja, en });
    if n < MIN_PASSWORD_CHARS {
        return no(
            format!(
                "パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください（いま{n}文字）。覚えやすい言葉を組み合わせた長い文が安全です"
            ),
            format!("use at least {MIN_PASSWORD_CHARS} characters (now {n}); a long phrase of words is safest"),
        );
    }
    if n > MAX_PASSWORD_CHARS {
        return no(
            format!("パスワードは{MAX_PASSWORD_CHARS}文字以下にしてください"),
            format!("use at most {MAX_PASSWORD_CHARS} characters"),
        );
    }
    let lower = password.to_lowercase();
    let login = login.trim().to_lowercase();
    if !login.is_empty() && lower.contains(&login) {
        return no(
            "パスワードにユーザIDを含めないでください".into(),
            "the password must not contain the user ID".into(),
        );
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return no("同じ文字の繰り返しは使えません".into(), "one repeated character is not allowed".into());
    }
    const COMMON: [&str; 8] =
        ["password", "123456789", "qwertyuiop", "abcdefghijkl", "passw0rd", "iloveyou", "1qaz2wsx", "admin"];
    if COMMON.iter().any(|c| lower.contains(c)) {
        return no(
            "よく使われる推測されやすい文字列（password、123456789 など）を含めないでください".into(),
            "do not use well-known strings such as 'password' or '123456789'".into(),
        );
    }
    Ok(())
}

/// Login throttling: failures counted over this window …
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// … lock an account after this many failures,
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
/// … and a source address after this many (it may try several accounts).
pub const MAX_FAILURES_PER_SOURCE: usize = 20;

/// Whether another login attempt is refused, given the failures of the account and of the source
/// address within [`THROTTLE_WINDOW_SECS`].
pub fn login_blocked(account_failures: usize, source_failures: usize) -> bool {
    account_failures >= MAX_FAILURES_PER_ACCOUNT || source_failures >= MAX_FAILURES_PER_SOURCE
}

/// Sessions end after this long without a request …
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// … and in any case this long after login.
pub const SESSION_ABSOLUTE_SECS: i64 = 12 * 60 * 60;

/// Whether a session created at `created` and last used at `last_seen` (Unix seconds) is still valid at `now`.
pub fn session_alive(created: i64, last_seen: i64, now: i64) -> bool {
    now - last_seen < SESSION_IDLE_SECS && now - created < SESSION_ABSOLUTE_SECS && now >= created
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FacilityKind, NewFacility};
    use Action::*;
    use LedgerKind::*;

    fn facility(id: i64, pref: &str) -> Facility {
        Facility {
            id,
            data: NewFacility {
                name: format!("病院{id}"),
                kind: FacilityKind::Hospital,
                prefecture: pref.into(),
                municipality: String::new(),
                beds: Some(300),
                has_ehr: true,
                medical_code: None,
            },
        }
    }

    /// The list filter of every role admits exactly the facilities `sees_facility` admits.
    #[test]
    fn the_facility_scope_agrees_with_sees_facility_for_every_role() {
        let all = [facility(1, "東京都"), facility(2, "東京都"), facility(3, "大阪府"), facility(4, "")];
        for role in Role::ALL {
            for (fid, pref, assigned) in
                [(Some(1), "東京都", vec![2, 3]), (None, "", vec![]), (Some(3), "大阪府", vec![1]), (None, "", vec![4])]
            {
                let p = Principal {
                    login: "u".into(),
                    role,
                    facility_id: fid,
                    vendor_name: "A社".into(),
                    prefecture: pref.into(),
                    assigned: assigned.clone(),
                };
                let scope = p.facility_scope();
                for f in &all {
                    assert_eq!(
                        scope.contains(f),
                        p.sees_facility(f),
                        "{role:?} {fid:?} {pref} {assigned:?} facility {}",
                        f.id
                    );
                }
            }
        }
    }

    /// The whole matrix, written out role by role: a change to `permits` must change this table.
    #[test]
    fn every_role_times_every_action() {
        let expect = |role: Role, a: Action| -> bool {
            match (role, a) {
                (Role::Admin, _) => true,
                (Role::Executive, ViewDashboard | ViewLedger(_) | ExportLedger(_) | Approve) => true,
                (Role::Executive, ViewChecklist | ViewBcp | ViewVuln | ViewBackup) => true,
                (Role::Executive, _) => false,
                (Role::Manager | Role::Operator, ViewDashboard | ViewLedger(_) | EditLedger(_)) => true,
                (Role::Manager | Role::Operator, ImportLedger(_) | ExportLedger(_)) => true,
                (Role::Manager | Role::Operator, Approve | ManageUsers | ViewAudit) => false,
                (Role::Manager | Role::Operator, ViewChecklist | ViewBcp | ViewVuln | TriageVuln) => true,
                (Role::Manager | Role::Operator, ViewBackup | ManageBackup) => true,
                (Role::Manager, AnswerChecklist | EditBcp) => true,
                (Role::Operator, AnswerChecklist | EditBcp) => false,
                (Role::Vendor | Role::Surveyor | Role::Inspector, ViewDashboard) => true,
                (Role::Vendor | Role::Surveyor | Role::Inspector, ViewLedger(k)) => k != Accounts,
                (Role::Vendor, ViewChecklist | AnswerChecklist) => true,
                (Role::Surveyor, ViewChecklist | ViewBcp | ViewVuln | ViewBackup) => true,
                (Role::Inspector, ViewChecklist | ViewBcp | ViewBackup) => true,
                (Role::Vendor | Role::Surveyor | Role::Inspector, _) => false,
            }
        };
        let mut checked = 0;
        for role in Role::ALL {
            for a in Action::all() {
                assert_eq!(permits(role, a), expect(role, a), "{role:?} × {a:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 7 * (12 + 4 * 4));
        // Only the administrator manages users and reads the access log.
        for role in Role::ALL {
            assert_eq!(permits(role, ManageUsers), role == Role::Admin);
            assert_eq!(permits(role, ViewAudit), role == Role::Admin);
            assert_eq!(
                permits(role, ViewLedger(Accounts)),
                matches!(role, Role::Admin | Role::Executive | Role::Manager | Role::Operator)
            );
        }
    }

    #[test]
    fn facility_visibility_per_role() {
        let tokyo = facility(1, "東京都");
        let osaka = facility(2, "大阪府");
        let p = |role, fid: Option<i64>, pref: &str, assigned: Vec<i64>| Principal {
            login: "u".into(),
            role,
            facility_id: fid,
            vendor_name: String::new(),
            prefecture: pref.into(),
            assigned,
        };
        assert!(p(Role::Admin, None, "", vec![]).sees_facility(&osaka));
        for r in [Role::Executive, Role::Manager, Role::Operator, Role::Vendor] {
            assert!(p(r, Some(1), "", vec![]).sees_facility(&tokyo));
            assert!(!p(r, Some(1), "", vec![]).sees_facility(&osaka));
            assert!(!p(r, None, "", vec![]).sees_facility(&tokyo));
        }
        assert!(p(Role::Surveyor, None, "", vec![2]).sees_facility(&osaka));
        assert!(!p(Role::Surveyor, None, "", vec![2]).sees_facility(&tokyo));
        assert!(p(Role::Inspector, None, "東京都", vec![]).sees_facility(&tokyo));
        assert!(!p(Role::Inspector, None, "東京都", vec![]).sees_facility(&osaka));
        assert!(!p(Role::Inspector, None, "", vec![]).sees_facility(&tokyo));
    }

    #[test]
    fn vendor_scope_columns() {
        let v = Principal {
            login: "v".into(),
            role: Role::Vendor,
            facility_id: Some(1),
            vendor_name: "株式会社A".into(),
            prefecture: String::new(),
            assigned: vec![],
        };
        assert_eq!(v.vendor_scope(Devices).unwrap().column(), Some("managed_by"));
        assert_eq!(v.vendor_scope(Systems).unwrap().column(), Some("vendor"));
        assert_eq!(v.vendor_scope(Accounts).unwrap().column(), None);
        let m = Principal { role: Role::Manager, ..v };
        assert_eq!(m.vendor_scope(Devices), None);
    }

    #[test]
    fn password_policy() {
        assert!(check_password("tanaka", "short").unwrap_err().ja.contains("12文字以上"));
        assert!(check_password("tanaka", "tanaka-no-himitsu").unwrap_err().en.contains("user ID"));
        assert!(check_password("tanaka", "aaaaaaaaaaaaaa").is_err());
        assert!(check_password("tanaka", "mypassword2024").is_err());
        assert!(check_password("tanaka", "sakura mochi to ocha").is_ok());
        assert!(check_password("tanaka", "桜餅とお茶と春の川べりで").is_ok());
        assert!(check_password("tanaka", "桜餅とお茶と春の川べり").is_err(), "11 characters");
        assert!(check_password("tanaka", &"x1".repeat(65)).is_err());
    }

    #[test]
    fn throttling_and_sessions() {
        assert!(!login_blocked(4, 19));
        assert!(login_blocked(5, 0));
        assert!(login_blocked(0, 20));
        assert!(session_alive(0, 100, 100 + SESSION_IDLE_SECS - 1));
        assert!(!session_alive(0, 100, 100 + SESSION_IDLE_SECS));
        assert!(!session_alive(0, SESSION_ABSOLUTE_SECS, SESSION_ABSOLUTE_SECS + 1));
        assert!(!session_alive(100, 100, 50));
    }
}
