//! Investment that answers to policy: refinery projects valued at the netback of their host's
//! (possibly segmented) market, state financiers placing binding budgets, and announced policies
//! in investors' expectations (docs/ODD.md §7.3). These are the mechanisms behind research
//! questions Q3 (export controls) and Q1 (the finance race).

use crate::common::*;
use orechain::scenario::{
    ControlMode, Policy, PolicyAction, Scenario, Stage, Status, When, load_file, validate,
};
use orechain::sim::{RunResult, run};

fn load(name: &str) -> Scenario {
    load_file(&repo(&format!("scenarios/{name}")), &[])
        .unwrap_or_else(|e| panic!("{name} loads: {e:?}"))
        .scenario
        .scenario()
        .clone()
}

fn run_seed(s: &Scenario, seed: u64) -> RunResult {
    run(validate(s.clone())
        .unwrap_or_else(|e| panic!("scenario stays valid: {e:?}"))
        .with_seed(seed)
        .resolved())
}

/// Refining capacity of `mineral` built from prospects (ramping up or operating at the end), t/yr,
/// split into (hosted in `nation`, total).
fn refining_built(r: &RunResult, s: &Scenario, mineral: &str, nation: &str) -> (f64, f64) {
    let target = r.registry.nation(nation).expect("nation exists");
    let mineral = r.registry.mineral(mineral).expect("mineral exists");
    let (mut inside, mut total) = (0.0, 0.0);
    for a in &r.assets {
        let id = &r.registry.assets[a.idx.0 as usize];
        if !s.prospects.iter().any(|p| &p.id == id)
            || a.stage != Stage::Refined
            || a.mineral != mineral
            || !matches!(a.status, Status::RampUp | Status::Operating)
        {
            continue;
        }
        total += a.capacity_t_per_yr;
        if a.host == target {
            inside += a.capacity_t_per_yr;
        }
    }
    (inside, total)
}

