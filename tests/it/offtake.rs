//! Equity offtake and offtake contracts (issue 15, docs/ODD.md §7.6.4): closed-form small worlds.
//!
//! World: one mine in MIN (100 t/yr) owned by firm `f`; two refineries of 100 t/yr and equal
//! conversion cost, `near` in NEA (owned by `g`; 10 USD/t of transport from MIN and to CON) and
//! `home` in HOM (owned by `f`; 300 USD/t from MIN and to CON); consumers in CON want 150 t/yr
//! of refined product whatever the price. The tentative refined pass (plants ranked by
//! conversion cost plus delivery) runs `near` at 100 t and `home` at the other 50 t, so `home`'s
//! feed need is 50 t. No feed-stock cover (`feed_stock_cover_weeks: 0`).

use orechain::scenario::load_str;
use orechain::sim::{RunResult, run};
use orechain::types::Stage;
use orechain::types::{FlowKind, FlowRow};

fn world(offtake: &str, policies: &str) -> RunResult {
    let text = format!(
        r#"Scenario(
    name: "offtake_world",
    run: (start_year: 2024, end_year: 2029, steps_per_year: 1),
    market: (armington_elasticity: 50.0, supply_smoothing: 0.01, feed_stock_cover_weeks: 0.0),
    minerals: [(id: "x", ore_price_usd_per_t: 1000.0, refined_price_usd_per_t: 3000.0,
                recovery: 1.0, demand_elasticity: 0.0)],
    nations: [
        (id: "MIN", priorities: (royalty_rate: 0.0)),
        (id: "NEA"),
        (id: "HOM"),
        (id: "CON", demand: [(mineral: "x", points: [(2024, 150.0)])]),
    ],
    firms: [(id: "f", home: "HOM", kind: "integrated"), (id: "g", home: "NEA", kind: "refiner")],
    assets: [
        (id: "mine", host: "MIN", mineral: "x", stage: "ore", capacity_t_per_yr: 100.0,
         utilisation: 1.0, unit_opex_usd_per_t: 500.0, owners: {{"f": 1.0}}),
        (id: "near", host: "NEA", mineral: "x", stage: "refined", capacity_t_per_yr: 100.0,
         utilisation: 1.0, unit_opex_usd_per_t: 200.0, owners: {{"g": 1.0}}),
        (id: "home", host: "HOM", mineral: "x", stage: "refined", capacity_t_per_yr: 100.0,
         utilisation: 1.0, unit_opex_usd_per_t: 200.0, owners: {{"f": 1.0}}),
    ],
    transport: [
        (from: "MIN", to: "NEA", usd_per_t: 10.0),
        (from: "MIN", to: "HOM", usd_per_t: 300.0),
        (from: "NEA", to: "CON", usd_per_t: 10.0),
        (from: "HOM", to: "CON", usd_per_t: 300.0),
    ],
    offtake: {offtake},
    policies: [{policies}],
)"#
    );
    let loaded = load_str(&text, "offtake_world.ron", &[]).expect("test scenario is valid");
    run(loaded.scenario.resolved())
}

fn rows<'a>(
    r: &'a RunResult,
    step: u32,
    from: &'a str,
    to: &'a str,
) -> impl Iterator<Item = &'a FlowRow> + 'a {
    let reg = &r.registry;
    r.flows.iter().filter(move |f| {
        f.step == step
            && f.stage == Stage::Ore
            && reg.nations[usize::from(f.from.0)] == from
            && reg.nations[usize::from(f.to.0)] == to
    })
}

fn ore(r: &RunResult, step: u32, from: &str, to: &str, kind: Option<FlowKind>) -> f64 {
    rows(r, step, from, to)
        .filter(|f| kind.is_none_or(|k| f.kind == k))
        .map(|f| f.quantity_t)
        .sum()
}

fn production(r: &RunResult, step: u32, stage: Stage, nation: &str) -> f64 {
    let reg = &r.registry;
    r.metrics
        .iter()
        .find(|m| {
            m.step == step
                && m.metric == "production"
                && m.stage == Some(stage)
                && m.nation
                    .is_some_and(|n| reg.nations[usize::from(n.0)] == nation)
        })
        .map_or(0.0, |m| m.value)
}

const OPEN: &str = "(integrated: false)";
const INTEGRATED: &str = "(integrated: true)";

#[test]
fn an_integrated_firms_refinery_runs_on_its_own_mines_ore_that_the_open_market_sends_elsewhere() {
    // Open market: ore is short (100 t for 150 t of plant runs) and worth 290 USD/t less to the
    // home plant (dearer delivery both ways), so its price rises until the home plant drops out:
    // all the ore goes to NEA and the home plant idles.
    let open = world(OPEN, "");
    // Integrated: f's share (100%) of the mine goes first to f's own plant, up to its feed need
    // (its tentative run, 50 t). Closed form: HOM receives 50 t as equity offtake and the open
    // market clears the other 50 t, all to NEA.
    let integ = world(INTEGRATED, "");
    // Step 0 (before the market's own feed-stock dynamics set in: with ore priced at the plants'
    // netback this world cycles between steps whatever the offtakes).
    let step = 0;
    let to_home_open = ore(&open, step, "MIN", "HOM", None);
    let to_near_open = ore(&open, step, "MIN", "NEA", None);
    assert!(
        to_home_open < 0.01 * (to_home_open + to_near_open) && to_near_open > 99.0,
        "open market sends {to_home_open} t home, {to_near_open} t near"
    );
    assert!(production(&open, step, Stage::Refined, "HOM") < 1.0);
    let equity = ore(&integ, step, "MIN", "HOM", Some(FlowKind::Equity));
    let open_home = ore(&integ, step, "MIN", "HOM", Some(FlowKind::Open));
    let near = ore(&integ, step, "MIN", "NEA", None);
    assert!(
        (equity - 50.0).abs() < 0.5,
        "equity offtake MIN->HOM {equity} t, expected 50"
    );
    assert!(open_home < 0.5, "open MIN->HOM {open_home} t");
    // Mass balance: the mine's output is exactly what left it.
    let mined = production(&integ, step, Stage::Ore, "MIN");
    assert!(
        (mined - equity - open_home - near).abs() < 1e-6 * mined.max(1.0),
        "mined {mined} vs shipped {}",
        equity + open_home + near
    );
    // The home plant runs on that ore (recovery 1: 50 t refined).
    let made = production(&integ, step, Stage::Refined, "HOM");
    assert!((made - 50.0).abs() < 0.5, "home plant made {made} t");
    // Every step: equity offtake never exceeds the owner's share of the mine's output.
    for step in 0..6 {
        let e = ore(&integ, step, "MIN", "HOM", Some(FlowKind::Equity));
        assert!(e <= production(&integ, step, Stage::Ore, "MIN") + 1e-9);
    }
}

