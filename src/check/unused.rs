//! W070 unused: services, networks and VLANs nothing refers to; tiers without hosts.

use crate::diag::Diagnostic;
use crate::ir::{EndpointRef, Plan, ServiceRef};

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let mut services = vec![false; plan.services.len()];
    let mut networks = vec![false; plan.networks.len()];
    let mut vlans = vec![false; plan.vlans.len()];
    let endpoints = plan
        .flows
        .iter()
        .flat_map(|f| f.sources.iter().chain(&f.destinations))
        .chain(plan.management.iter().flat_map(|m| &m.sources));
    for ep in endpoints {
        match ep.target {
            EndpointRef::Network(n) => networks[n] = true,
            EndpointRef::Vlan(v) => vlans[v] = true,
            _ => {}
        }
    }
    let svcs = plan
        .flows
        .iter()
        .flat_map(|f| &f.services)
        .chain(plan.management.iter().flat_map(|m| &m.services))
        .chain(
            plan.vlans
                .iter()
                .filter_map(|v| v.carries.as_ref())
                .flat_map(|c| &c.services),
        );
    for s in svcs {
        if let ServiceRef::Named { service } = s {
            services[*service] = true;
        }
    }
    // A service another one includes is used by it.
    for s in &plan.services {
        for &i in &s.includes {
            services[i] = true;
        }
    }
    for t in &plan.tiers {
        for tv in &t.vlans {
            vlans[tv.vlan] = true;
        }
    }
    for h in &plan.hosts {
        for i in &h.interfaces {
            vlans[i.vlan] = true;
        }
    }
    for r in &plan.routers {
        for i in &r.interfaces {
            vlans[i.vlan] = true;
        }
    }
    for m in &plan.management {
        vlans[m.vlan] = true;
    }
    for port in plan.switches.iter().flat_map(|s| &s.ports) {
        for &v in &port.vlans {
            vlans[v] = true;
        }
    }
    let mut warn = |kind: &str, name: &str, span, help: &str| {
        diags.push(
            Diagnostic::new(
                &crate::codes::W070,
                format!("{kind} `{name}` is never used"),
            )
            .with_primary(span, "declared here")
            .with_help(help.to_string()),
        );
    };
    for (i, s) in plan.services.iter().enumerate() {
        if !services[i] {
            warn(
                "service",
                &s.name,
                s.origin.span,
                "use it in a flow or remove it",
            );
        }
    }
    for (i, n) in plan.networks.iter().enumerate() {
        if !networks[i] {
            warn(
                "network",
                &n.name,
                n.origin.span,
                "use it in a flow or remove it",
            );
        }
    }
    for (i, v) in plan.vlans.iter().enumerate() {
        if !vlans[i] {
            warn(
                "vlan",
                &v.name,
                v.origin.span,
                "put a tier, host or router on it, or remove it",
            );
        }
    }
    for t in &plan.tiers {
        if t.hosts.is_empty() {
            warn(
                "tier",
                &t.name,
                t.origin.span,
                "add hosts to it or remove it",
            );
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W070: crate::codes::Code =
    crate::codes::code!("W070", "unused", Warning, "an object is declared but never used",
        "What it does: warns about services, networks and VLANs that nothing refers to, and tiers\n\
         without hosts.\n\
         Why: dead declarations mislead reviewers and hide typos.\n\
         Example:\n    service kafka tcp/9092   # no flow uses it");
