//! E033 duplicate-address: one address on two interfaces, VIPs or routers.
//! A router interface may take its VLAN's gateway address: that is what a gateway is.

use crate::diag::{Diagnostic, Span};
use crate::ir::Plan;
use std::collections::BTreeMap;
use std::net::IpAddr;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // (vrf, address) -> first user
    let mut seen: BTreeMap<(String, IpAddr), (Span, String)> = BTreeMap::new();
    let gateways: Vec<IpAddr> = plan.subnets.iter().filter_map(|s| s.gateway).collect();
    let vrf_of = |addr: IpAddr| {
        plan.subnet_of(crate::space::addr_key(addr))
            .map_or_else(String::new, |s| {
                plan.vlans[plan.subnets[s].vlan].vrf.clone()
            })
    };
    let mut users: Vec<(IpAddr, Span, String)> = Vec::new();
    for host in &plan.hosts {
        for i in &host.interfaces {
            users.push((i.addr, i.origin.span, format!("host `{}`", host.name)));
        }
    }
    for vip in &plan.vips {
        users.push((vip.addr, vip.origin.span, format!("vip `{}`", vip.name)));
    }
    for r in &plan.routers {
        for i in &r.interfaces {
            if !gateways.contains(&i.addr) {
                users.push((i.addr, r.origin.span, format!("router `{}`", r.name)));
            }
        }
    }
    for s in &plan.subnets {
        if let Some(g) = s.gateway {
            users.push((g, s.origin.span, format!("the gateway of {}", s.net)));
        }
    }
    for (addr, span, who) in users {
        let key = (vrf_of(addr), addr);
        match seen.get(&key) {
            Some((first, first_who)) => diags.push(
                Diagnostic::error(
                    "E033",
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
