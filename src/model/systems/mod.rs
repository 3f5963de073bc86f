//! Systems, one file per mechanism. Each is a small function named by what it does; the schedule
//! ([`super::schedule`]) decides the order.

pub mod capacity;
pub mod contracts;
pub mod demand;
pub mod equilibrium;
pub mod finance;
pub mod host_terms;
pub mod investment;
pub mod market_observe;
pub mod observe;
pub mod observe_investment;
pub mod operations;
pub mod policy;
pub mod politics;
pub mod prices;
pub mod routes;
pub mod sourcing;
pub mod trade;
pub mod utilisation;
