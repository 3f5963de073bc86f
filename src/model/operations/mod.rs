//! Operations (phase 5 of a step, `docs/ODD.md` §7.5): random outages, labour and environmental
//! incidents, social licence and each asset's potential output for the step ([`systems`]).

pub mod systems;
