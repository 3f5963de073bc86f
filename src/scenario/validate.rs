//! Semantic validation: turns a deserialised [`Scenario`] into a [`Validated`] one, or lists every
//! problem at once (unknown and duplicate ids, shares that do not sum to 1, quantities out of range,
//! dates outside the horizon, ...).
//!
//! Type errors are caught by serde; this module checks what types cannot: cross-references and ranges.
//! Paths name list elements by id (`assets.atacama.owners`) so the loader can point at the line.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Display;

/// A set of ids looked up by validation. Hashed (`foldhash` with a per-process random seed):
/// a 10^5-asset scenario makes about 10^6 lookups, and a tree walk over 10^5 string ids spent
/// most of its time in `memcmp`. Nothing iterates it in an order that shows (the "did you
/// mean" hint takes the minimum over all ids).
pub type IdSet<'a> = HashSet<&'a str, IdHash>;

/// The hasher of [`IdSet`] and of resolution's id ranks.
pub type IdHash = foldhash::fast::RandomState;

/// The path `list.id` of a list element, written only when a problem names it (a 10^5-asset
/// scenario would otherwise format a million paths that no one reads).
#[derive(Clone, Copy)]
pub(crate) struct ElementPath<'a>(pub &'static str, pub &'a str);

impl Display for ElementPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

use super::error::{Location, Problem, clip};
use super::resolve::Resolved;
use super::schema::*;

/// Largest quantity accepted anywhere (t/yr or t): far above world supply of any mineral.
pub const MAX_QUANTITY: f64 = 1e12;
/// Largest money amount accepted anywhere (USD).
pub const MAX_USD: f64 = 1e15;
/// Most steps a run may have.
pub const MAX_STEPS: u64 = 100_000;
/// Most nations: the world has about 200; nation-pair tables grow with the square.
pub const MAX_NATIONS: usize = 1_000;
/// Most minerals.
pub const MAX_MINERALS: usize = 1_000;
/// Most cells of the per-commodity nation-pair tables (tariffs: `2 × minerals × nations²`); keeps a
/// valid scenario's world within a few hundred MB. 250 nations × 100 minerals is 12.5 million.
pub const MAX_PAIR_CELLS: usize = 50_000_000;
/// Most firms, assets (with prospects), financiers or policies in one list; indices are 32-bit.
pub const MAX_LIST_LEN: usize = 10_000_000;
/// Longest id, in chars.
pub const MAX_ID_CHARS: usize = 64;
/// Longest scenario name, in chars (it becomes the default output folder name).
pub const MAX_NAME_CHARS: usize = 128;
/// Longest user text quoted in a message, in chars.
const QUOTE_CHARS: usize = 80;

/// A scenario that passed validation, with its resolved form ([`super::resolve`], computed once
/// as the last check); the simulation only accepts this type.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated(Scenario, Box<Resolved>);

impl Validated {
    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.0
    }
    /// The scenario resolved to indices and steps: what the model is built from.
    pub fn resolved(&self) -> &Resolved {
        &self.1
    }
    /// Number of steps in the run.
    pub fn steps(&self) -> u32 {
        self.1.steps
    }
    /// The same scenario with another seed (the seed is not constrained, so it stays valid).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.0.run.seed = seed;
        self.1.run.seed = seed;
        self
    }
}

/// Collects problems with their paths.
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let (path, message) = (path.into(), message.into());
        self.problems.push(Problem {
            path: clip(&path, 4 * QUOTE_CHARS).into_owned(),
            message: clip(&message, 12 * QUOTE_CHARS).into_owned(),
            location: Location::Unknown,
        });
    }

    fn range(&mut self, path: impl Display, value: f64, lo: f64, hi: f64) {
        if !value.is_finite() || value < lo || value > hi {
            self.push(
                path.to_string(),
                format!("must be between {lo} and {hi}, found {value}"),
            );
        }
    }

    fn unit(&mut self, path: impl Display, value: f64) {
        self.range(path, value, 0.0, 1.0);
    }

    fn quantity(&mut self, path: impl Display, value: f64) {
        if !value.is_finite() || value < 0.0 {
            self.push(
                path.to_string(),
                format!("must be a non-negative quantity, found {value}"),
            );
        } else if value > MAX_QUANTITY {
            self.push(
                path.to_string(),
                format!("is implausibly large ({value:e} > {MAX_QUANTITY:e} t)"),
            );
        }
    }

    fn usd(&mut self, path: impl Display, value: f64) {
        if !value.is_finite() || value < 0.0 {
            self.push(
                path.to_string(),
                format!("must be a non-negative amount of USD, found {value}"),
            );
        } else if value > MAX_USD {
            self.push(
                path.to_string(),
                format!("is implausibly large ({value:e} > {MAX_USD:e} USD)"),
            );
        }
    }

    fn known(&mut self, path: impl Display, what: &str, id: &str, ids: &IdSet<'_>) {
        if !ids.contains(id) {
            // Only ids within 2 edits are suggested, so the bounded distance stops early on long
            // or very different ids (an unbounded one is quadratic in their lengths).
            let near = ids
                .iter()
                .filter_map(|k| super::load::edit_distance_within(k, id, 2).map(|d| (d, *k)))
                .min();
            let hint = near
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            self.push(
                path.to_string(),
                format!("unknown {what} `{}`{hint}", clip(id, QUOTE_CHARS)),
            );
        }
    }

    /// Ids in a list: valid characters, unique.
    fn ids<'a>(&mut self, list: &str, ids: impl Iterator<Item = &'a str>) -> IdSet<'a> {
        let mut seen = IdSet::default();
        let mut count = 0;
        for (i, id) in ids.enumerate() {
            count = i + 1;
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                self.push(
                    format!("{list}.{i}.id"),
                    format!(
                        "id `{}` must be non-empty and use only letters, digits, `_` and `-`",
                        clip(id, QUOTE_CHARS)
                    ),
                );
            } else if id.len() > MAX_ID_CHARS {
                self.push(
                    format!("{list}.{i}.id"),
                    format!(
                        "id `{}` is {} chars long; ids may have at most {MAX_ID_CHARS}",
                        clip(id, QUOTE_CHARS),
                        id.len()
                    ),
                );
            }
            if !seen.insert(id) {
                self.push(
                    format!("{list}.{id}"),
                    format!("duplicate id `{}` in {list}", clip(id, QUOTE_CHARS)),
                );
            }
        }
        if count > MAX_LIST_LEN {
            self.push(
                list,
                format!("has {count} entries; at most {MAX_LIST_LEN} are allowed"),
            );
        }
        seen
    }
}

