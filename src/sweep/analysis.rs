//! What a sweep's design is analysed with once its runs are in: Sobol' indices with bootstrap
//! intervals (`sensitivity.csv`, [`super::sensitivity`]), Morris elementary effects
//! (`morris.csv`, [`super::morris`]) or lever attribution (`attribution.csv`).
//!
//! The analysis is a function of the sweep file alone ([`Analysis::of`]), so a merge of shards
//! (which reads the sweep file's copy) writes the same bytes as a single-machine sweep.

use std::collections::BTreeMap;
use std::path::Path;

use super::SweepError;
use super::atomic::AtomicFile;
use super::sensitivity::{self, Bootstrap, IndicesCi};
use super::spec::{Design, SweepFile};
use super::summary::{SENSITIVITY_FILE, Year};
use crate::output::tables::push_field;
use crate::scenario::load::Document;

/// Half-width (on the share-of-variance scale) below which an interval never counts as
/// swamping its index: a null parameter estimated at 0.001 ± 0.01 is resolved, not noisy.
pub const SWAMP_FLOOR: f64 = 0.05;

/// The analysis a design calls for.
#[derive(Clone, Debug, PartialEq)]
pub enum Analysis {
    /// Summary statistics only.
    None,
    /// First- and total-order Sobol' indices of `k` parameters, with bootstrap intervals.
    Sobol {
        /// Parameters.
        k: usize,
        /// Interval settings.
        boot: Bootstrap,
    },
    /// Morris elementary effects of `k` parameters ([`super::morris`]).
    Morris {
        /// Parameters.
        k: usize,
        /// Trajectories.
        trajectories: usize,
        /// Grid levels.
        levels: usize,
        /// Interval settings (its seed is the sweep seed, which also drew the design).
        boot: Bootstrap,
    },
    /// Lever attribution over the replicates ([`super::attribution`]).
    Levers {
        /// Replicates per point.
        replicates: usize,
        /// Confidence level of the intervals.
        conf_level: f64,
    },
}

impl Analysis {
    /// The analysis of a sweep file's design.
    pub fn of(file: &SweepFile) -> Analysis {
        match &file.design {
            Design::Sobol {
                resamples,
                conf_level,
                ..
            } => Analysis::Sobol {
                k: file.parameters.len(),
                boot: Bootstrap {
                    resamples: resamples.unwrap_or(sensitivity::DEFAULT_RESAMPLES),
                    conf_level: conf_level.unwrap_or(sensitivity::DEFAULT_CONF_LEVEL),
                    seed: file.seed,
                },
            },
            Design::Morris {
                trajectories,
                levels,
                resamples,
                conf_level,
            } => Analysis::Morris {
                k: file.parameters.len(),
                trajectories: *trajectories as usize,
                levels: *levels as usize,
                boot: Bootstrap {
                    resamples: resamples.unwrap_or(sensitivity::DEFAULT_RESAMPLES),
                    conf_level: conf_level.unwrap_or(sensitivity::DEFAULT_CONF_LEVEL),
                    seed: file.seed,
                },
            },
            Design::Levers { conf_level, .. } => Analysis::Levers {
                replicates: file.replicates as usize,
                conf_level: conf_level.unwrap_or(sensitivity::DEFAULT_CONF_LEVEL),
            },
            _ => Analysis::None,
        }
    }

    /// Whether the analysis needs every run's value per outcome and year (by run id).
    pub fn needs_run_values(&self) -> bool {
        matches!(self, Analysis::Levers { .. })
    }

    /// The analysis of the sweep whose output folder is `dir` (from its copy of the sweep file,
    /// for `orechain merge`).
    pub fn of_folder(dir: &Path) -> Result<Analysis, SweepError> {
        let path = dir.join(super::SWEEP_COPY);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SweepError::Internal(format!("cannot read `{}`: {e}", path.display())))?;
        let doc: Document<SweepFile> =
            crate::scenario::load::deserialize_str(&text, &path.display().to_string())?;
        Ok(Analysis::of(&doc.value))
    }

    /// Whether the analysis needs the mean of every design point per outcome and year.
    pub fn needs_point_means(&self) -> bool {
        matches!(self, Analysis::Sobol { .. } | Analysis::Morris { .. })
    }
}

