//! Atomic output folders. A run writes everything into a hidden staging
//! folder next to its destination and renames it into place only at the end,
//! so a failed or killed run never leaves a half-written result behind, and
//! an existing result is never overwritten unless the user passed `--force`.
//! Single files (for example sweep results streamed as they finish) are
//! written the same way through [`write_atomic`]: temporary sibling, fsync,
//! rename.
//!
//! **One sync per folder.** Files inside a staging folder are written plainly, without a sync
//! each: nobody reads the staging folder, and it becomes visible only through the final rename.
//! [`StagedDir::commit`] makes the whole staged tree durable with one `syncfs` of its filesystem
//! (Linux; elsewhere every file and folder of the tree is synced) before that rename, and syncs
//! the parent after it. A crash before the rename leaves only a hidden staging folder; a crash
//! after it leaves complete files. (Issue 19: the two syncs per file, 548 for a baseline run
//! with figures, cost about 2 s of wall time on ext4.)
//!
//! **`--force` replaces only what orechain wrote.** Every output folder orechain makes (run,
//! sweep, shard, merge) carries a marker file [`MARKER_FILE`] written before anything else, and
//! `--force` removes a destination only if it is a real folder (not a symlink, file or device)
//! with a valid marker *and* a parseable orechain manifest ([`check_replaceable`]); anything else
//! is refused (exit 2) and left untouched. A user's thesis folder that happens to be named like an
//! output, or holds a `manifest.json` of some other tool, is never deleted.
//!
//! **A kill never strands a result.** A `--force` commit renames the old folder to a hidden
//! `.<name>.old-<pid>-<nanos>` and then the staging folder into place; a SIGKILL between the two
//! renames would leave the previous result only in the hidden folder. Every later
//! [`StagedDir::create`] (and sweep start) for the same destination first calls [`recover`]: hidden
//! `old`/`partial` siblings of a process of this machine that no longer exists and that carry
//! orechain's marker are restored (the newest `old`, when the destination is missing) or removed.

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
    /// `--force` was given but the destination is not a folder orechain wrote (no marker, no
    /// orechain manifest, a symlink, a file or a device): it is left untouched.
    NotOrechain {
        /// The destination.
        path: PathBuf,
        /// Why it is not replaceable.
        reason: String,
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
            FolderError::NotOrechain { path, reason } => write!(
                f,
                "refusing to replace `{}`: {reason}. --force replaces only a folder orechain \
                 wrote itself (with its `{MARKER_FILE}` marker and manifest); move it away \
                 yourself or choose another folder with -o",
                shown(path)
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
            FolderError::Exists { .. } | FolderError::NotOrechain { .. } => None,
            FolderError::Io { source, .. } => Some(source),
        }
    }
}

/// Name of the marker file in every output folder orechain writes (see the module docs).
pub const MARKER_FILE: &str = ".orechain-output";
/// The lock file a sweep holds in its folder for its lifetime (`sweep::lock`).
pub const SWEEP_LOCK_FILE: &str = ".orechain-sweep.lock";
/// Format version of [`MARKER_FILE`]; a marker of a later format is still orechain's.
pub const MARKER_FORMAT: u32 = 1;
/// Largest marker or manifest read when checking a folder (a FIFO or a huge file is never read).
const MAX_CHECK_BYTES: u64 = 64 << 20;

/// What kind of output folder a marker says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// `orechain run`.
    Run,
    /// `orechain sweep` (whole sweep).
    Sweep,
    /// `orechain sweep --shard`.
    Shard,
    /// `orechain merge`.
    Merge,
    /// `orechain run --replicates`.
    Ensemble,
    /// `orechain compare`.
    Compare,
    /// `orechain backtest`.
    Backtest,
}

impl OutputKind {
    /// The word in the marker.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Run => "run",
            OutputKind::Sweep => "sweep",
            OutputKind::Shard => "shard",
            OutputKind::Merge => "merge",
            OutputKind::Ensemble => "ensemble",
            OutputKind::Compare => "compare",
            OutputKind::Backtest => "backtest",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [
            OutputKind::Run,
            OutputKind::Sweep,
            OutputKind::Shard,
            OutputKind::Merge,
            OutputKind::Ensemble,
            OutputKind::Compare,
            OutputKind::Backtest,
        ]
        .into_iter()
        .find(|k| k.as_str() == word)
    }
}

