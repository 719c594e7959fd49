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
        for (h, host) in plan.hosts.iter().enumerate() {
            if m.except.contains(&h) || !host.firewall.managed() {
                continue;
            }
            let Some(iface) = host.interfaces.iter().find(|i| i.vlan == m.vlan) else {
                continue;
            };
            let dst_key = plan.iface_key(iface);
            let dst = Unit {
                label: host.name.clone(),
                host: Some(h),
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
                    "management access to `{}` ({}) would be cut off",
                    host.name, iface.addr
                ),
            )
            .with_primary(m.origin.span, "management access required here")
            .with_secondary(host.origin.span, "this host");
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
            diag = diag.with_help(format!(
                "allow the management sources to `{}` on these services, or add `except {}`",
                plan.tiers[host.tier].name, host.name
            ));
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
         Example:\n    management bastion -> mgmt : ssh\n    deny bastion -> catalog : any   # would lock out the catalog hosts");
