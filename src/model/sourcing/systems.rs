//! Sourcing rules: which supply qualifies for a consumer's sourcing rule, and what it earns.
//!
//! The pattern is the US Inflation Reduction Act §30D clean-vehicle credit: a critical mineral
//! qualifies when it was extracted or processed in the consumer nation or in a nation it has a
//! free-trade agreement with, and — from the date the rule excludes them — when it is not controlled
//! by a "foreign entity of concern". The qualifying share required rises year by year
//! (40% in 2023, 50% 2024, 60% 2025, 70% 2026, 80% from 2027) and the credit lapses at an end date.
//! An agreement such as the US–Japan Critical Minerals Agreement (March 2023) makes a partner count
//! as an FTA partner. This module only decides eligibility and the premium; the trade model acts on
//! them (demand preference and price), by calling [`SourcingRules::qualifies`] and reading the
//! rule's `premium_usd_per_t` ([`SourcingRules::rule`]).

use bevy_ecs::prelude::*;

use crate::model::components::{MineralIdx, NationIdx};
use crate::model::resources::{Clock, PolicyTimeline, Registry, SourcingRule, SourcingRules};
use crate::model::tables::NationPair;
use crate::scenario::resolve::SourcingMeasure;

/// Equity share held by entities of concern at or above which they "control" an asset: the 25%
/// threshold of the US Treasury/DOE foreign-entity-of-concern guidance (December 2023) for board
/// seats, voting rights or equity.
pub const ENTITY_OF_CONCERN_CONTROL_SHARE: f64 = 0.25;

/// Rebuild the sourcing rules in force and the FTA status agreements grant, for the current step.
pub fn update_sourcing_rules(
    clock: Res<Clock>,
    registry: Res<Registry>,
    timeline: Res<PolicyTimeline>,
    mut rules: ResMut<SourcingRules>,
) {
    *rules = build_sourcing_rules(&timeline, &registry, clock.year());
}

/// The sourcing rules and FTA grants of the policies in force, at decimal year `year`.
pub fn build_sourcing_rules(
    timeline: &PolicyTimeline,
    registry: &Registry,
    year: f64,
) -> SourcingRules {
    let n = registry.n_nations();
    let mut out = SourcingRules {
        rules: Vec::new(),
        fta_granted: NationPair::new(n, false),
    };
    for (p, _) in timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, active)| **active)
    {
        match &p.sourcing {
            Some(SourcingMeasure::Rule {
                consumer,
                minerals,
                required_share,
                premium_usd_per_t,
                exclude_entities_of_concern,
            }) => {
                let mut covered = vec![false; registry.n_minerals()];
                for &m in minerals {
                    covered[usize::from(m)] = true;
                }
                out.rules.push(SourcingRule {
                    policy: p.idx,
                    consumer: NationIdx(*consumer),
                    minerals: covered,
                    required_share: stepwise_share(required_share, year),
                    premium_usd_per_t: *premium_usd_per_t,
                    exclude_entities_of_concern: *exclude_entities_of_concern,
                });
            }
            Some(SourcingMeasure::FtaAgreement { nation, partner }) => {
                out.fta_granted[(NationIdx(*nation), NationIdx(*partner))] = true;
            }
            None => {}
        }
    }
    out
}

/// The share in force at `year` from `(year, share)` points: the point with the latest year not after
/// `year` (0 before the first point).
pub fn stepwise_share(points: &[(f64, f64)], year: f64) -> f64 {
    points
        .iter()
        .filter(|(y, _)| *y <= year + 1e-9)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(0.0, |(_, share)| *share)
}

impl SourcingRules {
    /// The rule a consumer applies to a mineral, if any (the last one listed wins).
    pub fn rule(&self, consumer: NationIdx, mineral: MineralIdx) -> Option<&SourcingRule> {
        self.rules
            .iter()
            .rev()
            .find(|r| r.consumer == consumer && r.minerals[usize::from(mineral.0)])
    }

    /// Whether `origin` counts as home or FTA partner for `consumer`: itself, a scenario FTA partner,
    /// or a partner an agreement in force grants FTA status.
    pub fn counts_as_fta(
        &self,
        registry: &Registry,
        consumer: NationIdx,
        origin: NationIdx,
    ) -> bool {
        registry.fta(consumer, origin) || self.fta_granted[(consumer, origin)]
    }

    /// Whether a supply qualifies under the consumer's rule for the mineral; `None` when no rule
    /// applies. `origins` are the nations where the supply was extracted or processed (any one at home
    /// or in an FTA partner suffices); `owner_homes` are the controlling owners' home nations with
    /// their equity shares (empty when unknown; then control is not tested).
    pub fn qualifies(
        &self,
        registry: &Registry,
        consumer: NationIdx,
        mineral: MineralIdx,
        origins: &[NationIdx],
        owner_homes: &[(NationIdx, f64)],
    ) -> Option<bool> {
        let rule = self.rule(consumer, mineral)?;
        let origin_ok = origins
            .iter()
            .any(|&o| self.counts_as_fta(registry, consumer, o));
        let concern_share: f64 = owner_homes
            .iter()
            .filter(|(home, _)| registry.entity_of_concern[usize::from(home.0)])
            .map(|(_, share)| share)
            .sum();
        let controlled = concern_share >= ENTITY_OF_CONCERN_CONTROL_SHARE - 1e-12;
        Some(origin_ok && !(rule.exclude_entities_of_concern && controlled))
    }

