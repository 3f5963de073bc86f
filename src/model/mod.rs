//! The model: components (state of nations, firms and assets), resources (clock, registry, markets,
//! logs), systems (one file per mechanism) and the schedule that orders them.
//!
//! Read `docs/ODD.md` for the model description; this module is its implementation and the two must
//! agree.

pub mod components;
pub mod mechanism;
pub mod metrics;
pub mod order;
pub mod recycling;
pub mod resources;
pub mod rng;
pub mod rounding;
pub mod schedule;
pub mod stockpile;
pub mod systems;
