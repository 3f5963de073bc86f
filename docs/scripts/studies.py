#!/usr/bin/env python3
"""Re-run every study of docs/scenarios.md as ensembles and rewrite its generated blocks.

    python3 docs/scripts/studies.py [--bin target/release/orechain] [-j 2] [--replicates 20]
                                    [--out output/studies] [--reuse] [--no-write]

What it runs (all with the release binary; nothing here is a model computation of its own):

1. `orechain run SCENARIO --replicates R --seed S --no-figures` for the baseline and every study
   scenario of STUDIES below (same run seed, so replicate r has the same seed in every scenario:
   common random numbers), and for graphite_controls.ron its own reference without the ban;
2. `orechain compare BASELINE_DIR STUDY_DIR` for each study (paired by seed); the trilateral
   comparison with its difference figures and `orechain report` (report.html);
3. `orechain sweep scenarios/sweeps/trilateral_levers.ron` (2^5 lever factorial, attribution.csv);
4. `orechain sweep scenarios/sweeps/finance_race.ron` (15 budget points, common random numbers).

Then it writes the markdown tables into docs/scenarios.md between the markers

    <!-- BEGIN GENERATED <block> (docs/scripts/studies.py) -->
    <!-- END GENERATED <block> -->

(every block of BLOCKS must be present exactly once; the text outside the markers is never
touched), copies the figures the page shows to docs/figures/studies/ and the trilateral report to
docs/reports/. `--reuse` keeps the outputs of a previous run whose folder exists (to re-write the
tables without re-running); `--no-write` runs and checks without touching docs/.

Python standard library only. Statistics: a cell `m [lo, hi]` of an ensemble is the median with
the 5th and 95th percentiles over seeds (type-7 quantiles, as orechain's metrics_annual.csv); a
paired difference `d [lo, hi]` is the mean of B - A over seeds with its 95 % Student-t interval,
marked `*` when the interval excludes zero (as orechain's comparison_annual.csv).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scenarios.md"
FIG_DIR = ROOT / "docs" / "figures" / "studies"
REPORT_DIR = ROOT / "docs" / "reports"

# Every study scenario compared with the baseline (file stem -> short label). A test
# (tests/it/studies_doc.rs) checks that this list and the scenario files agree.
STUDIES = [
    "trilateral",
    "finance_race",
    "value_added_mandates",
    "export_controls",
    "standards_and_conflict",
    "midstream_latam",
    "graphite_controls",
]
# Scenario files that are not studies (small worlds for tests) and the baseline itself.
# stockpile.ron (export_controls.ron plus US/Japanese rare-earth stockpiles) has a hand-run section in
# docs/scenarios.md (10 paired seeds against the same file without stockpiles); not generated yet.
# nze_demand.ron (the baseline under IEA NZE demand, issue 15) has a hand-run paragraph; not
# generated yet.
# recycling_collection.ron (US and Japanese collection-rate lever, issue 16) has a hand-run section
# (10 paired seeds against the baseline with `orechain compare`); not generated yet.
NOT_STUDIES = ["baseline", "tiny", "invest_test", "stockpile", "nze_demand", "recycling_collection"]
SWEEPS = ["trilateral_levers", "finance_race"]

# graphite_controls.ron is a self-contained world: its reference is the same world without the ban.
GRAPHITE_NO_BAN = ["policies.chn_graphite_ban.start=2041.0"]
# finance_race.ron at zero and at the sweep's top US+JP budgets (China's at the baseline 4 bn):
# full ensembles, so the mechanism (whose capacity moves where) can be read by host and owner.
FINANCE_ZERO = ["financiers.dfc.annual_budget_usd=0", "financiers.jbic.annual_budget_usd=0",
                "financiers.jogmec.annual_budget_usd=0"]
FINANCE_TOP = ["financiers.dfc.annual_budget_usd=4.0e9", "financiers.jbic.annual_budget_usd=3.2e9",
               "financiers.jogmec.annual_budget_usd=7.2e9"]
EXTRA = {
    "graphite_controls_no_ban": ("graphite_controls", GRAPHITE_NO_BAN),
    "finance_race_usjp_zero": ("finance_race", FINANCE_ZERO),
    "finance_race_usjp_top": ("finance_race", FINANCE_TOP),
}

# The generated blocks of docs/scenarios.md, in page order.
BLOCKS = [
    "provenance",
    "baseline",
    "trilateral_levels",
    "trilateral_attribution",
    "trilateral_compare",
    "finance_race",
    "value_added_mandates",
    "export_controls",
    "standards_and_conflict",
    "midstream_latam",
    "graphite_controls",
    "core_changes",
]

MINERALS = ["lithium", "cobalt", "nickel", "graphite", "copper", "rare_earths"]
MINERAL_LABEL = {
    "lithium": "lithium",
    "cobalt": "cobalt",
    "nickel": "nickel",
    "graphite": "graphite",
    "copper": "copper",
    "rare_earths": "rare earths",
}
YEARS = [2030, 2035, 2040]
LATAM = ["CHL", "ARG", "BOL", "PER"]
LEVERS = ["agreement", "sourcing_rule", "finance", "midstream", "host_alignment"]


# ----------------------------------------------------------------------------- statistics


def quantile(xs: list[float], p: float) -> float:
    """Type-7 quantile (Hyndman & Fan 1996), as orechain's summaries."""
    s = sorted(xs)
    h = (len(s) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def sd(xs: list[float]) -> float:
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _betacf(a: float, b: float, x: float) -> float:
    # Continued fraction of the incomplete beta function (Numerical Recipes, 3rd ed., §6.4).
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c
        c = c if abs(c) > 1e-300 else 1e-300
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c
        c = c if abs(c) > 1e-300 else 1e-300
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1 - x) / b


def t_cdf(t: float, df: int) -> float:
    x = df / (df + t * t)
    tail = 0.5 * _betai(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: int) -> float:
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def paired(a: list[float], b: list[float]) -> dict:
    """Mean of b - a with its 95 % Student-t interval, over pairs (same seed)."""
    d = [y - x for x, y in zip(a, b)]
    n = len(d)
    m = mean(d)
    s = sd(d) if n > 1 else float("nan")
    half = t_quantile(0.975, n - 1) * s / math.sqrt(n) if n > 1 else float("nan")
    return {
        "n": n,
        "mean_a": mean(a),
        "mean_b": mean(b),
        "diff": m,
        "lo": m - half,
        "hi": m + half,
        "sig": n > 1 and (m - half > 0 or m + half < 0),
        "t": m / (s / math.sqrt(n)) if n > 1 and s > 0 else float("nan"),
    }


# ----------------------------------------------------------------------------- running


