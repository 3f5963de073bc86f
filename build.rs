//! Build script that stamps provenance into the binary: the git commit the
//! engine was built from (with `-dirty` when the work tree had uncommitted
//! changes), the `rustc` that compiled it, and the resolved versions of the
//! dependencies that shape simulation results. The run manifest reads these
//! through `option_env!`, so every output folder records exactly which code
//! produced it. The script never fails the build: anything it cannot find is
//! reported as `unknown` together with a `cargo:warning=`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates whose resolved versions are recorded in `ORECHAIN_DEP_VERSIONS`.
const TRACKED_CRATES: &[&str] = &[
    "bevy_ecs",
    "rand",
    "rand_chacha",
    "rand_core",
    "serde",
    "serde_json",
    "rayon",
    "plotters",
    "csv",
];

fn main() {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");

    let git_hash = git_hash(&manifest_dir);
    println!("cargo:rustc-env=ORECHAIN_GIT_HASH={git_hash}");

    let rustc = rustc_version();
    println!("cargo:rustc-env=ORECHAIN_RUSTC_VERSION={rustc}");

    let deps = dep_versions(&manifest_dir.join("Cargo.lock"));
    println!("cargo:rustc-env=ORECHAIN_DEP_VERSIONS={deps}");
}

/// Runs `git` in `dir` with the given arguments and returns its trimmed stdout,
/// or `None` if git is missing or the command fails.
///
/// `GIT_OPTIONAL_LOCKS=0` stops `git status` from rewriting `.git/index`, so
/// the build script does not touch the files it watches.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Full commit hash of `HEAD`, with `-dirty` appended when `git status
/// --porcelain` reports anything; `unknown` (plus a warning) otherwise.
fn git_hash(dir: &Path) -> String {
    watch_git_files(dir);
    let Some(hash) = git(dir, &["rev-parse", "HEAD"]).filter(|h| !h.is_empty()) else {
        println!(
            "cargo:warning=could not read the git commit (git missing, not a repository, \
             or no commits yet); ORECHAIN_GIT_HASH is `unknown`"
        );
        return "unknown".to_string();
    };
    match git(dir, &["status", "--porcelain"]) {
        Some(status) if status.is_empty() => hash,
        Some(_) => format!("{hash}-dirty"),
        None => {
            println!("cargo:warning=`git status` failed; cannot tell whether the tree is dirty");
            format!("{hash}-dirty")
        }
    }
}

/// Emits `rerun-if-changed` for `.git/HEAD` and the ref it points to, so a
/// new commit or branch switch refreshes the hash. Also watches `src` and
/// `Cargo.toml` so the `-dirty` flag follows edits to the sources.
fn watch_git_files(dir: &Path) {
    for tracked in ["src", "Cargo.toml"] {
        if dir.join(tracked).exists() {
            println!("cargo:rerun-if-changed={tracked}");
        }
    }

    // Prefer asking git (handles worktrees, where `.git` is a file); fall
    // back to the plain layout when git is unavailable.
    let git_dir = git(dir, &["rev-parse", "--absolute-git-dir"])
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join(".git"));
    let common_dir = git(dir, &["rev-parse", "--git-common-dir"])
        .map(|d| dir.join(d))
        .unwrap_or_else(|| git_dir.clone());

    let head = git_dir.join("HEAD");
    if !head.is_file() {
        return;
    }
    println!("cargo:rerun-if-changed={}", head.display());

    let Ok(contents) = std::fs::read_to_string(&head) else {
        return;
    };
    let Some(reference) = contents.trim().strip_prefix("ref:").map(str::trim) else {
        return; // detached HEAD: the hash is in HEAD itself
    };
    let candidates = [git_dir.join(reference), common_dir.join(reference)];
    if let Some(ref_file) = candidates.iter().find(|p| p.is_file()) {
        println!("cargo:rerun-if-changed={}", ref_file.display());
    } else if let Some(ref_parent) = candidates
        .iter()
        .filter_map(|p| p.parent())
        .find(|p| p.is_dir())
    {
        // The branch has no loose ref yet (no commits, or packed refs):
        // watch its folder so the first commit is noticed.
        println!("cargo:rerun-if-changed={}", ref_parent.display());
    }
    let packed = common_dir.join("packed-refs");
    if packed.is_file() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
}

/// Output of `$RUSTC --version`, or `unknown` (plus a warning).
fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty());
    version.unwrap_or_else(|| {
        println!(
            "cargo:warning=could not run `rustc --version`; ORECHAIN_RUSTC_VERSION is `unknown`"
        );
        "unknown".to_string()
    })
}

/// `name=version;...` for [`TRACKED_CRATES`] found in `Cargo.lock`, in the
/// order of that list. A crate locked at several versions gets them joined
/// with `,`; crates not in the lock file are left out.
fn dep_versions(lock_path: &Path) -> String {
    let Ok(lock) = std::fs::read_to_string(lock_path) else {
        println!(
            "cargo:warning=could not read {}; ORECHAIN_DEP_VERSIONS is empty",
            lock_path.display()
        );
        return String::new();
    };
    let packages = parse_lock(&lock);
    let mut parts = Vec::new();
    for name in TRACKED_CRATES {
        let versions: Vec<&str> = packages
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if !versions.is_empty() {
            parts.push(format!("{name}={}", versions.join(",")));
        }
    }
    parts.join(";")
}

/// Extracts `(name, version)` from every `[[package]]` table of a lock file,
/// reading it as plain text.
fn parse_lock(lock: &str) -> Vec<(String, String)> {
    let mut packages = Vec::new();
    let mut name: Option<String> = None;
    let mut version: Option<String> = None;
    let mut flush = |name: &mut Option<String>, version: &mut Option<String>| {
        if let (Some(n), Some(v)) = (name.take(), version.take()) {
            packages.push((n, v));
        }
        *name = None;
        *version = None;
    };
    for line in lock.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut name, &mut version);
        } else if let Some(value) = string_value(line, "name") {
            name = Some(value);
        } else if let Some(value) = string_value(line, "version") {
            version = Some(value);
        }
    }
    flush(&mut name, &mut version);
    packages
}

/// The quoted value of a `key = "value"` line, if `line` sets `key`.
fn string_value(line: &str, key: &str) -> Option<String> {
    let rest = line
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.to_string())
}
