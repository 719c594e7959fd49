//! The meaning of a plan's flows, exactly: a packet is permitted when some `allow` matches it
//! and no `deny` does. Rule order never matters. Every enforcement point (a host's firewall,
//! a router) applies this same predicate to the packets it sees.
//!
//! Rules are stored per (source atom, destination atom) pair (see `atoms`), each with its
//! service set; evaluating a box of packets only looks at the pairs the box touches.

use crate::atoms::Atoms;
use crate::ir::{Action, Plan};
use crate::space::{HBox, Set};
use rustc_hash::FxHashMap as HashMap;

/// Service sets, each with the rule it comes from.
pub type Pieces = Vec<(Set, usize)>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairRules {
    /// (flow index, services), in plan order. The services are the flow's, shared by every
    /// pair the flow covers (a flow between two 100-tier lists covers 10,000 pairs).
    pub allows: Vec<(usize, std::sync::Arc<Set>)>,
    pub denies: Vec<(usize, std::sync::Arc<Set>)>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub atoms: Atoms,
    pub pairs: HashMap<(u32, u32), PairRules>,
    /// Every non-empty rule: (flow index, its header box), in plan order.
    pub allows: Vec<(usize, HBox)>,
    pub denies: Vec<(usize, HBox)>,
    /// For each flow, the pairs it covers.
    pub flow_pairs: Vec<Vec<(u32, u32)>>,
    /// For each flow, its header box.
    pub flow_boxes: Vec<HBox>,
    /// For each destination atom, the flows that reach into it.
    dst_flows: HashMap<u32, Vec<usize>>,
    /// For each source atom, the flows that come from it.
    src_flows: HashMap<u32, Vec<usize>>,
}

/// What the policy says about a box of packets, attributed to rules.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Disjoint pieces permitted, each with the first allow rule that matches it.
    pub permitted: Vec<(HBox, usize)>,
    /// Disjoint pieces some allow matches but a deny removes, with the first such deny.
    pub denied: Vec<(HBox, usize)>,
    /// Pieces no allow matches (default deny).
    pub unmatched: Vec<HBox>,
}

impl Evaluation {
    pub fn is_fully_permitted(&self) -> bool {
        self.denied.is_empty() && self.unmatched.is_empty()
    }
}

