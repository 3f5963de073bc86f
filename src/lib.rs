//! orechain: an agent-based simulation engine for the geopolitics of critical-mineral supply chains.
//!
//! Nations, firms and assets (mines, refineries) live as entities in a `bevy_ecs` world; systems for
//! policy, investment, capacity growth, operations, trade and prices advance it step by step.
//!
//! - [`scenario`]: RON scenario files → validated scenarios (with `extends` and `--set`).
//! - `model` (private to the crate): components, resources, mechanisms, systems and the schedule
//!   (the model itself). Its layout is not a contract; what a caller outside the crate names is
//!   re-exported in [`types`] (the indices, rows and state a run's results and world carry) and
//!   [`equilibrium`] (the market-clearing solver on its own).
//! - [`sim`]: build a world from a scenario, step it, collect a [`sim::RunResult`].
//! - [`output`]: tidy CSVs, manifest, figures, atomic output folders; [`output::run::write_run`]
//!   writes a run folder without the command line.
//! - [`sweep`]: parameter sweeps (designs, parallel runs, journal, summaries, shards).
//! - [`ensemble`]: one scenario under many seeds, summarised per metric row (`run --replicates`).
//! - [`compare`]: paired differences between two ensembles (`orechain compare`).
//! - [`api`]: the library API (load with overrides, resolve, run in memory, write a run folder,
//!   ensembles, sweeps, compare) that the Python package wraps. Start here.
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
pub(crate) mod model;
pub mod output;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod validation;

/// The model's types that callers outside the crate name: the dense indices and enums of the
/// results ([`sim::RunResult`]), their rows and registry, the components and resources a test
/// reads from a [`sim::Simulation`]'s world, and the metric catalogue. The `model` module itself
/// is private to the crate, so its internal layout can change without breaking callers; anything
/// a caller needs is re-exported here (and documented where it is defined).
pub mod types {
    pub use crate::model::components::{
        AssetIdx, FirmIdx, Lifecycle, MineralIdx, NationIdx, Output, Ownership, Stage, Status,
    };
    pub use crate::model::metrics::{MetricInfo, catalogue, info};
    pub use crate::model::resources::{
        Clock, EventRow, FlowKind, FlowRow, MetricRow, Metrics, Registry,
    };
}

/// The market-clearing solver on its own (`docs/ODD.md` §7.6): lots, buyers, links and
/// [`equilibrium::solve`], as the trade system calls it every step. Re-exported from the private
/// model for the market tests and the solver benches.
pub use crate::model::systems::equilibrium;
