//! Markets v2 (issue 14): the in-step spatial equilibrium against closed-form answers in
//! two-exporter, two-importer worlds, and id-independence of whole runs.
//!
//! **The closed-form world.** Exporters A, B; importers X, Y (and, for export controls, A's
//! home market). Each exporter has one lot of `q` tonnes at reservation price `r` with supply
//! smoothing `w = 0.9`, so its supply is exactly linear on the band:
//! `S(p) = α (p − β)` with `α = q / (2 w r)`, `β = r (1 − w)`. Importers have constant-elasticity
//! demand with `ε = −1` around reference price `p₀`, so each spends a constant `E_b = D_b p₀`.
//! With Armington elasticity `σ = 1`, no transport and equal weights `a_hb = κ_h` (equal
//! capacities), buyer `b` spends the value share `a_hb / Σ_{k open} a_kb` on origin `h` whatever the
//! prices, `V_hb = E_b a_hb / Σ a`, and buys `x_hb = V_hb / d_hb` tonnes at delivered price `d_hb`.
//! Exporter `h` sells `Σ_b V_hb / (m_hb p_h) = R_h / p_h` (`m` the markup `(1 + τ)/(1 − t)`), so
//! market clearing `α (p − β) = R / p` is a quadratic with the closed-form root
//! `p = (αβ + √(α²β² + 4αR)) / (2α)`. Each buyer pays the unit value `P_b = E_b / Σ_h x_hb`.
//! A quota `Q` on the link A→X adds a shadow price λ to `d_AX`, with `x_AX = V_AX/(p_A + λ) = Q`,
//! and A clears `α (p − β) = Q + R'/p` (`R'` its other sales), again a quadratic.
//! For σ ≠ 1 the symmetric tariff war (X taxes A, Y taxes B) has the closed form
//! `μ = s_far (1+τ) + 1 − s_far`, `s_far = 1 / (1 + (1+τ)^σ)`, `α (p − β) = D p₀ / (μ p)`.

use orechain::equilibrium::{
    Access, Buyer, DemandCurve, Links, Lot, Solution, SolverSettings, solve,
};
use orechain::scenario::load_str;
use orechain::sim::{RunResult, run};
use orechain::types::{AssetIdx, NationIdx};
use proptest::prelude::*;

const A: usize = 0;
const B: usize = 1;
const X: usize = 2;
const Y: usize = 3;
const P0: f64 = 100.0;
const W: f64 = 0.9;

fn settings(sigma: f64) -> SolverSettings {
    SolverSettings {
        sigma,
        smoothing: W,
        tolerance: 1e-12,
        max_iterations: 500,
        floor_usd_per_t: 1.0,
        ceiling_usd_per_t: 10_000.0,
    }
}

fn lot(host: usize, q: f64, r: f64) -> Lot {
    Lot {
        asset: AssetIdx(host as u32),
        host: NationIdx(host as u16),
        quantity_t: q,
        reservation_usd_per_t: r,
        half_band_usd_per_t: None,
    }
}

fn buyer(nation: usize, d: f64) -> Buyer {
    Buyer {
        nation: NationIdx(nation as u16),
        curve: DemandCurve::ConstantElasticity {
            reference_t: d,
            reference_usd_per_t: P0,
            elasticity: -1.0,
            credit_usd_per_t: 0.0,
            floor_usd_per_t: 1e-6,
        },
        sourcing: None,
    }
}

/// Root of `α (p − β) = c + R / p`, i.e. `α p² − (αβ + c) p − R = 0`.
fn root(alpha: f64, beta: f64, c: f64, r: f64) -> f64 {
    let b = alpha * beta + c;
    (b + (b * b + 4.0 * alpha * r).sqrt()) / (2.0 * alpha)
}

/// `α, β` of a one-lot linear supply.
fn linear(q: f64, r: f64) -> (f64, f64) {
    (q / (2.0 * W * r), r * (1.0 - W))
}

fn within_1pct(model: f64, analytic: f64, what: &str) {
    let err = (model - analytic).abs() / analytic.abs().max(1e-12);
    assert!(
        err < 0.01,
        "{what}: model {model}, analytic {analytic} ({:.3}%)",
        100.0 * err
    );
}

fn tonnes(out: &Solution, from: usize, to: usize) -> f64 {
    out.shipments
        .iter()
        .filter(|s| usize::from(s.from.0) == from && usize::from(s.to.0) == to)
        .map(|s| s.t)
        .sum()
}

/// Two exporters (A: 100 t at 100, B: 100 t at 120), two importers of 60 t at the reference.
fn world_2x2() -> (Vec<Lot>, Vec<Buyer>) {
    (
        vec![lot(A, 100.0, 100.0), lot(B, 100.0, 120.0)],
        vec![buyer(X, 60.0), buyer(Y, 60.0)],
    )
}

