//! Symbolic evaluation over the service dimension: one walk through a ruleset for a
//! (source, destination) pair gives the whole set of services it accepts, instead of one walk
//! per port cell. Matches on the protocol and ports split the walk's set of services in two
//! (what matches goes on, the rest goes to the next rule); matches on anything else are
//! decided by the pair's fixed values. The concrete evaluator (`Ruleset::accepts`) stays the
//! definition: `tests` compare both on every port of every fixture's rulesets.
//!
//! Services are `proto << 16 | port` (u32): TCP and UDP with every port, and ICMP echo
//! request as one point, `proto << 16` (proto 1 for IPv4, 58 for IPv6), the only services the
//! plan's policy speaks of.

use super::{applies, values, Expr, Field, Hook, Packet, Right, Ruleset, Verdict, VmapRef};

/// A value of a dimension whose sets are interval lists: services (u32), addresses (u128).
pub trait Point: Copy + Ord + std::hash::Hash {
    const MAX: Self;
    fn inc(self) -> Self;
    fn dec(self) -> Self;
}

impl Point for u32 {
    const MAX: u32 = u32::MAX;
    fn inc(self) -> u32 {
        self + 1
    }
    fn dec(self) -> u32 {
        self - 1
    }
}

impl Point for u128 {
    const MAX: u128 = u128::MAX;
    fn inc(self) -> u128 {
        self + 1
    }
    fn dec(self) -> u128 {
        self - 1
    }
}

/// A set of points: sorted, disjoint, inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ranges<T>(pub Vec<(T, T)>);

/// A set of services.
pub type Svc = Ranges<u32>;

impl<T: Point> Ranges<T> {
    pub fn empty() -> Ranges<T> {
        Ranges(Vec::new())
    }

    pub fn range(lo: T, hi: T) -> Ranges<T> {
        Ranges(vec![(lo, hi)])
    }

    /// From ranges in any order, overlapping or not.
    pub fn from_unsorted(mut all: Vec<(T, T)>) -> Ranges<T> {
        all.sort_unstable();
        let mut out: Vec<(T, T)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if last.1 == T::MAX || lo <= last.1.inc() => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }

