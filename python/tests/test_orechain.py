"""Tests of the Python package: loads, runs, errors, byte-identity with the CLI, sweeps, compare,
and the EMA Workbench adapter on a 20-experiment design.

The CLI binary is ``$ORECHAIN_BIN`` (default ``target/release/orechain`` of the repository); the
tests run from any folder. Nothing is skipped: a missing binary is a failure.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import orechain

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ORECHAIN_BIN", ROOT / "target" / "release" / "orechain"))
SCEN = ROOT / "scenarios"
STAB = "nations.CHL.governance.regulatory_stability"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert BIN.is_file(), f"the orechain binary is missing: {BIN} (build it with cargo build --release)"
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd, timeout=600)


# ---------------------------------------------------------------------------------------- loading


def test_load_builtin_and_file():
    base = orechain.load()
    assert base.name == "baseline" and base.path is None and base.steps > 0
    tiny = orechain.load(SCEN / "tiny.ron")
    assert tiny.path.endswith("tiny.ron")
    assert tiny.name != base.name


def test_load_with_overrides_dict_and_list_agree():
    a = orechain.load(SCEN / "finance_race.ron", set={STAB: 0.4, "run.seed": 9})
    b = orechain.load(SCEN / "finance_race.ron", set=[f"{STAB}=0.4", "run.seed=9"])
    assert a.resolved_ron() == b.resolved_ron()
    assert a.seed == 9 and a.sets == [f"{STAB}=0.4", "run.seed=9"]
    assert "regulatory_stability: 0.4" in a.resolved_ron()


def test_with_sets_is_loading_with_all_sets():
    base = orechain.load(SCEN / "finance_race.ron", set={"run.end_year": 2030})
    more = base.with_sets(["financiers.dfc.annual_budget_usd=2e9"])
    again = orechain.load(
        SCEN / "finance_race.ron",
        set=["run.end_year=2030", "financiers.dfc.annual_budget_usd=2e9"],
    )
    assert more.resolved_ron() == again.resolved_ron()


def test_format_value():
    assert orechain.format_value(True) == "true"
    assert orechain.format_value(np.float64(0.25)) == "0.25"
    assert orechain.format_value(4e9) == "4000000000.0"
    assert orechain.format_value(np.int64(3)) == "3"
    with pytest.raises(ValueError):
        orechain.format_value(float("nan"))


# ----------------------------------------------------------------------------------------- errors


def test_unknown_field_error_names_the_path_and_matches_the_cli():
    arg = "nations.CHL.governance.regulatory_stabilty=0.4"
    with pytest.raises(orechain.OrechainError) as info:
        orechain.load(SCEN / "tiny.ron", set=[arg])
    e = info.value
    assert e.path == "nations.CHL.governance.regulatory_stabilty"
    assert e.kind == "bad_input" and e.exit_code == 2
    assert "nearest valid paths" in str(e)
    out = cli("run", str(SCEN / "tiny.ron"), "--set", arg, "-o", "/nonexistent/never")
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {e}"


def test_invalid_value_error_carries_file_line_column_and_path(tmp_path):
    text = (SCEN / "tiny.ron").read_text()
    # A value out of range in the file itself: the error points into the file.
    bad = tmp_path / "bad.ron"
    bad.write_text(f'Scenario(extends: "{SCEN / "tiny.ron"}", run: (steps_per_year: 0))\n')
    with pytest.raises(orechain.OrechainError) as info:
        orechain.load(bad)
    e = info.value
    assert e.file == str(bad) and e.line == 1 and e.column is not None and e.column > 1
    assert e.path == "run.steps_per_year"
    assert e.locations[0]["path"] == "run.steps_per_year"
    out = cli("validate", str(bad))
    assert out.returncode == 2 and str(e) in out.stderr
    assert text  # the base file is untouched


def test_syntax_error_location():
    with pytest.raises(orechain.OrechainError) as info:
        orechain.load(ROOT / "python" / "tests" / "data" / "syntax_error.ron")
    e = info.value
    assert e.line == 3 and e.column is not None and e.file.endswith("syntax_error.ron")
    assert "syntax error" in str(e)


def test_missing_file_and_bad_table():
    with pytest.raises(orechain.OrechainError) as info:
        orechain.load(SCEN / "no_such_scenario.ron")
    assert info.value.file.endswith("no_such_scenario.ron") and info.value.line is None
    res = orechain.run(orechain.load(SCEN / "tiny.ron"))
    with pytest.raises(orechain.OrechainError, match="unknown table"):
        res.table("nope")


# ---------------------------------------------------------------------- runs: identity with CLI


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The CLI's run of finance_race with an override and a seed."""
    out = tmp_path_factory.mktemp("cli") / "run"
    done = cli(
        "run", str(SCEN / "finance_race.ron"), "--set", f"{STAB}=0.35", "--seed", "77",
        "--no-figures", "-o", str(out),
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def py_run():
    sc = orechain.load(SCEN / "finance_race.ron", set={STAB: 0.35})
    return orechain.run(sc, seed=77)


@pytest.mark.parametrize("table", orechain.TABLES)
def test_run_csv_text_is_byte_identical_to_the_cli(cli_run, py_run, table):
    assert py_run.csv(table).encode() == (cli_run / f"{table}.csv").read_bytes()


@pytest.mark.parametrize("table", orechain.TABLES)
def test_run_dataframes_equal_the_cli_files(cli_run, py_run, table):
    df = py_run.table(table)
    ref = pd.read_csv(cli_run / f"{table}.csv")
    assert list(df.columns) == list(ref.columns)
    assert len(df) > 0
    # Same dtypes and values as read_csv of the CLI's file, numbers exact (the CLI writes
    # shortest round-trip text, which pandas reads back to the same float64).
    pd.testing.assert_frame_equal(df, ref, check_exact=True)


def test_seed_and_set_equal_the_cli_semantics(py_run):
    assert py_run.seed == 77
    again = orechain.run(SCEN / "finance_race.ron", seed=77, set={STAB: 0.35})
    assert again.csv("metrics") == py_run.csv("metrics")
    other = orechain.run(SCEN / "finance_race.ron", seed=78, set={STAB: 0.35})
    assert other.csv("metrics") != py_run.csv("metrics")


def test_builtin_baseline_equals_cli_default(tmp_path):
    out = tmp_path / "base"
    assert cli("run", "--no-figures", "-o", str(out)).returncode == 0
    res = orechain.run()
    assert res.csv("metrics").encode() == (out / "metrics.csv").read_bytes()
    assert res.steps == orechain.load().steps


def test_ensemble_equals_cli_replicates(tmp_path):
    out = tmp_path / "ens"
    done = cli("run", str(SCEN / "tiny.ron"), "--replicates", "3", "--seed", "5",
               "--no-figures", "-o", str(out))
    assert done.returncode == 0, done.stderr
    ens = orechain.run(SCEN / "tiny.ron", seed=5, replicates=3, jobs=2)
    rep = pd.read_csv(out / "replicates.csv")
    assert ens.seeds == list(rep["seed"])
    for r in ens.runs:
        assert r.csv("metrics").encode() == (out / f"replicates/seed-{r.seed}/metrics.csv").read_bytes()
    assert ens.csv("metrics_summary").encode() == (out / "metrics_summary.csv").read_bytes()
    assert ens.csv("metrics_annual").encode() == (out / "metrics_annual.csv").read_bytes()
    stacked = ens.metrics
    assert list(stacked.columns[:2]) == ["replicate", "seed"]
    assert len(stacked) == sum(len(r.metrics) for r in ens.runs)
    # statistics() is a row of metrics_annual.
    row = ens.annual.iloc[len(ens.annual) // 2]
    pick = {k: (None if pd.isna(row[k]) else row[k]) for k in ["mineral", "stage", "nation", "partner"]}
    st = ens.statistics(row["metric"], int(row["year"]), **pick)
    assert st["n"] == row["n"] and st["p50"] == pytest.approx(row["p50"], rel=1e-15)


def test_gil_is_released_while_running():
    """A Python thread keeps running while a run works in another thread."""
    sc = orechain.load(SCEN / "finance_race.ron")
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.01)
        before = len(ticks)
        started = time.perf_counter()
        orechain.run(sc, replicates=2, jobs=1)
        elapsed = time.perf_counter() - started
        during = len(ticks) - before
    finally:
        stop.set()
        t.join()
    # With the GIL held for the whole run the ticker would not advance at all.
    assert elapsed > 0.05
    assert during >= 5, (during, elapsed)


# ------------------------------------------------------------------------------- sweep, compare


def test_sweep_and_compare(tmp_path):
    rep = orechain.sweep(SCEN / "sweeps" / "tiny_grid.ron", output=tmp_path / "sw", jobs=2)
    assert rep.report["failed"] == 0 and rep.report["runs"] > 0
    assert len(rep.summary) > 0 and {"outcome", "mean"} <= set(rep.summary.columns)
    cl = cli("sweep", str(SCEN / "sweeps" / "tiny_grid.ron"), "-o", str(tmp_path / "sw_cli"),
             "--no-figures")
    assert cl.returncode == 0, cl.stderr
    assert (tmp_path / "sw" / "summary.csv").read_bytes() == (tmp_path / "sw_cli" / "summary.csv").read_bytes()
    with pytest.raises(orechain.OrechainError, match="exists"):
        orechain.sweep(SCEN / "sweeps" / "tiny_grid.ron", output=tmp_path / "sw")

    cmp = orechain.compare(SCEN / "tiny.ron", SCEN / "tiny.ron", output=tmp_path / "cmp",
                           replicates=3, seed=4)
    assert len(cmp.comparison) > 0
    assert (cmp.comparison["mean_diff"] == 0).all()
    with pytest.raises(orechain.OrechainError, match="between 2 and"):
        orechain.compare(SCEN / "tiny.ron", SCEN / "tiny.ron", output=tmp_path / "c2", replicates=1)


def test_sweep_file_error_is_located(tmp_path):
    text = (SCEN / "sweeps" / "finance_race.ron").read_text()
    assert "financiers.dfc.annual_budget_usd" in text
    text = text.replace("financiers.dfc.annual_budget_usd", "financiers.dfc.annual_budgt_usd")
    text = text.replace('"../finance_race.ron"', f'"{SCEN / "finance_race.ron"}"')
    text = text.replace('"finance_race_points.csv"', f'"{SCEN / "sweeps" / "finance_race_points.csv"}"')
    bad = tmp_path / "bad_sweep.ron"
    bad.write_text(text)
    with pytest.raises(orechain.OrechainError) as info:
        orechain.sweep(bad, output=tmp_path / "out")
    e = info.value
    line = 1 + text[: text.index("annual_budgt_usd")].count("\n")
    assert (e.file, e.line, e.path) == (str(bad), line, "parameters.0.path")
    assert "nearest valid paths: financiers.dfc.annual_budget_usd" in str(e)
    assert not (tmp_path / "out").exists()
    out = cli("sweep", str(bad), "-o", str(tmp_path / "out_cli"))
    assert out.returncode == 2 and out.stderr.strip() == f"error: {e}"


# ------------------------------------------------------------------------------------ EMA adapter


def test_ema_adapter_on_a_20_experiment_design():
    from ema_workbench import RealParameter, SequentialEvaluator, perform_experiments

    from orechain.ema import OrechainModel, metric

    model = OrechainModel("financerace", SCEN / "finance_race.ron", replicates=2, seed=3)
    hosts = [f"nations.{n}.governance.regulatory_stability" for n in ("CHL", "ARG", "PER")]
    model.uncertainties = [RealParameter("latam_stability", 0.15, 0.9, variable_name=hosts)]
    model.levers = [
        RealParameter("cdb_budget", 0.0, 4e9, variable_name="financiers.cdb.annual_budget_usd"),
    ]
    model.outcomes = [
        metric("chn_share_2035", "share_location", 2035, mineral="lithium", stage="refined", nation="CHN"),
        metric("li_price_2035", "price", 2035, mineral="lithium", stage="refined"),
    ]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=10, policies=2, evaluator=evaluator)
    assert len(experiments) == 20
    share = outcomes["chn_share_2035"]
    assert share.shape == (20,) and np.isfinite(share).all() and ((share > 0) & (share < 1)).all()
    assert np.isfinite(outcomes["li_price_2035"]).all()
    # Each outcome is the ensemble statistic of the experiment's scenario: check one by hand.
    row = experiments.iloc[7]
    sets = {h: row["latam_stability"] for h in hosts}
    sets["financiers.cdb.annual_budget_usd"] = row["cdb_budget"]
    ens = orechain.run(SCEN / "finance_race.ron", seed=3, replicates=2, set=sets)
    want = ens.statistics("share_location", 2035, mineral="lithium", stage="refined", nation="CHN")
    assert share[7] == want["p50"]
    # Different host stability gives different outcomes (the paths reach the model).
    assert len(np.unique(np.round(share, 12))) > 2
