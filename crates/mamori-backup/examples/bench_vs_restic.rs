//! Benchmark: mamori-backup side by side with Debian's restic (not a test; prints figures).
//!
//!     cargo run --release -p mamori-backup --example bench_vs_restic
//!
//! A synthetic dump set (default 2 GiB: half incompressible, half CSV text) is backed up on
//! three "days"; before days 2 and 3, 5 % of every file is rewritten in place. Each operation
//! runs as its own child process (mamori: this binary in child mode; restic: the restic
//! program), alternating which tool goes first, and is measured with wait4(2): wall time,
//! user+system CPU, peak RSS. Then `check --read-data` and a restore of the last day for both,
//! and the two restores are compared file by file with the source.
//!
//! Environment: BENCH_BYTES (default 2147483648), BENCH_DIR (default a temp dir; removed at the
//! end unless BENCH_KEEP=1), BENCH_FILES (default 16), BENCH_NO_MANIFEST_HASH=1 (mamori's backups
//! skip the ingest manifest's SHA-256, to measure its cost; such manifests are not valid).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PW: &str = "bench-backup-password";
const ADMIN: &str = "bench-admin-password";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
    fn text(&mut self, n: usize) -> Vec<u8> {
        use std::io::Write;
        let mut v = Vec::with_capacity(n + 128);
        let mut i = 0u64;
        while v.len() < n {
            let r = self.next();
            let _ = writeln!(
                v,
                "{},P{:06},2026-{:02}-{:02},{},{}.{:02},ward{}",
                i,
                r % 1_000_000,
                (r >> 20) % 12 + 1,
                (r >> 24) % 28 + 1,
                ["内科", "外科", "小児科", "整形外科", "眼科"][((r >> 30) % 5) as usize],
                (r >> 33) % 10_000,
                (r >> 40) % 100,
                (r >> 48) % 40
            );
            i += 1;
        }
        v.truncate(n);
        v
    }
}

