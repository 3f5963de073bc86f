//! Closed-form small worlds: one exporter with a fixed supply, one importer with a
//! constant-elasticity use curve and a stockpile order (`docs/ODD.md` §7.6.3).
//!
//! With supply `S` fully dispatched, use `c(P) = D⁰ (P / P_ref)^ε` and a stockpile that releases
//! `R` (or buys `B`) at the clearing price, the market clears where `c(P) − R = S` (or
//! `c(P) + B = S`), so `P = P_ref ((S ± R) / D⁰)^(1/ε)`: the price moves by exactly what the
//! demand elasticity implies.

use crate::model::components::{AssetIdx, NationIdx};
use crate::model::systems::equilibrium::{
    Buyer, DemandCurve, Links, Lot, SolverSettings, StockOrderTerms, StockTerms, solve,
};

const P_REF: f64 = 1000.0;
const D0: f64 = 100.0;
const EPS: f64 = -0.5;
const SUPPLY: f64 = 100.0;

fn settings() -> SolverSettings {
    SolverSettings {
        sigma: 8.0,
        smoothing: 0.05,
        tolerance: 1e-12,
        max_iterations: 200,
        floor_usd_per_t: 10.0,
        ceiling_usd_per_t: 20_000.0,
    }
}

fn use_curve() -> DemandCurve {
    DemandCurve::ConstantElasticity {
        reference_t: D0,
        reference_usd_per_t: P_REF,
        elasticity: EPS,
        credit_usd_per_t: 0.0,
        floor_usd_per_t: 10.0,
    }
}

fn no_stock() -> StockTerms {
    StockTerms {
        target_t: 0.0,
        stock_t: 0.0,
        adjustment: 0.0,
        expected_usd_per_t: 0.0,
        elasticity: 0.0,
    }
}

/// The clearing price of the importer with the given stockpile order.
fn price_with(order: Option<StockOrderTerms>) -> (f64, f64) {
    // A lot at reservation 100 runs in full above 105: supply is fixed at SUPPLY.
    let lots = [Lot {
        asset: AssetIdx(0),
        host: NationIdx(0),
        quantity_t: SUPPLY,
        reservation_usd_per_t: 100.0,
        half_band_usd_per_t: None,
    }];
    let curve = match order {
        None => use_curve(),
        Some(o) => DemandCurve::Stocked {
            consumption: Box::new(use_curve()),
            stock: no_stock(),
            orders: vec![o],
        },
    };
    let buyers = [Buyer {
        nation: NationIdx(1),
        curve,
        sourcing: None,
    }];
    let out = solve(&lots, &buyers, &Links::open(2), &settings(), &[]);
    assert!(out.converged);
    (out.buyer_usd_per_t[1], out.received_t[1])
}

fn analytic(net_extra_t: f64) -> f64 {
    P_REF * ((SUPPLY - net_extra_t) / D0).powf(1.0 / EPS)
}

#[test]
fn a_release_above_its_trigger_lowers_the_price_by_what_the_elasticity_implies() {
    let (p0, _) = price_with(None);
    assert!(
        (p0 / analytic(0.0) - 1.0).abs() < 1e-6,
        "no stockpile: {p0}"
    );
    let release = 20.0;
    let (p1, bought) = price_with(Some(StockOrderTerms {
        buy_t: 0.0,
        buy_below_usd_per_t: 100.0,
        release_t: release,
        release_above_usd_per_t: 500.0,
    }));
    // c(P) − R = S: P = P_ref ((S + R) / D⁰)^(1/ε) = 694.4 USD/t.
    let expected = analytic(-release);
    assert!(
        (p1 / expected - 1.0).abs() < 1e-6,
        "release: {p1} vs analytic {expected}"
    );
    assert!(p1 < p0 && p1 > 500.0 * 1.05);
    assert!((bought - SUPPLY).abs() < 1e-6);
}

#[test]
fn buying_below_its_trigger_raises_the_price_by_what_the_elasticity_implies() {
    let buy = 20.0;
    let (p1, bought) = price_with(Some(StockOrderTerms {
        buy_t: buy,
        buy_below_usd_per_t: 2000.0,
        release_t: 50.0,
        release_above_usd_per_t: 5000.0,
    }));
    // c(P) + B = S: P = P_ref ((S − B) / D⁰)^(1/ε) = 1562.5 USD/t.
    let expected = analytic(buy);
    assert!(
        (p1 / expected - 1.0).abs() < 1e-6,
        "buy: {p1} vs analytic {expected}"
    );
    assert!(p1 < 2000.0 * 0.95);
    assert!((bought - SUPPLY).abs() < 1e-6);
}

#[test]
fn between_its_triggers_a_stockpile_does_not_trade() {
    let (p0, _) = price_with(None);
    let (p1, _) = price_with(Some(StockOrderTerms {
        buy_t: 30.0,
        buy_below_usd_per_t: 500.0,
        release_t: 30.0,
        release_above_usd_per_t: 2000.0,
    }));
    assert!((p1 / p0 - 1.0).abs() < 1e-9);
}
