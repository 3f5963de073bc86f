//! The scenario entry of the strategic-stockpile mechanism (`src/model/stockpile/`): the
//! `stockpiles` section, its checks and its resolved form.
//!
//! This file is the mechanism's one "schema entry" (`docs/ODD.md`, "How to add a mechanism"):
//! the raw struct the loader deserialises, the checks that name the field path of every problem,
//! and the resolution of ids to indices. The scenario layer sits below the model, so the model's
//! mechanism folder reads [`ResolvedStockpile`] and never a string id.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A strategic stockpile of refined material held by a nation (a government reserve such as the
/// US National Defense Stockpile or JOGMEC's rare-metal stockpile in Japan): it buys in the
/// nation's refined market while the price the nation pays is below `buy_below_usd_per_t` and
/// releases into it while the price is above `release_above_usd_per_t`, within its capacity and
/// its fill. Written as `stockpiles: [(id: "us_ree", nation: "USA", mineral: "rare_earths", ...)]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stockpile {
    /// Stable id.
    pub id: String,
    /// Holding nation (must consume the mineral: the stockpile trades in its refined market).
    pub nation: String,
    /// Mineral id (the refined product is stocked).
    pub mineral: String,
    /// Capacity, t (> 0).
    pub capacity_t: f64,
    /// Fill at the start of the run, t (0..=capacity).
    #[serde(default)]
    pub initial_t: f64,
    /// Buys while the price the nation pays is below this, USD/t (> 0).
    pub buy_below_usd_per_t: f64,
    /// Releases while the price the nation pays is above this, USD/t (above the buy trigger by
    /// more than the smoothing band: `buy × (1 + w) <= release × (1 − w)`).
    pub release_above_usd_per_t: f64,
    /// Most it buys in a year, t/yr (>= 0; 0 = never buys).
    pub max_buy_t_per_yr: f64,
    /// Most it releases in a year, t/yr (>= 0; 0 = never releases).
    pub max_release_t_per_yr: f64,
}

/// A stockpile with indices (what the model's mechanism reads).
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedStockpile {
    /// Holding nation index.
    pub nation: u16,
    /// Mineral index.
    pub mineral: u16,
    /// Capacity, t.
    pub capacity_t: f64,
    /// Opening fill, t.
    pub initial_t: f64,
    /// Buy trigger, USD/t.
    pub buy_below_usd_per_t: f64,
    /// Release trigger, USD/t.
    pub release_above_usd_per_t: f64,
    /// Most bought per year, t/yr.
    pub max_buy_t_per_yr: f64,
    /// Most released per year, t/yr.
    pub max_release_t_per_yr: f64,
}

/// Largest quantity accepted, t (as for other quantities).
const MAX_T: f64 = 1e12;

