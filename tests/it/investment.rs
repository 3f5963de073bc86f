//! Investment, state finance, host approval and capacity growth (issue 4, Step 3): the Must-show
//! behaviours, checked through the library API on `scenarios/invest_test.ron` and `scenarios/tiny.ron`.

use std::collections::BTreeMap;

use crate::common::*;
use orechain::output::tables::{assets_csv, events_csv, flows_csv, metrics_csv};
use orechain::scenario::{
    Financier, Policy, PolicyAction, Prospect, Scenario, Stage, Status, Validated, When, load_file,
    validate,
};
use orechain::sim::{RunResult, run};

fn load(name: &str) -> Scenario {
    load_file(&repo(&format!("scenarios/{name}")), &[])
        .unwrap_or_else(|e| panic!("{name} loads: {e:?}"))
        .scenario
        .scenario()
        .clone()
}

fn valid(s: Scenario) -> Validated {
    validate(s).unwrap_or_else(|e| panic!("scenario stays valid: {e:?}"))
}

fn run_seed(s: &Scenario, seed: u64) -> RunResult {
    run(valid(s.clone()).with_seed(seed).resolved())
}

/// Events of a run as (step, kind, asset id, detail).
fn events(r: &RunResult) -> Vec<(u32, String, String, String)> {
    r.events
        .iter()
        .map(|e| {
            (
                e.step,
                e.kind.to_string(),
                e.asset
                    .map(|a| r.registry.assets[a.0 as usize].clone())
                    .unwrap_or_default(),
                e.detail.clone(),
            )
        })
        .collect()
}

#[test]
fn investment_switched_off_reproduces_step_2() {
    let tiny = load("tiny.ron");
    let mut with_prospects = tiny.clone();
    with_prospects.prospects = vec![Prospect {
        id: "chl_refinery".into(),
        name: String::new(),
        host: "CHL".into(),
        mineral: "lithium".into(),
        stage: Stage::Refined,
        capacity_t_per_yr: 20000.0,
        capex_usd: 1e8,
        unit_opex_usd_per_t: 2000.0,
        developers: vec![],
        available_from: None,
        local_processing_commitment: false,
    }];
    with_prospects.financiers = vec![Financier {
        id: "DFC".into(),
        name: String::new(),
        nation: "USA".into(),
        annual_budget_usd: 1e9,
        max_share: 0.5,
        concessional_rate: 0.03,
        carry_over: false,
        loan_tenor_years: 12.0,
        loan_grace_years: 3.0,
        grant_share: 0.0,
        equity_share: 0.0,
        price_floor_ratio: 0.0,
        price_floor_years: 10.0,
        insurance_cover: 0.0,
        objective: orechain::scenario::FinanceObjective::SupplySecurity,
    }];
    with_prospects.run.end_year = 2034;
    let mut plain = tiny;
    plain.run.end_year = 2034;
    let mut off = with_prospects.clone();
    off.investment.enabled = false;

    let a = run(valid(plain).resolved());
    let b = run(valid(off).resolved());
    assert_eq!(metrics_csv(&a), metrics_csv(&b), "metrics.csv differs");
    assert_eq!(flows_csv(&a), flows_csv(&b), "flows.csv differs");
    assert_eq!(events_csv(&a), events_csv(&b), "events.csv differs");
    assert_eq!(assets_csv(&a), assets_csv(&b), "assets.csv differs");

    // Switched on, the same prospect is built (the check above is not vacuous).
    let on = run(valid(with_prospects).resolved());
    assert!(
        events_csv(&on).contains(",completion,chl_refinery,"),
        "{}",
        events_csv(&on)
    );
}

/// Lifecycle order of the stage events; delays may come between them, rejections before approval.
const ORDER: [&str; 5] = [
    "approval",
    "permitting_start",
    "construction_start",
    "ramp_up_start",
    "completion",
];

