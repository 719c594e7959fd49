//! W081 redundant-rule: a rule all of whose packets other rules of the same action match.

use super::list;
use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::{subtract_all, HBox};

pub fn check(plan: &Plan, policy: &Policy, diags: &mut Vec<Diagnostic>) {
    for (rules, what) in [(&policy.allows, "allow"), (&policy.denies, "deny")] {
        for (i, (flow, b)) in rules.iter().enumerate() {
            if what == "allow"
                && policy.denies.iter().any(|(_, d)| d.intersects(b))
                && subtract_all(vec![b.clone()], policy.denies.iter().map(|(_, d)| d)).is_empty()
            {
                continue; // reported as shadowed
            }
            // Of two identical rules, the later one is the redundant one.
            let covering: Vec<&(usize, HBox)> = rules
                .iter()
                .enumerate()
                .filter(|(j, (_, o))| *j != i && o.intersects(b) && (*j < i || o != b))
                .map(|(_, r)| r)
                .collect();
            if covering.is_empty()
                || !subtract_all(vec![b.clone()], covering.iter().map(|(_, o)| o)).is_empty()
            {
                continue;
            }
            let names: Vec<String> = covering
                .iter()
                .map(|(f, _)| plan.flows[*f].origin.file_line())
                .collect();
            let mut diag = Diagnostic::warning(
                "W081",
                format!(
                    "this {what} is redundant: {} already match all it matches",
                    list(&names)
                ),
            )
            .with_primary(plan.flows[*flow].origin.span, format!("redundant {what}"))
            .with_help("remove it, or narrow the broader rule if this one says what is meant");
            for (f, _) in covering {
                diag = diag.with_secondary(plan.flows[*f].origin.span, "covers it");
            }
            diags.push(diag);
        }
    }
}
