//! `orechain._native`: the PyO3 layer under the Python package `orechain` (python/orechain/).
//!
//! It only converts: every operation is a call of the main crate's library API
//! ([`orechain::api`]), so loading, `--set` semantics, runs and error messages are the CLI's. The
//! GIL is released ([`Python::detach`]) while a scenario loads, a run, an ensemble, a sweep or a
//! comparison works, so other Python threads go on. Tables cross as typed columns: numbers as
//! native-endian `bytes` (numpy reads them without parsing), text dictionary-encoded (codes as
//! `int32` bytes plus the distinct labels), so no CSV text is written or parsed on the way to a
//! data frame; the pure-Python part assembles the `pandas.DataFrame`s.

use std::path::PathBuf;
use std::sync::OnceLock;

use orechain::api::{self, Column};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

create_exception!(
    _native,
    OrechainError,
    PyException,
    "An orechain error: the CLI's message, with `kind`, `exit_code`, `file`, `line`, `column`, \
     `path` (of the first location) and `locations` (all of them, as dicts)."
);

/// Convert an API error into an `OrechainError` carrying its locations as attributes.
fn to_py(py: Python<'_>, e: api::Error) -> PyErr {
    let err = OrechainError::new_err(e.message.clone());
    let value = err.value(py);
    let kind = match e.kind {
        api::ErrorKind::BadInput => "bad_input",
        api::ErrorKind::Internal => "internal",
        api::ErrorKind::Interrupted => "interrupted",
    };
    let first = e.locations.first().cloned().unwrap_or_default();
    let set = || -> PyResult<()> {
        value.setattr("message", &e.message)?;
        value.setattr("kind", kind)?;
        value.setattr("exit_code", e.exit_code())?;
        value.setattr("file", first.file.clone())?;
        value.setattr("line", first.line)?;
        value.setattr("column", first.column)?;
        value.setattr("path", first.path.clone())?;
        let list = PyList::empty(py);
        for l in &e.locations {
            let d = PyDict::new(py);
            d.set_item("file", l.file.clone())?;
            d.set_item("line", l.line)?;
            d.set_item("column", l.column)?;
            d.set_item("path", l.path.clone())?;
            d.set_item("set", l.set.clone())?;
            list.append(d)?;
        }
        value.setattr("locations", list)?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// A loaded, validated scenario (`orechain.load`).
#[pyclass(frozen, module = "orechain._native")]
struct Scenario {
    inner: api::Scenario,
}

#[pymethods]
impl Scenario {
    /// Scenario name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// `run.seed`.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    /// Steps a run takes.
    #[getter]
    fn steps(&self) -> u32 {
        self.inner.steps()
    }

    /// The top file's path (None for the built-in baseline).
    #[getter]
    fn path(&self) -> Option<String> {
        self.inner.path().map(|p| p.display().to_string())
    }

    /// The overrides applied, in order (`PATH=VALUE`).
    #[getter]
    fn sets(&self) -> Vec<String> {
        self.inner.sets().to_vec()
    }

    /// The resolved scenario as RON (what `scenario.ron` of a run folder holds).
    fn resolved_ron(&self) -> String {
        self.inner.resolved_ron()
    }

    /// This scenario with more overrides (`PATH=VALUE` strings) applied on top.
    fn with_sets(&self, py: Python<'_>, sets: Vec<String>) -> PyResult<Scenario> {
        let inner = py
            .detach(|| self.inner.with_sets(&sets))
            .map_err(|e| to_py(py, e))?;
        Ok(Scenario { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "<orechain.Scenario {:?}, {} steps, seed {}, {} override(s)>",
            self.inner.name(),
            self.inner.steps(),
            self.inner.seed(),
            self.inner.sets().len()
        )
    }
}

/// One run held in memory.
#[pyclass(frozen, module = "orechain._native")]
struct Run {
    inner: api::RunOutput,
}

fn ne_bytes<T, const N: usize>(values: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * N);
    for v in values {
        out.extend_from_slice(&f(v));
    }
    out
}

#[pymethods]
impl Run {
    /// Seed the run used.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    /// Steps run.
    #[getter]
    fn steps(&self) -> u32 {
        self.inner.result.steps
    }

    /// A table as the CSV text `orechain run` writes (byte-identical).
    fn csv(&self, py: Python<'_>, table: &str) -> PyResult<String> {
        self.inner.csv(table).map_err(|e| to_py(py, e))
    }

    /// A table as columns: a list of `(name, kind, data, labels)` with kind `"i"` (int64 bytes),
    /// `"f"` (float64 bytes) or `"s"` (int32 codes as bytes, −1 = empty; `labels` the values).
    fn columns<'py>(&self, py: Python<'py>, table: &str) -> PyResult<Bound<'py, PyList>> {
        let cols = self.inner.columns(table).map_err(|e| to_py(py, e))?;
        let out = PyList::empty(py);
        for (name, col) in cols {
            let item = match col {
                Column::Int(v) => {
                    let b = PyBytes::new(py, &ne_bytes(&v, |x| x.to_ne_bytes()));
                    PyTuple::new(
                        py,
                        [
                            name.into_pyobject(py)?.into_any(),
                            "i".into_pyobject(py)?.into_any(),
                            b.into_any(),
                            py.None().into_bound(py),
                        ],
                    )?
                }
                Column::Float(v) => {
                    let b = PyBytes::new(py, &ne_bytes(&v, |x| x.to_ne_bytes()));
                    PyTuple::new(
                        py,
                        [
                            name.into_pyobject(py)?.into_any(),
                            "f".into_pyobject(py)?.into_any(),
                            b.into_any(),
                            py.None().into_bound(py),
                        ],
                    )?
                }
                Column::Text { codes, labels } => {
                    let b = PyBytes::new(py, &ne_bytes(&codes, |x| x.to_ne_bytes()));
                    let l = PyList::new(py, labels)?;
                    PyTuple::new(
                        py,
                        [
                            name.into_pyobject(py)?.into_any(),
                            "s".into_pyobject(py)?.into_any(),
                            b.into_any(),
                            l.into_any(),
                        ],
                    )?
                }
            };
            out.append(item)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "<orechain.Run seed {}, {} steps, {} metric rows>",
            self.inner.seed(),
            self.inner.result.steps,
            self.inner.result.metrics.len()
        )
    }
}

