//! Atomic output folders. A run writes everything into a hidden staging
//! folder next to its destination and renames it into place only at the end,
//! so a failed or killed run never leaves a half-written result behind, and
//! an existing result is never overwritten unless the user passed `--force`.
//! Single files (for example sweep results streamed as they finish) are
//! written the same way through [`write_atomic`]: temporary sibling, fsync,
//! rename.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why an output folder or file could not be prepared, written or committed.
#[derive(Debug)]
pub enum FolderError {
    /// The destination already holds results and `--force` was not given.
    Exists {
        /// The destination folder.
        path: PathBuf,
    },
    /// A filesystem operation failed.
    Io {
        /// The path the operation was about.
        path: PathBuf,
        /// What was being done, as a verb phrase (e.g. `create`, `write`).
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

impl FolderError {
    fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        FolderError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

impl fmt::Display for FolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FolderError::Exists { path } => write!(
                f,
                "output folder `{}` already exists and is not empty; pass --force to replace \
                 it or choose another folder with -o",
                path.display()
            ),
            FolderError::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} `{}`: {source}", path.display()),
        }
    }
}

impl std::error::Error for FolderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FolderError::Exists { .. } => None,
            FolderError::Io { source, .. } => Some(source),
        }
    }
}

/// An output folder under construction. Files go into a hidden sibling
/// staging folder; [`StagedDir::commit`] renames it into place. Dropping it
/// uncommitted removes the staging folder and leaves the destination alone.
#[derive(Debug)]
pub struct StagedDir {
    final_path: PathBuf,
    staging: PathBuf,
    force: bool,
    committed: bool,
}

impl StagedDir {
    /// Starts a staged output folder for `final_path`.
    ///
    /// Refuses with [`FolderError::Exists`] if `final_path` is a non-empty
    /// folder or any other file and `force` is false (an empty folder counts
    /// as absent). Creates missing parent folders, then a staging folder
    /// `.<name>.partial-<pid>-<nanos>` in the same parent, so that the final
    /// rename stays on one filesystem and is atomic.
    pub fn create(final_path: &Path, force: bool) -> Result<Self, FolderError> {
        let (parent, name) = split_path(final_path)?;
        if !force && is_occupied(final_path)? {
            return Err(FolderError::Exists {
                path: final_path.to_path_buf(),
            });
        }
        fs::create_dir_all(&parent).map_err(|e| FolderError::io(&parent, "create", e))?;

        let mut attempt = 0;
        let staging = loop {
            let candidate = parent.join(sibling_name(&name, "partial"));
            match fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(e) => return Err(FolderError::io(&candidate, "create", e)),
            }
        };
        open_staging().push(staging.clone());
        Ok(StagedDir {
            final_path: final_path.to_path_buf(),
            staging,
            force,
            committed: false,
        })
    }

    /// The staging folder to write into.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where the folder will live once committed.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Writes `bytes` to `rel` (a `/`-separated path such as
    /// `figures/a.svg`) inside the staging folder, atomically, creating
    /// subfolders as needed. `rel` must stay inside the folder: absolute
    /// paths and `..` are rejected.
    pub fn write_file(&self, rel: &str, bytes: &[u8]) -> Result<(), FolderError> {
        let mut target = self.staging.clone();
        let mut parts = 0;
        for part in Path::new(rel).components() {
            match part {
                Component::Normal(p) => {
                    target.push(p);
                    parts += 1;
                }
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(FolderError::io(
                        Path::new(rel),
                        "write",
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "path must be relative and stay inside the output folder",
                        ),
                    ));
                }
            }
        }
        if parts == 0 {
            return Err(FolderError::io(
                Path::new(rel),
                "write",
                io::Error::new(io::ErrorKind::InvalidInput, "empty file name"),
            ));
        }
        write_atomic(&target, bytes)
    }

    /// Moves the staging folder into place and returns the final path.
    ///
    /// Without `force`, re-checks that the destination is still free (another
    /// process may have written it meanwhile) and fails with
    /// [`FolderError::Exists`] otherwise. An existing destination is first
    /// renamed to `.<name>.old-<pid>-<nanos>`, then the staging folder is
    /// renamed to the destination and the old one removed (best effort). If
    /// the staging rename fails, the old folder is renamed back so earlier
    /// results stay intact. On any error the staging folder is removed.
    pub fn commit(mut self) -> Result<PathBuf, FolderError> {
        // Ctrl-C waits for the renames below (see `remove_open_staging`), so an interrupted
        // commit leaves the results either fully in place or not there.
        let mut open = open_staging();
        if !self.force && is_occupied(&self.final_path)? {
            return Err(FolderError::Exists {
                path: self.final_path.clone(),
            });
        }
        let (parent, name) = split_path(&self.final_path)?;
        sync_dir(&self.staging);

        let old = match fs::symlink_metadata(&self.final_path) {
            Ok(_) => {
                let old = parent.join(sibling_name(&name, "old"));
                fs::rename(&self.final_path, &old)
                    .map_err(|e| FolderError::io(&self.final_path, "replace", e))?;
                Some(old)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(FolderError::io(&self.final_path, "inspect", e)),
        };

        if let Err(e) = fs::rename(&self.staging, &self.final_path) {
            if let Some(old) = &old {
                // Best effort: put the previous results back where they were.
                let _ = fs::rename(old, &self.final_path);
            }
            return Err(FolderError::io(&self.final_path, "move results into", e));
        }
        self.committed = true;
        open.retain(|p| p != &self.staging);
        drop(open);
        sync_dir(&parent);

        if let Some(old) = old {
            let _ = remove_any(&old);
        }
        Ok(self.final_path.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let mut open = open_staging();
            let _ = fs::remove_dir_all(&self.staging);
            open.retain(|p| p != &self.staging);
        }
    }
}

