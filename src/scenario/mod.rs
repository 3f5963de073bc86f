//! Scenario files: the schema, loading (with `extends` and `--set`), and validation.
//!
//! Loading is two-phase, as in ripgrep: parse into raw structs ([`schema::Scenario`]), then
//! [`validate()`] into a [`Validated`] scenario that the simulation trusts. Errors carry the file,
//! line, column and field path so a researcher can fix a scenario without reading our code.

pub mod error;
pub mod load;
pub mod offtake;
pub mod recycling;
pub mod resolve;
pub mod resource_base;
pub mod ron_tree;
pub mod schema;
pub mod stockpile;
pub mod synthetic;
pub mod validate;

pub use error::{LoadError, Location, Problem, ScenarioError};
pub use load::{Loaded, load_file, load_str};
pub use offtake::{OfftakeContract, OfftakeKind, OfftakeSettings};
pub use resolve::{Resolved, resolve};
pub use schema::*;
pub use validate::{Validated, validate};

/// The built-in scenario `orechain run` uses when no file is given: the calibrated 2024 baseline.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/baseline.ron");
/// The file name reported for the built-in scenario.
pub const DEFAULT_SCENARIO_NAME: &str = "<built-in baseline.ron>";
