use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mamori_backup::{DirSource, Password};

pub fn backup_pw() -> Password {
    Password::new("backup-pass-テスト").unwrap()
}

pub fn admin_pw() -> Password {
    Password::new("admin-pass-管理").unwrap()
}

/// Small deterministic generator (xorshift64*), so tests need no rand crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub repo: PathBuf,
    pub landing: PathBuf,
    pub work: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let f =
            Self { repo: root.join("repo"), landing: root.join("landing"), work: root.join("work"), root, _tmp: tmp };
        std::fs::create_dir_all(&f.landing).unwrap();
        f
    }

    pub fn init(&self) {
        mamori_backup::init_repository(&self.repo, &backup_pw(), &admin_pw()).unwrap();
    }

    pub fn source(&self, system: &str) -> DirSource {
        DirSource {
            system: system.into(),
            dump_type: "full".into(),
            landing: self.landing.clone(),
            work_dir: self.work.clone(),
        }
    }

    /// Writes a dump set: one incompressible file, one text file, one in a subfolder.
    pub fn write_dumps(&self, seed: u64, size: usize) {
        let mut rng = Rng(seed | 1);
        std::fs::write(self.landing.join("ehr.bin"), rng.bytes(size)).unwrap();
        let mut text = String::new();
        let mut i = 0u64;
        while text.len() < size {
            text.push_str(&format!("{i},患者{},2026-11-{:02},処方あり\n", rng.next() % 100000, i % 28 + 1));
            i += 1;
        }
        std::fs::write(self.landing.join("ehr.csv"), text).unwrap();
        std::fs::create_dir_all(self.landing.join("sub")).unwrap();
        std::fs::write(self.landing.join("sub/orders.sql"), format!("-- seed {seed}\nINSERT 1;\n")).unwrap();
    }
}

/// Every file under `dir` with its content (for "nothing changed" assertions).
pub fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}
