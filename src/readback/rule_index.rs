//! Rules of a chain found by the address they start by matching: a fail2ban-style chain of
//! one rule per address (`ip saddr 198.51.100.7 drop`, 16,000 of them) is walked, for one
//! packet, through the rules that can match it, not all of them. A rule whose first match
//! is on the source or destination address alone, not negated, cannot match a packet whose
//! address lies outside its values: skipping it is the same as walking it.

use super::{Expr, Field, Packet, Right};

/// Below this many rules a chain is walked whole.
const MIN_RULES: usize = 64;

#[derive(Debug, Default, Clone)]
pub(super) struct RuleIndex {
    /// Rules that do not start with an address match: always visited.
    always: Vec<u32>,
    /// For (source?, IPv4?): segment starts (sorted) and the rules whose values cover each
    /// segment.
    by: [Segments; 4],
}

#[derive(Debug, Default, Clone)]
struct Segments {
    starts: Vec<u128>,
    rules: Vec<Vec<u32>>,
}

fn slot(src: bool, v4: bool) -> usize {
    usize::from(src) * 2 + usize::from(v4)
}

/// What a rule starts by matching: the source (or destination) address, of one family or
/// both, within these ranges.
type Guard = (bool, Option<bool>, Vec<(u128, u128)>);

/// The address ranges a rule starts by matching, with the slots they apply to.
fn guard(rule: &[Expr]) -> Option<Guard> {
    let Some(Expr::Match {
        fields,
        negate: false,
        right: Right::Values(values),
    }) = rule.first()
    else {
        return None;
    };
    let (src, fam) = match fields.as_slice() {
        [Field::Saddr(f)] => (true, *f),
        [Field::Daddr(f)] => (false, *f),
        _ => return None,
    };
    let mut ranges = Vec::with_capacity(values.len());
    for v in values {
        match v.as_slice() {
            [r] => ranges.push(*r),
            _ => return None,
        }
    }
    Some((src, fam, ranges))
}

impl RuleIndex {
    /// The index of a chain's rules, or `None` when the chain is short, or its rules do not
    /// start by matching addresses, or their values overlap so much that the index would be
    /// large.
    pub(super) fn build(rules: &[Vec<Expr>]) -> Option<RuleIndex> {
        if rules.len() < MIN_RULES {
            return None;
        }
        let mut ix = RuleIndex::default();
        let mut pieces: [Vec<(u128, u128, u32)>; 4] = Default::default();
        for (i, r) in rules.iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            match guard(r) {
                None => ix.always.push(i),
                Some((src, fam, ranges)) => {
                    for v4 in [true, false] {
                        if fam.is_none_or(|f| f == v4) {
                            for &(lo, hi) in &ranges {
                                pieces[slot(src, v4)].push((lo, hi, i));
                            }
                        }
                    }
                }
            }
        }
        if ix.always.len() * 2 > rules.len() {
            return None;
        }
        let budget = 4 * rules.len() + 4096;
        let mut used = 0usize;
        for (k, p) in pieces.iter().enumerate() {
            let mut starts: Vec<u128> = p
                .iter()
                .flat_map(|&(lo, hi, _)| [Some(lo), hi.checked_add(1)])
                .flatten()
                .collect();
            starts.sort_unstable();
            starts.dedup();
            let mut lists: Vec<Vec<u32>> = vec![Vec::new(); starts.len()];
            for &(lo, hi, rule) in p {
                let first = starts.partition_point(|&s| s < lo);
                let end = hi
                    .checked_add(1)
                    .map_or(starts.len(), |e| starts.partition_point(|&s| s < e));
                used += end - first;
                if used > budget {
                    return None;
                }
                for l in &mut lists[first..end] {
                    l.push(rule);
                }
            }
            ix.by[k] = Segments {
                starts,
                rules: lists,
            };
        }
        Some(ix)
    }

    /// The rules (indexes, in order) that can match packet `p`.
    pub(super) fn candidates(&self, p: &Packet) -> Vec<usize> {
        let mut out: Vec<usize> = self.always.iter().map(|&i| i as usize).collect();
        for (src, value) in [(true, p.src), (false, p.dst)] {
            let seg = &self.by[slot(src, p.v4)];
            let at = seg.starts.partition_point(|&s| s <= value);
            if at > 0 {
                out.extend(seg.rules[at - 1].iter().map(|&i| i as usize));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