#[test]
fn a_tariff_lowers_the_targets_producer_price_raises_the_importers_price_and_diverts_trade() {
    let (lots, buyers) = world_2x2();
    let tau = 0.25;
    let free = solve(&lots, &buyers, &Links::open(4), &settings(1.0), &[]);
    let mut links = Links::open(4);
    links.markup[A * 4 + X] = 1.0 + tau;
    let taxed = solve(&lots, &buyers, &links, &settings(1.0), &[]);
    assert!(free.converged && taxed.converged);

    let e = 60.0 * P0;
    let (aa, ba) = linear(100.0, 100.0);
    let (ab, bb) = linear(100.0, 120.0);
    let (v_ax, v_ay, v_bx, v_by) = (e / 2.0, e / 2.0, e / 2.0, e / 2.0);
    // Without the tariff.
    let pa0 = root(aa, ba, 0.0, v_ax + v_ay);
    let pb0 = root(ab, bb, 0.0, v_bx + v_by);
    within_1pct(free.producer_usd_per_t[A], pa0, "p_A free");
    within_1pct(free.producer_usd_per_t[B], pb0, "p_B free");
    // With it: A's revenue from X shrinks by 1/(1+τ); B's is unchanged (σ = 1).
    let pa = root(aa, ba, 0.0, v_ax / (1.0 + tau) + v_ay);
    let pb = root(ab, bb, 0.0, v_bx + v_by);
    within_1pct(taxed.producer_usd_per_t[A], pa, "p_A taxed");
    within_1pct(taxed.producer_usd_per_t[B], pb, "p_B taxed");
    let x_ax = v_ax / ((1.0 + tau) * pa);
    let x_bx = v_bx / pb;
    within_1pct(tonnes(&taxed, A, X), x_ax, "x_AX");
    within_1pct(tonnes(&taxed, B, X), x_bx, "x_BX");
    let price_x = e / (x_ax + x_bx);
    within_1pct(taxed.buyer_usd_per_t[X], price_x, "P_X");
    let price_y = e / (v_ay / pa + v_by / pb);
    within_1pct(taxed.buyer_usd_per_t[Y], price_y, "P_Y");
    // Directions: the exporter's price falls, the taxing importer pays more, the other less;
    // X's purchases divert from A to B.
    assert!(taxed.producer_usd_per_t[A] < free.producer_usd_per_t[A]);
    assert!(taxed.buyer_usd_per_t[X] > free.buyer_usd_per_t[X]);
    assert!(taxed.buyer_usd_per_t[Y] < free.buyer_usd_per_t[Y]);
    let share = |o: &Solution| tonnes(o, A, X) / (tonnes(o, A, X) + tonnes(o, B, X));
    within_1pct(share(&taxed), x_ax / (x_ax + x_bx), "A's share of X");
    assert!(share(&taxed) < share(&free));
}

#[test]
fn a_symmetric_tariff_war_with_sigma_three_matches_the_closed_form() {
    // Identical exporters; X taxes A and Y taxes B at τ. By symmetry p_A = p_B = p.
    let lots = vec![lot(A, 100.0, 100.0), lot(B, 100.0, 100.0)];
    let buyers = vec![buyer(X, 60.0), buyer(Y, 60.0)];
    let (sigma, tau) = (3.0, 0.25);
    let mut links = Links::open(4);
    links.markup[A * 4 + X] = 1.0 + tau;
    links.markup[B * 4 + Y] = 1.0 + tau;
    let out = solve(&lots, &buyers, &links, &settings(sigma), &[]);
    let free = solve(&lots, &buyers, &Links::open(4), &settings(sigma), &[]);
    assert!(out.converged && free.converged);
    let (alpha, beta) = linear(100.0, 100.0);
    let s_far = 1.0 / (1.0 + (1.0 + tau).powf(sigma));
    let mu = s_far * (1.0 + tau) + 1.0 - s_far;
    let p = root(alpha, beta, 0.0, 60.0 * P0 / mu);
    let p_free = root(alpha, beta, 0.0, 60.0 * P0);
    within_1pct(out.producer_usd_per_t[A], p, "p tariff war");
    within_1pct(out.producer_usd_per_t[B], p, "p tariff war (B)");
    within_1pct(free.producer_usd_per_t[A], p_free, "p free trade");
    within_1pct(out.buyer_usd_per_t[X], mu * p, "P_X");
    let far = tonnes(&out, A, X) / (tonnes(&out, A, X) + tonnes(&out, B, X));
    within_1pct(far, s_far, "share from the taxed origin");
    assert!(p < p_free && mu * p > p_free);
}

#[test]
fn an_export_tax_is_shared_between_exporter_and_importers_as_the_closed_form_says() {
    let (lots, buyers) = world_2x2();
    let t = 0.2;
    let mut links = Links::open(4);
    for b in [X, Y] {
        links.markup[A * 4 + b] = 1.0 / (1.0 - t);
    }
    let free = solve(&lots, &buyers, &Links::open(4), &settings(1.0), &[]);
    let taxed = solve(&lots, &buyers, &links, &settings(1.0), &[]);
    assert!(taxed.converged);
    let e = 60.0 * P0;
    let (aa, ba) = linear(100.0, 100.0);
    let (ab, bb) = linear(100.0, 120.0);
    let pa0 = root(aa, ba, 0.0, e);
    // A nets p_A; buyers pay p_A / (1 − t): A's revenue in net terms is (1 − t) E.
    let pa = root(aa, ba, 0.0, (1.0 - t) * e);
    let pb = root(ab, bb, 0.0, e);
    within_1pct(taxed.producer_usd_per_t[A], pa, "p_A net of the tax");
    within_1pct(taxed.producer_usd_per_t[B], pb, "p_B");
    let delivered = pa / (1.0 - t);
    let x_ax = (e / 2.0) / delivered;
    within_1pct(tonnes(&taxed, A, X), x_ax, "x_AX");
    within_1pct(taxed.buyer_usd_per_t[X], e / (x_ax + (e / 2.0) / pb), "P_X");
    // Incidence: the exporter's net price falls, the buyers' delivered price from A rises; the
    // exporter's share of the wedge is (p_A0 − p_A) / (p_A / (1 − t) − p_A).
    let exporter_share = (pa0 - pa) / (delivered - pa);
    let model_share = (free.producer_usd_per_t[A] - taxed.producer_usd_per_t[A])
        / (taxed.producer_usd_per_t[A] / (1.0 - t) - taxed.producer_usd_per_t[A]);
    within_1pct(model_share, exporter_share, "exporter's share of the tax");
    assert!(pa < pa0 && delivered > pa0);
    assert!(exporter_share > 0.0 && exporter_share < 1.0);
}

