//! W083 vip-contradiction: a tier that may reach a VIP on a service but not its members (on
//! the VIP's VLAN), or the reverse. Judged on what really arrives (paths included).

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::reach::{self, Unit};
use crate::space::{self, all_services, Set};
use crate::topology::Topology;

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    for vip in &plan.vips {
        let vip_unit = Unit {
            label: vip.name.clone(),
            host: None,
            addrs: Set::point(space::addr_key(vip.addr)),
        };
        let member_units: Vec<Unit> = vip
            .members
            .iter()
            .filter_map(|&m| {
                let i = plan.hosts[m]
                    .interfaces
                    .iter()
                    .find(|i| i.vlan == vip.vlan && i.addr.is_ipv4() == vip.addr.is_ipv4())?;
                Some(Unit {
                    label: plan.hosts[m].name.clone(),
                    host: Some(m),
                    addrs: Set::point(space::addr_key(i.addr)),
                })
            })
            .collect();
        if member_units.is_empty() {
            continue;
        }
        for (t, tier) in plan.tiers.iter().enumerate() {
            if vip.members.iter().any(|&m| plan.hosts[m].tier == t) || tier.hosts.is_empty() {
                continue;
            }
            let sources = reach::src_units(plan, &crate::ir::EndpointRef::Tier(t), &tier.name);
            let reach_of = |dst: &Unit| {
                reach::evaluate(
                    plan,
                    policy,
                    topology,
                    &sources,
                    std::slice::from_ref(dst),
                    &all_services(),
                )
                .iter()
                .filter(|o| o.path.is_some())
                .fold(Set::empty(), |acc, o| acc.union(&o.permitted_services()))
            };
            let on_vip = reach_of(&vip_unit);
            let on_members = member_units
                .iter()
                .map(reach_of)
                .reduce(|a, b| a.intersect(&b))
                .unwrap_or_default();
            let only_vip = on_vip.difference(&on_members);
            let only_members = on_members.difference(&on_vip);
            if !only_vip.is_empty() {
                diags.push(
                    Diagnostic::warning("W083", format!("`{}` may reach vip `{}` on {} but not all its members", tier.name, vip.name, space::service_text(&only_vip)))
                        .with_primary(vip.origin.span, "VIP reachable, members not")
                        .with_help("the member hosts' firewalls decide for the VIP too; allow the members as well, or write the rule to their tier"),
                );
            }
            if !only_members.is_empty() && !on_vip.is_empty() {
                diags.push(
                    Diagnostic::warning(
                        "W083",
                        format!(
                            "`{}` may reach the members of vip `{}` on {} but not the VIP",
                            tier.name,
                            vip.name,
                            space::service_text(&only_members)
                        ),
                    )
                    .with_primary(vip.origin.span, "members reachable, VIP not")
                    .with_help("clients should use the VIP; allow it the same services"),
                );
            }
        }
    }
}
