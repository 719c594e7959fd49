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

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W089: crate::codes::Code = crate::codes::code!("W089", "name-server-unreachable", Warning, "the internet cannot reach a name server of a zone it is answered from",
        "What it does: for each zone with `view external` or `view both`, reports a name server\n\
         whose address is inside the plan's subnets but is no host or VIP of the plan, or that\n\
         the plan does not let the internet reach on dns (udp/53 and tcp/53).\n\
         Why: the zone is published to the internet, but its name server does not answer there.\n\
         Example:\n    zone example.com { view both  ns ns1 203.0.113.2 }   # no host has 203.0.113.2");
