"""An EMA Workbench model of an orechain scenario.

The EMA Workbench (Kwakkel 2017, *Environmental Modelling & Software* 96:239–250) explores a
model over uncertainties and levers and scores outcomes. Here:

- **uncertainties and levers are scenario paths**, as in ``--set``: a parameter's
  ``variable_name`` (or its name, when that is a path) is the field path, e.g.
  ``RealParameter("chl_stability", 0.2, 0.9,
  variable_name="nations.CHL.governance.regulatory_stability")``; a list of paths sets all of them
  to the drawn value;
- **outcomes are metric selections** (:func:`metric`): a metric of ``metrics.csv`` in one calendar
  year, narrowed by mineral, stage, nation and partner, summarised over the replicates of the
  experiment exactly as the row of the CLI's ``metrics_annual.csv`` (annual mean over the year's
  steps, or sum for per-step amounts; then ``p50`` by default, or ``mean``, ``p05``, ``p95``,
  ``sd``, ``n``), computed in Rust for that row alone.

Each experiment is an in-memory ensemble (``orechain.run(..., replicates=N)``) of the scenario
with the experiment's values applied after the model's fixed ``set`` overrides; replicate seeds
derive from ``seed`` as in ``orechain run --replicates``, so every experiment uses the same seeds
(common random numbers). Works with the Workbench's samplers and evaluators
(``SequentialEvaluator``; ``MultiprocessingEvaluator`` pickles the model and loads the scenario
again in each worker).
"""

from __future__ import annotations

import math
import os

from ema_workbench import Model, ScalarOutcome

import orechain

__all__ = ["OrechainModel", "MetricOutcome", "metric"]

_STATISTICS = ("p50", "mean", "p05", "p95", "sd", "n")


class MetricOutcome(ScalarOutcome):
    """A scalar outcome that selects one row of ``metrics_annual.csv`` per experiment."""

    def __init__(
        self,
        name: str,
        metric: str,
        year: int,
        mineral: str | None = None,
        stage: str | None = None,
        nation: str | None = None,
        partner: str | None = None,
        statistic: str = "p50",
        kind: int = ScalarOutcome.INFO,
    ):
        if statistic not in _STATISTICS:
            raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
        super().__init__(name, kind=kind)
        self.selection = {
            "metric": metric,
            "mineral": mineral,
            "stage": stage,
            "nation": nation,
            "partner": partner,
        }
        self.year = int(year)
        self.statistic = statistic

    def value(self, ensemble: orechain.Ensemble) -> float:
        """This outcome's statistic over an experiment's replicates (NaN when no replicate has
        the row, or for ``sd`` of one replicate)."""
        stats = ensemble.statistics(year=self.year, **self.selection)
        return math.nan if stats is None else float(stats[self.statistic])


def metric(name: str, metric: str, year: int, **selection) -> MetricOutcome:  # noqa: A002
    """Shorthand for :class:`MetricOutcome`:
    ``metric("chn_share_2035", "share_location", 2035, mineral="lithium", stage="refined",
    nation="CHN")``."""
    return MetricOutcome(name, metric, year, **selection)


class OrechainModel(Model):
    """An orechain scenario as an EMA Workbench model.

    ``scenario`` is a path (or ``None``, the built-in baseline); ``set`` fixed overrides applied
    before each experiment's values; ``replicates`` runs per experiment (seeds derived from
    ``seed``, default ``run.seed``); ``jobs`` threads per ensemble. Set ``uncertainties``,
    ``levers`` (scenario paths) and ``outcomes`` (:func:`metric`) as for any Workbench model."""

    def __init__(
        self,
        name: str,
        scenario: str | os.PathLike | None = None,
        replicates: int = 1,
        seed: int | None = None,
        jobs: int | None = None,
        set=None,  # noqa: A002
    ):
        super().__init__(name, function=self._experiment)
        self.scenario_path = None if scenario is None else os.fspath(scenario)
        self.fixed_sets = orechain._sets(set)
        self.replicates = int(replicates)
        self.seed = seed
        self.jobs = jobs
        self._base = None
        # Fail here, not in the first experiment, on a bad scenario or fixed override.
        self.base_scenario()

    def base_scenario(self) -> orechain.Scenario:
        """The scenario with the fixed overrides (loaded once per process)."""
        if self._base is None:
            self._base = orechain.load(self.scenario_path, set=self.fixed_sets)
        return self._base

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_base"] = None  # native objects are not pickled: reloaded in the worker
        return state

    def experiment_sets(self, values: dict) -> list[str]:
        """``PATH=VALUE`` overrides of one experiment (keys are scenario paths)."""
        sets = []
        for path, value in values.items():
            if "=" in path:
                raise ValueError(f"a scenario path cannot contain '=': {path!r}")
            sets.append(f"{path}={orechain.format_value(value)}")
        return sets

    def _experiment(self, **values) -> dict:
        scenario = self.base_scenario().with_sets(self.experiment_sets(values))
        ensemble = orechain.run(
            scenario, seed=self.seed, replicates=self.replicates, jobs=self.jobs
        )
        out = {}
        for outcome in self.outcomes:
            if not isinstance(outcome, MetricOutcome):
                raise TypeError(
                    f"outcome {outcome.name!r} is not a metric selection: use orechain.ema.metric"
                )
            out[outcome.name] = outcome.value(ensemble)
        return out
