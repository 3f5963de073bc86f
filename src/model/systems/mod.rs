//! Systems of the mechanisms that do not have their own folder yet: the markets (trade,
//! equilibrium, routes, prices, contracts), investment and operations. The schedule
//! ([`super::schedule`]) decides the order.
//!
//! The other mechanisms live in `src/model/<mechanism>/` ([`super::mechanism`]); the
//! re-exports below keep the paths `systems::<name>` that code written before the move uses
//! (the market and investment files are being rewritten on other branches while they move).

pub mod contracts;
pub mod equilibrium;
// Since the model became private to the crate (issue 13), `mineral_of` is used nowhere and
// `npv_usd` / `NpvInputs` only by investment.rs's own tests; the file is being rewritten on
// another branch, so they are not deleted here.
#[expect(
    dead_code,
    reason = "investment.rs helpers no longer reachable (mineral_of; npv_usd outside its tests)"
)]
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
