//! Stable order without comparison sorts.
//!
//! Bevy's query order is not stable, so every system that sums floats, draws, or logs puts its
//! rows into dense-index order first (docs/design.md §2.5). With `10^5` assets a comparison
//! sort of the rows is the largest per-step cost of several systems (≈17 comparisons per asset);
//! the dense indices make a counting sort possible instead: two linear passes, no comparisons,
//! and the same order as a stable sort by the key.

/// The positions of `rows` in ascending `key` order, ties in input order (the permutation a
/// stable sort by `key` would apply). For rows too large to move cheaply. `O(rows + largest key)`.
pub fn dense_order<T>(rows: &[T], key: impl Fn(&T) -> usize) -> Vec<usize> {
    let Some(max) = rows.iter().map(&key).max() else {
        return Vec::new();
    };
    let mut next = vec![0usize; max + 2];
    for row in rows {
        next[key(row) + 1] += 1;
    }
    for k in 1..next.len() {
        next[k] += next[k - 1];
    }
    let mut order = vec![0usize; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        let at = &mut next[key(row)];
        order[*at] = i;
        *at += 1;
    }
    order
}

/// Reorder `rows` so `key` ascends, keeping the input order among equal keys (a stable counting
/// sort). `O(rows + largest key)`; meant for dense keys such as asset indices or commodities.
pub fn counting_sort<T>(rows: Vec<T>, key: impl Fn(&T) -> usize) -> Vec<T> {
    let Some(max) = rows.iter().map(&key).max() else {
        return rows;
    };
    // Already in order (e.g. a second sort by a coarser key): nothing to move.
    if rows.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return rows;
    }
    // Start position of each key: the number of rows with a smaller key.
    let mut next = vec![0usize; max + 2];
    for row in &rows {
        next[key(row) + 1] += 1;
    }
    for k in 1..next.len() {
        next[k] += next[k - 1];
    }
    // Each row moved once, straight to its position (a permutation applied by cycles of swaps
    // moves every row about three times and is the larger cost at 10^3 rows).
    let mut slots: Vec<Option<T>> = Vec::with_capacity(rows.len());
    slots.resize_with(rows.len(), || None);
    for row in rows {
        let at = &mut next[key(&row)];
        slots[*at] = Some(row);
        *at += 1;
    }
    slots
        .into_iter()
        .map(|row| row.expect("every position is filled once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_a_stable_sort() {
        let rows = vec![(3, 'a'), (0, 'b'), (3, 'c'), (1, 'd'), (0, 'e'), (7, 'f')];
        let mut expected = rows.clone();
        expected.sort_by_key(|r| r.0);
        assert_eq!(counting_sort(rows, |r| r.0), expected);
        assert_eq!(counting_sort(Vec::<(usize, char)>::new(), |r| r.0), vec![]);
        let rows = [(2, 'x'), (0, 'y'), (2, 'z')];
        assert_eq!(dense_order(&rows, |r| r.0), vec![1, 0, 2]);
    }

    #[test]
    fn the_in_place_permutation_matches_a_stable_sort_on_long_inputs() {
        // Keys with many ties and long cycles (a multiplicative sequence), the tag keeps order.
        let rows: Vec<(usize, usize)> = (0..1000).map(|i| ((i * 7919) % 97, i)).collect();
        let mut expected = rows.clone();
        expected.sort_by_key(|r| r.0);
        assert_eq!(counting_sort(rows, |r| r.0), expected);
    }
}
