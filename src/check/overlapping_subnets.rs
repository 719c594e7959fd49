//! E030 overlapping-subnets: subnets of one routing domain that share addresses: of one VRF,
//! or of two VRFs that a router joins (without NAT it cannot tell the addresses apart).

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::space;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // Sorted by start address; an overlap is always with a predecessor still open.
    let mut order: Vec<usize> = (0..plan.subnets.len()).collect();
    order.sort_by_key(|&s| {
        (
            space::key(0, plan.subnets[s].net.network()),
            plan.subnets[s].net.prefix_len(),
        )
    });
    let mut open: Vec<usize> = Vec::new();
    for s in order {
        let subnet = &plan.subnets[s];
        let start = space::key(0, subnet.net.network());
        open.retain(|&o| space::key(0, plan.subnets[o].net.broadcast()) >= start);
        for &o in &open {
            let other = &plan.subnets[o];
            let (va, vb) = (&plan.vlans[subnet.vlan], &plan.vlans[other.vlan]);
            if plan.vlan_domain(subnet.vlan) != plan.vlan_domain(other.vlan) {
                continue;
            }
            let help = if va.vrf == vb.vrf {
                format!(
                    "renumber one of them, or put them in different VRFs (both are in `{}`)",
                    va.vrf
                )
            } else {
                let joiners: Vec<&str> = plan
                    .routers
                    .iter()
                    .filter(|r| {
                        let vrfs: Vec<&str> = r
                            .interfaces
                            .iter()
                            .map(|i| plan.vlans[i.vlan].vrf.as_str())
                            .collect();
                        vrfs.contains(&va.vrf.as_str()) && vrfs.contains(&vb.vrf.as_str())
                    })
                    .map(|r| r.name.as_str())
                    .collect();
                let by = if joiners.is_empty() {
                    "through other VRFs".to_string()
                } else {
                    format!("by router `{}`", joiners.join("`, `"))
                };
                format!(
                    "VRFs `{}` and `{}` are joined {by}, which cannot tell the two apart without NAT: renumber one, or do not join the VRFs",
                    va.vrf, vb.vrf
                )
            };
            diags.push(
                Diagnostic::new(
                    &crate::codes::E030,
                    format!(
                        "subnet {} of `{}` overlaps {} of `{}`",
                        subnet.net, va.name, other.net, vb.name
                    ),
                )
                .with_primary(subnet.origin.span, format!("overlaps {}", other.net))
                .with_secondary(other.origin.span, "the other subnet")
                .with_help(help),
            );
        }
        open.push(s);
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E030: crate::codes::Code = crate::codes::code!("E030", "overlapping-subnets", Error, "two subnets of one VRF overlap",
        "What it does: reports subnets in the same VRF whose address ranges overlap.\n\
         Why: routing between them is ambiguous and addresses may be assigned twice.\n\
         Example:\n    vlan 20 a { subnet 10.20.0.0/16 }\n    vlan 21 b { subnet 10.20.1.0/24 }   # inside 10.20.0.0/16\n\
         Put overlapping subnets in different VRFs (`vrf NAME`) if that is really intended.");
