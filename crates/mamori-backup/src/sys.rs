//! Probes of the real system (実際のシステムの状態を読む): statvfs, file flags, mountinfo.
//! Nothing here trusts what a user typed about a target; it asks the kernel.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `FS_IMMUTABLE_FL` from linux/fs.h.
const FS_IMMUTABLE_FL: libc::c_int = 0x0000_0010;

/// One line of /proc/self/mountinfo (マウント情報).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub source: String,
    /// Per-mount options (e.g. `ro,nosuid`).
    pub mount_options: String,
    /// Per-superblock options.
    pub super_options: String,
}

impl MountEntry {
    /// The mount itself is read-only (`ro` in the per-mount or superblock options).
    pub fn is_read_only(&self) -> bool {
        self.mount_options.split(',').any(|o| o == "ro") || self.super_options.split(',').any(|o| o == "ro")
    }
}

/// Undo the octal escapes mountinfo uses for spaces, tabs, newlines and backslashes.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text (format of proc(5)).
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 {
            continue;
        }
        out.push(MountEntry {
            mount_point: PathBuf::from(unescape_mountinfo(l[4])),
            mount_options: l[5].to_string(),
            fs_type: r[0].to_string(),
            source: unescape_mountinfo(r[1]),
            super_options: r[2].to_string(),
        });
    }
    out
}

/// The mount that holds `path` (longest mount point that is a prefix; the last one wins when
/// mounts are stacked), read from /proc/self/mountinfo.
pub fn mount_of(path: &Path) -> Option<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let path = nearest_existing(path).canonicalize().ok()?;
    let mut best: Option<MountEntry> = None;
    for m in parse_mountinfo(&text) {
        if path.starts_with(&m.mount_point) {
            let better = match &best {
                None => true,
                Some(b) => m.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len(),
            };
            if better {
                best = Some(m);
            }
        }
    }
    best
}

/// True when some mount has exactly this mount point.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    parse_mountinfo(&text).iter().any(|m| m.mount_point == path)
}

pub(crate) fn nearest_existing(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    loop {
        if p.exists() {
            return p;
        }
        if !p.pop() {
            return PathBuf::from("/");
        }
    }
}

fn cpath(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

/// statvfs: is the filesystem holding `path` mounted read-only (ST_RDONLY)?
pub fn statvfs_read_only(path: &Path) -> std::io::Result<bool> {
    let c = cpath(path).ok_or_else(|| std::io::Error::other("path contains NUL"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated string and st a valid out pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// Outcome of reading or setting the immutable flag on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagResult {
    Set,
    Already,
    Unsupported(String),
    Denied(String),
    Failed(String),
}

fn open_for_flags(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW).open(path)
}

fn classify(err: std::io::Error) -> FlagResult {
    match err.raw_os_error() {
        Some(libc::ENOTTY) | Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            FlagResult::Unsupported(format!(
                "ファイルシステムが属性フラグに対応していません / filesystem does not support file flags ({err})"
            ))
        }
        Some(libc::EPERM) | Some(libc::EACCES) => FlagResult::Denied(format!(
            "権限がありません（CAP_LINUX_IMMUTABLE が必要） / permission denied, CAP_LINUX_IMMUTABLE needed ({err})"
        )),
        Some(libc::EROFS) => {
            FlagResult::Denied(format!("読み取り専用のファイルシステムです / read-only filesystem ({err})"))
        }
        _ => FlagResult::Failed(err.to_string()),
    }
}

/// FS_IOC_GETFLAGS: does the file carry the immutable flag?
pub fn get_immutable(path: &Path) -> Result<bool, FlagResult> {
    let f = open_for_flags(path).map_err(classify)?;
    let mut flags: libc::c_int = 0;
    use std::os::fd::AsRawFd;
    // SAFETY: FS_IOC_GETFLAGS writes one int through the pointer; fd is open.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if rc != 0 {
        return Err(classify(std::io::Error::last_os_error()));
    }
    Ok(flags & FS_IMMUTABLE_FL != 0)
}

/// FS_IOC_SETFLAGS: add the immutable flag (chattr +i).
pub fn set_immutable(path: &Path) -> FlagResult {
    let f = match open_for_flags(path) {
        Ok(f) => f,
        Err(e) => return classify(e),
    };
    use std::os::fd::AsRawFd;
    let mut flags: libc::c_int = 0;
    // SAFETY: as above.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if rc != 0 {
        return classify(std::io::Error::last_os_error());
    }
    if flags & FS_IMMUTABLE_FL != 0 {
        return FlagResult::Already;
    }
    flags |= FS_IMMUTABLE_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int through the pointer.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
    if rc != 0 {
        return classify(std::io::Error::last_os_error());
    }
    FlagResult::Set
}

/// FS_IOC_SETFLAGS: remove the immutable flag (chattr -i). Used by admins and tests.
pub fn clear_immutable(path: &Path) -> FlagResult {
    let f = match open_for_flags(path) {
        Ok(f) => f,
        Err(e) => return classify(e),
    };
    use std::os::fd::AsRawFd;
    let mut flags: libc::c_int = 0;
    // SAFETY: as above.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if rc != 0 {
        return classify(std::io::Error::last_os_error());
    }
    flags &= !FS_IMMUTABLE_FL;
    // SAFETY: as above.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
    if rc != 0 {
        return classify(std::io::Error::last_os_error());
    }
    FlagResult::Set
}

/// umount2(2) of a mount point; needs CAP_SYS_ADMIN.
pub fn unmount(mount_point: &Path) -> std::io::Result<()> {
    let c = cpath(mount_point).ok_or_else(|| std::io::Error::other("path contains NUL"))?;
    // SAFETY: valid C string.
    let rc = unsafe { libc::umount2(c.as_ptr(), 0) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Flush all filesystem buffers before a detach.
pub fn sync_all() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Every regular file under `root`, sorted, not following symlinks. Symlinks and special files
/// are returned separately so callers can report them.
pub fn walk_files(root: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut others = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                files.push(e.path());
            } else {
                others.push(e.path());
            }
        }
    }
    files.sort();
    others.sort();
    Ok((files, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_parse_with_escapes_and_optional_fields() {
        let text = "36 35 98:0 /mnt1 /mnt/my\\040media rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                    37 35 0:40 / /srv/ro ro,relatime shared:5 - tmpfs tmpfs rw,size=1024k\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/my media"));
        assert_eq!(m[0].fs_type, "ext3");
        assert!(!m[0].is_read_only());
        assert!(m[1].is_read_only(), "per-mount ro must count");
    }

    #[test]
    fn root_is_always_some_mount() {
        let m = mount_of(Path::new("/definitely/not/here")).expect("/ is mounted");
        assert_eq!(m.mount_point, PathBuf::from("/"));
    }
}