def run(cmd: list[str], log: list[str]) -> None:
    t0 = time.monotonic()
    shown = " ".join(str(c) for c in cmd)
    print(f"studies: {shown}", file=sys.stderr, flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    log.append(f"{time.monotonic() - t0:7.1f} s  {shown}")


def run_parallel(cmds: list[list], jobs: int, log: list[str]) -> None:
    t0 = time.monotonic()
    pending = list(cmds)
    live: list[tuple[subprocess.Popen, str]] = []
    failed = []
    while pending or live:
        while pending and len(live) < max(1, jobs):
            cmd = [str(c) for c in pending.pop(0)]
            print(f"studies: {' '.join(cmd)}", file=sys.stderr, flush=True)
            live.append((subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL), " ".join(cmd)))
        time.sleep(0.2)
        for proc, shown in list(live):
            if proc.poll() is not None:
                live.remove((proc, shown))
                if proc.returncode != 0:
                    failed.append(shown)
    if failed:
        raise SystemExit("studies: failed: " + "; ".join(failed))
    log.append(f"{time.monotonic() - t0:7.1f} s  {len(cmds)} comparisons, {jobs} at a time")


def run_all(args) -> list[str]:
    out = Path(args.out)
    log: list[str] = []
    b = args.bin
    j = str(args.jobs)
    r = str(args.replicates)

    def fresh(p: Path) -> bool:
        return not (args.reuse and (p / "manifest.json").exists())

    ens = out / "ensembles"
    ens.mkdir(parents=True, exist_ok=True)
    for name in ["baseline"] + STUDIES:
        d = ens / name
        if fresh(d):
            seed = [] if name == "graphite_controls" else ["--seed", "2024"]
            run([b, "run", f"scenarios/{name}.ron", "--replicates", r, "-j", j, "--no-figures",
                 "--force", "-o", d] + seed, log)
    for name, (scenario, overrides) in EXTRA.items():
        d = ens / name
        if fresh(d):
            sets = [x for s in overrides for x in ("--set", s)]
            seed = [] if scenario == "graphite_controls" else ["--seed", "2024"]
            run([b, "run", f"scenarios/{scenario}.ron", "--replicates", r, "-j", j,
                 "--no-figures", "--force", "-o", d] + seed + sets, log)

    cmp = out / "compare"
    cmp.mkdir(parents=True, exist_ok=True)
    todo = []
    for name in STUDIES:
        d = cmp / name
        ref = ens / ("graphite_controls_no_ban" if name == "graphite_controls" else "baseline")
        if fresh(d):
            figs = [] if name == "trilateral" else ["--no-figures"]
            todo.append([b, "compare", ref, ens / name, "--force", "-o", d] + figs)
    # A comparison of two folders is single-threaded: run `-j` of them at a time.
    run_parallel(todo, args.jobs, log)
    if not args.reuse or not (cmp / "trilateral" / "report.html").exists():
        run([b, "report", cmp / "trilateral"], log)

    for sweep in SWEEPS:
        d = out / "sweeps" / sweep
        if fresh(d):
            d.parent.mkdir(parents=True, exist_ok=True)
            run([b, "sweep", f"scenarios/sweeps/{sweep}.ron", "-j", j, "--no-figures", "--force",
                 "-o", d], log)
    return log


# ----------------------------------------------------------------------------- reading outputs

# Per-step amounts that metrics_annual.csv sums over the year (absent = 0); every other metric is
# the mean over the year's steps that have the row (docs/output-format.md, Ensembles).
SUMMED = {"investment_usd", "state_finance_usd", "incidents"}


def parse_replicate(rep: Path, metrics: frozenset) -> tuple[dict, dict]:
    """One replicate's annual values of the wanted metrics, and its event counts by kind."""
    acc: dict[tuple, list] = {}
    with open(rep / "metrics.csv") as f:
        next(f)
        for line in f:
            _step, year, metric, rest = line.split(",", 3)
            if metric not in metrics:
                continue
            mineral, stage, nation, partner, value = rest.rstrip("\n").split(",")
            key = (metric, mineral, stage, nation, partner, int(float(year)))
            a = acc.get(key)
            if a is None:
                acc[key] = [float(value), 1]
            else:
                a[0] += float(value)
                a[1] += 1
    values = {k: (s if k[0] in SUMMED else s / c) for k, (s, c) in acc.items()}
    counts: dict[str, int] = defaultdict(int)
    with open(rep / "events.csv", newline="") as f:
        for row in csv.DictReader(f):
            counts[row["kind"]] += 1
    return values, dict(counts)


class Ensemble:
    """Per-seed annual values of the metric rows of one ensemble folder."""

    def __init__(self, folder: Path, parsed: dict[int, tuple[dict, dict]]):
        self.folder = folder
        self.seeds = sorted(parsed)
        # key (metric, mineral, stage, nation, partner, year) -> seed -> value
        self.values: dict[tuple, dict[int, float]] = defaultdict(dict)
        self.events: dict[int, dict[str, int]] = {}
        for seed, (values, counts) in parsed.items():
            for key, v in values.items():
                self.values[key][seed] = v
            self.events[seed] = counts

    @staticmethod
    def load_all(folders: dict[str, Path], metrics: set[str], jobs: int) -> dict[str, "Ensemble"]:
        """Read every replicate of every folder, `jobs` processes at a time."""
        from concurrent.futures import ProcessPoolExecutor
        tasks = []
        for name, folder in folders.items():
            with open(folder / "replicates.csv", newline="") as f:
                for r in csv.DictReader(f):
                    tasks.append((name, int(r["seed"]), folder / r["folder"]))
        with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(parse_replicate, [t[2] for t in tasks],
                                    [frozenset(metrics)] * len(tasks), chunksize=4))
        parsed: dict[str, dict] = defaultdict(dict)
        for (name, seed, _), res in zip(tasks, results):
            parsed[name][seed] = res
        return {name: Ensemble(folder, parsed[name]) for name, folder in folders.items()}

    def get(self, metric, mineral="", stage="", nation="", partner="", year=0) -> dict[int, float]:
        v = self.values.get((metric, mineral, stage, nation, partner, year), {})
        if metric in SUMMED:
            return {s: v.get(s, 0.0) for s in self.seeds}
        return v

    def series(self, pred, year: int) -> dict[int, float]:
        """Per seed, the sum over every row key that pred accepts (absent = 0)."""
        out = {s: 0.0 for s in self.seeds}
        for key, v in self.values.items():
            if key[5] == year and pred(key):
                for s, x in v.items():
                    out[s] += x
        return out

    def sum_years(self, per_year, years) -> dict[int, float]:
        out = {s: 0.0 for s in self.seeds}
        for y in years:
            for s, x in per_year(y).items():
                out[s] += x
        return out


