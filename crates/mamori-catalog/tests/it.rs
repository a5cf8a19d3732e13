//! Behaviour tests of mamori-catalog through its public API (one test binary for the crate).

#[path = "it/common.rs"]
mod common;

#[path = "it/checklist.rs"]
mod checklist;

#[path = "it/gmis.rs"]
mod gmis;

#[path = "it/bcp.rs"]
mod bcp;

#[path = "it/contract.rs"]
mod contract;