/// The decimal year of a [`When`], or an error message.
pub fn when_to_year(when: &When) -> Result<f64, String> {
    match when {
        When::Year(y) => Ok(*y),
        When::Date(s) => {
            let parts: Vec<&str> = s.split('-').collect();
            let parsed = match parts.as_slice() {
                [y, m, d] => y
                    .parse::<i32>()
                    .ok()
                    .zip(m.parse::<u32>().ok())
                    .zip(d.parse::<u32>().ok())
                    .map(|((y, m), d)| (y, m, d)),
                _ => None,
            };
            match parsed {
                Some((y, m, d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
                    let day_of_year = CUMULATIVE_DAYS[(m - 1) as usize] + d - 1;
                    Ok(f64::from(y) + f64::from(day_of_year) / 365.0)
                }
                _ => Err(format!(
                    "expected a date `YYYY-MM-DD` or a decimal year, found `{s}`"
                )),
            }
        }
    }
}

const CUMULATIVE_DAYS: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// Check a scenario; `Err` lists every problem found.
pub fn validate(scenario: Scenario) -> Result<Validated, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let s = &scenario;
    check_run(&mut c, s);
    check_market(&mut c, &s.market);
    let minerals = c.ids("minerals", s.minerals.iter().map(|m| m.id.as_str()));
    let nations = c.ids("nations", s.nations.iter().map(|n| n.id.as_str()));
    let firms = c.ids("firms", s.firms.iter().map(|f| f.id.as_str()));
    let generated = super::resource_base::tranches(s);
    let projects = c.ids(
        "assets",
        s.assets
            .iter()
            .map(|a| a.id.as_str())
            .chain(s.prospects.iter().map(|p| p.id.as_str()))
            .chain(generated.iter().map(|t| t.id.as_str())),
    );
    let _ = projects;
    let financiers = c.ids("financiers", s.financiers.iter().map(|f| f.id.as_str()));
    c.ids("policies", s.policies.iter().map(|p| p.id.as_str()));

    for m in &s.minerals {
        let p = format!("minerals.{}", m.id);
        if let Err(e) = check_unit(&m.id, &m.unit) {
            c.push(format!("{p}.unit"), e);
        }
        if !(m.ore_price_usd_per_t > 0.0 && m.ore_price_usd_per_t <= MAX_USD) {
            c.push(
                format!("{p}.ore_price_usd_per_t"),
                "must be a positive price in USD/t",
            );
        }
        if !(m.refined_price_usd_per_t > 0.0 && m.refined_price_usd_per_t <= MAX_USD) {
            c.push(
                format!("{p}.refined_price_usd_per_t"),
                "must be a positive price in USD/t",
            );
        }
        if !(m.recovery > 0.0 && m.recovery <= 1.0) {
            c.push(
                format!("{p}.recovery"),
                format!("must be in (0, 1], found {}", m.recovery),
            );
        }
        c.range(
            format_args!("{p}.demand_elasticity"),
            m.demand_elasticity,
            -5.0,
            0.0,
        );
    }

    for n in &s.nations {
        check_nation(&mut c, n, &nations, &minerals);
    }

    for f in &s.firms {
        let p = ElementPath("firms", &f.id);
        c.known(format_args!("{p}.home"), "nation", &f.home, &nations);
        c.unit(format_args!("{p}.hurdle_rate"), f.hurdle_rate);
        c.unit(format_args!("{p}.esg"), f.esg);
    }

    for a in &s.assets {
        let p = ElementPath("assets", &a.id);
        c.known(format_args!("{p}.host"), "nation", &a.host, &nations);
        c.known(
            format_args!("{p}.mineral"),
            "mineral",
            &a.mineral,
            &minerals,
        );
        c.quantity(format_args!("{p}.capacity_t_per_yr"), a.capacity_t_per_yr);
        c.unit(format_args!("{p}.utilisation"), a.utilisation);
        c.usd(
            format_args!("{p}.unit_opex_usd_per_t"),
            a.unit_opex_usd_per_t,
        );
        if let Some(esg) = a.esg {
            c.unit(format_args!("{p}.esg"), esg);
        }
        check_owners(&mut c, format_args!("{p}.owners"), &a.owners, &firms);
        if let Some(o) = &a.outage {
            c.unit(
                format_args!("{p}.outage.probability_per_step"),
                o.probability_per_step,
            );
            c.unit(format_args!("{p}.outage.capacity_lost"), o.capacity_lost);
            if o.duration_steps == 0 {
                c.push(format!("{p}.outage.duration_steps"), "must be at least 1");
            }
        }
    }

    for pr in &s.prospects {
        let p = ElementPath("prospects", &pr.id);
        c.known(format_args!("{p}.host"), "nation", &pr.host, &nations);
        c.known(
            format_args!("{p}.mineral"),
            "mineral",
            &pr.mineral,
            &minerals,
        );
        c.quantity(format_args!("{p}.capacity_t_per_yr"), pr.capacity_t_per_yr);
        c.usd(format_args!("{p}.capex_usd"), pr.capex_usd);
        c.usd(
            format_args!("{p}.unit_opex_usd_per_t"),
            pr.unit_opex_usd_per_t,
        );
        for d in &pr.developers {
            c.known(format_args!("{p}.developers"), "firm", d, &firms);
        }
        if let Some(y) = pr.available_from {
            check_year(&mut c, &format!("{p}.available_from"), y, s);
        }
    }

    let mut bases = BTreeSet::new();
    for (i, e) in s.resource_base.iter().enumerate() {
        let p = format!("resource_base[{i}]");
        c.known(format_args!("{p}.nation"), "nation", &e.nation, &nations);
        c.known(
            format_args!("{p}.mineral"),
            "mineral",
            &e.mineral,
            &minerals,
        );
        if e.deposit_type.is_empty()
            || !e
                .deposit_type
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            c.push(
                format!("{p}.deposit_type"),
                "must be lower-case letters, digits and `_` (part of the generated ids)",
            );
        }
        if !bases.insert((&e.nation, &e.mineral, &e.deposit_type, e.stage)) {
            c.push(
                p.clone(),
                "duplicate (nation, mineral, deposit_type, stage): each base is listed once",
            );
        }
        if let Some(r) = e.resource_t {
            c.quantity(format_args!("{p}.resource_t"), r);
        }
        c.usd(
            format_args!("{p}.unit_opex_usd_per_t"),
            e.unit_opex_usd_per_t,
        );
        c.usd(
            format_args!("{p}.capex_usd_per_t_per_yr"),
            e.capex_usd_per_t_per_yr,
        );
        c.range(
            format_args!("{p}.depletion_cost_rise"),
            e.depletion_cost_rise,
            0.0,
            10.0,
        );
        if !(e.project_t_per_yr > 0.0 && e.project_t_per_yr.is_finite()) {
            c.push(
                format!("{p}.project_t_per_yr"),
                "must be a positive capacity in t/yr",
            );
        }
        c.range(
            format_args!("{p}.max_tranches"),
            f64::from(e.max_tranches),
            0.0,
            1000.0,
        );
        c.range(
            format_args!("{p}.tranches_per_year"),
            f64::from(e.tranches_per_year),
            1.0,
            100.0,
        );
        if let Some(y) = e.available_from {
            check_year(&mut c, &format!("{p}.available_from"), y, s);
        }
    }

    for f in &s.financiers {
        let p = format!("financiers.{}", f.id);
        c.known(format_args!("{p}.nation"), "nation", &f.nation, &nations);
        c.usd(format_args!("{p}.annual_budget_usd"), f.annual_budget_usd);
        c.unit(format_args!("{p}.max_share"), f.max_share);
        c.unit(format_args!("{p}.concessional_rate"), f.concessional_rate);
        c.range(
            format_args!("{p}.loan_tenor_years"),
            f.loan_tenor_years,
            0.0,
            50.0,
        );
        c.range(
            format_args!("{p}.loan_grace_years"),
            f.loan_grace_years,
            0.0,
            f.loan_tenor_years.max(0.0),
        );
        c.unit(format_args!("{p}.grant_share"), f.grant_share);
        c.unit(format_args!("{p}.equity_share"), f.equity_share);
        if f.max_share + f.grant_share > 1.0 {
            c.push(
                format!("{p}.grant_share"),
                "max_share + grant_share must be at most 1",
            );
        }
        c.range(
            format_args!("{p}.price_floor_ratio"),
            f.price_floor_ratio,
            0.0,
            10.0,
        );
        c.range(
            format_args!("{p}.price_floor_years"),
            f.price_floor_years,
            0.0,
            50.0,
        );
        c.unit(format_args!("{p}.insurance_cover"), f.insurance_cover);
    }

    check_investment(&mut c, &s.investment);
    check_operations(&mut c, &s.operations);
    check_politics(&mut c, &s.politics);

    for (i, t) in s.transport.iter().enumerate() {
        let p = format!("transport.{i}");
        c.known(format_args!("{p}.from"), "nation", &t.from, &nations);
        c.known(format_args!("{p}.to"), "nation", &t.to, &nations);
        c.usd(format_args!("{p}.usd_per_t"), t.usd_per_t);
    }

    for (i, t) in s.trade_preferences.iter().enumerate() {
        let p = format!("trade_preferences.{i}");
        c.known(format_args!("{p}.from"), "nation", &t.from, &nations);
        c.known(format_args!("{p}.to"), "nation", &t.to, &nations);
        if let Some(m) = &t.mineral {
            c.known(format_args!("{p}.mineral"), "mineral", m, &minerals);
        }
        c.range(format_args!("{p}.log_weight"), t.log_weight, -20.0, 20.0);
    }

    let assets: IdSet<'_> = s.assets.iter().map(|a| a.id.as_str()).collect();
    for pol in &s.policies {
        check_policy(
            &mut c,
            pol,
            s,
            &Refs {
                nations: &nations,
                minerals: &minerals,
                firms: &firms,
                assets: &assets,
                financiers: &financiers,
            },
        );
    }

    let consumes = |nation: &str, mineral: &str| {
        s.nations
            .iter()
            .any(|n| n.id == nation && n.demand.iter().any(|d| d.mineral == mineral))
    };
    for (path, message) in super::stockpile::check(
        &s.stockpiles,
        &nations,
        &minerals,
        consumes,
        s.market.supply_smoothing,
    ) {
        c.push(path, message);
    }
    for (path, message) in super::recycling::check(&s.recycling, &nations, &minerals, consumes) {
        c.push(path, message);
    }

    for (i, n) in s.output.highlight_nations.iter().enumerate() {
        c.known(
            format_args!("output.highlight_nations.{i}"),
            "nation",
            n,
            &nations,
        );
    }
    for (i, n) in s.output.consumers.iter().enumerate() {
        c.known(format_args!("output.consumers.{i}"), "nation", n, &nations);
    }
    c.problems.extend(super::offtake::check(s));
    let figure_ids: IdSet<'_> = FIGURE_IDS.iter().copied().collect();
    for (i, f) in s.output.figures.iter().enumerate() {
        c.known(format_args!("output.figures.{i}"), "figure", f, &figure_ids);
    }

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    let resolved = super::resolve::resolve_checked(&scenario)?;
    Ok(Validated(scenario, Box::new(resolved)))
}

