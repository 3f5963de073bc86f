//! What an outcome's axis says: a short description from the outcome's metric and filters, and the
//! metric's unit (as in `docs/output-format.md`, scaled the way the run figures scale it: %, kt or
//! Mt of the mineral's unit, USD m or bn). Sweep figures then read like the run figures of the same
//! metric, and the outcome's own name stays in the file name and the data CSV.

use crate::output::figures::capacity::capitalise;
use crate::output::figures::data::Settings;
use crate::output::figures::shares::{activity, mineral_name};
use crate::output::figures::style::Scale;
use crate::sweep::outcome::Outcome;

/// The axis of an outcome's values.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeAxis {
    /// What the axis shows, without the unit.
    pub what: String,
    /// Scaling and unit.
    pub scale: Scale,
    /// Unit of the raw values (written to the data CSV).
    pub raw_unit: String,
}

impl OutcomeAxis {
    /// `what (unit)`.
    pub fn label(&self) -> String {
        self.scale.label(&self.what)
    }
}

/// The axis of an outcome whose largest absolute value is `max`.
pub fn outcome_axis(o: &Outcome, s: &Settings, max: f64) -> OutcomeAxis {
    let mineral = o.mineral.as_deref().unwrap_or("");
    let stage = o.stage.map_or("", |st| st.as_str());
    let nation = o.nation.as_deref().unwrap_or("");
    let partner = o.partner.as_deref().unwrap_or("");
    // "CHN lithium refining", "lithium mining", "CHN".
    let subject = |words: &[&str]| -> String {
        words
            .iter()
            .filter(|w| !w.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mineral_words = mineral_name(mineral);
    let act = activity(stage);
    let unit = s.mineral_unit(mineral);
    let per_year = |max: f64| Scale::tonnes_per_year(max, unit);
    let (what, scale, raw) = match o.metric.as_str() {
        "share_location" => (
            subject(&[nation, "share of", &mineral_words, act]),
            Scale::percent(),
            "share",
        ),
        "share_control" => (
            subject(&[nation, "control of", &mineral_words, act]),
            Scale::percent(),
            "share",
        ),
        "hhi" => (
            subject(&[&capitalise(&mineral_words), act, "HHI"]),
            Scale::plain("0–1"),
            "index",
        ),
        "capacity" => (
            subject(&[nation, &mineral_words, act, "capacity"]),
            per_year(max),
            "t/yr",
        ),
        "production" => (
            subject(&[nation, &mineral_words, act, "output"]),
            per_year(max),
            "t/yr",
        ),
        "demand" | "consumption" => (
            subject(&[nation, &mineral_words, &o.metric]),
            per_year(max),
            "t/yr",
        ),
        "unmet_demand" => (
            subject(&[nation, "unmet", &mineral_words, "demand"]),
            per_year(max),
            "t/yr",
        ),
        "price" => {
            let market = if nation.is_empty() { "World" } else { nation };
            (
                subject(&[market, &mineral_words, stage, "price"]),
                Scale::usd_per_t(max),
                "USD/t",
            )
        }
        "import_dependence" => (
            subject(&[nation, &mineral_words, "from", partner]),
            Scale::percent(),
            "share",
        ),
        "import_dependence_control" => (
            subject(&[nation, &mineral_words, "controlled by", partner]),
            Scale::percent(),
            "share",
        ),
        "domestic_processing" => (
            subject(&[nation, &mineral_words, "ore refined at home"]),
            Scale::percent(),
            "share",
        ),
        "value_added_usd" => (
            subject(&[nation, &mineral_words, act, "value added"]),
            Scale::usd(max, "/yr"),
            "USD/yr",
        ),
        "feed_stock" => {
            let mut scale = per_year(max);
            scale.unit = scale.unit.trim_end_matches("/yr").to_string();
            (subject(&[nation, &mineral_words, "ore stock"]), scale, "t")
        }
        "investment_usd" => (
            subject(&[nation, &mineral_words, act, "investment"]),
            Scale::usd(max, "/step"),
            "USD/step",
        ),
        "state_finance_usd" => (
            subject(&[nation, "state finance"]),
            Scale::usd(max, "/step"),
            "USD/step",
        ),
        "incidents" => (
            subject(&[nation, &mineral_words, "incidents"]),
            Scale::plain("count/step"),
            "count/step",
        ),
        m if m.starts_with("projects_") => (
            subject(&[
                nation,
                &mineral_words,
                "projects",
                &m["projects_".len()..].replace('_', " "),
            ]),
            Scale::plain("count"),
            "count",
        ),
        // A metric this version does not know: the outcome's name, in the metric's own unit.
        _ => (o.name.clone(), Scale::plain("metric unit"), ""),
    };
    let what = if what.is_empty() {
        o.name.clone()
    } else {
        what
    };
    OutcomeAxis {
        what: capitalise(&what),
        scale,
        raw_unit: raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Stage;

    fn outcome(metric: &str, nation: Option<&str>) -> Outcome {
        Outcome {
            name: "x".into(),
            metric: metric.into(),
            mineral: Some("lithium".into()),
            stage: Some(Stage::Refined),
            nation: nation.map(str::to_string),
            partner: None,
            years: None,
            aggregate: Default::default(),
        }
    }

    #[test]
    fn labels_carry_the_metric_unit_scaled_like_run_figures() {
        let mut s = Settings::default();
        s.mineral_units.insert("lithium".into(), "t Li".into());
        let share = outcome_axis(&outcome("share_location", Some("CHN")), &s, 0.6);
        assert_eq!(share.label(), "CHN share of lithium refining (%)");
        let prod = outcome_axis(&outcome("production", Some("CHL")), &s, 120_000.0);
        assert_eq!(prod.label(), "CHL lithium refining output (kt Li/yr)");
        let hhi = outcome_axis(&outcome("hhi", None), &s, 0.5);
        assert_eq!(hhi.label(), "Lithium refining HHI (0–1)");
        let other = outcome_axis(&outcome("new_metric", None), &s, 1.0);
        assert_eq!(other.label(), "X (metric unit)");
    }
}
