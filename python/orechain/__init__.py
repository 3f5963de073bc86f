"""orechain from Python: load scenarios, run them in memory, get pandas DataFrames.

A thin layer over the Rust library API (``src/api.rs`` of the orechain crate), so loading,
``--set`` overrides, runs and error messages are exactly the command line's::

    import orechain
    sc = orechain.load("scenarios/finance_race.ron",
                       set={"nations.CHL.governance.regulatory_stability": 0.4})
    res = orechain.run(sc, seed=7)           # one run, in memory
    res.metrics                              # pandas DataFrame, the columns of metrics.csv
    res.csv("metrics")                       # the exact text `orechain run --seed 7` writes
    ens = orechain.run(sc, replicates=20)    # an ensemble: ens.metrics, ens.summary, ens.annual

Errors raise :class:`OrechainError` with ``file``, ``line``, ``column`` and ``path`` (field path)
attributes and the CLI's message. The GIL is released while Rust works. See docs/python.md.
"""

from __future__ import annotations

import io
import os
from functools import cached_property
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from . import _native
from ._native import OrechainError, Scenario

__all__ = [
    "OrechainError",
    "Scenario",
    "Result",
    "Ensemble",
    "SweepResult",
    "CompareResult",
    "load",
    "run",
    "sweep",
    "compare",
    "format_value",
    "TABLES",
]

#: The tables of a run, as `orechain run` names its CSV files (without ``.csv``).
TABLES: tuple[str, ...] = tuple(_native.TABLES)

__version__ = _native.VERSION


def format_value(value) -> str:
    """The ``VALUE`` text of a ``--set PATH=VALUE`` for a Python value.

    Booleans become ``true``/``false``, numbers their shortest round-trip text (``repr``), and
    strings are passed through unchanged as RON text, as on the command line (so a string field
    needs quotes: ``'"text"'``)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            raise ValueError(f"cannot set a non-finite value: {v!r}")
        return repr(v)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot turn a {type(value).__name__} into a scenario value")


def _sets(set_: Mapping[str, object] | Iterable[str] | None) -> list[str]:
    """``PATH=VALUE`` strings from a mapping ``{path: value}`` or an iterable of such strings."""
    if set_ is None:
        return []
    if isinstance(set_, str):
        return [set_]
    if isinstance(set_, Mapping):
        return [f"{path}={format_value(value)}" for path, value in set_.items()]
    return [str(s) for s in set_]


def load(path: str | os.PathLike | None = None, set=None) -> Scenario:  # noqa: A002
    """Load and validate a scenario file (``None``: the built-in baseline), with overrides.

    ``set`` is a mapping ``{"nations.CHL.governance.regulatory_stability": 0.4}`` or a list of
    ``"PATH=VALUE"`` strings, applied in order as repeated ``--set`` arguments are. Raises
    :class:`OrechainError` (with ``file``, ``line``, ``column``, ``path``) on bad input."""
    return _native.load(None if path is None else os.fspath(path), _sets(set))


def _frame(columns) -> pd.DataFrame:
    """A DataFrame from the native columns: the values and dtypes ``pandas.read_csv`` gives for
    the CLI's CSV file (numbers exact; empty cells NaN; a column with no value at all float)."""
    data = {}
    for name, kind, buf, labels in columns:
        if kind == "i":
            data[name] = np.frombuffer(buf, dtype=np.int64)
        elif kind == "f":
            data[name] = np.frombuffer(buf, dtype=np.float64)
        else:
            codes = np.frombuffer(buf, dtype=np.int32)
            if len(codes) and (codes < 0).all():
                data[name] = np.full(len(codes), np.nan)
            else:
                lookup = np.array(list(labels) + [np.nan], dtype=object)
                data[name] = pd.array(lookup[codes], dtype="str")
    return pd.DataFrame(data)


