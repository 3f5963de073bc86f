//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

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

/// Width and height from a PNG's IHDR chunk (bytes 16..24, big-endian), after checking the
/// signature.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR is not the first chunk");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Every `<text>` of an SVG, whitespace-trimmed, after parsing it as XML (which fails on
/// malformed files).
pub fn svg_texts(path: &Path) -> Vec<String> {
    let text = read(path);
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
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

/// Value of a metric row in metrics.csv with an empty partner (`nation` "" = world), first match.
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
                && r[6].is_empty()
        })
        .and_then(|r| r[7].parse().ok())
}

/// Send signal `sig` (e.g. `"INT"`, `"TERM"`, `"HUP"`) to a child process with `kill`.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig} failed");
}

/// Poll until `ready()` holds; fail if the child ends first (the test needs it mid-way).
pub fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    while !ready() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the process ended ({status}) before {what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
