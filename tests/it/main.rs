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
// `orechain sweep` and `merge` (issues 6, 7): identical results across -j, kill-and-resume, shards.
mod sweep;
