#!/usr/bin/env python3
"""Generate the baseline's `resource_base` block (supply from endowment, issue 15; docs/ODD.md §7.3.6).

Reads data/reserves_2024.csv (USGS reserves and resources per nation x mineral x deposit type) and the
hand-written prospects of scenarios/baseline.ron, and rewrites the block between the markers
`// BEGIN resource_base` and `// END resource_base` of scenarios/baseline.ron (outside the generated
trade block). Standard library only.

Rules (each an ASSUMPTION stated here and in docs/ODD.md §7.3.6):
- Ore bases: one entry per baseline nation x mineral x deposit type of reserves_2024.csv with a
  positive endowment. resource_t = max(reserves, resources) (lithium resources are measured and
  indicated, which include reserves). Rows whose endowment sits unsplit in USGS "other countries"
  (`in_other_countries`) or with none reported get no entry; WORLD rows are skipped.
- Terms of the first tranche: those of the marginal listed expansion of the same nation, mineral and
  stage in baseline.ron (the highest unit cash cost; capacity, capital intensity per t/yr, cash
  cost), i.e. the next project costs at least what the list's last one did. A nation without a
  listed expansion of that mineral takes the terms of ROW's expansion (or, without one, the
  costliest listed expansion of the mineral) with a 20% cost premium (greenfield in a new
  jurisdiction) and is available from 2027 (three years of exploration and feasibility before the
  permitting and construction the model counts; data/stage_durations.csv has 10-16 years from
  discovery to production).
- Availability: a nation with a listed expansion gets its first tranche one year after the last
  listed one becomes available, or in 2026 if the list runs longer (the two then compete); its first tranche starts where
  the listed projects leave the resource (x_0 = listed capacity x 20 years / resource), so it costs
  at least as much as the list's marginal project.
- depletion_cost_rise g = 1.0 for ore (cash cost and capital intensity double when the whole
  resource is committed; ASSUMPTION in the range of the grade-cost relations of Thunder Said Energy
  (copper: +9% cost per 0.1 percentage point lower grade, data/deposit_costs.csv) and the cost-curve
  escalation of Crowson (2003); not estimated here).
- Refinery bases: one per nation with a listed refinery expansion of the mineral (the plausible
  refining hosts), with its terms, no resource (x_k = k / max_tranches) and g = 0.6 over 60
  tranches (best sites, power and permits taken first; ASSUMPTION).
- max_tranches = 40 for every ore base (fewer where the resource holds fewer, so the endowment, not
  the cap, ends a base: 40 x 20 years of a project covers every shipped base but China's and
  Brazil's graphite) and 60 for every refinery base, with g = 0.6 for refineries so each refinery
  tranche costs 1% of the first more than the one before (as 20 tranches at g = 0.2 did).
- tranches_per_year = 3 for every base (development rate: tranche k opens once tranche k - 3 is
  approved): fast-developing districts added 1.5-3.6 projects of the base's size a year
  (data/district_build_rates.csv: Indonesian laterite nickel 2020-2024, Western Australian
  hard-rock lithium 2016-2018); ASSUMPTION 3, the upper middle of that range, for an NZE build-out.

Usage: python3 data/scripts/resource_base.py [--check]
"""

import argparse
import csv
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASELINE = os.path.join(ROOT, "scenarios", "baseline.ron")
RESERVES = os.path.join(ROOT, "data", "reserves_2024.csv")
BEGIN = "    // BEGIN resource_base"
END = "    // END resource_base"

ORE_RISE = 1.0
REFINERY_RISE = 0.6
GREENFIELD_PREMIUM = 0.2
GREENFIELD_FROM = 2027.0
MAX_TRANCHES = 40
MAX_REFINERY_TRANCHES = 60
TRANCHES_PER_YEAR = 3  # data/district_build_rates.csv
LIFE_YEARS = 20.0  # baseline investment.asset_life_years
LATEST_FROM = 2026.0

PROSPECT = re.compile(
    r'\(id: "(?P<id>[^"]+)"[^\n]*?host: "(?P<host>\w+)", mineral: "(?P<mineral>\w+)", '
    r'stage: "(?P<stage>\w+)",\s*capacity_t_per_yr: (?P<cap>[\d.eE+]+), capex_usd: (?P<capex>[\d.eE+]+), '
    r'unit_opex_usd_per_t: (?P<opex>[\d.eE+]+)(?P<rest>[^\n]*\n[^\n]*)'
)


def listed_prospects(text):
    start = text.index("    prospects: [")
    end = text.index("\n    ],", start)
    out = []
    for m in PROSPECT.finditer(text[start:end]):
        avail = re.search(r"available_from: Some\(([\d.]+)\)", m.group("rest"))
        out.append(
            {
                "host": m.group("host"),
                "mineral": m.group("mineral"),
                "stage": m.group("stage"),
                "cap": float(m.group("cap")),
                "intensity": float(m.group("capex")) / float(m.group("cap")),
                "opex": float(m.group("opex")),
                "from": float(avail.group(1)) if avail else 2024.0,
                "id": m.group("id"),
            }
        )
    return out