/// Check the `stockpiles` section: `(field path, message)` for every problem. `consumes(nation,
/// mineral)` says whether the nation has a demand trajectory for the mineral; `smoothing` is
/// `market.supply_smoothing`.
pub fn check(
    list: &[Stockpile],
    nations: &crate::scenario::validate::IdSet<'_>,
    minerals: &crate::scenario::validate::IdSet<'_>,
    consumes: impl Fn(&str, &str) -> bool,
    smoothing: f64,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut held = BTreeSet::new();
    for (i, s) in list.iter().enumerate() {
        let valid_id = !s.id.is_empty()
            && s.id.len() <= 64
            && s.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_id {
            out.push((
                format!("stockpiles.{i}.id"),
                "must be non-empty, at most 64 chars, and use only letters, digits, `_` and `-`"
                    .to_string(),
            ));
            continue;
        }
        let p = format!("stockpiles.{}", s.id);
        if !seen.insert(s.id.as_str()) {
            out.push((p.clone(), "duplicate id in stockpiles".to_string()));
        }
        let nation_ok = nations.contains(s.nation.as_str());
        let mineral_ok = minerals.contains(s.mineral.as_str());
        if !nation_ok {
            out.push((format!("{p}.nation"), "unknown nation".to_string()));
        }
        if !mineral_ok {
            out.push((format!("{p}.mineral"), "unknown mineral".to_string()));
        }
        if nation_ok && mineral_ok {
            if !consumes(&s.nation, &s.mineral) {
                out.push((
                    format!("{p}.nation"),
                    "must have a demand trajectory for the stockpile's mineral (a stockpile \
                     trades in its nation's refined market)"
                        .to_string(),
                ));
            }
            if !held.insert((s.nation.as_str(), s.mineral.as_str())) {
                out.push((
                    p.clone(),
                    "a nation holds at most one stockpile per mineral".to_string(),
                ));
            }
        }
        let quantity = |out: &mut Vec<(String, String)>, field: &str, v: f64, positive: bool| {
            let ok = v.is_finite() && v <= MAX_T && if positive { v > 0.0 } else { v >= 0.0 };
            if !ok {
                let what = if positive { "positive" } else { "non-negative" };
                out.push((
                    format!("{p}.{field}"),
                    format!("must be a {what} quantity of at most 1e12, found {v}"),
                ));
            }
            ok
        };
        let cap_ok = quantity(&mut out, "capacity_t", s.capacity_t, true);
        let init_ok = quantity(&mut out, "initial_t", s.initial_t, false);
        quantity(&mut out, "max_buy_t_per_yr", s.max_buy_t_per_yr, false);
        quantity(
            &mut out,
            "max_release_t_per_yr",
            s.max_release_t_per_yr,
            false,
        );
        if cap_ok && init_ok && s.initial_t > s.capacity_t {
            out.push((
                format!("{p}.initial_t"),
                format!(
                    "must not exceed capacity_t ({}), found {}",
                    s.capacity_t, s.initial_t
                ),
            ));
        }
        let price_ok = |v: f64| v.is_finite() && v > 0.0 && v <= 1e9;
        let buy_ok = price_ok(s.buy_below_usd_per_t);
        let release_ok = price_ok(s.release_above_usd_per_t);
        for (field, ok, v) in [
            ("buy_below_usd_per_t", buy_ok, s.buy_below_usd_per_t),
            (
                "release_above_usd_per_t",
                release_ok,
                s.release_above_usd_per_t,
            ),
        ] {
            if !ok {
                out.push((
                    format!("{p}.{field}"),
                    format!("must be a positive price in USD/t of at most 1e9, found {v}"),
                ));
            }
        }
        if buy_ok
            && release_ok
            && s.buy_below_usd_per_t * (1.0 + smoothing)
                > s.release_above_usd_per_t * (1.0 - smoothing)
        {
            out.push((
                format!("{p}.release_above_usd_per_t"),
                format!(
                    "must lie above the buy trigger by more than the smoothing band \
                     (buy × (1 + {smoothing}) <= release × (1 − {smoothing})), found buy {} and \
                     release {}",
                    s.buy_below_usd_per_t, s.release_above_usd_per_t
                ),
            ));
        }
    }
    out
}

/// Resolve checked stockpiles with the sorted nation and mineral ids (index = position), sorted by
/// (nation, mineral) so the order of entries in the file changes nothing.
pub fn resolve(
    list: &[Stockpile],
    nation_ids: &[String],
    mineral_ids: &[String],
) -> Vec<ResolvedStockpile> {
    let index = |ids: &[String], id: &str| ids.binary_search_by(|x| x.as_str().cmp(id)).ok();
    let mut out: Vec<ResolvedStockpile> = list
        .iter()
        .filter_map(|s| {
            Some(ResolvedStockpile {
                nation: index(nation_ids, &s.nation)? as u16,
                mineral: index(mineral_ids, &s.mineral)? as u16,
                capacity_t: s.capacity_t,
                initial_t: s.initial_t,
                buy_below_usd_per_t: s.buy_below_usd_per_t,
                release_above_usd_per_t: s.release_above_usd_per_t,
                max_buy_t_per_yr: s.max_buy_t_per_yr,
                max_release_t_per_yr: s.max_release_t_per_yr,
            })
        })
        .collect();
    out.sort_by_key(|s| (s.nation, s.mineral));
    out
}
