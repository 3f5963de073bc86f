//! Ensembles, comparisons and reports (issue 17): `run --replicates`, `compare`, `report`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{csv_rows, orechain, outcome, png_size, read, repo, tmp};

/// Every file under `dir` (relative path → bytes), except `manifest.json` files (times).
fn files_of(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable folder") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "manifest.json") {
                let rel = p.strip_prefix(dir).expect("inside").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("readable file"));
            }
        }
    }
    out
}

fn run_ok(args: &[&str], cwd: &Path) -> String {
    let (code, stdout, stderr) = outcome(&orechain(args, cwd));
    assert_eq!(code, 0, "orechain {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Type-7 quantile computed the long way, for checking.
fn type7(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// A tiny variant with twice the US refining, cheaper: China's refining share must fall.
const MORE_US_REFINING: &str = r#"// more_us_refining — the known lever of the comparison tests.
Scenario(
    extends: "TINY",
    name: "more_us_refining",
    assets: [
        (id: "usa_refinery", host: "USA", mineral: "lithium", stage: "refined",
         capacity_t_per_yr: 60000.0, unit_opex_usd_per_t: 1500.0, owners: {"albemarle": 1.0}),
    ],
)
"#;

fn write_lever(dir: &Path) -> PathBuf {
    let path = dir.join("more_us_refining.ron");
    let tiny = repo("scenarios/tiny.ron").display().to_string();
    std::fs::write(&path, MORE_US_REFINING.replace("TINY", &tiny)).expect("write scenario");
    path
}

#[test]
fn ensemble_is_byte_identical_whatever_jobs_and_summaries_are_type_7() {
    let t = tmp();
    let tiny = repo("scenarios/tiny.ron");
    let tiny = tiny.to_str().expect("utf-8 path");
    run_ok(
        &["run", tiny, "--replicates", "6", "-j", "1", "-o", "one"],
        t.path(),
    );
    run_ok(
        &["run", tiny, "--replicates", "6", "-j", "2", "-o", "two"],
        t.path(),
    );
    let (one, two) = (
        files_of(&t.path().join("one")),
        files_of(&t.path().join("two")),
    );
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (k, v) in &one {
        assert!(
            v == &two[k],
            "{} differs between -j 1 and -j 2",
            k.display()
        );
    }
    assert!(one.contains_key(Path::new("figures/price_lithium.png")));
    // `plot` redraws an ensemble's figures byte for byte from its folder.
    run_ok(&["plot", "two"], t.path());
    for (k, v) in files_of(&t.path().join("two")) {
        assert!(v == one[&k], "{} differs after plot", k.display());
    }

    // Seeds: derived from the run seed, one folder each, each a reproducible run.
    let reps = csv_rows(&t.path().join("one/replicates.csv"));
    assert_eq!(reps.len(), 6);
    let seeds: Vec<String> = reps.iter().map(|r| r[1].clone()).collect();
    let distinct: std::collections::BTreeSet<&String> = seeds.iter().collect();
    assert_eq!(distinct.len(), 6);
    run_ok(
        &[
            "run",
            "one/scenario.ron",
            "--seed",
            &seeds[3],
            "--no-figures",
            "-o",
            "single",
        ],
        t.path(),
    );
    assert_eq!(
        read(&t.path().join("single/metrics.csv")),
        read(
            &t.path()
                .join(format!("one/replicates/seed-{}/metrics.csv", seeds[3]))
        )
    );

    // Summary of one row (CHN refined production at step 5) recomputed from the seed folders.
    let pick = |rows: &[Vec<String>]| -> f64 {
        rows.iter()
            .find(|r| r[0] == "5" && r[2] == "production" && r[4] == "refined" && r[5] == "CHN")
            .and_then(|r| r[7].parse().ok())
            .expect("the row exists")
    };
    let values: Vec<f64> = seeds
        .iter()
        .map(|s| {
            pick(&csv_rows(
                &t.path()
                    .join(format!("one/replicates/seed-{s}/metrics.csv")),
            ))
        })
        .collect();
    let summary = csv_rows(&t.path().join("one/metrics_summary.csv"));
    let row = summary
        .iter()
        .find(|r| r[0] == "5" && r[2] == "production" && r[4] == "refined" && r[5] == "CHN")
        .expect("summary row");
    let num = |i: usize| row[i].parse::<f64>().expect("number");
    assert_eq!(row[7], "6");
    let mean = values.iter().sum::<f64>() / 6.0;
    assert!((num(8) - mean).abs() <= 1e-9 * mean.abs().max(1.0));
    for (col, p) in [(10, 0.05), (11, 0.5), (12, 0.95)] {
        let want = type7(values.clone(), p);
        assert!(
            (num(col) - want).abs() <= 1e-9 * want.abs().max(1.0),
            "p{p}"
        );
    }
    // The seeds differ in their draws: the outage makes this row vary.
    assert!(num(12) > num(10), "no spread over seeds: {row:?}");
}

#[test]
fn comparing_an_ensemble_with_itself_gives_zero_differences() {
    let t = tmp();
    let tiny = repo("scenarios/tiny.ron");
    let tiny = tiny.to_str().expect("utf-8 path");
    run_ok(
        &["run", tiny, "--replicates", "4", "--no-figures", "-o", "e"],
        t.path(),
    );
    run_ok(&["compare", "e", "e", "-o", "c"], t.path());
    let rows = csv_rows(&t.path().join("c/comparison.csv"));
    assert!(rows.len() > 100);
    for r in &rows {
        // mean_diff, sd_diff, p05, p50, p95, ci low, ci high are all 0; the interval does not
        // exclude 0.
        for c in 10..=16 {
            assert_eq!(r[c].parse::<f64>().expect("number"), 0.0, "{r:?}");
        }
        assert_eq!(r[17], "false", "{r:?}");
    }
    assert!(
        t.path()
            .join("c/figures/diff_share_location_refined_CHN.png")
            .is_file()
    );
}

#[test]
fn a_known_lever_gives_the_known_sign() {
    let t = tmp();
    let lever = write_lever(t.path());
    let tiny = repo("scenarios/tiny.ron");
    run_ok(
        &[
            "compare",
            tiny.to_str().expect("utf-8"),
            lever.to_str().expect("utf-8"),
            "--replicates",
            "6",
            "-o",
            "c",
        ],
        t.path(),
    );
    let rows = csv_rows(&t.path().join("c/comparison_annual.csv"));
    let find = |metric: &str, nation: &str, partner: &str| {
        rows.iter()
            .find(|r| {
                r[0] == "2026"
                    && r[1] == metric
                    && r[3] == "refined"
                    && r[4] == nation
                    && r[5] == partner
            })
            .unwrap_or_else(|| panic!("no 2026 row for {metric} {nation} {partner}"))
            .clone()
    };
    // More (and cheaper) US refining: China's share of refining falls, and so does the US's
    // dependence on Chinese refineries; both intervals exclude zero.
    for r in [
        find("share_location", "CHN", ""),
        find("import_dependence", "USA", "CHN"),
    ] {
        let diff: f64 = r[9].parse().expect("mean_diff");
        let hi: f64 = r[15].parse().expect("ci95_high");
        assert!(diff < 0.0 && hi < 0.0, "{r:?}");
        assert_eq!(r[16], "true", "{r:?}");
    }
    // Both ensembles were run with the same seeds.
    assert_eq!(
        read(&t.path().join("c/a/replicates.csv")),
        read(&t.path().join("c/b/replicates.csv"))
    );
}

#[test]
fn unpaired_seeds_are_refused_with_exit_2() {
    let t = tmp();
    let tiny = repo("scenarios/tiny.ron");
    let tiny = tiny.to_str().expect("utf-8 path");
    run_ok(
        &["run", tiny, "--replicates", "3", "--no-figures", "-o", "a"],
        t.path(),
    );
    run_ok(
        &[
            "run",
            tiny,
            "--replicates",
            "3",
            "--seed",
            "8",
            "--no-figures",
            "-o",
            "b",
        ],
        t.path(),
    );
    let (code, _, stderr) = outcome(&orechain(&["compare", "a", "b", "-o", "c"], t.path()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("do not pair"), "{stderr}");
    assert!(!t.path().join("c").exists());
    // A scenario file and a folder do not mix.
    let (code, _, stderr) = outcome(&orechain(&["compare", tiny, "b", "-o", "c"], t.path()));
    assert_eq!(code, 2, "{stderr}");
}

/// Parse a report as XML; check it embeds every figure it names and references nothing outside.
fn check_report(path: &Path, fig_dir: &Path) -> String {
    let html = read(path);
    // `<!DOCTYPE html>` is a DTD to an XML parser.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, options)
        .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    for tag in ["head", "title", "body", "h1", "table"] {
        assert!(doc.descendants().any(|n| n.has_tag_name(tag)), "no <{tag}>");
    }
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    assert!(!doc.descendants().any(|n| n.has_tag_name("link")));
    let figures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("figure"))
        .collect();
    assert!(!figures.is_empty(), "no figures embedded");
    for f in figures {
        let stem = f.attribute("data-figure").expect("data-figure");
        assert!(
            fig_dir.join(format!("{stem}.png")).is_file(),
            "{stem} missing"
        );
        let img = f
            .descendants()
            .find(|n| n.has_tag_name("img"))
            .expect("an <img>");
        let src = img.attribute("src").expect("src");
        let data = src
            .strip_prefix("data:image/png;base64,")
            .expect("embedded PNG");
        assert_eq!(&data[..11], "iVBORw0KGgo", "{stem} is not an embedded PNG");
    }
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            assert!(
                !a.value().contains("://"),
                "external reference {}={}",
                a.name(),
                a.value()
            );
        }
    }
    html
}

#[test]
fn reports_are_well_formed_self_contained_and_escape_scenario_text() {
    let t = tmp();
    let tiny = read(&repo("scenarios/tiny.ron"));
    let hostile = format!(
        "// QUESTION  <script>alert('q')</script> & \"quotes\" ]]>\n{}",
        tiny.replace(
            "description: \"Three nations",
            "description: \"</p><script>alert(1)</script><img src=x onerror=alert(2)> &amp; Three nations"
        )
    );
    assert_ne!(hostile, tiny);
    std::fs::write(t.path().join("hostile.ron"), hostile).expect("write");
    run_ok(
        &["run", "hostile.ron", "--replicates", "3", "-o", "e"],
        t.path(),
    );
    run_ok(&["report", "e"], t.path());
    let html = check_report(&t.path().join("e/report.html"), &t.path().join("e/figures"));
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt; &amp;amp; Three"));
    assert!(html.contains("ensemble of 3 seeds"));
    // The key table: China's refined share of lithium in 2026 as median [p05, p95].
    assert!(html.contains("China&#39;s share of world refining, located in China"));

    // A comparison and a single run.
    let lever = write_lever(t.path());
    run_ok(
        &[
            "compare",
            "hostile.ron",
            lever.to_str().expect("utf-8"),
            "--replicates",
            "3",
            "-o",
            "c",
        ],
        t.path(),
    );
    run_ok(&["report", "c"], t.path());
    let html = check_report(&t.path().join("c/report.html"), &t.path().join("c/figures"));
    assert!(html.contains("more_us_refining compared with tiny"));
    assert!(html.contains("diff_import_dependence_CHN"));
    run_ok(&["run", "hostile.ron", "-o", "r"], t.path());
    run_ok(&["report", "r"], t.path());
    let html = check_report(&t.path().join("r/report.html"), &t.path().join("r/figures"));
    assert!(html.contains("A single run"));
    // The run figures embedded are the print-size PNGs.
    let png = std::fs::read(t.path().join("r/figures/price_lithium.png")).expect("png");
    assert_eq!(png_size(&png), (1050, 780));

    let (code, _, stderr) = outcome(&orechain(&["report", "nowhere"], t.path()));
    assert_eq!(code, 2, "{stderr}");
}