/// Staging folders of this process not yet committed or dropped, for the Ctrl-C handler.
static OPEN_STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The list of open staging folders (a poisoned lock still holds a valid list of paths).
fn open_staging() -> MutexGuard<'static, Vec<PathBuf>> {
    OPEN_STAGING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Remove every staging folder of this process that is not committed yet, and keep the list
/// locked: called by the Ctrl-C handler just before the process exits
/// ([`crate::interrupt`]), so a commit in progress finishes first and none starts after.
pub fn remove_open_staging() {
    let open = open_staging();
    for staging in open.iter() {
        let _ = fs::remove_dir_all(staging);
    }
    // The guard is leaked: the process exits holding it, so no commit can begin.
    std::mem::forget(open);
}

/// Writes `bytes` to `path` atomically: the data goes to a temporary sibling
/// `.<name>.tmp-<pid>-<nanos>`, is flushed to disk, and is then renamed over
/// `path`, so readers see either the old file or the complete new one.
/// Missing parent folders are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FolderError> {
    let (parent, name) = split_path(path)?;
    fs::create_dir_all(&parent).map_err(|e| FolderError::io(&parent, "create", e))?;
    let tmp = parent.join(sibling_name(&name, "tmp"));

    let written = File::create_new(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(FolderError::io(path, "write", e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(FolderError::io(path, "rename", e));
    }
    sync_dir(&parent);
    Ok(())
}

/// Splits `path` into its parent folder (`.` when it has none) and file name.
fn split_path(path: &Path) -> Result<(PathBuf, String), FolderError> {
    let name = path
        .file_name()
        .map(OsStr::to_string_lossy)
        .ok_or_else(|| {
            FolderError::io(
                path,
                "use",
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "path has no final file or folder name",
                ),
            )
        })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.into_owned()))
}

/// True if `path` is a non-empty folder, a file, or a symlink.
fn is_occupied(path: &Path) -> Result<bool, FolderError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = fs::read_dir(path).map_err(|e| FolderError::io(path, "read", e))?;
            Ok(entries.next().is_some())
        }
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FolderError::io(path, "inspect", e)),
    }
}

/// `.<name>.<tag>-<pid>-<nanos>`, unique within this process even when the
/// clock is coarse.
fn sibling_name(name: &str, tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let bump = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!(
        ".{}.{tag}-{}-{}",
        short_name(name),
        std::process::id(),
        nanos + bump
    )
}

/// Longest part of a name kept verbatim in a sibling's name; the rest is replaced by a hash.
const SIBLING_NAME_BYTES: usize = 64;

