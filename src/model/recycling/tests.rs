//! Closed-form checks of the end-of-life kernel and of recycled lots in a small refined market
//! (`docs/ODD.md` §7.6.5).

use super::kernel;
use super::market::{SecondaryOffer, SecondaryOffers, extend_clearing};
use crate::model::components::{AssetIdx, MineralIdx, NationIdx};
use crate::model::systems::equilibrium::{
    Buyer, DemandCurve, Links, Lot, SolverSettings, SourcingTerms, solve,
};

#[test]
fn the_kernel_conserves_the_in_scope_share() {
    let uses = [(0.5, 40.0, 7.0), (0.3, 8.0, 1.4), (0.1, 0.2, 0.5)];
    for dt in [1.0, 0.25, 1.0 / 52.0] {
        let f = kernel(&uses, dt);
        let total: f64 = f.iter().sum();
        assert!((total - 0.9).abs() < 1e-12, "dt {dt}: {total}");
        assert!(f.iter().all(|w| *w >= 0.0));
    }
}

/// With consumption growing at `g` for ever and one end use with a normal lifetime (μ, σ), the
/// end-of-life flow is `C_t s E[(1+g)^{−L}] = C_t s exp(−ρμ + ρ²σ²/2)`, `ρ = ln(1+g)` (the
/// moment-generating function of the normal; truncation at 0 is negligible for μ = 6σ).
#[test]
fn steady_growth_end_of_life_matches_the_normal_mgf() {
    let (share, mean, sd, g) = (0.8, 30.0, 5.0, 0.03);
    let dt = 0.25;
    let f = kernel(&[(share, mean, sd)], dt);
    let rho = (1.0_f64 + g).ln();
    let eol: f64 = f
        .iter()
        .enumerate()
        .map(|(i, w)| w * (1.0 + g).powf(-((i + 1) as f64) * dt))
        .sum();
    let analytic = share * (-rho * mean + rho * rho * sd * sd / 2.0).exp();
    // Midpoint discretisation of a smooth integrand: error O(Δt²).
    assert!(
        (eol / analytic - 1.0).abs() < 2e-3,
        "discrete {eol} vs analytic {analytic}"
    );
}

fn settings() -> SolverSettings {
    SolverSettings {
        sigma: 8.0,
        smoothing: 0.05,
        tolerance: 1e-12,
        max_iterations: 300,
        floor_usd_per_t: 10.0,
        ceiling_usd_per_t: 100_000.0,
    }
}

/// Two exporters with fixed supply `S / 2` each and two importers; a recycler in the second
/// importer offers `R = S / 2` far below the price. Supply is price-inelastic and symmetric (three
/// equal origins, open links, equal costs), so every origin sells at one price and the market
/// clears where `2 D⁰ (P / P_ref)^ε = S + R`: `P = P_ref ((S + R) / 2D⁰)^{1/ε}`.
#[test]
fn a_recycled_lot_clears_like_a_refinery_at_the_closed_form_price() {
    let (p_ref, d0, eps, s, rec) = (1000.0, 100.0, -0.5, 200.0, 100.0);
    let lots = [
        Lot {
            asset: AssetIdx(0),
            host: NationIdx(0),
            quantity_t: s / 2.0,
            reservation_usd_per_t: 50.0,
            half_band_usd_per_t: None,
        },
        Lot {
            asset: AssetIdx(1),
            host: NationIdx(1),
            quantity_t: s / 2.0,
            reservation_usd_per_t: 50.0,
            half_band_usd_per_t: None,
        },
    ];
    let buyer = |n: u16| Buyer {
        nation: NationIdx(n),
        curve: DemandCurve::ConstantElasticity {
            reference_t: d0,
            reference_usd_per_t: p_ref,
            elasticity: eps,
            credit_usd_per_t: 0.0,
            floor_usd_per_t: 10.0,
        },
        sourcing: Some(SourcingTerms {
            premium_usd_per_t: 0.0,
            required_share: 0.0,
            qualifies: vec![false, false],
        }),
    };
    let buyers = [buyer(2), buyer(3)];
    let offers = SecondaryOffers {
        offers: vec![SecondaryOffer {
            nation: NationIdx(3),
            mineral: MineralIdx(0),
            quantity_t: rec,
            reservation_usd_per_t: 50.0,
        }],
        sold_t: vec![0.0],
    };
    let recycled = offers.lots(MineralIdx(0));
    assert!(offers.lots(MineralIdx(1)).is_empty());
    let (all, buyers) =
        extend_clearing(&lots, &buyers, &recycled, |b, h| b == h).expect("one recycled lot");
    // Recycled material counts as processed in the recycler's nation.
    assert_eq!(
        buyers[1].sourcing.as_ref().map(|t| t.qualifies.clone()),
        Some(vec![false, false, true])
    );
    assert_eq!(
        buyers[0].sourcing.as_ref().map(|t| t.qualifies.clone()),
        Some(vec![false, false, false])
    );
    let out = solve(&all, &buyers, &Links::open(4), &settings(), &[]);
    assert!(out.converged);
    let analytic = p_ref * ((s + rec) / (2.0 * d0)).powf(1.0 / eps);
    let world = out.buyer_usd_per_t[2];
    assert!(
        (world / analytic - 1.0).abs() < 1e-3,
        "price {world} vs analytic {analytic}"
    );
    assert!((out.dispatched_t[2] - rec).abs() < 1e-6);
    let total: f64 = out.received_t.iter().sum();
    assert!((total - (s + rec)).abs() < 1e-6);
    let mut offers = offers;
    offers.record(&recycled, &out.dispatched_t[2..]);
    assert!((offers.sold_t[0] - rec).abs() < 1e-6);
}

#[test]
fn no_recycled_lots_leave_the_clearing_untouched() {
    assert!(extend_clearing(&[], &[], &[], |_, _| true).is_none());
}
