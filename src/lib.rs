//! orechain: an agent-based simulation engine for the geopolitics of critical-mineral supply chains.
//!
//! Nations, firms and assets (mines, refineries) live as entities in a `bevy_ecs` world; systems for
//! policy, investment, capacity growth, operations, trade and prices advance it step by step.
//!
//! - [`scenario`]: RON scenario files → validated scenarios (with `extends` and `--set`).
//! - [`model`]: components, resources, systems and the schedule (the model itself).
//! - [`sim`]: build a world from a scenario, step it, collect a [`sim::RunResult`].
//! - [`output`]: tidy CSVs, manifest, figures, atomic output folders.
//! - [`sweep`]: parameter sweeps (designs, parallel runs, journal, summaries, shards).
//! - [`ensemble`]: one scenario under many seeds, summarised per metric row (`run --replicates`).
//! - [`compare`]: paired differences between two ensembles (`orechain compare`).
//! - [`api`]: the library API (load with overrides, run in memory, ensembles, sweeps, compare)
//!   that the Python package wraps.
//! - [`report`]: the `report` command (an HTML page of a run, ensemble or comparison folder).
//! - [`app`] and [`cli`]: the command line; [`command`]: what the commands share (errors, output
//!   folders).
//!
//! The model is described in `docs/ODD.md`; the output files in `docs/output-format.md`.

pub mod api;
pub mod app;
pub mod cli;
pub mod command;
pub mod compare;
pub mod ensemble;
pub mod interrupt;
pub mod model;
pub mod output;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod validation;
