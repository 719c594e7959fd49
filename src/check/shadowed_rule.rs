//! W080 shadowed-rule: an allow that deny rules cancel completely.

use super::list;
use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::subtract_all;

pub fn check(plan: &Plan, policy: &Policy, diags: &mut Vec<Diagnostic>) {
    for (flow, allow) in &policy.allows {
        let cutting: Vec<&(usize, crate::space::HBox)> = policy
            .denies
            .iter()
            .filter(|(_, d)| d.intersects(allow))
            .collect();
        if cutting.is_empty() {
            continue;
        }
        if !subtract_all(vec![allow.clone()], cutting.iter().map(|(_, d)| d)).is_empty() {
            continue;
        }
        let names: Vec<String> = cutting
            .iter()
            .map(|(d, _)| plan.flows[*d].origin.file_line())
            .collect();
        let mut diag = Diagnostic::warning(
            "W080",
            format!(
                "this allow never permits anything: {} deny it all",
                list(&names)
            ),
        )
        .with_primary(plan.flows[*flow].origin.span, "shadowed allow")
        .with_help("in netc a deny wins whatever the order; narrow the deny or remove this allow");
        for (d, _) in cutting {
            diag = diag.with_secondary(plan.flows[*d].origin.span, "denies it");
        }
        diags.push(diag);
    }
}