def pair(a: dict[int, float], b: dict[int, float]) -> dict | None:
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    return paired([a[s] for s in seeds], [b[s] for s in seeds])


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_against_compare(a: Ensemble, b: Ensemble, cmp_dir: Path) -> None:
    """Our annual aggregation must be orechain's (comparison_annual.csv): checked on every row of
    the dependence and share metrics, so a change in the tool's definitions stops the script."""
    n = 0
    for row in read_csv(cmp_dir / "comparison_annual.csv"):
        if row["metric"] not in ("import_dependence", "share_location", "price"):
            continue
        key = (row["metric"], row["mineral"], row["stage"], row["nation"], row["partner"],
               int(row["year"]))
        p = pair(a.get(*key), b.get(*key))
        if p is None:
            continue
        want = float(row["mean_diff"])
        if abs(p["diff"] - want) > 1e-6 * max(1.0, abs(want)):
            raise SystemExit(f"studies: {cmp_dir}: {key} differs from comparison_annual.csv "
                             f"({p['diff']} vs {want})")
        n += 1
    if n == 0:
        raise SystemExit(f"studies: {cmp_dir}: no comparable rows")


# ----------------------------------------------------------------------------- formatting


def fmt(x: float, scale: float = 1.0, digits: int = 0, sign: bool = False) -> str:
    v = x * scale
    if abs(v) < 0.5 * 10 ** (-digits):
        v = 0.0
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    return s.replace("-", "−")


def cell_level(v: dict[int, float], scale=1.0, digits=0) -> str:
    xs = list(v.values())
    if not xs:
        return "—"
    return (f"{fmt(quantile(xs, .5), scale, digits)} "
            f"[{fmt(quantile(xs, .05), scale, digits)}, {fmt(quantile(xs, .95), scale, digits)}]")


def cell_diff(p: dict | None, scale=1.0, digits=1) -> str:
    if p is None:
        return "—"
    if p["diff"] == 0 and p["lo"] == 0 and p["hi"] == 0:
        return "0"
    star = " *" if p["sig"] else ""
    if max(abs(p["lo"]), abs(p["hi"])) * scale < 0.0005:
        return f"≈ 0 (\|Δ\| < 0.0005){star}"
    # a difference too small for the digits shown gets one more (never "+0.0 [+0.0, +0.0] *")
    while digits < 3 and max(abs(p["lo"]), abs(p["hi"])) * scale < 10 ** (1 - digits):
        digits += 1
    return (f"{fmt(p['diff'], scale, digits, True)} "
            f"[{fmt(p['lo'], scale, digits, True)}, {fmt(p['hi'], scale, digits, True)}]{star}")


def cell_pct(p: dict | None) -> str:
    """A paired difference as a percentage of A's mean, with its interval."""
    if p is None or p["mean_a"] == 0:
        return "—"
    base = abs(p["mean_a"])
    star = " *" if p["sig"] else ""
    return (f"{fmt(p['diff'] / base, 100, 1, True)} % "
            f"[{fmt(p['lo'] / base, 100, 1, True)}, {fmt(p['hi'] / base, 100, 1, True)}]{star}")


def table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < right_from else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


# ----------------------------------------------------------------------------- the blocks

CORE = {"import_dependence", "share_location"}
NOTE_CELLS = ("Cells: median [5th, 95th percentile] over the seeds; differences: mean of the paired "
              "differences (same seed) [95 % Student-t interval], `*` where the interval excludes 0.")


def dep(e: Ensemble, nation: str, mineral: str, year: int) -> dict[int, float]:
    return e.get("import_dependence", mineral, "refined", nation, "CHN", year)


def chn_share(e: Ensemble, mineral: str, year: int, stage: str = "refined") -> dict[int, float]:
    return e.get("share_location", mineral, stage, "CHN", "", year)


def group_share(e: Ensemble, mineral: str, nations: list[str], year: int) -> dict[int, float]:
    return e.series(lambda k: k[0] == "share_location" and k[1] == mineral and k[2] == "refined"
                    and k[3] in nations, year)


def capacity(e: Ensemble, mineral: str, stage: str, year: int, pred=lambda n: True):
    return e.series(lambda k: k[0] == "capacity" and k[1] == mineral and k[2] == stage
                    and pred(k[3]), year)


CORE_ROWS = [
    ("US dependence on China", lambda e, m, y: dep(e, "USA", m, y)),
    ("Japan dependence on China", lambda e, m, y: dep(e, "JPN", m, y)),
    ("China's refining share", lambda e, m, y: chn_share(e, m, y)),
]


def block_core_compare(a: Ensemble, b: Ensemble, label_a: str, label_b: str, years) -> list[str]:
    """Dependence and China's shares: A mean -> B mean: paired difference [CI], in points."""
    lines = []
    for title, f in CORE_ROWS:
        rows = []
        for m in MINERALS:
            cells = []
            for y in years:
                p = pair(f(a, m, y), f(b, m, y))
                cells.append("—" if p is None else
                             f"{fmt(p['mean_a'], 100)} → {fmt(p['mean_b'], 100)}: {cell_diff(p, 100)}")
            rows.append([MINERAL_LABEL[m]] + cells)
        lines += ["", f"**{title}, refined (%)** — {label_a} → {label_b}: mean paired "
                  f"difference in points [95 % interval]", ""]
        lines += table(["mineral"] + [str(y) for y in years], rows)
    return lines