/// The text of the marker of a folder of `kind`:
///
/// ```text
/// orechain-output 1
/// kind: run
/// engine: 0.1.0
/// host: node042
/// ```
///
/// `host` (Linux only) names the machine that wrote it: [`recover`] touches leftovers only of
/// processes of this machine, since on a shared cluster filesystem another node's process id says
/// nothing here.
pub fn marker_text(kind: OutputKind) -> String {
    let mut text = format!(
        "orechain-output {MARKER_FORMAT}\nkind: {}\nengine: {}\n",
        kind.as_str(),
        env!("CARGO_PKG_VERSION")
    );
    if let Some(host) = local_host() {
        text.push_str(&format!("host: {host}\n"));
    }
    text
}

/// This machine's host name (Linux `/proc`), if it is known and printable.
fn local_host() -> Option<String> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// The `host:` line of `dir`'s marker.
fn marker_host(dir: &Path) -> Option<String> {
    read_small(&dir.join(MARKER_FILE))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("host:"))
        .map(|h| h.trim().to_string())
}

/// Write the marker of a folder of `kind` into `dir` (atomically).
pub fn write_marker(dir: &Path, kind: OutputKind) -> Result<(), FolderError> {
    write_atomic(&dir.join(MARKER_FILE), marker_text(kind).as_bytes())
}

/// Read a small regular file (never a FIFO, device or symlink; at most [`MAX_CHECK_BYTES`]).
fn read_small(path: &Path) -> Result<String, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "it does not exist".to_string(),
        _ => format!("cannot inspect it: {e}"),
    })?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > MAX_CHECK_BYTES {
        return Err(format!("it is larger than {MAX_CHECK_BYTES} bytes"));
    }
    fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))
}

/// The kind recorded by `dir`'s marker, or why there is no valid marker.
pub fn read_marker(dir: &Path) -> Result<OutputKind, String> {
    let text = read_small(&dir.join(MARKER_FILE))
        .map_err(|e| format!("its marker `{MARKER_FILE}` is missing or unusable ({e})"))?;
    let mut lines = text.lines();
    let format_ok = lines
        .next()
        .and_then(|l| l.strip_prefix("orechain-output "))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .is_some_and(|v| v >= 1);
    let kind = lines
        .find_map(|l| l.strip_prefix("kind:"))
        .and_then(|k| OutputKind::parse(k.trim()));
    match (format_ok, kind) {
        (true, Some(kind)) => Ok(kind),
        _ => Err(format!("its `{MARKER_FILE}` is not an orechain marker")),
    }
}

