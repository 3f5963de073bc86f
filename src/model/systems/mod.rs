//! Systems, one file per mechanism. Each is a small function named by what it does; the schedule
//! ([`super::schedule`]) decides the order.

pub mod observe;
pub mod operations;
pub mod policy;