    /// Premium per tonne a supply earns with the consumer, USD/t (0 when it does not qualify or no
    /// rule applies). The trade model reads the rule's premium itself; this states the rule for
    /// the tests.
    #[cfg(test)]
    pub fn premium_usd_per_t(
        &self,
        registry: &Registry,
        consumer: NationIdx,
        mineral: MineralIdx,
        origins: &[NationIdx],
        owner_homes: &[(NationIdx, f64)],
    ) -> f64 {
        match self.qualifies(registry, consumer, mineral, origins, owner_homes) {
            Some(true) => self
                .rule(consumer, mineral)
                .map_or(0.0, |r| r.premium_usd_per_t),
            _ => 0.0,
        }
    }

    /// Qualifying share of the consumer's supply of the mineral its rule requires now (0 = no rule).
    pub fn required_share(&self, consumer: NationIdx, mineral: MineralIdx) -> f64 {
        self.rule(consumer, mineral)
            .map_or(0.0, |r| r.required_share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::ScheduledPolicy;

    fn registry() -> Registry {
        // CHN (0, entity of concern), JPN (1), MEX (2, FTA with USA), USA (3).
        let nations: Vec<String> = ["CHN", "JPN", "MEX", "USA"].map(String::from).to_vec();
        let n = nations.len();
        let mut fta = NationPair::new(n, false);
        for i in 0..n {
            fta[(NationIdx(i as u16), NationIdx(i as u16))] = true;
        }
        fta[(MEX, USA)] = true;
        fta[(USA, MEX)] = true;
        Registry {
            minerals: vec!["cobalt".into(), "lithium".into()],
            nations,
            fta,
            entity_of_concern: vec![true, false, false, false],
            ..Registry::default()
        }
    }

    fn ira(agreement: bool) -> PolicyTimeline {
        let mut policies = vec![ScheduledPolicy {
            idx: 0,
            announced_step: 0,
            start_step: 0,
            end_step: u32::MAX,
            licence_open_step: 0,
            licence_open_year: 0.0,
            trade: None,
            assets: None,
            // USA (3) on lithium (1).
            sourcing: Some(SourcingMeasure::Rule {
                consumer: 3,
                minerals: vec![1],
                required_share: vec![(2023.0, 0.4), (2024.0, 0.5), (2027.0, 0.8)],
                premium_usd_per_t: 1000.0,
                exclude_entities_of_concern: true,
            }),
            budget: None,
        }];
        if agreement {
            policies.push(ScheduledPolicy {
                idx: 1,
                announced_step: 0,
                start_step: 0,
                end_step: u32::MAX,
                licence_open_step: 0,
                licence_open_year: 0.0,
                trade: None,
                assets: None,
                // USA (3) grants JPN (1) FTA status.
                sourcing: Some(SourcingMeasure::FtaAgreement {
                    nation: 3,
                    partner: 1,
                }),
                budget: None,
            });
        }
        let active = vec![true; policies.len()];
        PolicyTimeline { policies, active }
    }

    const CHN: NationIdx = NationIdx(0);
    const JPN: NationIdx = NationIdx(1);
    const MEX: NationIdx = NationIdx(2);
    const USA: NationIdx = NationIdx(3);
    const COBALT: MineralIdx = MineralIdx(0);
    const LITHIUM: MineralIdx = MineralIdx(1);

    #[test]
    fn home_and_fta_origins_qualify_and_others_do_not() {
        let reg = registry();
        let rules = build_sourcing_rules(&ira(false), &reg, 2025.0);
        assert_eq!(rules.qualifies(&reg, USA, LITHIUM, &[USA], &[]), Some(true));
        assert_eq!(rules.qualifies(&reg, USA, LITHIUM, &[MEX], &[]), Some(true));
        assert_eq!(
            rules.qualifies(&reg, USA, LITHIUM, &[JPN], &[]),
            Some(false)
        );
        // Extracted in a non-partner but processed in an FTA partner qualifies.
        assert_eq!(
            rules.qualifies(&reg, USA, LITHIUM, &[CHN, MEX], &[]),
            Some(true)
        );
        // Minerals outside the rule and other consumers have no rule.
        assert_eq!(rules.qualifies(&reg, USA, COBALT, &[USA], &[]), None);
        assert_eq!(rules.qualifies(&reg, JPN, LITHIUM, &[JPN], &[]), None);
        assert_eq!(
            rules.premium_usd_per_t(&reg, USA, LITHIUM, &[MEX], &[]),
            1000.0
        );
        assert_eq!(
            rules.premium_usd_per_t(&reg, USA, LITHIUM, &[JPN], &[]),
            0.0
        );
    }

    #[test]
    fn an_agreement_makes_the_partner_count_as_fta() {
        let reg = registry();
        let rules = build_sourcing_rules(&ira(true), &reg, 2025.0);
        assert_eq!(rules.qualifies(&reg, USA, LITHIUM, &[JPN], &[]), Some(true));
    }

    #[test]
    fn entity_of_concern_control_excludes_from_25_percent() {
        let reg = registry();
        let rules = build_sourcing_rules(&ira(false), &reg, 2025.0);
        let minority = [(USA, 0.8), (CHN, 0.2)];
        let control = [(USA, 0.75), (CHN, 0.25)];
        assert_eq!(
            rules.qualifies(&reg, USA, LITHIUM, &[MEX], &minority),
            Some(true)
        );
        assert_eq!(
            rules.qualifies(&reg, USA, LITHIUM, &[MEX], &control),
            Some(false)
        );
    }

    #[test]
    fn required_share_steps_up_by_year() {
        let reg = registry();
        let at = |year| build_sourcing_rules(&ira(false), &reg, year).required_share(USA, LITHIUM);
        assert_eq!(at(2022.5), 0.0);
        assert_eq!(at(2023.0), 0.4);
        assert_eq!(at(2026.75), 0.5);
        assert_eq!(at(2030.0), 0.8);
    }
}
