#!/usr/bin/env python3
"""Calibrate the baseline's bilateral trade preferences to 2024 trade (issue 14, stage 3).

Method (docs/ODD.md §7.6, "Calibration of the preference terms"): the Armington weight of origin h
in buyer b's purchases is a_hb = κ_h exp(β_hb). For every flow listed in data/trade_2024.csv (share
of the exporter's exports going to the importer) and, for the United States' rare-earth imports,
data/import_sources.csv (share of the importer's imports coming from the exporter, on pairs the
first file does not already target), the script runs the first year of the baseline with the
current β, measures the same share at step 0 and updates

    β_hb ← β_hb + damping · ln(target / model),

the log-linear fixed point of iterative proportional fitting (as in calibrating gravity models'
bilateral terms to observed trade; Anderson & van Wincoop 2003). It stops when every listed share
is within `--tolerance` of its target or after `--iterations` rounds, and writes the result into
scenarios/baseline.ron between the BEGIN/END markers. Flows the model cannot carry (an importer
with no refinery for that mineral) are reported and skipped.

Usage: python3 data/scripts/calibrate_trade.py target/release/orechain [--iterations 40]
Re-run it whenever the baseline's assets, costs, transport or market parameters change.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASELINE = os.path.join(ROOT, "scenarios", "baseline.ron")
BEGIN = "    // BEGIN trade_preferences"
END = "    // END trade_preferences"


# Rows of trade_2024.csv left out of the fit, with the reason (printed on every run).
EXCLUDED = {
    ("CHN", "rare_earths", "refined"): "basis is all rare-earth compounds and metals (2019); the "
    "model's refined stage is magnet rare-earth oxide, and the shares would send China more "
    "tonnes to the US than the US consumes; the US import shares of import_sources.csv "
    "(USGS) are fitted instead",
}


def targets():
    """(exporter, importer, mineral, stage, side, share, source) for every calibrated flow."""
    out = []
    seen = set()
    with open(os.path.join(ROOT, "data", "trade_2024.csv"), newline="") as f:
        for r in csv.DictReader(f):
            key = (r["exporter"], r["importer"], r["mineral"], r["stage"])
            if (key[0], key[2], key[3]) in EXCLUDED:
                continue
            seen.add(key)
            out.append(key + ("exports", float(r["share"]), "trade_2024.csv"))
    with open(os.path.join(ROOT, "data", "import_sources.csv"), newline="") as f:
        for r in csv.DictReader(f):
            # The US rare-earth import sources (the seed question's dependence number).
            if r["importer"] != "USA":
                continue
            key = (r["exporter"], r["importer"], r["mineral"], r["stage"])
            if key in seen:
                continue
            out.append(key + ("imports", float(r["share"]), "import_sources.csv"))
    return out


def entries_of(prefs, levels, nations):
    """Preference entries: the bilateral terms, and each exporter's level term on every link."""
    out = [(k, w) for k, w in prefs.items()]
    for (h, m, s), w in levels.items():
        for b in nations:
            if b != h:
                out.append(((h, b, m, s), w))
    merged = {}
    for k, w in out:
        merged[k] = merged.get(k, 0.0) + w
    return sorted(merged.items())


def nations_of_baseline():
    with open(BASELINE) as f:
        text = f.read()
    start = text.index("    nations: [")
    end = text.index("\n    firms: [", start)
    out = []
    for line in text[start:end].splitlines():
        line = line.strip()
        if line.startswith('(id: "'):
            out.append(line.split('"')[1])
    return out


