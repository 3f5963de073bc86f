"""Overhead of a run through Python against the CLI run (issue 20), at the baseline.

    python benches/python_overhead.py [target/release/orechain] [REPEATS]

Alternates, REPEATS times: the CLI (`orechain run --no-figures -o DIR --force`, a process of its
own, wall time) and, in this process, `orechain.run(orechain.load())` with all four tables
turned into DataFrames (load + run + DataFrames, wall time). Prints medians, quartiles and the
load average. The Python package must be installed (see docs/python.md).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

import orechain


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/orechain"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    out = os.path.join(tempfile.mkdtemp(), "run")
    cli, py, py_run_only = [], [], []
    load_before = os.getloadavg()
    for _ in range(2):  # warm-up: page cache, allocator
        subprocess.run([binary, "run", "--no-figures", "-o", out, "--force"], check=True, capture_output=True)
        orechain.run(orechain.load()).tables
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([binary, "run", "--no-figures", "-o", out, "--force"], check=True, capture_output=True)
        cli.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = orechain.run(orechain.load())
        t_run = time.perf_counter()
        tables = res.tables
        py.append(time.perf_counter() - t)
        py_run_only.append(t_run - t)
        assert len(tables["metrics"]) > 0
    load_after = os.getloadavg()
    c, p, r = quartiles(cli), quartiles(py), quartiles(py_run_only)
    print(f"repeats {repeats}, load average before {load_before[0]:.2f}, after {load_after[0]:.2f}, cores {os.cpu_count()}")
    print(f"CLI run --no-figures (process wall):  median {c[1]*1e3:.1f} ms  (IQR {c[0]*1e3:.1f}-{c[2]*1e3:.1f})")
    print(f"Python load+run+DataFrames:          median {p[1]*1e3:.1f} ms  (IQR {p[0]*1e3:.1f}-{p[2]*1e3:.1f})")
    print(f"  of which load+run (no DataFrames): median {r[1]*1e3:.1f} ms")
    print(f"overhead (Python / CLI - 1): {100*(p[1]/c[1]-1):+.1f} %")


if __name__ == "__main__":
    main()