/// A is also a consumer with home bias (a_AA = 4 κ_A): the controller's domestic market.
fn world_with_controller() -> (Vec<Lot>, Vec<Buyer>, Links) {
    let lots = vec![lot(A, 100.0, 100.0), lot(B, 100.0, 120.0)];
    let buyers = vec![buyer(A, 40.0), buyer(X, 60.0), buyer(Y, 60.0)];
    let mut links = Links::open(4);
    links.ln_preference[A * 4 + A] = 4f64.ln();
    (lots, buyers, links)
}

/// Value flows `V_hb` of the controller world (σ = 1) with A→X open or closed.
fn controller_values(open: bool) -> [[f64; 4]; 4] {
    let mut v = [[0.0; 4]; 4];
    let (ea, ex, ey) = (40.0 * P0, 60.0 * P0, 60.0 * P0);
    v[A][A] = ea * 2.0 / 2.5;
    v[B][A] = ea * 0.5 / 2.5;
    if open {
        v[A][X] = ex / 2.0;
        v[B][X] = ex / 2.0;
    } else {
        v[B][X] = ex;
    }
    v[A][Y] = ey / 2.0;
    v[B][Y] = ey / 2.0;
    v
}

#[test]
fn a_ban_raises_the_targets_price_cuts_its_consumption_and_lowers_the_controllers_price() {
    let (lots, buyers, links) = world_with_controller();
    let free = solve(&lots, &buyers, &links, &settings(1.0), &[]);
    let mut banned_links = links.clone();
    banned_links.access[A * 4 + X] = Access::Blocked;
    let banned = solve(&lots, &buyers, &banned_links, &settings(1.0), &[]);
    assert!(free.converged && banned.converged);
    let (aa, ba) = linear(100.0, 100.0);
    let (ab, bb) = linear(100.0, 120.0);
    let analytic = |open: bool| {
        let v = controller_values(open);
        let pa = root(aa, ba, 0.0, v[A].iter().sum());
        let pb = root(ab, bb, 0.0, v[B].iter().sum());
        let price = |b: usize| {
            let t = v[A][b] / pa + v[B][b] / pb;
            (v[A][b] + v[B][b]) / t
        };
        (pa, pb, price(A), price(X), price(Y))
    };
    let (pa0, pb0, ca0, cx0, cy0) = analytic(true);
    let (pa1, pb1, ca1, cx1, cy1) = analytic(false);
    within_1pct(free.producer_usd_per_t[A], pa0, "p_A open");
    within_1pct(free.producer_usd_per_t[B], pb0, "p_B open");
    within_1pct(banned.producer_usd_per_t[A], pa1, "p_A ban");
    within_1pct(banned.producer_usd_per_t[B], pb1, "p_B ban");
    within_1pct(banned.buyer_usd_per_t[A], ca1, "P_A ban");
    within_1pct(banned.buyer_usd_per_t[X], cx1, "P_X ban");
    within_1pct(banned.buyer_usd_per_t[Y], cy1, "P_Y ban");
    within_1pct(free.buyer_usd_per_t[X], cx0, "P_X open");
    // Consumption is E / P with ε = −1.
    within_1pct(banned.received_t[X], 60.0 * P0 / cx1, "X consumption ban");
    assert_eq!(tonnes(&banned, A, X), 0.0);
    // Incidence: target pays more and consumes less; the controller's domestic price falls; the
    // third country's price change lies between the two.
    assert!(cx1 > cx0 && banned.received_t[X] < free.received_t[X]);
    assert!(ca1 < ca0 && banned.buyer_usd_per_t[A] < free.buyer_usd_per_t[A]);
    assert!((ca1 - ca0) < (cy1 - cy0) && (cy1 - cy0) < (cx1 - cx0));
    assert!(banned.buyer_usd_per_t[Y] - free.buyer_usd_per_t[Y] < cx1 - cx0);
}

