//! W083 vip-contradiction: a tier that may reach a VIP on a service but not its members (on
//! the VIP's VLAN), or the reverse.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::{self, all_services, HBox, Set};

pub fn check(plan: &Plan, policy: &Policy, diags: &mut Vec<Diagnostic>) {
    for vip in &plan.vips {
        let vip_set = Set::point(space::addr_key(vip.addr));
        let member_addrs: Vec<Set> = vip
            .members
            .iter()
            .filter_map(|&m| plan.hosts[m].interfaces.iter().find(|i| i.vlan == vip.vlan && i.addr.is_ipv4() == vip.addr.is_ipv4()))
            .map(|i| Set::point(space::addr_key(i.addr)))
            .collect();
        if member_addrs.is_empty() {
            continue;
        }
        for (t, tier) in plan.tiers.iter().enumerate() {
            if vip.members.iter().any(|&m| plan.hosts[m].tier == t) {
                continue;
            }
            let src = plan.tier_set(t);
            if src.is_empty() {
                continue;
            }
            let reach = |dst: &Set| {
                let e = policy.evaluate(&HBox { src: src.clone(), dst: dst.clone(), svc: all_services() });
                e.permitted.iter().fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc))
            };
            let on_vip = reach(&vip_set);
            let on_members = member_addrs.iter().map(reach).reduce(|a, b| a.intersect(&b)).unwrap_or_default();
            let only_vip = on_vip.difference(&on_members);
            let only_members = on_members.difference(&on_vip);
            if !only_vip.is_empty() {
                diags.push(
                    Diagnostic::warning("W083", format!("`{}` may reach vip `{}` on {} but not its members", tier.name, vip.name, space::service_text(&only_vip)))
                        .with_primary(vip.origin.span, "VIP reachable, members not")
                        .with_help("the member hosts' firewalls decide for the VIP too; allow the members as well, or write the rule to their tier"),
                );
            }
            if !only_members.is_empty() && !on_vip.is_empty() {
                diags.push(
                    Diagnostic::warning("W083", format!("`{}` may reach the members of vip `{}` on {} but not the VIP", tier.name, vip.name, space::service_text(&only_members)))
                        .with_primary(vip.origin.span, "members reachable, VIP not")
                        .with_help("clients should use the VIP; allow it the same services"),
                );
            }
        }
    }
}