fn check_run(c: &mut Checker, s: &Scenario) {
    let r = &s.run;
    if !(1800..=2300).contains(&r.start_year) {
        c.push(
            "run.start_year",
            format!(
                "must be a year between 1800 and 2300, found {}",
                r.start_year
            ),
        );
    }
    if r.end_year < r.start_year {
        c.push(
            "run.end_year",
            format!(
                "must not be before start_year ({}), found {}",
                r.start_year, r.end_year
            ),
        );
    }
    if !(1..=52).contains(&r.steps_per_year) {
        c.push(
            "run.steps_per_year",
            format!("must be between 1 and 52, found {}", r.steps_per_year),
        );
    }
    let steps = (i64::from(r.end_year) - i64::from(r.start_year) + 1) * i64::from(r.steps_per_year);
    if steps > MAX_STEPS as i64 {
        c.push(
            "run.end_year",
            format!("the run would have {steps} steps; at most {MAX_STEPS} are allowed"),
        );
    }
    if s.minerals.is_empty() {
        c.push("minerals", "at least one mineral is required");
    }
    if s.nations.is_empty() {
        c.push("nations", "at least one nation is required");
    }
    check_name(c, &s.name);
    if s.nations.len() > MAX_NATIONS {
        c.push(
            "nations",
            format!(
                "has {} nations; at most {MAX_NATIONS} are allowed",
                s.nations.len()
            ),
        );
    }
    if s.minerals.len() > MAX_MINERALS {
        c.push(
            "minerals",
            format!(
                "has {} minerals; at most {MAX_MINERALS} are allowed",
                s.minerals.len()
            ),
        );
    }
    let cells = 2 * s.minerals.len() * s.nations.len() * s.nations.len();
    if s.nations.len() <= MAX_NATIONS && s.minerals.len() <= MAX_MINERALS && cells > MAX_PAIR_CELLS
    {
        c.push(
            "nations",
            format!(
                "{} nations × {} minerals need {cells} cells of nation-pair tables per step; at \
                 most {MAX_PAIR_CELLS} are allowed (use fewer nations, e.g. a `ROW` aggregate)",
                s.nations.len(),
                s.minerals.len()
            ),
        );
    }
}

