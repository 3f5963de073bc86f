//! Supply from geological endowment: the scenario's `resource_base` turned into generic projects.
//!
//! Why: a hand-written prospect list runs out, and when it does the model shows a supply cliff
//! (and the shares of whoever the list favoured) instead of the rising long-run supply curve of a
//! depletable resource. Each `resource_base` entry is a nation × mineral × deposit type (or a
//! generic refinery site class) with a cost curve; it becomes a chain of *tranches*, generic
//! projects that firms propose through the ordinary investment round only when their NPV at the
//! expected netback is positive (docs/ODD.md §7.3.6).
//!
//! The cost curve (a stepwise long-run supply curve of a depletable resource; Tilton & Lagos 2007,
//! *Resources Policy* 32; Herfindahl 1967): tranche k (k = 0, 1, ...) of an entry with resource R
//! (t), project size q (t/yr) and asset life L (years, `investment.asset_life_years`) starts after
//! D_k = k q L tonnes are committed, and costs
//!
//! ```text
//! c_k = c_0 (1 + g x_k),  K_k = κ_0 q (1 + g x_k),  x_k = D_k / R  (or k / N without R)
//! ```
//!
//! where c_0 is the first tranche's cash cost, κ_0 its capital intensity, g the
//! `depletion_cost_rise` (the relative cost increase when the resource is used up) and N the number
//! of tranches. The number of tranches is min(`max_tranches`, ⌊R / (q L)⌋). Tranche k ≥ m may be
//! proposed only once tranche k − m has left the prospect state (approved), m the entry's
//! `tranches_per_year` (the development rate of a mining district or refining hub), so an entry adds
//! at most m projects a year, in cost order.
//!
//! Generated ids are `rb-<nation>-<mineral>-<deposit_type>-<stage>-<k+1, two digits>`: they are
//! derived from the entry, never from file order, so reordering entries changes nothing. The
//! developers of a tranche are the firms of a fitting kind whose home is the host or that own part
//! of an asset there at the start (firms with local knowledge and licences); with none, any firm of
//! a fitting kind may develop it.

use std::collections::BTreeSet;

use super::resolve::kind_fits;
use super::schema::{ResourceBase, Scenario, Stage};

/// One generated project: the prospect and the id of the tranche before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tranche {
    /// Generated id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Host nation id.
    pub host: String,
    /// Mineral id.
    pub mineral: String,
    /// Stage.
    pub stage: Stage,
    /// Capacity, t/yr.
    pub capacity_t_per_yr: f64,
    /// Capex, USD.
    pub capex_usd: f64,
    /// Cash cost, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// Firms allowed to develop it (ids, sorted; empty = any firm of a fitting kind).
    pub developers: Vec<String>,
    /// First year it may be proposed (None = the start).
    pub available_from: Option<f64>,
    /// The tranche that must have been approved first (k − `tranches_per_year`).
    pub after: Option<String>,
    /// Share of the base used before it, x_k.
    pub depleted_share: f64,
}

/// The stage as it appears in an id.
fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Ore => "ore",
        Stage::Refined => "refined",
    }
}

/// The id of tranche `k` (0-based) of entry `e`.
pub fn tranche_id(e: &ResourceBase, k: u32) -> String {
    format!(
        "rb-{}-{}-{}-{}-{:02}",
        e.nation,
        e.mineral,
        e.deposit_type,
        stage_name(e.stage),
        k + 1
    )
}

/// Number of tranches of an entry: min(`max_tranches`, ⌊R / (q L)⌋) (all `max_tranches` without R).
pub fn tranche_count(e: &ResourceBase, life_years: f64) -> u32 {
    let per = e.project_t_per_yr * life_years.max(0.0);
    match e.resource_t {
        Some(r) if per > 0.0 && r.is_finite() => {
            let fits = (r / per).floor();
            if fits < f64::from(e.max_tranches) {
                fits.max(0.0) as u32
            } else {
                e.max_tranches
            }
        }
        _ => e.max_tranches,
    }
}

/// Share of the base used before tranche `k`, x_k.
pub fn depleted_share(e: &ResourceBase, k: u32, life_years: f64) -> f64 {
    match e.resource_t {
        Some(r) if r > 0.0 => f64::from(k) * e.project_t_per_yr * life_years / r,
        _ => f64::from(k) / f64::from(e.max_tranches.max(1)),
    }
}

