//! Investment (phase 4 of a step at the first step of each year, `docs/ODD.md` §7.3): firms and
//! state financiers choose which prospects to propose, hosts approve or reject them
//! ([`systems`]). The project life cycle after approval is in [`super::capacity`]; the finance
//! maths in [`super::finance`].

pub mod systems;
