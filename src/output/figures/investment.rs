//! Money and trouble, year by year: investment by host nation and by the investor's home nation,
//! state finance by financing nation, and incidents by host. These metrics are amounts recorded
//! per step (see docs/output-format.md), so the charts show calendar-year totals as stacked bars.

use std::collections::BTreeMap;

use super::chart::{self, Figure, Kind, Panel};
use super::data::{Metrics, Row, Settings};
use super::style::{Scale, Width};

/// Figure family id: investment by host nation.
pub const BY_HOST: &str = "investment_by_host";
/// Figure family id: investment by the investor's home nation.
pub const BY_SOURCE: &str = "investment_by_source";
/// Figure family id: state finance by financing nation.
pub const STATE_FINANCE: &str = "state_finance";
/// Figure family id: incidents by host nation.
pub const INCIDENTS: &str = "incidents";

/// Investment by host (`nation`), all minerals.
pub fn by_host(m: &Metrics, s: &Settings) -> Vec<Figure> {
    annual_bars(
        m,
        s,
        "investment_usd",
        BY_HOST,
        |r| r.nation.clone(),
        "Investment by host",
        true,
    )
}

/// Investment by investor home (`partner`), all minerals.
pub fn by_source(m: &Metrics, s: &Settings) -> Vec<Figure> {
    annual_bars(
        m,
        s,
        "investment_usd",
        BY_SOURCE,
        |r| r.partner.clone(),
        "Investment by source",
        true,
    )
}

/// State finance by financing nation.
pub fn state_finance(m: &Metrics, s: &Settings) -> Vec<Figure> {
    annual_bars(
        m,
        s,
        "state_finance_usd",
        STATE_FINANCE,
        |r| r.nation.clone(),
        "State finance",
        true,
    )
}

/// Incidents by host nation.
pub fn incidents(m: &Metrics, s: &Settings) -> Vec<Figure> {
    annual_bars(
        m,
        s,
        "incidents",
        INCIDENTS,
        |r| r.nation.clone(),
        "Incidents",
        false,
    )
}

fn annual_bars(
    m: &Metrics,
    s: &Settings,
    metric: &str,
    id: &'static str,
    key: fn(&Row) -> String,
    what: &str,
    usd: bool,
) -> Vec<Figure> {
    if !m.has(metric) {
        return Vec::new();
    }
    let years = m.years();
    let grid = m.grid(
        metric,
        |_| true,
        |r| {
            let k = key(r);
            if k.is_empty() {
                "unspecified".into()
            } else {
                k
            }
        },
    );
    // Calendar-year totals on a common list of years.
    let mut annual: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let mut year_list: Vec<f64> = Vec::new();
    for (k, values) in &grid {
        let sums = chart::annual_sums(&years, values);
        year_list = sums.iter().map(|(y, _)| *y).collect();
        annual.insert(k.clone(), sums.into_iter().map(|(_, v)| Some(v)).collect());
    }
    let weights = annual
        .iter()
        .map(|(k, v)| (k.clone(), chart::total(v)))
        .collect();
    let chosen = chart::pick_nations(&weights, &s.highlight_nations);
    let mut fig = Figure {
        id,
        stem: id.to_string(),
        width: Width::Single,
        kind: Kind::StackedBars,
        y_what: what.to_string(),
        scale: Scale::plain("per year"),
        y_max: None,
        raw_unit: if usd {
            "USD/yr".into()
        } else {
            "count/yr".into()
        },
        panels: vec![Panel {
            label: None,
            series: chart::nation_series(&annual, &chosen, &year_list, Kind::StackedBars),
        }],
    };
    fig.scale = if usd {
        Scale::usd(fig.data_max(), "/yr")
    } else {
        Scale::plain("count/yr")
    };
    if fig.is_empty() {
        Vec::new()
    } else {
        vec![fig]
    }
}
