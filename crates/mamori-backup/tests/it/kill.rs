use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mamori_backup::*;

use crate::common::*;

/// SIGKILL a backup process at random moments, 20 times: after each kill the repository passes
/// `check` and the next backup completes and restores bit-exact.
#[test]
fn sigkill_during_backup_leaves_a_valid_repository() {
    let f = Fixture::new();
    f.init();
    let child_bin = env!("CARGO_BIN_EXE_mamori-backup-child");
    let spawn = || {
        Command::new(child_bin)
            .args([f.repo.to_str().unwrap(), f.landing.to_str().unwrap(), f.work.to_str().unwrap(), "ehr", "full"])
            .env("MAMORI_BACKUP_PASSWORD", "backup-pass-テスト")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Measure one complete run to know the window to kill in.
    f.write_dumps(1000, 3 * 1024 * 1024);
    let t0 = Instant::now();
    let out = spawn().wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let full = t0.elapsed();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("kill trials: seed {seed}, full run {full:?}");
    let mut rng = Rng(seed | 1);
    let mut killed_before_end = 0;
    for trial in 0..20u64 {
        f.write_dumps(2000 + trial, 3 * 1024 * 1024);
        let mut delay = Duration::from_micros(rng.next() % (full.as_micros() as u64).max(1));
        // On a loaded machine a run can end before the kill: then the trial is repeated with half the delay
        // (at most 4 times), so the kills land mid-run however the load changes.
        for _attempt in 0..5 {
            let mut child = spawn();
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_some() {
                delay /= 2;
                continue;
            }
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let status = child.wait().unwrap();
            if !status.success() {
                killed_before_end += 1;
            }
            break;
        }
        let c = check(&f.repo, &backup_pw(), ReadData::None).unwrap();
        assert!(c.ok, "trial {trial} (killed after {delay:?}): {:?}", c.errors);
        let run = backup_directory(&f.repo, &backup_pw(), &f.source("ehr")).unwrap();
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    }
    eprintln!("kills that landed before the process ended: {killed_before_end}/20");
    assert!(killed_before_end >= 10, "most kills must land mid-run, got {killed_before_end}/20");
    let c = check(&f.repo, &backup_pw(), ReadData::All).unwrap();
    assert!(c.ok, "{:?}", c.errors);
    let d = restore_drill(
        &f.repo,
        &backup_pw(),
        &SnapshotRef::Latest { system: Some("ehr".into()) },
        &f.root.join("scratch"),
        false,
    )
    .unwrap();
    assert!(d.ok, "{:?}", d.mismatches);
}
