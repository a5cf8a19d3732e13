//! `mamori contacts …` and `mamori bcp …`: contacts, the contact chart, training records, the BCP.

use anyhow::Result;
use clap::Subcommand;

use crate::Global;

#[derive(Subcommand, Debug)]
pub enum ContactsCommand {
    /// 連絡先を表示する / list the contacts
    Show,
}

#[derive(Subcommand, Debug)]
pub enum BcpCommand {
    /// BCP確認表を表示する / show the confirmation table
    Show,
}

pub async fn contacts(_g: &Global, _c: ContactsCommand) -> Result<u8> {
    anyhow::bail!("未実装です / not implemented yet")
}

pub async fn bcp(_g: &Global, _c: BcpCommand) -> Result<u8> {
    anyhow::bail!("未実装です / not implemented yet")
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in). Nothing yet.
pub async fn seed_demo(_store: &mamori_store::Store, _facility: &mamori_model::Facility) -> Result<()> {
    Ok(())
}
