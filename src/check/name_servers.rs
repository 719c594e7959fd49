//! W089 name-server-unreachable: a zone published to the internet (`view external` or
//! `view both`) whose name server the internet cannot reach on dns, by the plan's own
//! policy and paths, or whose address no host or VIP of the plan has.

use super::PlanInfo;
use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, info: &PlanInfo, diags: &mut Vec<Diagnostic>) {
    for zone in plan.zones.iter().filter(|z| z.view.external()) {
        for ns in &zone.nameservers {
            let Some(addr) = ns.addr else { continue };
            if super::dns_views::internal_addr(addr) {
                continue; // E065
            }
            let all: Vec<usize> = (0..plan.vlans.len()).collect();
            if plan.subnet_in_vlans(addr, &all).is_none() {
                continue; // outside the plan: a name server someone else runs
            }
            let held = plan
                .hosts
                .iter()
                .flat_map(|h| &h.interfaces)
                .any(|i| i.addr == addr)
                || plan.vips.iter().any(|v| v.addr == addr);
            let why = if !held {
                Some(format!("no host or VIP of the plan has {addr}"))
            } else {
                let udp =
                    crate::query::ask(plan, info, "internet", &addr.to_string(), Some("udp/53"));
                match udp {
                    Ok(a) if a.verdict == crate::query::Verdict::Yes => None,
                    Ok(_) => Some(format!(
                        "the plan does not let the internet reach {addr} on udp/53"
                    )),
                    Err(e) => Some(e.to_string()),
                }
            };
            if let Some(why) = why {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::W089,
                        format!(
                            "name server {} of zone `{}`, which the internet is answered from, does not answer there: {why}",
                            ns.name, zone.name
                        ),
                    )
                    .with_primary(zone.origin.span, "published to the internet")
                    .with_help("give the address to the host that runs the name server, and allow `internet -> it : dns`"),
                );
            }
        }
    }
}
