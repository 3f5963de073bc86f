//! Figures for papers (issue 5): `orechain plot` redraws every figure of a finished run at print
//! size; SVGs are well-formed with their axis labels; the build needs no system font library.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::{bin, orechain, outcome, png_size, read, repo, svg_texts, tmp};

/// Run `scenarios/tiny.ron` into `dir/run` and return that folder.
fn tiny_run(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join("run");
    let scenario = repo("scenarios/tiny.ron");
    let mut args = vec![
        "run",
        scenario.to_str().expect("utf-8 path"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = outcome(&orechain(&args, dir));
    assert_eq!(code, 0, "run failed: {err}");
    out
}

/// The figures `tiny.ron` must produce with their print sizes (px at 300 dpi) and y-axis labels.
/// More figures appear as the model records more metrics; those are checked generically.
fn expected() -> BTreeMap<&'static str, ((u32, u32), &'static str)> {
    const DOUBLE: (u32, u32) = (2100, 1050);
    const SINGLE: (u32, u32) = (1050, 780);
    BTreeMap::from([
        (
            "share_lithium_refined",
            (DOUBLE, "Share of world lithium refining (%)"),
        ),
        (
            "share_lithium_ore",
            (DOUBLE, "Share of world lithium mining (%)"),
        ),
        (
            "capacity_lithium_refined",
            (SINGLE, "Lithium refining capacity (kt Li/yr)"),
        ),
        (
            "capacity_lithium_ore",
            (SINGLE, "Lithium mining capacity (kt Li/yr)"),
        ),
        (
            "production_lithium_refined",
            (SINGLE, "Lithium refining output (kt Li/yr)"),
        ),
        (
            "production_lithium_ore",
            (SINGLE, "Lithium mining output (kt Li/yr)"),
        ),
        ("hhi_ore", (SINGLE, "Mining concentration, HHI (0–1)")),
        ("hhi_refined", (SINGLE, "Refining concentration, HHI (0–1)")),
        // Per tonne of the mineral's unit (issue 17).
        (
            "price_lithium",
            (SINGLE, "Lithium price (thousand USD/t Li)"),
        ),
    ])
}

#[test]
fn plot_draws_every_figure_at_print_size_with_axis_labels() {
    let dir = tmp();
    let run = tiny_run(dir.path(), &["--no-figures"]);
    assert!(
        !run.join("figures").exists(),
        "--no-figures must not write figures"
    );
    let run_str = run.to_str().expect("utf-8 path");
    let (code, stdout, err) = outcome(&orechain(&["plot", run_str], dir.path()));
    assert_eq!(code, 0, "plot failed: {err}");
    assert!(stdout.contains("figures"), "{stdout}");

    let figures = run.join("figures");
    for (stem, (size, y_label)) in expected() {
        let svg = figures.join(format!("{stem}.svg"));
        let png = figures.join(format!("{stem}.png"));
        let csv = figures.join(format!("{stem}.csv"));
        for f in [&svg, &png, &csv] {
            assert!(f.is_file(), "missing {}", f.display());
        }
        let png_bytes = fs::read(&png).expect("png readable");
        assert_eq!(png_size(&png_bytes), size, "{stem}.png pixel size");
        let texts = svg_texts(&svg);
        assert!(
            texts.iter().any(|t| t == "Year"),
            "{stem}.svg has no `Year` label"
        );
        assert!(
            texts.iter().any(|t| t == y_label),
            "{stem}.svg lacks the y label `{y_label}`; texts: {texts:?}"
        );
        let svg_text = read(&svg);
        let inches = if size.0 == 2100 { "7in" } else { "3.5in" };
        assert!(
            svg_text.contains(&format!("width=\"{inches}\"")),
            "{stem}.svg is not sized in inches"
        );
        assert!(
            read(&csv).starts_with("panel,series,key,year,value,unit\n"),
            "{stem}.csv header"
        );
    }

    // Whatever else the run draws follows the same rules.
    for entry in fs::read_dir(&figures).expect("figures folder") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(stem) = name.strip_suffix(".svg") {
            let png = fs::read(figures.join(format!("{stem}.png"))).expect("every svg has a png");
            assert!(
                [(1050, 780), (2100, 1050)].contains(&png_size(&png)),
                "{stem}.png is not a print size"
            );
            assert!(figures.join(format!("{stem}.csv")).is_file(), "{stem}.csv");
            assert!(svg_texts(&path).iter().any(|t| t == "Year"), "{stem}.svg");
        }
    }
}

#[test]
fn run_writes_figures_listed_in_the_manifest_and_plot_reproduces_them() {
    let dir = tmp();
    let run = tiny_run(dir.path(), &[]);
    let manifest = read(&run.join("manifest.json"));
    assert!(manifest.contains("\"figures/share_lithium_refined.svg\""));
    assert!(manifest.contains("\"figures/share_lithium_refined.png\""));
    assert!(manifest.contains("\"figures/share_lithium_refined.csv\""));

    let before: BTreeMap<String, Vec<u8>> = fs::read_dir(run.join("figures"))
        .expect("figures folder")
        .map(|e| {
            let p = e.expect("dir entry").path();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                fs::read(&p).expect("readable"),
            )
        })
        .collect();
    // A stale file from an older drawing disappears: plot replaces the folder as a whole.
    fs::write(run.join("figures/stale.svg"), "<svg/>").expect("write stale file");
    let (code, _, err) = outcome(&orechain(
        &["plot", run.to_str().expect("utf-8 path")],
        dir.path(),
    ));
    assert_eq!(code, 0, "plot failed: {err}");
    let after: BTreeMap<String, Vec<u8>> = fs::read_dir(run.join("figures"))
        .expect("figures folder")
        .map(|e| {
            let p = e.expect("dir entry").path();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                fs::read(&p).expect("readable"),
            )
        })
        .collect();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &before {
        assert!(after[name] == *bytes, "{name} differs between run and plot");
    }
}