/// An ensemble held in memory: its runs, and the CLI's summary tables computed on first use.
#[pyclass(frozen, module = "orechain._native")]
struct Ensemble {
    runs: Vec<Py<Run>>,
    seeds: Vec<u64>,
    summaries: OnceLock<api::Summaries>,
}

impl Ensemble {
    fn summaries(&self, py: Python<'_>) -> PyResult<&api::Summaries> {
        if let Some(s) = self.summaries.get() {
            return Ok(s);
        }
        let runs: Vec<&api::RunOutput> = self.runs.iter().map(|r| &r.get().inner).collect();
        let computed = py
            .detach(|| api::summaries(&runs))
            .map_err(|e| to_py(py, e))?;
        Ok(self.summaries.get_or_init(|| computed))
    }
}

#[pymethods]
impl Ensemble {
    /// The replicates, in replicate order.
    #[getter]
    fn runs(&self, py: Python<'_>) -> Vec<Py<Run>> {
        self.runs.iter().map(|r| r.clone_ref(py)).collect()
    }

    /// Seeds, in replicate order.
    #[getter]
    fn seeds(&self) -> Vec<u64> {
        self.seeds.clone()
    }

    /// `metrics_summary.csv` as the CLI writes it.
    fn summary_csv(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.summaries(py)?.summary_csv.clone())
    }

    /// `metrics_annual.csv` as the CLI writes it.
    fn annual_csv(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.summaries(py)?.annual_csv.clone())
    }

    /// The statistics of one row of `metrics_annual.csv` (a metric in a calendar year, narrowed
    /// by mineral, stage, nation, partner), as a dict, or None when no replicate has the row.
    #[pyo3(signature = (metric, year, mineral=None, stage=None, nation=None, partner=None))]
    #[allow(clippy::too_many_arguments)]
    fn statistics<'py>(
        &self,
        py: Python<'py>,
        metric: String,
        year: i64,
        mineral: Option<String>,
        stage: Option<String>,
        nation: Option<String>,
        partner: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let sel = api::Selection {
            metric,
            mineral,
            stage,
            nation,
            partner,
            year,
        };
        let runs: Vec<&api::RunOutput> = self.runs.iter().map(|r| &r.get().inner).collect();
        let Some(st) = py.detach(|| api::statistics(&runs, &sel)) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("n", st.n)?;
        d.set_item("mean", st.mean)?;
        d.set_item("sd", st.sd.unwrap_or(f64::NAN))?;
        d.set_item("p05", st.p05)?;
        d.set_item("p50", st.p50)?;
        d.set_item("p95", st.p95)?;
        Ok(Some(d))
    }
}

