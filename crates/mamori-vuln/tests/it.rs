//! Behaviour tests of mamori-vuln (one test binary).

#[path = "it/common.rs"]
mod common;
#[path = "it/fuzz.rs"]
mod fuzz;
#[path = "it/import.rs"]
mod import;
#[path = "it/matching.rs"]
mod matching;