#[test]
fn scenario_output_settings_choose_the_figures() {
    let dir = tmp();
    let run = tiny_run(dir.path(), &["--set", "output.figures=[\"capacity\"]"]);
    let names: Vec<String> = fs::read_dir(run.join("figures"))
        .expect("figures folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.is_empty());
    assert!(
        names.iter().all(|n| n.starts_with("capacity_")),
        "{names:?}"
    );

    let (code, _, err) = outcome(&orechain(
        &[
            "validate",
            repo("scenarios/tiny.ron").to_str().expect("utf-8"),
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let scenario = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "-o",
            "x",
            "--set",
            "output.figures=[\"shares\"]",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2);
    assert!(err.contains("unknown figure `shares`"), "{err}");
    assert!(err.contains("did you mean `share`"), "{err}");
}

#[test]
fn plot_reports_missing_and_malformed_inputs() {
    let dir = tmp();
    let (code, _, err) = outcome(&orechain(&["plot", "no-such-folder"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("not a folder"), "{err}");

    fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let (code, _, err) = outcome(&orechain(&["plot", "empty"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("neither a run folder"), "{err}");

    let run = tiny_run(dir.path(), &["--no-figures"]);
    let metrics = run.join("metrics.csv");
    let mut text = read(&metrics);
    text.push_str("3,2024.75,capacity,lithium,ore,CHL,,not-a-number\n");
    fs::write(&metrics, text).expect("write metrics");
    let (code, _, err) = outcome(&orechain(
        &["plot", run.to_str().expect("utf-8")],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("metrics.csv:"), "{err}");
    assert!(err.contains("`not-a-number` is not a number"), "{err}");
    assert!(
        !run.join("figures").exists(),
        "a failed plot writes nothing"
    );
}

/// The build must not need fontconfig or any system font library (issue 5): none of the crates
/// that link to them may be in the dependency tree.
#[test]
fn dependency_tree_has_no_system_font_crates() {
    let lock = read(&repo("Cargo.lock"));
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(names.contains(&"plotters"), "Cargo.lock not parsed");
    for banned in [
        "font-kit",
        "yeslogic-fontconfig-sys",
        "servo-fontconfig",
        "servo-fontconfig-sys",
        "fontconfig",
        "freetype",
        "freetype-sys",
        "core-text",
        "dwrote",
    ] {
        assert!(
            !names.contains(&banned),
            "`{banned}` is in Cargo.lock: plotters must keep default-features = false and no `ttf`"
        );
    }
}

/// Figures are drawn in parallel (rayon): every file of the run folder but the manifest's
/// timestamps is byte-identical with one worker thread and with three, and so are the manifest's
/// file entries (issue 19: the fast PNG encoder must stay deterministic).
#[test]
fn figures_are_byte_identical_across_thread_counts() {
    let dir = tmp();
    let scenario = repo("scenarios/tiny.ron");
    let mut runs = Vec::new();
    for threads in ["1", "3"] {
        let out = dir.path().join(format!("t{threads}"));
        let status = std::process::Command::new(bin())
            .args([
                "run",
                scenario.to_str().expect("utf-8 path"),
                "-o",
                out.to_str().expect("utf-8 path"),
            ])
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(dir.path())
            .output()
            .expect("the orechain binary runs");
        assert_eq!(outcome(&status).0, 0, "run failed: {}", outcome(&status).2);
        runs.push(out);
    }
    let files = |d: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(d.join("figures"))
            .expect("figures folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let names = files(&runs[0]);
    assert_eq!(names, files(&runs[1]));
    assert!(
        names.iter().filter(|n| n.ends_with(".png")).count() >= 5,
        "too few figures to compare: {names:?}"
    );
    for name in &names {
        let a = std::fs::read(runs[0].join("figures").join(name)).expect("read");
        let b = std::fs::read(runs[1].join("figures").join(name)).expect("read");
        assert!(a == b, "figures/{name} differs between 1 and 3 threads");
    }
    for name in [
        "metrics.csv",
        "flows.csv",
        "events.csv",
        "assets.csv",
        "scenario.ron",
    ] {
        assert_eq!(
            read(&runs[0].join(name)),
            read(&runs[1].join(name)),
            "{name}"
        );
    }
    let entries = |d: &Path| {
        let m: serde_json::Value =
            serde_json::from_str(&read(&d.join("manifest.json"))).expect("manifest is JSON");
        m["files"].clone()
    };
    assert_eq!(entries(&runs[0]), entries(&runs[1]));
}
