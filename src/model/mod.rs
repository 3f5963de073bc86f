//! The model: components (state of nations, firms and assets), resources (clock, registry, markets,
//! logs), mechanisms (one folder each, `src/model/<mechanism>/`, installed through
//! [`mechanism::Mechanism`]), the systems of the market and investment core ([`systems`]) and the
//! schedule that orders them.
//!
//! Read `docs/ODD.md` for the model description; this module is its implementation and the two must
//! agree.

pub mod capacity;
pub mod components;
pub mod demand;
pub mod events;
pub mod finance;
pub mod host_terms;
pub mod investment;
pub mod market;
pub mod mechanism;
pub mod metrics;
pub mod observe;
pub mod operations;
pub mod order;
pub mod policy;
pub mod politics;
pub mod recycling;
pub mod resources;
pub mod rng;
pub mod rounding;
pub mod schedule;
pub mod sourcing;
pub mod stockpile;
pub mod systems;
pub mod tables;
