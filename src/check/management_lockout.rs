//! E090 management-lockout: the plan's flows would cut administrators off a host.

use crate::diag::Diagnostic;
use crate::ir::{FirewallKind, Plan};
use crate::policy::Policy;
use crate::space::{self, HBox, Set};
use crate::topology::Topology;

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    for m in &plan.management {
        let sources = plan.endpoints_set(&m.sources);
        let svc = plan.services_set(&m.services);
        for (h, host) in plan.hosts.iter().enumerate() {
            if m.except.contains(&h) || host.firewall == FirewallKind::None {
                continue;
            }
            let Some(iface) = host.interfaces.iter().find(|i| i.vlan == m.vlan) else { continue };
            let dst = space::addr_key(iface.addr);
            // Sources on the management VLAN reach it directly; others must be routed there.
            let src = sources.intersect(&if iface.addr.is_ipv4() { space::v4_space() } else { Set::full().difference(&space::v4_space()) });
            let query = HBox { src: src.clone(), dst: Set::point(dst), svc: svc.clone() };
            let eval = policy.evaluate(&query);
            let routed = src.ranges().iter().all(|&(lo, _)| topology.path(Topology::segment_of(plan, lo), Topology::segment_of(plan, dst)).is_some());
            if eval.is_fully_permitted() && routed {
                continue;
            }
            let mut diag = Diagnostic::error("E090", format!("management access to `{}` ({}) would be cut off", host.name, iface.addr))
                .with_primary(m.origin.span, "management path required here")
                .with_secondary(host.origin.span, "this host");
            if let Some((b, deny)) = eval.denied.first() {
                diag = diag.with_secondary(plan.flows[*deny].origin.span, "this deny blocks it");
                if let Some((s, d, v)) = b.sample() {
                    diag.message.push_str(&format!(": {} -> {} {} is denied", space::key_addr(s), space::key_addr(d), space::service_text(&Set::point(v))));
                }
            } else if let Some((s, d, v)) = eval.unmatched.first().and_then(|b| b.sample()) {
                diag.message.push_str(&format!(": no rule allows {} -> {} {}", space::key_addr(s), space::key_addr(d), space::service_text(&Set::point(v))));
            } else if !routed {
                diag.message.push_str(": no router joins the management sources to this host");
            }
            diag = diag.with_help(format!("allow the management sources to `{}` on these services, or list the host in `except`", plan.tiers[host.tier].name));
            diags.push(diag);
        }
    }
}