/// Whether `name` is a plain folder name: non-empty, letters, digits, `_`, `-` and `.`, not
/// starting with `.` (so never `.`, `..` or hidden). Scenario and sweep names must be one.
pub fn is_plain_folder_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
}

/// The name becomes the default output folder `output/<name>/`: it must be a plain folder name
/// (no `/`, no `..`, not hidden), short enough for any filesystem.
fn check_name(c: &mut Checker, name: &str) {
    if !is_plain_folder_name(name) {
        c.push(
            "name",
            format!(
                "`{}` is not a plain folder name: use letters, digits, `_`, `-` and `.` (not first)",
                clip(name, QUOTE_CHARS)
            ),
        );
    } else if name.chars().count() > MAX_NAME_CHARS {
        c.push(
            "name",
            format!(
                "is {} chars long; at most {MAX_NAME_CHARS} are allowed",
                name.chars().count()
            ),
        );
    }
}

fn check_market(c: &mut Checker, m: &MarketSettings) {
    c.usd(
        "market.friend_shoring_usd_per_t",
        m.friend_shoring_usd_per_t,
    );
    c.usd(
        "market.default_transport_usd_per_t",
        m.default_transport_usd_per_t,
    );
    c.usd(
        "market.domestic_transport_usd_per_t",
        m.domestic_transport_usd_per_t,
    );
    c.range(
        "market.price_adjustment_speed",
        m.price_adjustment_speed,
        0.0,
        2.0,
    );
    if !(m.price_floor_ratio > 0.0 && m.price_floor_ratio < 1.0) {
        c.push(
            "market.price_floor_ratio",
            format!("must be in (0, 1), found {}", m.price_floor_ratio),
        );
    }
    c.range(
        "market.price_ceiling_ratio",
        m.price_ceiling_ratio,
        1.0,
        100.0,
    );
    c.unit("market.expectation_weight", m.expectation_weight);
    c.range(
        "market.armington_elasticity",
        m.armington_elasticity,
        0.1,
        200.0,
    );
    if !(m.supply_smoothing > 0.0 && m.supply_smoothing < 1.0) {
        c.push(
            "market.supply_smoothing",
            format!("must be in (0, 1), found {}", m.supply_smoothing),
        );
    }
    if !(m.solver_tolerance > 0.0 && m.solver_tolerance <= 1e-3) {
        c.push(
            "market.solver_tolerance",
            format!("must be in (0, 0.001], found {}", m.solver_tolerance),
        );
    }
    c.range(
        "market.feed_stock_cover_weeks",
        m.feed_stock_cover_weeks,
        0.0,
        52.0,
    );
    c.range(
        "market.feed_stock_price_elasticity",
        m.feed_stock_price_elasticity,
        0.0,
        10.0,
    );
    c.range(
        "market.consumer_stock_cover_weeks",
        m.consumer_stock_cover_weeks,
        0.0,
        52.0,
    );
    if !(m.consumer_stock_adjustment_weeks > 0.0 && m.consumer_stock_adjustment_weeks <= 520.0) {
        c.push(
            "market.consumer_stock_adjustment_weeks",
            format!(
                "must be in (0, 520], found {}",
                m.consumer_stock_adjustment_weeks
            ),
        );
    }
    c.range(
        "market.consumer_stock_price_elasticity",
        m.consumer_stock_price_elasticity,
        0.0,
        10.0,
    );
    check_utilisation(c, &m.utilisation);
    if !(1..=10_000).contains(&m.solver_max_iterations) {
        c.push(
            "market.solver_max_iterations",
            format!("must be in 1..=10000, found {}", m.solver_max_iterations),
        );
    }
}

