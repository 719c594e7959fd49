//! E035 overlapping-vrfs-on-host: a host whose firewall netc manages, with interfaces in two
//! routing domains whose subnets overlap. Its firewall matches plain addresses, so it cannot
//! tell the two domains' addresses apart (netc does not generate per-interface rulesets).

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::space::{self, Key, Set};

/// A set with its domains dropped (IPv4 and IPv6 kept apart).
fn projected(set: &Set) -> Set {
    Set::from_ranges(space::project(set).into_iter().map(|(v4, lo, hi)| {
        let hi_key = u128::from(!v4);
        (Key::new(hi_key, lo), Key::new(hi_key, hi))
    }))
}

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for host in plan.hosts.iter().enumerate() {
        let (h, host) = host;
        if !host.firewall.managed() {
            continue;
        }
        let domains = plan.host_domains(h);
        'pairs: for (i, &a) in domains.iter().enumerate() {
            for &b in &domains[i + 1..] {
                let (sa, sb) = (
                    projected(&plan.domains.subnets[a as usize]),
                    projected(&plan.domains.subnets[b as usize]),
                );
                if let Some(k) = sa.intersect(&sb).first() {
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::E035,
                            format!(
                                "host `{}` is in VRFs {} and {}, which share addresses ({} is in both), and its firewall cannot tell them apart",
                                host.name,
                                plan.domain_name(a),
                                plan.domain_name(b),
                                space::key_addr(k)
                            ),
                        )
                        .with_primary(host.origin.span, "interfaces in both")
                        .with_help("a host firewall matches addresses, not interfaces: keep the host in one of the VRFs, give the VRFs distinct addresses, or set `firewall none` on its tier and filter on the routers"),
                    );
                    break 'pairs;
                }
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E035: crate::codes::Code = crate::codes::code!("E035", "overlapping-vrfs-on-host", Error, "a host with a firewall sits in two VRFs that share addresses",
        "What it does: reports a host whose firewall netc manages, with interfaces in two routing\n\
         domains (VRFs no router joins) whose subnets overlap.\n\
         Why: a host firewall matches addresses, not interfaces: 10.0.0.5 of one VRF and 10.0.0.5 of\n\
         the other would be one source to it, so rules for one VRF would also admit the other, and\n\
         nftables refuses the ruleset (overlapping set elements).\n\
         Example:\n    vlan 10 corp vrf corp { subnet 10.0.0.0/24 }\n    vlan 20 ot vrf ot { subnet 10.0.0.0/24 }\n    host jump in t { corp 10.0.0.5 ot 10.0.0.6 }");
