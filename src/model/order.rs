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

/// Rows with a unique dense key (asset indices), in ascending key order: each row is placed
/// straight into the slot of its key (one pass, no counting), so the order is the one a sort by
/// the key gives. `capacity` is the expected number of keys (slots grow past it if needed).
///
/// # Panics
/// If two rows share a key (asset indices are unique by construction).
pub fn by_unique_key<T>(
    rows: impl IntoIterator<Item = T>,
    capacity: usize,
    key: impl Fn(&T) -> usize,
) -> Vec<T> {
    into_slots(rows, capacity, key)
}

/// Each row placed into slot `slot(row)` (slots grow past `capacity` if needed), then the filled
/// slots in order: the one placement shared by [`by_unique_key`] and [`AssetOrder::arrange`].
///
/// # Panics
/// If two rows share a slot.
fn into_slots<T>(
    rows: impl IntoIterator<Item = T>,
    capacity: usize,
    slot: impl Fn(&T) -> usize,
) -> Vec<T> {
    let mut slots: Vec<Option<T>> = Vec::with_capacity(capacity);
    slots.resize_with(capacity, || None);
    let mut filled = 0;
    for row in rows {
        let k = slot(&row);
        if k >= slots.len() {
            slots.resize_with(k + 1, || None);
        }
        let place = &mut slots[k];
        assert!(
            place.is_none(),
            "one row per slot (unique keys, one row per asset)"
        );
        *place = Some(row);
        filled += 1;
    }
    // Allocated once at its final size: collecting a `flatten` grows the vector by doubling
    // (its length is unknown up front), a `realloc` and copy of every row each time.
    let mut out = Vec::with_capacity(filled);
    out.extend(slots.into_iter().flatten());
    out
}

/// Asset entities added, or whose site changed, since the reading system last ran: with
/// `RemovedComponents<AssetIdx>`, what tells an [`AssetOrder`] to rebuild.
pub type AssetsMoved<'w, 's> = bevy_ecs::prelude::Query<
    'w,
    's,
    (),
    (
        bevy_ecs::prelude::With<crate::model::components::AssetIdx>,
        bevy_ecs::prelude::Or<(
            bevy_ecs::prelude::Added<crate::model::components::AssetIdx>,
            bevy_ecs::prelude::Changed<crate::model::components::Site>,
        )>,
    ),
>;

/// The order in which the market systems read assets: grouped by commodity (ascending), in asset
/// index order within each commodity, the order of a stable sort by index and then by
/// commodity. Assets never change site, so the order is built once and rebuilt only when assets
/// are added or removed or a site changes ([`AssetOrder::refresh`]).
#[derive(Debug, Default)]
pub struct AssetOrder {
    /// Position of each asset index in the grouped order (`usize::MAX`: no such asset).
    position: Vec<usize>,
    /// Start of each commodity's range of positions; one more entry than commodities.
    start: Vec<usize>,
    /// Whether the order has been built.
    built: bool,
}

impl AssetOrder {
    /// Rebuild from every asset's (index, commodity) when `changed` or never built.
    pub fn refresh(&mut self, changed: bool, assets: impl Iterator<Item = (usize, usize)>) {
        if self.built && !changed {
            return;
        }
        let rows: Vec<(usize, usize)> = by_unique_key(assets, self.position.len(), |r| r.0);
        let rows = counting_sort(rows, |r| r.1);
        let n_idx = rows.iter().map(|r| r.0 + 1).max().unwrap_or(0);
        let n_c = rows.iter().map(|r| r.1 + 1).max().unwrap_or(0);
        self.position = vec![usize::MAX; n_idx];
        self.start = vec![0; n_c + 1];
        for (p, &(idx, c)) in rows.iter().enumerate() {
            self.position[idx] = p;
            self.start[c + 1] = p + 1;
        }
        for c in 1..self.start.len() {
            self.start[c] = self.start[c].max(self.start[c - 1]);
        }
        self.built = true;
    }

    /// `rows` (one per asset, `idx` its asset index) in the grouped order.
    ///
    /// # Panics
    /// If a row's asset is not in the order, two rows share an asset, or an asset has no row.
    pub fn arrange<T>(
        &self,
        rows: impl IntoIterator<Item = T>,
        idx: impl Fn(&T) -> usize,
    ) -> Vec<T> {
        let rows = into_slots(rows, self.position.len(), |r| self.position[idx(r)]);
        assert_eq!(
            rows.len(),
            self.len(),
            "one row for every asset of the order"
        );
        rows
    }

    /// Number of assets in the order.
    pub fn len(&self) -> usize {
        self.start.last().copied().unwrap_or(0)
    }

    /// The range of positions of commodity `c` in rows arranged by [`AssetOrder::arrange`] with
    /// one row for every asset.
    pub fn range(&self, c: usize) -> std::ops::Range<usize> {
        match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => {
                let end = self.start.last().copied().unwrap_or(0);
                end..end
            }
        }
    }
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
        let rows = vec![(5, 'a'), (0, 'b'), (3, 'c'), (1, 'd')];
        let mut expected = rows.clone();
        expected.sort_by_key(|r| r.0);
        assert_eq!(by_unique_key(rows.clone(), 2, |r| r.0), expected);
        assert_eq!(by_unique_key(rows, 9, |r| r.0), expected);
    }

    #[test]
    fn the_asset_order_groups_by_commodity_in_index_order() {
        // (asset index, commodity) in a scrambled input order.
        let assets = [(4, 1), (0, 3), (2, 1), (1, 0), (3, 3), (5, 0)];
        let mut order = AssetOrder::default();
        order.refresh(false, assets.iter().copied());
        let arranged = order.arrange(assets.iter().copied(), |r| r.0);
        let mut expected = assets.to_vec();
        expected.sort_by_key(|r| (r.1, r.0));
        assert_eq!(arranged, expected);
        assert_eq!(order.range(0), 0..2);
        assert_eq!(order.range(1), 2..4);
        assert_eq!(order.range(2), 4..4);
        assert_eq!(order.range(3), 4..6);
        assert_eq!(order.range(7), 6..6);
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
