//! The reference data in `data/` (issues 13 and 14) are well-formed and consistent with the baseline:
//! every CSV parses (RFC 4180 quoting, one value per header column), every row names its source,
//! every nation, mineral and stage id exists in `scenarios/baseline.ron`, export shares per exporter,
//! mineral and stage sum to at most 1, and the distance table covers every ordered pair of baseline
//! nations with positive, symmetric distances.
//!
//! The files are read relative to `CARGO_MANIFEST_DIR`; a missing file fails the test (no skipping).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::common::*;
use orechain::scenario::load_file;

/// Every CSV shipped in `data/`. `sea_network.csv` is geometry with one source for the whole file
/// (named in data/README.md and in the script that exported it), so it has no `source` column.
const CSVS: [&str; 26] = [
    "mine_production.csv",
    "refining.csv",
    "demand.csv",
    "projects.csv",
    "policies.csv",
    "parameters.csv",
    "finance.csv",
    "ports.csv",
    "land_routes.csv",
    "sea_network.csv",
    "distances.csv",
    "transport_costs.csv",
    "trade_2024.csv",
    "import_sources.csv",
    "validation_episodes.csv",
    "reserves_2024.csv",
    "deposit_costs.csv",
    "stage_durations.csv",
    "material_intensity.csv",
    "downstream_2024.csv",
    "chemistry_shares.csv",
    "end_of_life.csv",
    "recycling_2024.csv",
    "offtakes.csv",
    "district_build_rates.csv",
    "governance_indices.csv",
];
const WITHOUT_SOURCE_COLUMN: [&str; 1] = ["sea_network.csv"];

fn data(file: &str) -> PathBuf {
    repo("data").join(file)
}

/// Split CSV text into records (RFC 4180: fields may be quoted, `""` is a quote inside quotes,
/// quoted fields may hold commas and newlines). Panics on an unterminated quote.
fn parse_csv(text: &str, file: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            _ => field.push(c),
        }
    }
    assert!(!quoted, "{file}: unterminated quoted field");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// The rows of a data file as maps from column name to cell, after checking that every row has
/// exactly one value per header column and (unless exempt) a non-empty `source`.
fn table(file: &str) -> Vec<BTreeMap<String, String>> {
    let path = data(file);
    assert!(path.is_file(), "data file {} is missing", path.display());
    let records = parse_csv(&read(&path), file);
    let (header, rows) = records
        .split_first()
        .unwrap_or_else(|| panic!("{file} is empty"));
    assert!(!rows.is_empty(), "{file} has a header but no rows");
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        assert_eq!(
            r.len(),
            header.len(),
            "{file} line {line}: {} values for {} columns",
            r.len(),
            header.len()
        );
        out.push(header.iter().cloned().zip(r.iter().cloned()).collect());
    }
    out
}

fn num(row: &BTreeMap<String, String>, col: &str, file: &str) -> f64 {
    let v = &row[col];
    v.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{file}: `{v}` in column {col} is not a number: {e}"))
}

/// Nation and mineral ids of the shipped baseline.
fn baseline_ids() -> (BTreeSet<String>, BTreeSet<String>) {
    let loaded = load_file(&repo("scenarios/baseline.ron"), &[])
        .unwrap_or_else(|e| panic!("baseline does not load: {e:?}"));
    let s = loaded.scenario.scenario();
    (
        s.nations.iter().map(|n| n.id.clone()).collect(),
        s.minerals.iter().map(|m| m.id.clone()).collect(),
    )
}

#[test]
fn every_data_file_parses_and_every_row_names_its_source() {
    for file in CSVS {
        let rows = table(file);
        if WITHOUT_SOURCE_COLUMN.contains(&file) {
            continue;
        }
        for (i, r) in rows.iter().enumerate() {
            let source = r
                .get("source")
                .unwrap_or_else(|| panic!("{file} has no `source` column"));
            assert!(
                !source.trim().is_empty(),
                "{file} line {}: empty source",
                i + 2
            );
        }
    }
    // Every CSV in data/ is in the list above (a new file gets the same checks).
    let listed: BTreeSet<&str> = CSVS.into_iter().collect();
    for entry in std::fs::read_dir(repo("data")).expect("data/ is readable") {
        let name = entry.expect("dir entry").file_name();
        let name = name.to_string_lossy().to_string();
        if name.ends_with(".csv") {
            assert!(
                listed.contains(name.as_str()),
                "data/{name} is not checked by this test"
            );
        }
    }
}