#[test]
fn a_quota_caps_the_link_at_a_shadow_price_that_becomes_a_rent() {
    let (lots, buyers, links) = world_with_controller();
    let free = solve(&lots, &buyers, &links, &settings(1.0), &[]);
    let unconstrained = tonnes(&free, A, X);
    let cap = unconstrained / 2.0;
    let mut capped = links.clone();
    capped.access[A * 4 + X] = Access::Quota(0);
    capped.quota_t = vec![cap];
    let out = solve(&lots, &buyers, &capped, &settings(1.0), &[]);
    assert!(out.converged);
    let v = controller_values(true);
    let (aa, ba) = linear(100.0, 100.0);
    let (ab, bb) = linear(100.0, 120.0);
    // A sells the cap to X plus R'/p elsewhere; B is unaffected (σ = 1).
    let pa = root(aa, ba, cap, v[A][A] + v[A][Y]);
    let pb = root(ab, bb, 0.0, v[B].iter().sum());
    let lambda = v[A][X] / cap - pa;
    within_1pct(out.producer_usd_per_t[A], pa, "p_A quota");
    within_1pct(out.producer_usd_per_t[B], pb, "p_B quota");
    within_1pct(tonnes(&out, A, X), cap, "x_AX = cap");
    within_1pct(out.quota_shadow_usd_per_t[0], lambda, "shadow price");
    within_1pct(out.quota_rent_usd[A], lambda * cap, "quota rent");
    let px = (v[A][X] + v[B][X]) / (cap + v[B][X] / pb);
    within_1pct(out.buyer_usd_per_t[X], px, "P_X quota");
    let pa_home = (v[A][A] + v[B][A]) / (v[A][A] / pa + v[B][A] / pb);
    within_1pct(out.buyer_usd_per_t[A], pa_home, "P_A quota");
    assert!(out.buyer_usd_per_t[X] > free.buyer_usd_per_t[X]);
    assert!(out.received_t[X] < free.received_t[X]);
    assert!(out.buyer_usd_per_t[A] < free.buyer_usd_per_t[A]);
    // A slack quota changes nothing and earns no rent.
    capped.quota_t = vec![unconstrained * 2.0];
    let slack = solve(&lots, &buyers, &capped, &settings(1.0), &[]);
    assert_eq!(slack.quota_shadow_usd_per_t[0], 0.0);
    within_1pct(
        slack.producer_usd_per_t[A],
        free.producer_usd_per_t[A],
        "slack",
    );
}

// ---------------------------------------------------------------------------------------------
// Id-independence: renaming every nation, firm, asset and offtake contract by a random permutation
// of the same names changes no output value, with equity offtake to owners' own refineries, shared
// ownership and long-term offtake contracts in the world (docs/ODD.md §7.6.4).

#[derive(Clone, Debug)]
struct AssetGen {
    host: usize,
    refined: bool,
    capacity: f64,
    opex: f64,
    owner: usize,
    /// A second owner and its share.
    co_owner: Option<(usize, f64)>,
}

/// An offtake: seller asset, buyer nation, share of the seller's output, equity (else contract),
/// discount on the reference price.
#[derive(Clone, Debug)]
struct ContractGen {
    seller: usize,
    buyer: usize,
    share: f64,
    equity: bool,
    discount: f64,
}

#[derive(Clone, Debug)]
struct WorldGen {
    nations: usize,
    assets: Vec<AssetGen>,
    demand: Vec<(usize, f64)>,
    tariff: Option<(usize, usize, f64)>,
    ban: Option<(usize, usize)>,
    quota: Option<(usize, f64)>,
    integrated: bool,
    contracts: Vec<ContractGen>,
    perm_nations: Vec<usize>,
    perm_contracts: Vec<usize>,
    perm_assets: Vec<usize>,
    perm_firms: Vec<usize>,
}

fn world_gen() -> impl Strategy<Value = WorldGen> {
    (3..6usize, 2..5usize).prop_flat_map(|(nations, firms)| {
        let asset = (
            0..nations,
            any::<bool>(),
            10.0..500.0f64,
            50.0..2000.0f64,
            0..firms,
            prop::option::of((0..firms, 0.1..0.9f64)),
        )
            .prop_map(|(host, refined, capacity, opex, owner, co)| AssetGen {
                host,
                refined,
                capacity,
                opex,
                owner,
                // A second owner distinct from the first.
                co_owner: co.filter(|&(f, _)| f != owner),
            });
        let contract = (
            0..8usize,
            0..nations,
            0.05..0.6f64,
            any::<bool>(),
            -0.2..0.3f64,
        )
            .prop_map(|(seller, buyer, share, equity, discount)| ContractGen {
                seller,
                buyer,
                share,
                equity,
                discount,
            });
        (
            prop::collection::vec(asset, 2..9),
            prop::collection::vec((0..nations, 10.0..400.0f64), 1..4),
            prop::option::of((0..nations, 0..nations, 0.0..1.0f64)),
            prop::option::of((0..nations, 0..nations)),
            prop::option::of((0..nations, 1.0..200.0f64)),
            Just((0..nations).collect::<Vec<_>>()).prop_shuffle(),
            Just((0..12usize).collect::<Vec<_>>()).prop_shuffle(),
            Just((0..firms).collect::<Vec<_>>()).prop_shuffle(),
            (
                any::<bool>(),
                prop::collection::vec(contract, 0..4),
                Just((0..4usize).collect::<Vec<_>>()).prop_shuffle(),
            ),
        )
            .prop_map(
                move |(assets, demand, tariff, ban, quota, pn, pa, pf, (integrated, cs, pc))| {
                    // Sellers index the generated assets.
                    let contracts = cs
                        .into_iter()
                        .map(|mut c| {
                            c.seller %= assets.len();
                            c
                        })
                        .collect();
                    WorldGen {
                        nations,
                        assets,
                        demand,
                        tariff,
                        ban,
                        quota,
                        integrated,
                        contracts,
                        perm_nations: pn,
                        perm_assets: pa,
                        perm_firms: pf,
                        perm_contracts: pc,
                    }
                },
            )
    })
}