def flows_at_step0(binary, prefs, levels, nations, workdir):
    """Tonnes by (from, to, mineral, stage) and production by (nation, mineral, stage) at step 0
    of the baseline with preference terms `prefs` and exporter level terms `levels`."""
    child = os.path.join(workdir, "child.ron")
    entries = ",\n        ".join(
        f'(from: "{h}", to: "{b}", mineral: "{m}", stage: "{s}", log_weight: {w!r})'
        for (h, b, m, s), w in entries_of(prefs, levels, nations)
    )
    with open(child, "w") as f:
        f.write(
            "Scenario(\n"
            f"    extends: {BASELINE!r},\n".replace("'", '"')
            + '    name: "calibrate_trade",\n'
            "    run: (start_year: 2024, end_year: 2024, steps_per_year: 4, seed: 2024),\n"
            f"    trade_preferences: [\n        {entries}\n    ],\n"
            ")\n"
        )
    out = os.path.join(workdir, "out")
    subprocess.run(
        [binary, "run", child, "-o", out, "--no-figures", "--force"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    production = {}
    with open(os.path.join(out, "metrics.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["step"] == "0" and r["metric"] == "production" and r["nation"]:
                production[(r["nation"], r["mineral"], r["stage"])] = float(r["value"])
    flows = {}
    with open(os.path.join(out, "flows.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["step"] != "0":
                continue
            key = (r["from"], r["to"], r["mineral"], r["stage"])
            flows[key] = flows.get(key, 0.0) + float(r["quantity"])
    return flows, production


def model_share(flows, target):
    h, b, m, s, side = target[:5]
    if side == "exports":
        total = sum(q for (f, t, mm, ss), q in flows.items() if f == h and t != h and mm == m and ss == s)
    else:
        total = sum(q for (f, t, mm, ss), q in flows.items() if t == b and f != b and mm == m and ss == s)
    return flows.get((h, b, m, s), 0.0) / total if total > 0 else None


def write_block(entries, rounds, worst):
    with open(BASELINE) as f:
        text = f.read()
    lines = [
        BEGIN + " (generated by data/scripts/calibrate_trade.py from data/trade_2024.csv and",
        "    // data/import_sources.csv; do not edit by hand: re-run the script. Log shifters β of the",
        "    // Armington weight of `from` in `to`'s purchases, docs/ODD.md §7.6. "
        + f"{rounds} rounds; largest remaining gap {worst:.3f}.)",
        "    trade_preferences: [",
    ]
    for (h, b, m, s), w in entries:
        lines.append(f'        (from: "{h}", to: "{b}", mineral: "{m}", stage: "{s}", log_weight: {w:.4f}),')
    lines += ["    ],", END]
    block = "\n".join(lines) + "\n"
    if BEGIN in text:
        start = text.index(BEGIN)
        end = text.index(END, start) + len(END) + 1
        text = text[:start] + block + text[end:]
    else:
        anchor = "    output: ("
        i = text.rindex(anchor)
        text = text[:i] + block + "\n" + text[i:]
    with open(BASELINE, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--damping", type=float, default=0.8)
    ap.add_argument("--level-gain", type=float, default=3.0)
    ap.add_argument("--bound", type=float, default=5.0, help="largest |β| allowed (e^5 ≈ 150)")
    args = ap.parse_args()
    tg = targets()
    nations = nations_of_baseline()
    prefs = {}
    levels = {}
    with tempfile.TemporaryDirectory() as work:
        flows, base_production = flows_at_step0(args.binary, prefs, levels, nations, work)
        # A flow the model cannot carry: no exports (or imports) of that commodity at all, or an
        # importer that buys none of it from anyone (no refinery for that ore, no consumers).
        buyers = {(t, m, s) for (f, t, m, s) in flows}
        sellers = {(f, m, s) for (f, t, m, s) in flows}
        skipped = [
            t
            for t in tg
            if model_share(flows, t) is None
            or (t[1], t[2], t[3]) not in buyers
            or (t[0], t[2], t[3]) not in sellers
        ]
        active = [t for t in tg if t not in skipped]
        infeasible = []
        for t in active:
            prefs.setdefault(t[:4], 0.0)
        worst = 1.0
        rounds = 0
        for rounds in range(1, args.iterations + 1):
            flows, production = flows_at_step0(args.binary, prefs, levels, nations, work)
            gaps = []
            for t in active:
                share = model_share(flows, t)
                target = t[5]
                gaps.append(abs(share - target))
                if share > 0 and target > 0:
                    step = args.damping * math.log(target / share)
                    prefs[t[:4]] = max(-args.bound, min(args.bound, prefs[t[:4]] + step))
            # Production at step 0 stays what it is without preference terms (the calibrated 2024
            # output): every exporter whose output moved gets a level term on all its links
            # (what the export shares leave free), updated in log of output ratios.
            for key, base in base_production.items():
                now = production.get(key, 0.0)
                if base > 0 and now > 0 and abs(now / base - 1.0) > 1e-4:
                    levels[key] = levels.get(key, 0.0) + args.level_gain * math.log(base / now)
                    gaps.append(abs(now / base - 1.0))
            # A term pushed to the bound cannot reach its target by a preference (the importer's
            # demand, or its other origins, make the share infeasible): drop it and report it.
            for t in list(active):
                if abs(prefs[t[:4]]) >= args.bound:
                    active.remove(t)
                    infeasible.append(t)
                    del prefs[t[:4]]
            worst = max(gaps)
            print(f"round {rounds}: largest gap {worst:.4f}", file=sys.stderr)
            if worst <= args.tolerance:
                break
        flows, production = flows_at_step0(args.binary, prefs, levels, nations, work)
        worst = max(abs(model_share(flows, t) - t[5]) for t in active)
        for t in active:
            share = model_share(flows, t)
            print(
                f"{t[0]}->{t[1]} {t[2]} {t[3]} ({t[4]}): target {t[5]:.3f} model {share:.3f}"
                f" beta {prefs[t[:4]]:+.3f}",
                file=sys.stderr,
            )
        for key, w in sorted(levels.items()):
            print(
                f"level {key[0]} {key[1]} {key[2]}: {w:+.3f}; output {production.get(key, 0):.0f}"
                f" (without preferences {base_production[key]:.0f})",
                file=sys.stderr,
            )
    for (exporter, mineral, stage), why in EXCLUDED.items():
        print(f"excluded: {exporter} {mineral} {stage} exports: {why}", file=sys.stderr)
    for t in infeasible:
        share = model_share(flows, t)
        print(
            f"not reproducible by a preference term (|beta| reached {args.bound}): {t[0]}->{t[1]}"
            f" {t[2]} {t[3]} ({t[4]}): target {t[5]:.3f}, model {share:.3f} without it",
            file=sys.stderr,
        )
    for t in skipped:
        print(f"skipped (the model has no such flow at step 0): {t[0]}->{t[1]} {t[2]} {t[3]}", file=sys.stderr)
    write_block(entries_of(prefs, levels, nations), rounds, worst)
    print(f"wrote {len(entries_of(prefs, levels, nations))} preference terms to {BASELINE}; largest gap {worst:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
