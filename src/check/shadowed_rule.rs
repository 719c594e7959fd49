//! W080 shadowed-rule: an allow that deny rules cancel completely.

use super::list;
use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::Set;

/// The deny rules that cancel flow `f` entirely, if they do.
pub fn shadowing(policy: &Policy, f: usize, svc: &Set) -> Option<Vec<usize>> {
    let pairs = &policy.flow_pairs[f];
    if pairs.is_empty() {
        return None;
    }
    let mut by = Vec::new();
    for p in pairs {
        let rules = &policy.pairs[p];
        let denied = rules
            .denies
            .iter()
            .fold(Set::empty(), |acc, (_, s)| acc.union(s));
        if !svc.is_subset(&denied) {
            return None;
        }
        by.extend(
            rules
                .denies
                .iter()
                .filter(|(_, s)| s.intersects(svc))
                .map(|(d, _)| *d),
        );
    }
    by.sort_unstable();
    by.dedup();
    Some(by)
}

pub fn check(plan: &Plan, policy: &Policy, diags: &mut Vec<Diagnostic>) {
    for (flow, allow) in &policy.allows {
        let Some(cutting) = shadowing(policy, *flow, &allow.svc) else {
            continue;
        };
        let names: Vec<String> = cutting
            .iter()
            .map(|d| plan.flows[*d].origin.file_line())
            .collect();
        let mut diag = Diagnostic::new(
            &crate::codes::W080,
            format!(
                "this allow never permits anything: {} deny it all",
                list(&names)
            ),
        )
        .with_primary(plan.flows[*flow].origin.span, "shadowed allow")
        .with_help("in netc a deny wins whatever the order; narrow the deny or remove this allow");
        for d in cutting {
            diag = diag.with_secondary(plan.flows[d].origin.span, "denies it");
        }
        diags.push(diag);
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W080: crate::codes::Code = crate::codes::code!("W080", "shadowed-rule", Warning, "an allow rule that deny rules cancel completely",
        "What it does: reports an `allow` every packet of which is also matched by `deny` rules,\n\
         naming those rules. In netc deny wins whatever the order, so the allow never permits\n\
         anything.\n\
         Why: the author meant something by it; either the allow or the deny is wrong.\n\
         Example:\n    deny internet -> catalog : any\n    allow internet -> catalog : postgres   # never permits anything");