/// Load a scenario file (None: the built-in baseline) with `PATH=VALUE` overrides.
#[pyfunction]
#[pyo3(signature = (path=None, sets=Vec::new()))]
fn load(py: Python<'_>, path: Option<PathBuf>, sets: Vec<String>) -> PyResult<Scenario> {
    let inner = py
        .detach(|| api::load(path.as_deref(), &sets))
        .map_err(|e| to_py(py, e))?;
    Ok(Scenario { inner })
}

/// Run a scenario once in memory (GIL released while it runs).
#[pyfunction]
#[pyo3(signature = (scenario, seed=None))]
fn run(py: Python<'_>, scenario: &Scenario, seed: Option<u64>) -> PyResult<Run> {
    let inner = py
        .detach(|| api::run(&scenario.inner, seed))
        .map_err(|e| to_py(py, e))?;
    Ok(Run { inner })
}

/// Run an ensemble in memory (GIL released while it runs).
#[pyfunction]
#[pyo3(signature = (scenario, replicates, seed=None, jobs=None))]
fn run_ensemble(
    py: Python<'_>,
    scenario: &Scenario,
    replicates: u32,
    seed: Option<u64>,
    jobs: Option<usize>,
) -> PyResult<Ensemble> {
    let out = py
        .detach(|| api::run_ensemble(&scenario.inner, seed, replicates, jobs))
        .map_err(|e| to_py(py, e))?;
    let runs = out
        .runs
        .into_iter()
        .map(|r| Py::new(py, Run { inner: r }))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Ensemble {
        runs,
        seeds: out.seeds,
        summaries: OnceLock::new(),
    })
}

/// Run a sweep file into a folder; returns the report as a dict.
#[pyfunction]
#[pyo3(signature = (file, output=None, jobs=None, resume=false, force=false, figures=false))]
fn sweep<'py>(
    py: Python<'py>,
    file: PathBuf,
    output: Option<PathBuf>,
    jobs: Option<usize>,
    resume: bool,
    force: bool,
    figures: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = api::SweepOptions {
        output,
        jobs,
        resume,
        force,
        figures,
    };
    let report = py
        .detach(|| api::sweep(&file, &opts))
        .map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("out_dir", report.out_dir.display().to_string())?;
    d.set_item("runs", report.runs)?;
    d.set_item("ok", report.ok)?;
    d.set_item("failed", report.failed)?;
    d.set_item("executed", report.executed)?;
    d.set_item("wall_time_s", report.wall_time_s)?;
    Ok(d)
}

/// Compare two ensemble folders or two scenario files into a folder; returns its path.
#[pyfunction]
#[pyo3(signature = (a, b, output=None, replicates=20, seed=None, jobs=None, figures=false, force=false))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    a: PathBuf,
    b: PathBuf,
    output: Option<PathBuf>,
    replicates: u32,
    seed: Option<u64>,
    jobs: Option<u16>,
    figures: bool,
    force: bool,
) -> PyResult<String> {
    let args = orechain::compare::CompareArgs {
        a,
        b,
        output,
        replicates,
        seed,
        jobs,
        no_figures: !figures,
        force,
    };
    let dir = py
        .detach(|| api::compare(&args))
        .map_err(|e| to_py(py, e))?;
    Ok(dir.display().to_string())
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OrechainError", m.py().get_type::<OrechainError>())?;
    m.add("TABLES", api::TABLES.to_vec())?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Scenario>()?;
    m.add_class::<Run>()?;
    m.add_class::<Ensemble>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(run_ensemble, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    Ok(())
}
