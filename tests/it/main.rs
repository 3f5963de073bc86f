//! orechain's integration tests: one binary, one module per area.

// Shared helpers: run the binary, temp folders, read CSVs.
mod common;
// Engine foundation (issue 2): determinism, spawn-order independence, schedule ambiguity.
mod determinism;
// `orechain run`: output folder, --force, --set, --seed, resolved scenario reproduces.
mod run_cli;
// `orechain validate`: syntax, type and semantic errors with locations (issue 2).
mod validate;
// The shipped baseline scenario reproduces 2024 shares.
mod baseline;
// Every 2024 mining and refining share in data/ is reproduced at step 0 (issue 8); fails if data/ is missing.
mod calibration;
// The data files in data/ parse, name their sources, use baseline ids; shares sum to <= 1 (issues 13-14).
mod data_files;
// Export controls in the baseline (issue 14): static incidence with capacity frozen.
mod export_controls;
// Markets and trade (issue 3): analytic clearing, bans, friend-shoring, conservation, graphite.
mod trade;
// Equity offtake and offtake contracts served before the open market (issue 15).
mod offtake;
// Sourcing rules (issue 4): IRA-30D-style rules steer a consumer to FTA, non-FEOC refineries.
mod sourcing;
// Investment, state finance, host approval and capacity growth (issue 4): Step-3 Must-show tests.
mod investment;
// Refineries valued at their host market's price; state financiers sponsor projects (Q1, Q3).
mod strategic_investment;
// Figures for papers (issue 5): `plot` at print size, well-formed SVGs, no system font crates.
mod figures;
// `orechain sweep` and `merge` (issues 6, 7): identical results across -j, kill-and-resume, shards.
mod sweep;
// Malformed scenario corpus (issue 10): exit 2, a message naming the problem, no output folder.
mod malformed;
// Output safety of `run` (issue 10): unusable folders, earlier results kept on failure.
mod output_safety;
// Ctrl-C (issue 10): a sweep saves its journal and resumes; a run leaves no staging folder.
mod interrupt;
// Hostile actions (issue 18): --force spares user files, `..` sweeps, shell metacharacters, SIGTERM.
mod hostile_output;
// Model invariants over generated scenarios with proptest (issue 10).
mod invariants;
// Regression tests named after their issue (fuzzer finds of issue 10 among them).
mod regressions;
// Consumer stocks and strategic stockpiles (issues 13, 14): bounds, price effect, scenario errors.
mod stockpile;
// Sweep figures (issues 6, 7): fan charts, grid heatmaps, Sobol' bars; plot redraws them.
mod sweep_figures;
// The scenario library (issue 8): every shipped scenario and sweep loads and runs a few steps.
mod scenarios;
// Hostile messages and paper cuts (issue 18, items 11–18): bounded, escaped, honest errors.
mod hostile_messages;
// Ensembles, paired comparisons and HTML reports (issue 17): -j invariance, type-7 summaries, signs.
mod ensembles;
// Hostile integrity (issue 18): merge bounds, folder lock, tampered shards and journals, caps.
mod hostile_integrity;
// Backtests (issue 17): every validation/*.expect.ron over its ensemble; failing set = known-failing set.
mod backtests;
// Byte-identity harness (issue 13): every shipped scenario's and sweep's CSVs against recorded SHA-256s.
mod fingerprints;
// Layers without cycles (issue 13): top-level modules of src/ only use lower layers.
mod layers;
// Metric catalogue (issue 13): docs/output-format.md's metric table against model::metrics.
mod metric_catalogue;
// Markets v2 (issue 14): closed-form 2x2 equilibria (tariff, export tax, ban, quota), id renaming.
mod markets_v2;
// The study page docs/scenarios.md and its generator docs/scripts/studies.py stay in step (issue 17).
mod studies_doc;
// Supply from endowment under IEA NZE demand (issue 15): refined capacity keeps growing, at a rising cost.
mod endowment;

// Secondary supply (issue 16): recycling from end-of-life flows, the collection-rate lever.
mod recycling;
