//! W083 vip-contradiction: a tier that may reach a VIP on a service but not its members (on
//! the VIP's VLAN), or the reverse. Judged on what really arrives (paths included).

use crate::diag::Diagnostic;
use crate::ir::{FirewallKind, Plan};
use crate::policy::Policy;
use crate::reach::{self, Unit};
use crate::space::{self, all_services, Set};
use crate::topology::Topology;

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    check_with(plan, policy, topology, diags, true);
}

/// `shortcuts: false` compares every host of every tier with every VIP, packet path by
/// packet path (what the shortcuts are tested against).
pub fn check_with(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    diags: &mut Vec<Diagnostic>,
    shortcuts: bool,
) {
    if plan.vips.is_empty() {
        return;
    }
    let reps: Vec<Vec<Unit>> = (0..plan.tiers.len())
        .map(|t| representatives(plan, policy, t))
        .collect();
    let by_dst = policy.sources_by_destination();
    for (vi, vip) in plan.vips.iter().enumerate() {
        let vip_unit = Unit {
            label: vip.name.clone(),
            host: None,
            addrs: Set::point(plan.vip_key(vi)),
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
                    addrs: Set::point(plan.iface_key(i)),
                })
            })
            .collect();
        if member_units.is_empty() {
            continue;
        }
        // When the members run the same firewall and sit in the VIP's subnet, a packet to the
        // VIP and one to a member take the same path and meet the same kind of enforcement:
        // they can only be treated differently where the plan's rules differ, i.e. for the
        // source atoms whose rules to the VIP's atom and to a member's atom permit different
        // services. Only tiers with addresses in those atoms need the exact comparison.
        // (Members on different firewalls or subnets: every tier is compared.)
        let kind = plan.hosts[vip.members[0]].firewall;
        let vip_subnet = plan.subnet_of(plan.vip_key(vi));
        let alike = vip.members.iter().all(|&m| plan.hosts[m].firewall == kind)
            && member_units
                .iter()
                .all(|u| u.addrs.first().map(|k| plan.subnet_of(k)) == Some(vip_subnet));
        // With nftables or firewalld on the members nothing reaches them that the rules do not
        // permit, and both warnings need something to reach the VIP: only sources with
        // rules to the VIP count. (ufw leaves ICMP open, `none` everything.)
        let enforced = matches!(kind, FirewallKind::Nftables | FirewallKind::Firewalld);
        let from = (shortcuts && alike)
            .then(|| differing_sources(policy, &by_dst, &vip_unit, &member_units, enforced));
        for (t, tier) in plan.tiers.iter().enumerate() {
            if vip.members.iter().any(|&m| plan.hosts[m].tier == t) || tier.hosts.is_empty() {
                continue;
            }
            if from
                .as_ref()
                .is_some_and(|from| !plan.tier_set(t).intersects(from))
            {
                continue;
            }
            let all;
            let sources = if shortcuts {
                &reps[t]
            } else {
                all = reach::src_units(plan, &crate::ir::EndpointRef::Tier(t), &tier.name);
                &all
            };
            let reach_of = |dst: &Unit| {
                reach::evaluate(
                    plan,
                    policy,
                    topology,
                    sources,
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
                    Diagnostic::new(&crate::codes::W083, format!("`{}` may reach vip `{}` on {} but not all its members", tier.name, vip.name, space::service_text(&only_vip)))
                        .with_primary(vip.origin.span, "VIP reachable, members not")
                        .with_help("the member hosts' firewalls decide for the VIP too; allow the members as well, or write the rule to their tier"),
                );
            }
            if !only_members.is_empty() && !on_vip.is_empty() {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::W083,
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

/// The hosts of tier `t` as sources, one per kind: hosts on the same subnets (in the same
/// order) with addresses in the same atoms choose the same source addresses, take the same
/// paths and meet the same rules, so one of them answers for all.
fn representatives(plan: &Plan, policy: &Policy, t: usize) -> Vec<Unit> {
    let mut seen = std::collections::HashSet::new();
    reach::src_units(plan, &crate::ir::EndpointRef::Tier(t), &plan.tiers[t].name)
        .into_iter()
        .filter(|u| {
            let Some(h) = u.host else { return true };
            let kind: Vec<(usize, Vec<u32>)> = plan.hosts[h]
                .interfaces
                .iter()
                .map(|i| {
                    (
                        i.subnet,
                        policy.atoms.atoms_of(&Set::point(plan.iface_key(i))),
                    )
                })
                .collect();
            seen.insert(kind)
        })
        .collect()
}

/// The addresses of the source atoms for which the plan's rules permit different services to
/// the VIP than to some member (header space only, no paths); with `only_to_vip`, of those
/// that have rules to the VIP at all.
fn differing_sources(
    policy: &Policy,
    by_dst: &rustc_hash::FxHashMap<u32, Vec<u32>>,
    vip: &Unit,
    members: &[Unit],
    only_to_vip: bool,
) -> Set {
    let atom = |u: &Unit| policy.atoms.atoms_of(&u.addrs);
    let vip_atoms = atom(vip);
    let mut member_atoms: Vec<Vec<u32>> = members.iter().map(atom).collect();
    member_atoms.sort_unstable();
    member_atoms.dedup();
    if member_atoms.iter().all(|m| *m == vip_atoms) {
        // The rules cannot tell the VIP from its members.
        return Set::empty();
    }
    let all = all_services();
    let empty = crate::policy::PairRules::default();
    let permitted = |sa: u32, das: &[u32]| {
        das.iter().fold(Set::empty(), |acc, &da| {
            let rules = policy.pairs.get(&(sa, da)).unwrap_or(&empty);
            Policy::evaluate_pair(rules, &all)
                .0
                .iter()
                .fold(acc, |acc, (svc, _)| acc.union(svc))
        })
    };
    let dsts: Vec<&Vec<u32>> = if only_to_vip {
        vec![&vip_atoms]
    } else {
        std::iter::once(&vip_atoms).chain(&member_atoms).collect()
    };
    let mut sources: Vec<u32> = dsts
        .into_iter()
        .flatten()
        .flat_map(|da| by_dst.get(da).into_iter().flatten().copied())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    Set::from_ranges(
        sources
            .into_iter()
            .filter(|&sa| {
                // The same rules permit the same: no need to evaluate them.
                let rules = |das: &[u32]| -> Vec<Option<&crate::policy::PairRules>> {
                    das.iter().map(|&da| policy.pairs.get(&(sa, da))).collect()
                };
                let vip_rules = rules(&vip_atoms);
                if member_atoms.iter().all(|m| rules(m) == vip_rules) {
                    return false;
                }
                let on_vip = permitted(sa, &vip_atoms);
                member_atoms.iter().any(|m| permitted(sa, m) != on_vip)
            })
            .flat_map(|sa| policy.atoms.set(sa).ranges().to_vec()),
    )
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W083: crate::codes::Code = crate::codes::code!(
    "W083",
    "vip-contradiction",
    Warning,
    "a VIP and its members are reachable differently",
    "What it does: reports a service that some tier may reach on a VIP but not on the member\n\
         hosts behind it, or the reverse.\n\
         Why: the hosts' firewalls decide for the VIP too (they hold it); a difference is usually\n\
         a rule written against the wrong one.\n\
         Example:\n    allow query -> pg-vip : postgres   # but not -> catalog"
);
