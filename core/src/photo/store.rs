//! Content-addressed output: a processed JPEG is named by its SHA-256, written to a temporary
//! file in the same folder, flushed to disk and renamed into place. A crash leaves either the
//! complete file or a stray temporary, never a half-written photo under a real name, and the
//! same photo processed twice is stored once.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::PhotoError;

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// Writes `bytes` to `dir/name` atomically unless a file of that name and size is already
/// there (same name = same SHA-256 = same content). Returns the final path.
pub(crate) fn write_once(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PhotoError> {
    let path = dir.join(name);
    if let Ok(meta) = fs::metadata(&path)
        && meta.is_file()
        && meta.len() == bytes.len() as u64
    {
        return Ok(path);
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".photo-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| PhotoError::Io(e.error))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Makes the rename durable: on Unix a directory entry is only safe once the directory is
/// synced. (Windows has no directory handles to sync; NTFS journals the rename.)
fn sync_dir(dir: &Path) -> Result<(), PhotoError> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_writes_once() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let a = write_once(dir.path(), "x.jpg", b"hello").unwrap();
        let modified = fs::metadata(&a).unwrap().modified().unwrap();
        let b = write_once(dir.path(), "x.jpg", b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(fs::metadata(&b).unwrap().modified().unwrap(), modified);
        assert_eq!(fs::read(&a).unwrap(), b"hello");
        // Only the one file: no temporaries left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
