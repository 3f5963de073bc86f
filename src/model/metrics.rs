//! The metric catalogue: every metric name `metrics.csv` can hold, with its unit, the columns it
//! is keyed by and one line of documentation.
//!
//! Metric names are a contract (CHANGELOG.md): observers name a metric through these constants,
//! never a string literal, so a name is spelled once. `docs/output-format.md`'s metric table is
//! checked against [`catalogue`] (name, unit and keys, `tests/it/metric_catalogue.rs`), and every
//! metric a shipped scenario writes must be in it. Formulas live in the document; the `doc` line
//! here is the short form shown where a description fits on one line.

/// One metric of `metrics.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricInfo {
    /// Name in the `metric` column.
    pub name: &'static str,
    /// Unit of the `value` column (as in the document's table).
    pub unit: &'static str,
    /// The key columns it fills (`mineral`, `stage`, `nation`, `partner`), as in the document.
    pub by: &'static str,
    /// One line: what it measures.
    pub doc: &'static str,
}

/// Σ nameplate capacity of operating, ramping-up and suspended assets.
pub const CAPACITY: &str = "capacity";
/// Annualised potential output (capacity × utilisation × outages × ramp-up).
pub const AVAILABLE_CAPACITY: &str = "available_capacity";
/// Annualised output.
pub const PRODUCTION: &str = "production";
/// Share of world production by host.
pub const SHARE_LOCATION: &str = "share_location";
/// Share of world production by owners' home.
pub const SHARE_CONTROL: &str = "share_control";
/// Herfindahl–Hirschman index of production by host.
pub const HHI: &str = "hhi";
/// Reference price, or the delivered unit value a buyer paid.
pub const PRICE: &str = "price";
/// Price a nation's sellers net.
pub const PRODUCER_PRICE: &str = "producer_price";
/// Rent of a binding export quota.
pub const QUOTA_RENT_USD: &str = "quota_rent_usd";
/// Demand at the price paid.
pub const DEMAND: &str = "demand";
/// Refined tonnes delivered.
pub const CONSUMPTION: &str = "consumption";
/// Demand − consumption.
pub const UNMET_DEMAND: &str = "unmet_demand";
/// Refined tonnes bought (delivered to the nation's consumers), annualised.
pub const PURCHASES: &str = "purchases";
/// Refined stock held by the nation's consumers.
pub const CONSUMER_STOCK: &str = "consumer_stock";
/// Consumption by location of the supplying refineries.
pub const IMPORT_DEPENDENCE: &str = "import_dependence";
/// Consumption by controlling home of the supplying refineries.
pub const IMPORT_DEPENDENCE_CONTROL: &str = "import_dependence_control";
/// Share of consumption qualifying under a sourcing rule.
pub const QUALIFYING_SHARE: &str = "qualifying_share";
/// Premium earned under a sourcing rule.
pub const SOURCING_PREMIUM_USD: &str = "sourcing_premium_usd";
/// Share of a nation's ore refined at home.
pub const DOMESTIC_PROCESSING: &str = "domestic_processing";
/// Value added by a nation's mines or refineries.
pub const VALUE_ADDED_USD: &str = "value_added_usd";
/// Ore held in stock by refineries.
pub const FEED_STOCK: &str = "feed_stock";
/// Calibrated output of idle and restarting plants.
pub const IDLE_CAPACITY: &str = "idle_capacity";
/// Restart costs paid in the step.
pub const RESTART_COST_USD: &str = "restart_cost_usd";
/// Investment committed in the step.
pub const INVESTMENT_USD: &str = "investment_usd";
/// State finance committed in the step.
pub const STATE_FINANCE_USD: &str = "state_finance_usd";
/// Incidents started in the step.
pub const INCIDENTS: &str = "incidents";
/// Projects in permitting.
pub const PROJECTS_PERMITTING: &str = "projects_permitting";
/// Projects under construction.
pub const PROJECTS_CONSTRUCTION: &str = "projects_construction";
/// Projects ramping up.
pub const PROJECTS_RAMP_UP: &str = "projects_ramp_up";
/// Projects operating.
pub const PROJECTS_OPERATING: &str = "projects_operating";
/// Projects cancelled.
pub const PROJECTS_CANCELLED: &str = "projects_cancelled";

const HOST: &str = "mineral, stage, nation (host)";
const SHARE: &str = "share 0..1";