/// The scenario with entity `i` of each kind named by `name(perm[i])`.
fn scenario_text(g: &WorldGen, renamed: bool) -> String {
    let pick = |perm: &[usize], i: usize| if renamed { perm[i] } else { i };
    let nation = |i: usize| format!("N{}", pick(&g.perm_nations, i));
    let firm = |i: usize| format!("f{}", pick(&g.perm_firms, i));
    let asset = |i: usize| format!("a{:02}", pick(&g.perm_assets, i));
    let mut demand = vec![0.0; g.nations];
    for &(n, t) in &g.demand {
        demand[n] += t;
    }
    // Nations listed in their renamed order too, so file order also changes.
    let mut order: Vec<usize> = (0..g.nations).collect();
    order.sort_by_key(|&i| nation(i));
    let nations: Vec<String> = order
        .iter()
        .map(|&i| {
            let d = if demand[i] > 0.0 {
                format!(r#"[(mineral: "x", points: [(2024, {})])]"#, demand[i])
            } else {
                "[]".to_string()
            };
            format!(r#"(id: "{}", demand: {d})"#, nation(i))
        })
        .collect();
    let n_firms = g.perm_firms.len();
    let firms: Vec<String> = (0..n_firms)
        .map(|i| {
            format!(
                r#"(id: "{}", home: "{}", kind: "integrated")"#,
                firm(i),
                nation(i % g.nations)
            )
        })
        .collect();
    let assets: Vec<String> = g
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let owners = match a.co_owner {
                Some((f, share)) => format!(
                    r#""{}": {}, "{}": {}"#,
                    firm(a.owner),
                    1.0 - share,
                    firm(f),
                    share
                ),
                None => format!(r#""{}": 1.0"#, firm(a.owner)),
            };
            format!(
                r#"(id: "{}", host: "{}", mineral: "x", stage: "{}", capacity_t_per_yr: {},
                   utilisation: 1.0, unit_opex_usd_per_t: {}, owners: {{{owners}}})"#,
                asset(i),
                nation(a.host),
                if a.refined { "refined" } else { "ore" },
                a.capacity,
                a.opex,
            )
        })
        .collect();
    // Offtakes named by the contract permutation and listed in name order, so renaming changes
    // their ids and their file order.
    let mut contracts: Vec<(String, String)> = g
        .contracts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = format!("k{}", pick(&g.perm_contracts, i));
            let text = format!(
                r#"(id: "{id}", kind: "{}", seller: "{}", buyer: "{}", share: {}, discount: {})"#,
                if c.equity { "equity" } else { "contract" },
                asset(c.seller),
                nation(c.buyer),
                c.share,
                c.discount
            );
            (id, text)
        })
        .collect();
    contracts.sort();
    let contracts: Vec<String> = contracts.into_iter().map(|(_, t)| t).collect();
    let mut policies = Vec::new();
    if let Some((imp, exp, rate)) = g.tariff
        && imp != exp
    {
        policies.push(format!(
            r#"(id: "t", start: 2024.5, action: (kind: "tariff", importer: "{}", mineral: "x",
               stage: "refined", exporters: ["{}"], rate: {rate}))"#,
            nation(imp),
            nation(exp)
        ));
    }
    if let Some((exp, to)) = g.ban
        && exp != to
    {
        policies.push(format!(
            r#"(id: "b", start: 2025.0, action: (kind: "export_control", exporter: "{}",
               mineral: "x", stage: "ore", destinations: ["{}"], mode: "ban"))"#,
            nation(exp),
            nation(to)
        ));
    }
    if let Some((exp, q)) = g.quota {
        policies.push(format!(
            r#"(id: "q", start: 2024.25, action: (kind: "export_control", exporter: "{}",
               mineral: "x", stage: "refined", mode: "quota", quota_t_per_yr: {q}))"#,
            nation(exp)
        ));
    }
    // Consumer stocks and a strategic stockpile for every consumer (docs/ODD.md §7.6.3), named
    // after its nation so renaming moves it too.
    let stockpiles: Vec<String> = order
        .iter()
        .filter(|&&i| demand[i] > 0.0)
        .map(|&i| {
            format!(
                r#"(id: "s{}", nation: "{}", mineral: "x", capacity_t: {}, initial_t: {},
                   buy_below_usd_per_t: 2500.0, release_above_usd_per_t: 4000.0,
                   max_buy_t_per_yr: {}, max_release_t_per_yr: {})"#,
                nation(i),
                nation(i),
                0.2 * demand[i],
                0.1 * demand[i],
                0.1 * demand[i],
                0.4 * demand[i]
            )
        })
        .collect();
    format!(
        r#"Scenario(
    name: "perm",
    run: (start_year: 2024, end_year: 2025, steps_per_year: 4),
    market: (consumer_stock_cover_weeks: 6.0),
    stockpiles: [{}],
    minerals: [(id: "x", ore_price_usd_per_t: 1000.0, refined_price_usd_per_t: 3000.0,
                recovery: 0.9, demand_elasticity: -0.4)],
    operations: (max_incident_rate_per_yr: 0.0),
    offtake: (integrated: {}, contracts: [{}]),
    nations: [{}],
    firms: [{}],
    assets: [{}],
    policies: [{}],
)"#,
        stockpiles.join(", "),
        g.integrated,
        contracts.join(", "),
        nations.join(", "),
        firms.join(", "),
        assets.join(", "),
        policies.join(", ")
    )
}