#[test]
fn capacity_grows_only_through_projects_seen_event_by_event() {
    let mut s = load("invest_test.ron");
    s.operations.max_incident_rate_per_yr = 2.0;
    for seed in 1..=5 {
        let r = run_seed(&s, seed);
        let text = events_csv(&r);
        let evs = events(&r);
        let mut built_from: BTreeMap<String, u32> = BTreeMap::new();
        let mut stage_seen: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (step, kind, asset, _) in &evs {
            if let Some(pos) = ORDER.iter().position(|k| k == kind) {
                let seen = stage_seen.entry(asset.clone()).or_default();
                assert!(
                    !seen.contains(&"cancellation"),
                    "{asset}: {kind} after cancellation"
                );
                let last = seen
                    .iter()
                    .filter_map(|k| ORDER.iter().position(|o| o == k))
                    .next_back();
                assert_eq!(
                    last.map_or(0, |l| l + 1),
                    pos,
                    "{asset}: {kind} out of order after {seen:?}"
                );
                seen.push(ORDER[pos]);
                if kind == "ramp_up_start" {
                    built_from.insert(asset.clone(), *step);
                }
                assert!(text.contains(&format!(",{kind},{asset},")));
            } else if kind == "cancellation" {
                let seen = stage_seen.entry(asset.clone()).or_default();
                assert!(
                    seen.contains(&"permitting_start") && !seen.contains(&"ramp_up_start"),
                    "{asset}: cancelled outside permitting/construction: {seen:?}"
                );
                seen.push("cancellation");
            }
        }
        assert!(!built_from.is_empty(), "seed {seed}: nothing was built");
        // World capacity at each step = start capacity + capacity of projects in ramp-up or later.
        let cap_of: BTreeMap<String, f64> = r
            .assets
            .iter()
            .map(|a| {
                (
                    r.registry.assets[a.idx.0 as usize].clone(),
                    a.capacity_t_per_yr,
                )
            })
            .collect();
        let mut world = vec![0.0; r.steps as usize];
        for m in r.metrics.iter().filter(|m| m.metric == "capacity") {
            world[m.step as usize] += m.value;
        }
        for step in 0..r.steps {
            let expected = world[0]
                + built_from
                    .iter()
                    .filter(|(_, s)| **s <= step)
                    .map(|(a, _)| cap_of[a])
                    .sum::<f64>();
            assert!(
                (world[step as usize] - expected).abs() < 1e-6,
                "seed {seed} step {step}: capacity {} but projects explain {expected}",
                world[step as usize]
            );
        }
    }
}

/// USA-controlled share of the refining capacity built by projects (ramp-up or operating at the end).
fn usa_share_of_refining_built(r: &RunResult) -> f64 {
    let usa = r.registry.nation("USA").expect("USA exists");
    let (mut home, mut total) = (0.0, 0.0);
    for a in &r.assets {
        let id = &r.registry.assets[a.idx.0 as usize];
        if !id.starts_with("p_")
            || a.stage != Stage::Refined
            || !matches!(a.status, Status::RampUp | Status::Operating)
        {
            continue;
        }
        total += a.capacity_t_per_yr;
        for (f, share) in &a.owners {
            if r.registry.firm_home[f.0 as usize] == usa {
                home += a.capacity_t_per_yr * share;
            }
        }
    }
    if total > 0.0 { home / total } else { 0.0 }
}

/// invest_test.ron with its US refinery prospects at a cost (6,000 USD/t Li) that clears
/// Albemarle's hurdle only with concessional finance — the file's premise; prices there have since
/// risen enough for its 3,000 USD/t to clear it on commercial terms — and capital budgets of 400 M
/// USD a year, so a firm has room for a financed project's own share beside its own plans.
fn marginal_us_world() -> Scenario {
    let mut s = load("invest_test.ron");
    for p in s
        .prospects
        .iter_mut()
        .filter(|p| p.id.starts_with("p_usa_ref"))
    {
        p.unit_opex_usd_per_t = 6000.0;
    }
    s.investment.min_capital_budget_usd = 4.0e8;
    s
}