def nations_of(text):
    start = text.index("    nations: [")
    end = text.index("\n    ],", start)
    return set(re.findall(r'\(id: "(\w+)"', text[start:end]))


def marginal(rows):
    """The listed expansion with the highest cash cost (ties: the larger capital intensity)."""
    return max(rows, key=lambda r: (r["opex"], r["intensity"], r["id"]))


def entry(nation, mineral, dtype, stage, resource, terms, premium, rise, avail, source, cap=MAX_TRANCHES):
    res = "None" if resource is None else f"Some({resource:.1f})"
    return (
        f'        (nation: "{nation}", mineral: "{mineral}", deposit_type: "{dtype}", stage: "{stage}",\n'
        f"         resource_t: {res}, unit_opex_usd_per_t: {terms['opex'] * (1 + premium):.1f}, "
        f"capex_usd_per_t_per_yr: {terms['intensity'] * (1 + premium):.1f},\n"
        f"         depletion_cost_rise: {rise}, project_t_per_yr: {terms['cap']:.1f}, "
        f"max_tranches: {cap}, tranches_per_year: {TRANCHES_PER_YEAR},\n"
        f"         available_from: Some({avail:.1f}),\n"
        f'         source: "{source}"),\n'
    )


def build(text):
    nations = nations_of(text)
    listed = listed_prospects(text)
    by = {}
    for p in listed:
        by.setdefault((p["host"], p["mineral"], p["stage"]), []).append(p)
    lines = []
    with open(RESERVES, newline="") as f:
        rows = list(csv.DictReader(f))
    seen = set()
    for r in rows:
        nation, mineral, dtype = r["nation"], r["mineral"], r["deposit_type"]
        if nation == "WORLD" or nation not in nations:
            continue
        vals = [float(x) for x in (r["reserves_t"], r["resources_t"]) if x.strip()]
        resource = max(vals) if vals else 0.0
        if resource <= 0.0 or (nation, mineral, dtype) in seen:
            continue
        seen.add((nation, mineral, dtype))
        own = by.get((nation, mineral, "ore"))
        if own:
            terms = marginal(own)
            # The listed projects deplete the base first: the first tranche starts at x_0 = their
            # capacity x asset life / resource.
            x0 = min(1.0, sum(p["cap"] for p in own) * LIFE_YEARS / resource)
            premium = ORE_RISE * x0
            avail = min(max(p["from"] for p in own) + 1.0, LATEST_FROM)
            how = (
                f"first tranche = listed expansion {terms['id']} x (1 + g x0), x0 = {x0:.3f} "
                "committed by the listed projects"
            )
        else:
            pool = by.get(("ROW", mineral, "ore")) or [
                p for p in listed if p["mineral"] == mineral and p["stage"] == "ore"
            ]
            if not pool:
                continue
            terms, premium, avail = marginal(pool), GREENFIELD_PREMIUM, GREENFIELD_FROM
            how = f"first tranche = {terms['id']} terms + {GREENFIELD_PREMIUM:.0%} greenfield premium"
        src = (
            f"data/reserves_2024.csv {r['reserves_vintage']} ({r['reserves_status']}); {how}; "
            "rules in data/scripts/resource_base.py"
        )
        lines.append(entry(nation, mineral, dtype, "ore", resource, terms, premium, ORE_RISE, avail, src))
    for (host, mineral, stage), ps in sorted(by.items()):
        if stage != "refined" or host not in nations:
            continue
        terms = marginal(ps)
        avail = min(max(p["from"] for p in ps) + 1.0, LATEST_FROM)
        src = (
            f"generic refinery sites: first tranche = listed expansion {terms['id']}; "
            "rules in data/scripts/resource_base.py"
        )
        lines.append(
            entry(host, mineral, "refinery", "refined", None, terms, 0.0, REFINERY_RISE, avail, src,
                  MAX_REFINERY_TRANCHES)
        )
    header = (
        f"{BEGIN} (generated by data/scripts/resource_base.py from data/reserves_2024.csv and the\n"
        "    // listed prospects above; do not edit by hand: re-run the script. Supply from endowment,\n"
        "    // docs/ODD.md §7.3.6.)\n"
        "    resource_base: [\n"
    )
    return header + "".join(lines) + "    ],\n" + END


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if the block is out of date")
    args = ap.parse_args()
    with open(BASELINE) as f:
        text = f.read()
    block = build(text)
    if BEGIN in text:
        a = text.index(BEGIN)
        b = text.index(END, a) + len(END)
        new = text[:a] + block + text[b:]
    else:
        anchor = "\n    // ---------------------------------------------------------------- policies"
        a = text.index(anchor)
        new = text[:a] + "\n\n" + block + text[a:]
    if args.check:
        if new != text:
            sys.exit("resource_base block is out of date: run data/scripts/resource_base.py")
        return
    with open(BASELINE, "w") as f:
        f.write(new)
    print(f"wrote {block.count('(nation:')} resource_base entries into {BASELINE}")


if __name__ == "__main__":
    main()
