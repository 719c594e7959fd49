//! E020 vlan-id-range: a VLAN id outside 1-4094, or one switches reserve.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for vlan in &plan.vlans {
        if !(1..=4094).contains(&vlan.id) {
            diags.push(
                Diagnostic::new(&E020, format!("VLAN id {} is outside 1-4094", vlan.id))
                    .with_primary(vlan.id_span, "not a VLAN id")
                    .with_help("802.1Q VLAN ids are 1-4094"),
            );
        } else if vlan.id == 1 || (1002..=1005).contains(&vlan.id) {
            diags.push(
                Diagnostic::new(&E020, format!("VLAN id {} is reserved", vlan.id))
                    .with_primary(vlan.id_span, "reserved on switches")
                    .with_help("VLAN 1 is the default VLAN and 1002-1005 are reserved on Cisco IOS; pick another id"),
            );
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E020: crate::codes::Code = crate::codes::code!(
    "E020",
    "vlan-id-range",
    Error,
    "a VLAN id is outside 1-4094 or reserved",
    "What it does: reports VLAN ids outside 1-4094, and the ids switches refuse to create:\n\
         1 (the default VLAN) and 1002-1005 (reserved on Cisco IOS).\n\
         Why: the switch configs netc generates would be rejected.\n\
         Example:\n    vlan 1003 legacy   # pick an id outside 1002-1005"
);