/// (year, asset id, firm id, financier text, firm's home) of every proposal of a run.
fn proposals(r: &RunResult) -> Vec<(u32, String, String, String, String)> {
    r.events
        .iter()
        .filter(|e| e.kind == "proposal")
        .map(|e| {
            let finance = e
                .detail
                .split("finance=")
                .nth(1)
                .and_then(|t| t.split([':', ';']).next())
                .unwrap_or("none")
                .to_string();
            (
                2024 + e.step / 4,
                e.asset
                    .map(|a| r.registry.assets[a.0 as usize].clone())
                    .unwrap_or_default(),
                e.firm
                    .map(|f| r.registry.firms[f.0 as usize].clone())
                    .unwrap_or_default(),
                finance,
                e.firm
                    .map(|f| {
                        r.registry.nations[usize::from(r.registry.firm_home[f.0 as usize].0)]
                            .clone()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// A number `key=value` from an event's detail text.
fn detail_num(detail: &str, key: &str) -> f64 {
    detail
        .split("; ")
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The proposals of firm `firm` (by id) in `year` of a run.
fn firm_proposals<'a>(
    r: &'a RunResult,
    year: u32,
    firm: &'a str,
) -> impl Iterator<Item = &'a orechain::types::EventRow> + 'a {
    r.events.iter().filter(move |e| {
        e.kind == "proposal"
            && 2024 + e.step / 4 == year
            && e.firm
                .is_some_and(|f| r.registry.firms[f.0 as usize] == firm)
    })
}

/// Issue 15 (additionality), with China's bank and Ganfeng switched off so that the run without
/// DFC's budget is exactly the counterfactual DFC consults (firms on their own) and the projects
/// built anyway are those of DFC's own firm. In the first year DFC
/// finances anything — before it the two runs are identical, seed by seed:
/// (a) every prospect DFC finances is one that no firm proposes that year without finance, or
/// only a firm of its rival (China: finance then changes who controls the capacity, weighed at
/// `inframarginal_weight`);
/// (b) the financed firm's own outlay on its approved DFC projects plus the capex of everything
/// it proposes on its own without finance fits its capital budget (400 M USD): the package
/// displaces none of its sponsor's own plans.
#[test]
fn finance_takes_only_the_prospect_no_one_builds_unfinanced() {
    let mut without = marginal_us_world();
    for f in without.financiers.iter_mut() {
        f.annual_budget_usd = 0.0;
    }
    // Ganfeng out of the round, so the projects that are built anyway are Albemarle's own (no
    // rival's project for DFC to take over).
    for f in without.firms.iter_mut().filter(|f| f.id == "ganfeng") {
        f.invests = false;
    }
    let mut with = without.clone();
    for f in with.financiers.iter_mut().filter(|f| f.id == "DFC") {
        f.annual_budget_usd = 5.0e9;
    }
    let mut financed_seeds = 0;
    for seed in 1..=10 {
        let (r, rb) = (run_seed(&with, seed), run_seed(&without, seed));
        let (a, b) = (proposals(&r), proposals(&rb));
        let Some(year) = a.iter().find(|p| p.3 == "DFC").map(|p| p.0) else {
            continue;
        };
        financed_seeds += 1;
        let base_year: Vec<_> = b.iter().filter(|p| p.0 == year).collect();
        for (_, asset, firm, _, _) in a.iter().filter(|p| p.0 == year && p.3 == "DFC") {
            assert!(
                !base_year.iter().any(|p| &p.1 == asset && p.4 != "CHN"),
                "seed {seed}, {year}: DFC financed {asset}, which a non-rival firm proposes without finance: {base_year:?}"
            );
            // (b) for the financed firm.
            let own_plans: f64 = firm_proposals(&rb, year, firm)
                .map(|e| detail_num(&e.detail, "capex_usd"))
                .sum();
            let financed_own: f64 = firm_proposals(&r, year, firm)
                .filter(|e| {
                    e.detail.contains("finance=DFC")
                        && r.events
                            .iter()
                            .any(|x| x.kind == "approval" && x.step == e.step && x.asset == e.asset)
                })
                .map(|e| {
                    let d = &e.detail;
                    (1.0 - detail_num(d, "equity_share"))
                        * (detail_num(d, "capex_usd")
                            - detail_num(d, "loan_usd")
                            - detail_num(d, "grant_usd"))
                })
                .sum();
            assert!(
                financed_own + own_plans <= 4.0e8 * (1.0 + 1e-9),
                "seed {seed}, {year}: {firm}'s own outlay on DFC projects {financed_own:.0} plus its own plans {own_plans:.0} exceed its budget"
            );
        }
    }
    assert!(
        financed_seeds >= 5,
        "DFC financed something in only {financed_seeds} of 10 seeds"
    );
}

#[test]
fn raising_a_state_finance_budget_never_lowers_its_homes_refining_share() {
    // Finance is additional only (docs/ODD.md §7.3): it funds prospects no firm builds this year
    // on its own, and never a package that would leave its firm short of its own plans. So the
    // response saturates once the additional projects are funded, but it must be there: with
    // common random numbers (the same seeds at every budget) the mean never falls and the top
    // budget's gain over zero is significant at 5 % across seeds (paired t, 19 df: 2.093).
    let base = marginal_us_world();
    let seeds: u64 = 20;
    let budgets = [0.0, 1e8, 3e8, 1e9, 5e9];
    let mut shares: Vec<Vec<f64>> = Vec::new();
    for budget in budgets {
        let mut s = base.clone();
        s.financiers
            .iter_mut()
            .filter(|f| f.id == "DFC")
            .for_each(|f| f.annual_budget_usd = budget);
        shares.push(
            (1..=seeds)
                .map(|seed| usa_share_of_refining_built(&run_seed(&s, seed)))
                .collect(),
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let means: Vec<(f64, f64)> = budgets
        .iter()
        .zip(&shares)
        .map(|(b, v)| (*b, mean(v)))
        .collect();
    for pair in means.windows(2) {
        assert!(
            pair[1].1 >= pair[0].1,
            "raising the DFC budget lowered the US share of refining built: {means:?}"
        );
    }
    let diff: Vec<f64> = shares[budgets.len() - 1]
        .iter()
        .zip(&shares[0])
        .map(|(a, b)| a - b)
        .collect();
    let d = mean(&diff);
    let sd = (diff.iter().map(|x| (x - d).powi(2)).sum::<f64>() / (diff.len() - 1) as f64).sqrt();
    let t = d / (sd / (diff.len() as f64).sqrt());
    assert!(
        d > 0.0 && t > 2.093,
        "the finance lever should matter: mean gain {d:.4}, paired t {t:.2}; {means:?}"
    );
}

fn approvals_in(r: &RunResult, prefix: &str) -> usize {
    events(r)
        .iter()
        .filter(|(_, kind, asset, _)| kind == "approval" && asset.starts_with(prefix))
        .count()
}

#[test]
fn a_local_processing_mandate_without_refiners_lowers_approved_mines_in_the_host() {
    let mut free = load("invest_test.ron");
    free.politics.enabled = false;
    // Over a long horizon retries get every prospect approved eventually; count the first years.
    // One decision round: the host's decision on first proposals, before retries.
    free.run.end_year = 2025;
    // Sponsorship (§7.3.3) re-proposes rejected mines every retry; this test isolates the host's
    // decision on firms' own proposals.
    let mut mandated = free.clone();
    mandated.policies.push(Policy {
        id: "bol_mandate".into(),
        start: When::Year(2024.0),
        end: None,
        announced: None,
        action: PolicyAction::LocalProcessingMandate {
            nation: "BOL".into(),
            minerals: vec![],
            ore_export_ban: false,
        },
    });
    let (mut approved_free, mut approved_mandated, mut blamed) = (0, 0, 0);
    for seed in 1..=20 {
        approved_free += approvals_in(&run_seed(&free, seed), "p_bol_mine");
        let r = run_seed(&mandated, seed);
        approved_mandated += approvals_in(&r, "p_bol_mine");
        blamed += events(&r)
            .iter()
            .filter(|(_, kind, _, detail)| {
                kind == "rejection" && detail.contains("no local-processing commitment")
            })
            .count();
    }
    assert!(
        approved_mandated < approved_free,
        "mandate: {approved_mandated} approvals, free: {approved_free}"
    );
    assert!(blamed > 0, "rejections should name the mandate as reason");
}

/// Mean years from approval to completion over completed projects.
fn mean_project_years(s: &Scenario, seeds: u64) -> (f64, usize) {
    let mut durations = Vec::new();
    for seed in 1..=seeds {
        let r = run_seed(s, seed);
        let mut approved: BTreeMap<String, u32> = BTreeMap::new();
        for (step, kind, asset, _) in events(&r) {
            match kind.as_str() {
                "approval" => {
                    approved.insert(asset, step);
                }
                "completion" => {
                    if let Some(start) = approved.get(&asset) {
                        durations.push(f64::from(step - start) / f64::from(r.steps_per_year));
                    }
                }
                _ => {}
            }
        }
    }
    let n = durations.len();
    (durations.iter().sum::<f64>() / n.max(1) as f64, n)
}

#[test]
fn weaker_regulatory_stability_lengthens_mean_project_time() {
    let base = load("invest_test.ron");
    let with_stability = |x: f64| {
        let mut s = base.clone();
        s.run.end_year = 2050;
        for n in &mut s.nations {
            n.governance.regulatory_stability = x;
        }
        s
    };
    let (strong, n_strong) = mean_project_years(&with_stability(0.8), 20);
    let (weak, n_weak) = mean_project_years(&with_stability(0.3), 20);
    assert!(
        n_strong > 20 && n_weak > 20,
        "too few completed projects: {n_strong}, {n_weak}"
    );
    assert!(
        weak > strong,
        "weak stability {weak:.2} y should exceed strong {strong:.2} y"
    );
}

#[test]
fn stage_durations_match_their_configured_means() {
    let mut s = load("invest_test.ron");
    s.run.steps_per_year = 12;
    s.investment.max_delay_hazard_per_yr = 0.0;
    s.investment.max_cancellation_hazard_per_yr = 0.0;
    // Builder speed (state-backed refinery builders) and real options are tested separately.
    s.investment.state_backed_build_factor = 1.0;
    s.investment.max_deferral_years = 20.0;
    // Every host has average governance in invest_test.ron, so each stage's mean is the configured one.
    let inv = s.investment.clone();
    let hosts: BTreeMap<String, Stage> = s
        .prospects
        .iter()
        .map(|p| (p.id.clone(), p.stage))
        .collect();
    let configured = |kind: &str, stage: Stage| match (kind, stage) {
        ("permitting_start", Stage::Ore) => inv.mine_permitting_years,
        ("permitting_start", Stage::Refined) => inv.refinery_permitting_years,
        ("construction_start", Stage::Ore) => inv.mine_construction_years,
        ("construction_start", Stage::Refined) => inv.refinery_construction_years,
        _ => inv.ramp_up_years,
    };
    // Per stage: Σ drawn years and Σ configured means (pooled over mines and refineries).
    let mut sums: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    // 120 seeds × 9 prospects: about 1,000 draws per stage, standard error of the mean about 1%.
    for seed in 1..=120 {
        let r = run_seed(&s, seed);
        for (_, kind, asset, detail) in events(&r) {
            let Some(kind) = ["permitting_start", "construction_start", "ramp_up_start"]
                .into_iter()
                .find(|k| *k == kind)
            else {
                continue;
            };
            let steps: f64 = detail
                .strip_prefix("duration_steps=")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("duration in {detail}"));
            let slot = sums.entry(kind).or_insert((0.0, 0.0, 0));
            slot.0 += steps / 12.0;
            slot.1 += configured(kind, hosts[&asset]);
            slot.2 += 1;
        }
    }
    for (kind, (drawn, expected, n)) in &sums {
        assert!(*n >= 150, "{kind}: only {n} draws");
        let ratio = drawn / expected;
        assert!(
            (ratio - 1.0).abs() < 0.05,
            "{kind}: sample mean / configured mean = {ratio:.3} over {n} projects"
        );
    }
    assert_eq!(sums.len(), 3);
}

#[test]
fn runs_with_investment_are_reproducible_and_independent_of_file_order() {
    let mut s = load("invest_test.ron");
    s.operations.max_incident_rate_per_yr = 1.0;
    let a = run_seed(&s, 9);
    let b = run_seed(&s, 9);
    let mut reversed = s.clone();
    reversed.prospects.reverse();
    reversed.firms.reverse();
    reversed.financiers.reverse();
    reversed.nations.reverse();
    let c = run_seed(&reversed, 9);
    for other in [&b, &c] {
        assert_eq!(metrics_csv(&a), metrics_csv(other));
        assert_eq!(events_csv(&a), events_csv(other));
        assert_eq!(assets_csv(&a), assets_csv(other));
    }
    assert!(events_csv(&a).contains(",approval,"));
}

#[test]
fn hosts_tighten_when_processing_lags_and_loosen_when_investment_dries_up() {
    let mut s = load("invest_test.ron");
    // ARG mines 60 kt/yr and refines nothing: far below a 50% target, at reference prices.
    let arg = s
        .nations
        .iter_mut()
        .find(|n| n.id == "ARG")
        .expect("ARG exists");
    arg.priorities.target_domestic_processing = 0.5;
    // BOL starts with a mandate and has no project it could approve.
    let bol = s
        .nations
        .iter_mut()
        .find(|n| n.id == "BOL")
        .expect("BOL exists");
    bol.priorities.local_processing_mandate = true;
    s.prospects.retain(|p| p.host != "BOL");
    let r = run_seed(&s, 1);
    let text = events_csv(&r);
    assert!(
        text.contains("2025,host_tighten,,,ARG,,local_processing_mandate=on"),
        "{text}"
    );
    assert!(
        text.contains("host_tighten,,,ARG,,ore_export_tax=0.05"),
        "{text}"
    );
    assert!(
        text.contains(
            "2027,host_loosen,,,BOL,,local_processing_mandate=off; years_without_approval=3"
        ),
        "{text}"
    );

    s.politics.enabled = false;
    let off = events_csv(&run_seed(&s, 1));
    assert!(!off.contains("host_tighten") && !off.contains("host_loosen"));
}

fn incidents(s: &Scenario, seeds: u64) -> f64 {
    (1..=seeds)
        .map(|seed| {
            run_seed(s, seed)
                .metrics
                .iter()
                .filter(|m| m.metric == "incidents")
                .map(|m| m.value)
                .sum::<f64>()
        })
        .sum()
}

#[test]
fn incidents_fall_with_enforcement_and_cost_social_licence() {
    let mut s = load("invest_test.ron");
    s.operations.max_incident_rate_per_yr = 2.0;
    s.investment.enabled = false;
    let with_enforcement = |x: f64| {
        let mut t = s.clone();
        for n in &mut t.nations {
            n.governance.labour_enforcement = x;
            n.governance.environmental_enforcement = x;
        }
        t
    };
    let lax = incidents(&with_enforcement(0.1), 5);
    let strict = incidents(&with_enforcement(0.9), 5);
    assert!(strict < lax, "strict {strict} vs lax {lax}");

    // Frequent incidents at the CHN-and-USA-owned ARG mine cost those homes licence in ARG, which
    // shows up as rejections blamed on it.
    let mut conflict = with_enforcement(0.0);
    conflict.investment.enabled = true;
    conflict.operations.max_incident_rate_per_yr = 20.0;
    conflict.operations.social_licence_loss = 0.5;
    let blamed = (1..=5)
        .flat_map(|seed| events(&run_seed(&conflict, seed)))
        .filter(|(_, kind, _, detail)| {
            kind == "rejection" && detail.contains("lost social licence")
        })
        .count();
    assert!(blamed > 0, "no rejection blamed on lost social licence");
}

#[test]
fn a_finance_programme_changes_the_budget_from_the_next_renewal() {
    let mut s = load("invest_test.ron");
    // Without CDB, whose money would win every contested prospect for Ganfeng: this test is about
    // when DFC's budget changes.
    for f in s.financiers.iter_mut().filter(|f| f.id == "CDB") {
        f.annual_budget_usd = 0.0;
    }
    s.policies.push(Policy {
        id: "dfc_programme".into(),
        start: When::Year(2026.5),
        end: None,
        announced: None,
        action: PolicyAction::FinanceProgramme {
            financier: "DFC".into(),
            annual_budget_usd: 1e9,
        },
    });
    let r = run_seed(&s, 1);
    let text = events_csv(&r);
    assert!(
        text.contains(
            "2027,finance_budget,,,USA,,financier=DFC; annual_budget_usd=1000000000; was=0"
        ),
        "{text}"
    );
    let usa = r.registry.nation("USA").expect("USA exists");
    let dfc_before: f64 = r
        .metrics
        .iter()
        .filter(|m| m.metric == "state_finance_usd" && m.nation == Some(usa) && m.step < 12)
        .map(|m| m.value)
        .sum();
    let dfc_after: f64 = r
        .metrics
        .iter()
        .filter(|m| m.metric == "state_finance_usd" && m.nation == Some(usa) && m.step >= 12)
        .map(|m| m.value)
        .sum();
    assert_eq!(dfc_before, 0.0);
    assert!(dfc_after > 0.0, "the programme's money was never committed");
}

/// `tiny.ron` over ten years with a Chilean brine resource base: 1 Mt of lithium, 5,000 t/yr
/// projects, 20-year life, so ten tranches with x_k = 0.1 k and cost factor 1 + 3 × 0.1 k.
fn with_resource_base(opex_usd_per_t: f64) -> Scenario {
    let mut s = load("tiny.ron");
    s.run.end_year = 2034;
    s.resource_base = vec![orechain::scenario::ResourceBase {
        nation: "CHL".into(),
        mineral: "lithium".into(),
        deposit_type: "brine".into(),
        stage: Stage::Ore,
        resource_t: Some(1.0e6),
        unit_opex_usd_per_t: opex_usd_per_t,
        capex_usd_per_t_per_yr: 10_000.0,
        depletion_cost_rise: 3.0,
        project_t_per_yr: 5000.0,
        max_tranches: 10,
        tranches_per_year: 1,
        available_from: None,
        source: String::new(),
    }];
    s
}

/// (tranche number, step, capex) of every proposal of a resource-base tranche.
fn tranche_proposals(r: &RunResult) -> Vec<(u32, u32, f64)> {
    events(r)
        .into_iter()
        .filter(|(_, kind, asset, _)| kind == "proposal" && asset.starts_with("rb-"))
        .map(|(step, _, asset, detail)| {
            let k: u32 = asset
                .rsplit('-')
                .next()
                .and_then(|x| x.parse().ok())
                .expect("counter");
            let capex: f64 = detail
                .split("; ")
                .find_map(|kv| kv.strip_prefix("capex_usd="))
                .and_then(|v| v.parse().ok())
                .expect("capex in the proposal");
            (k, step, capex)
        })
        .collect()
}

#[test]
fn generic_projects_appear_only_when_prices_justify_them_and_each_tranche_costs_more() {
    // Ore sells at about 8,000 USD/t: a 3,000 USD/t base is developed, tranche after tranche.
    let cheap = with_resource_base(3000.0);
    let mut proposed_any = 0;
    for seed in 1..=8 {
        let props = tranche_proposals(&run_seed(&cheap, seed));
        proposed_any += usize::from(!props.is_empty());
        // Tranches are proposed in order, one at a time, and the next always costs more: capex_k =
        // 10,000 × 5,000 × (1 + 0.3 k) before learning (learning here is < 1%).
        let mut approved: Vec<(u32, f64)> = props.iter().map(|&(k, _, c)| (k, c)).collect();
        approved.dedup_by_key(|x| x.0);
        for w in approved.windows(2) {
            assert_eq!(
                w[1].0,
                w[0].0 + 1,
                "seed {seed}: tranches out of order {approved:?}"
            );
            assert!(
                w[1].1 > w[0].1,
                "seed {seed}: tranche capex did not rise {approved:?}"
            );
        }
        for &(k, c) in &approved {
            let closed = 10_000.0 * 5000.0 * (1.0 + 0.3 * f64::from(k - 1));
            assert!(
                c <= closed * 1.0001 && c >= closed * 0.97,
                "seed {seed}: tranche {k} capex {c} vs {closed}"
            );
        }
    }
    assert!(
        proposed_any >= 6,
        "the cheap base was developed in {proposed_any} of 8 seeds"
    );
    // A base whose cash cost exceeds the highest ore price the market can reach (the ceiling,
    // 5 × the 8,000 USD/t reference) is never proposed: no expected price pays for it.
    let dear = with_resource_base(45_000.0);
    for seed in 1..=8 {
        assert!(
            tranche_proposals(&run_seed(&dear, seed)).is_empty(),
            "seed {seed}: an uneconomic tranche was proposed"
        );
    }
}