fn check_utilisation(c: &mut Checker, u: &UtilisationSettings) {
    for (path, v) in [
        (
            "market.utilisation.prospect_utilisation",
            u.prospect_utilisation,
        ),
        ("market.utilisation.technical_max", u.technical_max),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            c.push(path, format!("must be in (0, 1], found {v}"));
        }
    }
    if !(u.stretch_premium > 0.0 && u.stretch_premium <= 10.0) {
        c.push(
            "market.utilisation.stretch_premium",
            format!("must be in (0, 10], found {}", u.stretch_premium),
        );
    }
    c.range(
        "market.utilisation.restart_cost_years",
        u.restart_cost_years,
        0.0,
        10.0,
    );
    if !(u.restart_payback_years > 0.0 && u.restart_payback_years <= 100.0) {
        c.push(
            "market.utilisation.restart_payback_years",
            format!("must be in (0, 100], found {}", u.restart_payback_years),
        );
    }
    for (path, v, lo, hi) in [
        (
            "market.utilisation.idle_after_steps",
            u.idle_after_steps,
            1,
            1000,
        ),
        (
            "market.utilisation.restart_delay_steps",
            u.restart_delay_steps,
            0,
            1000,
        ),
    ] {
        if !(lo..=hi).contains(&v) {
            c.push(path, format!("must be in {lo}..={hi}, found {v}"));
        }
    }
}