#[test]
fn a_contract_delivers_its_volume_at_the_formula_price() {
    // 40 t/yr (within the home plant's 50 t need) from the mine to HOM at reference × (1 − 0.1),
    // capped at 700 USD/t.
    let capped = world(
        r#"(contracts: [(id: "c", seller: "mine", buyer: "HOM", t_per_yr: 40.0, discount: 0.1,
                         ceiling_usd_per_t: 700.0)])"#,
        "",
    );
    let free = world(
        r#"(contracts: [(id: "c", seller: "mine", buyer: "HOM", t_per_yr: 40.0, discount: 0.1)])"#,
        "",
    );
    for step in 0..2 {
        let q = ore(&capped, step, "MIN", "HOM", Some(FlowKind::Contract));
        assert!(
            (q - 40.0).abs() < 1e-9,
            "step {step}: contract delivered {q} t"
        );
        let value: f64 = rows(&capped, step, "MIN", "HOM")
            .filter(|f| f.kind == FlowKind::Contract)
            .map(|f| f.value_usd)
            .sum();
        assert!(
            (value - 40.0 * 700.0).abs() < 1e-6,
            "step {step}: value {value}"
        );
    }
    // Step 0: the reference is the scenario's ore price, 1000 -> 900 USD/t.
    let value0: f64 = rows(&free, 0, "MIN", "HOM")
        .filter(|f| f.kind == FlowKind::Contract)
        .map(|f| f.value_usd)
        .sum();
    assert!(
        (value0 - 40.0 * 900.0).abs() < 1e-6,
        "value at step 0 {value0}"
    );
    // Step 1: 0.9 × the world ore price of step 0's clearing.
    let reference = free
        .metrics
        .iter()
        .find(|m| {
            m.step == 0 && m.metric == "price" && m.stage == Some(Stage::Ore) && m.nation.is_none()
        })
        .map(|m| m.value)
        .expect("ore price at step 0");
    let value1: f64 = rows(&free, 1, "MIN", "HOM")
        .filter(|f| f.kind == FlowKind::Contract)
        .map(|f| f.value_usd)
        .sum();
    assert!(
        (value1 - 40.0 * 0.9 * reference).abs() < 1e-6 * value1,
        "value at step 1 {value1}, reference {reference}"
    );
}

#[test]
fn an_export_ban_blocks_the_contract_and_its_tonnes_go_to_the_open_market() {
    // MIN bans ore exports to HOM from 2025: the contract delivers nothing from then on and the
    // mine sells all its ore on the open market (to NEA, the only open destination).
    let r = world(
        r#"(contracts: [(id: "c", seller: "mine", buyer: "HOM", t_per_yr: 40.0)])"#,
        r#"(id: "ban", start: 2025.0, action: (kind: "export_control", exporter: "MIN",
            mineral: "x", stage: "ore", destinations: ["HOM"], mode: "ban"))"#,
    );
    assert!((ore(&r, 0, "MIN", "HOM", Some(FlowKind::Contract)) - 40.0).abs() < 1e-9);
    for step in 1..6 {
        assert_eq!(ore(&r, step, "MIN", "HOM", None), 0.0, "step {step}");
        let near = ore(&r, step, "MIN", "NEA", Some(FlowKind::Open));
        let mined = production(&r, step, Stage::Ore, "MIN");
        assert!((near - mined).abs() < 1e-6 * mined.max(1.0), "step {step}");
        assert!(mined > 0.0, "step {step}: mined {mined}");
    }
}

#[test]
fn a_quota_is_served_to_contracts_first() {
    // A 30 t/yr quota on MIN's ore exports to HOM: the 40 t contract gets the 30 t and the open
    // market none of that link.
    let r = world(
        r#"(contracts: [(id: "c", seller: "mine", buyer: "HOM", t_per_yr: 40.0)])"#,
        r#"(id: "q", start: 2024.0, action: (kind: "export_control", exporter: "MIN",
            mineral: "x", stage: "ore", destinations: ["HOM"], mode: "quota",
            quota_t_per_yr: 30.0))"#,
    );
    for step in 0..2 {
        let c = ore(&r, step, "MIN", "HOM", Some(FlowKind::Contract));
        let o = ore(&r, step, "MIN", "HOM", Some(FlowKind::Open));
        assert!((c - 30.0).abs() < 1e-9, "step {step}: contract {c}");
        assert!(o < 1e-6, "step {step}: open {o}");
    }
}
