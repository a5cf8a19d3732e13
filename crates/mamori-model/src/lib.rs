//! Domain types and pure rules of mamori. No IO: the store, the file readers and the web sit around this.
//!
//! - [`facility`]: 医療機関 — every record belongs to one.
//! - [`ledger`]: 機器台帳, 医療情報システム一覧, 利用者ID台帳, 事業者 — their columns and row validation.
//! - [`import`]: turning a table read from a hospital's own file into validated records, all or nothing.
//! - [`findings`]: what the ledgers tell (end of support, stale accounts, duplicates …), each with its reason.
//! - [`text`], [`date`]: normalisation of what people type (全角/半角, 和暦).

pub mod audit;
pub mod auth;
pub mod date;
pub mod facility;
pub mod findings;
pub mod import;
pub mod ledger;
pub mod text;

pub use facility::{BedClass, Facility, FacilityKind, NewFacility};
pub use ledger::{Account, Device, InfoSystem, LedgerKind, Vendor};
