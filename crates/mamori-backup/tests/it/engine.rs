use std::path::Path;

use mamori_backup::*;

use crate::common::*;

#[test]
fn three_generations_then_forget_keeps_the_newest_with_admin_key_only() {
    let f = Fixture::new();
    f.init();
    let mut runs = Vec::new();
    for day in 0..4u64 {
        f.write_dumps(100 + day, 64 * 1024);
        let run = backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        assert_eq!(run.manifest.files.len(), 3);
        assert!(run.tags.contains(&"system=ehr".to_string()));
        runs.push(run);
    }
    let gens = generations(&f.repo, &backup_pw()).unwrap();
    assert_eq!(gens.len(), 4, "four generations counted from the repository");
    assert!(gens.iter().all(|g| g.system == "ehr" && g.dump_type == "full"));

    // The everyday backup key may not forget; nothing changes.
    let before = snapshot_tree(&f.repo);
    let err = forget_prune(&f.repo, &backup_pw(), 3).unwrap_err();
    assert!(matches!(err, BackupError::NotAdmin { .. }), "{err}");
    assert!(err.to_string().contains("管理者パスワード"));
    assert_eq!(before, snapshot_tree(&f.repo), "a refused forget must change nothing");

    let fr = forget_prune(&f.repo, &admin_pw(), 3).unwrap();
    assert_eq!(fr.removed, vec![runs[0].snapshot_id.clone()], "only the oldest goes");
    let left: Vec<String> = generations(&f.repo, &backup_pw()).unwrap().into_iter().map(|g| g.snapshot_id).collect();
    let newest: Vec<String> = runs[1..].iter().map(|r| r.snapshot_id.clone()).collect();
    assert_eq!(left, newest, "the newest three are untouched");

    let c = check(&f.repo, &backup_pw(), ReadData::All).unwrap();
    assert!(c.ok, "{:?}", c.errors);
    let d = restore_drill(
        &f.repo,
        &backup_pw(),
        &SnapshotRef::Id(runs[1].snapshot_id.clone()),
        &f.root.join("scratch"),
        false,
    )
    .unwrap();
    assert!(d.ok, "an older kept generation still restores: {:?}", d.mismatches);
}

#[test]
fn drill_restores_bit_exact_and_detects_a_changed_manifest_match() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(7, 200 * 1024);
    let run = backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let scratch = f.root.join("scratch");
    let d = restore_drill(&f.repo, &backup_pw(), &SnapshotRef::Latest { system: Some("ehr".into()) }, &scratch, true)
        .unwrap();
    assert!(d.ok, "{:?}", d.mismatches);
    assert_eq!(d.files, 3);
    assert_eq!(d.bytes, run.manifest.total_bytes());
    assert_eq!(d.snapshot_id, run.snapshot_id);
    // Compare byte for byte with the source as well.
    let restored_root = std::fs::read_dir(&scratch).unwrap().next().unwrap().unwrap().path();
    let landing = f.landing.canonicalize().unwrap();
    let base = restored_root.join(landing.strip_prefix("/").unwrap());
    for e in &run.manifest.files {
        assert_eq!(
            std::fs::read(base.join(&e.path)).unwrap(),
            std::fs::read(landing.join(&e.path)).unwrap(),
            "{}",
            e.path
        );
    }
    // The comparison really compares: a manifest with one wrong hash gives a mismatch.
    let mut m = run.manifest.clone();
    m.files[0].sha256 = "0".repeat(64);
    let (_, _, mism) = compare_with_manifest(&restored_root, &m, Path::new("/nonexistent")).unwrap();
    assert!(
        mism.iter().any(|x| x.path == m.files[0].path && matches!(x.kind, MismatchKind::Content { .. })),
        "{mism:?}"
    );
}

#[test]
fn command_stream_backup_has_manifest_and_restores_bit_exact() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(9, 300 * 1024);
    let src = CommandSource {
        system: "pacs".into(),
        dump_type: "pg_dump".into(),
        program: "cat".into(),
        args: vec![f.landing.join("ehr.bin").to_string_lossy().into_owned()],
        file_name: "pacs.dump".into(),
        work_dir: f.work.clone(),
    };
    let run = backup_command(&f.repo, &backup_pw(), &src).unwrap();
    let bytes = std::fs::read(f.landing.join("ehr.bin")).unwrap();
    assert_eq!(run.manifest.files.len(), 1);
    assert_eq!(run.manifest.files[0].size, bytes.len() as u64);
    let want = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(run.manifest.files[0].sha256, want);
    let d = restore_drill(
        &f.repo,
        &backup_pw(),
        &SnapshotRef::Latest { system: Some("pacs".into()) },
        &f.root.join("s"),
        false,
    )
    .unwrap();
    assert!(d.ok && d.files == 1 && d.bytes == bytes.len() as u64, "{d:?}");

    // A failing command leaves no snapshot behind and says so.
    let bad = CommandSource {
        program: "sh".into(),
        args: vec!["-c".into(), "echo partial; echo 'disk full' >&2; exit 3".into()],
        ..src
    };
    let err = backup_command(&f.repo, &backup_pw(), &bad).unwrap_err();
    assert!(matches!(err, BackupError::CommandFailed { .. }), "{err}");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(generations(&f.repo, &backup_pw()).unwrap().len(), 1);
}

