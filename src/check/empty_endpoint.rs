//! E050 empty-endpoint: a flow source or destination that stands for no address.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for flow in &plan.flows {
        for (side, eps) in [
            ("source", &flow.sources),
            ("destination", &flow.destinations),
        ] {
            for ep in eps.iter() {
                if plan.endpoint_set(&ep.target).is_empty() {
                    diags.push(
                        Diagnostic::new(&crate::codes::E050, format!("{side} `{}` has no address", ep.text))
                            .with_primary(ep.span, "stands for no address")
                            .with_help("add hosts to the tier (or subnets to the VLAN), or remove it from the rule"),
                    );
                }
            }
        }
    }
}
