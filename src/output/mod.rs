//! Output of a run: the tidy CSV tables, the provenance manifest, atomic output folders, and (from
//! the charts module) figures.

pub mod figures;
pub mod folder;
pub mod manifest;
pub mod tables;
