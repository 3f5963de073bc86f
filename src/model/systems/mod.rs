//! Systems of the mechanisms that do not have their own folder yet: the markets (trade,
//! equilibrium, routes, prices, contracts), investment and operations. The schedule
//! ([`super::schedule`]) decides the order.
//!
//! The other mechanisms live in `src/model/<mechanism>/` ([`super::mechanism`]); the
//! re-exports below keep the paths `systems::<name>` that code written before the move uses
//! (the market and investment files are being rewritten on other branches while they move).

pub mod contracts;
pub mod equilibrium;
pub mod investment;
pub mod operations;
pub mod prices;
pub mod routes;
pub mod trade;
pub mod utilisation;

pub use super::capacity::systems as capacity;
pub use super::demand::systems as demand;
pub use super::finance::systems as finance;
pub use super::host_terms::systems as host_terms;
pub use super::policy::systems as policy;
