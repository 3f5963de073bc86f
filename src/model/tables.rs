//! Typed tables: a [`Commodity`] instead of a bare `mineral * 2 + stage` index, and
//! [`NationPair`] instead of hand-written `[a * n + b]` indexing.
//!
//! Why: a per-commodity or per-pair table indexed by hand spells its layout at every use, and a
//! swapped pair (`[b * n + a]`) or a mis-decoded commodity compiles and runs. These types spell
//! the layout once. They hold the same numbers in the same order as the vectors they replace, so
//! results are unchanged. Converted so far: the decoding of commodity indices in the observers
//! and the guard, and the FTA table of the sourcing rules; the market and investment core
//! (`src/model/systems/`) still indexes by hand (issue 13, left for when those files move).

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
    fn nation_pairs_are_ordered() {
        let mut t = NationPair::new(3, 0_u32);
        t[(NationIdx(0), NationIdx(2))] = 5;
        assert_eq!(t[(NationIdx(0), NationIdx(2))], 5);
        assert_eq!(t[(NationIdx(2), NationIdx(0))], 0);
    }
}