#[test]
fn corrupted_pack_is_detected_by_check_and_rolling_subsets_reach_it() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(11, 512 * 1024);
    backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let clean = check(&f.repo, &backup_pw(), ReadData::All).unwrap();
    assert!(clean.ok, "{:?}", clean.errors);

    // Flip one byte in the middle of the largest pack: same size, different content.
    let (packs, _) = mamori_backup::sys::walk_files(&f.repo.join("data")).unwrap();
    let largest = packs.iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap().clone();
    let mut bytes = std::fs::read(&largest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&largest, &bytes).unwrap();

    let full = check(&f.repo, &backup_pw(), ReadData::All).unwrap();
    assert!(!full.ok, "check --read-data must see the flipped byte");
    let name = largest.file_name().unwrap().to_string_lossy().to_string();
    assert!(full.errors.iter().any(|e| e.contains(&name[..8])), "{:?}", full.errors);

    // Rolling read-data: four consecutive runs cover every pack, so one of them finds it.
    let every = 4;
    let found: Vec<bool> =
        (0..every).map(|run| !check(&f.repo, &backup_pw(), ReadData::Rolling { run, every }).unwrap().ok).collect();
    assert_eq!(found.iter().filter(|x| **x).count(), 1, "exactly one part holds the pack: {found:?}");

    // Truncating a pack is seen by the structure check alone.
    std::fs::write(&largest, &bytes[..mid]).unwrap();
    let structural = check(&f.repo, &backup_pw(), ReadData::None).unwrap();
    assert!(!structural.ok, "structure check must see the truncated pack");
}

#[test]
fn missing_or_wrong_password_fails_clearly_and_changes_nothing() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(3, 32 * 1024);
    backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let before = snapshot_tree(&f.root);

    let missing = Password::from_env("MAMORI_TEST_SURELY_UNSET_PASSWORD").unwrap_err();
    let msg = missing.to_string();
    assert!(
        msg.contains("パスワードが指定されていません")
            && msg.contains("Password missing")
            && msg.contains("MAMORI_TEST_SURELY_UNSET_PASSWORD"),
        "{msg}"
    );
    assert!(Password::new("").is_err());

    let wrong = Password::new("not-the-password").unwrap();
    f.write_dumps(4, 32 * 1024);
    let before_landing_changed = snapshot_tree(&f.root);
    let errs = vec![
        backup_directory(&f.repo, &wrong, &f.source("ehr")).unwrap_err(),
        check(&f.repo, &wrong, ReadData::All).unwrap_err(),
        restore_drill(&f.repo, &wrong, &SnapshotRef::Latest { system: None }, &f.root.join("scratch"), false)
            .unwrap_err(),
        forget_prune(&f.repo, &wrong, 3).unwrap_err(),
        generations(&f.repo, &wrong).unwrap_err(),
    ];
    for e in &errs {
        assert!(matches!(e, BackupError::WrongPassword { .. }), "{e}");
        let m = e.to_string();
        assert!(
            m.contains("パスワードが違います") && m.contains("Wrong password") && m.contains("nothing was changed"),
            "{m}"
        );
    }
    assert_ne!(before, before_landing_changed);
    assert_eq!(before_landing_changed, snapshot_tree(&f.root), "wrong password: no file anywhere changed");
    assert_eq!(generations(&f.repo, &backup_pw()).unwrap().len(), 1);

    let none = check(&f.root.join("nope"), &backup_pw(), ReadData::None).unwrap_err();
    assert!(matches!(none, BackupError::NoRepository { .. }), "{none}");
    let again = init_repository(&f.repo, &backup_pw(), &admin_pw()).unwrap_err();
    assert!(matches!(again, BackupError::AlreadyExists { .. }), "{again}");
}

/// The three restore modes write the same bytes, file modes and modification times as the
/// source: multi-blob files, an empty file, a file stored twice (deduplicated blobs) and a
/// subfolder.
#[test]
fn every_restore_mode_restores_bytes_modes_and_times() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    f.init();
    f.write_dumps(31, 3 << 20);
    std::fs::copy(f.landing.join("ehr.bin"), f.landing.join("sub/ehr-copy.bin")).unwrap();
    std::fs::write(f.landing.join("empty.dmp"), b"").unwrap();
    std::fs::set_permissions(f.landing.join("ehr.csv"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    std::fs::File::options()
        .write(true)
        .open(f.landing.join("ehr.csv"))
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_modified(mtime))
        .unwrap();
    backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let landing = f.landing.canonicalize().unwrap();
    for mode in [RestoreMode::default(), RestoreMode::Sequential, RestoreMode::Rustic] {
        let dest = f.root.join(format!("restore-{mode:?}"));
        restore_to(&f.repo, &backup_pw(), &SnapshotRef::Latest { system: None }, &dest, mode).unwrap();
        let base = dest.join(landing.strip_prefix("/").unwrap());
        for name in ["ehr.bin", "ehr.csv", "sub/orders.sql", "sub/ehr-copy.bin", "empty.dmp"] {
            assert_eq!(
                std::fs::read(base.join(name)).unwrap(),
                std::fs::read(landing.join(name)).unwrap(),
                "{mode:?} {name}"
            );
        }
        let meta = std::fs::metadata(base.join("ehr.csv")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "{mode:?}");
        if mode != RestoreMode::Sequential {
            assert_eq!(meta.modified().unwrap(), mtime, "{mode:?} keeps the modification time");
        }
    }
    assert_eq!(RestoreMode::default(), RestoreMode::Parallel);
}