/// Every metric and flow keyed by the original entity (renamed names mapped back), sorted.
fn keyed(r: &RunResult, g: &WorldGen, renamed: bool) -> Vec<(String, f64)> {
    let back_nation = |name: &str| -> String {
        let k: usize = name[1..].parse().expect("nation name");
        let i = if renamed {
            g.perm_nations
                .iter()
                .position(|&p| p == k)
                .expect("in perm")
        } else {
            k
        };
        format!("N{i}")
    };
    let reg = &r.registry;
    let nation = |n: Option<NationIdx>| {
        n.map_or(String::new(), |n| {
            back_nation(&reg.nations[usize::from(n.0)])
        })
    };
    let mut rows: Vec<(String, f64)> = r
        .metrics
        .iter()
        .map(|m| {
            (
                format!(
                    "{} {} {:?} {} {}",
                    m.step,
                    m.metric,
                    m.stage,
                    nation(m.nation),
                    nation(m.partner)
                ),
                m.value,
            )
        })
        .collect();
    rows.extend(r.flows.iter().map(|f| {
        (
            format!(
                "{} flow {:?} {} {} {}",
                f.step,
                f.stage,
                nation(Some(f.from)),
                nation(Some(f.to)),
                f.kind.as_str()
            ),
            f.quantity_t,
        )
    }));
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    rows
}

proptest! {
    // New random worlds on every run: the solver evaluates in a canonical, id-free order and the
    // offtake allocation sums its terms in an id-free order (docs/ODD.md §7.6, "Order
    // independence"), so a renamed world gives the same numbers to the bit, not only to 1e-9.
    // Every failure proptest finds is kept in tests/proptest-regressions/markets_v2.txt and
    // replayed first. `PROPTEST_CASES=n` sets the number of worlds (default 64);
    // `PROPTEST_SEED=k` replays the worlds of a fixed seed k.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        rng_seed: match std::env::var("PROPTEST_SEED").ok().and_then(|v| v.parse().ok()) {
            Some(seed) => proptest::test_runner::RngSeed::Fixed(seed),
            None => proptest::test_runner::RngSeed::Random,
        },
        ..ProptestConfig::default()
    })]
    #[test]
    fn renaming_every_id_changes_no_output_value(g in world_gen()) {
        let text = scenario_text(&g, false);
        let renamed = scenario_text(&g, true);
        let a = run(load_str(&text, "a.ron", &[]).expect("valid").scenario.resolved());
        let b = run(load_str(&renamed, "b.ron", &[]).expect("valid").scenario.resolved());
        let ka = keyed(&a, &g, false);
        let kb = keyed(&b, &g, true);
        let only = |x: &[(String, f64)], y: &[(String, f64)]| -> Vec<String> {
            x.iter()
                .filter(|(k, _)| !y.iter().any(|(j, _)| j == k))
                .map(|(k, v)| format!("{k}={v}"))
                .take(5)
                .collect()
        };
        prop_assert_eq!(
            ka.len(),
            kb.len(),
            "rows only in the original: {:?}; only renamed: {:?}",
            only(&ka, &kb),
            only(&kb, &ka)
        );
        for ((key_a, va), (key_b, vb)) in ka.iter().zip(&kb) {
            prop_assert_eq!(key_a, key_b);
            let tol = 1e-9 * va.abs().max(vb.abs()).max(1.0);
            prop_assert!((va - vb).abs() <= tol, "{}: {} vs {}", key_a, va, vb);
        }
    }
}

/// Baseline check of issue 14: the share of Chile's copper exports (ore and refined, tonnes of
/// contained copper) going to China in 2024 lies in [0.45, 0.65] (observed: a little over half;
/// Cochilco 2020 concentrate 0.63, 2019 cathode 0.44). The merit-order market gave 1.00. 2024 has
/// no investment-driven capacity yet, so the seed does not matter here.
#[test]
fn chiles_copper_exports_to_china_in_2024_are_about_half() {
    let loaded = orechain::scenario::load_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.ron"),
        &[],
    )
    .expect("baseline loads");
    let r = run(loaded.scenario.resolved());
    let reg = &r.registry;
    let (chl, chn) = (
        reg.nation("CHL").expect("CHL"),
        reg.nation("CHN").expect("CHN"),
    );
    let copper = reg.mineral("copper").expect("copper");
    let (mut to_china, mut exported) = (0.0, 0.0);
    for f in r
        .flows
        .iter()
        .filter(|f| f.step < 4 && f.mineral == copper && f.from == chl && f.to != chl)
    {
        exported += f.quantity_t;
        if f.to == chn {
            to_china += f.quantity_t;
        }
    }
    let share = to_china / exported;
    assert!((0.45..=0.65).contains(&share), "share {share}");
}

