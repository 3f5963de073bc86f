//! Sweep figures (issues 6, 7): a finished sweep draws fan charts, grid heatmaps and Sobol' bars
//! at print size with axis labels, lists them in its manifest, and `plot DIR` redraws the same
//! bytes. (That `merge` of shards draws the same figure bytes as one machine is checked in
//! `sweep::shards_merge_into_the_single_machine_results_and_bad_sets_are_refused`, which already
//! runs both.)

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::{orechain, outcome, png_size, read, repo, svg_texts, tmp};

const DOUBLE: (u32, u32) = (2100, 1050);
const SINGLE: (u32, u32) = (1050, 780);

/// Every file of a folder by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("dir entry").path();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                fs::read(&p).expect("readable"),
            )
        })
        .collect()
}

/// Check one figure's three files: PNG print size, well-formed SVG in inches containing every
/// expected text, and the data CSV's header.
fn check_figure(figures: &Path, stem: &str, size: (u32, u32), texts: &[&str], csv_header: &str) {
    let png =
        fs::read(figures.join(format!("{stem}.png"))).unwrap_or_else(|e| panic!("{stem}.png: {e}"));
    assert_eq!(png_size(&png), size, "{stem}.png pixel size");
    let svg = figures.join(format!("{stem}.svg"));
    let found = svg_texts(&svg);
    for t in texts {
        assert!(
            found.iter().any(|f| f == t),
            "{stem}.svg lacks `{t}`; texts: {found:?}"
        );
    }
    let inches = if size == DOUBLE { "7in" } else { "3.5in" };
    assert!(
        read(&svg).contains(&format!("width=\"{inches}\"")),
        "{stem}.svg is not sized in inches"
    );
    let csv = read(&figures.join(format!("{stem}.csv")));
    assert_eq!(csv.lines().next(), Some(csv_header), "{stem}.csv header");
    assert!(csv.lines().count() > 1, "{stem}.csv has no data");
}

