//! Behaviour tests for mamori-report through its public API (one test binary).

#[path = "it/fixtures.rs"]
mod fixtures;
#[path = "it/helpers.rs"]
mod helpers;

#[path = "it/chart.rs"]
mod chart;
#[path = "it/docx.rs"]
mod docx;
#[path = "it/pdf.rs"]
mod pdf;
#[path = "it/xlsx.rs"]
mod xlsx;