/// Annual state-finance budget of a financier nation (issue 15).
pub const FINANCE_BUDGET_USD: &str = "finance_budget_usd";
/// Budget left after the year's allocation (issue 15).
pub const FINANCE_UNSPENT_USD: &str = "finance_unspent_usd";
/// Projects financed by a financier nation in a host (issue 15).
pub const PROJECTS_FINANCED: &str = "projects_financed";
/// Offtake secured by a financier nation's equity (issue 15).
pub const OFFTAKE_SECURED_T_PER_YR: &str = "offtake_secured_t_per_yr";
/// Operating capacity by host and owners' home (issue 15).
pub const CAPACITY_HOST_HOME: &str = "capacity_host_home";

/// Every metric, in the order of `docs/output-format.md`'s table.
pub const CATALOGUE: &[MetricInfo] = &[
    MetricInfo {
        name: CAPACITY,
        unit: "t/yr",
        by: HOST,
        doc: "nameplate capacity of operating, ramping-up and suspended assets in the host",
    },
    MetricInfo {
        name: AVAILABLE_CAPACITY,
        unit: "t/yr",
        by: HOST,
        doc: "annualised output of the host's running assets at their technical maximum utilisation; production / available_capacity is utilisation of it",
    },
    MetricInfo {
        name: PRODUCTION,
        unit: "t/yr",
        by: HOST,
        doc: "annualised output of the step in the host",
    },
    MetricInfo {
        name: SHARE_LOCATION,
        unit: SHARE,
        by: HOST,
        doc: "production in the host / world production",
    },
    MetricInfo {
        name: SHARE_CONTROL,
        unit: SHARE,
        by: "mineral, stage, nation (home)",
        doc: "production owned by firms of the home nation / world production",
    },
    MetricInfo {
        name: HHI,
        unit: "index 0..1",
        by: "mineral, stage",
        doc: "Herfindahl–Hirschman index of production by host (0..1 scale)",
    },
    MetricInfo {
        name: PRICE,
        unit: "USD/t",
        by: "mineral, stage; nation empty = reference",
        doc: "reference (volume-weighted producer) price, or the delivered unit value a buyer paid",
    },
    MetricInfo {
        name: PRODUCER_PRICE,
        unit: "USD/t",
        by: "mineral, stage, nation (exporter)",
        doc: "price the nation's sellers net after export taxes",
    },
    MetricInfo {
        name: QUOTA_RENT_USD,
        unit: "USD/yr",
        by: "mineral, stage, nation (exporter)",
        doc: "shadow price of a binding export quota × tonnes shipped on the capped links",
    },
    MetricInfo {
        name: DEMAND,
        unit: "t/yr",
        by: "mineral, stage `refined`, nation (consumer)",
        doc: "demand at the price the consumer paid",
    },
    MetricInfo {
        name: CONSUMPTION,
        unit: "t/yr",
        by: "mineral, `refined`, nation",
        doc: "refined tonnes used (purchases plus stock drawn), annualised",
    },
    MetricInfo {
        name: UNMET_DEMAND,
        unit: "t/yr",
        by: "mineral, `refined`, nation",
        doc: "demand − consumption",
    },
    MetricInfo {
        name: PURCHASES,
        unit: "t/yr",
        by: "mineral, `refined`, nation (consumer)",
        doc: "refined tonnes delivered to the nation's consumers, annualised",
    },
    MetricInfo {
        name: CONSUMER_STOCK,
        unit: "t",
        by: "mineral, `refined`, nation (consumer)",
        doc: "refined stock held by the nation's consumers at the end of the step",
    },
    MetricInfo {
        name: IMPORT_DEPENDENCE,
        unit: SHARE,
        by: "mineral, `refined`, nation (consumer), partner (host of the supplying refineries)",
        doc: "share of consumption supplied by refineries located in the partner",
    },
    MetricInfo {
        name: IMPORT_DEPENDENCE_CONTROL,
        unit: SHARE,
        by: "mineral, `refined`, nation, partner (controlling home)",
        doc: "share of consumption supplied by refineries owned from the partner",
    },
    MetricInfo {
        name: QUALIFYING_SHARE,
        unit: SHARE,
        by: "mineral, `refined`, nation (consumer)",
        doc: "share of consumption qualifying under the consumer's sourcing rule",
    },
    MetricInfo {
        name: SOURCING_PREMIUM_USD,
        unit: "USD/yr",
        by: "mineral, `refined`, nation (consumer)",
        doc: "sourcing-rule premium earned on qualifying tonnes",
    },
    MetricInfo {
        name: DOMESTIC_PROCESSING,
        unit: SHARE,
        by: "mineral, `ore`, nation (mine host)",
        doc: "ore refined in the nation / ore mined there",
    },
    MetricInfo {
        name: VALUE_ADDED_USD,
        unit: "USD/yr",
        by: HOST,
        doc: "value of sales at the producer price (refining: less the ore paid)",
    },
    MetricInfo {
        name: FEED_STOCK,
        unit: "t",
        by: "mineral, stage `ore`, nation (refinery host)",
        doc: "ore held in stock by the nation's refineries at the end of the step",
    },
    MetricInfo {
        name: IDLE_CAPACITY,
        unit: "t/yr",
        by: HOST,
        doc: "nameplate × calibrated utilisation of the host's operating plants that are idle or restarting",
    },
    MetricInfo {
        name: RESTART_COST_USD,
        unit: "USD",
        by: HOST,
        doc: "restart costs of idle plants in the host decided in the step",
    },
    MetricInfo {
        name: INVESTMENT_USD,
        unit: "USD (committed in the step)",
        by: "mineral, stage, nation (host), partner (investor home)",
        doc: "capex committed to projects approved in the step, by investor home",
    },
    MetricInfo {
        name: STATE_FINANCE_USD,
        unit: "USD (committed in the step)",
        by: "mineral, stage, nation (financier's nation), partner (host)",
        doc: "state finance committed to projects approved in the step",
    },
    MetricInfo {
        name: INCIDENTS,
        unit: "count per step",
        by: HOST,
        doc: "labour and environmental incidents started in the step",
    },
    MetricInfo {
        name: PROJECTS_PERMITTING,
        unit: "count",
        by: HOST,
        doc: "projects in permitting at the end of the step",
    },
    MetricInfo {
        name: PROJECTS_CONSTRUCTION,
        unit: "count",
        by: HOST,
        doc: "projects under construction at the end of the step",
    },
    MetricInfo {
        name: PROJECTS_RAMP_UP,
        unit: "count",
        by: HOST,
        doc: "projects ramping up at the end of the step",
    },
    MetricInfo {
        name: PROJECTS_OPERATING,
        unit: "count",
        by: HOST,
        doc: "projects (started as prospects) operating at the end of the step",
    },
    MetricInfo {
        name: PROJECTS_CANCELLED,
        unit: "count",
        by: HOST,
        doc: "projects cancelled by the end of the step",
    },
    MetricInfo {
        name: FINANCE_BUDGET_USD,
        unit: "USD/yr",
        by: "nation (financier's nation)",
        doc: "annual state-finance budget of the nation's financiers; first step of each year",
    },
    MetricInfo {
        name: FINANCE_UNSPENT_USD,
        unit: "USD/yr",
        by: "nation (financier's nation)",
        doc: "budget left after the year's allocation; first step of each year",
    },
    MetricInfo {
        name: PROJECTS_FINANCED,
        unit: "count",
        by: "mineral, stage, nation (financier's nation), partner (host)",
        doc: "projects financed by the nation's financiers in the host",
    },
    MetricInfo {
        name: OFFTAKE_SECURED_T_PER_YR,
        unit: "t/yr",
        by: "mineral, stage, nation (financier's nation), partner (host)",
        doc: "financier equity share × output of the projects it holds equity in",
    },
    MetricInfo {
        name: CAPACITY_HOST_HOME,
        unit: "t/yr",
        by: "mineral, stage, nation (host), partner (owner home)",
        doc: "operating capacity × equity share, by host and owners' home; first step of each year",
    },
];

/// The whole catalogue: each installed mechanism's entries in the order of
/// [`super::schedule::MECHANISMS`] — the core observers ([`CATALOGUE`], listed by
/// [`super::observe::Observe`]) first — the order of `docs/output-format.md`'s table. A mechanism
/// lists its metrics in its own folder ([`super::mechanism::Mechanism::metrics`]); this list is
/// not edited for it.
pub fn catalogue() -> Vec<MetricInfo> {
    super::schedule::MECHANISMS
        .iter()
        .flat_map(|m| m.metrics().iter().copied())
        .collect()
}

/// The catalogue entry of a metric name (core or installed mechanism).
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    super::schedule::MECHANISMS
        .iter()
        .flat_map(|m| m.metrics().iter())
        .find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = catalogue().iter().map(|m| m.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a metric is listed twice");
    }
}
