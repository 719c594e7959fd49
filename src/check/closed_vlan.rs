//! W091 closed-vlan: an `allow` that opens, on hosts of a VLAN marked `carries`, a service the
//! VLAN does not carry. A management or storage network is kept for a few services (SSH on the
//! management VLAN, S3 and NFS on the storage VLAN); a rule that opens anything else there is a
//! segmentation failure, usually a rule written to a whole tier (`NAME@VLAN` and `serve` say
//! which interface is meant).

use crate::diag::Diagnostic;
use crate::ir::{Action, Plan};
use crate::space::Set;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // Per closed VLAN: the addresses of hosts and VIPs on it, and what it carries.
    let closed: Vec<(usize, Set, Set)> = plan
        .vlans
        .iter()
        .enumerate()
        .filter_map(|(v, vlan)| {
            let carries = vlan.carries.as_ref()?;
            let on = plan.vlans_set(&[v]);
            let hosts = Set::union_all(
                (0..plan.hosts.len())
                    .map(|h| plan.host_local_set(h).intersect(&on))
                    .filter(|s| !s.is_empty()),
            );
            let services = Set::union_all(carries.services.iter().map(|s| plan.service_ref_set(s)));
            Some((v, hosts, services))
        })
        .collect();
    if closed.is_empty() {
        return;
    }
    for flow in plan.flows.iter().filter(|f| f.action == Action::Allow) {
        let b = plan.flow_box(flow);
        for (v, hosts, carried) in &closed {
            if !b.dst.intersects(hosts) {
                continue;
            }
            let extra: Vec<String> = flow
                .services
                .iter()
                .filter(|s| !plan.service_ref_set(s).difference(carried).is_empty())
                .map(|s| format!("`{}`", s.name(plan)))
                .collect();
            if extra.is_empty() {
                continue;
            }
            let vlan = &plan.vlans[*v];
            let span = flow
                .destinations
                .iter()
                .find(|e| plan.endpoint_set(&e.target).intersects(hosts))
                .map_or(flow.origin.span, |e| e.span);
            diags.push(
                Diagnostic::new(
                    &W091,
                    format!(
                        "this rule opens {} on VLAN `{}`, which carries only {}",
                        crate::check::list(&extra),
                        vlan.name,
                        crate::check::list(
                            &vlan.carries.as_ref().expect("closed").services.iter().map(|s| format!("`{}`", s.name(plan))).collect::<Vec<_>>()
                        )
                    ),
                )
                .with_primary(span, format!("has addresses on `{}`", vlan.name))
                .with_secondary(vlan.carries.as_ref().expect("closed").span, "what the VLAN carries")
                .with_help(format!(
                    "name the interface meant (`NAME@VLAN`), or give the tier `serve` VLANs; if `{}` \
                     really carries this, add it to `carries`",
                    vlan.name
                )),
            );
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W091: crate::codes::Code = crate::codes::code!("W091", "closed-vlan", Warning, "a rule opens a service a VLAN does not carry",
        "What it does: reports an `allow` that opens, on a host or VIP address of a VLAN with a\n\
         `carries` list, a service outside that list.\n\
         Why: management and storage networks are kept for a few services; a rule written to a\n\
         whole multi-homed tier opens its services on every interface unless the tier says\n\
         where it serves (`serve`) or the rule names the interface (`NAME@VLAN`).\n\
         Example:\n    vlan 10 mgmt carries ssh { subnet 10.10.0.0/24 }\n    allow app -> db@mgmt : postgres   # write db@app-db, or `serve app-db` on the tier");
