//! Where the capacity is: stacked areas of capacity (and production) by host nation, per mineral
//! and stage, so a reader sees both the total build-out and who hosts it.

use super::chart::{self, Figure, Kind, Panel};
use super::data::{Metrics, Settings};
use super::shares::{activity, mineral_name};
use super::style::{Scale, Width};

/// Figure family id of the capacity charts.
pub const CAPACITY: &str = "capacity";
/// Figure family id of the production charts.
pub const PRODUCTION: &str = "production";

/// Capacity by host nation, one figure per mineral and stage.
pub fn capacity(m: &Metrics, s: &Settings) -> Vec<Figure> {
    by_host(m, s, CAPACITY, "capacity", "capacity")
}

/// Production by host nation, one figure per mineral and stage.
pub fn production(m: &Metrics, s: &Settings) -> Vec<Figure> {
    by_host(m, s, PRODUCTION, "production", "output")
}

fn by_host(m: &Metrics, s: &Settings, id: &'static str, metric: &str, what: &str) -> Vec<Figure> {
    let years = m.years();
    let mut out = Vec::new();
    for (mineral, stage) in m.commodities(metric) {
        let grid = m.grid(
            metric,
            |r| r.mineral == mineral && r.stage == stage,
            |r| r.nation.clone(),
        );
        let weights = grid
            .iter()
            .map(|(k, v)| (k.clone(), chart::total(v)))
            .collect();
        let chosen = chart::pick_nations(&weights, &s.highlight_nations);
        let mut fig = Figure {
            id,
            stem: chart::stem(id, &[&mineral, &stage]),
            width: Width::Single,
            kind: Kind::StackedArea,
            y_what: format!(
                "{} {} {what}",
                capitalise(&mineral_name(&mineral)),
                activity(&stage)
            ),
            scale: Scale::plain("t/yr"),
            y_max: None,
            raw_unit: "t/yr".into(),
            panels: vec![Panel {
                label: None,
                series: chart::nation_series(&grid, &chosen, &years, Kind::StackedArea),
            }],
        };
        fig.scale = Scale::tonnes_per_year(fig.data_max(), s.mineral_unit(&mineral));
        if !fig.is_empty() {
            out.push(fig);
        }
    }
    out
}

/// First letter upper case.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
