//! `orechain compare A B`: what changes from scenario A to scenario B, seed by seed.
//!
//! A and B are two ensemble folders (`orechain run --replicates N`) or two scenario files, which are
//! then run as ensembles with the same seeds. Every metric row is compared as the paired
//! differences `B_s − A_s` over the seeds `s` both have: with common random numbers the seed noise
//! that A and B share cancels, so the interval reflects only how the scenario change interacts
//! with chance. The 95 % interval of the mean difference is Student's t interval,
//! `d̄ ± t(0.975, n−1) · s_d / √n` (the paired t interval; e.g. Wasserman 2004, *All of
//! Statistics*, §10.4, and Law 2015, *Simulation Modeling and Analysis*, 5th ed., §10.2 on
//! comparing two systems with common random numbers). Runs whose seeds do not pair are refused
//! (exit 2): an unpaired comparison would be a different statistic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

pub use crate::cli::CompareArgs;
use crate::command::AppError;
use crate::ensemble::{self, stats::Stats, table};
use crate::output::figures::chart::{Band, Figure, Kind, Panel, Series};
use crate::output::figures::style::{self, Scale, Width};
use crate::output::folder::OutputKind;
use crate::output::manifest::{Manifest, rfc3339_utc};

/// Files of an ensemble folder copied into `a/` and `b/` of a comparison (provenance).
const SIDE_FILES: [&str; 4] = [
    "manifest.json",
    "scenario.ron",
    "scenario_notes.txt",
    "replicates.csv",
];

/// Pair the seeds of A and B: B's seeds in A's order, or a clear refusal.
pub fn pair_seeds(a: &[u64], b: &[u64]) -> Result<Vec<u64>, String> {
    let mut sa = a.to_vec();
    let mut sb = b.to_vec();
    sa.sort_unstable();
    sb.sort_unstable();
    if sa == sb {
        return Ok(a.to_vec());
    }
    let only_a = a.iter().find(|s| !b.contains(s));
    let only_b = b.iter().find(|s| !a.contains(s));
    let mut m = format!(
        "the seeds of A ({} replicates) and B ({} replicates) do not pair",
        a.len(),
        b.len()
    );
    if let Some(s) = only_a {
        m.push_str(&format!("; seed {s} is only in A"));
    }
    if let Some(s) = only_b {
        m.push_str(&format!("; seed {s} is only in B"));
    }
    m.push_str(
        ". Run both with the same run seed and --replicates (or give the two scenario files \
         to `orechain compare`, which does).",
    );
    Err(m)
}

