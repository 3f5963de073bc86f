#!/usr/bin/env python3
"""Regenerate data/material_intensity.csv (battery cells by chemistry; NdFeB magnets).

Python 3 standard library only:  python3 data/scripts/material_intensity.py   (paths are relative to
this file). The output is deterministic (fixed row order, fixed rounding).

Battery cells: kg of element per kWh of cell capacity, computed from the cathode formula, its
practical specific capacity and its average voltage, so every number is arithmetic on stated inputs:

    kg cathode active material per kWh = OVERHEAD / (capacity_Ah_per_kg * voltage_V / 1000)
    kg element per kWh                 = kg cathode per kWh * (n_element * M_element / M_formula)
    kg graphite per kWh                = OVERHEAD * NP_RATIO * (1000 / V_cell) / GRAPHITE_AH_PER_KG

- Capacities and voltages vs Li/Li+: Nitta, Wu, Lee and Yushin (2015), "Li-ion battery materials:
  present and future", Materials Today 18(5), 252-264, Table 1 (LiFePO4 165 mAh/g at 3.4 V;
  NCA 199 mAh/g at 3.7 V; NMC111 ~170 mAh/g at 3.7 V). Ni-rich NMC622 (175 mAh/g) and NMC811
  (200 mAh/g) at 3.7 V follow Manthiram (2020), "A reflection on lithium-ion battery cathode
  chemistry", Nature Communications 11, 1550 (capacity rises with nickel content towards ~200 mAh/g
  at 80% Ni).  These are inputs a user can change below.
- OVERHEAD = 1.10 (ESTIMATE): first-cycle lithium loss and the gap between the cathode's voltage vs
  Li and the full cell's voltage vs graphite (about 0.1 V) mean a cell carries ~10% more cathode than
  the ideal; it also covers nothing else (no manufacturing scrap, which adds 5-10% in mature plants
  and more during ramp-up).
- Graphite anode: practical 350 mAh/g (theoretical 372 mAh/g for LiC6; Nitta et al. 2015) with a
  negative/positive capacity ratio NP_RATIO = 1.1 (ESTIMATE, typical cell design); V_cell = full-cell
  nominal voltage (3.2 V LFP, 3.6 V NMC/NCA).
- Cross-check (in the README): the results lie within ~10-15% of the commonly quoted cell-level
  values derived from Argonne's BatPaC (about 0.1 kg Li/kWh; NMC811 ~0.75 kg Ni, ~0.09 kg Co/kWh).

Magnets: composition of sintered NdFeB and magnet mass per product, from the literature named in
each row; they are inputs, not computed.
"""
import csv
import os

M = {"Li": 6.94, "Ni": 58.693, "Co": 58.933, "Mn": 54.938, "Al": 26.982, "Fe": 55.845,
     "P": 30.974, "O": 15.999, "Nd": 144.242, "B": 10.81}
OVERHEAD = 1.10
NP_RATIO = 1.1
GRAPHITE_AH_PER_KG = 350.0

NITTA = ("Nitta et al. 2015 Materials Today 18(5):252-264 Table 1 "
         "(https://doi.org/10.1016/j.mattod.2014.10.040)")
MANTHIRAM = ("Manthiram 2020 Nature Communications 11:1550 "
             "(https://doi.org/10.1038/s41467-020-15355-0)")

# chemistry: (formula as element -> moles, capacity mAh/g, voltage vs Li, full-cell voltage, source)
CHEMISTRIES = [
    ("LFP", {"Li": 1, "Fe": 1, "P": 1, "O": 4}, 165.0, 3.4, 3.2, NITTA),
    ("NMC622", {"Li": 1, "Ni": 0.6, "Mn": 0.2, "Co": 0.2, "O": 2}, 175.0, 3.7, 3.6,
     NITTA + "; " + MANTHIRAM),
    ("NMC811", {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2}, 200.0, 3.7, 3.6,
     NITTA + "; " + MANTHIRAM),
    ("NCA", {"Li": 1, "Ni": 0.8, "Co": 0.15, "Al": 0.05, "O": 2}, 199.0, 3.7, 3.6, NITTA),
]
ELEMENTS = ["Li", "Ni", "Co", "Mn"]

HEIM = ("Heim and Vander Wal 2023 Minerals 13(10):1274 (https://doi.org/10.3390/min13101274) "
        "via encyclopedia.pub/entry/50309")
