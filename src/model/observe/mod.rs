//! Observation (phase 8 of a step; a mechanism in its own folder, `docs/ODD.md` §3.1): the core
//! metrics of `metrics.csv` — production, location and control ([`production`]), markets
//! ([`markets`]) and investment ([`investment`]).
//!
//! Why a folder: the observers, the pairs they write complete series for ([`ObservedPairs`],
//! built here from the scenario) and the core entries of the metric catalogue
//! ([`super::metrics::CATALOGUE`], listed by [`Observe::metrics`]) belong together; a mechanism
//! with metrics of its own lists them in its own folder and records them in the
//! [`super::schedule::Hook::Observe`] set, after these observers.

pub mod investment;
pub mod markets;
pub mod production;

use bevy_ecs::prelude::*;

use super::components::{MineralIdx, NationIdx, Stage};
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::{CATALOGUE, MetricInfo};
use super::resources::{ObservedPairs, Registry, commodity};
use crate::scenario::Resolved;
use crate::scenario::resolve::kind_fits;

/// The core observers.
pub struct Observe;

impl Mechanism for Observe {
    fn install(&self, resolved: &Resolved, world: &mut World, _: &mut Schedule) {
        let pairs = observed_pairs(resolved, world.resource::<Registry>());
        world.insert_resource(pairs);
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        CATALOGUE
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        // The rows the observers append are checked by the guard itself (`crate::sim::guard`).
        None
    }
}

/// Hosts: nations hosting an asset or prospect of the commodity. Controllers: homes of current
/// owners, prospect developers, firms of a kind that may develop the commodity's stage, and
/// state firms that a nationalisation of the mineral gives equity to.
fn observed_pairs(r: &Resolved, reg: &Registry) -> ObservedPairs {
    let nc = reg.n_minerals() * 2;
    let mut hosts = vec![Vec::new(); nc];
    let mut controllers = vec![Vec::new(); nc];
    let key = |mineral: u16, stage| commodity(MineralIdx(mineral), stage);
    for a in &r.assets {
        let c = key(a.mineral, a.stage);
        hosts[c].push(NationIdx(a.host));
        for &(f, _) in &a.owners {
            controllers[c].push(reg.firm_home[f as usize]);
        }
    }
    // Without investment prospects never become assets, so they add no series.
    let prospects = if r.investment.enabled {
        r.prospects.as_slice()
    } else {
        &[]
    };
    // Homes of the firms that may develop an open prospect of each stage, found once (not once
    // per prospect, which would be `O(P × F)`).
    let open_homes = |stage: Stage| -> Vec<NationIdx> {
        let mut homes: Vec<NationIdx> = r
            .firms
            .iter()
            .filter(|f| kind_fits(f.kind, stage))
            .map(|f| NationIdx(f.home))
            .collect();
        homes.sort();
        homes.dedup();
        homes
    };
    let open_homes = [open_homes(Stage::Ore), open_homes(Stage::Refined)];
    for p in prospects {
        let c = key(p.mineral, p.stage);
        hosts[c].push(NationIdx(p.host));
        if p.developers.is_empty() {
            let stage = usize::from(p.stage == Stage::Refined);
            controllers[c].extend_from_slice(&open_homes[stage]);
        } else {
            for &d in &p.developers {
                controllers[c].push(reg.firm_home[d as usize]);
            }
        }
    }
    // A nationalisation hands equity to its state firm during the run: that firm's home controls
    // supply from then on, so it needs control rows too (else control shares stop summing to 1).
    for &(m, f) in &r.nationalisations {
        let home = reg.firm_home[f as usize];
        controllers[key(m, Stage::Ore)].push(home);
        controllers[key(m, Stage::Refined)].push(home);
    }
    // An offtake contract's buyer controls the tonnes it takes (docs/ODD.md §7.6.4).
    for k in &r.offtake.contracts {
        let seller = r
            .assets
            .iter()
            .map(|a| (a.idx, a.mineral, a.stage))
            .chain(r.prospects.iter().map(|p| (p.idx, p.mineral, p.stage)))
            .find(|a| a.0 == k.seller);
        if let Some((_, m, stage)) = seller {
            controllers[key(m, stage)].push(NationIdx(k.buyer));
        }
    }
    for list in hosts.iter_mut().chain(controllers.iter_mut()) {
        list.sort();
        list.dedup();
    }
    ObservedPairs { hosts, controllers }
}
