//! E021 duplicate-vlan-id: two VLANs with one id.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use std::collections::HashMap;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    for (i, vlan) in plan.vlans.iter().enumerate() {
        match seen.get(&vlan.id) {
            Some(&first) => diags.push(
                Diagnostic::new(
                    &crate::codes::E021,
                    format!(
                        "VLAN id {} is used by `{}` and `{}`",
                        vlan.id, plan.vlans[first].name, vlan.name
                    ),
                )
                .with_primary(vlan.origin.span, "second VLAN with this id")
                .with_secondary(plan.vlans[first].origin.span, "first VLAN with this id")
                .with_help("give each VLAN its own id"),
            ),
            None => {
                seen.insert(vlan.id, i);
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E021: crate::codes::Code = crate::codes::code!(
    "E021",
    "duplicate-vlan-id",
    Error,
    "two VLANs have the same id",
    "What it does: reports a VLAN id declared twice.\n\
         Why: on a switch one id is one broadcast domain; two names would merge silently.\n\
         Example:\n    vlan 20 app-lb\n    vlan 20 app-catalog   # use 21"
);