#[test]
fn every_id_in_the_new_data_files_exists_in_the_baseline() {
    let (nations, minerals) = baseline_ids();
    assert_eq!(nations.len(), 25, "the baseline has 25 nations");
    let stages = ["ore", "refined"];
    let check_nation = |file: &str, id: &str| {
        assert!(
            nations.contains(id),
            "{file}: nation `{id}` is not in the baseline"
        );
    };
    for (file, cols) in [
        ("ports.csv", &["nation"][..]),
        ("land_routes.csv", &["a", "b"][..]),
        ("distances.csv", &["origin", "destination"][..]),
        ("trade_2024.csv", &["exporter", "importer"][..]),
        ("import_sources.csv", &["importer", "exporter"][..]),
    ] {
        for r in table(file) {
            for c in cols {
                check_nation(file, &r[*c]);
            }
        }
    }
    for file in [
        "transport_costs.csv",
        "trade_2024.csv",
        "import_sources.csv",
    ] {
        for r in table(file) {
            assert!(
                minerals.contains(&r["mineral"]),
                "{file}: mineral `{}` is not in the baseline",
                r["mineral"]
            );
            assert!(
                stages.contains(&r["stage"].as_str()),
                "{file}: stage `{}` is not ore or refined",
                r["stage"]
            );
        }
    }
    // One port per baseline nation; one transport-cost row per (mineral, stage).
    let ports: Vec<String> = table("ports.csv")
        .into_iter()
        .map(|r| r["nation"].clone())
        .collect();
    assert_eq!(
        ports.iter().collect::<BTreeSet<_>>(),
        nations.iter().collect::<BTreeSet<_>>(),
        "ports.csv must list every baseline nation once"
    );
    assert_eq!(
        ports.len(),
        nations.len(),
        "a nation is listed twice in ports.csv"
    );
    let costs: BTreeSet<(String, String)> = table("transport_costs.csv")
        .into_iter()
        .map(|r| (r["mineral"].clone(), r["stage"].clone()))
        .collect();
    for m in &minerals {
        for s in stages {
            assert!(
                costs.contains(&(m.clone(), s.to_string())),
                "transport_costs.csv has no row for {m} {s}"
            );
        }
    }
}

#[test]
fn distances_cover_every_pair_and_are_positive_and_symmetric() {
    let (nations, _) = baseline_ids();
    let file = "distances.csv";
    let mut d: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in table(file) {
        let (o, t) = (r["origin"].clone(), r["destination"].clone());
        assert_ne!(o, t, "{file}: self-pair {o}");
        let km = num(&r, "distance_km", file);
        let sea = num(&r, "sea_km", file);
        let land = num(&r, "land_km", file);
        assert!(km > 0.0 && km.is_finite(), "{file}: {o}->{t} distance {km}");
        assert!(sea >= 0.0 && land >= 0.0, "{file}: {o}->{t} negative leg");
        assert!(
            (sea + land - km).abs() <= 10.0,
            "{file}: {o}->{t}: sea {sea} + land {land} != {km}"
        );
        // No two places on Earth are farther apart by sea than ~40,000 km.
        assert!(
            km < 40_000.0,
            "{file}: {o}->{t} distance {km} km is implausible"
        );
        assert!(
            ["sea", "land+sea", "land"].contains(&r["kind"].as_str()),
            "{file}: {o}->{t} kind `{}`",
            r["kind"]
        );
        assert!(
            d.insert((o.clone(), t.clone()), km).is_none(),
            "{file}: {o}->{t} twice"
        );
    }
    for a in &nations {
        for b in &nations {
            if a == b {
                continue;
            }
            let ab = d.get(&(a.clone(), b.clone()));
            let ba = d.get(&(b.clone(), a.clone()));
            let (Some(ab), Some(ba)) = (ab, ba) else {
                panic!("{file}: pair {a}-{b} missing");
            };
            assert!(
                (ab - ba).abs() <= 0.01 * ab.max(*ba),
                "{file}: {a}->{b} {ab} km but {b}->{a} {ba} km"
            );
        }
    }
    assert_eq!(d.len(), nations.len() * (nations.len() - 1));
    // A sea route can only be longer than the great circle between its ports.
    let ports: BTreeMap<String, (f64, f64)> = table("ports.csv")
        .into_iter()
        .map(|r| {
            let lat = num(&r, "port_lat", "ports.csv");
            let lon = num(&r, "port_lon", "ports.csv");
            assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
            (r["nation"].clone(), (lat, lon))
        })
        .collect();
    // Overland routes (land_routes.csv) start at inland centres, so they may undercut the
    // port-to-port great circle; only the other routes are held to that bound.
    let overland: BTreeSet<(String, String)> = table("land_routes.csv")
        .into_iter()
        .flat_map(|r| {
            [
                (r["a"].clone(), r["b"].clone()),
                (r["b"].clone(), r["a"].clone()),
            ]
        })
        .collect();
    for ((o, t), km) in &d {
        let (a, b) = (ports[o], ports[t]);
        let gc = haversine_km(a, b);
        assert!(
            *km + 1.0 >= gc * 0.99 || overland.contains(&(o.clone(), t.clone())),
            "{file}: {o}->{t} {km} km is shorter than the great circle between the ports ({gc:.0} km)"
        );
    }
}

fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().min(1.0).asin()
}

#[test]
fn export_shares_are_fractions_that_sum_to_at_most_one() {
    for (file, group) in [
        ("trade_2024.csv", &["exporter", "mineral", "stage"][..]),
        (
            "import_sources.csv",
            &["importer", "mineral", "stage", "product"][..],
        ),
    ] {
        let mut sums: BTreeMap<Vec<String>, f64> = BTreeMap::new();
        let mut pairs = BTreeSet::new();
        for r in table(file) {
            let share = num(&r, "share", file);
            assert!(
                share > 0.0 && share <= 1.0,
                "{file}: share {share} outside (0, 1]"
            );
            let key: Vec<String> = group.iter().map(|c| r[*c].clone()).collect();
            *sums.entry(key.clone()).or_default() += share;
            let pair = (key, r["exporter"].clone(), r["importer"].clone());
            assert!(pairs.insert(pair.clone()), "{file}: {pair:?} listed twice");
            assert_ne!(
                r["exporter"], r["importer"],
                "{file}: a nation trading with itself"
            );
            assert!(
                !r["quantity_basis"].trim().is_empty(),
                "{file}: empty quantity_basis"
            );
        }
        for (k, s) in sums {
            assert!(s <= 1.0 + 1e-9, "{file}: shares of {k:?} sum to {s}");
        }
    }
    // The flows issue 14 names are present (the calibration targets of the trade model).
    let trade = table("trade_2024.csv");
    let has = |e: &str, i: &str, m: &str, s: &str| {
        trade.iter().any(|r| {
            r["exporter"] == e && r["importer"] == i && r["mineral"] == m && r["stage"] == s
        })
    };
    for (e, i, m, s) in [
        ("CHL", "CHN", "copper", "ore"),
        ("CHL", "CHN", "copper", "refined"),
        ("CHL", "CHN", "lithium", "refined"),
        ("ARG", "CHN", "lithium", "refined"),
        ("AUS", "CHN", "lithium", "ore"),
        ("COD", "CHN", "cobalt", "ore"),
        ("IDN", "CHN", "nickel", "refined"),
        ("PHL", "CHN", "nickel", "ore"),
        ("PER", "CHN", "copper", "ore"),
        ("CHN", "USA", "graphite", "refined"),
        ("CHN", "JPN", "rare_earths", "refined"),
        ("USA", "CHN", "rare_earths", "ore"),
    ] {
        assert!(has(e, i, m, s), "trade_2024.csv lacks {e}->{i} {m} {s}");
    }
    let us_ree = table("import_sources.csv")
        .into_iter()
        .find(|r| r["importer"] == "USA" && r["exporter"] == "CHN" && r["mineral"] == "rare_earths")
        .expect("US rare-earth import dependence on China");
    assert!((num(&us_ree, "share", "import_sources.csv") - 0.70).abs() < 1e-9);
}

#[test]
fn transport_costs_are_positive() {
    let file = "transport_costs.csv";
    for r in table(file) {
        for c in [
            "gross_t_per_t_content",
            "fixed_usd_per_t_gross",
            "sea_usd_per_tkm_gross",
            "land_usd_per_tkm_gross",
        ] {
            let v = num(&r, c, file);
            assert!(v > 0.0 && v.is_finite(), "{file}: {c} = {v}");
        }
        assert!(
            num(&r, "gross_t_per_t_content", file) >= 1.0,
            "{file}: less than one gross tonne per tonne of content"
        );
        assert!(
            ["bulk", "container"].contains(&r["mode"].as_str()),
            "{file}: mode `{}`",
            r["mode"]
        );
    }
}

#[test]
fn the_distance_script_reproduces_distances_csv() {
    // data/scripts/distances.py (standard library only) regenerates the table; run it on a copy so
    // the checked-in file is compared, not overwritten. Needs python3 (listed in .ci/run).
    let dir = tmp();
    let copy = dir.path().join("data");
    std::fs::create_dir_all(copy.join("scripts")).expect("mkdir");
    for f in ["ports.csv", "land_routes.csv", "sea_network.csv"] {
        std::fs::copy(data(f), copy.join(f)).expect("copy input");
    }
    std::fs::copy(
        repo("data/scripts/distances.py"),
        copy.join("scripts/distances.py"),
    )
    .expect("copy script");
    let out = std::process::Command::new("python3")
        .arg(copy.join("scripts/distances.py"))
        .output()
        .expect("python3 runs (install it: .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(&copy.join("distances.csv")),
        read(&data("distances.csv")),
        "data/distances.csv is not what data/scripts/distances.py makes from the inputs"
    );
}