/// Whether `name` is a temporary file [`write_atomic`] leaves when killed mid-write.
fn is_tmp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Whether `--force` may replace `path`: `Ok` if nothing is there, if it is an empty folder, or
/// if it is a real folder with a valid [`MARKER_FILE`] and a parseable orechain manifest of the
/// marker's kind. A sweep or shard folder killed before its first manifest (only the marker and
/// temporary files in it) is replaceable too. `Err` says why not.
pub fn check_replaceable(path: &Path) -> Result<(), String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
    };
    let kind_of = meta.file_type();
    if kind_of.is_symlink() {
        return Err("it is a symbolic link (its target is never touched)".into());
    }
    if !kind_of.is_dir() {
        return Err(if kind_of.is_file() {
            "it is a file, not a folder".into()
        } else {
            "it is a device, FIFO or socket, not a folder".into()
        });
    }
    let entries: Vec<String> = fs::read_dir(path)
        .map_err(|e| format!("cannot list it: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let kind = read_marker(path)?;
    let manifest = path.join("manifest.json");
    let text = match read_small(&manifest) {
        Ok(text) => text,
        Err(_)
            if matches!(kind, OutputKind::Sweep | OutputKind::Shard)
                && entries
                    .iter()
                    .all(|n| n == MARKER_FILE || n == SWEEP_LOCK_FILE || is_tmp_name(n)) =>
        {
            // A sweep killed between its marker and its first manifest.
            return Ok(());
        }
        Err(e) => return Err(format!("its `manifest.json` is missing or unusable ({e})")),
    };
    let parsed = match kind {
        OutputKind::Run | OutputKind::Ensemble | OutputKind::Compare | OutputKind::Backtest => {
            serde_json::from_str::<super::manifest::Manifest>(&text)
                .map(|m| m.engine)
                .map_err(|e| e.to_string())
        }
        OutputKind::Sweep | OutputKind::Shard | OutputKind::Merge => {
            serde_json::from_str::<super::sweep_manifest::SweepManifest>(&text)
                .map(|m| m.engine)
                .map_err(|e| e.to_string())
        }
    };
    match parsed {
        Ok(engine) if engine == "orechain" => Ok(()),
        Ok(_) => Err("its `manifest.json` was not written by orechain".into()),
        Err(e) => Err(format!(
            "its `manifest.json` is not an orechain {} manifest ({})",
            kind.as_str(),
            one_line(&e, 160)
        )),
    }
}

/// Whether `path` is a `figures/` folder orechain may replace: absent, or a real folder holding
/// only figure files (`.svg`, `.png`, `.csv`) and temporary files.
pub fn check_figures_replaceable(path: &Path) -> Result<(), String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
    };
    if !meta.is_dir() {
        return Err("it is not a folder (a symbolic link, file or device)".into());
    }
    for entry in fs::read_dir(path).map_err(|e| format!("cannot list it: {e}"))? {
        let entry = entry.map_err(|e| format!("cannot list it: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let figure = [".svg", ".png", ".csv"].iter().any(|x| name.ends_with(x));
        if !is_file || !(figure || is_tmp_name(&name)) {
            return Err(format!(
                "it holds `{}`, which is not a figure orechain draws",
                one_line(&name, 80)
            ));
        }
    }
    Ok(())
}

/// What a staged folder becomes, and so what it may replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    /// An output folder of this kind: gets the marker; replaces only [`check_replaceable`] folders.
    Output(OutputKind),
    /// The `figures/` folder of a result: replaces only [`check_figures_replaceable`] folders.
    Figures,
}

impl Policy {
    fn check(self, path: &Path) -> Result<(), String> {
        match self {
            Policy::Output(_) => check_replaceable(path),
            Policy::Figures => check_figures_replaceable(path),
        }
    }

    /// Whether a hidden leftover sibling is orechain's to restore or remove: a real folder with
    /// a marker written on this machine (an output folder), or holding only figures.
    fn owns_leftover(self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
            && match self {
                Policy::Output(_) => {
                    read_marker(path).is_ok()
                        && local_host().is_some_and(|h| marker_host(path) == Some(h))
                }
                Policy::Figures => check_figures_replaceable(path).is_ok(),
            }
    }
}

/// Whether process `pid` may still be running. Only Linux's `/proc` can tell; elsewhere every
/// process counts as alive, so nothing of a running process is ever touched.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// A hidden sibling `.<name>.<tag>-<pid>-<nanos>` of the destination: `(tag, pid, nanos)`.
fn parse_sibling<'a>(entry: &'a str, name: &str) -> Option<(&'a str, u32, u128)> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (tag, rest) = rest.split_once('-')?;
    let (pid, nanos) = rest.split_once('-')?;
    Some((tag, pid.parse().ok()?, nanos.parse().ok()?))
}

/// Clean up after a killed process: for each hidden `.<name>.old-*` / `.<name>.partial-*` sibling
/// of `final_path` left by a process of this machine that no longer exists and carrying
/// orechain's marker, restore the newest `old` folder when `final_path` is missing (a kill between the two
/// renames of a `--force` commit), and remove the rest. Prints what it did on stderr. Errors are
/// ignored: what cannot be cleaned stays as it was.
pub fn recover(final_path: &Path) {
    recover_with(final_path, Policy::Output(OutputKind::Run));
}

