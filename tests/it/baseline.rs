//! The shipped baseline reproduces 2024 shares at step 0, computed from asset capacities.

use crate::common::*;

#[test]
fn lithium_refining_share_of_china_matches_iea_2024() {
    let dir = tmp();
    let s = repo("scenarios/baseline.ron");
    let (code, _, err) = outcome(&orechain(
        &["run", s.to_str().expect("utf-8"), "-o", "b", "--no-figures"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&dir.path().join("b/metrics.csv"));
    let share =
        metric(&rows, 0, "share_location", "lithium", "refined", "CHN").expect("row exists");
    // IEA Critical Minerals Data Explorer (May 2025): China refined 70% of lithium in 2024.
    assert!(
        (share - 0.70).abs() <= 0.01,
        "China's lithium refining share at step 0 is {share}"
    );
}
