use std::path::Path;
use std::process::Command;

use mamori_backup::*;

use crate::common::*;

pub fn restic(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new("restic")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", "backup-pass-テスト")
        .env("RESTIC_CACHE_DIR", repo.parent().unwrap().join("restic-cache"))
        .output()
        .expect("restic must be installed (see crates/mamori-backup/APT_PACKAGES)")
}

/// Debian's restic lists, checks (reading all data) and restores what mamori wrote, identically.
#[test]
fn debian_restic_reads_checks_and_restores_our_repository() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(21, 256 * 1024);
    let dir_run = backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let cmd_run = backup_command(
        &f.repo,
        &backup_pw(),
        &CommandSource {
            system: "lab".into(),
            dump_type: "stream".into(),
            program: "cat".into(),
            args: vec![f.landing.join("ehr.csv").to_string_lossy().into_owned()],
            file_name: "lab.dump".into(),
            work_dir: f.work.clone(),
        },
    )
    .unwrap();

    // mamori writes its key files itself, with restic's scrypt parameters (32 MiB per open, not
    // rustic's 128 MiB): exactly two, one per role, and restic opens the repository with either.
    let mut params = key_parameters(&f.repo).unwrap();
    params.sort();
    assert_eq!(
        params,
        vec![
            (ADMIN_KEY_USER.to_string(), 1 << SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P),
            (BACKUP_KEY_USER.to_string(), 1 << SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
        ]
    );
    assert_eq!((1u32 << SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P), (32768, 8, 6));
    let out = restic(&f.repo, &["key", "list", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("restic")
        .args(["-r", f.repo.to_str().unwrap(), "cat", "config", "--no-cache"])
        .env("RESTIC_PASSWORD", "admin-pass-管理")
        .output()
        .unwrap();
    assert!(out.status.success(), "restic with the admin key: {}", String::from_utf8_lossy(&out.stderr));

    let out = restic(&f.repo, &["snapshots", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = snaps.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&dir_run.snapshot_id.as_str()) && ids.contains(&cmd_run.snapshot_id.as_str()));
    let tags: Vec<String> =
        snaps[0]["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    assert!(tags.contains(&"mamori".to_string()), "{tags:?}");

    let out = restic(&f.repo, &["check", "--read-data"]);
    assert!(
        out.status.success(),
        "restic check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let target = f.root.join("restic-restore");
    let out = restic(&f.repo, &["restore", &dir_run.snapshot_id, "--target", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let landing = f.landing.canonicalize().unwrap();
    let base = target.join(landing.strip_prefix("/").unwrap());
    for e in &dir_run.manifest.files {
        assert_eq!(
            std::fs::read(base.join(&e.path)).unwrap(),
            std::fs::read(landing.join(&e.path)).unwrap(),
            "{}",
            e.path
        );
    }
    // Our own comparison against the manifest agrees.
    // The manifest lies beside the landing directory: `<landing>.mamori-manifest.json`.
    let mfile = target.join(format!("{}.{MANIFEST_NAME}", landing.strip_prefix("/").unwrap().display()));
    let m: Manifest = serde_json::from_slice(&std::fs::read(&mfile).unwrap()).unwrap();
    let (n, _, mism) = compare_with_manifest(&target, &m, &mfile).unwrap();
    assert!(mism.is_empty() && n == 3, "{mism:?}");

    let t2 = f.root.join("restic-restore-stream");
    let out = restic(&f.repo, &["restore", &cmd_run.snapshot_id, "--target", t2.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(t2.join("lab.dump")).unwrap(), std::fs::read(f.landing.join("ehr.csv")).unwrap());
    assert!(t2.join(format!("lab.dump.{MANIFEST_NAME}")).is_file());
}

/// Key files mamori did not write still open: one from rustic's default parameters (N=2^17, the
/// repositories mamori made before it wrote its own keys) and one from restic (calibrated
/// parameters, its own user name). A wrong password still fails clearly.
#[test]
fn repositories_with_rustic_or_restic_key_files_still_open() {
    let f = Fixture::new();
    let rustic_repo = f.root.join("rustic-made");
    std::fs::create_dir_all(&rustic_repo).unwrap();
    let be = rustic_backend::BackendOptions::default().repository(rustic_repo.to_str().unwrap()).to_backends().unwrap();
    rustic_core::Repository::new(&rustic_core::RepositoryOptions::default().no_cache(true), &be)
        .unwrap()
        .init(
            &rustic_core::Credentials::password("backup-pass-テスト"),
            &rustic_core::KeyOptions::default(),
            &rustic_core::ConfigOptions::default(),
        )
        .unwrap();
    assert_eq!(key_parameters(&rustic_repo).unwrap()[0].1, 1 << 17);
    assert!(generations(&rustic_repo, &backup_pw()).unwrap().is_empty());

    let restic_repo = f.root.join("restic-made");
    let out = restic(&restic_repo, &["init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(generations(&restic_repo, &backup_pw()).unwrap().is_empty());
    let err = generations(&restic_repo, &admin_pw()).unwrap_err();
    assert!(matches!(err, BackupError::WrongPassword { .. }), "{err}");
}

/// mamori cuts files into chunks with its own fast scanner (crates/mamori-cdc, in the fork of
/// rustic_core): the real restic, backing up the same files into the same repository, must find
/// every data chunk already there. A single boundary in a different place would add data blobs.
#[test]
fn restic_finds_every_chunk_mamori_cut_already_stored() {
    let f = Fixture::new();
    f.init();
    let mut rng = Rng(77);
    // Random data with runs of zeros (cut at the minimum size) and of one byte (never cut).
    let mut big = rng.bytes(40 << 20);
    big[5 << 20..7 << 20].fill(0);
    big[20 << 20..30 << 20].fill(0xA5);
    std::fs::write(f.landing.join("ehr.bin"), &big).unwrap();
    let mut text = String::new();
    for i in 0..300_000u64 {
        text.push_str(&format!("{i},患者{},2026-11-{:02},処方あり\n", rng.next() % 100_000, i % 28 + 1));
    }
    std::fs::write(f.landing.join("ehr.csv"), &text).unwrap();
    std::fs::write(f.landing.join("exact-min.bin"), rng.bytes(512 << 10)).unwrap();
    std::fs::write(f.landing.join("small.bin"), rng.bytes(300 << 10)).unwrap();
    let run = backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    assert_eq!(run.files, 5, "4 dumps and the manifest");

    let out = restic(&f.repo, &["backup", "--json", "--host", "restic-side", f.landing.to_str().unwrap()]);
    assert!(out.status.success(), "restic backup: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message_type"] == "summary")
        .unwrap_or_else(|| panic!("no summary from restic: {stdout}"));
    assert_eq!(summary["files_new"], 4, "{summary}");
    assert!(summary["total_bytes_processed"].as_u64().unwrap() > 50 << 20, "{summary}");
    assert_eq!(summary["data_blobs"], 0, "restic had to store new data chunks: {summary}");
}
