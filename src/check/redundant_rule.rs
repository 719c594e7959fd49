//! W081 redundant-rule: a rule all of whose packets other rules of the same action match.

use super::list;
use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::{HBox, Set};
use rustc_hash::FxHashMap as HashMap;

/// `useless`: the denies that remove nothing (W087, not also redundant).
pub fn check(plan: &Plan, policy: &Policy, useless: &[usize], diags: &mut Vec<Diagnostic>) {
    for (rules, what) in [(&policy.allows, "allow"), (&policy.denies, "deny")] {
        let boxes: HashMap<usize, &HBox> = rules.iter().map(|(f, b)| (*f, b)).collect();
        for (flow, b) in rules.iter() {
            let flow = *flow;
            if what == "allow" && super::shadowed_rule::shadowing(policy, flow, &b.svc).is_some() {
                continue; // reported as shadowed
            }
            if what == "deny" && useless.contains(&flow) {
                continue;
            }
            let pairs = &policy.flow_pairs[flow];
            let mut covering: Vec<usize> = Vec::new();
            let mut redundant = !pairs.is_empty();
            for p in pairs {
                let side = if what == "allow" {
                    &policy.pairs[p].allows
                } else {
                    &policy.pairs[p].denies
                };
                // Of two identical rules, the later one is the redundant one.
                let others: Vec<&(usize, std::sync::Arc<Set>)> = side
                    .iter()
                    .filter(|(g, s)| {
                        *g != flow
                            && s.intersects(&b.svc)
                            && (*g < flow || boxes.get(g) != Some(&b))
                    })
                    .collect();
                let union = others.iter().fold(Set::empty(), |acc, (_, s)| acc.union(s));
                if !b.svc.is_subset(&union) {
                    redundant = false;
                    break;
                }
                covering.extend(others.iter().map(|(g, _)| *g));
            }
            if !redundant {
                continue;
            }
            covering.sort_unstable();
            covering.dedup();
            let names: Vec<String> = covering
                .iter()
                .map(|f| plan.flows[*f].origin.file_line())
                .collect();
            let mut diag = Diagnostic::new(
                &crate::codes::W081,
                format!(
                    "this {what} is redundant: {} already {} every packet it {}",
                    list(&names),
                    if names.len() == 1 { "matches" } else { "match" },
                    if what == "deny" { "denies" } else { "allows" }
                ),
            )
            .with_primary(plan.flows[flow].origin.span, format!("redundant {what}"))
            .with_help("remove it, or narrow the broader rule if this one says what is meant");
            for f in covering {
                diag = diag.with_secondary(plan.flows[f].origin.span, "covers it");
            }
            diags.push(diag);
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W081: crate::codes::Code = crate::codes::code!("W081", "redundant-rule", Warning, "a rule whose removal changes nothing",
        "What it does: reports a rule whose packets are all matched by other rules of the same\n\
         action, naming them.\n\
         Why: redundant rules make the plan longer to review and drift apart over time.\n\
         Example:\n    allow processing -> catalog : any\n    allow processing -> catalog : postgres   # already allowed");
