//! Persistence of the checklist capability (tables in migration 0004): the answers of each form of each
//! edition per facility (and per vendor for the 事業者確認用 form), their history, and the G-MIS survey answers.
//! Methods are `impl Store` blocks here. Rules (which answers are acceptable) live in mamori-app.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_text};

/// Which copy of a checklist form: the facility's own (vendor empty) or one vendor's 事業者確認用.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FormKey {
    /// Edition id, e.g. `r6-2024`.
    pub edition: String,
    /// Form kind as the catalog names it: `hospital`, `vendor`, `pharmacy`.
    pub form: String,
    /// The vendor (事業者名 as in the vendor ledger) of a vendor form; empty otherwise.
    pub vendor: String,
}

/// The answers of one item (one row of the sheet): both rounds, the target date and remarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistAnswer {
    pub item_id: String,
    /// 1回目: はい = true.
    pub r1: Option<bool>,
    pub r1_date: Option<NaiveDate>,
    /// 目標日 (required when the 1st round is いいえ).
    pub target: Option<NaiveDate>,
    /// 2回目.
    pub r2: Option<bool>,
    pub r2_date: Option<NaiveDate>,
    /// 備考.
    pub remarks: String,
    /// Who changed it last and when (RFC 3339); empty for an answer not yet stored.
    #[serde(default)]
    pub updated_by: String,
    #[serde(default)]
    pub updated_at: String,
}

impl ChecklistAnswer {
    /// Whether nothing is answered (an empty row is not stored).
    pub fn is_empty(&self) -> bool {
        self.r1.is_none()
            && self.r1_date.is_none()
            && self.target.is_none()
            && self.r2.is_none()
            && self.r2_date.is_none()
            && self.remarks.trim().is_empty()
    }

    /// The answer fields only (for comparing and for the history).
    fn content(&self) -> serde_json::Value {
        serde_json::json!({
            "r1": self.r1, "r1_date": self.r1_date, "target": self.target,
            "r2": self.r2, "r2_date": self.r2_date, "remarks": self.remarks,
        })
    }
}

/// One change of one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistChange {
    pub item_id: String,
    pub changed_by: String,
    pub changed_at: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// One stored answer of the G-MIS survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GmisAnswer {
    pub question: String,
    pub answer: String,
    pub updated_by: String,
    pub updated_at: String,
}

fn date(r: &AnyRow, col: &str) -> Result<Option<NaiveDate>> {
    let v: Option<String> = r.try_get(col)?;
    v.filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(format!("checklist_answers.{col} = {s:?}: {e}")))
        })
        .transpose()
}

fn flag(r: &AnyRow, col: &str) -> Result<Option<bool>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(|v| v != 0))
}

