//! Streaming atomic files: a table too large to build in memory is written to a temporary
//! sibling and renamed over its final name only when complete, so a sweep killed while writing
//! `results.csv` leaves either no file or the previous complete one, never a truncated table.
//! (`output::folder::write_atomic` does the same for contents already in memory.)

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Prefix of temporary files; a resumed sweep removes leftovers of killed writers.
pub const TMP_PREFIX: &str = ".tmp-";

/// A file being written; [`AtomicFile::commit`] moves it into place.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    out: BufWriter<File>,
}

impl AtomicFile {
    /// Start writing `target` (in a temporary sibling `.tmp-<pid>-<name>`).
    pub fn create(target: &Path) -> io::Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = target.with_file_name(format!("{TMP_PREFIX}{}-{name}", std::process::id()));
        let out = BufWriter::new(File::create(&tmp)?);
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            out,
        })
    }

    /// Append text.
    pub fn write_str(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    /// Flush, sync and rename into place.
    pub fn commit(self) -> io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.target)
    }
}

/// Remove temporary files left in `dir` by killed writers.
pub fn remove_leftovers(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_appears_only_on_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("results.csv");
        let mut f = AtomicFile::create(&target).expect("create");
        f.write_str("a,b\n").expect("write");
        assert!(!target.exists());
        f.commit().expect("commit");
        assert_eq!(fs::read_to_string(&target).expect("read"), "a,b\n");
        let left = AtomicFile::create(&target).expect("create");
        drop(left);
        remove_leftovers(dir.path()).expect("clean");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
