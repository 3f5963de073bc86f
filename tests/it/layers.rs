//! Layers without cycles (issue 13): the top-level modules of `src/` form layers, and a module
//! only names (`crate::…`, in `use` lines or inline paths) modules of its own or a lower layer.
//!
//! ```text
//! scenario → model → sim → output → interrupt → sweep → command → cli → ensemble → validation
//!   → compare → report → app → api → (main, lib)
//! ```
//!
//! The arrow means "is used by". Edges that point upwards are import cycles in the making. Every
//! module is its own layer (only `main` and `lib`, which name no `crate::` path, share one), so
//! the test forbids every cycle between top-level modules, the commands included: what they share
//! (`AppError`, output staging, the argument structs) sits below them in `command` and `cli`.
//!
//! [`KNOWN_UPWARD`] lists the upward edges that remain, each with the reason it is not broken
//! yet; it is empty since the figures of the upper layers moved out of `output` (issue 13). The
//! test fails on any other upward edge, and on a listed edge that no longer exists (so the list
//! only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo;

/// Layers, lowest first; each a list of top-level modules.
const LAYERS: &[&[&str]] = &[
    &["scenario"],
    &["model"],
    &["sim"],
    &["output"],
    &["interrupt"],
    &["sweep"],
    &["command"],
    &["cli"],
    &["ensemble"],
    &["validation"],
    &["compare"],
    &["report"],
    &["app"],
    &["api"],
    &["main", "lib"],
];

/// Upward edges not broken yet, with the reason. Only ever remove entries from this list.
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Strip `//` comments (line and doc comments) from a line of Rust. String literals holding
/// `//` are rare in this crate and would only hide a path, never invent one.
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// The top-level modules a file names: `crate::x` and `use crate::{x::…, y::…}`.
fn targets(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().map(code_of).collect::<Vec<_>>().join("\n");
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let after = rest.trim_start();
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a::b, c}`: every top-level name at nesting depth 0 of the group.
            let mut depth = 0usize;
            let mut start = true;
            for (j, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        let name = ident(&group[j..]);
                        if !name.is_empty() {
                            out.insert(name);
                        }
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            visit(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Module-to-module edges of `src/`, each with the files that make it.
fn edges() -> BTreeMap<(String, String), Vec<String>> {
    let src = repo("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    files.sort();
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let top = rel
            .split('/')
            .next()
            .expect("a path")
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&file).expect("readable source");
        for t in targets(&text) {
            if t != top {
                edges.entry((top.clone(), t)).or_default().push(rel.clone());
            }
        }
    }
    edges
}

#[test]
fn top_level_modules_only_use_lower_layers() {
    let edges = edges();
    let mut unknown = Vec::new();
    let mut upward = BTreeSet::new();
    for ((from, to), files) in &edges {
        let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
            unknown.push(format!("{from} -> {to} ({})", files.join(", ")));
            continue;
        };
        if b > a {
            upward.insert((from.clone(), to.clone(), files.join(", ")));
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS in tests/it/layers.rs: {unknown:?}"
    );
    let known: BTreeSet<(&str, &str)> = KNOWN_UPWARD.iter().map(|(a, b, _)| (*a, *b)).collect();
    let new: Vec<String> = upward
        .iter()
        .filter(|(a, b, _)| !known.contains(&(a.as_str(), b.as_str())))
        .map(|(a, b, f)| format!("{a} -> {b} (in {f})"))
        .collect();
    assert!(
        new.is_empty(),
        "upward imports (a lower layer using a higher one makes a cycle):\n  {}",
        new.join("\n  ")
    );
    let gone: Vec<String> = known
        .iter()
        .filter(|(a, b)| !upward.iter().any(|(x, y, _)| x == a && y == b))
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        gone.is_empty(),
        "these edges are broken now: remove them from KNOWN_UPWARD: {gone:?}"
    );
}

#[test]
fn scenario_figure_ids_are_the_drawn_families() {
    // Validation checks `output.figures` against scenario::FIGURE_IDS (the scenario layer may not
    // ask the output layer); the list must stay the families output::figures draws, in order.
    let drawn: Vec<&str> = orechain::output::figures::figure_ids().collect();
    assert_eq!(drawn, orechain::scenario::FIGURE_IDS);
}

#[test]
fn the_import_parser_finds_grouped_and_inline_paths() {
    let text = "use crate::model::x;\nuse crate::{sim::rng::{A, B}, output};\n\
                // crate::sweep in a comment\nlet y = crate::scenario::load(1);\n";
    let got: Vec<String> = targets(text).into_iter().collect();
    assert_eq!(got, ["model", "output", "scenario", "sim"]);
}
