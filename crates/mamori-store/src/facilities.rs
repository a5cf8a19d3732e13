//! Facilities (医療機関).

use mamori_model::auth::FacilityScope;
use mamori_model::{Facility, FacilityKind, NewFacility};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Result, Store, StoreError, now_text};

const COLS: &str = "id, name, kind, prefecture, municipality, beds, has_ehr, medical_code";

fn from_row(r: &AnyRow) -> Result<Facility> {
    let kind: String = r.try_get("kind")?;
    Ok(Facility {
        id: r.try_get("id")?,
        data: NewFacility {
            name: r.try_get("name")?,
            kind: FacilityKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("facility kind {kind}")))?,
            prefecture: r.try_get("prefecture")?,
            municipality: r.try_get("municipality")?,
            beds: r.try_get::<Option<i64>, _>("beds")?.map(|b| b as u32),
            has_ehr: r.try_get::<i64, _>("has_ehr")? != 0,
            medical_code: r.try_get("medical_code")?,
        },
    })
}

impl Store {
    pub async fn add_facility(&self, f: &NewFacility) -> Result<Facility> {
        f.validate().map_err(StoreError::Invalid)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO facilities (name, kind, prefecture, municipality, beds, has_ehr, medical_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLS}"
        )))
        .bind(&f.name)
        .bind(f.kind.as_str())
        .bind(&f.prefecture)
        .bind(&f.municipality)
        .bind(f.beds.map(i64::from))
        .bind(f.has_ehr as i64)
        .bind(&f.medical_code)
        .bind(now_text())
        .fetch_one(self.pool())
        .await?;
        from_row(&row)
    }

    pub async fn facilities(&self) -> Result<Vec<Facility>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM facilities ORDER BY id")))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One page of the facilities a user sees (by id), with the number of all that match: the scope
    /// comes from [`mamori_model::auth::Principal::facility_scope`]; every search word must occur in the name,
    /// 医療機関コード, prefecture or municipality.
    pub async fn facilities_in(
        &self,
        scope: &FacilityScope,
        search: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Facility>, i64)> {
        let mut wheres: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        match scope {
            FacilityScope::All => {}
            FacilityScope::Ids(ids) if ids.is_empty() => return Ok((Vec::new(), 0)),
            FacilityScope::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                binds.push(format!("[{}]", list.join(",")));
                wheres.push(format!("id IN {}", self.id_list_sql(binds.len())));
            }
            FacilityScope::Prefecture(p) => {
                binds.push(p.clone());
                wheres.push(format!("prefecture = ${}", binds.len()));
            }
        }
        let contains = if self.backend() == crate::Backend::Postgres { "strpos" } else { "instr" };
        for term in crate::web::search_terms(search) {
            binds.push(term);
            wheres.push(format!(
                "{contains}(lower(name || ' ' || COALESCE(medical_code, '') || ' ' || prefecture || ' ' || municipality), ${}) > 0",
                binds.len()
            ));
        }
        let where_sql = if wheres.is_empty() { String::new() } else { format!(" WHERE {}", wheres.join(" AND ")) };
        let bind_all = |sql: String| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q
        };
        // One statement for the page and the number of matches (every page draws the header's switcher with it);
        // only a page past the end needs the count on its own.
        let rows = bind_all(format!(
            "SELECT {COLS}, COUNT(*) OVER () AS matches FROM facilities{where_sql} ORDER BY id LIMIT {} OFFSET {}",
            limit.clamp(1, 1000),
            offset.max(0)
        ))
        .fetch_all(self.pool())
        .await?;
        let total: i64 = match rows.first() {
            Some(r) => r.try_get("matches")?,
            None if offset <= 0 => 0,
            None => bind_all(format!("SELECT COUNT(*) FROM facilities{where_sql}"))
                .fetch_one(self.pool())
                .await?
                .try_get(0)?,
        };
        Ok((rows.iter().map(from_row).collect::<Result<Vec<_>>>()?, total))
    }

    pub async fn facility(&self, id: i64) -> Result<Option<Facility>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM facilities WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Finds a facility by id, 医療機関コード or exact name; with `None`, the only facility of the deployment.
    pub async fn resolve_facility(&self, selector: Option<&str>) -> Result<Facility> {
        match selector {
            Some(sel) => {
                let by_id = match sel.parse::<i64>() {
                    Ok(id) if sel.len() != 10 => self.facility(id).await?,
                    _ => None,
                };
                if let Some(f) = by_id {
                    return Ok(f);
                }
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLS} FROM facilities WHERE medical_code = $1 OR name = $1 ORDER BY id LIMIT 1"
                )))
                .bind(sel)
                .fetch_optional(self.pool())
                .await?;
                row.as_ref().map(from_row).transpose()?.ok_or_else(|| StoreError::NoFacility(sel.to_string()))
            }
            None => {
                let all = self.facilities().await?;
                match all.len() {
                    1 => Ok(all.into_iter().next().expect("one")),
                    0 => Err(StoreError::Invalid(
                        "施設がまだ登録されていません。mamori init --facility-name … で登録してください / no facility yet: run mamori init".into(),
                    )),
                    n => Err(StoreError::Invalid(format!(
                        "施設が{n}件あります。--facility で指定してください（mamori facility list）/ {n} facilities: choose one with --facility"
                    ))),
                }
            }
        }
    }
}
