//! Persistence of the bcp capability (tables in migration 0005): incident contacts (連絡体制), training
//! records (訓練記録) and the answers of the BCP confirmation table (確認表). Validation rules live in
//! `mamori_app::bcp`; the store keeps what it is given, all or nothing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_text};

/// Where a contact sits in the chart: inside the hospital, a vendor, an external body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// 院内（組織内）
    #[default]
    Internal,
    /// 事業者
    Vendor,
    /// 外部関係機関
    External,
}

impl ContactKind {
    pub const ALL: [ContactKind; 3] = [Self::Internal, Self::Vendor, Self::External];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::Vendor => "vendor",
            Self::External => "external",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Internal => "院内",
            Self::Vendor => "事業者",
            Self::External => "外部関係機関",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Internal => "Internal",
            Self::Vendor => "Vendor",
            Self::External => "External body",
        }
    }
    /// Accepts the code, the Japanese label and the English label (any case).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(s)
                || k.label_ja() == s
                || k.label_en().eq_ignore_ascii_case(s)
                || (*k == Self::Internal && (s == "組織内" || s == "院内（組織内）"))
                || (*k == Self::Vendor && (s == "事業者（ベンダー）" || s.eq_ignore_ascii_case("ベンダー")))
        })
    }
}

/// One incident contact of a facility.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// 連絡先ID: short, unique within the facility (e.g. `ciso`, `v-ehr`); arrows refer to it.
    pub code: String,
    pub kind: ContactKind,
    /// 役割, e.g. 医療情報システム安全管理責任者, 電子カルテ保守, 都道府県警察.
    pub role: String,
    /// 部署 (internal) or 窓口 (vendor / external body).
    pub department: String,
    /// 氏名・名称: person, company or body.
    pub name: String,
    pub phone: String,
    /// 時間外・緊急連絡先.
    pub after_hours: String,
    pub email: String,
    /// 連絡目的: why and when this contact is called.
    pub purpose: String,
    /// 連絡順 (1 = first).
    pub order: Option<u32>,
    /// 報告先: the code of the internal contact this one reports to (an arrow this → that).
    pub reports_to: String,
    /// 連絡担当: the code of the internal contact who calls this one (an arrow that → this).
    pub contacted_by: String,
    /// 対象システム: names from the systems ledger, separated by "、" or ",".
    pub systems: String,
    pub note: String,
}

impl Contact {
    /// The system names of [`Contact::systems`], trimmed, without empties.
    pub fn system_names(&self) -> Vec<String> {
        self.systems.split(['、', ',', '，', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
    }
}

/// One training (訓練) held by a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    /// 0 for a record not stored yet.
    pub id: i64,
    pub held_on: NaiveDate,
    /// 想定シナリオ
    pub scenario: String,
    /// 参加者
    pub participants: String,
    /// 結果・課題
    pub findings: String,
    /// 改善計画
    pub improvement_plan: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// The answer to one check point of the BCP confirmation table (確認欄).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcpAnswer {
    /// Check id of the catalog, e.g. `1-2-1`.
    pub check_id: String,
    /// はい = true, いいえ = false, none = 未回答.
    pub answer: Option<bool>,
    pub note: String,
    pub answered_by: String,
    pub answered_at: String,
}

const CONTACT_COLS: &str = "code, kind, role, department, name, phone, after_hours, email, purpose, contact_order, \
                            reports_to, contacted_by, systems, note";

fn contact_from_row(r: &AnyRow) -> Result<Contact> {
    let kind: String = r.try_get("kind")?;
    Ok(Contact {
        code: r.try_get("code")?,
        kind: ContactKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("contact kind {kind}")))?,
        role: r.try_get("role")?,
        department: r.try_get("department")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        after_hours: r.try_get("after_hours")?,
        email: r.try_get("email")?,
        purpose: r.try_get("purpose")?,
        order: r.try_get::<Option<i64>, _>("contact_order")?.map(|o| o.clamp(0, u32::MAX as i64) as u32),
        reports_to: r.try_get("reports_to")?,
        contacted_by: r.try_get("contacted_by")?,
        systems: r.try_get("systems")?,
        note: r.try_get("note")?,
    })
}