def write_levels(levers_dir: Path) -> list[str]:
    rows = read_csv(levers_dir / "summary.csv")
    # point -> which levers are on
    points: dict[str, tuple] = {}
    for r in rows:
        points[r["point_id"]] = tuple(int(float(r[l])) for l in LEVERS)
    configs = [("baseline (none)", tuple(0 for _ in LEVERS))]
    configs += [(l.replace("_", " ") + " alone", tuple(int(i == j) for j in range(len(LEVERS))))
                for i, l in enumerate(LEVERS)]
    configs += [("all (trilateral)", tuple(1 for _ in LEVERS))]
    pid = {v: k for k, v in points.items()}
    stats = {(r["point_id"], r["outcome"], int(r["year"])): r for r in rows}
    out = [NOTE_CELLS.split(";")[0] + ", in %. From `scenarios/sweeps/trilateral_levers.ron` "
           "(the points with no lever, one lever and every lever on).", ""]
    groups = [("US import dependence on China, refined (% of consumption)", "usa_dep_chn_"),
              ("Japanese import dependence on China, refined (% of consumption)", "jpn_dep_chn_"),
              ("China's share of world refining by location (%)", "chn_refined_share_")]
    for title, prefix in groups:
        body, zero, same = [], [], []
        for m in MINERALS:
            mrows = []
            allzero = True
            for y in YEARS:
                cells = []
                for _, cfg in configs:
                    s = stats.get((pid[cfg], prefix + m, y))
                    if s is None or s["n"] == "0":
                        cells.append("—")
                        continue
                    if float(s["p95"]) != 0 or float(s["p05"]) != 0:
                        allzero = False
                    cells.append(f"{fmt(float(s['p50']), 100)} [{fmt(float(s['p05']), 100)}, "
                                 f"{fmt(float(s['p95']), 100)}]")
                mrows.append([MINERAL_LABEL[m], str(y)] + cells)
            if allzero:
                zero.append(MINERAL_LABEL[m])
            elif all(len(set(r[2:])) == 1 for r in mrows):
                same.append(f"{MINERAL_LABEL[m]} ({'; '.join(f'{r[1]}: {r[2]}' for r in mrows)})")
            else:
                body += mrows
        out += [f"**{title}**", ""]
        out += table(["mineral", "year"] + [c for c, _ in configs], body, right_from=2)
        if zero:
            out += ["", f"Zero in every configuration, year and seed: {', '.join(zero)}."]
        if same:
            out += ["", "The same median and percentiles in every configuration: " + ", ".join(same) + "."]
        out += [""]
    return out[:-1]


def write_attribution(levers_dir: Path, year: int = 2035) -> list[str]:
    rows = [r for r in read_csv(levers_dir / "attribution.csv") if int(r["year"]) == year]
    by = {(r["outcome"], r["term"], r["levers"]): r for r in rows}
    outcomes = []
    for r in rows:
        if r["outcome"] not in outcomes:
            outcomes.append(r["outcome"])

    def c(r):
        if r is None or r["ci_low"] == "":
            return "—"
        m, lo, hi = float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
        return cell_diff({"diff": m, "lo": lo, "hi": hi, "sig": lo > 0 or hi < 0}, 100)

    def label(o):
        for pre, who in (("usa_dep_chn_", "US dependence on China"),
                         ("jpn_dep_chn_", "Japan dependence on China"),
                         ("chn_refined_share_", "China's refining share")):
            if o.startswith(pre):
                return f"{who}, {MINERAL_LABEL[o[len(pre):]]}"
        return o

    body, zero = [], []
    for o in outcomes:
        cells = [c(by.get((o, "bundle", "")))] + [c(by.get((o, "main", l))) for l in LEVERS]
        if all(x == "0" for x in cells):
            zero.append(label(o))
            continue
        body.append([label(o)] + cells)
    out = [f"Effects in {year} in percentage points: the bundle (every lever against none) and each "
           "lever's factorial main effect (the mean over the 16 settings of the other levers of "
           "switching it on), mean over the replicates [95 % t-interval], `*` where it excludes 0.", ""]
    out += table(["outcome"] + ["bundle"] + [l.replace("_", " ") for l in LEVERS], body)
    if zero:
        out += ["", "No lever moves (exactly 0 in every replicate): " + "; ".join(zero) + "."]
    inter = []
    for r in rows:
        if r["term"] != "interaction" or r["ci_low"] == "":
            continue
        lo, hi = float(r["ci_low"]), float(r["ci_high"])
        if lo > 0 or hi < 0:
            inter.append((abs(float(r["mean"])), f"{label(r['outcome'])}: {r['levers'].replace(':', ' × ')} "
                          f"{c(r)}"))
    inter.sort(key=lambda x: -x[0])
    out += ["", f"Two-way interactions whose interval excludes 0 in {year} "
            f"({len(inter)}; largest first, points):"]
    out += [f"- {s}" for _, s in inter[:8]] or ["- none"]
    if len(inter) > 8:
        out += [f"- … and {len(inter) - 8} more in `attribution.csv`."]
    shap = []
    for o in outcomes:
        b = by.get((o, "bundle", ""))
        if b is None or b["ci_low"] == "" or not (float(b["ci_low"]) > 0 or float(b["ci_high"]) < 0):
            continue
        if abs(float(b["mean"])) < 0.001:
            continue
        parts = [f"{l.replace('_', ' ')} {fmt(float(by[(o, 'shapley', l)]['mean']), 100, 1, True)}"
                 for l in LEVERS if (o, "shapley", l) in by
                 and abs(float(by[(o, "shapley", l)]["mean"])) >= 0.0005]
        shap.append(f"- {label(o)} (bundle {fmt(float(b['mean']), 100, 1, True)}): " + ", ".join(parts))
    out += ["", f"Shapley shares of the significant bundle effects of at least 0.1 points in {year} "
            "(they sum to the bundle; levers below 0.05 points omitted):"] + (shap or ["- none"])
    return out


def write_trilateral_compare(base: Ensemble, tri: Ensemble, cmp_dir: Path) -> list[str]:
    out = [f"`orechain compare` of the baseline and trilateral ensembles ({len(base.seeds)} "
           "seeds, paired).", ""]
    out += block_core_compare(base, tri, "baseline", "trilateral", YEARS)[1:]
    rows = []
    for m in MINERALS:
        cells = []
        for y in YEARS:
            p = pair(base.get("price", m, "refined", "", "", y), tri.get("price", m, "refined", "", "", y))
            cells.append(cell_pct(p))
        rows.append([MINERAL_LABEL[m]] + cells)
    out += ["", "**World reference price of the refined mineral** — trilateral against baseline, "
            "change in % of the baseline mean [95 % interval]", ""]
    out += table(["mineral"] + [str(y) for y in YEARS], rows)
    q = pair(base.get("qualifying_share", "lithium", "refined", "USA", "", 2035),
             tri.get("qualifying_share", "lithium", "refined", "USA", "", 2035))
    if q is not None:
        out += ["", f"US `qualifying_share` of refined lithium in 2035: {fmt(q['mean_a'], 100)} % "
                f"in the baseline, {fmt(q['mean_b'], 100)} % under trilateral."]
    out += ["", "![Paired differences in US and Japanese import dependence on China, trilateral − "
            "baseline](figures/studies/trilateral_diff_import_dependence_CHN.png)",
            "![Paired difference in China's share of world refining, trilateral − baseline]"
            "(figures/studies/trilateral_diff_share_location_refined_CHN.png)",
            "",
            "The full comparison (every figure, the key tables, provenance) is "
            "[reports/trilateral_vs_baseline.html](reports/trilateral_vs_baseline.html), written by "
            "`orechain report`."]
    return out