#[test]
fn a_chinese_refined_ban_on_the_usa_raises_us_refining_built() {
    let mut open = load("invest_test.ron");
    open.run.end_year = 2035;
    // Firms' own choices only: the price signal, not finance, is under test.
    let mut banned = open.clone();
    banned.policies.push(Policy {
        id: "chn_ban".into(),
        start: When::Year(2025.0),
        end: None,
        announced: None,
        action: PolicyAction::ExportControl {
            exporter: "CHN".into(),
            mineral: "lithium".into(),
            stage: Stage::Refined,
            destinations: vec!["USA".into()],
            mode: ControlMode::Ban,
            quota_t_per_yr: 0.0,
            delay_steps: 0,
        },
    });
    let seeds = 10;
    // US lithium refined price (what US refinery projects are valued at), mean over 2025–2030.
    let us_price = |r: &RunResult| {
        let usa = r.registry.nation("USA").expect("USA");
        let li = r.registry.mineral("lithium").expect("lithium");
        let v: Vec<f64> = r
            .metrics
            .iter()
            .filter(|m| {
                m.metric == "price"
                    && m.mineral == Some(li)
                    && m.stage == Some(Stage::Refined)
                    && m.nation == Some(usa)
                    && (4..28).contains(&m.step)
            })
            .map(|m| m.value)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let mean = |s: &Scenario| {
        let (mut built, mut price) = (0.0, 0.0);
        for seed in 1..=seeds {
            let r = run_seed(s, seed);
            built += refining_built(&r, s, "lithium", "USA").0;
            price += us_price(&r);
        }
        (built / seeds as f64, price / seeds as f64)
    };
    let ((without, p_without), (with, p_with)) = (mean(&open), mean(&banned));
    // Markets v2 (issue 14): a ban removes the US's link to China, so the US pays more (the
    // target of a control pays more), and US refining built must not fall.
    assert!(
        p_with > p_without,
        "US price {p_with} with the ban vs {p_without} without"
    );
    assert!(
        with >= without,
        "a ban that raises the US price should not reduce US refining: built {with} t/yr \
         with the ban vs {without} without"
    );
}

/// Refining capacity of `mineral` in place at the start of `year` (the `capacity` metric), t/yr, split
/// into (hosted in `nation`, world).
fn refining_capacity_in(r: &RunResult, year: u32, mineral: &str, nation: &str) -> (f64, f64) {
    let target = r.registry.nation(nation).expect("nation exists");
    let mineral = r.registry.mineral(mineral).expect("mineral exists");
    let step = (year - 2024) * 4;
    let (mut inside, mut total) = (0.0, 0.0);
    for m in r.metrics.iter().filter(|m| {
        m.step == step
            && m.metric == "capacity"
            && m.mineral == Some(mineral)
            && m.stage == Some(Stage::Refined)
    }) {
        total += m.value;
        if m.nation == Some(target) {
            inside += m.value;
        }
    }
    (inside, total)
}

/// Approved proposals sponsored by one of `financiers`.
fn sponsored_approvals(r: &RunResult, financiers: &[&str]) -> usize {
    let mut count = 0;
    for (i, e) in r.events.iter().enumerate() {
        let sponsored = e.kind == "proposal"
            && financiers
                .iter()
                .any(|f| e.detail.contains(&format!("finance={f}:")));
        if sponsored
            && r.events[i + 1..]
                .iter()
                .take_while(|x| x.step == e.step)
                .find(|x| x.asset == e.asset && x.kind != "proposal")
                .is_some_and(|x| x.kind == "approval")
        {
            count += 1;
        }
    }
    count
}

#[test]
fn a_larger_us_budget_finances_more_approvals() {
    // The small investment world: DFC (USA, rival CHN) against CDB.
    let base = load("invest_test.ron");
    let with_budget = |usd: f64| {
        let mut s = base.clone();
        for f in s.financiers.iter_mut().filter(|f| f.id == "DFC") {
            f.annual_budget_usd = usd;
        }
        s
    };
    let seeds = 10;
    let measure = |s: &Scenario| {
        let (mut sponsored, mut outside, mut total) = (0, 0.0, 0.0);
        for seed in 1..=seeds {
            let r = run_seed(s, seed);
            sponsored += sponsored_approvals(&r, &["DFC"]);
            let (chn, all) = refining_capacity_in(&r, 2035, "lithium", "CHN");
            outside += all - chn;
            total += all;
        }
        (sponsored, if total > 0.0 { outside / total } else { 0.0 })
    };
    let (low_sponsored, low_share) = measure(&with_budget(1e8));
    let (high_sponsored, high_share) = measure(&with_budget(1e9));
    assert!(
        high_sponsored > low_sponsored,
        "a larger DFC budget should sponsor more approvals: {high_sponsored} vs {low_sponsored}"
    );
    // Not asserted: the non-Chinese share of refining. With capital budgets and builder speeds
    // (docs/ODD.md §7.3), DFC money moves prospects from Ganfeng (state-backed, faster builds) to
    // Albemarle, which crowds out rather than adds: 10 seeds give 0.476 (1 bn) vs 0.485 (0.1 bn)
    // in 2035. Reported in docs/scenarios.md.
    let _ = (low_share, high_share);
}

#[test]
fn an_announced_ore_export_ban_brings_refinery_proposals_forward() {
    // invest_test.ron plus a marginal Argentine refinery (opex 30,000 USD/t Li, ASSUMPTION: a
    // margin too thin at the world ore price) and an Argentine ore export ban from 2029. Under the
    // ban the refinery expects its ore feed at the host's depressed price (docs/ODD.md §7.3,
    // `ore_ban_feed_discount`). Announced in 2024, the ban is in the terms investors expect when a
    // refinery decided in 2024-2028 starts producing, so the refinery is proposed before the ban
    // takes effect; unannounced, only once it is in force or prices have risen enough.
    let mut base = load("invest_test.ron");
    base.prospects.push(orechain::scenario::Prospect {
        id: "p_arg_ref_m".into(),
        name: String::new(),
        host: "ARG".into(),
        mineral: "lithium".into(),
        stage: Stage::Refined,
        capacity_t_per_yr: 20000.0,
        capex_usd: 150e6,
        unit_opex_usd_per_t: 22000.0,
        developers: vec![],
        available_from: None,
        local_processing_commitment: false,
    });
    let with_ban = |announced: Option<When>| {
        let mut s = base.clone();
        s.policies.push(Policy {
            id: "arg_ban".into(),
            start: When::Year(2029.0),
            end: None,
            announced,
            action: PolicyAction::LocalProcessingMandate {
                nation: "ARG".into(),
                minerals: vec![],
                ore_export_ban: true,
            },
        });
        s
    };
    let first_proposal_year = |s: &Scenario, seed: u64| {
        let r = run_seed(s, seed);
        let asset = r
            .registry
            .asset("p_arg_ref_m")
            .expect("the prospect is an asset");
        r.events
            .iter()
            .find(|e| e.kind == "proposal" && e.asset == Some(asset))
            .map_or(2041.0, |e| 2024.0 + f64::from(e.step) / 4.0)
    };
    let announced = with_ban(Some(When::Year(2024.0)));
    let unannounced = with_ban(None);
    // An ensemble, paired by seed: prices (and so the year a marginal project first clears its
    // hurdle) differ from seed to seed.
    let seeds = 10;
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for seed in 1..=seeds {
        early.push(first_proposal_year(&announced, seed));
        late.push(first_proposal_year(&unannounced, seed));
    }
    assert!(
        early.iter().zip(&late).all(|(e, l)| e <= l),
        "the announcement never delays the proposal: {early:?} vs unannounced {late:?}"
    );
    let before = early.iter().filter(|y| **y < 2029.0).count();
    assert!(
        before * 10 >= seeds as usize * 8,
        "announced: at least 80 % of seeds propose before the ban takes effect: {early:?} (unannounced {late:?})"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&early) + 1.0 < mean(&late),
        "the announcement should bring the proposal forward by more than a year: {early:?} vs {late:?}"
    );
}

