//! E091 no-route, for hosts: a host that declares no interface at all.
//! (Routers without an address on a VLAN they name are reported where their addresses are
//! resolved: `resolve/devices.rs`.)

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for host in &plan.hosts {
        if host.interfaces.is_empty() && !host.declares_interfaces {
            diags.push(
                Diagnostic::new(&crate::codes::E091, format!("host `{}` has no interface", host.name))
                    .with_primary(host.name_span, "no address on any VLAN")
                    .with_help("give the host an address on each VLAN of its tier: `{ mgmt 10.10.0.31 app 10.20.10.11 }`"),
            );
        }
    }
}
