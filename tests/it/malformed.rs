//! A corpus of malformed scenarios (issue 10): every one gets exit code 2 from `run` and
//! `validate`, a message naming the problem (with `file:line:col` where the problem has a
//! position), and no output folder — not even a hidden staging folder.
//!
//! The files and the expected message fragments live in `tests/data/malformed/` (`EXPECTED.tsv`);
//! inputs too large to ship (a 10 MB string, a 300 MB file) are generated here.

use std::path::{Path, PathBuf};

use crate::common::*;

struct Case {
    file: String,
    fragment: String,
    location: Option<String>,
}

fn corpus_dir() -> PathBuf {
    repo("tests/data/malformed")
}

fn cases() -> Vec<Case> {
    read(&corpus_dir().join("EXPECTED.tsv"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "EXPECTED.tsv row needs 3 columns: {l}");
            Case {
                file: cols[0].to_string(),
                fragment: cols[1].to_string(),
                location: (cols[2] != "-").then(|| cols[2].to_string()),
            }
        })
        .collect()
}

/// Names in a folder, hidden ones included.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("folder is readable")
        .map(|e| {
            e.expect("entry is readable")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// `run FILE -o out` and `validate FILE` both exit 2 with `fragment` (and `location`) in stderr,
/// and nothing appears in the working folder. Returns the `run` stderr.
fn assert_refused(file: &Path, fragment: &str, location: Option<&str>) -> String {
    let dir = tmp();
    let f = file.to_str().expect("utf-8 path");
    let (code, out, err) = outcome(&orechain(&["run", f, "-o", "out"], dir.path()));
    let name = file
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    assert_eq!(
        code, 2,
        "{name}: run must exit 2\nstdout: {out}\nstderr: {err}"
    );
    assert!(
        err.contains(fragment),
        "{name}: run's message lacks `{fragment}`:\n{err}"
    );
    if let Some(loc) = location {
        assert!(
            err.contains(&format!("{name}:{loc}")),
            "{name}: run's message lacks the location {name}:{loc}:\n{err}"
        );
    }
    assert!(
        entries(dir.path()).is_empty(),
        "{name}: a refused run left {:?} behind",
        entries(dir.path())
    );
    let (code, _, verr) = outcome(&orechain(&["validate", f], dir.path()));
    assert_eq!(code, 2, "{name}: validate must exit 2\n{verr}");
    assert!(
        verr.contains(fragment),
        "{name}: validate's message lacks `{fragment}`:\n{verr}"
    );
    err
}

#[test]
fn issue10_every_malformed_scenario_exits_2_with_a_message_and_no_output() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    for case in &cases {
        assert_refused(
            &corpus_dir().join(&case.file),
            &case.fragment,
            case.location.as_deref(),
        );
    }
}

#[test]
fn issue10_every_corpus_file_has_an_expectation() {
    let listed: Vec<String> = cases().into_iter().map(|c| c.file).collect();
    for name in entries(&corpus_dir()) {
        if name != "EXPECTED.tsv" && name != ".gitattributes" {
            assert!(listed.contains(&name), "{name} has no row in EXPECTED.tsv");
        }
    }
}

fn tiny_with(old: &str, new: &str) -> String {
    let tiny = read(&repo("scenarios/tiny.ron"));
    assert!(tiny.contains(old), "tiny.ron contains {old}");
    tiny.replacen(old, new, 1)
}

const TEN_MB: usize = 10 * 1024 * 1024;

#[test]
fn issue10_a_10_mb_name_is_refused_with_a_short_message() {
    let dir = tmp();
    let file = dir.path().join("long_name.ron");
    let long = "a".repeat(TEN_MB);
    std::fs::write(
        &file,
        tiny_with("name: \"tiny\"", &format!("name: \"{long}\"")),
    )
    .expect("write");
    let err = assert_refused(&file, "is 10485760 chars long; at most 128", Some("4:5"));
    assert!(err.len() < 4096, "the message is {} bytes long", err.len());
}

#[test]
fn issue10_a_10_mb_unknown_id_is_quoted_clipped() {
    let dir = tmp();
    let file = dir.path().join("long_id.ron");
    let long = "X".repeat(TEN_MB);
    std::fs::write(
        &file,
        tiny_with("host: \"CHL\"", &format!("host: \"{long}\"")),
    )
    .expect("write");
    let err = assert_refused(&file, "unknown nation `XXXX", Some("25:25"));
    assert!(err.contains("more chars)"), "{err}");
    assert!(err.len() < 4096, "the message is {} bytes long", err.len());
}

#[test]
fn issue10_a_10_mb_unknown_field_name_is_clipped() {
    let dir = tmp();
    let file = dir.path().join("long_field.ron");
    let long = "z".repeat(TEN_MB);
    std::fs::write(
        &file,
        tiny_with("    firms: [", &format!("    {long}: 1, firms: [")),
    )
    .expect("write");
    let err = assert_refused(&file, "unknown field `zzzz", Some("19:5"));
    assert!(err.len() < 4096, "the message is {} bytes long", err.len());
}

#[test]
fn issue10_a_file_over_the_size_limit_is_refused_unread() {
    let dir = tmp();
    let file = dir.path().join("huge.ron");
    // Sparse: no disk space is used, and the loader must refuse it from its size alone.
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(300 * 1024 * 1024))
        .expect("create a sparse file");
    assert_refused(&file, "scenario files may have at most 268435456", None);
}

#[test]
fn issue10_docs_errors_lists_every_corpus_file() {
    let doc = read(&repo("docs/errors.md"));
    for case in cases() {
        assert!(
            doc.contains(&format!("| `{}` |", case.file)),
            "docs/errors.md has no row for {}",
            case.file
        );
    }
}