fn check_nation(c: &mut Checker, n: &Nation, nations: &IdSet<'_>, minerals: &IdSet<'_>) {
    let p = format!("nations.{}", n.id);
    let g = &n.governance;
    c.unit(
        format_args!("{p}.governance.regulatory_stability"),
        g.regulatory_stability,
    );
    c.unit(
        format_args!("{p}.governance.infrastructure"),
        g.infrastructure,
    );
    c.unit(
        format_args!("{p}.governance.labour_enforcement"),
        g.labour_enforcement,
    );
    c.unit(
        format_args!("{p}.governance.environmental_enforcement"),
        g.environmental_enforcement,
    );
    let pr = &n.priorities;
    c.unit(
        format_args!("{p}.priorities.target_domestic_processing"),
        pr.target_domestic_processing,
    );
    c.unit(format_args!("{p}.priorities.royalty_rate"), pr.royalty_rate);
    c.unit(
        format_args!("{p}.priorities.ore_export_tax"),
        pr.ore_export_tax,
    );
    c.unit(
        format_args!("{p}.priorities.state_participation_min"),
        pr.state_participation_min,
    );
    c.unit(format_args!("{p}.priorities.min_esg"), pr.min_esg);
    for (other, value) in &n.affinity {
        c.known(
            format_args!("{p}.affinity.{other}"),
            "nation",
            other,
            nations,
        );
        c.range(format_args!("{p}.affinity.{other}"), *value, -1.0, 1.0);
    }
    for partner in &n.fta_partners {
        c.known(format_args!("{p}.fta_partners"), "nation", partner, nations);
    }
    if let Some(rival) = &n.state_finance.rival {
        c.known(
            format_args!("{p}.state_finance.rival"),
            "nation",
            rival,
            nations,
        );
    }
    for m in &n.state_finance.strategic_minerals {
        c.known(
            format_args!("{p}.state_finance.strategic_minerals"),
            "mineral",
            m,
            minerals,
        );
    }
    let mut seen = BTreeSet::new();
    for (i, d) in n.demand.iter().enumerate() {
        let dp = format!("{p}.demand.{i}");
        c.known(
            format_args!("{dp}.mineral"),
            "mineral",
            &d.mineral,
            minerals,
        );
        if !seen.insert(d.mineral.as_str()) {
            c.push(&dp, format!("demand for `{}` is given twice", d.mineral));
        }
        if d.points.is_empty() {
            c.push(
                format!("{dp}.points"),
                "needs at least one (year, tonnes per year) point",
            );
        }
        let mut last = f64::NEG_INFINITY;
        for (year, qty) in &d.points {
            if !(year.is_finite() && *year > last) {
                c.push(
                    format!("{dp}.points"),
                    format!("years must increase strictly, found {year} after {last}"),
                );
            }
            last = *year;
            c.quantity(format_args!("{dp}.points"), *qty);
        }
    }
}

fn check_owners(
    c: &mut Checker,
    path: std::fmt::Arguments<'_>,
    owners: &std::collections::BTreeMap<String, f64>,
    firms: &IdSet<'_>,
) {
    if owners.is_empty() {
        c.push(
            path.to_string(),
            "needs at least one owner (firm id -> share)",
        );
        return;
    }
    let mut sum = 0.0;
    for (firm, share) in owners {
        c.known(format_args!("{path}.{firm}"), "firm", firm, firms);
        if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
            c.push(
                format!("{path}.{firm}"),
                format!("share must be in (0, 1], found {share}"),
            );
        }
        sum += share;
    }
    if (sum - 1.0).abs() > 1e-6 {
        c.push(
            path.to_string(),
            format!("owner shares must sum to 1, found {sum}"),
        );
    }
}

/// The unit the model counts each modelled mineral in: tonnes of contained element (rare earths:
/// tonnes of rare-earth oxide), as every quantity, price (USD per such tonne) and data table of
/// the scenarios is written (docs/ODD.md, data sources in `data/`).
pub const CANONICAL_UNITS: [(&str, &str); 6] = [
    ("cobalt", "t Co"),
    ("copper", "t Cu"),
    ("graphite", "t C"),
    ("lithium", "t Li"),
    ("nickel", "t Ni"),
    ("rare_earths", "t REO"),
];

/// A mineral's `unit` is a label, not a conversion: it names the tonnes the scenario's quantities
/// and prices are already written in. So it is checked against a vocabulary rather than taken as
/// free text, which would let `unit: "t LCE"` relabel lithium figures whose numbers stay in t Li
/// (a 5.3× mislabel). A modelled mineral takes its canonical unit (or the generic `t`, the
/// default); another mineral takes `t` or `t SYMBOL` (1–8 letters or digits naming the content).
pub fn check_unit(mineral: &str, unit: &str) -> Result<(), String> {
    let shown = clip(unit, QUOTE_CHARS);
    if let Some((_, canonical)) = CANONICAL_UNITS.iter().find(|(id, _)| *id == mineral) {
        if unit == *canonical || unit == "t" {
            return Ok(());
        }
        return Err(format!(
            "unit `{shown}` is not the unit of {mineral} quantities: the model counts {mineral} \
             in `{canonical}` (tonnes of contained content), and `unit` only labels figures, it \
             converts nothing; write quantities and prices in {canonical} and use \
             unit: \"{canonical}\""
        ));
    }
    let symbol_ok =
        |sym: &str| (1..=8).contains(&sym.len()) && sym.chars().all(|c| c.is_ascii_alphanumeric());
    match unit.strip_prefix("t ") {
        None if unit == "t" => Ok(()),
        Some(sym) if symbol_ok(sym) => Ok(()),
        _ => Err(format!(
            "unit `{shown}` is not a unit the model knows: quantities are tonnes, so the unit \
             is `t` or `t SYMBOL` naming the content (1–8 letters or digits, e.g. `t V`)"
        )),
    }
}

/// Latest date a scenario item may carry. Items dated after the run's horizon are fine (a prospect
/// available from 2037 in a run that ends in 2035 simply never becomes available, a policy that
/// starts after the horizon never takes effect), so the same scenario serves any `end_year`; this
/// bound only catches dates that are no year at all.
pub const MAX_DATE_YEAR: f64 = 9999.0;

