//! How concentrated supply is: the Herfindahl–Hirschman index of production by host nation, one
//! line per mineral, for mining and for refining. A compact summary for a paper's overview figure.

use super::chart::{Figure, Kind, Panel, Series};
use super::data::{Metrics, Settings};
use super::shares::{activity, mineral_name};
use super::style::{self, Scale, Width};

/// Figure family id.
pub const ID: &str = "hhi";

/// One figure per stage, one line per mineral.
pub fn figures(m: &Metrics, _s: &Settings) -> Vec<Figure> {
    let years = m.years();
    let stages: std::collections::BTreeSet<String> =
        m.commodities("hhi").into_iter().map(|(_, st)| st).collect();
    let mut out = Vec::new();
    for stage in stages {
        let grid = m.grid("hhi", |r| r.stage == stage, |r| r.mineral.clone());
        let series: Vec<Series> = grid
            .iter()
            .map(|(mineral, values)| Series {
                label: super::capacity::capitalise(&mineral_name(mineral)),
                key: mineral.clone(),
                colour: style::mineral_colour(mineral),
                dashed: false,
                emphasis: false,
                points: years
                    .iter()
                    .zip(values)
                    .filter_map(|(y, v)| v.map(|v| (*y, v)))
                    .collect(),
            })
            .collect();
        let fig = Figure {
            id: ID,
            stem: super::chart::stem(ID, &[&stage]),
            width: Width::Single,
            kind: Kind::Lines,
            y_what: format!(
                "{} concentration, HHI",
                super::capacity::capitalise(activity(&stage))
            ),
            scale: Scale::plain("0–1"),
            y_max: Some(1.0),
            raw_unit: "index".into(),
            panels: vec![Panel {
                label: None,
                series,
            }],
        };
        if !fig.is_empty() {
            out.push(fig);
        }
    }
    out
}
