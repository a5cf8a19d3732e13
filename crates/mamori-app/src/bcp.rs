//! BCP: contact data, the contact chart, training records, the BCP confirmation table and the BCP document.

use chrono::NaiveDate;
use mamori_model::Facility;
use mamori_store::Store;

use crate::Result;
use crate::evidence::Evidence;

/// Evidence provider (see [`crate::evidence`]). Not yet written: contributes nothing.
pub async fn evidence(_store: &Store, _facility: &Facility, _today: NaiveDate) -> Result<Vec<Evidence>> {
    Ok(Vec::new())
}
