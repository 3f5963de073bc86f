//! Systems, one file per mechanism. Each is a small function named by what it does; the schedule
//! ([`super::schedule`]) decides the order.

pub mod demand;
pub mod market_observe;
pub mod observe;
pub mod operations;
pub mod policy;
pub mod prices;
pub mod trade;
