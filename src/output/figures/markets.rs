//! Markets and what they leave behind: prices (the world price and any segmented buyer market),
//! unmet demand by consumer, the share of a nation's ore refined at home, and value added. Each
//! chart appears only when the run recorded its metric.

use std::collections::BTreeMap;

use super::capacity::capitalise;
use super::chart::{self, Figure, Kind, Panel, Series};
use super::data::{Metrics, Row, Settings};
use super::shares::mineral_name;
use super::style::{self, Scale, Width};

/// Figure family id of the price charts.
pub const PRICE: &str = "price";
/// Figure family id of the unmet-demand charts.
pub const UNMET_DEMAND: &str = "unmet_demand";
/// Figure family id of the domestic-processing charts.
pub const DOMESTIC_PROCESSING: &str = "domestic_processing";
/// Figure family id of the value-added charts.
pub const VALUE_ADDED: &str = "value_added";

/// Prices per mineral: the world (reference) price of each stage in black (refined solid, ore
/// dashed) and, where a buyer's market is segmented (its price strays more than 5% from the
/// reference at some step), that buyer's price in its nation's colour.
pub fn price(m: &Metrics, settings: &Settings) -> Vec<Figure> {
    let years = m.years();
    let minerals: std::collections::BTreeSet<String> = m
        .commodities("price")
        .into_iter()
        .map(|(mi, _)| mi)
        .collect();
    let mut out = Vec::new();
    for mineral in minerals {
        let grid = m.grid(
            "price",
            |r| r.mineral == mineral,
            |r| format!("{}|{}", r.stage, r.nation),
        );
        // Segmented markets: keep the nations whose price strays furthest (largest totals).
        let mut weights: BTreeMap<String, f64> = BTreeMap::new();
        for (key, values) in &grid {
            if let Some((_, nation)) = key.split_once('|')
                && !nation.is_empty()
            {
                *weights.entry(nation.to_string()).or_default() += chart::total(values);
            }
        }
        let nations = chart::pick_nations(&weights, &[]);
        let colours = style::nation_colours(&nations);
        let mut series = Vec::new();
        for stage in ["refined", "ore", ""] {
            for (key, values) in &grid {
                let Some((st, nation)) = key.split_once('|') else {
                    continue;
                };
                if st != stage || !(nation.is_empty() || nations.iter().any(|n| n == nation)) {
                    continue;
                }
                // A buyer's price is drawn only where its market is segmented: where it strays
                // more than 5% from the world (reference) price of that stage at some step. Every
                // buyer pays a little more or less than the reference (transport, origin mix), and
                // drawing them all buries the world lines.
                if !nation.is_empty()
                    && let Some(world) = grid.get(&format!("{st}|"))
                    && !values.iter().zip(world).any(|(v, w)| {
                        matches!((v, w), (Some(v), Some(w)) if *w > 0.0 && ((v - w) / w).abs() > 0.05)
                    })
                {
                    continue;
                }
                let place = if nation.is_empty() { "World" } else { nation };
                series.push(Series {
                    label: if st.is_empty() {
                        place.to_string()
                    } else {
                        format!("{place}, {st}")
                    },
                    key: if nation.is_empty() {
                        format!("world_{st}")
                    } else {
                        format!("{nation}_{st}")
                    },
                    colour: nations
                        .iter()
                        .position(|n| n == nation)
                        .map_or(style::WORLD, |i| colours[i]),
                    dashed: st == "ore",
                    emphasis: nation.is_empty(),
                    points: line_points(&years, values),
                });
            }
        }
        // A price that reaches its ceiling (reference × `market.price_ceiling_ratio`) runs
        // flat along it: draw the ceiling, labelled, so the flat stretch is explained.
        let mut ceilings: Vec<Series> = Vec::new();
        for s in &series {
            // Keys are `world_<stage>` or `<nation>_<stage>`.
            let Some((_, stage)) = s.key.split_once('_') else {
                continue;
            };
            let Some(&cap) = settings.price_ceilings.get(&format!("{mineral}|{stage}")) else {
                continue;
            };
            let key = format!("ceiling_{stage}");
            if cap > 0.0
                && !ceilings.iter().any(|c| c.key == key)
                && s.points.iter().any(|(_, v)| *v >= 0.999 * cap)
                && let (Some(&x0), Some(&x1)) = (years.first(), years.last())
            {
                ceilings.push(Series {
                    label: if stage == "ore" {
                        format!(
                            "Ceiling guard, ore ({}× reference, or recovery × refined ceiling)",
                            settings.price_ceiling_ratio
                        )
                    } else {
                        format!(
                            "Ceiling guard, {stage} ({}× reference price)",
                            settings.price_ceiling_ratio
                        )
                    },
                    key,
                    colour: style::OTHER,
                    dashed: true,
                    emphasis: false,
                    points: vec![(x0, cap), (x1, cap)],
                });
            }
        }
        series.extend(ceilings);
        let unit = settings.mineral_unit(&mineral).to_string();
        let mut fig = Figure {
            id: PRICE,
            stem: chart::stem(PRICE, &[&mineral]),
            width: Width::Single,
            kind: Kind::Lines,
            y_what: format!("{} price", capitalise(&mineral_name(&mineral))),
            scale: Scale::plain("USD/t"),
            y_max: None,
            raw_unit: "USD/t".into(),
            panels: vec![Panel {
                label: None,
                series,
            }],
        };
        // Per tonne of what: the mineral's unit (`USD/t Li`, `USD/t REO`).
        fig.scale = Scale::usd_per_t(fig.data_max());
        fig.scale.unit = fig.scale.unit.replace("USD/t", &format!("USD/{unit}"));
        if !fig.is_empty() {
            out.push(fig);
        }
    }
    out
}

