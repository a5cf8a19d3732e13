//! Key files (鍵ファイル) in restic's format, unlocked and written by mamori itself.
//!
//! rustic_core 0.13 derives every key with scrypt N=2^17, r=8, p=1 (128 MiB per derivation) and,
//! on open, tries the repository's key files in directory order — with our two keys (backup and
//! admin) every other open derived twice. mamori therefore
//! - writes its key files with the parameters restic 0.14 itself chose on this machine
//!   (N=2^15, r=8, p=6: 32 MiB; 1.5× the CPU work of rustic's default and at least the strength
//!   OWASP lists as equivalent to N=2^17, r=8, p=1, namely N=2^15, r=8, p=3);
//! - unlocks the master key itself, trying the key of the expected role (username) first, and
//!   opens the repository with that master key, so one open costs one derivation.
//!
//! The format is restic's (scrypt → 64 bytes: AES-256 key ‖ Poly1305 k ‖ Poly1305 r; the data is
//! nonce ‖ AES-256-CTR ciphertext ‖ Poly1305-AES tag of the master key JSON), so restic and rustic
//! read what we write.

use std::path::Path;
use std::sync::Arc;

use aes256ctr_poly1305aes::Aes256CtrPoly1305Aes;
use aes256ctr_poly1305aes::aead::{Aead, AeadInPlace};
use rustic_core::repofile::{FileType, KeyFile, MasterKey};
use rustic_core::{Id, ReadBackend, WriteBackend};
use sha2::{Digest, Sha256};

use crate::error::{BackupError, Result};
use crate::types::Password;

/// scrypt parameters of the key files mamori writes (restic 0.14's choice on the reference machine).
pub const SCRYPT_LOG_N: u8 = 15;
pub const SCRYPT_R: u32 = 8;
pub const SCRYPT_P: u32 = 6;

/// Upper bounds for key files we are asked to unlock: a hostile key file must not make us
/// allocate gigabytes (N·r·128 bytes) or spin for minutes.
const MAX_SCRYPT_MEMORY: u64 = 512 << 20;
const MAX_SCRYPT_WORK: u64 = 1 << 26; // N·r·p

/// A master key unlocked with a password, and which key file did it.
#[derive(Clone)]
pub(crate) struct Unlocked {
    pub master: MasterKey,
    /// `username` of that key file (mamori-backup / mamori-admin / anything restic wrote).
    pub user: String,
}

fn random_bytes(buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(BackupError::io(Path::new("getrandom"))(e));
        }
        filled += n as usize;
    }
    Ok(())
}

fn bad_key(repo: &Path, id: &str, what: impl std::fmt::Display) -> BackupError {
    BackupError::Repository {
        op: "read key",
        repo: repo.to_path_buf(),
        message: format!("鍵ファイル keys/{id} が不正です / invalid key file keys/{id}: {what}"),
    }
}

fn scrypt_params(n: u32, r: u32, p: u32) -> Option<scrypt::Params> {
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
        return None;
    }
    let memory = u64::from(n) * u64::from(r) * 128;
    let work = u64::from(n) * u64::from(r) * u64::from(p);
    if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
        return None;
    }
    scrypt::Params::new(n.trailing_zeros() as u8, r, p).ok()
}

fn derive(password: &Password, salt: &[u8], params: &scrypt::Params) -> Option<aes256ctr_poly1305aes::Key> {
    let mut key = aes256ctr_poly1305aes::Key::default();
    scrypt::scrypt(password.expose().as_bytes(), salt, params, &mut key).ok()?;
    Some(key)
}

/// Tries one key file; `Ok(None)` when the password does not fit it.
fn try_key(repo: &Path, file: &str, kf: &KeyFile, password: &Password) -> Result<Option<MasterKey>> {
    if kf.kdf != "scrypt" {
        return Err(bad_key(repo, file, format!("kdf {}", kf.kdf)));
    }
    let params = scrypt_params(kf.n, kf.r, kf.p)
        .ok_or_else(|| bad_key(repo, file, format!("scrypt N={} r={} p={}", kf.n, kf.r, kf.p)))?;
    let key = derive(password, &kf.salt, &params).ok_or_else(|| bad_key(repo, file, "scrypt"))?;
    if kf.data.len() < 32 {
        return Err(bad_key(repo, file, "data too short"));
    }
    let (nonce_bytes, ct) = kf.data.split_at(16);
    let mut nonce = aes256ctr_poly1305aes::Nonce::default();
    nonce.copy_from_slice(nonce_bytes);
    let Ok(plain) = Aes256CtrPoly1305Aes::new(&key).decrypt(&nonce, ct) else {
        return Ok(None);
    };
    serde_json::from_slice::<MasterKey>(&plain).map(Some).map_err(|e| bad_key(repo, file, e))
}

/// The repository's backend (local directory, or a REST server with the `rest` feature).
pub(crate) type Backend = Arc<dyn WriteBackend>;

