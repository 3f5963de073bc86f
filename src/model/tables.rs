//! Typed tables: a [`Commodity`] instead of a bare `mineral * 2 + stage` index, and
//! [`NationPair`] instead of hand-written `[a * n + b]` indexing.
//!
//! Why: a per-commodity or per-pair table indexed by hand spells its layout at every use, and a
//! swapped pair (`[b * n + a]`) or a mis-decoded commodity compiles and runs. These types spell
//! the layout once. They hold the same numbers in the same order as the vectors they replace, so
//! results are unchanged. [`PerCommodityNation`] and [`PerMineralNation`] ([`ByNation`]) replace
//! `[commodity * n + nation]` and `[mineral * n + nation]`. Converted so far: the decoding of
//! commodity indices in the observers and the guard, the FTA tables (scenario and agreements) and
//! transport costs of the registry, the production and idle-capacity observers, domestic
//! processing (politics) and ore presence (capacity). Still indexed by hand: the market and
//! investment core (`src/model/systems/{trade,equilibrium,contracts,investment}.rs`, rewritten
//! elsewhere), the registry's affinity (an investment test builds it), route links
//! (`equilibrium::Links`), the market observer's control mix and the resources other systems
//! read (`LearningCurves`, restart costs).

use std::ops::{Index, IndexMut};

use super::components::{MineralIdx, NationIdx, Stage};

/// A commodity: one mineral at one stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commodity {
    /// Mineral.
    pub mineral: MineralIdx,
    /// Stage.
    pub stage: Stage,
}

impl Commodity {
    /// Dense index in per-commodity tables: `mineral * 2 + stage` (the one place the layout is
    /// spelled; [`super::resources::commodity`] calls it).
    pub fn index(self) -> usize {
        usize::from(self.mineral.0) * 2 + usize::from(self.stage == Stage::Refined)
    }

    /// The commodity at a dense index (the inverse of [`Commodity::index`]).
    pub fn of_index(c: usize) -> Commodity {
        Commodity {
            mineral: MineralIdx(u16::try_from(c / 2).unwrap_or(u16::MAX)),
            stage: if c.is_multiple_of(2) {
                Stage::Ore
            } else {
                Stage::Refined
            },
        }
    }
}

/// A value for every ordered pair of nations (`from`, `to`), row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NationPair<T> {
    values: Vec<T>,
    n: usize,
}

impl<T: Clone> NationPair<T> {
    /// `n` × `n` copies of `fill`.
    pub fn new(n: usize, fill: T) -> Self {
        NationPair {
            values: vec![fill; n * n],
            n,
        }
    }
}

impl<T> NationPair<T> {
    fn at(&self, (a, b): (NationIdx, NationIdx)) -> usize {
        usize::from(a.0) * self.n + usize::from(b.0)
    }
}

impl<T> Index<(NationIdx, NationIdx)> for NationPair<T> {
    type Output = T;

    fn index(&self, pair: (NationIdx, NationIdx)) -> &T {
        &self.values[self.at(pair)]
    }
}

impl<T> IndexMut<(NationIdx, NationIdx)> for NationPair<T> {
    fn index_mut(&mut self, pair: (NationIdx, NationIdx)) -> &mut T {
        let i = self.at(pair);
        &mut self.values[i]
    }
}

/// A dense table with one row per `R` and one column per nation, row-major: what a hand-written
/// `[row * n + nation]` spelled. [`PerCommodityNation`] and [`PerMineralNation`] name the rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ByNation<R, T> {
    values: Vec<T>,
    n: usize,
    rows: std::marker::PhantomData<R>,
}

/// A row key of a [`ByNation`] table: its dense index.
pub trait RowKey: Copy {
    /// Dense row index.
    fn row(self) -> usize;
}

impl RowKey for Commodity {
    fn row(self) -> usize {
        self.index()
    }
}

impl RowKey for MineralIdx {
    fn row(self) -> usize {
        usize::from(self.0)
    }
}

/// A value for every (commodity, nation), commodity-major (`[commodity * n + nation]`).
pub type PerCommodityNation<T> = ByNation<Commodity, T>;

/// A value for every (mineral, nation), mineral-major (`[mineral * n + nation]`).
pub type PerMineralNation<T> = ByNation<MineralIdx, T>;

impl<R, T: Clone> ByNation<R, T> {
    /// `rows` × `n` copies of `fill`.
    pub fn new(rows: usize, n: usize, fill: T) -> Self {
        ByNation {
            values: vec![fill; rows * n],
            n,
            rows: std::marker::PhantomData,
        }
    }
}

impl<R: RowKey, T> ByNation<R, T> {
    /// The values of one row, by nation index.
    pub fn row(&self, r: R) -> &[T] {
        let start = r.row() * self.n;
        &self.values[start..start + self.n]
    }

    fn at(&self, r: R, nation: NationIdx) -> usize {
        r.row() * self.n + usize::from(nation.0)
    }
}

impl<R: RowKey, T> Index<(R, NationIdx)> for ByNation<R, T> {
    type Output = T;

    fn index(&self, (r, nation): (R, NationIdx)) -> &T {
        &self.values[self.at(r, nation)]
    }
}

impl<R: RowKey, T> IndexMut<(R, NationIdx)> for ByNation<R, T> {
    fn index_mut(&mut self, (r, nation): (R, NationIdx)) -> &mut T {
        let i = self.at(r, nation);
        &mut self.values[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commodity_index_round_trips() {
        for c in 0..12 {
            assert_eq!(Commodity::of_index(c).index(), c);
        }
        let refined = Commodity {
            mineral: MineralIdx(3),
            stage: Stage::Refined,
        };
        assert_eq!(refined.index(), 7);
        assert_eq!(Commodity::of_index(7), refined);
    }

    #[test]
    fn by_nation_tables_are_row_major() {
        let mut t = PerCommodityNation::new(4, 3, 0_u32);
        let refined = Commodity::of_index(3);
        t[(refined, NationIdx(2))] = 7;
        assert_eq!(t.row(refined), &[0, 0, 7]);
        assert_eq!(t.values[3 * 3 + 2], 7);
        let mut m = PerMineralNation::new(2, 3, false);
        m[(MineralIdx(1), NationIdx(0))] = true;
        assert!(m.values[3] && m.values.iter().filter(|v| **v).count() == 1);
    }

    #[test]
    fn nation_pairs_are_ordered() {
        let mut t = NationPair::new(3, 0_u32);
        t[(NationIdx(0), NationIdx(2))] = 5;
        assert_eq!(t[(NationIdx(0), NationIdx(2))], 5);
        assert_eq!(t[(NationIdx(2), NationIdx(0))], 0);
    }
}
