//! The checklist (FY2024 and later editions) and the G-MIS survey: assessments, rules, readiness, exports. Also the ledger evidence provider.

use chrono::NaiveDate;
use mamori_model::Facility;
use mamori_store::Store;

use crate::Result;
use crate::evidence::Evidence;

/// Evidence provider (see [`crate::evidence`]). Not yet written: contributes nothing.
pub async fn ledger_evidence(_store: &Store, _facility: &Facility, _today: NaiveDate) -> Result<Vec<Evidence>> {
    Ok(Vec::new())
}