/// An outcome and a year: the key of one analysed series.
pub type SeriesKey = (usize, Year);

/// Write the analysis tables into `out_dir` from the design-point means (`None` where every run
/// of a point failed) or the runs' values. Returns the warnings to show the user.
pub fn write(
    analysis: &Analysis,
    out_dir: &Path,
    params: &[&str],
    names: &[String],
    means: &BTreeMap<SeriesKey, Vec<Option<f64>>>,
    runs: &BTreeMap<SeriesKey, Vec<Option<f64>>>,
    points: usize,
) -> std::io::Result<Vec<String>> {
    match analysis {
        Analysis::None => Ok(Vec::new()),
        Analysis::Levers {
            replicates,
            conf_level,
        } => {
            super::attribution::write_attribution(
                out_dir,
                params,
                names,
                runs,
                *replicates,
                *conf_level,
            )?;
            Ok(Vec::new())
        }
        Analysis::Sobol { k, boot } => {
            write_sensitivity(out_dir, *k, boot, params, names, means, points)
        }
        Analysis::Morris {
            k,
            trajectories,
            levels,
            boot,
        } => {
            write_morris(
                out_dir,
                (*k, *trajectories, *levels),
                boot,
                params,
                names,
                means,
            )?;
            Ok(Vec::new())
        }
    }
}

/// Why the indices of one outcome and year should not be read as they are (empty: no reason).
/// The rules (documented in `docs/sweeps.md`):
/// - `swamped`: for more than half the parameters, the S1 or ST interval is wider than the index
///   it bounds and than [`SWAMP_FLOOR`];
/// - `negative_first_order`: some S1 lies below zero by more than its interval (a true S1 is
///   never negative, so this is estimation error);
/// - `interaction_or_noise`: ΣST − ΣS1 > 1, i.e. interactions would carry more than the whole
///   variance, the signature of seed noise dominating the outcome (independent noise adds the
///   same amount to every ST and nothing to any S1); a model of pure interactions also trips it.
pub fn sobol_flags(indices: &[IndicesCi]) -> Vec<&'static str> {
    let mut flags = Vec::new();
    let conf = |c: Option<f64>| c.unwrap_or(0.0);
    let swamped = indices
        .iter()
        .filter(|x| {
            let f = conf(x.first_conf);
            let t = conf(x.total_conf);
            (f > SWAMP_FLOOR && f > x.indices.first.abs())
                || (t > SWAMP_FLOOR && t > x.indices.total.abs())
        })
        .count();
    if 2 * swamped > indices.len() {
        flags.push("swamped");
    }
    if indices
        .iter()
        .any(|x| x.indices.first + conf(x.first_conf) < 0.0)
    {
        flags.push("negative_first_order");
    }
    let sum_first: f64 = indices.iter().map(|x| x.indices.first).sum();
    let sum_total: f64 = indices.iter().map(|x| x.indices.total).sum();
    if sum_total - sum_first > 1.0 {
        flags.push("interaction_or_noise");
    }
    flags
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| v.to_string())
}

/// `morris.csv`: μ, μ*, σ and the μ* interval per outcome, year and parameter. An outcome-year
/// with a design point whose runs all failed is left out (its trajectory has a hole).
fn write_morris(
    out_dir: &Path,
    (k, trajectories, levels): (usize, usize, usize),
    boot: &Bootstrap,
    params: &[&str],
    names: &[String],
    means: &BTreeMap<SeriesKey, Vec<Option<f64>>>,
) -> std::io::Result<()> {
    // The design is a function of the sweep file: rebuilt here, not read back from points.csv.
    let x = super::design::morris_points(k, trajectories, levels, boot.seed);
    let mut f = AtomicFile::create(&out_dir.join(super::morris::MORRIS_FILE))?;
    f.write_str("outcome,year,parameter,mu,mu_star,sigma,mu_star_conf\n")?;
    for ((outcome, year), m) in means {
        let y: Option<Vec<f64>> = (0..x.len()).map(|i| m.get(i).copied().flatten()).collect();
        let Some(ee) = y.and_then(|y| super::morris::elementary_effects(k, &x, &y)) else {
            continue;
        };
        for (p, mm) in params.iter().zip(super::morris::measures(&ee, k, boot)) {
            let mut cell = String::new();
            push_field(&mut cell, p);
            f.write_str(&format!(
                "{},{},{cell},{},{},{},{}\n",
                names[*outcome],
                year.0,
                mm.mu,
                mm.mu_star,
                fmt_opt(mm.sigma),
                fmt_opt(mm.mu_star_conf),
            ))?;
        }
    }
    f.commit()
}

