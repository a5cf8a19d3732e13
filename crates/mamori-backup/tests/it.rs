//! Behaviour tests of mamori-backup on real files in temporary directories (one test binary).

#[path = "it/common.rs"]
mod common;
#[path = "it/engine.rs"]
mod engine;
#[path = "it/kill.rs"]
mod kill;
#[cfg(feature = "rest")]
#[path = "it/rest.rs"]
mod rest;
#[path = "it/restic.rs"]
mod restic;
#[path = "it/targets.rs"]
mod targets;
