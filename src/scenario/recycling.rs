//! The scenario entry of the recycling mechanism (`src/model/recycling/`): the `recycling`
//! section, its checks and its resolved form.
//!
//! This file is the mechanism's one "schema entry" (`docs/ODD.md`, "How to add a mechanism"):
//! the raw structs the loader deserialises, the checks that name the field path of every problem,
//! and the resolution of ids to indices. The model's folder reads [`ResolvedRecycling`] and never
//! a string id. Written as
//! `recycling: (minerals: [(mineral: "copper", backcast_growth_per_yr: 0.027, ...)],
//! collection: [(nation: "USA", mineral: "copper", points: [(2024, 0.05)])], plants: [...])`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The secondary-supply model of a scenario (`docs/ODD.md` §7.6.5): end-of-life flows from past
/// consumption, collection, and recyclers that sell refined material.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recycling {
    /// Minerals with an end-of-life model; a mineral not listed is not recycled.
    #[serde(default)]
    pub minerals: Vec<RecyclingMineral>,
    /// Collection-rate trajectories of single nations (override the mineral's
    /// `collection_rate`): the policy lever.
    #[serde(default)]
    pub collection: Vec<Collection>,
    /// Recycling capacity at the start of the run by nation and mineral (a nation without an
    /// entry starts with none).
    #[serde(default)]
    pub plants: Vec<RecyclingPlant>,
    /// Time constant of recycling capacity towards the scrap it can process, years (> 0;
    /// default 3: ASSUMPTION, a hydrometallurgical or secondary-copper plant is built in 1.5-3
    /// years, `docs/ODD.md` §7.6.5).
    #[serde(default = "default_adjustment_years")]
    pub capacity_adjustment_years: f64,
}

impl Default for Recycling {
    fn default() -> Self {
        Self {
            minerals: Vec::new(),
            collection: Vec::new(),
            plants: Vec::new(),
            capacity_adjustment_years: default_adjustment_years(),
        }
    }
}

fn default_adjustment_years() -> f64 {
    3.0
}

/// The end-of-life model of one mineral.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecyclingMineral {
    /// Mineral id.
    pub mineral: String,
    /// Growth rate of each nation's consumption before the start year, 1/yr (-0.5..=1): the
    /// back-cast `C_u(t) = s_u C(start) · (1 + g)^(t − start)` that fills the history of every
    /// end use without its own rate.
    pub backcast_growth_per_yr: f64,
    /// End uses in scope, with their shares of consumption and lifetimes (shares sum to at most
    /// 1; the rest is dissipative or leaves the refined market, and never returns).
    pub end_uses: Vec<EndUse>,
    /// Share of end-of-life material collected for secondary refining where no `collection`
    /// entry applies (0..=1).
    pub collection_rate: f64,
    /// Refined tonnes per tonne of contained scrap processed (0 < r <= 1).
    pub recovery: f64,
    /// Cash cost of collecting and refining, USD per tonne of refined output (>= 0): the
    /// reservation price of recycled lots.
    pub unit_opex_usd_per_t: f64,
}

/// One end use: share of consumption and a normal lifetime (truncated at 0).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndUse {
    /// Name (for the reader; must be unique within the mineral).
    pub id: String,
    /// Share of the mineral's consumption (0..=1).
    pub share: f64,
    /// Mean lifetime, years (> 0, <= 100).
    pub lifetime_mean_years: f64,
    /// Standard deviation of the lifetime, years (> 0, <= 50).
    pub lifetime_sd_years: f64,
    /// Growth rate of this end use's consumption before the start year, 1/yr (-0.5..=1; default
    /// the mineral's `backcast_growth_per_yr`): a young end use (electric-vehicle batteries)
    /// grew much faster than the mineral as a whole.
    #[serde(default)]
    pub backcast_growth_per_yr: Option<f64>,
}

/// The collection rate of one nation and mineral over time.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// Nation id (must consume the mineral).
    pub nation: String,
    /// Mineral id (must have an entry in `minerals`).
    pub mineral: String,
    /// `(year, rate)` points, piecewise linear, flat outside (rates 0..=1, years ascending).
    pub points: Vec<(f64, f64)>,
}

/// Recycling capacity of a nation at the start of the run.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecyclingPlant {
    /// Nation id (must consume the mineral: recycled material is sold in its refined market).
    pub nation: String,
    /// Mineral id (must have an entry in `minerals`).
    pub mineral: String,
    /// Refined output capacity, t/yr (>= 0).
    pub capacity_t_per_yr: f64,
}

