//! T3 off-site on a restic REST server: a real peer on loopback (`rclone serve restic`, Debian's
//! rclone; Debian has no restic rest-server package). Only with the `rest` cargo feature.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mamori_backup::*;

use crate::common::*;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `rclone serve restic` on a free loopback port, storing under `dir`.
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("rclone")
            .args(["serve", "restic", "--addr", &format!("127.0.0.1:{port}")])
            .args(extra)
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rclone must be installed (see crates/mamori-backup/APT_PACKAGES)");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("rclone serve restic did not listen on {port}");
    }

    fn repo(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("rest:http://127.0.0.1:{}/{name}/", self.port))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Init, three generations, check, drill, forget with the admin key on a REST server; restic
/// reads the same repository over REST; a wrong password fails clearly; an append-only server
/// takes backups but refuses deletion.
#[test]
fn a_rest_server_repository_works_end_to_end_and_restic_reads_it() {
    let f = Fixture::new();
    let store = f.root.join("rest-store");
    std::fs::create_dir_all(&store).unwrap();
    let server = Server::start(&store, &[]);
    let repo = server.repo("ehr");
    assert!(is_rest(&repo));

    let init = init_repository(&repo, &backup_pw(), &admin_pw()).unwrap();
    assert!(store.join("ehr/config").is_file(), "the repository lives on the server's storage");
    let mut keys: Vec<String> = std::fs::read_dir(store.join("ehr/keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    keys.sort();
    let mut want = vec![init.backup_key_id.clone(), init.admin_key_id.clone()];
    want.sort();
    assert_eq!(keys, want, "exactly our two key files, written over REST");
    // The encryption point reads the same facts over REST as from a directory.
    let enc = mamori_backup::policy::encryption_facts(&repo).expect("config read over REST");
    assert!(enc.config_encrypted && enc.key_files == 2, "{enc:?}");
    assert!(matches!(
        init_repository(&repo, &backup_pw(), &admin_pw()).unwrap_err(),
        BackupError::AlreadyExists { .. }
    ));

    let mut runs = Vec::new();
    for day in 0..4u64 {
        f.write_dumps(500 + day, 96 * 1024);
        runs.push(backup_directory(&repo, &backup_pw(), &f.source("ehr")).unwrap());
    }
    assert_eq!(generations(&repo, &backup_pw()).unwrap().len(), 4);
    let c = check(&repo, &backup_pw(), ReadData::All).unwrap();
    assert!(c.ok, "{:?}", c.errors);
    let d = restore_drill(&repo, &backup_pw(), &SnapshotRef::Latest { system: None }, &f.root.join("scratch"), false)
        .unwrap();
    assert!(d.ok && d.files == 3, "{:?}", d.mismatches);

    let wrong = Password::new("not-the-password").unwrap();
    assert!(matches!(generations(&repo, &wrong).unwrap_err(), BackupError::WrongPassword { .. }));
    assert!(matches!(forget_prune(&repo, &backup_pw(), 3).unwrap_err(), BackupError::NotAdmin { .. }));
    let fr = forget_prune(&repo, &admin_pw(), 3).unwrap();
    assert_eq!(fr.removed, vec![runs[0].snapshot_id.clone()]);

    let out = Command::new("restic")
        .arg("-r")
        .arg(&repo)
        .args(["check", "--read-data", "--no-cache"])
        .env("RESTIC_PASSWORD", "backup-pass-テスト")
        .output()
        .unwrap();
    assert!(out.status.success(), "restic over REST: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("restic")
        .arg("-r")
        .arg(&repo)
        .args(["snapshots", "--json", "--no-cache"])
        .env("RESTIC_PASSWORD", "backup-pass-テスト")
        .output()
        .unwrap();
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 3);
    drop(server);

    // The same storage served append-only: backups go on, deleting is refused by the server.
    let server = Server::start(&store, &["--append-only"]);
    let repo = server.repo("ehr");
    f.write_dumps(600, 32 * 1024);
    backup_directory(&repo, &backup_pw(), &f.source("ehr")).unwrap();
    assert_eq!(generations(&repo, &backup_pw()).unwrap().len(), 4);
    assert!(forget_prune(&repo, &admin_pw(), 1).is_err(), "an append-only server refuses deletion");
    assert!(check(&repo, &backup_pw(), ReadData::None).unwrap().ok);
}
