//! `mamori vuln …`: feeds, scans and findings.

use anyhow::Result;
use clap::Subcommand;

use crate::Global;

#[derive(Subcommand, Debug)]
pub enum VulnCommand {
    /// 脆弱性の指摘を表示する / list the findings
    Show,
}

pub async fn vuln(_g: &Global, _c: VulnCommand) -> Result<u8> {
    anyhow::bail!("未実装です / not implemented yet")
}

/// Demo data of this capability (called by `mamori demo` after the ledgers are in). Nothing yet.
pub async fn seed_demo(_store: &mamori_store::Store, _facility: &mamori_model::Facility) -> Result<()> {
    Ok(())
}
