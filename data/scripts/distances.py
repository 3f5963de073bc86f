#!/usr/bin/env python3
"""Regenerate data/distances.csv from data/ports.csv, data/land_routes.csv and data/sea_network.csv.

Python 3 standard library only:  python3 data/scripts/distances.py   (from the repository root or
anywhere; paths are relative to this file). The output is deterministic (sorted rows, fixed rounding).

Method, for every ordered pair of nations (origin != destination):

1. Each nation has a principal port and an economic/mining centre (ports.csv). When the centre is
   inland (landlocked Bolivia, DR Congo, Zimbabwe; the Argentine Puna; Myanmar's Kachin belt) the
   land leg is the great-circle (haversine) distance centre -> port times a road circuity factor of
   1.3 (ROAD_CIRCUITY, mid-range of the road circuity factors measured by Ballou, Rahardja and Sakai
   (2002), "Selected country circuity factors for road and rail networks", Journal of Business
   Logistics 23(1): roughly 1.1-1.5 across countries).
2. The sea leg is the shortest path between the two ports on the MARNET maritime network
   (sea_network.csv: Eurostat MARNET as shipped in the searoute 1.6.0 package, derived from the ORNL
   Global Shipping Lane Network), each port joined to its nearest network node by a great circle.
   The Northwest Passage is excluded (seasonal); Suez, Panama, Malacca and the other chokepoints are
   open. Segment lengths are haversine distances on a sphere of radius 6371 km.
3. distance = land leg (origin) + sea leg + land leg (destination). When land_routes.csv lists the
   pair (goods physically cross a land border, e.g. Myanmar rare-earth concentrate into China), the
   land route (haversine x its circuity) is used instead if it is shorter.

Columns written: origin, destination, distance_km, sea_km, land_km, kind, route, source
(kind: sea = port to port; land+sea = with inland legs; land = overland route of land_routes.csv).
"""
import csv
import heapq
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..")
EARTH_RADIUS_KM = 6371.0
ROAD_CIRCUITY = 1.3
EXCLUDED_PASSAGES = {"northwest"}


def haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def node_key(lon, lat):
    # Longitudes beyond +-180 (the network crosses the antimeridian) are wrapped, so 180 == -180.
    lon = (lon + 180.0) % 360.0 - 180.0
    return (round(lon, 4), round(lat, 4))


def load_network():
    adj = {}
    with open(os.path.join(DATA, "sea_network.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["passage"] in EXCLUDED_PASSAGES:
                continue
            pts = [tuple(float(v) for v in p.split(":")) for p in row["lon_lat_points"].split()]
            for (lon1, lat1), (lon2, lat2) in zip(pts, pts[1:]):
                a, b = node_key(lon1, lat1), node_key(lon2, lat2)
                if a == b:
                    continue
                w = haversine(lat1, lon1, lat2, lon2)
                for u, v in ((a, b), (b, a)):
                    nbrs = adj.setdefault(u, {})
                    if w < nbrs.get(v, math.inf):
                        nbrs[v] = w
    return adj


def dijkstra(adj, source):
    dist = {source: 0.0}
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj[u].items():
            nd = d + w
            if nd < dist.get(v, math.inf):
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return dist


def read_csv(name):
    with open(os.path.join(DATA, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    ports = {r["nation"]: r for r in read_csv("ports.csv")}
    land_routes = {}
    for r in read_csv("land_routes.csv"):
        km = haversine(float(r["from_lat"]), float(r["from_lon"]), float(r["to_lat"]), float(r["to_lon"]))
        land_routes[frozenset((r["a"], r["b"]))] = (km * float(r["circuity"]), r)
    adj = load_network()
    nodes = sorted(adj)

    snap, inland = {}, {}
    for n, p in sorted(ports.items()):
        plat, plon = float(p["port_lat"]), float(p["port_lon"])
        best = min(nodes, key=lambda k: (haversine(plat, plon, k[1], k[0]), k))
        snap[n] = (best, haversine(plat, plon, best[1], best[0]))
        clat, clon = float(p["centre_lat"]), float(p["centre_lon"])
        inland[n] = haversine(clat, clon, plat, plon) * ROAD_CIRCUITY

    nations = sorted(ports)
    trees = {n: dijkstra(adj, snap[n][0]) for n in nations}
    rows = []
    for i, a in enumerate(nations):
        for b in nations[i + 1:]:
            if ports[a]["port"] == ports[b]["port"]:
                sea = 0.0
            else:
                sea = snap[a][1] + trees[a][snap[b][0]] + snap[b][1]
            land = inland[a] + inland[b]
            total = sea + land
            kind = "land+sea" if land > 0.5 else "sea"
            route = f"{ports[a]['centre']} -> {ports[a]['port']} -> {ports[b]['port']} -> {ports[b]['centre']}"
            source = ("sea: shortest path on MARNET (sea_network.csv) between the ports of ports.csv"
                      + ("; land legs: haversine x 1.3 road circuity (Ballou et al. 2002)" if land > 0.5 else ""))
            lr = land_routes.get(frozenset((a, b)))
            if lr is not None and lr[0] < total:
                total, sea, land, kind = lr[0], 0.0, lr[0], "land"
                route = f"{lr[1]['from']} -> {lr[1]['to']} (overland)"
                source = f"land_routes.csv: {lr[1]['source']}"
            for o, d in ((a, b), (b, a)):
                r = route if o == a else " -> ".join(reversed(route.split(" -> ")))
                if kind == "land":
                    r = route
                rows.append([o, d, round(total, -1), round(sea, -1), round(land, -1), kind, r, source])
    rows.sort(key=lambda r: (r[0], r[1]))
    with open(os.path.join(DATA, "distances.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["origin", "destination", "distance_km", "sea_km", "land_km", "kind", "route", "source"])
        for r in rows:
            w.writerow([r[0], r[1], f"{r[2]:.0f}", f"{r[3]:.0f}", f"{r[4]:.0f}", r[5], r[6], r[7]])
    print(f"{len(rows)} rows -> distances.csv")


if __name__ == "__main__":
    main()
