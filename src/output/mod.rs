//! Output of a run: the tidy CSV tables, the provenance manifest, atomic output folders, and (from
//! the charts module) figures, and the self-contained HTML report of a result folder.

pub mod figures;
pub mod folder;
pub mod input;
pub mod manifest;
pub mod outcome;
pub mod parquet;
pub mod run;
pub mod sweep_manifest;
pub mod tables;
