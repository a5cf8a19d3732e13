//! Behaviour tests of mamori-backup on real files in temporary directories (one test binary).

#[path = "it/common.rs"]
mod common;
#[path = "it/engine.rs"]
mod engine;
#[path = "it/kill.rs"]
mod kill;
#[path = "it/restic.rs"]
mod restic;
#[path = "it/targets.rs"]
mod targets;