/// The generated projects of every entry of a (checked) scenario, entry by entry, tranche by
/// tranche. Entries with unknown ids still generate (validation reports the ids).
pub fn tranches(s: &Scenario) -> Vec<Tranche> {
    let life = s.investment.asset_life_years;
    let mut out = Vec::new();
    for e in &s.resource_base {
        // Firms with local presence: home in the host, or an owner of an asset there.
        let mut local: BTreeSet<&str> = s
            .firms
            .iter()
            .filter(|f| f.home == e.nation)
            .map(|f| f.id.as_str())
            .collect();
        for a in s.assets.iter().filter(|a| a.host == e.nation) {
            local.extend(a.owners.keys().map(String::as_str));
        }
        let developers: Vec<String> = s
            .firms
            .iter()
            .filter(|f| local.contains(f.id.as_str()) && f.invests && kind_fits(f.kind, e.stage))
            .map(|f| f.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let n = tranche_count(e, life);
        // Development rate m: tranche k waits for tranche k − m (validation keeps m ≥ 1).
        let m = e.tranches_per_year.max(1);
        for k in 0..n {
            let x = depleted_share(e, k, life);
            let phi = 1.0 + e.depletion_cost_rise * x;
            out.push(Tranche {
                id: tranche_id(e, k),
                name: format!(
                    "{} {} {} {} tranche {} (resource base)",
                    e.nation,
                    e.mineral,
                    e.deposit_type,
                    stage_name(e.stage),
                    k + 1
                ),
                host: e.nation.clone(),
                mineral: e.mineral.clone(),
                stage: e.stage,
                capacity_t_per_yr: e.project_t_per_yr,
                capex_usd: e.capex_usd_per_t_per_yr * e.project_t_per_yr * phi,
                unit_opex_usd_per_t: e.unit_opex_usd_per_t * phi,
                developers: developers.clone(),
                available_from: e.available_from,
                after: (k >= m).then(|| tranche_id(e, k - m)),
                depleted_share: x,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(resource_t: Option<f64>) -> ResourceBase {
        ResourceBase {
            nation: "CHL".into(),
            mineral: "copper".into(),
            deposit_type: "porphyry".into(),
            stage: Stage::Ore,
            resource_t,
            unit_opex_usd_per_t: 4000.0,
            capex_usd_per_t_per_yr: 16000.0,
            depletion_cost_rise: 1.0,
            project_t_per_yr: 100_000.0,
            max_tranches: 10,
            tranches_per_year: 1,
            available_from: None,
            source: String::new(),
        }
    }

    #[test]
    fn tranche_costs_rise_with_depletion_by_the_closed_form() {
        // R = 10 Mt, q L = 100 kt × 20 y = 2 Mt: five tranches, x_k = 0.2 k, c_k = 4000 (1 + 0.2 k).
        let mut s =
            crate::scenario::synthetic::synthetic(crate::scenario::synthetic::SyntheticSize {
                nations: 2,
                firms: 1,
                assets: 12,
                prospects: 0,
                seed: 1,
                end_year: 2025,
            });
        s.investment.asset_life_years = 20.0;
        s.resource_base = vec![entry(Some(10.0e6))];
        let t = tranches(&s);
        assert_eq!(t.len(), 5);
        for (k, tr) in t.iter().enumerate() {
            let x = 0.2 * k as f64;
            assert!((tr.unit_opex_usd_per_t - 4000.0 * (1.0 + x)).abs() < 1e-6);
            assert!((tr.capex_usd - 16000.0 * 100_000.0 * (1.0 + x)).abs() < 1e-3);
            assert_eq!(tr.after.is_some(), k > 0);
        }
        assert_eq!(t[0].id, "rb-CHL-copper-porphyry-ore-01");
        assert_eq!(t[1].after.as_deref(), Some("rb-CHL-copper-porphyry-ore-01"));
        // Without a resource the cap rules and x_k = k / max_tranches.
        s.resource_base = vec![entry(None)];
        let t = tranches(&s);
        assert_eq!(t.len(), 10);
        assert!((t[5].unit_opex_usd_per_t - 4000.0 * 1.5).abs() < 1e-6);
    }

    #[test]
    fn a_development_rate_of_m_opens_tranche_k_after_tranche_k_minus_m() {
        let mut s =
            crate::scenario::synthetic::synthetic(crate::scenario::synthetic::SyntheticSize {
                nations: 2,
                firms: 1,
                assets: 12,
                prospects: 0,
                seed: 1,
                end_year: 2025,
            });
        s.investment.asset_life_years = 20.0;
        let mut e = entry(None);
        e.tranches_per_year = 3;
        s.resource_base = vec![e];
        let t = tranches(&s);
        assert_eq!(t.len(), 10);
        // The first three are open at once; each later one waits for the one three before it, and
        // the cost curve is the same as with one a year.
        for (k, tr) in t.iter().enumerate() {
            let want = (k >= 3).then(|| t[k - 3].id.clone());
            assert_eq!(tr.after, want, "tranche {k}");
            assert!((tr.unit_opex_usd_per_t - 4000.0 * (1.0 + 0.1 * k as f64)).abs() < 1e-6);
        }
    }
}