#[test]
fn a_grid_sweep_draws_fan_charts_and_heatmaps_and_plot_redraws_them() {
    let t = tmp();
    let grid = repo("scenarios/sweeps/tiny_grid.ron");
    let (code, _, err) = outcome(&orechain(
        &["sweep", grid.to_str().expect("utf-8"), "-o", "grid"],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let dir = t.path().join("grid");
    let figures = dir.join("figures");
    let fan_header = "point_id,chl_stability,outage_p,year,n,p05,p50,p95,unit";
    let heat_header = "point_id,chl_stability,outage_p,year,n,mean,unit";
    // One fan chart per outcome: six panels, one per grid point, labelled by its values.
    for (outcome, y_label) in [
        ("chn_refined_share", "CHN share of lithium refining (%)"),
        ("chl_ore_production", "CHL lithium mining output (kt Li/yr)"),
        ("refined_hhi", "Lithium refining HHI (0–1)"),
    ] {
        check_figure(
            &figures,
            &format!("fan_{outcome}"),
            DOUBLE,
            &[
                "Year",
                y_label,
                "chl_stability = 0.3; outage_p = 0.05",
                "chl_stability = 0.7; outage_p = 0.4",
            ],
            fan_header,
        );
        check_figure(
            &figures,
            &format!("heatmap_{outcome}"),
            SINGLE,
            &[
                "chl_stability",
                "outage_p",
                "0.3",
                "0.5",
                "0.7",
                "0.05",
                "0.4",
            ],
            heat_header,
        );
    }
    // The heatmap's colour bar names the year shown: the last one of the outcome.
    let texts = svg_texts(&figures.join("heatmap_chn_refined_share.svg"));
    assert!(
        texts
            .iter()
            .any(|t| t == "CHN share of lithium refining, mean 2030 (%)"),
        "{texts:?}"
    );
    // The fan chart's data are summary.csv's quantiles.
    let fan = read(&figures.join("fan_chn_refined_share.csv"));
    let summary = read(&dir.join("summary.csv"));
    let row = summary
        .lines()
        .find(|l| l.starts_with("0,0.3,0.05,chn_refined_share,2030,"))
        .expect("summary row");
    let cells: Vec<&str> = row.split(',').collect();
    let quantiles = cells[8..11].join(",");
    assert!(
        fan.contains(&format!("0,0.3,0.05,2030,4,{quantiles},share\n")),
        "{fan}"
    );
    // A grid has no Sobol' indices, so no sensitivity chart.
    assert!(!figures.join("sensitivity_chn_refined_share.svg").exists());

    // Listed in the manifest with their hashes.
    let manifest = read(&dir.join("manifest.json"));
    for f in [
        "fan_refined_hhi.svg",
        "fan_refined_hhi.png",
        "heatmap_refined_hhi.csv",
    ] {
        assert!(
            manifest.contains(&format!("\"figures/{f}\"")),
            "{f} not listed"
        );
    }

    // `plot` on the sweep folder redraws exactly the same files.
    let before = files(&figures);
    fs::write(figures.join("stale.svg"), "<svg/>").expect("write");
    let (code, stdout, err) = outcome(&orechain(&["plot", "grid"], t.path()));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("drew 6 figures"), "{stdout}");
    assert_eq!(
        before,
        files(&figures),
        "plot drew other bytes than the sweep"
    );
}

#[test]
fn a_sobol_sweep_draws_sensitivity_bars_and_no_figures_skips_them() {
    let t = tmp();
    let base = repo("scenarios/tiny.ron");
    let sweep = format!(
        r#"Sweep(
    name: "sobol_fig",
    base: "{}",
    seed: 3,
    sets: ["run.end_year=2026"],
    parameters: [
        (path: "assets.atacama.capacity_t_per_yr", name: "cap", min: 50000.0, max: 150000.0),
        (path: "assets.usa_refinery.unit_opex_usd_per_t", name: "opex", min: 2000.0, max: 4000.0),
    ],
    design: (kind: "sobol", base_points: 16),
    outcomes: [(name: "chl_cap", metric: "capacity", mineral: "lithium", stage: "ore",
                nation: "CHL", aggregate: "last")],
)
"#,
        base.display()
    );
    fs::write(t.path().join("sobol.ron"), sweep).expect("write");
    let (code, _, err) = outcome(&orechain(&["sweep", "sobol.ron", "-o", "s"], t.path()));
    assert_eq!(code, 0, "{err}");
    let figures = t.path().join("s/figures");
    check_figure(
        &figures,
        "sensitivity_chl_cap",
        SINGLE,
        &[
            "cap",
            "opex",
            "Parameter",
            "First order (S1)",
            "Total order (ST)",
            "Bootstrap interval",
            "Sobol' index of CHL lithium mining capacity, 2026",
        ],
        "outcome,year,parameter,first_order,total_order,first_order_conf,total_order_conf",
    );
    // The chart's numbers are sensitivity.csv's rows of the last year.
    let sens = read(&t.path().join("s/sensitivity.csv"));
    let data = read(&figures.join("sensitivity_chl_cap.csv"));
    for line in data.lines().skip(1) {
        assert!(line.starts_with("chl_cap,2026,"), "{line}");
        assert!(sens.contains(line), "{line} not in sensitivity.csv");
    }
    // More points than panels: six spread over the range, each labelled by its values.
    let fan = read(&figures.join("fan_chl_cap.csv"));
    let points: std::collections::BTreeSet<&str> = fan
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(points.len(), 6, "{fan}");
    // A Sobol' design is not a grid: no heatmap.
    assert!(!figures.join("heatmap_chl_cap.svg").exists());

    let (code, _, err) = outcome(&orechain(
        &["sweep", "sobol.ron", "-o", "bare", "--no-figures"],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    assert!(!t.path().join("bare/figures").exists());
    assert!(!read(&t.path().join("bare/manifest.json")).contains("figures/"));
}

/// Issue 17: a `csv` design whose rows fill a two-parameter grid gets heatmaps (levels in
/// ascending order), fan panels are titled by their parameter values with thousands grouped
/// (never "Point N"), and sparse or single outcome years are drawn as error bars, not bands.
#[test]
fn a_csv_grid_gets_heatmaps_and_sparse_years_are_error_bars_under_value_titles() {
    let t = tmp();
    let base = repo("scenarios/tiny.ron");
    // A 3 × 2 factorial given as a table, rows out of order.
    fs::write(
        t.path().join("pts.csv"),
        "opex,stab\n2000,0.5\n4000,0.5\n3000,0.5\n2000,0.7\n3000,0.7\n4000,0.7\n",
    )
    .expect("write");
    let sweep = |file: &str| {
        format!(
            r#"Sweep(
    name: "csv_grid",
    base: "{}",
    seed: 5,
    replicates: 3,
    sets: ["run.end_year=2030"],
    parameters: [
        (path: "assets.usa_refinery.unit_opex_usd_per_t", name: "opex", min: 2000.0, max: 4000.0),
        (path: "nations.CHL.governance.regulatory_stability", name: "stab", min: 0.5, max: 0.7),
    ],
    design: (kind: "csv", file: "{file}"),
    outcomes: [
        (name: "sparse", metric: "share_location", mineral: "lithium", stage: "refined",
         nation: "CHN", years: [2026, 2030]),
        (name: "single", metric: "share_location", mineral: "lithium", stage: "refined",
         nation: "CHN", years: [2030]),
        (name: "yearly", metric: "production", mineral: "lithium", stage: "ore",
         nation: "CHL", aggregate: "last"),
    ],
)
"#,
            base.display()
        )
    };
    fs::write(t.path().join("g.ron"), sweep("pts.csv")).expect("write");
    let (code, _, err) = outcome(&orechain(&["sweep", "g.ron", "-o", "g"], t.path()));
    assert_eq!(code, 0, "{err}");
    let figures = t.path().join("g/figures");
    check_figure(
        &figures,
        "heatmap_sparse",
        SINGLE,
        &["opex", "stab", "2000", "3000", "4000", "0.5", "0.7"],
        "point_id,opex,stab,year,n,mean,unit",
    );
    // Levels in ascending order: the 4000 cell (point 1) is the last column.
    let heat = read(&figures.join("heatmap_sparse.csv"));
    assert!(heat.contains("\n1,4000,0.5,2030,"), "{heat}");
    let texts = svg_texts(&figures.join("fan_sparse.svg"));
    assert!(
        texts.iter().any(|t| t == "opex = 2,000; stab = 0.5"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.starts_with("Point ")), "{texts:?}");
    // Sparse and single years: no band (a filled polygon), a capped whisker per year instead;
    // adjacent yearly values keep their band.
    let svg = |stem: &str| read(&figures.join(format!("{stem}.svg")));
    for stem in ["fan_sparse", "fan_single"] {
        assert!(!svg(stem).contains("<polygon"), "{stem} draws a band");
        assert!(svg(stem).contains("<circle"), "{stem} has no medians");
    }
    assert!(
        svg("fan_yearly").contains("<polygon"),
        "yearly lost its band"
    );

    // Rows that do not fill the grid (one pair missing): no heatmap.
    fs::write(
        t.path().join("holes.csv"),
        "opex,stab\n2000,0.5\n4000,0.5\n3000,0.5\n2000,0.7\n3000,0.7\n",
    )
    .expect("write");
    fs::write(t.path().join("h.ron"), sweep("holes.csv")).expect("write");
    let (code, _, err) = outcome(&orechain(&["sweep", "h.ron", "-o", "h"], t.path()));
    assert_eq!(code, 0, "{err}");
    assert!(t.path().join("h/figures/fan_sparse.svg").exists());
    assert!(!t.path().join("h/figures/heatmap_sparse.svg").exists());
}
