//! The metric catalogue (issue 13): `docs/output-format.md`'s metric table lists exactly the
//! metrics of `orechain::types::catalogue()`, with the same unit and key columns, and every
//! metric the shipped scenarios write is in the catalogue.

use std::collections::BTreeMap;

use orechain::types::catalogue;

use crate::common::*;

/// `name → (unit, by)` from the document's table (a row may name several metrics).
fn documented() -> BTreeMap<String, (String, String)> {
    let text = read(&repo("docs/output-format.md"));
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| *l == "| metric | unit | by | formula |")
        .expect("docs/output-format.md has the metric table");
    let mut out = BTreeMap::new();
    for line in lines[header + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert!(cells.len() >= 4, "malformed metric row: {line}");
        for name in cells[0].split(", ") {
            let name = name.trim_matches('`');
            let old = out.insert(
                name.to_string(),
                (cells[1].to_string(), cells[2].to_string()),
            );
            assert!(old.is_none(), "{name} is documented twice");
        }
    }
    out
}

#[test]
fn the_documented_metric_table_is_the_catalogue() {
    let doc = documented();
    let catalogue: BTreeMap<String, (String, String)> = catalogue()
        .iter()
        .map(|m| (m.name.to_string(), (m.unit.to_string(), m.by.to_string())))
        .collect();
    for (name, entry) in &catalogue {
        assert_eq!(
            doc.get(name),
            Some(entry),
            "metric `{name}`: docs/output-format.md (left) and model::metrics::CATALOGUE (right) \
             disagree on unit or keys"
        );
    }
    let extra: Vec<&String> = doc.keys().filter(|k| !catalogue.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "documented but not in the catalogue: {extra:?}"
    );
}

#[test]
fn every_metric_written_by_the_shipped_scenarios_is_catalogued() {
    let mut seen = std::collections::BTreeSet::new();
    for name in [
        "trilateral.ron",
        "invest_test.ron",
        "export_controls.ron",
        "stockpile.ron",
    ] {
        let loaded = orechain::scenario::load_file(&repo(&format!("scenarios/{name}")), &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = orechain::sim::run(loaded.scenario.resolved());
        for row in &result.metrics {
            seen.insert(row.metric);
        }
    }
    let unknown: Vec<&&str> = seen
        .iter()
        .filter(|m| orechain::types::info(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "metrics written but not catalogued: {unknown:?}"
    );
    // The runs exercise most of the catalogue (a test that cannot see a metric proves little).
    assert!(
        seen.len() >= 20,
        "only {} metrics seen: {seen:?}",
        seen.len()
    );
}