fn recover_with(final_path: &Path, policy: Policy) {
    let Ok((parent, name)) = split_path(final_path) else {
        return;
    };
    let Ok(entries) = fs::read_dir(&parent) else {
        return;
    };
    let mut olds: Vec<(u128, PathBuf)> = Vec::new();
    let mut partials: Vec<PathBuf> = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some((tag, pid, nanos)) = parse_sibling(&entry_name, &name) else {
            continue;
        };
        let path = entry.path();
        if !matches!(tag, "old" | "partial") || process_alive(pid) || !policy.owns_leftover(&path) {
            continue;
        }
        if tag == "old" {
            olds.push((nanos, path));
        } else {
            partials.push(path);
        }
    }
    olds.sort();
    let missing = matches!(fs::symlink_metadata(final_path),
        Err(e) if e.kind() == io::ErrorKind::NotFound);
    if missing && let Some((_, newest)) = olds.pop() {
        if fs::rename(&newest, final_path).is_ok() {
            note(&format!(
                "restored `{}` from `{}`, left by an orechain process killed while replacing it",
                shown(final_path),
                shown(&newest)
            ));
        } else {
            olds.push((0, newest));
        }
    }
    for path in olds.into_iter().map(|(_, p)| p).chain(partials) {
        if fs::remove_dir_all(&path).is_ok() {
            note(&format!(
                "removed `{}`, left by an orechain process that was killed",
                shown(&path)
            ));
        }
    }
}

/// A note on stderr (never panics when stderr is closed).
fn note(text: &str) {
    let _ = writeln!(io::stderr(), "orechain: {text}");
}

/// `text` on one line: control characters escaped, cut to `max` chars.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path for a message: control characters escaped, at most 300 chars.
pub fn shown(path: &Path) -> String {
    one_line(&path.display().to_string(), 300)
}

/// An output folder under construction. Files go into a hidden sibling
/// staging folder; [`StagedDir::commit`] renames it into place. Dropping it
/// uncommitted removes the staging folder and leaves the destination alone.
#[derive(Debug)]
pub struct StagedDir {
    final_path: PathBuf,
    staging: PathBuf,
    force: bool,
    policy: Policy,
    committed: bool,
}

impl StagedDir {
    /// Starts a staged output folder of `kind` for `final_path`; the staging folder gets the
    /// marker [`MARKER_FILE`] first.
    ///
    /// First [`recover`]s what a killed orechain left beside `final_path`. Refuses with
    /// [`FolderError::Exists`] if `final_path` is a non-empty folder or any other file and
    /// `force` is false (an empty folder counts as absent), and with
    /// [`FolderError::NotOrechain`] if `force` is true but `final_path` is not a folder orechain
    /// wrote ([`check_replaceable`]). Creates missing parent folders, then a staging folder
    /// `.<name>.partial-<pid>-<nanos>` in the same parent, so that the final rename stays on one
    /// filesystem and is atomic.
    pub fn create(final_path: &Path, force: bool, kind: OutputKind) -> Result<Self, FolderError> {
        Self::create_with(final_path, force, Policy::Output(kind))
    }

    /// Starts a staged `figures/` folder that replaces the existing one (if it holds only figure
    /// files, [`check_figures_replaceable`]), as `orechain plot` and a finished sweep do.
    pub fn create_figures(final_path: &Path) -> Result<Self, FolderError> {
        Self::create_with(final_path, true, Policy::Figures)
    }