fn write_sensitivity(
    out_dir: &Path,
    k: usize,
    boot: &Bootstrap,
    params: &[&str],
    names: &[String],
    means: &BTreeMap<SeriesKey, Vec<Option<f64>>>,
    points: usize,
) -> std::io::Result<Vec<String>> {
    let mut f = AtomicFile::create(&out_dir.join(SENSITIVITY_FILE))?;
    f.write_str(
        "outcome,year,parameter,first_order,total_order,first_order_conf,total_order_conf,warning\n",
    )?;
    let (mut flagged, mut series) = (Vec::new(), 0usize);
    for ((outcome, year), m) in means {
        // Every design point needs a value; a point whose runs all failed leaves a hole.
        let y: Option<Vec<f64>> = (0..points).map(|i| m.get(i).copied().flatten()).collect();
        let Some(indices) = y.and_then(|y| sensitivity::sobol_indices_ci(k, &y, boot)) else {
            continue;
        };
        series += 1;
        let flags = sobol_flags(&indices);
        if !flags.is_empty() {
            flagged.push(format!(
                "{} {} ({})",
                names[*outcome],
                year.0,
                flags.join(", ")
            ));
        }
        let warning = flags.join(";");
        for (p, idx) in params.iter().zip(indices) {
            let mut cell = String::new();
            push_field(&mut cell, p);
            f.write_str(&format!(
                "{},{},{cell},{},{},{},{},{warning}\n",
                names[*outcome],
                year.0,
                idx.indices.first,
                idx.indices.total,
                fmt_opt(idx.first_conf),
                fmt_opt(idx.total_conf),
            ))?;
        }
    }
    f.commit()?;
    let mut warnings = Vec::new();
    if !flagged.is_empty() {
        let shown: Vec<&str> = flagged.iter().take(5).map(String::as_str).collect();
        warnings.push(format!(
            "the Sobol' indices of {} of {series} outcome-years are not resolved by their {}% \
             intervals: {}{} (see the `warning` column of sensitivity.csv; more base_points or \
             replicates narrow the intervals)",
            flagged.len(),
            boot.conf_level * 100.0,
            shown.join("; "),
            if flagged.len() > shown.len() {
                "; ..."
            } else {
                ""
            }
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::sensitivity::Indices;

    fn ci(first: f64, total: f64, fc: f64, tc: f64) -> IndicesCi {
        IndicesCi {
            indices: Indices { first, total },
            first_conf: Some(fc),
            total_conf: Some(tc),
        }
    }

    #[test]
    fn a_sparse_resolved_model_is_not_flagged() {
        // One parameter matters, three are null and estimated tightly at zero.
        let x = [
            ci(0.95, 0.97, 0.04, 0.03),
            ci(0.001, 0.002, 0.01, 0.001),
            ci(-0.002, 0.001, 0.01, 0.001),
            ci(0.0, 0.0, 0.0, 0.0),
        ];
        assert!(sobol_flags(&x).is_empty(), "{:?}", sobol_flags(&x));
    }

    #[test]
    fn seed_noise_is_flagged() {
        // The pattern of issue 17: S1 all negative, ΣST ≈ 3, ±0.2 intervals.
        let x = [
            ci(-0.25, 0.9, 0.2, 0.2),
            ci(-0.1, 1.1, 0.2, 0.2),
            ci(-0.05, 1.0, 0.2, 0.2),
        ];
        assert_eq!(
            sobol_flags(&x),
            ["swamped", "negative_first_order", "interaction_or_noise"]
        );
    }
}
