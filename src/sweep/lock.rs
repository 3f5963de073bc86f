//! The lock of a sweep folder: one process at a time runs, resumes or replaces a sweep in it.
//!
//! Two `--resume` of one folder at once would both run the missing runs and append them to one
//! journal, so both would fail on the duplicates and the folder could never be resumed again.
//! The lock is an advisory lock (`flock`, through [`std::fs::File::try_lock`]) on a small file in
//! the folder, [`LOCK_FILE`], held for the sweep's lifetime. The file holds the PID of the
//! process that took it, so the second process can name the holder. A lock is released by the
//! operating system when its process ends however it ends (kill -9, power loss on reboot), so a
//! stale lock file — one whose process is gone — is simply not locked and is taken over: there is
//! nothing to clean up and the folder stays resumable. The file itself stays in the folder (removing
//! it on exit would let a third process lock a different file of the same name while a second
//! still holds the old one). Advisory locks work on local file systems; on NFS they depend on
//! the server's lock daemon.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::SweepError;

/// File name of the lock in a sweep folder.
pub const LOCK_FILE: &str = crate::output::folder::SWEEP_LOCK_FILE;

/// A held lock; dropping it releases the lock (the file stays).
#[derive(Debug)]
pub struct SweepLock {
    _file: File,
    path: PathBuf,
}

/// The refusal when another process holds the lock of `dir`.
fn in_use(dir: &Path, file: &mut File) -> SweepError {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(64).read_to_string(&mut text);
    let holder = text
        .split_whitespace()
        .find_map(|w| w.parse::<u32>().ok())
        .map_or_else(
            || "another orechain process".to_string(),
            |pid| format!("another orechain process (PID {pid})"),
        );
    SweepError::BadInput(format!(
        "the sweep folder `{}` is in use by {holder}: wait for it to finish or stop it, then \
         resume with --resume (two processes in one sweep folder would run the same runs twice)",
        dir.display()
    ))
}

impl SweepLock {
    /// Take the lock of the sweep folder `dir` (which exists), or refuse at once if another
    /// process holds it.
    pub fn acquire(dir: &Path) -> Result<SweepLock, SweepError> {
        let path = dir.join(LOCK_FILE);
        let io = |e: std::io::Error| {
            SweepError::Internal(format!("cannot lock `{}`: {e}", path.display()))
        };
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(SweepError::BadInput(format!(
                "`{}` is not a regular file, so the sweep folder cannot be locked; remove it",
                path.display()
            )));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(in_use(dir, &mut file)),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Ours now: record who holds it (a stale PID from a process that died is overwritten).
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(SweepLock { _file: file, path })
    }

    /// Refuse if another process holds the lock of `dir`, without creating anything (before a
    /// `--force` replaces the folder).
    pub fn check_free(dir: &Path) -> Result<(), SweepError> {
        let path = dir.join(LOCK_FILE);
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            return Ok(());
        }
        let Ok(mut file) = File::open(&path) else {
            return Ok(());
        };
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => Err(in_use(dir, &mut file)),
            _ => Ok(()),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder_and_a_released_lock_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = SweepLock::acquire(dir.path()).expect("first lock");
        let e = SweepLock::acquire(dir.path()).expect_err("second lock");
        let pid = std::process::id();
        assert!(e.to_string().contains(&format!("PID {pid}")), "{e}");
        assert!(SweepLock::check_free(dir.path()).is_err());
        drop(first);
        SweepLock::check_free(dir.path()).expect("free after release");
        std::fs::write(dir.path().join(LOCK_FILE), "999999999\n").expect("stale");
        let again = SweepLock::acquire(dir.path()).expect("stale lock taken over");
        assert_eq!(
            std::fs::read_to_string(again.path()).expect("read"),
            format!("{pid}\n")
        );
    }
}
