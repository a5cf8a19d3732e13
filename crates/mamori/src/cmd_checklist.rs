//! `mamori checklist …` and `mamori gmis …`: the checklist and the G-MIS survey.

use anyhow::Result;
use clap::Subcommand;

use crate::Global;

#[derive(Subcommand, Debug)]
pub enum ChecklistCommand {
    /// チェックリストを表示する / show the checklist
    Show,
}

#[derive(Subcommand, Debug)]
pub enum GmisCommand {
    /// G-MIS調査を表示する / show the survey
    Show,
}

pub async fn checklist(_g: &Global, _c: ChecklistCommand) -> Result<u8> {
    anyhow::bail!("未実装です / not implemented yet")
}

pub async fn gmis(_g: &Global, _c: GmisCommand) -> Result<u8> {
    anyhow::bail!("未実装です / not implemented yet")
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in). Nothing yet.
pub async fn seed_demo(_store: &mamori_store::Store, _facility: &mamori_model::Facility) -> Result<()> {
    Ok(())
}
