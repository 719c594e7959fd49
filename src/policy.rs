//! The meaning of a plan's flows, exactly: a packet is permitted when some `allow` matches it
//! and no `deny` does. Rule order never matters. Every enforcement point (a host's firewall,
//! a router) applies this same predicate to the packets it sees.

use crate::ir::{Action, Plan};
use crate::space::{subtract_all, HBox};

#[derive(Debug, Clone)]
pub struct Policy {
    /// (flow index, its header box), in plan order.
    pub allows: Vec<(usize, HBox)>,
    pub denies: Vec<(usize, HBox)>,
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
        let mut allows = Vec::new();
        let mut denies = Vec::new();
        for (i, flow) in plan.flows.iter().enumerate() {
            let b = plan.flow_box(flow);
            if b.is_empty() {
                continue;
            }
            match flow.action {
                Action::Allow => allows.push((i, b)),
                Action::Deny => denies.push((i, b)),
            }
        }
        Policy { allows, denies }
    }

    /// The per-packet definition, used as the reference by tests.
    pub fn permits(&self, src: u128, dst: u128, svc: u128) -> bool {
        self.allows.iter().any(|(_, b)| b.contains(src, dst, svc))
            && !self.denies.iter().any(|(_, b)| b.contains(src, dst, svc))
    }

    pub fn evaluate(&self, query: &HBox) -> Evaluation {
        let mut eval = Evaluation::default();
        let mut matched: Vec<HBox> = Vec::new();
        for (flow, allow) in &self.allows {
            let part = allow.intersect(query);
            if part.is_empty() {
                continue;
            }
            // The part of this rule not already attributed to an earlier allow.
            let fresh = subtract_all(vec![part.clone()], matched.iter());
            matched.push(part);
            for piece in fresh {
                let mut rest = vec![piece];
                for (deny_flow, deny) in &self.denies {
                    let mut kept = Vec::new();
                    for r in rest {
                        if r.intersects(deny) {
                            eval.denied.push((r.intersect(deny), *deny_flow));
                            kept.extend(r.minus(deny));
                        } else {
                            kept.push(r);
                        }
                    }
                    rest = kept;
                }
                eval.permitted.extend(rest.into_iter().map(|r| (r, *flow)));
            }
        }
        eval.unmatched = subtract_all(vec![query.clone()], matched.iter());
        eval
    }
}
