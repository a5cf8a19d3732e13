//! Application services: the jobs the CLI and the web both do, written once — importing a hospital's
//! file into a ledger (all or nothing), exporting a ledger, and reviewing the ledgers for findings.

pub mod backup;
pub mod bcp;
pub mod checklist;
pub mod evidence;
pub mod vuln;

use mamori_catalog::CatalogSource;
use mamori_catalog::eos::EndOfSupportCatalog;
use mamori_model::Facility;
use mamori_model::findings::{Finding, FindingOptions, account_findings, device_findings};
use mamori_model::import::{HeaderMapping, ImportIssue, ImportPlan, RawTable, Severity, plan};
use mamori_model::ledger::{Account, Device, InfoSystem, LedgerKind, LedgerRecord, Vendor};
use mamori_store::{ImportRun, Store, UpsertCounts, now_text};
use mamori_tabular::CsvFlavor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] mamori_store::StoreError),
    #[error(transparent)]
    Tabular(#[from] mamori_tabular::TabularError),
    #[error(transparent)]
    Catalog(#[from] mamori_catalog::CatalogError),
    /// A document (PDF, xlsx, docx, chart) could not be rendered: a fault of mamori, not of the user's data.
    #[error("帳票を作れません（{what}）/ cannot render the document ({what}): {source}")]
    Report {
        what: String,
        #[source]
        source: mamori_report::ReportError,
    },
}

impl AppError {
    /// What the user asked for cannot be done as asked (refused input): the message says why.
    pub fn invalid_input(&self) -> Option<&str> {
        match self {
            AppError::Store(mamori_store::StoreError::Invalid(m)) => Some(m),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

/// What an import did or would do; printed by the CLI as text or JSON, shown by the web as a table.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub ledger: &'static str,
    pub file: String,
    pub dry_run: bool,
    /// Data rows in the file (valid and invalid).
    pub rows: usize,
    pub written: bool,
    pub counts: Option<UpsertCounts>,
    pub issues: Vec<ImportIssue>,
}

impl ImportReport {
    pub fn error_count(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Error).count()
    }
}

/// Plans and, unless `dry_run` or invalid, writes one table into a ledger in one transaction.
/// `progress(done, total)` is called while writing.
#[allow(clippy::too_many_arguments)]
pub async fn import_table(
    store: &Store,
    facility: &Facility,
    kind: LedgerKind,
    table: RawTable,
    mapping: &HeaderMapping,
    file_bytes: &[u8],
    dry_run: bool,
    by: &str,
    progress: impl FnMut(usize, usize),
) -> Result<ImportReport> {
    match kind {
        LedgerKind::Devices => {
            import_typed::<Device>(store, facility, table, mapping, file_bytes, dry_run, by, progress).await
        }
        LedgerKind::Systems => {
            import_typed::<InfoSystem>(store, facility, table, mapping, file_bytes, dry_run, by, progress).await
        }
        LedgerKind::Accounts => {
            import_typed::<Account>(store, facility, table, mapping, file_bytes, dry_run, by, progress).await
        }
        LedgerKind::Vendors => {
            import_typed::<Vendor>(store, facility, table, mapping, file_bytes, dry_run, by, progress).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn import_typed<T>(
    store: &Store,
    facility: &Facility,
    table: RawTable,
    mapping: &HeaderMapping,
    file_bytes: &[u8],
    dry_run: bool,
    by: &str,
    progress: impl FnMut(usize, usize),
) -> Result<ImportReport>
where
    T: LedgerRecord + Serialize + DeserializeOwned + PartialEq,
{
    let source = table.source.clone();
    let p: ImportPlan<T> = plan(table, mapping);
    let bad_rows: std::collections::HashSet<usize> =
        p.errors().filter_map(|i| i.row).filter(|r| Some(*r) != p.header_row).collect();
    let mut report = ImportReport {
        ledger: T::KIND.as_str(),
        file: p.source.clone(),
        dry_run,
        rows: p.records.len() + bad_rows.len(),
        written: false,
        counts: None,
        issues: p.issues.clone(),
    };
    if !p.is_valid() || dry_run {
        return Ok(report);
    }
    let records: Vec<T> = p.records.into_iter().map(|(_, r)| r).collect();
    let counts = store.upsert(facility.id, &records, progress).await?;
    store
        .record_import(
            facility.id,
            &ImportRun {
                ledger: T::KIND.as_str().into(),
                source,
                sha256: Sha256::digest(file_bytes).iter().map(|x| format!("{x:02x}")).collect(),
                rows_in_file: records.len(),
                counts,
                imported_by: by.into(),
                imported_at: now_text(),
            },
        )
        .await?;
    report.written = true;
    report.counts = Some(counts);
    Ok(report)
}

/// Export formats of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM (Excel opens it correctly)
    Csv,
    /// CSV, Shift_JIS (CP932)
    CsvCp932,
    /// Excel workbook
    Xlsx,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv | Self::CsvCp932 => "csv",
            Self::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::CsvCp932 => "text/csv; charset=shift_jis",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A ledger as a file in the given format, with the same columns the importer reads back.
pub async fn export_bytes(store: &Store, facility_id: i64, kind: LedgerKind, format: ExportFormat) -> Result<Vec<u8>> {
    let rows = match kind {
        LedgerKind::Devices => cells::<Device>(store, facility_id).await?,
        LedgerKind::Systems => cells::<InfoSystem>(store, facility_id).await?,
        LedgerKind::Accounts => cells::<Account>(store, facility_id).await?,
        LedgerKind::Vendors => cells::<Vendor>(store, facility_id).await?,
    };
    let headers: Vec<&str> = kind.columns().iter().map(|c| c.ja).collect();
    Ok(match format {
        ExportFormat::Csv => mamori_tabular::write_csv(&headers, &rows, CsvFlavor::Utf8Bom)?,
        ExportFormat::CsvCp932 => mamori_tabular::write_csv(&headers, &rows, CsvFlavor::Cp932)?,
        ExportFormat::Xlsx => mamori_tabular::write_xlsx(kind.label_ja(), &headers, &rows)?,
    })
}

async fn cells<T: LedgerRecord + DeserializeOwned>(store: &Store, facility_id: i64) -> Result<Vec<Vec<String>>> {
    Ok(store.list::<T>(facility_id).await?.iter().map(|r| r.to_cells()).collect())
}

/// All ledger findings of a facility, most severe first.
pub async fn ledger_findings(store: &Store, facility_id: i64, opts: &FindingOptions) -> Result<Vec<Finding>> {
    let eos = EndOfSupportCatalog::load(&CatalogSource::embedded())?;
    let devices: Vec<Device> = store.list(facility_id).await?;
    let accounts: Vec<Account> = store.list(facility_id).await?;
    let mut all = device_findings(&devices, &eos, opts);
    all.extend(account_findings(&accounts, opts));
    all.sort_by(|a, b| {
        a.severity.cmp(&b.severity).then(a.ledger.as_str().cmp(b.ledger.as_str())).then(a.key.cmp(&b.key))
    });
    Ok(all)
}