impl Policy {
    pub fn new(plan: &Plan) -> Policy {
        let boxes: Vec<HBox> = plan.flows.iter().map(|f| plan.flow_box(f)).collect();
        // Atoms of every distinct endpoint set.
        let mut distinct: Vec<&Set> = boxes.iter().flat_map(|b| [&b.src, &b.dst]).collect();
        distinct.sort();
        distinct.dedup();
        let atoms = Atoms::new(&distinct);
        let mut memo: HashMap<&Set, Vec<u32>> = HashMap::default();
        let mut pairs: HashMap<(u32, u32), PairRules> = HashMap::default();
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        let mut flow_pairs = vec![Vec::new(); plan.flows.len()];
        let mut dst_flows: HashMap<u32, Vec<usize>> = HashMap::default();
        let mut src_flows: HashMap<u32, Vec<usize>> = HashMap::default();
        for (i, (flow, b)) in plan.flows.iter().zip(&boxes).enumerate() {
            if b.is_empty() {
                continue;
            }
            let src = memo
                .entry(&b.src)
                .or_insert_with(|| atoms.atoms_of(&b.src))
                .clone();
            let dst = memo
                .entry(&b.dst)
                .or_insert_with(|| atoms.atoms_of(&b.dst))
                .clone();
            let svc = std::sync::Arc::new(b.svc.clone());
            for &s in &src {
                for &d in &dst {
                    let entry = pairs.entry((s, d)).or_default();
                    match flow.action {
                        Action::Allow => entry.allows.push((i, svc.clone())),
                        Action::Deny => entry.denies.push((i, svc.clone())),
                    }
                    flow_pairs[i].push((s, d));
                }
            }
            for (index, atoms) in [(&mut dst_flows, &dst), (&mut src_flows, &src)] {
                for &a in atoms {
                    let list = index.entry(a).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
            match flow.action {
                Action::Allow => allows.push((i, b.clone())),
                Action::Deny => denies.push((i, b.clone())),
            }
        }
        Policy {
            atoms,
            pairs,
            allows,
            denies,
            flow_pairs,
            flow_boxes: boxes,
            dst_flows,
            src_flows,
        }
    }

    /// The per-packet definition, used as the reference by tests.
    pub fn permits(
        &self,
        src: crate::space::Key,
        dst: crate::space::Key,
        svc: crate::space::Key,
    ) -> bool {
        self.allows.iter().any(|(_, b)| b.contains(src, dst, svc))
            && !self.denies.iter().any(|(_, b)| b.contains(src, dst, svc))
    }

    /// What the rules of one atom pair say about services `svc`, as (services, rule) pieces.
    pub fn evaluate_pair(rules: &PairRules, svc: &Set) -> (Pieces, Pieces, Set) {
        let deny_all = rules
            .denies
            .iter()
            .fold(Set::empty(), |acc, (_, s)| acc.union(s));
        let mut covered = Set::empty();
        let mut permitted = Vec::new();
        for (flow, s) in &rules.allows {
            let fresh = s.intersect(svc).difference(&covered);
            if fresh.is_empty() {
                continue;
            }
            covered = covered.union(&fresh);
            let ok = fresh.difference(&deny_all);
            if !ok.is_empty() {
                permitted.push((ok, *flow));
            }
        }
        let mut denied = Vec::new();
        let mut taken = Set::empty();
        for (flow, s) in &rules.denies {
            let d = covered.intersect(s).difference(&taken);
            if !d.is_empty() {
                taken = taken.union(&d);
                denied.push((d, *flow));
            }
        }
        (permitted, denied, svc.difference(&covered))
    }

    pub fn evaluate(&self, query: &HBox) -> Evaluation {
        let mut eval = Evaluation::default();
        if query.is_empty() {
            return eval;
        }
        let empty = PairRules::default();
        for (sa, src) in self.atoms.split(&query.src) {
            for (da, dst) in self.atoms.split(&query.dst) {
                let rules = self.pairs.get(&(sa, da)).unwrap_or(&empty);
                let (permitted, denied, unmatched) = Policy::evaluate_pair(rules, &query.svc);
                let piece = |svc: Set| HBox {
                    src: src.clone(),
                    dst: dst.clone(),
                    svc,
                };
                eval.permitted
                    .extend(permitted.into_iter().map(|(s, f)| (piece(s), f)));
                eval.denied
                    .extend(denied.into_iter().map(|(s, f)| (piece(s), f)));
                if !unmatched.is_empty() {
                    eval.unmatched.push(piece(unmatched));
                }
            }
        }
        eval
    }

    /// Flows whose destination includes part of `dst`, in plan order.
    pub fn flows_to(&self, dst: &Set) -> Vec<usize> {
        Self::flows_in(&self.atoms, &self.dst_flows, dst)
    }

    /// For each destination atom, the source atoms it has rules with (in no order).
    pub fn sources_by_destination(&self) -> HashMap<u32, Vec<u32>> {
        let mut out: HashMap<u32, Vec<u32>> = HashMap::default();
        for &(sa, da) in self.pairs.keys() {
            out.entry(da).or_default().push(sa);
        }
        out
    }

    /// The source atoms that have rules with destination atom `da`, in atom order.
    pub fn sources_of(&self, da: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .flows_to(self.atoms.set(da))
            .into_iter()
            .flat_map(|f| self.flow_pairs[f].iter())
            .filter(|(_, d)| *d == da)
            .map(|(s, _)| *s)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The flows whose sources overlap `src`, in plan order.
    pub fn flows_from(&self, src: &Set) -> Vec<usize> {
        Self::flows_in(&self.atoms, &self.src_flows, src)
    }

    fn flows_in(atoms: &Atoms, index: &HashMap<u32, Vec<usize>>, set: &Set) -> Vec<usize> {
        let mut flows: Vec<usize> = atoms
            .split(set)
            .into_iter()
            .flat_map(|(a, _)| index.get(&a).into_iter().flatten().copied())
            .collect();
        flows.sort_unstable();
        flows.dedup();
        flows
    }
}