/// `name` if it is short, else its first bytes (on a char boundary) and a hash of the whole
/// name: a legal output name of up to 255 bytes (the usual file-name limit) must still leave room
/// for the `.` + `.partial-PID-NANOS` around it, and two long names sharing a prefix must not share
/// a staging name.
fn short_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= SIBLING_NAME_BYTES {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut cut = SIBLING_NAME_BYTES - 17;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    // FNV-1a: stable across Rust versions (names are only compared within one process anyway).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    std::borrow::Cow::Owned(format!("{}~{hash:016x}", &name[..cut]))
}

/// Removes a file, symlink or folder tree.
fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Flushes a folder's entries to disk so renames survive a crash. Best
/// effort: not every platform can open a folder for syncing.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).expect("read file")
    }

    /// Names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn create_write_commit() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("runs").join("out");
        let staged = StagedDir::create(&out, false).expect("create");
        assert_eq!(staged.final_path(), out);
        assert_ne!(staged.path(), out);
        assert_eq!(staged.path().parent(), out.parent());
        let staging_name = staged
            .path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(staging_name.starts_with(".out.partial-"), "{staging_name}");
        assert!(!out.exists(), "final folder must not exist before commit");

        staged.write_file("manifest.json", b"{}\n").expect("write");
        let committed = staged.commit().expect("commit");
        assert_eq!(committed, out);
        assert_eq!(read(&out.join("manifest.json")), "{}\n");
        assert_eq!(names(&root.path().join("runs")), ["out"]);
    }

    #[test]
    fn refuses_existing_without_force_and_keeps_content() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("old.csv"), "old").expect("write");

        let err = StagedDir::create(&out, false).expect_err("must refuse");
        assert!(matches!(&err, FolderError::Exists { path } if path == &out));
        let msg = err.to_string();
        assert!(msg.contains(&out.display().to_string()), "{msg}");
        assert!(msg.contains("--force") && msg.contains("-o"), "{msg}");

        assert_eq!(names(&out), ["old.csv"]);
        assert_eq!(read(&out.join("old.csv")), "old");
        assert_eq!(names(root.path()), ["out"], "no staging left behind");
    }

    #[test]
    fn refuses_existing_file_without_force() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::write(&out, "a file").expect("write");
        let err = StagedDir::create(&out, false).expect_err("must refuse");
        assert!(matches!(err, FolderError::Exists { .. }));
        assert_eq!(read(&out), "a file");
    }

    #[test]
    fn empty_existing_folder_counts_as_absent() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        let staged = StagedDir::create(&out, false).expect("empty dir is fine");
        staged.write_file("a.txt", b"a").expect("write");
        staged.commit().expect("commit");
        assert_eq!(names(&out), ["a.txt"]);
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn force_replaces_existing() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("old.csv"), "old").expect("write");

        let staged = StagedDir::create(&out, true).expect("create with force");
        // The old results stay readable until the commit.
        assert_eq!(read(&out.join("old.csv")), "old");
        staged.write_file("new.csv", b"new").expect("write");
        staged.commit().expect("commit");

        assert_eq!(names(&out), ["new.csv"]);
        assert_eq!(read(&out.join("new.csv")), "new");
        assert_eq!(names(root.path()), ["out"], "old and staging removed");
    }

    #[test]
    fn force_replaces_a_plain_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::write(&out, "a file").expect("write");
        let staged = StagedDir::create(&out, true).expect("create");
        staged.write_file("x", b"x").expect("write");
        staged.commit().expect("commit");
        assert!(out.is_dir());
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn commit_rechecks_when_not_forced() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let staged = StagedDir::create(&out, false).expect("create");
        staged.write_file("mine.csv", b"mine").expect("write");
        // Another run finishes first.
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("theirs.csv"), "theirs").expect("write");

        let err = staged.commit().expect_err("must refuse");
        assert!(matches!(err, FolderError::Exists { .. }));
        assert_eq!(names(&out), ["theirs.csv"]);
        assert_eq!(names(root.path()), ["out"], "staging cleaned up");
    }

    #[test]
    fn failed_commit_restores_old_results() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("old.csv"), "old").expect("write");

        let staged = StagedDir::create(&out, true).expect("create");
        // Make the staging -> final rename fail.
        fs::remove_dir_all(staged.path()).expect("remove staging");
        let err = staged.commit().expect_err("rename must fail");
        assert!(matches!(err, FolderError::Io { .. }));
        assert!(err.to_string().contains(&out.display().to_string()));
        assert_eq!(names(&out), ["old.csv"]);
        assert_eq!(read(&out.join("old.csv")), "old");
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn drop_without_commit_cleans_up() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let staged = StagedDir::create(&out, false).expect("create");
        staged.write_file("half.csv", b"half").expect("write");
        let staging = staged.path().to_path_buf();
        assert!(staging.is_dir());
        drop(staged);
        assert!(!staging.exists());
        assert!(!out.exists());
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn write_file_creates_nested_dirs() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let staged = StagedDir::create(&out, false).expect("create");
        staged
            .write_file("figures/prices/a.svg", b"<svg/>")
            .expect("nested write");
        staged.write_file("./b.csv", b"b").expect("curdir write");
        assert_eq!(
            names(&staged.path().join("figures").join("prices")),
            ["a.svg"],
            "no temporary files left"
        );
        staged.commit().expect("commit");
        assert_eq!(read(&out.join("figures/prices/a.svg")), "<svg/>");
        assert_eq!(names(&out), ["b.csv", "figures"]);
    }

    #[test]
    fn write_file_rejects_escaping_paths() {
        let root = tempfile::tempdir().expect("tempdir");
        let staged = StagedDir::create(&root.path().join("out"), false).expect("create");
        for bad in ["../escape.txt", "a/../../escape.txt", "/abs.txt", "", "."] {
            let err = staged.write_file(bad, b"x").expect_err(bad);
            assert!(
                matches!(&err, FolderError::Io { source, .. }
                    if source.kind() == io::ErrorKind::InvalidInput),
                "{bad}: {err}"
            );
        }
        assert!(!root.path().join("escape.txt").exists());
    }

    #[test]
    fn write_atomic_creates_and_replaces() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("sweep").join("run-0001.csv");
        write_atomic(&path, b"first").expect("write");
        assert_eq!(read(&path), "first");
        write_atomic(&path, b"second").expect("overwrite");
        assert_eq!(read(&path), "second");
        assert_eq!(names(&root.path().join("sweep")), ["run-0001.csv"]);
    }

    #[test]
    fn io_error_display_and_source() {
        let err = FolderError::io(
            Path::new("out/x"),
            "write",
            io::Error::new(io::ErrorKind::PermissionDenied, "denied"),
        );
        assert_eq!(err.to_string(), "could not write `out/x`: denied");
        let source = std::error::Error::source(&err).expect("has source");
        assert_eq!(source.to_string(), "denied");
        let exists = FolderError::Exists {
            path: PathBuf::from("out"),
        };
        assert_eq!(
            exists.to_string(),
            "output folder `out` already exists and is not empty; pass --force to replace it \
             or choose another folder with -o"
        );
        assert!(std::error::Error::source(&exists).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_parent_gives_io_error_with_path() {
        use std::os::unix::fs::PermissionsExt;

        let root = tempfile::tempdir().expect("tempdir");
        let locked = root.path().join("locked");
        fs::create_dir(&locked).expect("mkdir");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).expect("chmod");

        // Root (and some sandboxes) ignore permission bits: probe first.
        let probe = locked.join("probe");
        let enforced = fs::write(&probe, b"").is_err();
        let _ = fs::remove_file(&probe);

        let result = StagedDir::create(&locked.join("sub").join("out"), false);
        let atomic = write_atomic(&locked.join("file.csv"), b"x");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).expect("chmod back");

        if !enforced {
            eprintln!("permission bits not enforced (running as root?); skipping assertion");
            return;
        }
        let err = result.expect_err("parent is read-only");
        assert!(matches!(err, FolderError::Io { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.starts_with("could not create `"), "{msg}");
        assert!(msg.contains(&locked.display().to_string()), "{msg}");

        let err = atomic.expect_err("parent is read-only");
        let msg = err.to_string();
        assert!(msg.contains("file.csv"), "{msg}");
    }
}
