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
// Every 2024 mining and refining share in ../shared/data is reproduced at step 0 (issue 8).
mod calibration;
// Markets and trade (issue 3): analytic clearing, bans, friend-shoring, conservation, graphite.
mod trade;
// Investment, state finance, host approval and capacity growth (issue 4): Step-3 Must-show tests.
mod investment;
// Figures for papers (issue 5): `plot` at print size, well-formed SVGs, no system font crates.
mod figures;
// `orechain sweep` and `merge` (issues 6, 7): identical results across -j, kill-and-resume, shards.
mod sweep;
// The scenario library (issue 8): every shipped scenario and sweep loads and runs a few steps.
mod scenarios;
