//! Who produces and who controls: each nation's share of world mining and refining of a mineral,
//! over time, by location (where the mine or refinery is) and by control (the home of the firms
//! that own it). This is the headline chart of the project's research questions (how far does
//! China's share of refining fall under a policy?), so China is always drawn, and drawn thicker.

use std::collections::BTreeSet;

use super::chart::{self, Figure, Kind};
use super::data::{Grid, Metrics, Settings};
use super::style::{Scale, Width};

/// Figure family id.
pub const ID: &str = "share";

/// "mining" for ore, "refining" for refined.
pub fn activity(stage: &str) -> &str {
    match stage {
        "ore" => "mining",
        "refined" => "refining",
        other => other,
    }
}

/// Mineral id as words (`rare_earths` → `rare earths`).
pub fn mineral_name(id: &str) -> String {
    id.replace('_', " ")
}

/// One figure per mineral and stage: two panels (location, control) of one line per nation.
pub fn figures(m: &Metrics, s: &Settings) -> Vec<Figure> {
    let panels_spec = [
        ("share_location", "By location (host nation)"),
        ("share_control", "By control (owners' home nation)"),
    ];
    let commodities: BTreeSet<(String, String)> = panels_spec
        .iter()
        .flat_map(|(metric, _)| m.commodities(metric))
        .collect();
    let years = m.years();
    let mut out = Vec::new();
    for (mineral, stage) in commodities {
        let keep = |r: &super::data::Row| r.mineral == mineral && r.stage == stage;
        let grids: Vec<(&str, Grid)> = panels_spec
            .iter()
            .map(|(metric, label)| (*label, m.grid(metric, keep, |r| r.nation.clone())))
            .filter(|(_, g)| !g.is_empty())
            .collect();
        let panels = chart::nation_panels(&grids, &s.highlight_nations, &years, Kind::Lines);
        let fig = Figure {
            id: ID,
            stem: chart::stem(ID, &[&mineral, &stage]),
            width: if panels.len() > 1 {
                Width::Double
            } else {
                Width::Single
            },
            kind: Kind::Lines,
            y_what: format!(
                "Share of world {} {}",
                mineral_name(&mineral),
                activity(&stage)
            ),
            scale: Scale::percent(),
            y_max: Some(1.0),
            raw_unit: "share".into(),
            panels,
        };
        if !fig.is_empty() {
            out.push(fig);
        }
    }
    out
}
