use std::path::Path;
use std::process::Command;

use mamori_backup::policy::{self, KeyEscrow, PolicyRules};
use mamori_backup::*;

use crate::common::*;

fn mount(args: &[&str]) -> bool {
    Command::new("mount").args(args).status().map(|s| s.success()).unwrap_or(false)
}

fn umount(p: &Path) {
    let _ = Command::new("umount").arg(p).status();
}

/// Removable media on its own (tmpfs) mount: copy, check, remount read-only; the probe reads
/// ST_RDONLY and mountinfo, restic checks it with --no-lock, the policy counts it as offline;
/// then detach unmounts it and the probe sees the media gone.
#[test]
fn read_only_media_is_detected_and_counted_offline() {
    let f = Fixture::new();
    let media = f.root.join("media");
    std::fs::create_dir_all(&media).unwrap();
    if !is_root() || !mount(&["-t", "tmpfs", "-o", "size=64m", "tmpfs", media.to_str().unwrap()]) {
        eprintln!(
            "SKIP read_only_media_is_detected_and_counted_offline: needs root and a working `mount` (tmpfs) / root 権限と mount が必要なためスキップ"
        );
        return;
    }
    struct Guard(std::path::PathBuf);
    impl Drop for Guard {
        fn drop(&mut self) {
            if sys::is_mount_point(&self.0) {
                umount(&self.0);
            }
        }
    }
    let _g = Guard(media.clone());
    f.init();
    for day in 0..3 {
        f.write_dumps(300 + day, 32 * 1024);
        backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    }
    let t2 =
        Target { id: "usb-1".into(), tier: Tier::Offline, path: media.join("repo"), kind: TargetKind::RemovableMedia };
    init_repository(&t2.path, &backup_pw(), &admin_pw()).unwrap();
    let copy = copy_to_target(&f.repo, &backup_pw(), &t2).unwrap();
    assert_eq!(copy.copied.len(), 3);
    assert!(copy.check.ok, "{:?}", copy.check.errors);
    assert_eq!(copy.generations_on_target.len(), 3);
    let again = copy_to_target(&f.repo, &backup_pw(), &t2).unwrap();
    assert!(again.copied.is_empty(), "a second copy copies nothing new");

    let writable = probe_target(&t2);
    assert_eq!(writable.state, OfflineState::Online);
    assert_eq!(writable.read_only, Some(false));

    assert!(mount(&["-o", "remount,ro", media.to_str().unwrap()]), "remount ro");
    let p = probe_target(&t2);
    assert_eq!(p.read_only, Some(true));
    assert_eq!(p.state, OfflineState::ReadOnly);
    let m = p.mount.as_ref().unwrap();
    assert_eq!(m.fs_type, "tmpfs");
    assert!(m.is_read_only());
    assert!(p.evidence.iter().any(|e| e.ja.contains("ST_RDONLY") && e.en.contains("ST_RDONLY")));

    let out = crate::restic::restic(&t2.path, &["--no-lock", "check", "--read-data"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let primary = Target { id: "t1".into(), tier: Tier::Online, path: f.repo.clone(), kind: TargetKind::LocalDir };
    let escrow =
        KeyEscrow { holders: vec!["事務長".into()], recorded_at: chrono::Utc::now(), where_kept: "金庫".into() };
    let drill =
        restore_drill(&f.repo, &backup_pw(), &SnapshotRef::Latest { system: None }, &f.root.join("s"), false).unwrap();
    let facts = policy::gather_facts(
        &primary,
        &[primary.clone(), t2.clone()],
        &backup_pw(),
        &["ehr".into()],
        Some(escrow),
        Some(drill),
        &[],
    );
    let report = policy::evaluate(&facts, &PolicyRules::default());
    assert_eq!(report.point("generations").unwrap().holds, Some(true));
    assert_eq!(report.point("offline_generations").unwrap().holds, Some(true), "{report:#?}");
    assert_eq!(report.point("encryption").unwrap().holds, Some(true));
    assert_eq!(report.point("key_escrow").unwrap().holds, Some(true));
    assert_eq!(report.point("restore_drill").unwrap().holds, Some(true));
    assert_eq!(report.point("offsite_copy").unwrap().holds, Some(false), "no off-site target configured");

    // Detach: unmounted for real, read back from mountinfo.
    let rec = detach_media(&t2, "RDX-0001", copy.generations_on_target.clone()).unwrap();
    assert!(rec.unmounted_by_mamori && !rec.still_mounted, "{rec:?}");
    let gone = probe_target(&t2);
    assert_eq!(gone.state, OfflineState::Detached);
    let facts =
        policy::gather_facts(&primary, std::slice::from_ref(&t2), &backup_pw(), &["ehr".into()], None, None, &[rec]);
    let report = policy::evaluate(&facts, &PolicyRules::default());
    assert_eq!(report.point("offline_generations").unwrap().holds, Some(true), "counted from the detach record");
    assert_eq!(report.point("key_escrow").unwrap().holds, Some(false));
}

/// Immutable files: set FS_IMMUTABLE_FL where the filesystem allows it, or say why not.
#[test]
fn immutable_files_are_set_or_reported_honestly() {
    let f = Fixture::new();
    f.init();
    f.write_dumps(5, 16 * 1024);
    backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
    let t = Target { id: "imm".into(), tier: Tier::Offline, path: f.repo.clone(), kind: TargetKind::ImmutableFiles };
    let report = make_immutable(&f.repo).unwrap();
    assert!(report.files_total > 0);
    if report.all_immutable {
        let p = probe_target(&t);
        assert_eq!(p.immutable, Some(true));
        assert_eq!(p.state, OfflineState::Immutable);
        let (files, _) = sys::walk_files(&f.repo).unwrap();
        assert!(std::fs::remove_file(&files[0]).is_err(), "an immutable file cannot be deleted, even by root");
        // A new backup can still add files; then set the flag on them too.
        f.write_dumps(6, 16 * 1024);
        backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
        assert_eq!(probe_target(&t).state, OfflineState::Online, "new files are not yet immutable");
        let r2 = make_immutable(&f.repo).unwrap();
        assert!(r2.all_immutable && r2.files_already > 0);
        // Forget on an immutable target fails and keeps every generation.
        assert!(forget_prune(&f.repo, &admin_pw(), 1).is_err());
        assert_eq!(generations(&f.repo, &backup_pw()).unwrap().len(), 2);
        clear_immutable(&f.repo).unwrap();
        assert_eq!(probe_target(&t).immutable, Some(false));
    } else {
        eprintln!("immutable flag not available here: {}", report.evidence);
        assert!(!report.failed.is_empty());
        assert!(report.evidence.contains("変更不可属性を付けられませんでした"), "{}", report.evidence);
        assert_ne!(probe_target(&t).state, OfflineState::Immutable);
    }
}