/// Unmet demand per mineral (and stage), one line per consumer nation.
pub fn unmet_demand(m: &Metrics, s: &Settings) -> Vec<Figure> {
    per_nation_lines(m, s, "unmet_demand", UNMET_DEMAND, |mineral, _, s, max| {
        (
            format!("Unmet {} demand", mineral_name(mineral)),
            Scale::tonnes_per_year(max, s.mineral_unit(mineral)),
            None,
            "t/yr",
        )
    })
}

/// Share of each nation's ore output refined at home, per mineral.
pub fn domestic_processing(m: &Metrics, s: &Settings) -> Vec<Figure> {
    per_nation_lines(
        m,
        s,
        "domestic_processing",
        DOMESTIC_PROCESSING,
        |mineral, _, _, _| {
            (
                format!("{} ore refined at home", capitalise(&mineral_name(mineral))),
                Scale::percent(),
                Some(1.0),
                "share",
            )
        },
    )
}

/// Value added per nation (per mineral when the metric has one), as recorded.
pub fn value_added(m: &Metrics, s: &Settings) -> Vec<Figure> {
    per_nation_lines(
        m,
        s,
        "value_added_usd",
        VALUE_ADDED,
        |mineral, stage, _, max| {
            // Which stage's value added, and that it is a rate (annualised, docs/output-format.md).
            let stage = match stage {
                "ore" => " mining",
                "refined" => " refining",
                _ => "",
            };
            let what = if mineral.is_empty() {
                format!("Value added{stage}")
            } else {
                format!("{}{stage} value added", capitalise(&mineral_name(mineral)))
            };
            (what, Scale::usd(max, "/yr"), None, "USD/yr")
        },
    )
}

/// Axis text, scale, fixed top, raw unit for a mineral and stage, given the data maximum.
type AxisFor = fn(&str, &str, &Settings, f64) -> (String, Scale, Option<f64>, &'static str);

fn per_nation_lines(
    m: &Metrics,
    s: &Settings,
    metric: &str,
    id: &'static str,
    axis: AxisFor,
) -> Vec<Figure> {
    let years = m.years();
    let mut out = Vec::new();
    for (mineral, stage) in m.commodities(metric) {
        let keep = |r: &Row| r.mineral == mineral && r.stage == stage;
        let grid = m.grid(metric, keep, |r| r.nation.clone());
        let weights = grid
            .iter()
            .map(|(k, v)| (k.clone(), chart::total(v)))
            .collect();
        let chosen = chart::pick_nations(&weights, &s.highlight_nations);
        let series: Vec<Series> = chart::nation_series(&grid, &chosen, &years, Kind::Lines)
            .into_iter()
            // An "Other" sum of shares is meaningless; of quantities it is useful.
            .filter(|x| !(x.key == "other" && axis(&mineral, &stage, s, 0.0).1.percent))
            .collect();
        let mut fig = Figure {
            id,
            stem: chart::stem(id, &[&mineral, &stage]),
            width: Width::Single,
            kind: Kind::Lines,
            y_what: String::new(),
            scale: Scale::plain(""),
            y_max: None,
            raw_unit: String::new(),
            panels: vec![Panel {
                label: None,
                series,
            }],
        };
        let (what, scale, y_max, raw_unit) = axis(&mineral, &stage, s, fig.data_max());
        fig.y_what = what;
        fig.scale = scale;
        fig.y_max = y_max;
        fig.raw_unit = raw_unit.into();
        if !fig.is_empty() {
            out.push(fig);
        }
    }
    out
}

fn line_points(years: &[f64], values: &[Option<f64>]) -> Vec<(f64, f64)> {
    years
        .iter()
        .zip(values)
        .filter_map(|(y, v)| v.map(|v| (*y, v)))
        .collect()
}
