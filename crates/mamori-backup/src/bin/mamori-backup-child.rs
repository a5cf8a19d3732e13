//! Test helper: runs one backup in its own process so tests can kill it (SIGKILL trials).
//! Not part of the product CLI (that is `mamori backup …`).
//!
//! Usage: mamori-backup-child <repo> <landing> <work_dir> <system> <dump_type>
//! The password comes from MAMORI_BACKUP_PASSWORD. Prints the BackupRun as JSON.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        eprintln!("使い方 / usage: mamori-backup-child <repo> <landing> <work_dir> <system> <dump_type>");
        std::process::exit(2);
    }
    let run = || -> mamori_backup::Result<mamori_backup::BackupRun> {
        let pw = mamori_backup::Password::from_env("MAMORI_BACKUP_PASSWORD")?;
        let src = mamori_backup::DirSource {
            system: args[3].clone(),
            dump_type: args[4].clone(),
            landing: args[1].clone().into(),
            work_dir: args[2].clone().into(),
        };
        mamori_backup::backup_directory(std::path::Path::new(&args[0]), &pw, &src)
    };
    match run() {
        Ok(r) => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
