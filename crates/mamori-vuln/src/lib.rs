//! mamori-vuln: offline vulnerability diagnosis for hospital device ledgers.
//!
//! Import NVD (CVE API 2.0 JSON), CISA KEV and JVN iPedia files ([`read_any`]), merge them into a
//! [`VulnDb`] ([`VulnDb::apply`]), build a [`VulnIndex`] and match [`DeviceFacts`] against it
//! ([`match_devices`], [`diagnose`], or the streaming [`scan_devices`] / [`scan_profiles`]) to get
//! [`Finding`]s. No network and no database: the caller reads files and persists records as it likes.

pub mod cpe;
pub mod db;
pub mod error;
pub mod jvn;
pub mod kev;
pub mod matcher;
pub mod model;
pub mod normalise;
pub mod nvd;
pub mod version;

pub use cpe::{Av, Cpe};
pub use db::{ApplyReport, FileKind, ImportBatch, VulnDb, detect, read_any};
pub use error::VulnError;
pub use matcher::{
    Confidence, Diagnosis, Finding, KevInfo, PriorityTier, Profile, ProfileFinding, ReviewItem, VulnIndex, cpe_product,
    cve_products, diagnose, jvn_products, match_devices, scan_devices, scan_normalised, scan_profiles,
};
pub use model::*;
pub use normalise::{CpeCandidate, DeviceFacts, Normalised, normalise};
pub use version::{Family, Version};
