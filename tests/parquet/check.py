#!/usr/bin/env python3
"""Issue 19: the Parquet copies (`--format parquet`) read back with pyarrow equal their CSV tables.

Usage: check.py ORECHAIN_BINARY (built with `--features parquet`).

Runs a scenario, an ensemble and a sweep with `--format parquet` into a temporary folder, then reads
every Parquet file with pyarrow and the CSV it was made from with Python's csv module and checks,
cell by cell: the same columns in the same order, the same number of rows, numbers exactly equal
(the CSV holds shortest round-trip text, so float(text) is the model's f64), empty cells as nulls,
text equal; the column types of docs/output-format.md (step int64, year double, seed uint64, ids
text); and that manifest.json lists each Parquet file with its size and SHA-256. Exits 1 on the
first difference, naming the file, row and column. Prints "N passed, 0 failed" at the end.
"""
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(sys.argv[1])
checked = 0


def fail(msg):
    print(f"parquet check FAILED: {msg}", file=sys.stderr)
    print(f"{checked} passed, 1 failed")
    sys.exit(1)


def run(*args):
    r = subprocess.run([BIN, *args], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"`orechain {' '.join(args)}` exited {r.returncode}: {r.stderr.strip()[:500]}")


EXPECTED_TYPES = {
    "step": pa.int64(),
    "run_id": pa.int64(),
    "replicate": pa.int64(),
    "seed": pa.uint64(),
    "year": pa.float64(),
    "value": pa.float64(),
    "quantity": pa.float64(),
    "value_usd": pa.float64(),
    "metric": pa.string(),
    "nation": pa.string(),
    "mineral": pa.string(),
    "outcome": pa.string(),
}


def compare(csv_path, parquet_path):
    global checked
    table = pq.read_table(parquet_path)
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if table.column_names != header:
        fail(f"{parquet_path}: columns {table.column_names} != CSV header {header}")
    if table.num_rows != len(body):
        fail(f"{parquet_path}: {table.num_rows} rows, CSV has {len(body)}")
    for name, typ in EXPECTED_TYPES.items():
        if name in header and table.schema.field(name).type != typ:
            fail(f"{parquet_path}: column {name} is {table.schema.field(name).type}, expected {typ}")
    for j, name in enumerate(header):
        col = table.column(j).to_pylist()
        typ = table.schema.field(j).type
        for i, (cell, got) in enumerate(zip((r[j] for r in body), col)):
            where = f"{parquet_path} row {i + 2} column {name}"
            if cell == "":
                if got is not None:
                    fail(f"{where}: empty CSV cell but Parquet holds {got!r}")
            elif pa.types.is_floating(typ):
                want = float(cell)
                if got is None or not (got == want or (math.isnan(want) and math.isnan(got))):
                    fail(f"{where}: CSV {cell} != Parquet {got!r}")
            elif pa.types.is_integer(typ):
                if got != int(cell):
                    fail(f"{where}: CSV {cell} != Parquet {got!r}")
            elif got != cell:
                fail(f"{where}: CSV {cell!r} != Parquet {got!r}")
    checked += 1


def manifest_lists(folder, rel):
    global checked
    with open(os.path.join(folder, "manifest.json")) as f:
        files = {e["path"]: e for e in json.load(f)["files"]}
    if rel not in files:
        fail(f"{folder}/manifest.json does not list {rel}")
    data = open(os.path.join(folder, rel), "rb").read()
    if files[rel]["bytes"] != len(data) or files[rel]["sha256"] != hashlib.sha256(data).hexdigest():
        fail(f"{folder}/manifest.json: size or SHA-256 of {rel} differs from the file")
    checked += 1


with tempfile.TemporaryDirectory() as tmp:
    # One run of the calibrated baseline (every table non-trivial).
    out = os.path.join(tmp, "run")
    run("run", "scenarios/baseline.ron", "-o", out, "--no-figures", "--format", "parquet")
    for t in ("metrics", "flows", "events"):
        compare(os.path.join(out, f"{t}.csv"), os.path.join(out, f"{t}.parquet"))
        manifest_lists(out, f"{t}.parquet")
    # Same run again: byte-identical Parquet files.
    again = os.path.join(tmp, "again")
    run("run", "scenarios/baseline.ron", "-o", again, "--no-figures", "--format", "parquet")
    for t in ("metrics", "flows", "events"):
        a = open(os.path.join(out, f"{t}.parquet"), "rb").read()
        b = open(os.path.join(again, f"{t}.parquet"), "rb").read()
        if a != b:
            fail(f"{t}.parquet differs between two runs of the same scenario and seed")
        checked += 1

    # An ensemble: each replicate's tables.
    ens = os.path.join(tmp, "ensemble")
    run("run", "scenarios/tiny.ron", "--replicates", "2", "-j", "2", "-o", ens, "--no-figures",
        "--format", "parquet")
    with open(os.path.join(ens, "replicates.csv")) as f:
        folders = [r["folder"] for r in csv.DictReader(f)]
    for d in folders:
        for t in ("metrics", "flows", "events"):
            compare(os.path.join(ens, d, f"{t}.csv"), os.path.join(ens, d, f"{t}.parquet"))
            manifest_lists(ens, f"{d}/{t}.parquet")

    # A sweep: results.parquet with the seed as uint64 and the parameters typed.
    sw = os.path.join(tmp, "sweep")
    run("sweep", "scenarios/sweeps/tiny_grid.ron", "-o", sw, "-j", "2", "--no-figures",
        "--format", "parquet")
    compare(os.path.join(sw, "results.csv"), os.path.join(sw, "results.parquet"))
    manifest_lists(sw, "results.parquet")

print(f"{checked} passed, 0 failed")
