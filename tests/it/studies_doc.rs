//! The study page and its generator stay in step (issue 17): `docs/scripts/studies.py` rewrites
//! the numbers of `docs/scenarios.md` between BEGIN/END markers, so the markers must be intact,
//! its list of studies must be the scenario files that are studies, and everything the page shows
//! (figures, the comparison report) must exist. Cheap: nothing is run here; the ensembles are the
//! script's job.

use std::collections::BTreeSet;

use crate::common::repo;

/// The string items of a Python list assignment `NAME = [...]` in the generator's source.
fn python_list(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("\n{name} = ["))
        .unwrap_or_else(|| panic!("docs/scripts/studies.py defines {name}"));
    let body = &source[start + name.len() + 5..];
    let body = &body[..body.find(']').expect("the list is closed")];
    body.split(',')
        .map(|item| {
            item.lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .collect::<String>()
        })
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

fn generator() -> String {
    std::fs::read_to_string(repo("docs/scripts/studies.py")).expect("the generator exists")
}

fn page() -> String {
    std::fs::read_to_string(repo("docs/scenarios.md")).expect("docs/scenarios.md exists")
}

/// `.ron` file stems in a repository folder.
fn stems(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo(dir))
        .expect("the folder exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ron"))
        .map(|p| {
            p.file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn the_generators_study_list_is_the_scenario_library() {
    let src = generator();
    let studies: BTreeSet<String> = python_list(&src, "STUDIES").into_iter().collect();
    let others: BTreeSet<String> = python_list(&src, "NOT_STUDIES").into_iter().collect();
    assert!(
        studies.len() >= 7,
        "the study list is too short: {studies:?}"
    );
    assert!(
        studies.is_disjoint(&others),
        "{studies:?} and {others:?} overlap"
    );
    let listed: BTreeSet<String> = studies.union(&others).cloned().collect();
    assert_eq!(
        listed,
        stems("scenarios"),
        "every scenarios/*.ron must be in STUDIES or NOT_STUDIES of docs/scripts/studies.py"
    );
    let sweeps = python_list(&src, "SWEEPS");
    let files = stems("scenarios/sweeps");
    for s in &sweeps {
        assert!(
            files.contains(s),
            "SWEEPS names `{s}`, not a scenarios/sweeps file"
        );
    }
    // Every study has its own section in the page.
    let text = page();
    for s in &studies {
        assert!(
            text.contains(&format!("`{s}.ron`")),
            "docs/scenarios.md has no section naming `{s}.ron`"
        );
    }
}

#[test]
fn every_generated_block_of_the_study_page_is_intact_and_in_order() {
    let blocks = python_list(&generator(), "BLOCKS");
    assert!(blocks.len() >= 10, "BLOCKS: {blocks:?}");
    let text = page();
    let mut pos = 0;
    for name in &blocks {
        let begin = format!("<!-- BEGIN GENERATED {name} (docs/scripts/studies.py) -->");
        let end = format!("<!-- END GENERATED {name} -->");
        assert_eq!(text.matches(&begin).count(), 1, "`{begin}` exactly once");
        assert_eq!(text.matches(&end).count(), 1, "`{end}` exactly once");
        let b = text.find(&begin).expect("counted above");
        let e = text.find(&end).expect("counted above");
        assert!(pos <= b && b < e, "block `{name}` is out of order");
        let inside = text[b + begin.len()..e].trim();
        assert!(
            !inside.is_empty(),
            "block `{name}` is empty: run the generator"
        );
        assert!(
            !inside.contains("<!--"),
            "block `{name}` contains another marker"
        );
        pos = e;
    }
    assert_eq!(
        text.matches("<!-- BEGIN GENERATED").count(),
        blocks.len(),
        "a generated block the generator does not know"
    );
    assert_eq!(
        text.matches("<!-- END GENERATED").count(),
        blocks.len(),
        "an END marker without its BEGIN"
    );
}

#[test]
fn every_figure_and_report_the_study_page_links_exists() {
    let text = page();
    let mut links = 0;
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = &rest[..rest.find(')').expect("a closed link")];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let path = target.split('#').next().unwrap_or(target);
        assert!(
            repo("docs").join(path).exists(),
            "docs/scenarios.md links `{path}`, which does not exist"
        );
        links += 1;
    }
    assert!(links >= 3, "the page links its figures and report");
    let report = std::fs::read_to_string(repo("docs/reports/trilateral_vs_baseline.html"))
        .expect("the trilateral comparison report is committed");
    assert!(report.contains("data-figure=\"diff_import_dependence_CHN\""));
    assert!(report.trim_end().ends_with("</html>"));
}
