//! E033 duplicate-address: one address on two interfaces, VIPs or routers.
//! A router interface may take its VLAN's gateway address: that is what a gateway is.

use crate::diag::{Diagnostic, Span};
use crate::ir::Plan;
use std::collections::BTreeMap;
use std::net::IpAddr;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // (routing domain, address) -> first user: the same address in two VRFs that no router
    // joins is two addresses.
    let mut seen: BTreeMap<(u32, IpAddr), (Span, String)> = BTreeMap::new();
    let gateways: Vec<(usize, IpAddr)> = plan
        .subnets
        .iter()
        .filter_map(|s| s.gateway.map(|g| (s.vlan, g)))
        .collect();
    let mut users: Vec<(usize, IpAddr, Span, String)> = Vec::new();
    for host in &plan.hosts {
        for i in &host.interfaces {
            users.push((
                i.vlan,
                i.addr,
                i.origin.span,
                format!("host `{}`", host.name),
            ));
        }
    }
    for vip in &plan.vips {
        users.push((
            vip.vlan,
            vip.addr,
            vip.origin.span,
            format!("vip `{}`", vip.name),
        ));
    }
    for r in &plan.routers {
        for i in &r.interfaces {
            if !gateways.contains(&(i.vlan, i.addr)) {
                users.push((
                    i.vlan,
                    i.addr,
                    r.origin.span,
                    format!("router `{}`", r.name),
                ));
            }
        }
    }
    for s in &plan.subnets {
        if let Some(g) = s.gateway {
            users.push((
                s.vlan,
                g,
                s.origin.span,
                format!("the gateway of {}", s.net),
            ));
        }
    }
    for (vlan, addr, span, who) in users {
        let key = (plan.vlan_domain(vlan), addr);
        match seen.get(&key) {
            Some((first, first_who)) => diags.push(
                Diagnostic::new(
                    &crate::codes::E033,
                    format!("{addr} is assigned to {first_who} and {who}"),
                )
                .with_primary(span, format!("{addr} again"))
                .with_secondary(*first, format!("already used by {first_who}"))
                .with_help("every interface, VIP and gateway needs its own address"),
            ),
            None => {
                seen.insert(key, (span, who));
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E033: crate::codes::Code = crate::codes::code!("E033", "duplicate-address", Error, "one address is assigned twice",
        "What it does: reports an address used by two interfaces, VIPs, routers or gateways.\n\
         Why: two devices with one address break each other (ARP flapping).\n\
         Example:\n    host pg01 in catalog { mgmt 10.10.0.31 }\n    host pg02 in catalog { mgmt 10.10.0.31 }");
