//! Opening the files a user hands back to orechain (a sweep folder's journal, design and
//! manifest; shard folders; a run's `metrics.csv` for `plot`): only regular files.
//!
//! Opening a FIFO for reading blocks until a writer appears, and a device such as `/dev/zero`
//! never ends, so `--resume`, `merge` or `plot` would hang on a folder where one of its files was
//! replaced by either. The scenario loader has the same guard for scenario files
//! ([`crate::scenario::load`]); this is its counterpart for result folders.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a path is not a regular file, or `None` if it is one (or does not exist: the caller's
/// open reports that).
fn not_regular(path: &Path) -> io::Result<Option<&'static str>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(if meta.is_file() {
        None
    } else if meta.is_dir() {
        Some("it is a folder, not a file")
    } else {
        Some("it is not a regular file (a FIFO, socket or device would block or never end)")
    })
}

/// Open a file for reading, refusing anything but a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    if let Some(why) = not_regular(path)? {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    }
    File::open(path)
}

/// Read a whole regular file of at most `max_bytes` bytes.
pub fn read_regular(path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    // `take` also bounds a file that grows while it is read.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it has more than {max_bytes} bytes"),
        ));
    }
    Ok(bytes)
}

/// Read a whole regular UTF-8 text file of at most `max_bytes` bytes.
pub fn read_regular_text(path: &Path, max_bytes: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, max_bytes)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// SHA-256 (lower-case hex) of a regular file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_refused_and_a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = open_regular(dir.path()).expect_err("a folder");
        assert!(e.to_string().contains("folder"), "{e}");
        let e = open_regular(&dir.path().join("nope")).expect_err("missing");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        std::fs::write(dir.path().join("f"), "abc").expect("write");
        assert_eq!(
            read_regular(&dir.path().join("f"), 3).expect("read"),
            b"abc"
        );
        assert!(read_regular(&dir.path().join("f"), 2).is_err());
    }
}