FIN_CAPACITY = ["li_ref_chl_usa", "li_ref_arg_jpn", "li_ref_arg_aus", "li_ref_arg_can"]
FIN_TERMS = ["annual_budget_usd", "max_share", "concessional_rate", "loan_tenor_years",
             "loan_grace_years", "grant_share", "equity_share", "price_floor_ratio",
             "insurance_cover", "objective"]


def financier_terms(scenario_ron: Path) -> dict[str, dict[str, str]]:
    """The resolved financiers' instrument fields, read from a resolved scenario.ron."""
    text = scenario_ron.read_text()
    start = text.index("    financiers: [")
    end = text.index("\n    ],", start)
    out: dict[str, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for line in text[start:end].splitlines():
        s = line.strip().rstrip(",")
        if ":" not in s:
            continue
        k, v = (x.strip() for x in s.split(":", 1))
        v = v.strip('"')
        if k == "id":
            cur = out.setdefault(v, {})
        elif cur is not None:
            cur[k] = v
    return out


def write_finance(fr_dir: Path) -> tuple[list[str], dict]:
    design = read_csv(fr_dir / "design.csv")
    failed = {r["run_id"] for r in read_csv(fr_dir / "failures.csv")}
    runs = {r["run_id"]: r for r in design if r["run_id"] not in failed}
    val: dict[tuple, float] = {}
    for r in read_csv(fr_dir / "results.csv"):
        val[(r["run_id"], r["outcome"], int(r["year"]))] = float(r["value"])

    def v(run_id, outcome, year, default=None):
        return val.get((run_id, outcome, year), default)

    usjp = lambda r: float(r["dfc_budget"]) + float(r["jbic_budget"]) + float(r["jogmec_budget"])
    cn = lambda r: float(r["cdb_budget"]) + float(r["cexim_budget"])
    levels_us = sorted({usjp(r) for r in runs.values()})
    levels_cn = sorted({cn(r) for r in runs.values()})
    # (us, cn) -> seed -> per-run numbers
    cell: dict[tuple, dict[int, dict]] = defaultdict(dict)
    years = range(2026, 2041)
    for rid, r in runs.items():
        x = {
            # absent capacity_host_home rows mean no capacity of that pair (zero-filled)
            "cap": sum(v(rid, o, 2035, 0.0) for o in FIN_CAPACITY),
            "share35": v(rid, "chn_li_refined_share", 2035),
            "share30": v(rid, "chn_li_refined_share", 2030),
            "control35": v(rid, "chn_li_refined_control", 2035),
            "price35": v(rid, "li_refined_price", 2035),
        }
        for who, nations in (("usjp", ("usa", "jpn")), ("chn", ("chn",))):
            budget = sum(v(rid, f"{n}_finance_budget", y, 0.0) for n in nations for y in years)
            unspent = sum(v(rid, f"{n}_finance_unspent", y, 0.0) for n in nations for y in years)
            x[f"use_{who}"] = None if budget <= 0 else 1.0 - unspent / budget
        cell[(usjp(r), cn(r))][int(r["seed"])] = x
    n_seeds = min(len(c) for c in cell.values())

    def col(us, c, key):
        return {s: x[key] for s, x in cell[(us, c)].items() if x[key] is not None}

    bn = lambda x: fmt(x / 1e9, 1, 1).removesuffix(".0")
    head = ["US+JP budget (bn USD/yr)"]
    head += [f"partners' LatAm Li refining 2035, CN {bn(c)} (kt/yr)" for c in levels_cn]
    head += [f"CHN Li refining share 2035, CN {bn(c)} (%)" for c in levels_cn]
    head += ["US+JP budget used 2026–40 (%)", "CN budget used 2026–40 (%)"]
    body = []
    for us in levels_us:
        row = [bn(us)]
        for c in levels_cn:
            xs = list(col(us, c, "cap").values())
            row.append(f"{fmt(mean(xs), 1e-3, 1)} ± {fmt(sd(xs), 1e-3, 1)}")
        for c in levels_cn:
            xs = list(col(us, c, "share35").values())
            row.append(f"{fmt(mean(xs), 100, 1)} ± {fmt(sd(xs), 100, 1)}")
        for key in ("use_usjp", "use_chn"):
            xs = [x for c in levels_cn for x in col(us, c, key).values()]
            row.append("—" if not xs else f"{fmt(min(mean(list(col(us, c, key).values())) for c in levels_cn if col(us, c, key)), 100)}–"
                       f"{fmt(max(mean(list(col(us, c, key).values())) for c in levels_cn if col(us, c, key)), 100)}")
        body.append(row)
    out = [f"`orechain sweep scenarios/sweeps/finance_race.ron`: {len(levels_us)} US+JP × "
           f"{len(levels_cn)} Chinese budget levels × {n_seeds} replicates with common random numbers "
           f"({len(runs)} runs ok, {len(failed)} failed). Capacity and share: mean ± sd over the seeds. "
           "Partners' Latin American lithium refining = operating capacity × equity share of US, "
           "Japanese, Australian and Canadian owners in Chile and Argentina (`capacity_host_home` "
           "CHL×USA + ARG×JPN/AUS/CAN, the pairs the model produces; absent = 0). Budget used = "
           "1 − Σ unspent / Σ budget over 2026–2040 (range over the Chinese levels).", ""]
    out += table(head, body)
    # monotonicity and the top-vs-zero paired tests
    facts: dict = {"mono": {}, "cap": {}, "share": {}}
    lines = []
    for c in levels_cn:
        means = [mean(list(col(us, c, "cap").values())) for us in levels_us]
        mono = all(b >= a for a, b in zip(means, means[1:]))
        facts["mono"][c] = mono
        pc = pair(col(levels_us[0], c, "cap"), col(levels_us[-1], c, "cap"))
        ps = pair(col(levels_us[0], c, "share35"), col(levels_us[-1], c, "share35"))
        facts["cap"][c], facts["share"][c] = pc, ps
        lines.append([bn(c), "yes" if mono else "no",
                      cell_diff(pc, 1e-3, 1) + f" (t = {pc['t']:.1f})",
                      cell_diff(ps, 100, 2) + f" (t = {ps['t']:.1f})"])
    out += ["", f"Top ({bn(levels_us[-1])} bn USD/yr) against zero US+JP budget, paired over the "
            f"{n_seeds} common seeds (mean difference [95 % interval], `*` significant at 5 %):", ""]
    out += table(["CN budget (bn USD/yr)", "partners' capacity monotone in the mean",
                  "Δ partners' LatAm Li refining 2035 (kt/yr)", "Δ CHN Li refining share 2035 (points)"],
                 lines)
    terms = financier_terms(fr_dir / "scenario.ron")
    trow = []
    for fid, f in terms.items():
        trow.append([fid, f.get("nation", "")] + [f.get(k, "") for k in FIN_TERMS[1:]])
    out += ["", "Terms of the financiers (resolved `finance_race.ron`; the sweep varies only "
            "`annual_budget_usd`):", ""]
    out += table(["financier", "nation", "max share of capex", "concessional rate", "tenor (yr)",
                  "grace (yr)", "grant share", "equity share", "price floor ratio",
                  "insurance cover", "objective"], trow, right_from=2)
    facts["levels_us"], facts["levels_cn"] = levels_us, levels_cn
    return out, facts


def write_finance_mechanism(zero: Ensemble, top: Ensemble) -> list[str]:
    """Who owns the lithium refining that moves when US+JP budgets go from zero to the top."""
    rows = []
    keys = sorted({(k[3], k[4]) for k in list(zero.values) + list(top.values)
                   if k[0] == "capacity_host_home" and k[1] == "lithium" and k[2] == "refined"
                   and k[5] == 2035 and (k[3] in LATAM or k[3] == "CHN")})
    for host, home in keys:
        a = zero.get("capacity_host_home", "lithium", "refined", host, home, 2035)
        b = top.get("capacity_host_home", "lithium", "refined", host, home, 2035)
        a = {s: a.get(s, 0.0) for s in zero.seeds}
        b = {s: b.get(s, 0.0) for s in top.seeds}
        p = pair(a, b)
        if p is not None and p["sig"]:
            rows.append([host, home, cell_level(a, 1e-3, 1), cell_level(b, 1e-3, 1), cell_diff(p, 1e-3, 1)])
    tot = []
    for label, f in (("Latin America (CHL+ARG+BOL+PER), all owners",
                      lambda e: capacity(e, "lithium", "refined", 2035, lambda n: n in LATAM)),
                     ("China", lambda e: capacity(e, "lithium", "refined", 2035, lambda n: n == "CHN"))):
        a, b = f(zero), f(top)
        tot.append([label, "all", cell_level(a, 1e-3, 1), cell_level(b, 1e-3, 1), cell_diff(pair(a, b), 1e-3, 1)])
    out = ["", f"**Where the money goes** — `finance_race.ron` as ensembles ({len(zero.seeds)} seeds, "
           "paired) at zero and at the top US+JP budgets (China's at 4 bn USD/yr): lithium refining "
           "capacity in 2035 by host and owners' home (`capacity_host_home`, kt Li/yr), the pairs "
           "whose change is significant, and the totals:", ""]
    out += table(["host", "owners' home", "US+JP 0", "US+JP 14.4 bn", "difference"], rows + tot,
                 right_from=2)
    return out


def study_table(a: Ensemble, b: Ensemble, label_a: str, label_b: str, specs) -> tuple[list[str], dict]:
    """specs: (label, unit text, scale, digits, f(e, year) -> seed -> value, years)."""
    body, facts = [], {}
    for label, unit, scale, digits, f, years in specs:
        for y in years:
            va, vb = f(a, y), f(b, y)
            p = pair(va, vb)
            facts[(label, y)] = {"a": va, "b": vb, "p": p}
            body.append([f"{label} ({unit})", str(y), cell_level(va, scale, digits),
                         cell_level(vb, scale, digits), cell_diff(p, scale, digits)])
    return table(["quantity", "year", label_a, label_b, f"{label_b} − {label_a}"], body,
                 right_from=2), facts


def events_total(kind: str):
    return lambda e, y: {s: float(c.get(kind, 0)) for s, c in e.events.items()}


def incidents_in(nations=None, exclude=None):
    def f(e, _y):
        return e.sum_years(lambda y: e.series(
            lambda k: k[0] == "incidents" and (nations is None or k[3] in nations)
            and (exclude is None or k[3] not in exclude), y), range(2024, 2041))
    return f


def write_study(name: str, a: Ensemble, b: Ensemble) -> tuple[list[str], dict]:
    li = "lithium"
    if name == "value_added_mandates":
        specs = [
            ("Chile's lithium refining capacity", "kt Li/yr", 1e-3, 0,
             lambda e, y: e.get("capacity", li, "refined", "CHL", "", y), YEARS),
            ("Argentina's lithium refining capacity", "kt Li/yr", 1e-3, 0,
             lambda e, y: e.get("capacity", li, "refined", "ARG", "", y), YEARS),
            ("Bolivia's lithium refining capacity", "kt Li/yr", 1e-3, 1,
             lambda e, y: capacity(e, li, "refined", y, lambda n: n == "BOL"), [2035]),
            ("Latin America's share of lithium refining", "%", 100, 1,
             lambda e, y: group_share(e, li, LATAM, y), YEARS),
            ("China's share of lithium refining", "%", 100, 1,
             lambda e, y: chn_share(e, li, y), YEARS),
            ("Chile's refined lithium value added", "bn USD/yr", 1e-9, 2,
             lambda e, y: e.get("value_added_usd", li, "refined", "CHL", "", y), [2035]),
            ("Argentina's refined lithium value added", "bn USD/yr", 1e-9, 2,
             lambda e, y: e.get("value_added_usd", li, "refined", "ARG", "", y), [2035]),
            ("Domestic processing of Chile's lithium ore", "%", 100, 0,
             lambda e, y: e.get("domestic_processing", li, "ore", "CHL", "", y), [2035]),
            ("Domestic processing of Argentina's lithium ore", "%", 100, 0,
             lambda e, y: e.get("domestic_processing", li, "ore", "ARG", "", y), [2035]),
            ("Lithium investment in Chile, 2024–2040", "bn USD", 1e-9, 1,
             lambda e, y: e.sum_years(lambda yy: e.series(
                 lambda k: k[0] == "investment_usd" and k[1] == li and k[3] == "CHL", yy),
                 range(2024, 2041)), [2040]),
            ("Lithium investment in Argentina, 2024–2040", "bn USD", 1e-9, 1,
             lambda e, y: e.sum_years(lambda yy: e.series(
                 lambda k: k[0] == "investment_usd" and k[1] == li and k[3] == "ARG", yy),
                 range(2024, 2041)), [2040]),
            ("Rejected proposals, 2024–2040", "count", 1, 0, events_total("rejection"), [2040]),
        ]
    elif name == "export_controls":
        specs = []
        for m, years in (("graphite", [2027, 2030, 2035]), ("rare_earths", [2027, 2030, 2035]),
                         ("lithium", [2028, 2030, 2035])):
            for n in ("USA", "JPN", "CHN"):
                specs.append((f"{MINERAL_LABEL[m]} price paid by {n}", "kUSD/t", 1e-3, 1,
                              lambda e, y, m=m, n=n: e.get("price", m, "refined", n, "", y), years))
            # China's domestic price: what its sellers net. "Price paid by CHN" is the unit value
            # of China's purchases, a third of them imported for lithium (docs/ODD.md §7.6).
            specs.append((f"{MINERAL_LABEL[m]} producer price of CHN", "kUSD/t", 1e-3, 1,
                          lambda e, y, m=m: e.get("producer_price", m, "refined", "CHN", "", y), years))
            for n in ("USA", "JPN", "CHN"):
                specs.append((f"{MINERAL_LABEL[m]} consumption of {n}", "kt/yr", 1e-3, 1,
                              lambda e, y, m=m, n=n: e.get("consumption", m, "refined", n, "", y), years))
            specs.append((f"non-Chinese {MINERAL_LABEL[m]} refining capacity", "kt/yr", 1e-3, 0,
                          lambda e, y, m=m: capacity(e, m, "refined", y, lambda n: n != "CHN"),
                          [2030, 2035]))
        specs.append(("lithium quota rent earned by China", "m USD/yr", 1e-6, 0,
                      lambda e, y: e.series(lambda k: k[0] == "quota_rent_usd" and k[1] == "lithium"
                                            and k[3] == "CHN", y), [2030]))
    elif name == "standards_and_conflict":
        specs = [
            ("incidents 2024–2040, world", "count", 1, 0, incidents_in(), [2040]),
            ("incidents 2024–2040, China", "count", 1, 0, incidents_in(["CHN"]), [2040]),
            ("incidents 2024–2040, Chile+Argentina+Bolivia+Peru", "count", 1, 0,
             incidents_in(LATAM), [2040]),
            ("rejected proposals 2024–2040", "count", 1, 0, events_total("rejection"), [2040]),
            ("approved proposals 2024–2040", "count", 1, 0, events_total("approval"), [2040]),
            ("completed projects 2024–2040", "count", 1, 0, events_total("completion"), [2040]),
            ("cancelled projects 2024–2040", "count", 1, 0, events_total("cancellation"), [2040]),
            ("world lithium refining capacity", "kt Li/yr", 1e-3, 0,
             lambda e, y: capacity(e, li, "refined", y), [2035]),
            ("Latin American lithium refining capacity", "kt Li/yr", 1e-3, 0,
             lambda e, y: capacity(e, li, "refined", y, lambda n: n in LATAM), [2035]),
            ("world copper mining capacity", "Mt Cu/yr", 1e-6, 2,
             lambda e, y: capacity(e, "copper", "ore", y), [2035]),
            ("world lithium refined price", "kUSD/t Li", 1e-3, 1,
             lambda e, y: e.get("price", li, "refined", "", "", y), [2035]),
        ]
    elif name == "midstream_latam":
        specs = [
            ("Latin America's share of lithium refining", "%", 100, 1,
             lambda e, y: group_share(e, li, LATAM, y), [2030, 2035, 2040]),
            ("Latin America's share of copper refining", "%", 100, 1,
             lambda e, y: group_share(e, "copper", LATAM, y), [2030, 2035, 2040]),
            ("China's share of lithium refining", "%", 100, 1,
             lambda e, y: chn_share(e, li, y), [2030, 2035, 2040]),
            ("Latin American lithium refining capacity", "kt Li/yr", 1e-3, 0,
             lambda e, y: capacity(e, li, "refined", y, lambda n: n in LATAM), [2035]),
            ("world lithium refined price", "kUSD/t Li", 1e-3, 1,
             lambda e, y: e.get("price", li, "refined", "", "", y), [2035]),
        ]
    elif name == "graphite_controls":
        g = "graphite"
        yrs = [2026, 2028, 2030, 2032]
        specs = [(f"graphite price paid by {n}", "kUSD/t", 1e-3, 2,
                  lambda e, y, n=n: e.get("price", g, "refined", n, "", y), yrs) for n in ("USA", "JPN", "CHN")]
        specs += [(f"graphite consumption of {n}", "kt/yr", 1e-3, 0,
                   lambda e, y, n=n: e.get("consumption", g, "refined", n, "", y), yrs) for n in ("USA", "JPN", "CHN")]
        specs += [("non-Chinese graphite refining capacity", "kt/yr", 1e-3, 0,
                   lambda e, y: capacity(e, g, "refined", y, lambda n: n != "CHN"), [2028, 2032])]
    elif name == "finance_race":
        specs = [
            ("China's share of lithium refining", "%", 100, 1,
             lambda e, y: chn_share(e, li, y), YEARS),
            ("lithium refining capacity outside China", "kt Li/yr", 1e-3, 0,
             lambda e, y: capacity(e, li, "refined", y, lambda n: n != "CHN"), [2035]),
            ("world lithium refined price", "kUSD/t Li", 1e-3, 1,
             lambda e, y: e.get("price", li, "refined", "", "", y), [2035]),
        ]
    else:
        raise SystemExit(f"studies: no table for {name}")
    ref = "no ban" if name == "graphite_controls" else "baseline"
    lines, facts = study_table(a, b, ref, name, specs)
    return [NOTE_CELLS, ""] + lines, facts


def write_core_changes(base: Ensemble, studies: dict[str, Ensemble]) -> list[str]:
    body, quiet = [], []
    for name, e in studies.items():
        if name == "graphite_controls":
            continue
        n0 = len(body)
        for title, f in CORE_ROWS:
            for m in MINERALS:
                ps = [pair(f(base, m, y), f(e, m, y)) for y in YEARS]
                if any(p is not None and p["sig"] and abs(p["diff"]) >= 0.005 for p in ps):
                    body.append([name, f"{title}, {MINERAL_LABEL[m]}"] + [cell_diff(p, 100) for p in ps])
        if len(body) == n0:
            quiet.append(name)
    out = ["Every study against the baseline on the question's outcomes (US and Japanese import "
           "dependence on China for refined minerals, China's share of world refining), paired over "
           "the same seeds; only the rows where some year's difference is significant and at least "
           "0.5 points are listed (mean difference in points [95 % interval]).", ""]
    out += table(["study", "outcome"] + [str(y) for y in YEARS], body, right_from=2)
    if quiet:
        out += ["", "No significant change of at least 0.5 points in any of these outcomes: "
                + ", ".join(quiet) + "."]
    return out


def write_baseline(base: Ensemble) -> list[str]:
    years = [2024] + YEARS
    out = [NOTE_CELLS.split(";")[0] + f" ({len(base.seeds)} seeds), in %.", ""]
    for title, f in CORE_ROWS:
        rows = [[MINERAL_LABEL[m]] + [cell_level(f(base, m, y), 100) for y in years] for m in MINERALS]
        out += [f"**{title}, refined (%)**", ""] + table(["mineral"] + [str(y) for y in years], rows) + [""]
    rows = []
    for m in MINERALS:
        p0 = base.get("price", m, "refined", "", "", 2024)
        cells = []
        for y in YEARS:
            py = base.get("price", m, "refined", "", "", y)
            cells.append(cell_level({s: py[s] / p0[s] for s in py if s in p0 and p0[s] > 0}, 1, 2))
        rows.append([MINERAL_LABEL[m]] + cells)
    out += ["**World refined price relative to 2024 (ratio)**", ""]
    out += table(["mineral"] + [str(y) for y in YEARS], rows)
    return out


def write_provenance(out_dir: Path, args, elapsed: float) -> list[str]:
    import json
    m = json.loads((out_dir / "ensembles" / "baseline" / "manifest.json").read_text())
    version = m.get("version", "?")
    git = str(m.get("git_hash", "?"))[:10]
    seeds = read_csv(out_dir / "ensembles" / "baseline" / "replicates.csv")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    took = (f"The runs took {elapsed / 60:.1f} min with `-j {args.jobs}` on {os.cpu_count()} cores "
            f"(load average {load:.1f} when the tables were written)." if not args.reuse else
            "The tables were re-written with `--reuse` from the outputs of an earlier full run.")
    return [
        f"Generated by `python3 docs/scripts/studies.py -j {args.jobs}` with orechain {version} "
        f"(git {git}); {args.replicates} replicates per scenario and per sweep point, replicate seeds "
        f"derived from run seed 2024 (`{seeds[0]['seed']}`, `{seeds[1]['seed']}`, …; graphite_controls "
        f"from its own seed 1), identical in every scenario and sweep point (common random numbers). "
        + took
    ]


# ----------------------------------------------------------------------------- docs/scenarios.md


def begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name} (docs/scripts/studies.py) -->"


