//! Address atoms: the coarsest partition of the address space such that every endpoint set
//! used by the plan's rules is a union of atoms. Rules become lists of (source atom,
//! destination atom) pairs, which makes the policy exact and fast at any size: tiers are
//! usually disjoint, so a plan of 100,000 flows has about one pair per flow.

use crate::space::{Key, Set};
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug, Clone)]
pub struct Atoms {
    /// Start of each elementary interval, sorted; interval i is `[starts[i], starts[i+1])`.
    starts: Vec<Key>,
    /// The atom of each elementary interval.
    atom_of: Vec<u32>,
    /// Each atom's addresses.
    sets: Vec<Set>,
}

impl Atoms {
    /// Atoms of the given sets (atom 0 is what none of them covers).
    pub fn new(sets: &[&Set]) -> Atoms {
        // Boundary events: where some set starts or stops covering.
        let mut events: Vec<(Key, bool, u32)> = Vec::new();
        for (i, s) in sets.iter().enumerate() {
            for &(lo, hi) in s.ranges() {
                events.push((lo, true, i as u32));
                if hi < Key::MAX {
                    events.push((hi.succ(), false, i as u32));
                }
            }
        }
        events.sort_unstable();
        let mut starts = vec![Key::MIN];
        let mut signatures: Vec<Vec<u32>> = vec![Vec::new()];
        let mut active: Vec<u32> = Vec::new();
        let mut k = 0;
        while k < events.len() {
            let at = events[k].0;
            while k < events.len() && events[k].0 == at {
                let (_, open, set) = events[k];
                if open {
                    active.push(set);
                } else if let Some(p) = active.iter().position(|&x| x == set) {
                    active.swap_remove(p);
                }
                k += 1;
            }
            let mut sig = active.clone();
            sig.sort_unstable();
            if *starts.last().expect("non-empty") == at {
                *signatures.last_mut().expect("non-empty") = sig;
            } else {
                starts.push(at);
                signatures.push(sig);
            }
        }
        let mut ids: HashMap<Vec<u32>, u32> = HashMap::default();
        ids.insert(Vec::new(), 0);
        let mut ranges: Vec<Vec<(Key, Key)>> = vec![Vec::new()];
        let mut atom_of = Vec::with_capacity(starts.len());
        for (i, sig) in signatures.into_iter().enumerate() {
            let next = ids.len() as u32;
            let id = *ids.entry(sig).or_insert(next);
            if id as usize == ranges.len() {
                ranges.push(Vec::new());
            }
            let hi = starts.get(i + 1).map_or(Key::MAX, |s| s.pred());
            ranges[id as usize].push((starts[i], hi));
            atom_of.push(id);
        }
        Atoms {
            starts,
            atom_of,
            sets: ranges.into_iter().map(Set::from_ranges).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    pub fn set(&self, atom: u32) -> &Set {
        &self.sets[atom as usize]
    }

    /// The atoms a set touches, each with the part of the set inside it, in atom order.
    pub fn split(&self, set: &Set) -> Vec<(u32, Set)> {
        let mut parts: HashMap<u32, Vec<(Key, Key)>> = HashMap::default();
        for &(lo, hi) in set.ranges() {
            let mut i = self.starts.partition_point(|&s| s <= lo) - 1;
            loop {
                let (ilo, ihi) = (
                    self.starts[i],
                    self.starts.get(i + 1).map_or(Key::MAX, |s| s.pred()),
                );
                let (a, b) = (lo.max(ilo), hi.min(ihi));
                if a <= b {
                    parts.entry(self.atom_of[i]).or_default().push((a, b));
                }
                if ihi >= hi || i + 1 >= self.starts.len() {
                    break;
                }
                i += 1;
            }
        }
        let mut out: Vec<(u32, Set)> = parts
            .into_iter()
            .map(|(a, r)| (a, Set::from_ranges(r)))
            .collect();
        out.sort_by_key(|(a, _)| *a);
        out
    }

    /// The atoms a set covers (the set must be a union of atoms, as rule endpoints are).
    pub fn atoms_of(&self, set: &Set) -> Vec<u32> {
        self.split(set)
            .into_iter()
            .map(|(a, _)| a)
            .filter(|&a| a != 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_partition_overlapping_sets() {
        let a = Set::range(0u128, 9u128);
        let b = Set::range(5u128, 14u128);
        let atoms = Atoms::new(&[&a, &b]);
        // none, a only, a and b, b only
        assert_eq!(atoms.len(), 4);
        let of_a = atoms.atoms_of(&a);
        let of_b = atoms.atoms_of(&b);
        assert_eq!(of_a.len(), 2);
        assert_eq!(of_b.len(), 2);
        let shared: Vec<u32> = of_a.iter().filter(|x| of_b.contains(x)).copied().collect();
        assert_eq!(atoms.set(shared[0]), &Set::range(5u128, 9u128));
        let parts = atoms.split(&Set::range(3u128, 20u128));
        let total = parts.iter().fold(Set::empty(), |acc, (_, s)| acc.union(s));
        assert_eq!(total, Set::range(3u128, 20u128));
    }
}