/// A mineral's end-of-life model with indices.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedRecyclingMineral {
    /// Mineral index.
    pub mineral: u16,
    /// `(share, mean years, sd years, back-cast growth 1/yr)` per end use, in file order (order
    /// does not matter: the end-of-life flow is their sum).
    pub end_uses: Vec<(f64, f64, f64, f64)>,
    /// Default collection rate.
    pub collection_rate: f64,
    /// Recovery, refined t per t scrap.
    pub recovery: f64,
    /// Cash cost, USD/t refined.
    pub unit_opex_usd_per_t: f64,
}

/// A collection-rate trajectory with indices: `(nation, mineral, (year, rate) points)`.
pub type ResolvedCollection = (u16, u16, Vec<(f64, f64)>);

/// The recycling section with indices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResolvedRecycling {
    /// Minerals, sorted by index.
    pub minerals: Vec<ResolvedRecyclingMineral>,
    /// `(nation, mineral, points)`, sorted by (nation, mineral).
    pub collection: Vec<ResolvedCollection>,
    /// `(nation, mineral, capacity t/yr)`, sorted by (nation, mineral).
    pub plants: Vec<(u16, u16, f64)>,
    /// Capacity time constant, years.
    pub capacity_adjustment_years: f64,
}

/// Check the `recycling` section: `(field path, message)` for every problem. `consumes(nation,
/// mineral)` says whether the nation has a demand trajectory for the mineral.
pub fn check(
    r: &Recycling,
    nations: &crate::scenario::validate::IdSet<'_>,
    minerals: &crate::scenario::validate::IdSet<'_>,
    consumes: impl Fn(&str, &str) -> bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let in_range = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
    let mut modelled = BTreeSet::new();
    for (i, m) in r.minerals.iter().enumerate() {
        let p = format!("recycling.minerals.{i}");
        if !minerals.contains(m.mineral.as_str()) {
            out.push((format!("{p}.mineral"), "unknown mineral".to_string()));
        } else if !modelled.insert(m.mineral.as_str()) {
            out.push((
                format!("{p}.mineral"),
                "a mineral has at most one entry in recycling.minerals".to_string(),
            ));
        }
        if !in_range(m.backcast_growth_per_yr, -0.5, 1.0) {
            out.push((
                format!("{p}.backcast_growth_per_yr"),
                format!(
                    "must be a growth rate between -0.5 and 1 per year, found {}",
                    m.backcast_growth_per_yr
                ),
            ));
        }
        if !in_range(m.collection_rate, 0.0, 1.0) {
            out.push((
                format!("{p}.collection_rate"),
                format!("must lie in 0..=1, found {}", m.collection_rate),
            ));
        }
        if !(m.recovery.is_finite() && m.recovery > 0.0 && m.recovery <= 1.0) {
            out.push((
                format!("{p}.recovery"),
                format!("must lie in (0, 1], found {}", m.recovery),
            ));
        }
        if !in_range(m.unit_opex_usd_per_t, 0.0, 1e9) {
            out.push((
                format!("{p}.unit_opex_usd_per_t"),
                format!(
                    "must be a non-negative cost of at most 1e9 USD/t, found {}",
                    m.unit_opex_usd_per_t
                ),
            ));
        }
        let mut total = 0.0;
        let mut ids = BTreeSet::new();
        for (k, u) in m.end_uses.iter().enumerate() {
            let q = format!("{p}.end_uses.{k}");
            if !ids.insert(u.id.as_str()) {
                out.push((format!("{q}.id"), "duplicate end use id".to_string()));
            }
            if in_range(u.share, 0.0, 1.0) {
                total += u.share;
            } else {
                out.push((
                    format!("{q}.share"),
                    format!("must lie in 0..=1, found {}", u.share),
                ));
            }
            if !(in_range(u.lifetime_mean_years, 0.0, 100.0) && u.lifetime_mean_years > 0.0) {
                out.push((
                    format!("{q}.lifetime_mean_years"),
                    format!("must lie in (0, 100], found {}", u.lifetime_mean_years),
                ));
            }
            if let Some(g) = u.backcast_growth_per_yr
                && !in_range(g, -0.5, 1.0)
            {
                out.push((
                    format!("{q}.backcast_growth_per_yr"),
                    format!("must be a growth rate between -0.5 and 1 per year, found {g}"),
                ));
            }
            if !(in_range(u.lifetime_sd_years, 0.0, 50.0) && u.lifetime_sd_years > 0.0) {
                out.push((
                    format!("{q}.lifetime_sd_years"),
                    format!("must lie in (0, 50], found {}", u.lifetime_sd_years),
                ));
            }
        }
        if total > 1.0 + 1e-9 {
            out.push((
                format!("{p}.end_uses"),
                format!("shares must sum to at most 1, found {total}"),
            ));
        }
    }
    let check_pair = |out: &mut Vec<(String, String)>, p: &str, nation: &str, mineral: &str| {
        let nation_ok = nations.contains(nation);
        if !nation_ok {
            out.push((format!("{p}.nation"), "unknown nation".to_string()));
        }
        if !modelled.contains(mineral) {
            out.push((
                format!("{p}.mineral"),
                "must have an entry in recycling.minerals".to_string(),
            ));
        } else if nation_ok && !consumes(nation, mineral) {
            out.push((
                format!("{p}.nation"),
                "must have a demand trajectory for the mineral (recycled material is sold in \
                 its nation's refined market)"
                    .to_string(),
            ));
        }
    };
    let mut seen = BTreeSet::new();
    for (i, c) in r.collection.iter().enumerate() {
        let p = format!("recycling.collection.{i}");
        check_pair(&mut out, &p, &c.nation, &c.mineral);
        if !seen.insert((c.nation.as_str(), c.mineral.as_str())) {
            out.push((
                p.clone(),
                "at most one collection entry per nation and mineral".to_string(),
            ));
        }
        if c.points.is_empty() {
            out.push((
                format!("{p}.points"),
                "must have at least one point".to_string(),
            ));
        }
        for (k, (year, rate)) in c.points.iter().enumerate() {
            if !in_range(*year, 1900.0, 2200.0) {
                out.push((
                    format!("{p}.points.{k}.0"),
                    format!("must be a year between 1900 and 2200, found {year}"),
                ));
            }
            if !in_range(*rate, 0.0, 1.0) {
                out.push((
                    format!("{p}.points.{k}.1"),
                    format!("must be a rate in 0..=1, found {rate}"),
                ));
            }
            if k > 0 && c.points[k - 1].0 >= *year {
                out.push((
                    format!("{p}.points.{k}.0"),
                    "years must be strictly ascending".to_string(),
                ));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (i, pl) in r.plants.iter().enumerate() {
        let p = format!("recycling.plants.{i}");
        check_pair(&mut out, &p, &pl.nation, &pl.mineral);
        if !seen.insert((pl.nation.as_str(), pl.mineral.as_str())) {
            out.push((
                p.clone(),
                "at most one plant entry per nation and mineral (an aggregate)".to_string(),
            ));
        }
        if !in_range(pl.capacity_t_per_yr, 0.0, 1e12) {
            out.push((
                format!("{p}.capacity_t_per_yr"),
                format!(
                    "must be a non-negative quantity of at most 1e12, found {}",
                    pl.capacity_t_per_yr
                ),
            ));
        }
    }
    let t = r.capacity_adjustment_years;
    if !(t.is_finite() && t > 0.0 && t <= 100.0) {
        out.push((
            "recycling.capacity_adjustment_years".to_string(),
            format!("must lie in (0, 100] years, found {t}"),
        ));
    }
    out
}

/// Resolve a checked section with the sorted nation and mineral ids (index = position); lists
/// are sorted by index so the order of entries in the file changes nothing.
pub fn resolve(r: &Recycling, nation_ids: &[String], mineral_ids: &[String]) -> ResolvedRecycling {
    let index = |ids: &[String], id: &str| {
        ids.binary_search_by(|x| x.as_str().cmp(id))
            .ok()
            .map(|i| i as u16)
    };
    let mut minerals: Vec<ResolvedRecyclingMineral> = r
        .minerals
        .iter()
        .filter_map(|m| {
            Some(ResolvedRecyclingMineral {
                mineral: index(mineral_ids, &m.mineral)?,
                end_uses: m
                    .end_uses
                    .iter()
                    .map(|u| {
                        (
                            u.share,
                            u.lifetime_mean_years,
                            u.lifetime_sd_years,
                            u.backcast_growth_per_yr.unwrap_or(m.backcast_growth_per_yr),
                        )
                    })
                    .collect(),
                collection_rate: m.collection_rate,
                recovery: m.recovery,
                unit_opex_usd_per_t: m.unit_opex_usd_per_t,
            })
        })
        .collect();
    minerals.sort_by_key(|m| m.mineral);
    let mut collection: Vec<ResolvedCollection> = r
        .collection
        .iter()
        .filter_map(|c| {
            Some((
                index(nation_ids, &c.nation)?,
                index(mineral_ids, &c.mineral)?,
                c.points.clone(),
            ))
        })
        .collect();
    collection.sort_by_key(|c| (c.0, c.1));
    let mut plants: Vec<(u16, u16, f64)> = r
        .plants
        .iter()
        .filter_map(|p| {
            Some((
                index(nation_ids, &p.nation)?,
                index(mineral_ids, &p.mineral)?,
                p.capacity_t_per_yr,
            ))
        })
        .collect();
    plants.sort_by_key(|p| (p.0, p.1));
    ResolvedRecycling {
        minerals,
        collection,
        plants,
        capacity_adjustment_years: r.capacity_adjustment_years,
    }
}