/// `orechain compare`.
pub fn compare_command(args: &CompareArgs, argv: Vec<String>) -> Result<PathBuf, AppError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let (a_file, b_file) = (args.a.is_file(), args.b.is_file());
    let (a_dir, b_dir) = (args.a.is_dir(), args.b.is_dir());
    if !((a_file && b_file) || (a_dir && b_dir)) {
        return Err(AppError::BadInput(format!(
            "compare needs two ensemble folders or two scenario files; got `{}` ({}) and `{}` ({})",
            args.a.display(),
            kind_of(&args.a),
            args.b.display(),
            kind_of(&args.b)
        )));
    }
    // Load scenarios (or check folders) before creating anything.
    let scenarios = if a_file {
        let la = crate::command::load_for_run(Some(&args.a), args.seed, &[])?;
        let seed = args.seed.unwrap_or(la.scenario.scenario().run.seed);
        let lb = crate::command::load_for_run(Some(&args.b), Some(seed), &[])?;
        Some((la, lb))
    } else {
        None
    };
    let name_of = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into())
    };
    let out_dir = args.output.clone().unwrap_or_else(|| {
        PathBuf::from("output").join(format!("compare-{}-{}", name_of(&args.a), name_of(&args.b)))
    });
    // With folders, the seeds are checked before any output exists.
    let folder_seeds = if scenarios.is_none() {
        let sa = ensemble::read_replicates(&args.a)?;
        let sb = ensemble::read_replicates(&args.b)?;
        Some(pair_seeds(&sa, &sb).map_err(AppError::BadInput)?)
    } else {
        None
    };
    let staged = crate::command::stage_output(&out_dir, args.force, OutputKind::Compare)?;
    let (dir_a, dir_b, order) = match (scenarios, folder_seeds) {
        (Some((la, lb)), _) => {
            let opts = ensemble::Options {
                replicates: args.replicates,
                jobs: args.jobs.map(usize::from),
                figures: !args.no_figures,
                force: false,
                args: argv.clone(),
                announce: false,
                format: Default::default(),
            };
            let da = ensemble::run_ensemble(&la, &staged.path().join("a"), &opts)?;
            let db = ensemble::run_ensemble(&lb, &staged.path().join("b"), &opts)?;
            let order = ensemble::read_replicates(&da)?;
            (da, db, order)
        }
        (None, Some(order)) => {
            for (side, src) in [("a", &args.a), ("b", &args.b)] {
                for f in SIDE_FILES {
                    let p = src.join(f);
                    if p.is_file() {
                        let bytes = std::fs::read(&p).map_err(|e| {
                            AppError::BadInput(format!("cannot read `{}`: {e}", p.display()))
                        })?;
                        staged.write_file(&format!("{side}/{f}"), &bytes)?;
                    }
                }
            }
            (args.a.clone(), args.b.clone(), order)
        }
        (None, None) => {
            return Err(AppError::Internal("compare: nothing to compare".into()));
        }
    };
    // Reading, comparing and drawing run on `-j` threads; every file is the same whatever `-j`
    // (replicates merge in replicate order, rows are joined in key order).
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(j) = args.jobs {
        builder = builder.num_threads(usize::from(j));
    }
    let pool = builder
        .build()
        .map_err(|e| AppError::Internal(format!("cannot start worker threads: {e}")))?;
    let (files, unpaired) = pool.install(|| -> Result<_, AppError> {
        let (ta, tb) = rayon::join(
            || ensemble::read_tables(&dir_a, &order),
            || ensemble::read_tables(&dir_b, &order),
        );
        let (ta, tb) = (ta?, tb?);
        let ((per_step, unpaired), (annual, _)) = rayon::join(
            || table::comparison_csv(&ta.steps, &tb.steps, "step,year"),
            || table::comparison_csv(&ta.years, &tb.years, "year"),
        );
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("comparison.csv".into(), per_step.into_bytes()),
            ("comparison_annual.csv".into(), annual.into_bytes()),
        ];
        if !args.no_figures {
            let units = mineral_units(&dir_b.join("scenario.ron"));
            let figs = figures(&ta.steps, &tb.steps, &units);
            let drawn = crate::output::figures::draw_banded(&figs)?;
            files.extend(drawn.into_iter().map(|(n, b)| (format!("figures/{n}"), b)));
        }
        Ok((files, unpaired))
    })?;
    for (name, bytes) in &files {
        staged.write_file(name, bytes)?;
    }
    let mut manifest = Manifest::with_build_info();
    manifest.args = argv;
    manifest.seed = args.seed.unwrap_or(0);
    manifest.start_time = rfc3339_utc(started);
    manifest.end_time = rfc3339_utc(SystemTime::now());
    manifest.wall_time_s = clock.elapsed().as_secs_f64();
    manifest.files = Manifest::entries_of(&files);
    staged.write_file("manifest.json", manifest.to_json_pretty().as_bytes())?;
    let final_dir = staged.commit()?;
    println!(
        "orechain: compared {} paired seeds ({} metric rows present on one side only) in {:.3} s -> {}",
        order.len(),
        unpaired,
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    );
    Ok(final_dir)
}

/// A mineral's name in text (`rare_earths` → `rare earths`), as in the run figures.
pub fn mineral_name(id: &str) -> String {
    id.replace('_', " ")
}

/// First letter upper case.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn kind_of(p: &Path) -> &'static str {
    if p.is_file() {
        "a file"
    } else if p.is_dir() {
        "a folder"
    } else {
        "not found"
    }
}

