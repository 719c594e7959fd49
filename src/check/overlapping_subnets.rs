//! E030 overlapping-subnets: subnets of one VRF that share addresses.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::space;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // Sorted by start address; an overlap is always with a predecessor still open.
    let mut order: Vec<usize> = (0..plan.subnets.len()).collect();
    order.sort_by_key(|&s| {
        (
            space::addr_key(plan.subnets[s].net.network()),
            plan.subnets[s].net.prefix_len(),
        )
    });
    let mut open: Vec<usize> = Vec::new();
    for s in order {
        let subnet = &plan.subnets[s];
        let start = space::addr_key(subnet.net.network());
        open.retain(|&o| space::addr_key(plan.subnets[o].net.broadcast()) >= start);
        for &o in &open {
            let other = &plan.subnets[o];
            let (va, vb) = (&plan.vlans[subnet.vlan], &plan.vlans[other.vlan]);
            if va.vrf != vb.vrf {
                continue;
            }
            diags.push(
                Diagnostic::error(
                    "E030",
                    format!(
                        "subnet {} of `{}` overlaps {} of `{}`",
                        subnet.net, va.name, other.net, vb.name
                    ),
                )
                .with_primary(subnet.origin.span, format!("overlaps {}", other.net))
                .with_secondary(other.origin.span, "the other subnet")
                .with_help(format!(
                    "renumber one of them, or put them in different VRFs (both are in `{}`)",
                    va.vrf
                )),
            );
        }
        open.push(s);
    }
}
