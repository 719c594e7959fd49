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
                // Empty because of another error (an address outside its subnet): that error
                // is the mistake, not every rule naming what it emptied.
                if plan.endpoint_set(&ep.target).is_empty()
                    && !plan.incomplete.covers(plan, &ep.target)
                {
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

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E050: crate::codes::Code = crate::codes::code!("E050", "empty-endpoint", Error, "a flow's source or destination has no address",
        "What it does: reports flow endpoints that stand for no address: a tier without hosts, a\n\
         VLAN without subnets.\n\
         Why: the rule would silently allow nothing; it is a mistake in the plan.\n\
         Example:\n    tier spare on app-lb\n    allow spare -> catalog : postgres   # spare has no hosts");
