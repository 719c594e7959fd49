//! E041 duplicate-vrid: two VIPs of one VLAN with one VRRP router id.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use std::collections::HashMap;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(usize, u8), usize> = HashMap::new();
    for (i, vip) in plan.vips.iter().enumerate() {
        match seen.get(&(vip.vlan, vip.vrid)) {
            Some(&first) => diags.push(
                Diagnostic::new(
                    &crate::codes::E041,
                    format!(
                        "VIPs `{}` and `{}` both use VRRP id {} on `{}`",
                        plan.vips[first].name, vip.name, vip.vrid, plan.vlans[vip.vlan].name
                    ),
                )
                .with_primary(vip.origin.span, "second VIP with this id")
                .with_secondary(plan.vips[first].origin.span, "first VIP with this id")
                .with_help("remove `vrid` from one of them to have a free id assigned"),
            ),
            None => {
                seen.insert((vip.vlan, vip.vrid), i);
            }
        }
    }
}