fn key_files(repo: &Path, be: &Backend) -> Result<Vec<(String, KeyFile)>> {
    let mut out = Vec::new();
    for id in be.list(FileType::Key).map_err(BackupError::repo("list keys", repo))? {
        let name = id.to_hex().as_str().to_string();
        let text = be.read_full(FileType::Key, &id).map_err(BackupError::repo("read key", repo))?;
        let kf: KeyFile = serde_json::from_slice(&text).map_err(|err| bad_key(repo, &name, err))?;
        out.push((name, kf));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Unlocks the master key with `password`, trying key files whose username is `prefer` first.
pub(crate) fn unlock(repo: &Path, be: &Backend, password: &Password, prefer: &str) -> Result<Unlocked> {
    let mut files = key_files(repo, be)?;
    files.sort_by_key(|(_, kf)| kf.username.as_deref() != Some(prefer));
    for (p, kf) in &files {
        if let Some(master) = try_key(repo, p, kf, password)? {
            return Ok(Unlocked { master, user: kf.username.clone().unwrap_or_default() });
        }
    }
    Err(BackupError::WrongPassword { repo: repo.to_path_buf() })
}

/// Writes a new key file for `master` with mamori's scrypt parameters; returns its id.
pub(crate) fn write_key(
    repo: &Path,
    be: &Backend,
    master: &MasterKey,
    password: &Password,
    template: &KeyFile,
) -> Result<String> {
    let params = scrypt_params(1 << SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
        .ok_or_else(|| BackupError::invalid("scrypt パラメータが不正です", "invalid scrypt parameters"))?;
    let mut salt = vec![0u8; 64];
    random_bytes(&mut salt)?;
    let key = derive(password, &salt, &params)
        .ok_or_else(|| BackupError::invalid("鍵の導出に失敗しました", "key derivation failed"))?;
    let plain = serde_json::to_vec(master).map_err(|e| BackupError::invalid(e.to_string(), e.to_string()))?;
    let mut nonce = aes256ctr_poly1305aes::Nonce::default();
    random_bytes(&mut nonce)?;
    let mut data = Vec::with_capacity(plain.len() + 32);
    data.extend_from_slice(&nonce);
    data.extend_from_slice(&plain);
    let tag = Aes256CtrPoly1305Aes::new(&key)
        .encrypt_in_place_detached(&nonce, &[], &mut data[16..])
        .map_err(|_| BackupError::invalid("鍵の暗号化に失敗しました", "key encryption failed"))?;
    data.extend_from_slice(&tag);
    let kf = KeyFile {
        hostname: template.hostname.clone(),
        username: template.username.clone(),
        created: template.created.clone(),
        kdf: "scrypt".into(),
        n: 1 << SCRYPT_LOG_N,
        r: SCRYPT_R,
        p: SCRYPT_P,
        data,
        salt,
    };
    let json = serde_json::to_vec(&kf).map_err(|e| BackupError::invalid(e.to_string(), e.to_string()))?;
    let name = hex::encode(Sha256::digest(&json));
    let id = name.parse::<Id>().map_err(BackupError::repo("write key", repo))?;
    be.write_bytes(FileType::Key, &id, false, json.into()).map_err(BackupError::repo("write key", repo))?;
    Ok(name)
}

/// Right after `init`: replaces rustic's backup key file `old_id` by one with mamori's scrypt
/// parameters and writes the admin key beside it. Returns (backup key id, admin key id).
/// The new files are written and synced before the old one is removed.
pub(crate) fn replace_init_key(
    repo: &Path,
    be: &Backend,
    old_id: &str,
    master: &MasterKey,
    backup: &Password,
    admin: &Password,
) -> Result<(String, String)> {
    let old = old_id.parse::<Id>().map_err(BackupError::repo("read key", repo))?;
    let text = be.read_full(FileType::Key, &old).map_err(BackupError::repo("read key", repo))?;
    let mut template: KeyFile = serde_json::from_slice(&text).map_err(|e| bad_key(repo, old_id, e))?;
    template.username = Some(crate::engine::BACKUP_KEY_USER.to_string());
    let backup_id = write_key(repo, be, master, backup, &template)?;
    template.username = Some(crate::engine::ADMIN_KEY_USER.to_string());
    let admin_id = write_key(repo, be, master, admin, &template)?;
    be.remove(FileType::Key, &old, false).map_err(BackupError::repo("remove key", repo))?;
    Ok((backup_id, admin_id))
}

/// The scrypt parameters (N, r, p) of every key file, for reports and tests.
pub fn key_parameters(repo: &Path) -> Result<Vec<(String, u32, u32, u32)>> {
    Ok(key_files(repo, &crate::engine::backends(repo)?.repository())?
        .into_iter()
        .map(|(_, kf)| (kf.username.unwrap_or_default(), kf.n, kf.r, kf.p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_scrypt_parameters_are_refused_before_any_work() {
        assert!(scrypt_params(1 << 15, 8, 6).is_some());
        assert!(scrypt_params(1 << 17, 8, 1).is_some(), "rustic's default still opens");
        assert!(scrypt_params(1 << 22, 8, 1).is_none(), "512 MiB+ of memory");
        assert!(scrypt_params(1 << 15, 8, 1000).is_none(), "minutes of work");
        assert!(scrypt_params(3000, 8, 1).is_none(), "N not a power of two");
        assert!(scrypt_params(1 << 15, 0, 1).is_none());
    }
}