class Result:
    """One run held in memory: ``metrics``, ``flows``, ``events``, ``assets`` DataFrames."""

    def __init__(self, native: _native.Run, scenario: Scenario):
        self._native = native
        #: The scenario that ran.
        self.scenario = scenario

    @property
    def seed(self) -> int:
        """Seed the run used."""
        return self._native.seed

    @property
    def steps(self) -> int:
        """Steps run."""
        return self._native.steps

    def table(self, name: str) -> pd.DataFrame:
        """A table by name (``metrics``, ``flows``, ``events``, ``assets``)."""
        cache = self.__dict__.setdefault("_tables", {})
        if name not in cache:
            cache[name] = _frame(self._native.columns(name))
        return cache[name]

    @property
    def metrics(self) -> pd.DataFrame:
        """``metrics.csv``: one row per step and observation (docs/output-format.md)."""
        return self.table("metrics")

    @property
    def flows(self) -> pd.DataFrame:
        """``flows.csv``: bilateral trade flows per step."""
        return self.table("flows")

    @property
    def events(self) -> pd.DataFrame:
        """``events.csv``: discrete events."""
        return self.table("events")

    @property
    def assets(self) -> pd.DataFrame:
        """``assets.csv``: final state of every asset."""
        return self.table("assets")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, by name."""
        return {name: self.table(name) for name in TABLES}

    def csv(self, name: str) -> str:
        """The CSV text ``orechain run`` writes to ``<name>.csv`` (byte-identical)."""
        return self._native.csv(name)

    def __repr__(self) -> str:
        return f"<orechain.Result {self.scenario.name!r} seed {self.seed}, {self.steps} steps>"


class Ensemble:
    """Replicates of one scenario (``orechain run --replicates N``), held in memory."""

    def __init__(self, native: _native.Ensemble, scenario: Scenario):
        self._native = native
        #: The scenario that ran.
        self.scenario = scenario
        #: The replicates, in replicate order.
        self.runs = [Result(r, scenario) for r in native.runs]

    @property
    def seeds(self) -> list[int]:
        """Seeds, in replicate order (the CLI's derivation from the run seed)."""
        return list(self._native.seeds)

    def table(self, name: str) -> pd.DataFrame:
        """One table of every replicate, stacked, with leading ``replicate`` and ``seed``."""
        cache = self.__dict__.setdefault("_tables", {})
        if name not in cache:
            parts = []
            for i, r in enumerate(self.runs):
                df = _frame(r._native.columns(name))
                df.insert(0, "seed", np.full(len(df), r.seed, dtype=np.uint64))
                df.insert(0, "replicate", np.full(len(df), i, dtype=np.int64))
                parts.append(df)
            cache[name] = pd.concat(parts, ignore_index=True)
        return cache[name]

    @property
    def metrics(self) -> pd.DataFrame:
        """``metrics`` of every replicate, stacked."""
        return self.table("metrics")

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``metrics_summary.csv``: per step and series, ``n, mean, sd, p05, p50, p95``."""
        return pd.read_csv(io.StringIO(self._native.summary_csv()))

    @cached_property
    def annual(self) -> pd.DataFrame:
        """``metrics_annual.csv``: per calendar year and series (docs/output-format.md)."""
        return pd.read_csv(io.StringIO(self._native.annual_csv()))

    def statistics(
        self,
        metric: str,
        year: int,
        mineral: str | None = None,
        stage: str | None = None,
        nation: str | None = None,
        partner: str | None = None,
    ) -> dict | None:
        """One row of ``metrics_annual`` (``n, mean, sd, p05, p50, p95`` over the replicates of a
        metric in a calendar year, narrowed by mineral, stage, nation, partner; ``None`` selects
        an empty cell), computed without the whole table; ``None`` when no replicate has it."""
        return self._native.statistics(metric, int(year), mineral, stage, nation, partner)

    def csv(self, name: str) -> str:
        """``metrics_summary`` or ``metrics_annual`` as the CLI writes it (byte-identical)."""
        if name == "metrics_summary":
            return self._native.summary_csv()
        if name == "metrics_annual":
            return self._native.annual_csv()
        raise ValueError(f"unknown ensemble table {name!r}: metrics_summary or metrics_annual")

    def __repr__(self) -> str:
        return f"<orechain.Ensemble {self.scenario.name!r} × {len(self.runs)} replicates>"


def run(
    scenario: Scenario | str | os.PathLike | None = None,
    seed: int | None = None,
    replicates: int | None = None,
    jobs: int | None = None,
    set=None,  # noqa: A002
) -> Result | Ensemble:
    """Run a scenario in memory: a :class:`Result`, or an :class:`Ensemble` with ``replicates``.

    ``scenario`` is a loaded :class:`Scenario` or a path (loaded with ``set``); ``None`` is the
    built-in baseline. ``seed`` overrides ``run.seed`` (as ``--seed``); an ensemble's replicate
    seeds are derived from it as ``orechain run --replicates N`` derives them, and its runs go on
    ``jobs`` threads (default: one per core). The tables equal the CLI's files for the same
    scenario and seed."""
    if not isinstance(scenario, Scenario):
        scenario = load(scenario, set=set)
    elif set is not None:
        scenario = scenario.with_sets(_sets(set))
    if replicates is None:
        return Result(_native.run(scenario, seed), scenario)
    return Ensemble(_native.run_ensemble(scenario, int(replicates), seed, jobs), scenario)


class SweepResult:
    """A finished sweep folder: ``summary``, ``runs``, ``design`` DataFrames read from it."""

    def __init__(self, report: dict):
        #: What the sweep did (``runs``, ``ok``, ``failed``, ``executed``, ``wall_time_s``).
        self.report = report
        #: The result folder.
        self.out_dir = report["out_dir"]

    def read(self, name: str) -> pd.DataFrame:
        """A CSV of the sweep folder by file name (``summary.csv``, ``runs.csv``, ...)."""
        return pd.read_csv(os.path.join(self.out_dir, name))

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``summary.csv``: one row per design point and outcome."""
        return self.read("summary.csv")

    @cached_property
    def runs(self) -> pd.DataFrame:
        """``runs.csv``: one row per run and outcome."""
        return self.read("runs.csv")

    def __repr__(self) -> str:
        r = self.report
        return f"<orechain.SweepResult {r['runs']} runs ({r['failed']} failed) in {self.out_dir}>"


def sweep(
    file: str | os.PathLike,
    output: str | os.PathLike | None = None,
    jobs: int | None = None,
    resume: bool = False,
    force: bool = False,
    figures: bool = False,
) -> SweepResult:
    """Run a sweep file into a result folder (``orechain sweep FILE -o OUTPUT``).

    A sweep lives on disk by design (its journal makes it resumable with ``resume=True``); the
    tables are read from the folder. Failed runs are counted in ``report["failed"]`` and listed
    in ``failures.csv``."""
    report = _native.sweep(
        os.fspath(file),
        None if output is None else os.fspath(output),
        jobs,
        resume,
        force,
        figures,
    )
    return SweepResult(report)


class CompareResult:
    """A comparison folder: paired differences B − A per metric row."""

    def __init__(self, out_dir: str):
        #: The result folder.
        self.out_dir = out_dir

    @cached_property
    def comparison(self) -> pd.DataFrame:
        """``comparison.csv``: per step and series."""
        return pd.read_csv(os.path.join(self.out_dir, "comparison.csv"))

    @cached_property
    def annual(self) -> pd.DataFrame:
        """``comparison_annual.csv``: per calendar year and series."""
        return pd.read_csv(os.path.join(self.out_dir, "comparison_annual.csv"))

    def __repr__(self) -> str:
        return f"<orechain.CompareResult {self.out_dir}>"


def compare(
    a: str | os.PathLike,
    b: str | os.PathLike,
    output: str | os.PathLike | None = None,
    replicates: int = 20,
    seed: int | None = None,
    jobs: int | None = None,
    figures: bool = False,
    force: bool = False,
) -> CompareResult:
    """Compare two ensemble folders or two scenario files (``orechain compare A B``)."""
    out = _native.compare(
        os.fspath(a),
        os.fspath(b),
        None if output is None else os.fspath(output),
        int(replicates),
        seed,
        jobs,
        figures,
        force,
    )
    return CompareResult(out)
