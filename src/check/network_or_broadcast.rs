//! E032 network-or-broadcast-address: interface addresses that IPv4 cannot assign.

use crate::diag::{Diagnostic, Span};
use crate::ir::Plan;
use std::net::IpAddr;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let mut flag = |addr: IpAddr, subnet: usize, span: Span, what: String| {
        let net = plan.subnets[subnet].net;
        if !addr.is_ipv4() || net.prefix_len() >= 31 {
            return;
        }
        let which = if addr == net.network() {
            "network"
        } else if addr == net.broadcast() {
            "broadcast"
        } else {
            return;
        };
        diags.push(
            Diagnostic::new(
                &crate::codes::E032,
                format!("{what} {addr} is the {which} address of {net}"),
            )
            .with_primary(span, format!("{which} address"))
            .with_help(format!(
                "use an address between {} and {}",
                first_host(&net),
                last_host(&net)
            )),
        );
    };
    for (s, subnet) in plan.subnets.iter().enumerate() {
        if let Some(g) = subnet.gateway {
            flag(g, s, subnet.origin.span, "gateway".into());
        }
    }
    for host in &plan.hosts {
        for i in &host.interfaces {
            flag(
                i.addr,
                i.subnet,
                i.origin.span,
                format!("address of `{}`", host.name),
            );
        }
    }
    for vip in &plan.vips {
        flag(
            vip.addr,
            vip.subnet,
            vip.origin.span,
            format!("vip `{}`", vip.name),
        );
    }
    for r in &plan.routers {
        for i in &r.interfaces {
            if let Some(s) = plan.subnet_in_vlans(i.addr, &[i.vlan]) {
                flag(i.addr, s, r.origin.span, format!("router `{}`", r.name));
            }
        }
    }
}

fn first_host(net: &ipnet::IpNet) -> IpAddr {
    crate::space::key_addr(crate::space::key(0, net.network()).succ())
}

fn last_host(net: &ipnet::IpNet) -> IpAddr {
    crate::space::key_addr(crate::space::key(0, net.broadcast()).pred())
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E032: crate::codes::Code = crate::codes::code!(
    "E032",
    "network-or-broadcast-address",
    Error,
    "an address is its subnet's network or broadcast address",
    "What it does: reports host, VIP, router and gateway addresses equal to the first or the\n\
         last address of an IPv4 subnet (except /31 and /32).\n\
         Why: those addresses cannot be assigned to an interface.\n\
         Example:\n    host a in t { app 10.20.10.255 }   # broadcast of 10.20.10.0/24"
);
