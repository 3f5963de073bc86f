//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the built `orechain` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orechain"))
}

/// Path of a file in the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Run the binary with arguments in a working directory.
pub fn orechain(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the orechain binary runs")
}

/// Exit code, stdout and stderr as text.
pub fn outcome(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh temporary directory.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory can be created")
}

/// Read a file to a string.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Rows of a CSV (header excluded) split on commas (fields in our CSVs other than `detail` never
/// contain commas).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    read(path)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Value of a metric row in metrics.csv (first match).
pub fn metric(
    rows: &[Vec<String>],
    step: u32,
    metric: &str,
    mineral: &str,
    stage: &str,
    nation: &str,
) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r[0] == step.to_string()
                && r[2] == metric
                && r[3] == mineral
                && r[4] == stage
                && r[5] == nation
        })
        .and_then(|r| r[7].parse().ok())
}