    fn create_with(final_path: &Path, force: bool, policy: Policy) -> Result<Self, FolderError> {
        let (parent, name) = split_path(final_path)?;
        recover_with(final_path, policy);
        if is_occupied(final_path)? {
            if !force {
                return Err(FolderError::Exists {
                    path: final_path.to_path_buf(),
                });
            }
            policy
                .check(final_path)
                .map_err(|reason| FolderError::NotOrechain {
                    path: final_path.to_path_buf(),
                    reason,
                })?;
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
        let staged = StagedDir {
            final_path: final_path.to_path_buf(),
            staging,
            force,
            policy,
            committed: false,
        };
        if let Policy::Output(kind) = policy {
            write_staged(
                &staged.staging.join(MARKER_FILE),
                marker_text(kind).as_bytes(),
            )?;
        }
        Ok(staged)
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
    /// `figures/a.svg`) inside the staging folder, creating subfolders as
    /// needed. `rel` must stay inside the folder: absolute paths and `..` are
    /// rejected. The file is not synced here: [`StagedDir::commit`] syncs the
    /// whole folder once.
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
        write_staged(&target, bytes)
    }

    /// Moves the staging folder into place and returns the final path.
    ///
    /// Without `force`, re-checks that the destination is still free (another
    /// process may have written it meanwhile) and fails with
    /// [`FolderError::Exists`] otherwise; with `force`, re-checks that it is
    /// still replaceable ([`FolderError::NotOrechain`] otherwise). An existing destination is first
    /// renamed to `.<name>.old-<pid>-<nanos>`, then the staging folder is
    /// renamed to the destination and the old one removed (best effort). If
    /// the staging rename fails, the old folder is renamed back so earlier
    /// results stay intact. On any error the staging folder is removed.
    pub fn commit(mut self) -> Result<PathBuf, FolderError> {
        // Ctrl-C waits for the renames below (see `remove_open_staging`), so an interrupted
        // commit leaves the results either fully in place or not there.
        let mut open = open_staging();
        if is_occupied(&self.final_path)? {
            if !self.force {
                return Err(FolderError::Exists {
                    path: self.final_path.clone(),
                });
            }
            // Re-checked at the last moment: the destination may have changed during the run.
            self.policy
                .check(&self.final_path)
                .map_err(|reason| FolderError::NotOrechain {
                    path: self.final_path.clone(),
                    reason,
                })?;
        }
        let (parent, name) = split_path(&self.final_path)?;
        // Every file of the staged tree reaches the disk before the rename makes it visible. A
        // vanished staging folder is left to the rename below, which fails and restores.
        match sync_tree(&self.staging) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(FolderError::io(&self.final_path, "sync the results for", e));
            }
            _ => {}
        }

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
            let _ = match self.policy {
                Policy::Output(_) => remove_output_folder(&old),
                Policy::Figures => remove_any(&old),
            };
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
        // The run may still be streaming its tables into the folder while this handler runs on
        // another thread: a file created during the removal makes `remove_dir_all` fail with
        // "directory not empty", so try again (a few attempts suffice: each clears what was there).
        for _ in 0..20 {
            if fs::remove_dir_all(staging).is_ok() || fs::symlink_metadata(staging).is_err() {
                break;
            }
        }
    }
    // The guard is leaked: the process exits holding it, so no commit can begin.
    std::mem::forget(open);
}

/// Writes `bytes` to `path` inside a staging folder, without syncing (the commit syncs the
/// folder once, [`sync_tree`]). A new file is created in place (never through an existing
/// entry); a file written twice is replaced through a temporary sibling and a rename, so an
/// existing entry (even a symlink someone put there) is replaced rather than written through.
fn write_staged(path: &Path, bytes: &[u8]) -> Result<(), FolderError> {
    let (parent, name) = split_path(path)?;
    fs::create_dir_all(&parent).map_err(|e| FolderError::io(&parent, "create", e))?;
    match File::create_new(path) {
        Ok(mut file) => {
            if let Err(e) = file.write_all(bytes) {
                let _ = fs::remove_file(path);
                return Err(FolderError::io(path, "write", e));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let tmp = parent.join(sibling_name(&name, "tmp"));
            let written = File::create_new(&tmp).and_then(|mut file| file.write_all(bytes));
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(FolderError::io(path, "write", e));
            }
            fs::rename(&tmp, path).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                FolderError::io(path, "rename", e)
            })
        }
        Err(e) => Err(FolderError::io(path, "write", e)),
    }
}