/// How far before the start a dated item may lie (a regime in force since long before the run).
const MAX_YEARS_BEFORE_START: f64 = 100.0;

fn check_year(c: &mut Checker, path: &str, year: f64, s: &Scenario) {
    let lo = f64::from(s.run.start_year) - MAX_YEARS_BEFORE_START;
    if !year.is_finite() || year < lo {
        c.push(
            path,
            format!(
                "date {year} is more than {MAX_YEARS_BEFORE_START} years before the start \
                 ({}); dates may lie from {lo} on",
                s.run.start_year
            ),
        );
    } else if year > MAX_DATE_YEAR {
        c.push(
            path,
            format!(
                "date {year} is after {MAX_DATE_YEAR}; a date after the horizon is allowed (the \
                 item never becomes active), but this is no year"
            ),
        );
    }
}

fn check_investment(c: &mut Checker, i: &InvestmentSettings) {
    for (name, v) in [
        ("mine_permitting_years", i.mine_permitting_years),
        ("mine_construction_years", i.mine_construction_years),
        ("refinery_permitting_years", i.refinery_permitting_years),
        ("refinery_construction_years", i.refinery_construction_years),
        ("ramp_up_years", i.ramp_up_years),
    ] {
        c.range(format_args!("investment.{name}"), v, 0.0, 50.0);
    }
    c.range(
        "investment.asset_life_years",
        i.asset_life_years,
        1.0,
        100.0,
    );
    c.unit(
        "investment.max_country_risk_premium",
        i.max_country_risk_premium,
    );
    c.unit(
        "investment.max_cancellation_hazard_per_yr",
        i.max_cancellation_hazard_per_yr,
    );
    c.range("investment.learning_rate", i.learning_rate, 0.0, 0.9);
    c.range("investment.duration_cv", i.duration_cv, 0.0, 3.0);
    c.range(
        "investment.governance_duration_effect",
        i.governance_duration_effect,
        0.0,
        2.0,
    );
    c.range(
        "investment.max_delay_hazard_per_yr",
        i.max_delay_hazard_per_yr,
        0.0,
        10.0,
    );
    c.range("investment.delay_mean_years", i.delay_mean_years, 0.0, 20.0);
    c.unit("investment.esg_cost_share", i.esg_cost_share);
    c.range(
        "investment.choice_sharpness",
        i.choice_sharpness,
        0.0,
        1000.0,
    );
    for (name, v) in [
        ("approval_intercept", i.approval_intercept),
        ("approval_affinity_weight", i.approval_affinity_weight),
        ("approval_esg_weight", i.approval_esg_weight),
        ("approval_finance_weight", i.approval_finance_weight),
        ("approval_licence_weight", i.approval_licence_weight),
        ("mandate_penalty", i.mandate_penalty),
    ] {
        c.range(format_args!("investment.{name}"), v, -50.0, 50.0);
    }
    c.range("investment.retry_years", i.retry_years, 0.0, 100.0);
    c.range("investment.ally_affinity", i.ally_affinity, -1.0, 1.0);
    c.range(
        "investment.capital_budget_years",
        i.capital_budget_years,
        0.0,
        50.0,
    );
    c.usd(
        "investment.min_capital_budget_usd",
        i.min_capital_budget_usd,
    );
    c.unit(
        "investment.state_backed_risk_factor",
        i.state_backed_risk_factor,
    );
    c.range(
        "investment.state_backed_budget_multiplier",
        i.state_backed_budget_multiplier,
        1.0,
        20.0,
    );
    c.unit("investment.inframarginal_weight", i.inframarginal_weight);
    c.range("investment.price_volatility", i.price_volatility, 0.0, 3.0);
    c.unit("investment.ore_ban_feed_discount", i.ore_ban_feed_discount);
    c.range(
        "investment.max_deferral_years",
        i.max_deferral_years,
        0.0,
        20.0,
    );
    c.range(
        "investment.state_backed_build_factor",
        i.state_backed_build_factor,
        0.05,
        2.0,
    );
    c.range(
        "investment.max_bidders_per_prospect",
        f64::from(i.max_bidders_per_prospect),
        1.0,
        1.0e6,
    );
}

fn check_politics(c: &mut Checker, p: &PoliticsSettings) {
    c.unit("politics.lag_threshold", p.lag_threshold);
    c.range("politics.high_price_ratio", p.high_price_ratio, 1e-6, 100.0);
    c.unit("politics.export_tax_step", p.export_tax_step);
    c.unit("politics.max_ore_export_tax", p.max_ore_export_tax);
    c.range("politics.drought_years", p.drought_years, 1e-6, 100.0);
}

fn check_operations(c: &mut Checker, o: &OperationsSettings) {
    c.range(
        "operations.max_incident_rate_per_yr",
        o.max_incident_rate_per_yr,
        0.0,
        52.0,
    );
    c.unit(
        "operations.incident_capacity_lost",
        o.incident_capacity_lost,
    );
    c.unit("operations.social_licence_loss", o.social_licence_loss);
    c.unit(
        "operations.social_licence_recovery_per_yr",
        o.social_licence_recovery_per_yr,
    );
    if o.incident_duration_steps == 0 {
        c.push("operations.incident_duration_steps", "must be at least 1");
    }
}