#[test]
fn a_price_collapse_during_construction_cancels_the_marginal_project_and_spares_the_low_cost_one() {
    // invest_test.ron with two Argentine refineries Ganfeng may build from 2024: a low-cost one
    // (opex 500 USD/t Li) and a marginal one (opex 4,000; ASSUMPTIONS), budgets that do not bind
    // and no hazards (only the real-option review can cancel). World demand falls by two thirds
    // from 2024.75: the refined price collapses to about 7,200 USD/t against an ore feed of about
    // 4,100, so the marginal plant's margin turns negative and the low-cost one's stays positive
    // (docs/ODD.md §7.3.4).
    let mut base = load("invest_test.ron");
    // Enough ore that the calm world is not ore-bound (issue 14): invest_test.ron's one mine
    // (60,000 t/yr at 0.85) feeds about half the refineries, so with price-responsive utilisation
    // the ore price sits at its guard (0.9 × the refined ceiling) and the refining margin near zero
    // for years, and every refinery under construction is worth abandoning, marginal or not
    // (before, the ore price alternated between the guard and ~4,300 and the intermittent margins
    // kept the expected margin up). With 130,000 t/yr the calm world is refining-bound, as the
    // test needs.
    for a in &mut base.assets {
        if a.id == "arg_mine" {
            a.capacity_t_per_yr = 130_000.0;
        }
    }
    base.investment.capital_budget_years = 0.0;
    base.investment.min_capital_budget_usd = 5e9;
    base.investment.state_backed_build_factor = 1.0;
    base.investment.max_cancellation_hazard_per_yr = 0.0;
    base.investment.max_delay_hazard_per_yr = 0.0;
    for (id, opex) in [("p_low", 500.0), ("p_marginal", 3000.0)] {
        base.prospects.push(orechain::scenario::Prospect {
            id: id.into(),
            name: String::new(),
            host: "ARG".into(),
            mineral: "lithium".into(),
            stage: Stage::Refined,
            capacity_t_per_yr: 20000.0,
            capex_usd: 150e6,
            unit_opex_usd_per_t: opex,
            developers: vec!["ganfeng".into()],
            available_from: None,
            local_processing_commitment: false,
        });
    }
    let mut crash = base.clone();
    for n in &mut crash.nations {
        for d in &mut n.demand {
            let level = d.points[0].1;
            d.points = vec![(2024.0, level), (2024.5, level), (2024.75, level / 3.0)];
        }
    }
    // (value cancellations, completions) of a prospect over seeds.
    let fate = |s: &Scenario, id: &str, seeds: u64| {
        let (mut cancelled, mut completed) = (0, 0);
        for seed in 1..=seeds {
            let r = run_seed(s, seed);
            let asset = r.registry.asset(id).expect("the prospect is an asset");
            for e in r.events.iter().filter(|e| e.asset == Some(asset)) {
                if e.kind == "cancellation" && e.detail.contains("value of finishing negative") {
                    cancelled += 1;
                }
                if e.kind == "completion" {
                    completed += 1;
                }
            }
        }
        (cancelled, completed)
    };
    let seeds = 8;
    let (low_cancelled, low_completed) = fate(&crash, "p_low", seeds);
    let (marginal_cancelled, _) = fate(&crash, "p_marginal", seeds);
    assert_eq!(low_cancelled, 0, "the low-cost project is spared");
    assert_eq!(
        low_completed, seeds,
        "the low-cost project is finished in every seed"
    );
    assert!(
        marginal_cancelled >= 6,
        "the marginal project is cancelled in most seeds: {marginal_cancelled} of {seeds}"
    );
    // Without the collapse the marginal project is worth finishing.
    let (calm_cancelled, calm_completed) = fate(&base, "p_marginal", 4);
    assert_eq!(calm_cancelled, 0, "no collapse, no cancellation");
    assert!(calm_completed >= 3, "{calm_completed} of 4");
}