fn training_from_row(r: &AnyRow) -> Result<Training> {
    let held: String = r.try_get("held_on")?;
    Ok(Training {
        id: r.try_get("id")?,
        held_on: NaiveDate::parse_from_str(&held, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("training date {held}")))?,
        scenario: r.try_get("scenario")?,
        participants: r.try_get("participants")?,
        findings: r.try_get("findings")?,
        improvement_plan: r.try_get("improvement_plan")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

const UPSERT_CONTACT: &str = "INSERT INTO bcp_contacts (facility_id, code, kind, role, department, name, phone, after_hours, \
     email, purpose, contact_order, reports_to, contacted_by, systems, note, updated_by, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
     ON CONFLICT (facility_id, code) DO UPDATE SET kind = excluded.kind, role = excluded.role, \
     department = excluded.department, name = excluded.name, phone = excluded.phone, \
     after_hours = excluded.after_hours, email = excluded.email, purpose = excluded.purpose, \
     contact_order = excluded.contact_order, reports_to = excluded.reports_to, \
     contacted_by = excluded.contacted_by, systems = excluded.systems, note = excluded.note, \
     updated_by = excluded.updated_by, updated_at = excluded.updated_at";

async fn upsert_contact<'e, E>(exec: E, facility_id: i64, c: &Contact, by: &str, at: &str) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(UPSERT_CONTACT)
        .bind(facility_id)
        .bind(&c.code)
        .bind(c.kind.as_str())
        .bind(&c.role)
        .bind(&c.department)
        .bind(&c.name)
        .bind(&c.phone)
        .bind(&c.after_hours)
        .bind(&c.email)
        .bind(&c.purpose)
        .bind(c.order.map(i64::from))
        .bind(&c.reports_to)
        .bind(&c.contacted_by)
        .bind(&c.systems)
        .bind(&c.note)
        .bind(by)
        .bind(at)
        .execute(exec)
        .await?;
    Ok(())
}

fn check_code(c: &Contact) -> Result<()> {
    if c.code.trim().is_empty() || c.code.trim() != c.code {
        return Err(StoreError::Invalid(format!(
            "連絡先ID「{}」が空か前後に空白があります / contact id {:?} is empty or has surrounding spaces",
            c.code, c.code
        )));
    }
    Ok(())
}

impl Store {
    /// The contacts of a facility: internal first, then vendors, then external bodies; each by contact order
    /// (unordered last), then id.
    pub async fn contacts(&self, facility_id: i64) -> Result<Vec<Contact>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONTACT_COLS} FROM bcp_contacts WHERE facility_id = $1 ORDER BY id"
        )))
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        let mut v = rows.iter().map(contact_from_row).collect::<Result<Vec<_>>>()?;
        v.sort_by_key(|c| (c.kind, c.order.unwrap_or(u32::MAX)));
        Ok(v)
    }

    /// When the contacts were last changed (RFC 3339), if there are any.
    pub async fn contacts_updated_at(&self, facility_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT MAX(updated_at) AS m FROM bcp_contacts WHERE facility_id = $1")
            .bind(facility_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<String>, _>("m")?)
    }

    /// Replaces every contact of the facility with `contacts`, in one transaction (an import).
    pub async fn replace_contacts(&self, facility_id: i64, contacts: &[Contact], by: &str) -> Result<()> {
        for c in contacts {
            check_code(c)?;
        }
        let at = now_text();
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM bcp_contacts WHERE facility_id = $1").bind(facility_id).execute(&mut *tx).await?;
        for c in contacts {
            upsert_contact(&mut *tx, facility_id, c, by, &at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds or updates one contact (by its code).
    pub async fn save_contact(&self, facility_id: i64, c: &Contact, by: &str) -> Result<()> {
        check_code(c)?;
        upsert_contact(self.pool(), facility_id, c, by, &now_text()).await
    }

    /// Deletes one contact; false when there was none with that code.
    pub async fn delete_contact(&self, facility_id: i64, code: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM bcp_contacts WHERE facility_id = $1 AND code = $2")
            .bind(facility_id)
            .bind(code)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Training records, newest first.
    pub async fn trainings(&self, facility_id: i64) -> Result<Vec<Training>> {
        let rows = sqlx::query(
            "SELECT id, held_on, scenario, participants, findings, improvement_plan, recorded_by, recorded_at \
             FROM bcp_trainings WHERE facility_id = $1 ORDER BY held_on DESC, id DESC",
        )
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(training_from_row).collect()
    }

    /// Stores a new training record; returns its id.
    pub async fn add_training(&self, facility_id: i64, t: &Training) -> Result<i64> {
        if t.scenario.trim().is_empty() {
            return Err(StoreError::Invalid("訓練のシナリオが空です / the training's scenario is empty".into()));
        }
        let row = sqlx::query(
            "INSERT INTO bcp_trainings (facility_id, held_on, scenario, participants, findings, improvement_plan, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(facility_id)
        .bind(t.held_on.format("%Y-%m-%d").to_string())
        .bind(&t.scenario)
        .bind(&t.participants)
        .bind(&t.findings)
        .bind(&t.improvement_plan)
        .bind(&t.recorded_by)
        .bind(now_text())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Deletes a training record of this facility; false when there was none.
    pub async fn delete_training(&self, facility_id: i64, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM bcp_trainings WHERE facility_id = $1 AND id = $2")
            .bind(facility_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The answers given to one edition of the confirmation table.
    pub async fn bcp_answers(&self, facility_id: i64, edition: &str) -> Result<Vec<BcpAnswer>> {
        let rows = sqlx::query(
            "SELECT check_id, answer, note, answered_by, answered_at FROM bcp_answers \
             WHERE facility_id = $1 AND edition = $2 ORDER BY check_id",
        )
        .bind(facility_id)
        .bind(edition)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BcpAnswer {
                    check_id: r.try_get("check_id")?,
                    answer: r.try_get::<Option<i64>, _>("answer")?.map(|a| a != 0),
                    note: r.try_get("note")?,
                    answered_by: r.try_get("answered_by")?,
                    answered_at: r.try_get("answered_at")?,
                })
            })
            .collect()
    }

    /// Records the answer to one check point (overwrites the previous one).
    pub async fn set_bcp_answer(&self, facility_id: i64, edition: &str, a: &BcpAnswer) -> Result<()> {
        sqlx::query(
            "INSERT INTO bcp_answers (facility_id, edition, check_id, answer, note, answered_by, answered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (facility_id, edition, check_id) DO UPDATE SET \
             answer = excluded.answer, note = excluded.note, answered_by = excluded.answered_by, \
             answered_at = excluded.answered_at",
        )
        .bind(facility_id)
        .bind(edition)
        .bind(&a.check_id)
        .bind(a.answer.map(i64::from))
        .bind(&a.note)
        .bind(&a.answered_by)
        .bind(now_text())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