struct Refs<'a> {
    nations: &'a IdSet<'a>,
    minerals: &'a IdSet<'a>,
    firms: &'a IdSet<'a>,
    assets: &'a IdSet<'a>,
    financiers: &'a IdSet<'a>,
}

fn check_policy(c: &mut Checker, pol: &Policy, s: &Scenario, r: &Refs<'_>) {
    let p = format!("policies.{}", pol.id);
    let start = match when_to_year(&pol.start) {
        Ok(y) => {
            check_year(c, &format!("{p}.start"), y, s);
            Some(y)
        }
        Err(e) => {
            c.push(format!("{p}.start"), e);
            None
        }
    };
    if let Some(end) = &pol.end {
        match when_to_year(end) {
            Ok(y) => {
                if start.is_some_and(|st| y <= st) {
                    c.push(format!("{p}.end"), "must be after start");
                }
            }
            Err(e) => c.push(format!("{p}.end"), e),
        }
    }
    if let Some(announced) = &pol.announced {
        match when_to_year(announced) {
            Ok(y) => {
                if start.is_some_and(|st| y > st) {
                    c.push(format!("{p}.announced"), "must be on or before start");
                }
            }
            Err(e) => c.push(format!("{p}.announced"), e),
        }
    }
    let a = format!("{p}.action");
    match &pol.action {
        PolicyAction::ExportControl {
            exporter,
            mineral,
            destinations,
            quota_t_per_yr,
            ..
        } => {
            c.known(format_args!("{a}.exporter"), "nation", exporter, r.nations);
            c.known(format_args!("{a}.mineral"), "mineral", mineral, r.minerals);
            for d in destinations {
                c.known(format_args!("{a}.destinations"), "nation", d, r.nations);
            }
            c.quantity(format_args!("{a}.quota_t_per_yr"), *quota_t_per_yr);
        }
        PolicyAction::Tariff {
            importer,
            mineral,
            exporters,
            rate,
            ..
        } => {
            c.known(format_args!("{a}.importer"), "nation", importer, r.nations);
            c.known(format_args!("{a}.mineral"), "mineral", mineral, r.minerals);
            for e in exporters {
                c.known(format_args!("{a}.exporters"), "nation", e, r.nations);
            }
            c.range(format_args!("{a}.rate"), *rate, 0.0, 5.0);
        }
        PolicyAction::ExportTax {
            exporter,
            mineral,
            rate,
            ..
        } => {
            c.known(format_args!("{a}.exporter"), "nation", exporter, r.nations);
            c.known(format_args!("{a}.mineral"), "mineral", mineral, r.minerals);
            c.range(format_args!("{a}.rate"), *rate, 0.0, 5.0);
        }
        PolicyAction::Outage {
            asset,
            capacity_lost,
        } => {
            c.known(format_args!("{a}.asset"), "asset", asset, r.assets);
            c.unit(format_args!("{a}.capacity_lost"), *capacity_lost);
        }
        PolicyAction::SourcingRule {
            consumer,
            minerals,
            required_share,
            premium_usd_per_t,
            ..
        } => {
            c.known(format_args!("{a}.consumer"), "nation", consumer, r.nations);
            for m in minerals {
                c.known(format_args!("{a}.minerals"), "mineral", m, r.minerals);
            }
            let mut last = f64::NEG_INFINITY;
            for (year, share) in required_share {
                // Looked up stepwise ("latest year <= now"), which needs strictly increasing years.
                if !(year.is_finite() && *year > last) {
                    c.push(
                        format!("{a}.required_share"),
                        format!("years must increase strictly, found {year} after {last}"),
                    );
                }
                last = *year;
                c.unit(format_args!("{a}.required_share"), *share);
            }
            c.usd(format_args!("{a}.premium_usd_per_t"), *premium_usd_per_t);
        }
        PolicyAction::FtaAgreement { nation, partner } => {
            c.known(format_args!("{a}.nation"), "nation", nation, r.nations);
            c.known(format_args!("{a}.partner"), "nation", partner, r.nations);
        }
        PolicyAction::LocalProcessingMandate {
            nation, minerals, ..
        } => {
            c.known(format_args!("{a}.nation"), "nation", nation, r.nations);
            for m in minerals {
                c.known(format_args!("{a}.minerals"), "mineral", m, r.minerals);
            }
        }
        PolicyAction::Nationalisation {
            nation,
            mineral,
            state_firm,
            share,
        } => {
            c.known(format_args!("{a}.nation"), "nation", nation, r.nations);
            c.known(format_args!("{a}.mineral"), "mineral", mineral, r.minerals);
            c.known(format_args!("{a}.state_firm"), "firm", state_firm, r.firms);
            c.unit(format_args!("{a}.share"), *share);
        }
        PolicyAction::FinanceProgramme {
            financier,
            annual_budget_usd,
        } => {
            c.known(
                format_args!("{a}.financier"),
                "financier",
                financier,
                r.financiers,
            );
            c.usd(format_args!("{a}.annual_budget_usd"), *annual_budget_usd);
        }
    }
}
