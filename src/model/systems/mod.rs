//! The systems of every mechanism under one path, `systems::<name>`, for code written before the
//! mechanisms moved into their folders (`src/model/<mechanism>/`, [`super::mechanism`]). The
//! schedule ([`super::schedule`]) decides the order.

pub use super::demand::systems as demand;
pub use super::finance::systems as finance;
pub use super::investment::systems as investment;
pub use super::market::{contracts, equilibrium, prices, routes, trade, utilisation};
pub use super::operations::systems as operations;