fn answer_from_row(r: &AnyRow) -> Result<ChecklistAnswer> {
    Ok(ChecklistAnswer {
        item_id: r.try_get("item_id")?,
        r1: flag(r, "r1_answer")?,
        r1_date: date(r, "r1_date")?,
        target: date(r, "target_date")?,
        r2: flag(r, "r2_answer")?,
        r2_date: date(r, "r2_date")?,
        remarks: r.try_get("remarks")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn iso(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

impl Store {
    /// The stored answers of one form copy, by item id order of storage.
    pub async fn checklist_answers(&self, facility_id: i64, key: &FormKey) -> Result<Vec<ChecklistAnswer>> {
        let rows = sqlx::query(
            "SELECT item_id, r1_answer, r1_date, target_date, r2_answer, r2_date, remarks, updated_by, updated_at \
             FROM checklist_answers WHERE facility_id = $1 AND edition = $2 AND form = $3 AND vendor_name = $4 \
             ORDER BY id",
        )
        .bind(facility_id)
        .bind(&key.edition)
        .bind(&key.form)
        .bind(&key.vendor)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(answer_from_row).collect()
    }

    /// The form copies of a facility that hold at least one answer (every edition, every vendor).
    pub async fn checklist_forms(&self, facility_id: i64) -> Result<Vec<FormKey>> {
        let rows = sqlx::query(
            "SELECT DISTINCT edition, form, vendor_name FROM checklist_answers WHERE facility_id = $1 \
             ORDER BY edition, form, vendor_name",
        )
        .bind(facility_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FormKey {
                    edition: r.try_get("edition")?,
                    form: r.try_get("form")?,
                    vendor: r.try_get("vendor_name")?,
                })
            })
            .collect()
    }

    /// Writes the given rows of one form copy (already checked by the caller) and one history entry per
    /// changed row, in ONE transaction: all or nothing. Rows equal to what is stored are skipped; an empty
    /// row deletes the stored one. Returns how many rows changed.
    pub async fn save_checklist_answers(
        &self,
        facility_id: i64,
        key: &FormKey,
        rows: &[ChecklistAnswer],
        by: &str,
    ) -> Result<usize> {
        self.write_checklist_answers(facility_id, key, rows, None, by).await
    }

    /// [`Store::save_checklist_answers`], refused with nothing written when a row is no longer what the caller
    /// based its change on (`based_on`: the rows as the caller read them; a row missing there must not exist):
    /// two people answering the same item at once never silently lose one answer.
    pub async fn save_checklist_answers_if_unchanged(
        &self,
        facility_id: i64,
        key: &FormKey,
        rows: &[ChecklistAnswer],
        based_on: &[ChecklistAnswer],
        by: &str,
    ) -> Result<usize> {
        self.write_checklist_answers(facility_id, key, rows, Some(based_on), by).await
    }

    async fn write_checklist_answers(
        &self,
        facility_id: i64,
        key: &FormKey,
        rows: &[ChecklistAnswer],
        based_on: Option<&[ChecklistAnswer]>,
        by: &str,
    ) -> Result<usize> {
        let now = now_text();
        let mut tx = self.pool().begin().await?;
        let mut changed = 0;
        for row in rows {
            let before = sqlx::query(
                "SELECT item_id, r1_answer, r1_date, target_date, r2_answer, r2_date, remarks, updated_by, updated_at \
                 FROM checklist_answers WHERE facility_id = $1 AND edition = $2 AND form = $3 AND vendor_name = $4 \
                 AND item_id = $5",
            )
            .bind(facility_id)
            .bind(&key.edition)
            .bind(&key.form)
            .bind(&key.vendor)
            .bind(&row.item_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| answer_from_row(&r))
            .transpose()?;
            let before_json = before.as_ref().map(ChecklistAnswer::content).unwrap_or(serde_json::Value::Null);
            if let Some(based_on) = based_on {
                let expected = based_on
                    .iter()
                    .find(|b| b.item_id == row.item_id)
                    .map(ChecklistAnswer::content)
                    .unwrap_or(serde_json::Value::Null);
                if expected != before_json {
                    // Dropping the transaction rolls back what was written so far.
                    return Err(StoreError::Invalid(format!(
                        "項目 {} は他の利用者が先に更新しました。画面を読み込み直してからやり直してください / item {} was changed by someone else meanwhile; reload and try again",
                        row.item_id, row.item_id
                    )));
                }
            }
            let after_json = if row.is_empty() { serde_json::Value::Null } else { row.content() };
            if before_json == after_json {
                continue;
            }
            changed += 1;
            if row.is_empty() {
                sqlx::query(
                    "DELETE FROM checklist_answers WHERE facility_id = $1 AND edition = $2 AND form = $3 \
                     AND vendor_name = $4 AND item_id = $5",
                )
                .bind(facility_id)
                .bind(&key.edition)
                .bind(&key.form)
                .bind(&key.vendor)
                .bind(&row.item_id)
                .execute(&mut *tx)
                .await?;
            } else if before.is_some() {
                sqlx::query(
                    "UPDATE checklist_answers SET r1_answer = $1, r1_date = $2, target_date = $3, r2_answer = $4, \
                     r2_date = $5, remarks = $6, updated_by = $7, updated_at = $8 \
                     WHERE facility_id = $9 AND edition = $10 AND form = $11 AND vendor_name = $12 AND item_id = $13",
                )
                .bind(row.r1.map(i64::from))
                .bind(iso(row.r1_date))
                .bind(iso(row.target))
                .bind(row.r2.map(i64::from))
                .bind(iso(row.r2_date))
                .bind(row.remarks.trim())
                .bind(by)
                .bind(&now)
                .bind(facility_id)
                .bind(&key.edition)
                .bind(&key.form)
                .bind(&key.vendor)
                .bind(&row.item_id)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO checklist_answers (facility_id, edition, form, vendor_name, item_id, r1_answer, \
                     r1_date, target_date, r2_answer, r2_date, remarks, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(facility_id)
                .bind(&key.edition)
                .bind(&key.form)
                .bind(&key.vendor)
                .bind(&row.item_id)
                .bind(row.r1.map(i64::from))
                .bind(iso(row.r1_date))
                .bind(iso(row.target))
                .bind(row.r2.map(i64::from))
                .bind(iso(row.r2_date))
                .bind(row.remarks.trim())
                .bind(by)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO checklist_history (facility_id, edition, form, vendor_name, item_id, changed_by, \
                 changed_at, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(facility_id)
            .bind(&key.edition)
            .bind(&key.form)
            .bind(&key.vendor)
            .bind(&row.item_id)
            .bind(by)
            .bind(&now)
            .bind(before_json.to_string())
            .bind(after_json.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The changes of one form copy (of one item when given), newest first.
    pub async fn checklist_history(
        &self,
        facility_id: i64,
        key: &FormKey,
        item_id: Option<&str>,
    ) -> Result<Vec<ChecklistChange>> {
        let rows = sqlx::query(
            "SELECT item_id, changed_by, changed_at, before_json, after_json FROM checklist_history \
             WHERE facility_id = $1 AND edition = $2 AND form = $3 AND vendor_name = $4 \
             AND ($5 = '' OR item_id = $5) ORDER BY id DESC",
        )
        .bind(facility_id)
        .bind(&key.edition)
        .bind(&key.form)
        .bind(&key.vendor)
        .bind(item_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let parse = |s: String| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()));
                Ok(ChecklistChange {
                    item_id: r.try_get("item_id")?,
                    changed_by: r.try_get("changed_by")?,
                    changed_at: r.try_get("changed_at")?,
                    before: parse(r.try_get("before_json")?)?,
                    after: parse(r.try_get("after_json")?)?,
                })
            })
            .collect()
    }

    /// The stored answers of one G-MIS survey.
    pub async fn gmis_answers(&self, facility_id: i64, survey: &str) -> Result<Vec<GmisAnswer>> {
        let rows = sqlx::query(
            "SELECT question, answer, updated_by, updated_at FROM gmis_answers \
             WHERE facility_id = $1 AND survey = $2 ORDER BY id",
        )
        .bind(facility_id)
        .bind(survey)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GmisAnswer {
                    question: r.try_get("question")?,
                    answer: r.try_get("answer")?,
                    updated_by: r.try_get("updated_by")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Writes answers (question, answer; an empty answer deletes) with their history in ONE transaction.
    /// Returns how many changed.
    pub async fn save_gmis_answers(
        &self,
        facility_id: i64,
        survey: &str,
        answers: &[(String, String)],
        by: &str,
    ) -> Result<usize> {
        self.write_gmis_answers(facility_id, survey, answers, None, by).await
    }

    /// [`Store::save_gmis_answers`], refused with nothing written when the survey's stored answers are no longer
    /// `based_on` (all (question, answer) pairs as the caller read them): the skip rules depend on every answer,
    /// so a change made on a stale read could leave answers the rules skip.
    pub async fn save_gmis_answers_if_unchanged(
        &self,
        facility_id: i64,
        survey: &str,
        answers: &[(String, String)],
        based_on: &[(String, String)],
        by: &str,
    ) -> Result<usize> {
        self.write_gmis_answers(facility_id, survey, answers, Some(based_on), by).await
    }

    async fn write_gmis_answers(
        &self,
        facility_id: i64,
        survey: &str,
        answers: &[(String, String)],
        based_on: Option<&[(String, String)]>,
        by: &str,
    ) -> Result<usize> {
        let now = now_text();
        let mut tx = self.pool().begin().await?;
        if let Some(based_on) = based_on {
            let rows = sqlx::query("SELECT question, answer FROM gmis_answers WHERE facility_id = $1 AND survey = $2")
                .bind(facility_id)
                .bind(survey)
                .fetch_all(&mut *tx)
                .await?;
            let mut stored: Vec<(String, String)> =
                rows.iter().map(|r| Ok((r.try_get("question")?, r.try_get("answer")?))).collect::<Result<_>>()?;
            let mut expected = based_on.to_vec();
            stored.sort();
            expected.sort();
            if stored != expected {
                return Err(StoreError::Invalid(
                    "G-MIS調査の回答は他の利用者が先に更新しました。画面を読み込み直してからやり直してください / the survey's answers were changed by someone else meanwhile; reload and try again".into(),
                ));
            }
        }
        let mut changed = 0;
        for (q, a) in answers {
            let a = a.trim();
            let before: String =
                sqlx::query("SELECT answer FROM gmis_answers WHERE facility_id = $1 AND survey = $2 AND question = $3")
                    .bind(facility_id)
                    .bind(survey)
                    .bind(q)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get::<String, _>(0))
                    .transpose()?
                    .unwrap_or_default();
            if before == a {
                continue;
            }
            changed += 1;
            sqlx::query("DELETE FROM gmis_answers WHERE facility_id = $1 AND survey = $2 AND question = $3")
                .bind(facility_id)
                .bind(survey)
                .bind(q)
                .execute(&mut *tx)
                .await?;
            if !a.is_empty() {
                sqlx::query(
                    "INSERT INTO gmis_answers (facility_id, survey, question, answer, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(facility_id)
                .bind(survey)
                .bind(q)
                .bind(a)
                .bind(by)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO gmis_history (facility_id, survey, question, changed_by, changed_at, before_answer, \
                 after_answer) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(facility_id)
            .bind(survey)
            .bind(q)
            .bind(by)
            .bind(&now)
            .bind(&before)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
