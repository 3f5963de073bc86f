//! Markets (phases 5–6 of a step, `docs/ODD.md` §7.6–7.7): the spatial price equilibrium of every
//! commodity ([`equilibrium`]), the link tables it clears over ([`routes`]), the step's clearing
//! with equity offtake and contracts served first ([`trade`], [`contracts`]), short-run supply —
//! utilisation, idling and restart ([`utilisation`]) — and the prices investors read
//! ([`prices`]). The schedule ([`super::schedule`]) orders the phases; the market's state is
//! built with the world in `sim`.

pub mod contracts;
pub mod equilibrium;
pub mod prices;
pub mod routes;
pub mod trade;
pub mod utilisation;