/// Flows of `data/trade_2024.csv` the baseline cannot reproduce by a preference term, with the
/// reason (`data/scripts/calibrate_trade.py` reports the same list). The test fails if one of them
/// starts to fit (then remove it here) or if any other flow misses its share by more than 10 points.
const TRADE_EXCEPTIONS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "CHN",
        "JPN",
        "graphite",
        "refined",
        "two months of spherical graphite (Jan-Feb 2024); Japan's assumed demand is too small for 61% of China's exports",
    ),
    (
        "CHN",
        "ROW",
        "graphite",
        "refined",
        "as above: ROW's assumed demand takes the rest of China's exports",
    ),
    (
        "CHN",
        "JPN",
        "graphite",
        "ore",
        "two months of flake (3,236 t); Japan's refiners are China's only foreign flake buyers of size in the model",
    ),
    (
        "CHN",
        "JPN",
        "rare_earths",
        "refined",
        "basis is all rare-earth compounds (2019), not magnet REO; US import shares are fitted instead",
    ),
    ("CHN", "USA", "rare_earths", "refined", "as above"),
    ("CHN", "ROW", "rare_earths", "refined", "as above"),
];

/// Issue 14, stage 3: at step 0 the baseline reproduces every 2024 bilateral share of
/// `data/trade_2024.csv` (share of the exporter's exports, tonnes) within 10 points, except the
/// named exceptions, and the US rare-earth import shares of `data/import_sources.csv` (USGS;
/// China 0.70) within 15 points.
#[test]
fn baseline_reproduces_2024_bilateral_trade() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = orechain::scenario::load_file(
        &root.join("scenarios/baseline.ron"),
        &["run.end_year=2024".to_string()],
    )
    .expect("baseline loads");
    let r = run(loaded.scenario.resolved());
    let reg = &r.registry;
    let at_step0 = |from: Option<NationIdx>, to: Option<NationIdx>, m: &str, s: &str| -> f64 {
        let mineral = reg.mineral(m).expect("mineral");
        r.flows
            .iter()
            .filter(|f| {
                f.step == 0
                    && f.mineral == mineral
                    && format!("{:?}", f.stage).eq_ignore_ascii_case(s)
                    && f.from != f.to
                    && from.is_none_or(|n| f.from == n)
                    && to.is_none_or(|n| f.to == n)
            })
            .map(|f| f.quantity_t)
            .sum()
    };
    let read =
        |name: &str| std::fs::read_to_string(root.join("data").join(name)).expect("data file");
    let mut misses = Vec::new();
    let mut excepted_fits = Vec::new();
    let trade = read("trade_2024.csv");
    for line in trade.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(6, ',').collect();
        let (h, b, m, s, share) = (cols[0], cols[1], cols[2], cols[3], cols[4]);
        let share: f64 = share.parse().expect("share");
        let (hn, bn) = (
            reg.nation(h).expect("exporter"),
            reg.nation(b).expect("importer"),
        );
        let total = at_step0(Some(hn), None, m, s);
        let model = if total > 0.0 {
            at_step0(Some(hn), Some(bn), m, s) / total
        } else {
            0.0
        };
        let off = (model - share).abs() > 0.10;
        let excepted = TRADE_EXCEPTIONS
            .iter()
            .any(|e| (e.0, e.1, e.2, e.3) == (h, b, m, s));
        match (off, excepted) {
            (true, false) => {
                misses.push(format!("{h}->{b} {m} {s}: data {share} model {model:.3}"))
            }
            (false, true) => excepted_fits.push(format!("{h}->{b} {m} {s} now fits ({model:.3})")),
            _ => {}
        }
    }
    assert!(
        misses.is_empty(),
        "flows off by more than 10 points: {misses:#?}"
    );
    assert!(
        excepted_fits.is_empty(),
        "remove from TRADE_EXCEPTIONS: {excepted_fits:#?}"
    );
    // US rare-earth import sources (share of US imports).
    let usa = reg.nation("USA").expect("USA");
    let imports = at_step0(None, Some(usa), "rare_earths", "refined");
    let from_china = at_step0(reg.nation("CHN"), Some(usa), "rare_earths", "refined") / imports;
    assert!(
        (from_china - 0.70).abs() <= 0.15,
        "US rare-earth imports from China {from_china:.3} (data 0.70)"
    );
}

/// Years in which the baseline's annual-mean refining margin leaves [0.5×, 2×] of its 2024
/// calibrated value although refining runs below 95 % of its available capacity (at the technical
/// maximum utilisation, docs/ODD.md §7.6.6; seed 2024), with
/// the reason. The test fails if one of them comes back into the band (remove it here) or if any
/// other such year appears.
/// None on the merged model of 1 December 2026: sourced refinery conversion costs removed the
/// lithium, cobalt and rare-earth years (margins fell to conversion costs that were 0.31-0.43x the
/// calibrated margin), and least-cost equity offtake removed copper 2024 and 2032-34 (seed 2024:
/// 2.05/2.01/2.08/2.00x before, 1.30/1.82/1.77/1.61x with equity offtake on).
const MARGIN_EXCEPTIONS: &[(&str, i32, &str)] = &[];

