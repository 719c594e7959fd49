//! W086 vlan-island: a switch gives hosts a VLAN on their ports, but no uplink of that switch
//! carries the VLAN and the switch does not route it itself, while the VLAN's gateway (a
//! router's interface) or other hosts of the VLAN are elsewhere. The hosts on that switch are
//! cut off from them: an island, though every port is configured as the plan says.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for sw in &plan.switches {
        // VLANs this switch takes off itself: on uplinks (ports without a host), or routed
        // here (the switch is a router with an interface on the VLAN).
        let mut out: Vec<usize> = sw
            .ports
            .iter()
            .filter(|p| p.host.is_none())
            .flat_map(|p| p.vlans.iter().copied())
            .collect();
        if let Some(r) = sw.routes {
            out.extend(plan.routers[r].interfaces.iter().map(|i| i.vlan));
        }
        let mut reported: Vec<usize> = Vec::new();
        for port in sw.ports.iter().filter(|p| p.host.is_some()) {
            for &v in &port.vlans {
                if out.contains(&v) || reported.contains(&v) {
                    continue;
                }
                // What of the VLAN is elsewhere: a router's interface (the gateway), or a host
                // on it that is not cabled to this switch.
                let here: Vec<usize> = sw.ports.iter().filter_map(|p| p.host).collect();
                let gateway = plan
                    .routers
                    .iter()
                    .find(|r| r.interfaces.iter().any(|i| i.vlan == v))
                    .map(|r| format!("their gateway (router {})", r.name));
                let other = plan
                    .hosts
                    .iter()
                    .enumerate()
                    .find(|(h, host)| {
                        !here.contains(h) && host.interfaces.iter().any(|i| i.vlan == v)
                    })
                    .map(|(_, host)| format!("host {}", host.name));
                let Some(elsewhere) = gateway.or(other) else {
                    continue;
                };
                reported.push(v);
                let vlan = &plan.vlans[v];
                diags.push(
                    Diagnostic::new(
                        &crate::codes::W086,
                        format!(
                            "VLAN `{}` reaches hosts on switch `{}` but leaves it by no uplink: they cannot reach {elsewhere}",
                            vlan.name, sw.name
                        ),
                    )
                    .with_primary(port.origin.span, "the VLAN is given to a host here")
                    .with_secondary(vlan.origin.span, "the VLAN")
                    .with_help(format!(
                        "add `{}` to a trunk of switch `{}` towards the rest of the network, or let this switch route it (`routes ROUTER`)",
                        vlan.name, sw.name
                    )),
                );
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W086: crate::codes::Code = crate::codes::code!("W086", "vlan-island", Warning, "a switch gives hosts a VLAN that no uplink of it carries",
        "What it does: reports a VLAN on a switch's host ports that none of the switch's other\n\
         ports (its uplinks) carries and that the switch does not route, while the VLAN's\n\
         gateway or other hosts of the VLAN are elsewhere.\n\
         Why: every port is configured as the plan says, yet the hosts on that switch are an\n\
         island: no frame of the VLAN leaves the switch.\n\
         Example:\n    switch tor1 eos {\n      trunk Ethernet49 vlans app          # no `mgmt` here\n      port Ethernet1 host lb01 dev eth0   # eth0 is on mgmt\n    }");