    pub fn contains(&self, v: T) -> bool {
        let k = self.0.partition_point(|r| r.1 < v);
        self.0.get(k).is_some_and(|r| r.0 <= v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, o: &Ranges<T>) -> Ranges<T> {
        Ranges::from_unsorted(self.0.iter().chain(&o.0).copied().collect())
    }

    pub fn intersect(&self, o: &Ranges<T>) -> Ranges<T> {
        let (mut i, mut j, mut out) = (0, 0, Vec::new());
        while i < self.0.len() && j < o.0.len() {
            let (a, b) = (self.0[i], o.0[j]);
            let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Ranges(out)
    }

    /// The part of the set inside one range (a binary search, then a copy of that part).
    pub fn within(&self, lo: T, hi: T) -> Ranges<T> {
        let from = self.0.partition_point(|r| r.1 < lo);
        let mut out = Vec::new();
        for &(a, b) in &self.0[from..] {
            if a > hi {
                break;
            }
            out.push((a.max(lo), b.min(hi)));
        }
        Ranges(out)
    }

    pub fn subtract(&self, o: &Ranges<T>) -> Ranges<T> {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in &self.0 {
            let mut cur = lo;
            while j < o.0.len() && o.0[j].1 < cur {
                j += 1;
            }
            let mut k = j;
            let mut done = false;
            while k < o.0.len() && o.0[k].0 <= hi {
                if o.0[k].0 > cur {
                    out.push((cur, o.0[k].0.dec()));
                }
                if o.0[k].1 >= hi {
                    done = true;
                    break;
                }
                cur = o.0[k].1.inc();
                k += 1;
            }
            if !done {
                out.push((cur, hi));
            }
        }
        Ranges(out)
    }
}

impl Svc {
    /// Every service compared for a family: TCP, UDP, ICMP echo.
    pub fn universe(v4: bool) -> Svc {
        let icmp = if v4 { 1u32 } else { 58 };
        let mut r = vec![
            (6 << 16, (6 << 16) | 0xffff),
            (17 << 16, (17 << 16) | 0xffff),
            (icmp << 16, icmp << 16),
        ];
        r.sort_unstable();
        Ranges(r)
    }
}

/// The services of one protocol with ports `lo..=hi` (clamped to 0..=65535).
fn proto_ports(proto: u32, lo: u128, hi: u128) -> Svc {
    if lo > 65535 || lo > hi {
        return Svc::empty();
    }
    let hi = hi.min(65535) as u32;
    Svc::range((proto << 16) | lo as u32, (proto << 16) | hi)
}

/// The services a field's range holds, within what is compared, for packets of the pair
/// `p` (its addresses and family; the service fields are what is symbolic), or None when the
/// field is not a service field (its value is fixed by the pair).
pub(super) fn service_part(f: Field, p: &Packet, lo: u128, hi: u128) -> Option<Svc> {
    let icmp = if p.v4 { 1u32 } else { 58 };
    Some(match f {
        Field::L4proto => {
            let mut s = Svc::empty();
            for proto in [icmp, 6, 17] {
                if lo <= u128::from(proto) && u128::from(proto) <= hi {
                    s = s.union(&if proto == icmp {
                        Svc::range(proto << 16, proto << 16)
                    } else {
                        proto_ports(proto, 0, 65535)
                    });
                }
            }
            s
        }
        Field::Dport => proto_ports(6, lo, hi).union(&proto_ports(17, lo, hi)),
        Field::DportOf(q) if q == 6 || q == 17 => proto_ports(u32::from(q), lo, hi),
        Field::DportOf(_) => Svc::empty(),
        Field::IcmpType(v4) => {
            let t = if v4 { 8 } else { 128 };
            if v4 == p.v4 && lo <= t && t <= hi {
                Svc::range(icmp << 16, icmp << 16)
            } else {
                Svc::empty()
            }
        }
        Field::Sport => {
            if lo <= 40000 && 40000 <= hi {
                proto_ports(6, 0, 65535).union(&proto_ports(17, 0, 65535))
            } else {
                Svc::empty()
            }
        }
        _ => return None,
    })
}

/// The services for which the fields have values at all (a port of an ICMP packet has none:
/// a match on it, negated or not, does not match).
pub(super) fn defined(fields: &[Field], p: &Packet) -> Svc {
    let mut s = Svc::universe(p.v4);
    for &f in fields {
        if let Some(part) = service_part(f, p, 0, u128::MAX) {
            s = s.intersect(&part);
        }
    }
    s
}

/// The services of `within` for which an element (one range per field) holds the packet's
/// values; the fixed fields' values are in `fixed` (at the positions of fixed fields).
pub(super) fn element_services(
    fields: &[Field],
    elem: &[(u128, u128)],
    fixed: &[u128],
    p: &Packet,
    within: &Svc,
) -> Svc {
    if elem.len() != fields.len() {
        return Svc::empty();
    }
    let mut s = within.clone();
    for (k, (&f, &(lo, hi))) in fields.iter().zip(elem).enumerate() {
        match service_part(f, p, lo, hi) {
            Some(part) => s = s.intersect(&part),
            None => {
                if !(lo <= fixed[k] && fixed[k] <= hi) {
                    return Svc::empty();
                }
            }
        }
        if s.is_empty() {
            break;
        }
    }
    s
}

/// The fixed fields' values (service fields get a placeholder, 0), or None when a fixed field
/// has no value for the pair (an IPv6 address of an IPv4 packet).
pub(super) fn fixed_values(fields: &[Field], p: &Packet, mark: u32) -> Option<[u128; 8]> {
    let mut buf = [0u128; 8];
    if fields.len() > buf.len() {
        return None;
    }
    for (k, &f) in fields.iter().enumerate() {
        if service_part(f, p, 0, 0).is_none() {
            let mut one = [0u128; 8];
            values(&[f], p, mark, &mut one)?;
            buf[k] = one[0];
        }
    }
    Some(buf)
}

thread_local! {
    /// `walk`'s outcomes for the pair being walked (cleared for each pair): a chain entered
    /// with the same services and mark ends the same way, so chains that jump twice to the
    /// next one cost one walk each, not 2^depth.
    static WALK_MEMO: std::cell::RefCell<std::collections::HashMap<(usize, u32, Svc), Outcome>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// What a walk of a chain does with a set of services (each with the mark it carries).
#[derive(Default, Clone)]
struct Outcome {
    accepted: Vec<(Svc, u32)>,
    dropped: Svc,
    /// Fell through the chain or returned from it.
    fell: Vec<(Svc, u32)>,
}

impl Ruleset {
    /// The services a pair's packets (`p`'s family and addresses; its service is ignored)
    /// pass every base chain of `hook` with: accept in one base chain passes it on to the
    /// next, a drop anywhere is final, as in `accepts`.
    pub fn accepted_services(&self, hook: Hook, p: &Packet) -> Svc {
        self.accepted_services_with(&self.bases(hook), p)
    }

    pub(super) fn accepted_services_with(&self, bases: &[super::Base<'_>], p: &Packet) -> Svc {
        let mut alive: Vec<(Svc, u32)> = vec![(Svc::universe(p.v4), 0)];
        WALK_MEMO.with(|m| m.borrow_mut().clear());
        for &(k, chain, _, policy_drop) in bases {
            if !applies(&k.0, p.v4) {
                continue;
            }
            let mut next = Vec::new();
            for (svc, mark) in alive {
                let o = self.walk(chain, p, svc, mark, 0);
                next.extend(o.accepted);
                if !policy_drop {
                    next.extend(o.fell);
                }
            }
            alive = next;
            if alive.is_empty() {
                break;
            }
        }
        alive.iter().fold(Svc::empty(), |acc, (s, _)| acc.union(s))
    }

    fn walk(&self, chain: usize, p: &Packet, svc: Svc, mark: u32, depth: usize) -> Outcome {
        let key = (chain, mark, svc);
        if let Some(o) = WALK_MEMO.with(|m| m.borrow().get(&key).cloned()) {
            return o;
        }
        let out = self.walk_uncached(chain, p, key.2.clone(), mark, depth);
        WALK_MEMO.with(|m| m.borrow_mut().insert(key, out.clone()));
        out
    }

    fn walk_uncached(
        &self,
        chain: usize,
        p: &Packet,
        svc: Svc,
        mark: u32,
        depth: usize,
    ) -> Outcome {
        let mut out = Outcome::default();
        if depth > 64 {
            out.dropped = svc;
            return out;
        }
        // The services still walking down the chain's rules.
        let mut pending: Vec<(Svc, u32)> = vec![(svc, mark)];
        for rule in self.rules_for(chain, p) {
            if pending.is_empty() {
                break;
            }
            let mut next_rule = Vec::new();
            for (svc, mark) in std::mem::take(&mut pending) {
                self.rule(rule, 0, p, svc, mark, depth, &mut out, &mut next_rule);
            }
            pending = next_rule;
        }
        out.fell.extend(pending);
        out
    }

    /// Walk `svc` through a rule's expressions from `at`: what ends in a verdict goes into
    /// `out`, what does not match (or matches and ends without a verdict) into `next_rule`.
    #[allow(clippy::too_many_arguments)]
    fn rule(
        &self,
        rule: &[Expr],
        at: usize,
        p: &Packet,
        mut svc: Svc,
        mut mark: u32,
        depth: usize,
        out: &mut Outcome,
        next_rule: &mut Vec<(Svc, u32)>,
    ) {
        for (i, e) in rule.iter().enumerate().skip(at) {
            if svc.is_empty() {
                return;
            }
            match e {
                Expr::Match {
                    fields,
                    negate,
                    right,
                } => {
                    let Some(fixed) = fixed_values(fields, p, mark) else {
                        next_rule.push((svc, mark));
                        return;
                    };
                    let matched = self.matched_services(fields, *negate, right, &fixed, p, &svc);
                    let missed = svc.subtract(&matched);
                    if !missed.is_empty() {
                        next_rule.push((missed, mark));
                    }
                    svc = matched;
                }
                Expr::SetMark { and, or } => mark = (mark & and) | or,
                Expr::Vmap { fields, map } => {
                    let Some(fixed) = fixed_values(fields, p, mark) else {
                        next_rule.push((svc, mark));
                        return;
                    };
                    let mut rest = svc.clone();
                    let mut parts: Vec<(Svc, &Verdict)> = Vec::new();
                    match map {
                        VmapRef::At(s) => {
                            let set = &self.linked_sets[*s];
                            let mut ks = self.candidates(*s, fields, &fixed);
                            ks.sort_unstable();
                            for k in ks {
                                let part = element_services(
                                    fields,
                                    &set.elems[k],
                                    &fixed[..fields.len()],
                                    p,
                                    &rest,
                                );
                                if !part.is_empty() {
                                    rest = rest.subtract(&part);
                                    parts.push((part, &set.verdicts[k]));
                                }
                            }
                        }
                        VmapRef::Inline(items) => {
                            for (e, v) in items {
                                let part =
                                    element_services(fields, e, &fixed[..fields.len()], p, &rest);
                                if !part.is_empty() {
                                    rest = rest.subtract(&part);
                                    parts.push((part, v));
                                }
                            }
                        }
                        VmapRef::Named(_) => {}
                    }
                    if !rest.is_empty() {
                        next_rule.push((rest, mark));
                    }
                    for (part, v) in parts {
                        self.verdict_sym(v, rule, i, p, part, mark, depth, out, next_rule);
                    }
                    return;
                }
                Expr::Verdict(v) => {
                    self.verdict_sym(v, rule, i, p, svc, mark, depth, out, next_rule);
                    return;
                }
            }
        }
        // The rule's expressions ended without a verdict: on to the next rule.
        next_rule.push((svc, mark));
    }

    /// A verdict for `svc`, at expression `i` of `rule` (a jump that returns goes on with the
    /// rest of the rule, as in `run`).
    #[allow(clippy::too_many_arguments)]
    fn verdict_sym(
        &self,
        v: &Verdict,
        rule: &[Expr],
        i: usize,
        p: &Packet,
        svc: Svc,
        mark: u32,
        depth: usize,
        out: &mut Outcome,
        next_rule: &mut Vec<(Svc, u32)>,
    ) {
        match v {
            Verdict::Accept => out.accepted.push((svc, mark)),
            Verdict::Drop => out.dropped = out.dropped.union(&svc),
            Verdict::Return => out.fell.push((svc, mark)),
            // A jump to a chain the ruleset does not have: nothing happens.
            Verdict::Jump(_) | Verdict::Goto(_) => {
                self.rule(rule, i + 1, p, svc, mark, depth, out, next_rule)
            }
            Verdict::JumpAt(c) | Verdict::GotoAt(c) => {
                let o = self.walk(*c, p, svc, mark, depth + 1);
                out.accepted.extend(o.accepted);
                out.dropped = out.dropped.union(&o.dropped);
                for (s, m) in o.fell {
                    if matches!(v, Verdict::GotoAt(_)) {
                        // A goto that falls through ends the calling chain too.
                        out.fell.push((s, m));
                    } else {
                        self.rule(rule, i + 1, p, s, m, depth, out, next_rule);
                    }
                }
            }
        }
    }

    /// The services of `within` for which a match (its fields, negation and right side)
    /// holds, the fixed fields having the values `fixed`: a match that is not on services
    /// takes all of them or none. Shared by the pair walk and the relation walk.
    pub(super) fn matched_services(
        &self,
        fields: &[Field],
        negate: bool,
        right: &Right,
        fixed: &[u128; 8],
        p: &Packet,
        within: &Svc,
    ) -> Svc {
        let dom = defined(fields, p).intersect(within);
        let hit = if matches!(fields, [Field::CtState | Field::CtStatus | Field::DstType]) {
            // A bitmask: the packet's state is one of the listed ones.
            if self.elements(right).iter().any(|e| e[0].0 & fixed[0] != 0) {
                dom.clone()
            } else {
                Svc::empty()
            }
        } else {
            let held = |e: &Vec<(u128, u128)>| {
                element_services(fields, e, &fixed[..fields.len()], p, &dom)
            };
            match right {
                Right::SetAt(s) => self
                    .candidates(*s, fields, fixed)
                    .into_iter()
                    .fold(Svc::empty(), |acc, k| {
                        acc.union(&held(&self.linked_sets[*s].elems[k]))
                    }),
                _ => self
                    .elements(right)
                    .iter()
                    .fold(Svc::empty(), |acc, e| acc.union(&held(e))),
            }
        };
        if negate {
            dom.subtract(&hit)
        } else {
            hit
        }
    }

    /// The elements of set `s` that can hold the fixed values: those whose first range holds
    /// the first field's value when that field is fixed (the index by first dimension),
    /// else every element.
    fn candidates(&self, s: usize, fields: &[Field], fixed: &[u128; 8]) -> Vec<usize> {
        let set = &self.linked_sets[s];
        let first_fixed = fields
            .first()
            .is_some_and(|&f| service_part(f, &DUMMY, 0, 0).is_none());
        if !first_fixed {
            return (0..set.elems.len()).collect();
        }
        let v = fixed[0];
        let end = set.by_first.partition_point(|&i| set.elems[i][0].0 <= v);
        let mut out = Vec::new();
        for k in (0..end).rev() {
            if set.max_end[k] < v {
                break;
            }
            let i = set.by_first[k];
            if set.elems[i][0].1 >= v {
                out.push(i);
            }
        }
        out
    }
}

/// A packet whose only use is to ask whether a field is a service field (which does not
/// depend on the packet).
const DUMMY: Packet = Packet {
    v4: true,
    src: 0,
    dst: 0,
    proto: 6,
    dport: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(r: &[(u32, u32)]) -> Svc {
        Ranges(r.to_vec())
    }

    #[test]
    fn interval_algebra() {
        let a = svc(&[(1, 5), (10, 20)]);
        let b = svc(&[(3, 12), (18, 30)]);
        assert_eq!(a.intersect(&b), svc(&[(3, 5), (10, 12), (18, 20)]));
        assert_eq!(a.subtract(&b), svc(&[(1, 2), (13, 17)]));
        assert_eq!(b.subtract(&a), svc(&[(6, 9), (21, 30)]));
        assert_eq!(a.union(&b), svc(&[(1, 30)]));
        assert_eq!(a.subtract(&a), Svc::empty());
        assert_eq!(
            svc(&[(0, u32::MAX)]).subtract(&svc(&[(5, 5)])),
            svc(&[(0, 4), (6, u32::MAX)])
        );
    }
}