/// Issue 14 must-show: the annual-mean refining margin (reference refined price − reference ore
/// price / recovery) of every mineral stays within [0.5×, 2×] of its 2024 calibrated value (the
/// scenario's refined − ore / recovery) in every year to 2040, except years in which that mineral's
/// refining runs at ≥ 95 % of its available capacity (`production / available_capacity`), and
/// the named exceptions.
/// (mineral, year, annual-mean margin / calibrated margin, refining production / available
/// capacity) of one baseline run.
fn margin_table(
    scenario: &orechain::scenario::Scenario,
    r: &RunResult,
) -> Vec<(String, i32, f64, f64)> {
    use orechain::types::Stage;
    let spy = r.steps_per_year;
    let mut out = Vec::new();
    for m in &scenario.minerals {
        let mi = usize::from(r.registry.mineral(&m.id).expect("mineral").0);
        let calibrated = m.refined_price_usd_per_t - m.ore_price_usd_per_t / m.recovery;
        for year in r.start_year..r.start_year + (r.steps / spy) as i32 {
            let in_year = |row: &&orechain::types::MetricRow| {
                row.mineral.map(|x| usize::from(x.0)) == Some(mi)
                    && r.start_year + (row.step / spy) as i32 == year
            };
            let mean_price = |stage: Stage| {
                let v: Vec<f64> = r
                    .metrics
                    .iter()
                    .filter(in_year)
                    .filter(|x| x.metric == "price" && x.stage == Some(stage) && x.nation.is_none())
                    .map(|x| x.value)
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            let total = |metric: &str| -> f64 {
                r.metrics
                    .iter()
                    .filter(in_year)
                    .filter(|x| {
                        x.metric == metric && x.stage == Some(Stage::Refined) && x.nation.is_some()
                    })
                    .map(|x| x.value)
                    .sum()
            };
            let utilisation = total("production") / total("available_capacity");
            let ratio =
                (mean_price(Stage::Refined) - mean_price(Stage::Ore) / m.recovery) / calibrated;
            out.push((m.id.clone(), year, ratio, utilisation));
        }
    }
    out
}

#[test]
fn baseline_refining_margins_stay_near_their_calibrated_values() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = orechain::scenario::load_file(&root.join("scenarios/baseline.ron"), &[])
        .expect("baseline loads");
    let r = run(loaded.scenario.resolved());
    let mut misses = Vec::new();
    let mut excepted_fits = Vec::new();
    for (id, year, ratio, utilisation) in margin_table(loaded.scenario.scenario(), &r) {
        let off = utilisation < 0.95 && !(0.5..=2.0).contains(&ratio);
        let excepted = MARGIN_EXCEPTIONS.iter().any(|e| e.0 == id && e.1 == year);
        match (off, excepted) {
            (true, false) => misses.push(format!(
                "{id} {year}: margin {ratio:.2}x at utilisation {utilisation:.2}"
            )),
            (false, true) => excepted_fits.push(format!("{id} {year} now fits")),
            (true, true) => eprintln!(
                "margin exception {id} {year}: margin {ratio:.2}x at refining utilisation {utilisation:.2}"
            ),
            _ => {}
        }
    }
    assert!(misses.is_empty(), "margins out of band: {misses:#?}");
    assert!(
        excepted_fits.is_empty(),
        "remove from MARGIN_EXCEPTIONS: {excepted_fits:#?}"
    );
}

/// The same must-show as an ensemble (10 seeds): in every mineral-year to 2040 the median margin
/// ratio over seeds lies in [0.5x, 2x] unless the median refining utilisation is at least 95 %.
/// Prints the range of the medians and how many single seed-years leave the band.
#[test]
fn baseline_refining_margins_stay_near_their_calibrated_values_in_the_median_over_ten_seeds() {
    const SEEDS: u64 = 10;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = orechain::scenario::load_file(&root.join("scenarios/baseline.ron"), &[])
        .expect("baseline loads");
    let mut by_key: std::collections::BTreeMap<(String, i32), (Vec<f64>, Vec<f64>)> =
        std::collections::BTreeMap::new();
    for seed in 1..=SEEDS {
        let r = run(loaded.scenario.clone().with_seed(seed).resolved());
        for (id, year, ratio, used) in margin_table(loaded.scenario.scenario(), &r) {
            let e = by_key.entry((id, year)).or_default();
            e.0.push(ratio);
            e.1.push(used);
        }
    }
    let median = crate::endowment::median;
    let mut misses = Vec::new();
    let mut seed_years_off = 0;
    let mut range: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for ((id, year), (ratios, used)) in by_key {
        seed_years_off += ratios
            .iter()
            .zip(&used)
            .filter(|(r, u)| **u < 0.95 && !(0.5..=2.0).contains(*r))
            .count();
        let (r, u) = (median(ratios), median(used));
        let e = range.entry(id.clone()).or_insert((f64::INFINITY, 0.0));
        e.0 = e.0.min(r);
        e.1 = e.1.max(r);
        if u < 0.95 && !(0.5..=2.0).contains(&r) {
            misses.push(format!(
                "{id} {year}: median margin {r:.2}x at median utilisation {u:.2}"
            ));
        }
    }
    for (id, (lo, hi)) in &range {
        eprintln!("{id}: median margin ratio over {SEEDS} seeds in [{lo:.2}, {hi:.2}] (2024-40)");
    }
    eprintln!("single seed-years out of band below 95 % utilisation: {seed_years_off}");
    assert!(misses.is_empty(), "median margins out of band: {misses:#?}");
}
