//! E064 switch-config: what a switch would refuse. Aggregate ports named as the platform names
//! them, physical ports named as SONiC names them, VLAN names within the platform's length,
//! one switch per name.

use crate::diag::Diagnostic;
use crate::ir::{Plan, Platform};

/// The longest VLAN name each platform accepts (SONiC names VLANs by id).
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for (i, sw) in plan.switches.iter().enumerate() {
        // One router, one switch that is it: two switches routing one router would each
        // answer for its gateways.
        if let Some(r) = sw.routes {
            if let Some(first) = plan.switches[..i].iter().find(|o| o.routes == Some(r)) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E064,
                        format!(
                            "switches `{}` and `{}` both route router `{}`",
                            first.name, sw.name, plan.routers[r].name
                        ),
                    )
                    .with_primary(sw.origin.span, "routes it again")
                    .with_secondary(first.origin.span, "routes it first")
                    .with_help("a router is one device: name one switch with `routes`, or declare a second router (with its own addresses) for the second switch"),
                );
            }
        }
        let prefix = sw.platform.aggregate_prefix();
        for port in &sw.ports {
            if !port.members.is_empty() && !numbered(&port.name, prefix) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E064,
                        format!(
                            "`{}` is not an aggregate port name on {}",
                            port.name,
                            sw.platform.name()
                        ),
                    )
                    .with_primary(port.origin.span, format!("expected {prefix}N"))
                    .with_help(format!(
                        "{} names LACP port-channels {prefix}1, {prefix}2, ...",
                        sw.platform.name()
                    )),
                );
            }
            if sw.platform == Platform::Linux {
                // ifupdown2 interface names are Linux interface names: at most 15 bytes.
                for p in std::iter::once(&port.name).chain(&port.members) {
                    // Names the generated file uses itself (lo, the bridge br0) or that
                    // ifupdown2 and the kernel give other devices (VLAN devices such as
                    // vlan21 or br0.21, bridges, bonds' masters) cannot be switch ports.
                    let reserved = p == "lo"
                        || p == "br0"
                        || p.contains('.')
                        || p.strip_prefix("vlan")
                            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                        || p.starts_with("bridge");
                    if reserved {
                        diags.push(
                            Diagnostic::new(&crate::codes::E064, format!("`{p}` cannot be a port of a Linux switch"))
                                .with_primary(port.origin.span, "a name ifupdown2 or the generated file uses for another device")
                                .with_help("lo, br0 (the switch's bridge), vlanN and NAME.N (VLAN devices) and bridge* are taken: name ports swp1, swp2, ... and bonds bond1, bond2, ..."),
                        );
                    }
                    if p.len() > 15 || p.contains('/') || p.contains(':') {
                        diags.push(
                            Diagnostic::new(&crate::codes::E064, format!("`{p}` is not a Linux interface name"))
                                .with_primary(port.origin.span, "at most 15 bytes, no `/` or `:`")
                                .with_help("Linux switches name ports swp1, swp2, ... and bonds bond1, bond2, ..."),
                        );
                    }
                }
            }
            for &v in &port.vlans {
                let vlan = &plan.vlans[v];
                if vlan.name.len() > sw.platform.max_vlan_name() {
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::E064,
                            format!(
                                "VLAN name `{}` is longer than {} allows ({} characters)",
                                vlan.name,
                                sw.platform.name(),
                                sw.platform.max_vlan_name()
                            ),
                        )
                        .with_primary(port.origin.span, "carried here")
                        .with_secondary(vlan.origin.span, "the VLAN")
                        .with_help("shorten the VLAN's name"),
                    );
                }
            }
        }
    }
}
