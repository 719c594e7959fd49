//! E090 management-lockout: the plan's flows would cut administrators off a host.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::reach::{self, Unit};
use crate::space::{self, Set};
use crate::topology::Topology;

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    for m in &plan.management {
        let sources: Vec<Unit> = m
            .sources
            .iter()
            .flat_map(|e| reach::src_units(plan, &e.target, &e.text))
            .collect();
        let svc = plan.services_set(&m.services);
        // What must stay reachable: the managed hosts on the VLAN (but those excepted), and
        // the routers on it (their input chain enforces the plan too).
        struct Managed<'a> {
            name: &'a str,
            what: &'static str,
            host: Option<usize>,
            addr: std::net::IpAddr,
            key: space::Key,
            origin: crate::diag::Span,
            /// Whom the plan's rules must allow the sources to reach.
            allow_to: &'a str,
        }
        let mut targets: Vec<Managed> = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            if m.except.contains(&h) || !host.firewall.managed() {
                continue;
            }
            if let Some(iface) = host.interfaces.iter().find(|i| i.vlan == m.vlan) {
                targets.push(Managed {
                    name: &host.name,
                    what: "host",
                    host: Some(h),
                    addr: iface.addr,
                    key: plan.iface_key(iface),
                    origin: host.origin.span,
                    allow_to: &plan.tiers[host.tier].name,
                });
            }
        }
        for router in &plan.routers {
            for i in router.interfaces.iter().filter(|i| i.vlan == m.vlan) {
                targets.push(Managed {
                    name: &router.name,
                    what: "router",
                    host: None,
                    addr: i.addr,
                    key: plan.key_in(i.vlan, i.addr),
                    origin: router.origin.span,
                    allow_to: &router.name,
                });
            }
        }
        for t in &targets {
            let dst_key = t.key;
            let dst = Unit {
                label: t.name.to_string(),
                host: t.host,
                addrs: Set::point(dst_key),
            };
            // An administrator's host sends from the address its kernel picks towards the
            // host (its address on that subnet, else its default route's): only that one
            // has to get through.
            let used: Vec<Unit> = sources
                .iter()
                .filter(|u| match u.host {
                    Some(s) => reach::source_address(plan, s, dst_key) == u.addrs.first(),
                    None => true,
                })
                .cloned()
                .collect();
            let outcomes = reach::evaluate(
                plan,
                policy,
                topology,
                &used,
                std::slice::from_ref(&dst),
                &svc,
            );
            let Some(bad) = outcomes.iter().find(|o| !o.fully_permitted()) else {
                continue;
            };
            let mut diag = Diagnostic::new(
                &crate::codes::E090,
                format!(
                    "management access to {} `{}` ({}) would be cut off",
                    t.what, t.name, t.addr
                ),
            )
            .with_primary(m.origin.span, "management access required here")
            .with_secondary(t.origin, format!("this {}", t.what));
            if bad.path.is_none() {
                diag.message
                    .push_str(&format!(": no router joins {} to it", bad.src_label));
            } else if let Some((b, deny)) = bad.eval.denied.first() {
                diag = diag.with_secondary(plan.flows[*deny].origin.span, "this deny blocks it");
                if let Some((s, d, v)) = b.sample() {
                    diag.message.push_str(&format!(
                        ": {} -> {} {} is denied",
                        space::key_addr(s),
                        space::key_addr(d),
                        space::service_text(&Set::point(v))
                    ));
                }
            } else if let Some((s, d, v)) = bad.eval.unmatched.first().and_then(|b| b.sample()) {
                diag.message.push_str(&format!(
                    ": no rule allows {} -> {} {}",
                    space::key_addr(s),
                    space::key_addr(d),
                    space::service_text(&Set::point(v))
                ));
            }
            diag = diag.with_help(if t.host.is_some() {
                format!(
                    "allow the management sources to `{}` on these services, or add `except {}`",
                    t.allow_to, t.name
                )
            } else {
                format!(
                    "allow the management sources to `{}` on these services (a router's own addresses are reached only as the plan's rules allow)",
                    t.allow_to
                )
            });
            diags.push(diag);
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E090: crate::codes::Code = crate::codes::code!("E090", "management-lockout", Error, "the ruleset would cut administrators off a host",
        "What it does: for each `management SOURCES -> VLAN : SERVICES` statement, reports hosts\n\
         on that VLAN that the management sources could not reach on those services under the\n\
         plan's flows. `except HOST, ...` acknowledges hosts that are meant to be cut off.\n\
         Why: loading a ruleset that drops SSH from the bastion locks everyone out.\n\
         Routers on the VLAN count too: their input chain enforces the plan.\n\
         Example:\n    management bastion -> mgmt : ssh\n    deny bastion -> catalog : any   # would lock out the catalog hosts");
