//! E041 duplicate-vrid: two VIPs of one VLAN and one address family with one VRRP router id.
//! RFC 5798 numbers IPv4 and IPv6 virtual routers apart (their virtual MACs differ:
//! 00-00-5E-00-01-VRID and 00-00-5E-00-02-VRID), so an IPv4 and an IPv6 VIP may share an id.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use std::collections::HashMap;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(usize, bool, u8), usize> = HashMap::new();
    for (i, vip) in plan.vips.iter().enumerate() {
        let key = (vip.vlan, vip.addr.is_ipv4(), vip.vrid);
        match seen.get(&key) {
            Some(&first) => diags.push(
                Diagnostic::new(
                    &crate::codes::E041,
                    format!(
                        "{} VIPs `{}` and `{}` both use VRRP id {} on `{}`",
                        if vip.addr.is_ipv4() { "IPv4" } else { "IPv6" },
                        plan.vips[first].name,
                        vip.name,
                        vip.vrid,
                        plan.vlans[vip.vlan].name
                    ),
                )
                .with_primary(vip.origin.span, "second VIP with this id")
                .with_secondary(plan.vips[first].origin.span, "first VIP with this id")
                .with_help("remove `vrid` from one of them to have a free id assigned"),
            ),
            None => {
                seen.insert(key, i);
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E041: crate::codes::Code = crate::codes::code!("E041", "duplicate-vrid", Error, "two VIPs on one VLAN share a VRRP router id",
        "What it does: reports two VIPs of one VLAN and one address family with the same VRRP id\n\
         (explicit or assigned). An IPv4 and an IPv6 VIP may share one (RFC 5798).\n\
         Why: VRRP instances with one id on one segment fight over the same virtual MAC.\n\
         Example:\n    vip a 10.20.10.100 for pg01, pg02 vrid 10\n    vip b 10.20.10.101 for pg01, pg02 vrid 10");
