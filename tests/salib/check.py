#!/usr/bin/env python3
"""Agreement of orechain's Sobol' indices with SALib's `sobol.analyze` (issue 17).

Usage: tests/salib/check.py ORECHAIN_BINARY [SWEEP_FILE]

Runs the Sobol' sweep `tests/salib/sobol_tiny.ron` (or SWEEP_FILE) with orechain, then hands
SALib the sweep's own exports: `salib_problem.json` as the problem and, for every outcome and
year, the `mean` column of `summary.csv` in point order as Y (the Saltelli layout orechain
writes is the one `sobol.analyze(..., calc_second_order=False)` expects). It asserts, for every
parameter, outcome and year:

1. the point estimates agree within the combined intervals:
   |S_orechain - S_SALib| <= conf_orechain + conf_SALib, for S1 and ST;
2. the interval half-widths agree in size: 0.6 <= conf_orechain / conf_SALib <= 1.6 whenever
   SALib's is above 1e-9 (both are z * sd of a 1000-resample bootstrap over base rows; the
   resamples differ, so the ratio has Monte Carlo error of a few per cent, and a wrong
   bootstrap — resampling runs instead of base rows, a missing z, sd of the mean — misses by a
   factor of 2 or more);
3. the problem's bounds describe the design: a `levels` parameter spans [0, count] (level index)
   and an `integer` range [min, max + 1].

The indices differ slightly by construction: SALib standardises Y over all n (k + 2) outputs
before the first-order estimator, orechain centres f(B) on the mean of f(A) and f(B); both are
Saltelli et al. (2010) estimators of the same index.

Exits 1 on any disagreement (never skips: a missing SALib is a failure, install it with
`pip install SALib numpy`). Needs SALib >= 1.4 (the `seed` argument).
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

import numpy as np
from SALib.analyze import sobol

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    sweep = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "sobol_tiny.ron"))
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sweep")
        subprocess.run([binary, "sweep", sweep, "-o", out, "--no-figures"], check=True)
        with open(os.path.join(out, "salib_problem.json")) as f:
            problem = json.load(f)
        k = problem["num_vars"]

        # 3. bounds of levels and integer parameters.
        for desc, bounds in zip(problem["orechain_parameters"], problem["bounds"]):
            if desc["kind"] == "levels" and bounds != [0.0, float(len(desc["levels"]))]:
                failures.append(f"{desc['name']}: levels bounds {bounds}")
            if desc["kind"] == "integer" and not bounds[1] > bounds[0]:
                failures.append(f"{desc['name']}: integer bounds {bounds}")

        # Y per (outcome, year), in point order.
        series = defaultdict(dict)
        with open(os.path.join(out, "summary.csv")) as f:
            for row in csv.DictReader(f):
                series[(row["outcome"], row["year"])][int(row["point_id"])] = float(row["mean"])
        ours = defaultdict(dict)
        with open(os.path.join(out, "sensitivity.csv")) as f:
            for row in csv.DictReader(f):
                ours[(row["outcome"], row["year"])][row["parameter"]] = row

        checked = 0
        for key, by_point in sorted(series.items()):
            y = np.array([by_point[i] for i in range(len(by_point))])
            if key not in ours:
                failures.append(f"{key}: no orechain indices")
                continue
            s = sobol.analyze(
                problem, y, calc_second_order=False, num_resamples=1000, conf_level=0.95, seed=1
            )
            for i, name in enumerate(problem["names"]):
                mine = ours[key][name]
                for ours_col, theirs in (("first_order", "S1"), ("total_order", "ST")):
                    o, oc = float(mine[ours_col]), float(mine[ours_col + "_conf"])
                    t, tc = float(s[theirs][i]), float(s[theirs + "_conf"][i])
                    line = f"{key[0]} {key[1]} {name} {theirs}: orechain {o:.4f} ± {oc:.4f}, SALib {t:.4f} ± {tc:.4f}"
                    print(line)
                    checked += 1
                    if abs(o - t) > oc + tc:
                        failures.append("estimates disagree: " + line)
                    if tc > 1e-9 and not 0.6 <= oc / tc <= 1.6:
                        failures.append("interval widths disagree: " + line)
                    if tc <= 1e-9 and oc > 1e-9:
                        failures.append("SALib has no interval, orechain has: " + line)
        if checked == 0:
            failures.append("nothing was compared")
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    print(f"{checked} indices compared, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