/// Mineral units from a resolved scenario (`t` when it cannot be read).
fn mineral_units(path: &Path) -> BTreeMap<String, String> {
    crate::scenario::load_file(path, &[])
        .map(|l| {
            l.scenario
                .scenario()
                .minerals
                .iter()
                .map(|m| (m.id.clone(), m.unit.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Per step, the (p05, p50, p95) of the paired differences of the rows matching `keep`, by series.
fn diff_series(
    a: &table::Table,
    b: &table::Table,
    keep: impl Fn(&table::Series) -> bool,
) -> BTreeMap<table::Series, Vec<(f64, f64, f64, f64)>> {
    let mut out: BTreeMap<table::Series, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for i in b.ordered() {
        let key = b.key(i);
        if !keep(&key.1) {
            continue;
        }
        let table::Time::Step(_, year) = &key.0 else {
            continue;
        };
        let Some(sa) = a.index_of(b, i).map(|ia| a.slots(ia)) else {
            continue;
        };
        let d: Vec<f64> = sa
            .iter()
            .zip(b.slots(i))
            .filter_map(|(x, y)| Some(y? - (*x)?))
            .collect();
        if d.is_empty() {
            continue;
        }
        let s = Stats::of(&d);
        let year: f64 = year.parse().unwrap_or(0.0);
        out.entry(key.1.clone())
            .or_default()
            .push((year, s.p05, s.p50, s.p95));
    }
    out
}

/// One line per series with its band.
fn lines(
    diffs: &BTreeMap<table::Series, Vec<(f64, f64, f64, f64)>>,
    panel: usize,
    label: impl Fn(&table::Series) -> (String, String, plotters::style::RGBColor, bool),
) -> (Vec<Series>, Vec<Band>) {
    let mut series = Vec::new();
    let mut bands = Vec::new();
    for (k, points) in diffs {
        let (label, key, colour, dashed) = label(k);
        series.push(Series {
            label,
            key: key.clone(),
            colour,
            dashed,
            emphasis: false,
            points: points.iter().map(|(x, _, m, _)| (*x, *m)).collect(),
        });
        bands.push(Band {
            panel,
            key,
            points: points.iter().map(|(x, lo, _, hi)| (*x, *lo, *hi)).collect(),
        });
    }
    (series, bands)
}

/// The difference figures: import dependence of the US and Japan on China by mineral, China's
/// share of refining by mineral, and each mineral's world prices; median of the paired
/// differences with the 5–95 % band.
pub fn figures(
    a: &table::Table,
    b: &table::Table,
    units: &BTreeMap<String, String>,
) -> Vec<(Figure, Vec<Band>)> {
    let mut out: Vec<(Figure, Vec<Band>)> = Vec::new();
    let points = Scale {
        divisor: 0.01,
        // Percentage points; short, so the rotated y label fits a single-column figure.
        unit: "pp".into(),
        percent: false,
    };
    let by_mineral = |k: &table::Series| {
        (
            capitalise(&mineral_name(&k.mineral)),
            k.mineral.clone(),
            style::mineral_colour(&k.mineral),
            false,
        )
    };
    // Import dependence on China.
    let mut panels = Vec::new();
    let mut bands = Vec::new();
    for consumer in ["USA", "JPN"] {
        let d = diff_series(a, b, |k| {
            k.metric == "import_dependence" && k.nation == consumer && k.partner == "CHN"
        });
        if d.is_empty() {
            continue;
        }
        let (series, mut bs) = lines(&d, panels.len(), by_mineral);
        bands.append(&mut bs);
        panels.push(Panel {
            label: Some(format!("{consumer} dependence on China")),
            series,
        });
    }
    if !panels.is_empty() {
        out.push((
            Figure {
                id: "compare",
                stem: "diff_import_dependence_CHN".into(),
                width: if panels.len() > 1 {
                    Width::Double
                } else {
                    Width::Single
                },
                kind: Kind::Lines,
                y_what: "Dependence on China, B − A".into(),
                scale: points.clone(),
                y_max: None,
                raw_unit: "share".into(),
                panels,
            },
            bands,
        ));
    }
    // China's share of refining (by location).
    let d = diff_series(a, b, |k| {
        k.metric == "share_location" && k.stage == "refined" && k.nation == "CHN"
    });
    if !d.is_empty() {
        let (series, bands) = lines(&d, 0, by_mineral);
        out.push((
            Figure {
                id: "compare",
                stem: "diff_share_location_refined_CHN".into(),
                width: Width::Single,
                kind: Kind::Lines,
                y_what: "China's refining share, B − A".into(),
                scale: points.clone(),
                y_max: None,
                raw_unit: "share".into(),
                panels: vec![Panel {
                    label: None,
                    series,
                }],
            },
            bands,
        ));
    }
    // World prices, one figure per mineral.
    let d = diff_series(a, b, |k| k.metric == "price" && k.nation.is_empty());
    let minerals: std::collections::BTreeSet<String> =
        d.keys().map(|k| k.mineral.clone()).collect();
    for mineral in minerals {
        let sub: BTreeMap<table::Series, Vec<(f64, f64, f64, f64)>> = d
            .iter()
            .filter(|(k, _)| k.mineral == mineral)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Refined (solid) before ore (dashed).
        let (mut series, bands) = lines(&sub, 0, |k| {
            (
                format!("World, {}", k.stage),
                format!("world_{}", k.stage),
                if k.stage == "ore" {
                    style::OTHER
                } else {
                    style::WORLD
                },
                k.stage == "ore",
            )
        });
        series.sort_by_key(|s| s.key != "world_refined");
        let max = sub
            .values()
            .flatten()
            .map(|(_, lo, _, hi)| lo.abs().max(hi.abs()))
            .fold(0.0, f64::max);
        let unit = units.get(&mineral).map_or("t", String::as_str);
        let mut scale = Scale::usd_per_t(max);
        scale.unit = scale.unit.replace("USD/t", &format!("USD/{unit}"));
        out.push((
            Figure {
                id: "compare",
                stem: format!(
                    "diff_price_{}",
                    crate::output::figures::chart::slug(&mineral)
                ),
                width: Width::Single,
                kind: Kind::Lines,
                y_what: format!("{} price, B − A", capitalise(&mineral_name(&mineral))),
                scale,
                y_max: None,
                raw_unit: "USD/t".into(),
                panels: vec![Panel {
                    label: None,
                    series,
                }],
            },
            bands,
        ));
    }
    for (f, _) in &mut out {
        f.mark_overlaps();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_pair_as_sets_and_refuse_otherwise() {
        assert_eq!(pair_seeds(&[3, 1, 2], &[1, 2, 3]), Ok(vec![3, 1, 2]));
        let e = pair_seeds(&[1, 2], &[1, 3]).expect_err("2 and 3 do not pair");
        assert!(
            e.contains("seed 2 is only in A") && e.contains("seed 3 is only in B"),
            "{e}"
        );
        assert!(pair_seeds(&[1, 2], &[1, 2, 3]).is_err());
    }
}