/// Makes every file and folder entry under `dir` durable. On Linux one `syncfs(2)` of the
/// filesystem that holds `dir` (it also flushes other dirty data of that filesystem, which is
/// still one journal commit instead of one per file); elsewhere each file and folder of the
/// tree is synced in turn.
fn sync_tree(dir: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let handle = File::open(dir)?;
        rustix::fs::syncfs(&handle)?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                sync_tree(&entry.path())?;
            } else if kind.is_file() {
                File::open(entry.path())?.sync_all()?;
            }
        }
        sync_dir(dir);
        Ok(())
    }
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

/// Remove an output folder that [`check_replaceable`] accepted, in place: it is first renamed to
/// a hidden `.<name>.old-<pid>-<nanos>` sibling (so a kill leaves it whole or recoverable by
/// [`recover`]), then removed with [`remove_output_folder`].
pub fn set_aside_and_remove(path: &Path) -> Result<(), FolderError> {
    let (parent, name) = split_path(path)?;
    let old = parent.join(sibling_name(&name, "old"));
    fs::rename(path, &old).map_err(|e| FolderError::io(path, "replace", e))?;
    sync_dir(&parent);
    remove_output_folder(&old).map_err(|e| FolderError::io(&old, "remove", e))
}

/// Remove an output folder with its marker last, so a kill midway leaves a folder [`recover`]
/// still recognises as orechain's (or at worst an empty hidden folder).
fn remove_output_folder(path: &Path) -> io::Result<()> {
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_name() != MARKER_FILE {
            remove_any(&entry.path())?;
        }
    }
    match fs::remove_file(path.join(MARKER_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    fs::remove_dir(path)
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

    /// A folder as `orechain run` leaves it: marker, manifest, one table.
    fn orechain_run_folder(out: &Path) {
        fs::create_dir_all(out).expect("mkdir");
        write_marker(out, OutputKind::Run).expect("marker");
        let manifest = super::super::manifest::Manifest::with_build_info();
        fs::write(out.join("manifest.json"), manifest.to_json_pretty()).expect("manifest");
        fs::write(out.join("old.csv"), "old").expect("write");
    }

    /// Names in `dir`, sorted, without orechain's marker.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != MARKER_FILE)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn create_write_commit() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("runs").join("out");
        let staged = StagedDir::create(&out, false, OutputKind::Run).expect("create");
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

        assert_eq!(
            read(&staged.path().join(MARKER_FILE)),
            marker_text(OutputKind::Run),
            "the marker is written first"
        );
        staged.write_file("manifest.json", b"{}\n").expect("write");
        let committed = staged.commit().expect("commit");
        assert_eq!(committed, out);
        assert_eq!(read(&out.join("manifest.json")), "{}\n");
        assert_eq!(read_marker(&out), Ok(OutputKind::Run));
        assert_eq!(names(&root.path().join("runs")), ["out"]);
    }

    #[test]
    fn refuses_existing_without_force_and_keeps_content() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("old.csv"), "old").expect("write");

        let err = StagedDir::create(&out, false, OutputKind::Run).expect_err("must refuse");
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
        let err = StagedDir::create(&out, false, OutputKind::Run).expect_err("must refuse");
        assert!(matches!(err, FolderError::Exists { .. }));
        assert_eq!(read(&out), "a file");
    }

    #[test]
    fn empty_existing_folder_counts_as_absent() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        let staged = StagedDir::create(&out, false, OutputKind::Run).expect("empty dir is fine");
        staged.write_file("a.txt", b"a").expect("write");
        staged.commit().expect("commit");
        assert_eq!(names(&out), ["a.txt"]);
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn force_replaces_existing() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        orechain_run_folder(&out);

        let staged = StagedDir::create(&out, true, OutputKind::Run).expect("create with force");
        // The old results stay readable until the commit.
        assert_eq!(read(&out.join("old.csv")), "old");
        staged.write_file("new.csv", b"new").expect("write");
        staged.commit().expect("commit");

        assert_eq!(names(&out), ["new.csv"]);
        assert_eq!(read(&out.join("new.csv")), "new");
        assert_eq!(names(root.path()), ["out"], "old and staging removed");
    }

    #[test]
    fn force_never_replaces_what_orechain_did_not_write() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = root.path().join("file");
        fs::write(&file, "a file").expect("write");
        let user = root.path().join("user");
        fs::create_dir_all(user.join("docs")).expect("mkdir");
        fs::write(user.join("docs").join("t.tex"), "thesis").expect("write");
        fs::write(user.join("manifest.json"), "{\"manifest_version\": 3}").expect("write");
        let fake = root.path().join("fake");
        orechain_run_folder(&fake);
        fs::write(fake.join("manifest.json"), "{\"manifest_version\": 3}").expect("write");
        let unmarked = root.path().join("unmarked");
        orechain_run_folder(&unmarked);
        fs::remove_file(unmarked.join(MARKER_FILE)).expect("rm");
        for (path, needle) in [
            (&file, "is a file"),
            (&user, "marker"),
            (&fake, "not an orechain run manifest"),
            (&unmarked, "marker"),
        ] {
            let err = StagedDir::create(path, true, OutputKind::Run).expect_err("must refuse");
            assert!(
                matches!(&err, FolderError::NotOrechain { reason, .. } if reason.contains(needle)),
                "{}: {err}",
                path.display()
            );
        }
        assert_eq!(read(&file), "a file");
        assert_eq!(read(&user.join("docs").join("t.tex")), "thesis");
        assert_eq!(names(root.path()), ["fake", "file", "unmarked", "user"]);
    }

    #[cfg(unix)]
    #[test]
    fn force_never_follows_a_symlink() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("target");
        orechain_run_folder(&target);
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = StagedDir::create(&link, true, OutputKind::Run).expect_err("must refuse");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(fs::symlink_metadata(&link).expect("link").is_symlink());
        assert_eq!(read(&target.join("old.csv")), "old");
    }

    // Telling a dead process from a live one needs Linux's /proc (elsewhere nothing is touched).
    #[cfg(target_os = "linux")]
    #[test]
    fn recover_restores_a_folder_stranded_between_the_renames() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        // A process that no longer exists: pid 0 is never a user process.
        let old = root.path().join(".out.old-0-5");
        orechain_run_folder(&old);
        let older = root.path().join(".out.old-0-4");
        orechain_run_folder(&older);
        let partial = root.path().join(".out.partial-0-6");
        orechain_run_folder(&partial);
        let theirs = root.path().join(".out.old-0-7");
        fs::create_dir(&theirs).expect("mkdir");
        fs::write(theirs.join("notes.txt"), "mine").expect("write");
        let live = root
            .path()
            .join(format!(".out.partial-{}-8", std::process::id()));
        orechain_run_folder(&live);
        recover(&out);
        assert_eq!(read(&out.join("old.csv")), "old");
        assert_eq!(
            names(root.path()),
            [
                ".out.old-0-7".to_string(),
                format!(".out.partial-{}-8", std::process::id()),
                "out".to_string()
            ],
            "restored the newest, removed the other leftovers, kept foreign and live ones"
        );
    }

    #[test]
    fn commit_rechecks_when_not_forced() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let staged = StagedDir::create(&out, false, OutputKind::Run).expect("create");
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
        orechain_run_folder(&out);

        let staged = StagedDir::create(&out, true, OutputKind::Run).expect("create");
        // Make the staging -> final rename fail.
        fs::remove_dir_all(staged.path()).expect("remove staging");
        let err = staged.commit().expect_err("rename must fail");
        assert!(matches!(err, FolderError::Io { .. }));
        assert!(err.to_string().contains(&out.display().to_string()));
        assert_eq!(names(&out), ["manifest.json", "old.csv"]);
        assert_eq!(read(&out.join("old.csv")), "old");
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn drop_without_commit_cleans_up() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let staged = StagedDir::create(&out, false, OutputKind::Run).expect("create");
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
        let staged = StagedDir::create(&out, false, OutputKind::Run).expect("create");
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
        let staged =
            StagedDir::create(&root.path().join("out"), false, OutputKind::Run).expect("create");
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

        let result = StagedDir::create(&locked.join("sub").join("out"), false, OutputKind::Run);
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