/// Issue 15: two financiers with the same terms after the same prospect share it evenly (a
/// syndicate), so which one is called `alpha` and which comes first in the file changes nothing.
/// Under the old rule the one first in financier order took every such project.
#[test]
fn renaming_equal_financiers_changes_nothing_and_they_share_ties_evenly() {
    let base = load("invest_test.ron");
    // Japan: an ally of the US with the same finance goals, so DFC-like financiers of both back
    // Albemarle on the same terms.
    let world = |first: (&str, &str), second: (&str, &str)| {
        let mut s = base.clone();
        let mut jpn = s
            .nations
            .iter()
            .find(|n| n.id == "USA")
            .expect("USA")
            .clone();
        jpn.id = "JPN".into();
        jpn.name = "Japan".into();
        jpn.demand.clear();
        jpn.affinity = [("USA".to_string(), 0.9)].into_iter().collect();
        for n in s.nations.iter_mut().filter(|n| n.id == "USA") {
            n.affinity.insert("JPN".into(), 0.9);
        }
        s.nations.push(jpn);
        let dfc = s
            .financiers
            .iter()
            .find(|f| f.id == "DFC")
            .expect("DFC")
            .clone();
        s.financiers.retain(|f| f.id != "DFC");
        for (id, nation) in [first, second] {
            let mut f = dfc.clone();
            f.id = id.into();
            f.nation = nation.into();
            f.annual_budget_usd = 4.0e8;
            s.financiers.push(f);
        }
        s
    };
    let a = world(("alpha", "USA"), ("beta", "JPN"));
    let b = world(("beta", "USA"), ("alpha", "JPN"));
    let c = world(("alpha", "JPN"), ("beta", "USA"));
    let finance_by = |r: &RunResult, nation: &str| -> f64 {
        let n = r.registry.nation(nation).expect("nation");
        r.metrics
            .iter()
            .filter(|m| m.metric == "state_finance_usd" && m.nation == Some(n))
            .map(|m| m.value)
            .sum()
    };
    let mut shared = 0;
    for seed in 1..=4 {
        let (ra, rb, rc) = (run_seed(&a, seed), run_seed(&b, seed), run_seed(&c, seed));
        let rows = |r: &RunResult| -> Vec<String> {
            r.metrics
                .iter()
                .map(|m| {
                    format!(
                        "{} {} {:?} {:?} {:?} {:?} {:e}",
                        m.step, m.metric, m.mineral, m.stage, m.nation, m.partner, m.value
                    )
                })
                .collect()
        };
        assert_eq!(rows(&ra), rows(&rb), "seed {seed}: renaming moved a metric");
        assert_eq!(
            rows(&ra),
            rows(&rc),
            "seed {seed}: file order moved a metric"
        );
        let (usa, jpn) = (finance_by(&ra, "USA"), finance_by(&ra, "JPN"));
        if usa > 0.0 {
            shared += 1;
            assert!(
                (usa - jpn).abs() <= 1e-9 * usa,
                "seed {seed}: equal financiers did not split evenly: USA {usa} vs JPN {jpn}"
            );
        }
    }
    assert!(
        shared >= 2,
        "the equal financiers financed in only {shared} of 4 seeds"
    );
}
