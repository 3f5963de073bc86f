#!/usr/bin/env python3
"""Export the maritime network shipped in the `searoute` package to data/sea_network.csv.

This is how data/sea_network.csv was made (searoute 1.6.0 from PyPI, `pip install searoute==1.6.0`).
It is NOT needed to regenerate data/distances.csv: distances.py reads the exported CSV with the Python
standard library only.

The network is searoute's `marnet_searoute.geojson`: Eurostat's MARNET maritime network (from the
Eurostat `searoute` Java library, EUPL), itself derived from the Oak Ridge National Laboratory CTA
Transportation Network Group's Global Shipping Lane Network (2000) and extended. Each row is one
polyline (a LineString, or one part of a MultiLineString) of the network; `passage` names the chokepoint the line belongs to (suez,
panama, gibraltar, babalmandab, bosporus, ormuz, northwest) or is empty.
"""
import csv
import json
import os
import sys

import searoute  # noqa: F401  (only to locate its data folder)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "sea_network.csv")


def main() -> None:
    src = os.path.join(os.path.dirname(searoute.__file__), "data", "marnet_searoute.geojson")
    with open(src, encoding="utf-8") as f:
        g = json.load(f)
    rows = []
    for feat in g["features"]:
        geom = feat["geometry"]
        if geom["type"] == "LineString":
            lines = [geom["coordinates"]]
        elif geom["type"] == "MultiLineString":
            lines = geom["coordinates"]
        else:
            sys.exit(f"unexpected geometry {geom['type']}")
        passage = (feat.get("properties") or {}).get("passage") or ""
        for line in lines:
            coords = " ".join(f"{lon:.5f}:{lat:.5f}" for lon, lat in line)
            rows.append((passage, coords))
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["passage", "lon_lat_points"])
        w.writerows(rows)
    print(f"{len(rows)} polylines -> {OUT}")


if __name__ == "__main__":
    main()