MAGNET_ROWS = [
    # product, chemistry, element, value, unit, low, high, basis, estimate, note, source
    ("ndfeb_magnet", "sintered NdFeB", "Nd+Pr+Dy+Tb (total rare earths)", 0.30, "kg per kg magnet",
     0.29, 0.32, "composition", "no",
     "about 30% of the elements in automotive NdFeB are rare earths; stoichiometric Nd2Fe14B is 26.7% Nd "
     "by mass (2 x 144.24 / 1081.1) and commercial magnets carry a rare-earth-rich grain-boundary phase",
     "Toyota 2018 via pm-review (https://www.pm-review.com/toyota-develops-neodymium-reduced-rare-earth-"
     "magnet-for-electric-motors/); " + HEIM),
    ("ndfeb_magnet", "sintered NdFeB", "Nd", 0.21, "kg per kg magnet", 0.18, 0.24, "composition",
     "yes", "est.: (0.30 total RE - 0.02 Dy - 0.005 Tb) x 0.75, using the 75:25 Nd:Pr split of "
     "commercial PrNd (didymium) feed", "arithmetic on the total and Dy rows; PrNd 25:75 product "
     "specification as quoted by Chinese price reporters (e.g. SMM)"),
    ("ndfeb_magnet", "sintered NdFeB", "Pr", 0.07, "kg per kg magnet", 0.05, 0.08, "composition",
     "yes", "est.: (0.30 - 0.02 - 0.005) x 0.25", "arithmetic on the total and Dy rows"),
    ("ndfeb_magnet", "sintered NdFeB", "Dy", 0.02, "kg per kg magnet", 0.005, 0.04, "composition",
     "yes", "high: about 4% Dy in high-temperature grades (cost has pushed it down from the desired "
     "6-10%); grain-boundary diffusion uses one half to one third of the Dy or Tb of conventional "
     "magnets, so 1-2% for diffused EV grades; central est. = judgement; wind DD generators in JRC "
     "data carry Dy ~7% of their rare earths (≈2% of the magnet)",
     HEIM + "; IEEE Electrification Magazine March 2017 p. 20 (https://www.nxtbook.com/nxtbooks/pes/"
     "electrification_march2017/index.php?startid=20)"),
    ("ndfeb_magnet", "sintered NdFeB", "Tb", 0.005, "kg per kg magnet", 0.0, 0.01, "composition",
     "yes", "est.: terbium substitutes for part of the Dy in high-coercivity grades (grain-boundary "
     "diffusion uses Dy or Tb); judgement, no public average found", "judgement; see the Dy row"),
    ("ev_traction_motor", "permanent-magnet synchronous motor", "NdFeB", 1.5, "kg magnet per vehicle",
     1.0, 2.5, "per light-duty EV", "yes",
     "est.: 1-1.5 kg in small cars, 2 kg or more in SUVs and dual-motor cars (industry Q&A); 2 kg in a "
     "Tesla Model Y Long Range (market report); nearly all EV makers use PM motors (Heim and Vander "
     "Wal 2023); low-authority sources: check against Adamas Intelligence before publishing",
     "us.ok.com Q&A (https://us.ok.com/ask/how-much-neodymium-iron-boron-is-used-in-new-energy-vehicle-"
     "motors); pmarketresearch (https://pmarketresearch.com/chemi/thin-film-glass-market/strong-"
     "neodymium-rare-earth-magnet-market); " + HEIM),
    ("wind_turbine", "direct-drive permanent-magnet generator (large)", "NdFeB", 650, "kg magnet per MW",
     625, 850, "per MW of capacity", "no",
     "large DD PMSG 650 kg/MW (medium 160; small 80); Moss et al. (2013) 0.625-0.85 t/MW across four "
     "makers of low-speed PM generators", HEIM),
    ("wind_turbine", "fleet average (all generator types)", "NdFeB", 500, "kg magnet per MW", 160,
     650, "per MW of new capacity", "no",
     "average of about 0.5 t/MW used by the review; geared and electrically excited turbines carry "
     "far less", HEIM),
]


def fmt(x):
    return f"{x:.3f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def rows():
    out = []
    for chem, formula, cap_mah_g, v_li, v_cell, src in CHEMISTRIES:
        m_formula = sum(n * M[e] for e, n in formula.items())
        wh_per_kg = cap_mah_g * v_li  # mAh/g x V = Wh/kg
        cam = OVERHEAD * 1000.0 / wh_per_kg
        basis = (f"{cap_mah_g:g} mAh/g at {v_li:g} V vs Li; formula mass {m_formula:.2f} g/mol; "
                 f"x{OVERHEAD:g} cell overhead")
        out.append(("battery_cell", chem, "cathode active material", round(cam, 3), "kg per kWh",
                    "", "", basis, "yes", "est.: OVERHEAD x 1000 / (capacity x voltage)",
                    src + "; data/scripts/material_intensity.py"))
        for e in ELEMENTS:
            n = formula.get(e, 0)
            v = cam * n * M[e] / m_formula
            out.append(("battery_cell", chem, e, round(v, 3), "kg per kWh", "", "", basis, "yes",
                        f"est.: {cam:.3f} kg CAM/kWh x {n:g} x {M[e]} / {m_formula:.2f}",
                        src + "; data/scripts/material_intensity.py"))
        g = OVERHEAD * NP_RATIO * (1000.0 / v_cell) / GRAPHITE_AH_PER_KG
        out.append(("battery_cell", chem, "graphite", round(g, 3), "kg per kWh", "", "",
                    f"{GRAPHITE_AH_PER_KG:g} mAh/g graphite; N/P {NP_RATIO:g}; {v_cell:g} V cell; "
                    f"x{OVERHEAD:g} overhead", "yes",
                    f"est.: {OVERHEAD:g} x {NP_RATIO:g} x 1000 / {v_cell:g} / {GRAPHITE_AH_PER_KG:g}; "
                    "natural or synthetic graphite (the split is a separate share)",
                    NITTA + "; data/scripts/material_intensity.py"))
    out.extend(MAGNET_ROWS)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "material_intensity.csv")
    header = ["product", "chemistry", "element", "value", "unit", "low", "high", "basis",
              "estimate", "note", "source"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows():
            w.writerow([fmt(x) for x in r])


if __name__ == "__main__":
    main()