fn child_main(args: &[String]) -> i32 {
    // To measure what the ingest manifest's SHA-256 costs (never used outside this benchmark).
    if std::env::var_os("BENCH_NO_MANIFEST_HASH").is_some() {
        mamori_backup::benchmark_only_skip_manifest_hashes(true);
    }
    let pw = mamori_backup::Password::new(PW).unwrap();
    let res: Result<String, mamori_backup::BackupError> = match args[0].as_str() {
        "init" => {
            mamori_backup::init_repository(Path::new(&args[1]), &pw, &mamori_backup::Password::new(ADMIN).unwrap())
                .map(|r| r.repository_id)
        }
        "backup" => mamori_backup::backup_directory(
            Path::new(&args[1]),
            &pw,
            &mamori_backup::DirSource {
                system: "ehr".into(),
                dump_type: "full".into(),
                landing: args[2].clone().into(),
                work_dir: args[3].clone().into(),
            },
        )
        .map(|r| format!("{} files {} bytes, added {}", r.files, r.bytes, r.added_bytes_packed)),
        "check" => mamori_backup::check(Path::new(&args[1]), &pw, mamori_backup::ReadData::All)
            .map(|c| format!("ok={} errors={:?}", c.ok, c.errors)),
        "restore" | "restore-seq" | "restore-rustic" => mamori_backup::restore_to(
            Path::new(&args[1]),
            &pw,
            &mamori_backup::SnapshotRef::Latest { system: None },
            Path::new(&args[2]),
            match args[0].as_str() {
                "restore" => mamori_backup::RestoreMode::default(),
                "restore-seq" => mamori_backup::RestoreMode::Sequential,
                _ => mamori_backup::RestoreMode::Rustic,
            },
        )
        .map(|r| r.snapshot_id),
        // Opening alone (key derivation + config + snapshot list): the floor of every operation.
        "open" => mamori_backup::generations(Path::new(&args[1]), &pw).map(|g| format!("{} generations", g.len())),
        other => {
            eprintln!("unknown child command {other}");
            return 2;
        }
    };
    match res {
        Ok(s) => {
            eprintln!("  mamori: {s}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Fig {
    wall: f64,
    cpu: f64,
    rss_mib: f64,
}

fn run(label: &str, cmd: &mut Command) -> Fig {
    let t0 = Instant::now();
    let child = cmd.env("RESTIC_PASSWORD", PW).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; rusage is a valid out pointer.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(rc, pid, "wait4");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{label} failed (status {status})");
    std::mem::forget(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Fig { wall, cpu: tv(ru.ru_utime) + tv(ru.ru_stime), rss_mib: ru.ru_maxrss as f64 / 1024.0 }
}

fn du(p: &Path) -> u64 {
    mamori_backup::sys::walk_files(p)
        .map(|(f, _)| f.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum())
        .unwrap_or(0)
}

fn hash_tree(root: &Path) -> Vec<(String, String)> {
    use sha2::Digest;
    let (files, _) = mamori_backup::sys::walk_files(root).unwrap();
    files
        .iter()
        .map(|f| {
            use std::io::Read;
            let mut h = sha2::Sha256::new();
            let mut r = std::fs::File::open(f).unwrap();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            (f.strip_prefix(root).unwrap().to_string_lossy().into_owned(), hex::encode(h.finalize()))
        })
        .collect()
}

/// Removes the benchmark directory when main ends, also when a step fails (panics unwind).
struct Cleanup(Option<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(&p);
            eprintln!("removed {}", p.display());
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(|s| s.as_str()) == Some("child") {
        std::process::exit(child_main(&args[1..]));
    }
    let total: u64 = std::env::var("BENCH_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(2 << 30);
    let nfiles: u64 = std::env::var("BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let keep = std::env::var("BENCH_KEEP").is_ok();
    let tmp;
    let base: PathBuf = match std::env::var("BENCH_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    let _cleanup = Cleanup((!keep && std::env::var("BENCH_DIR").is_ok()).then(|| base.clone()));
    // restic keeps its default local cache, but inside BENCH_DIR (same storage as everything else).
    // SAFETY: still single-threaded here.
    unsafe { std::env::set_var("RESTIC_CACHE_DIR", base.join("restic-cache")) };
    let landing = base.join("landing");
    let work = base.join("work");
    let m_repo = base.join("repo-mamori");
    let r_repo = base.join("repo-restic");
    for d in [&landing, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let me = std::env::current_exe().unwrap();
    let restic_version = Command::new("restic")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "restic not found".into());
    println!(
        "bench_vs_restic: {} MiB in {nfiles} files (half random, half CSV), 3 days, 5% of each file changed per day",
        total >> 20
    );
    println!("restic: {restic_version}; mamori-backup on rustic_core 0.13.0; dir {}", base.display());
    if std::env::var_os("BENCH_NO_MANIFEST_HASH").is_some() {
        println!("BENCH_NO_MANIFEST_HASH: mamori's backups skip the ingest manifest's SHA-256 (cost measurement only)");
    }
    println!("load average at the start: {}", loadavg());

    // day 0 data
    let per = total / nfiles;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = Instant::now();
    // Written in 1 MiB pieces: this process must stay small. Children are spawned with
    // posix_spawn (vfork), and Linux carries the parent's peak RSS into the child's ru_maxrss at
    // exec, so a big parent would raise every figure to its own peak (earlier runs of this
    // benchmark had that floor: ~36 MiB at 512 MiB, ~133 MiB at 2 GiB).
    for i in 0..nfiles {
        use std::io::Write;
        let path = landing.join(format!("dump{i:02}.{}", if i % 2 == 0 { "bin" } else { "csv" }));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut left = per as usize;
        while left > 0 {
            let n = left.min(1 << 20);
            let piece = if i % 2 == 0 {
                let mut v = vec![0u8; n];
                rng.fill(&mut v);
                v
            } else {
                rng.text(n)
            };
            w.write_all(&piece).unwrap();
            left -= n;
        }
        w.flush().unwrap();
    }
    println!("generated in {:.1}s", t0.elapsed().as_secs_f64());

    run("mamori init", Command::new(&me).args(["child", "init", m_repo.to_str().unwrap()]));
    // Same chunker polynomial as ours, so both cut the same chunks and the size difference is the
    // tools' own (compression, packing, trees), not the luck of two random polynomials.
    run(
        "restic init",
        Command::new("restic")
            .args(["-r", r_repo.to_str().unwrap(), "init", "-q", "--copy-chunker-params", "--from-repo"])
            .arg(&m_repo)
            .env("RESTIC_FROM_PASSWORD", PW),
    );

    let mut rows: Vec<(String, Fig, Fig)> = Vec::new();
    let mut sizes: Vec<(u64, u64)> = Vec::new();
    for day in 0..3 {
        if day > 0 {
            // rewrite 5 % of every file: five 1 % regions at random offsets, same kind of content
            let (files, _) = mamori_backup::sys::walk_files(&landing).unwrap();
            for f in files {
                use std::os::unix::fs::FileExt;
                let file = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
                let len = file.metadata().unwrap().len() as usize;
                let region = len / 100;
                for _ in 0..5 {
                    let off = (rng.next() as usize) % (len - region);
                    let new = if f.extension().map(|e| e == "bin").unwrap_or(false) {
                        let mut b = vec![0u8; region];
                        rng.fill(&mut b);
                        b
                    } else {
                        rng.text(region)
                    };
                    file.write_all_at(&new, off as u64).unwrap();
                }
            }
        }
        let m = || {
            run(
                "mamori backup",
                Command::new(&me).args([
                    "child",
                    "backup",
                    m_repo.to_str().unwrap(),
                    landing.to_str().unwrap(),
                    work.to_str().unwrap(),
                ]),
            )
        };
        let r = || {
            run(
                "restic backup",
                Command::new("restic").args([
                    "-r",
                    r_repo.to_str().unwrap(),
                    "backup",
                    "-q",
                    "--host",
                    "bench",
                    landing.to_str().unwrap(),
                ]),
            )
        };
        let (fm, fr) = if day % 2 == 0 {
            let a = m();
            let b = r();
            (a, b)
        } else {
            let b = r();
            let a = m();
            (a, b)
        };
        rows.push((format!("backup day {}", day + 1), fm, fr));
        sizes.push((du(&m_repo), du(&r_repo)));
    }
    let fr = run(
        "restic check",
        Command::new("restic").args(["-r", r_repo.to_str().unwrap(), "check", "--read-data", "-q"]),
    );
    let fm = run("mamori check", Command::new(&me).args(["child", "check", m_repo.to_str().unwrap()]));
    rows.push(("check --read-data".into(), fm, fr));
    let m_out = base.join("restore-mamori");
    let r_out = base.join("restore-restic");
    let fm = run(
        "mamori restore",
        Command::new(&me).args(["child", "restore", m_repo.to_str().unwrap(), m_out.to_str().unwrap()]),
    );
    let fr = run(
        "restic restore",
        Command::new("restic").args([
            "-r",
            r_repo.to_str().unwrap(),
            "restore",
            "latest",
            "-q",
            "--target",
            r_out.to_str().unwrap(),
        ]),
    );
    rows.push(("restore latest (default)".into(), fm, fr));
    let s_out = base.join("restore-mamori-seq");
    let fs = run(
        "mamori restore sequential",
        Command::new(&me).args(["child", "restore-seq", m_repo.to_str().unwrap(), s_out.to_str().unwrap()]),
    );
    rows.push(("restore latest (mamori: sequential `dump` mode)".into(), fs, fr));
    let x_out = base.join("restore-mamori-rustic");
    let fx = run(
        "mamori restore rustic",
        Command::new(&me).args(["child", "restore-rustic", m_repo.to_str().unwrap(), x_out.to_str().unwrap()]),
    );
    rows.push(("restore latest (mamori: rustic_core's restorer)".into(), fx, fr));
    let fo = run("mamori open", Command::new(&me).args(["child", "open", m_repo.to_str().unwrap()]));
    let fro = run("restic open", Command::new("restic").args(["-r", r_repo.to_str().unwrap(), "snapshots", "-q"]));
    rows.push(("open + list snapshots only".into(), fo, fro));

    let rel = landing.canonicalize().unwrap();
    let rel = rel.strip_prefix("/").unwrap();
    let src = hash_tree(&landing);
    let a = hash_tree(&m_out.join(rel));
    let b = hash_tree(&r_out.join(rel));
    let c = hash_tree(&s_out.join(rel));
    let d = hash_tree(&x_out.join(rel));
    let identical = src == a && src == b && src == c && src == d;

    println!();
    println!(
        "| step | mamori wall s | mamori CPU s | mamori peak MiB | restic wall s | restic CPU s | restic peak MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, m, r) in &rows {
        println!(
            "| {name} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {:.0} |",
            m.wall, m.cpu, m.rss_mib, r.wall, r.cpu, r.rss_mib
        );
    }
    println!();
    println!("| repository after | mamori MiB | restic MiB |");
    println!("|---|---:|---:|");
    for (i, (m, r)) in sizes.iter().enumerate() {
        println!("| day {} | {:.1} | {:.1} |", i + 1, *m as f64 / 1048576.0, *r as f64 / 1048576.0);
    }
    println!();
    println!(
        "restores identical to the source: {} ({} files; mamori {}, mamori sequential {}, mamori rustic restorer {}, restic {})",
        if identical { "yes" } else { "NO" },
        src.len(),
        if src == a { "same" } else { "DIFFERENT" },
        if src == c { "same" } else { "DIFFERENT" },
        if src == d { "same" } else { "DIFFERENT" },
        if src == b { "same" } else { "DIFFERENT" }
    );
    if keep {
        println!("kept {}", base.display());
    }
    println!("load average at the end: {}", loadavg());
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    println!(
        "peak RSS of this benchmark process (a floor under every figure above): {:.0} MiB",
        ru.ru_maxrss as f64 / 1024.0
    );
    if !identical {
        drop(_cleanup);
        std::process::exit(1);
    }
}