def end(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


def check_markers(text: str) -> None:
    """Every block of BLOCKS exactly once, in order, BEGIN before END; no unknown block."""
    pos = -1
    for name in BLOCKS:
        for m in (begin(name), end(name)):
            if text.count(m) != 1:
                raise SystemExit(f"studies: docs/scenarios.md must hold `{m}` exactly once")
        b, e = text.index(begin(name)), text.index(end(name))
        if not pos < b < e:
            raise SystemExit(f"studies: docs/scenarios.md: block `{name}` out of order")
        pos = e
    if text.count("<!-- BEGIN GENERATED") != len(BLOCKS):
        raise SystemExit("studies: docs/scenarios.md has a generated block this script does not know")


def replace_blocks(text: str, blocks: dict[str, list[str]]) -> str:
    check_markers(text)
    for name in BLOCKS:
        b = text.index(begin(name)) + len(begin(name))
        e = text.index(end(name))
        text = text[:b] + "\n" + "\n".join(blocks[name]).rstrip() + "\n" + text[e:]
    check_markers(text)
    return text


def write_doc(out_dir: Path, args, elapsed: float) -> None:
    text = DOC.read_text()
    check_markers(text)
    want = {"import_dependence", "share_location", "capacity", "price", "consumption",
            "value_added_usd", "domestic_processing", "investment_usd", "incidents",
            "quota_rent_usd", "qualifying_share", "capacity_host_home", "producer_price"}
    ens = out_dir / "ensembles"
    names = ["baseline"] + list(EXTRA) + STUDIES
    loaded = Ensemble.load_all({n: ens / n for n in names}, want, args.jobs)
    base, no_ban = loaded["baseline"], loaded["graphite_controls_no_ban"]
    studies = {name: loaded[name] for name in STUDIES}
    for name, e in studies.items():
        ref = no_ban if name == "graphite_controls" else base
        if name != "graphite_controls" and e.seeds != base.seeds:
            raise SystemExit(f"studies: {name}: seeds do not pair with the baseline's")
        check_against_compare(ref, e, out_dir / "compare" / name)
    blocks: dict[str, list[str]] = {}
    blocks["provenance"] = write_provenance(out_dir, args, elapsed)
    blocks["baseline"] = write_baseline(base)
    levers = out_dir / "sweeps" / "trilateral_levers"
    blocks["trilateral_levels"] = write_levels(levers)
    blocks["trilateral_attribution"] = write_attribution(levers)
    blocks["trilateral_compare"] = write_trilateral_compare(base, studies["trilateral"],
                                                            out_dir / "compare" / "trilateral")
    blocks["finance_race"], _ = write_finance(out_dir / "sweeps" / "finance_race")
    blocks["finance_race"] += write_finance_mechanism(loaded["finance_race_usjp_zero"],
                                                      loaded["finance_race_usjp_top"])
    blocks["finance_race"] += ["", "**`finance_race.ron` itself (baseline budgets, China's banks "
                               "with a supply-security objective, the marginal hydroxide prospects) "
                               "against the baseline:**", ""]
    blocks["finance_race"] += write_study("finance_race", base, studies["finance_race"])[0]
    for name in ("value_added_mandates", "export_controls", "standards_and_conflict",
                 "midstream_latam", "graphite_controls"):
        ref = no_ban if name == "graphite_controls" else base
        blocks[name] = write_study(name, ref, studies[name])[0]
    blocks["core_changes"] = write_core_changes(base, studies)
    DOC.write_text(replace_blocks(text, blocks))
    FIG_DIR.mkdir(parents=True, exist_ok=True)
    for fig in ("diff_import_dependence_CHN", "diff_share_location_refined_CHN"):
        shutil.copyfile(out_dir / "compare" / "trilateral" / "figures" / f"{fig}.png",
                        FIG_DIR / f"trilateral_{fig}.png")
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out_dir / "compare" / "trilateral" / "report.html",
                    REPORT_DIR / "trilateral_vs_baseline.html")
    print(f"studies: wrote {DOC.relative_to(ROOT)}, {FIG_DIR.relative_to(ROOT)}/, "
          f"{REPORT_DIR.relative_to(ROOT)}/", file=sys.stderr)


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Relative to the repository (the commands run there), so that the manifests and the
    # committed report name `output/studies/...`, not this machine's folders.
    ap.add_argument("--bin", default="target/release/orechain")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--out", default="output/studies")
    ap.add_argument("--reuse", action="store_true", help="keep outputs of a previous run")
    ap.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = ap.parse_args()
    os.chdir(ROOT)
    if args.replicates < 20:
        print("studies: fewer than 20 replicates is not a study (issue 17)", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    log = run_all(args)
    for line in log:
        print(line, file=sys.stderr)
    elapsed = time.monotonic() - t0
    print(f"studies: runs took {elapsed:.0f} s", file=sys.stderr)
    if not args.no_write:
        write_doc(Path(args.out), args, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
