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
pub fn counting_sort<T>(mut rows: Vec<T>, key: impl Fn(&T) -> usize) -> Vec<T> {
    let Some(max) = rows.iter().map(&key).max() else {
        return rows;
    };
    // Start position of each key: the number of rows with a smaller key.
    let mut next = vec![0usize; max + 2];
    for row in &rows {
        next[key(row) + 1] += 1;
    }
    for k in 1..next.len() {
        next[k] += next[k - 1];
    }
    // Destination of each row, then the permutation applied in place by following its cycles
    // (each swap puts one row where it belongs: at most `rows.len()` swaps, no second vector of
    // rows and no reallocation).
    let mut dest: Vec<usize> = rows
        .iter()
        .map(|row| {
            let at = &mut next[key(row)];
            let d = *at;
            *at += 1;
            d
        })
        .collect();
    for i in 0..rows.len() {
        while dest[i] != i {
            let d = dest[i];
            rows.swap(i, d);
            dest.swap(i, d);
        }
    }
    rows
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
