//! Web commands (serve, users, the app's own access log). Owned by the web work (issue 3); until the web
//! crate lands, `mamori demo` loads the data and says how to look at it from the CLI.

use std::net::SocketAddr;

use anyhow::Result;
use clap::Subcommand;
use mamori_model::Facility;
use mamori_store::Store;

use crate::Global;

#[derive(Subcommand, Debug)]
pub enum WebCommand {}

pub async fn run(_g: &Global, c: WebCommand) -> Result<u8> {
    match c {}
}

/// Called by `mamori demo` once the demo hospital is loaded.
pub async fn serve_demo(_store: Store, facility: Facility, _listen: SocketAddr) -> Result<()> {
    println!(
        "Web画面はまだありません。CLI で確認できます / no web UI yet; try the CLI:\n  mamori --db mamori-demo.db findings --facility {}\n  mamori --db mamori-demo.db export devices --format xlsx -o 機器台帳.xlsx",
        facility.id
    );
    Ok(())
}
