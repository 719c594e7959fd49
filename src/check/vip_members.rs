//! E042 vip-member: a VIP member listed twice, or without an interface on the VIP's VLAN.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for vip in &plan.vips {
        let vname = &plan.vlans[vip.vlan].name;
        for (i, &(m, span)) in vip.listed.iter().enumerate() {
            let host = &plan.hosts[m];
            if vip.listed[..i].iter().any(|&(o, _)| o == m) {
                diags.push(
                    Diagnostic::new(&E042, format!("`{}` is listed twice", host.name))
                        .with_primary(span, "repeated member")
                        .with_help("list each member once, in priority order"),
                );
            } else if !host.interfaces.iter().any(|i| i.vlan == vip.vlan) {
                diags.push(
                    Diagnostic::new(
                        &E042,
                        format!("`{}` has no interface on `{vname}`", host.name),
                    )
                    .with_primary(span, format!("cannot hold an address of `{vname}`"))
                    .with_secondary(host.origin.span, "host declared here")
                    .with_help(format!(
                        "give `{}` an address on `{vname}`, or remove it from the VIP",
                        host.name
                    )),
                );
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E042: crate::codes::Code = crate::codes::code!(
    "E042",
    "vip-member",
    Error,
    "a VIP member has no interface on the VIP's VLAN",
    "What it does: reports VIP members that cannot hold the address: they have no interface\n\
         on the VLAN of the VIP, or are listed twice.\n\
         Why: keepalived on that host would have no interface to put the VIP on.\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, lb01   # lb01 is not on app-catalog"
);
