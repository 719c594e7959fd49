//! E034 outside-pool: a host address outside the pool its tier has on a VLAN, or inside
//! another tier's pool.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::space::key;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for host in &plan.hosts {
        for iface in &host.interfaces {
            let vlan = &plan.vlans[iface.vlan];
            let k = key(0, iface.addr);
            let fam = |p: &&crate::ir::Pool| p.first.is_ipv4() == iface.addr.is_ipv4();
            let own: Vec<_> = vlan
                .pools
                .iter()
                .filter(fam)
                .filter(|p| p.tier == host.tier)
                .collect();
            let inside = |p: &crate::ir::Pool| (key(0, p.first)..=key(0, p.last)).contains(&k);
            if !own.is_empty() && !own.iter().any(|p| inside(p)) {
                let ranges: Vec<String> = own
                    .iter()
                    .map(|p| format!("{}-{}", p.first, p.last))
                    .collect();
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E034,
                        format!(
                            "`{}` has {} on `{}`, outside the pool of tier `{}`",
                            host.name, iface.addr, vlan.name, plan.tiers[host.tier].name
                        ),
                    )
                    .with_primary(iface.origin.span, format!("not in {}", ranges.join(", ")))
                    .with_secondary(own[0].origin.span, "the tier's pool")
                    .with_help("pick a free address in the pool, or widen the pool"),
                );
                continue;
            }
            if let Some(p) = vlan
                .pools
                .iter()
                .filter(fam)
                .find(|p| p.tier != host.tier && inside(p))
            {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E034,
                        format!(
                            "`{}` has {} inside the pool of tier `{}`",
                            host.name, iface.addr, plan.tiers[p.tier].name
                        ),
                    )
                    .with_primary(iface.origin.span, "in another tier's pool")
                    .with_secondary(p.origin.span, "that pool")
                    .with_help(format!(
                        "tier `{}` should take its addresses from its own pool",
                        plan.tiers[host.tier].name
                    )),
                );
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E034: crate::codes::Code = crate::codes::code!("E034", "outside-pool", Error, "a host address is outside its tier's pool",
        "What it does: where a VLAN declares `pool RANGE for TIER`, reports hosts of that tier\n\
         whose address on that VLAN is outside every pool of the tier, and hosts of other tiers\n\
         whose address is inside it.\n\
         Why: the address plan is how people find hosts and write ACLs; it must stay true.\n\
         Example:\n    vlan 10 mgmt { subnet 10.10.0.0/24  pool 10.10.0.31-50 for catalog }\n    host pg01 in catalog { mgmt 10.10.0.60 }");
