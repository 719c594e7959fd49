//! W082 overbroad-rule: internet to internal addresses on any port, any to any, port ranges
//! wider than 1024 ports.

use crate::diag::Diagnostic;
use crate::ir::{Action, EndpointRef, Plan, Proto, ServiceRef};

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    let internal = plan.internal_set();
    // Every spelling of "everywhere": `internet`, `any`, 0.0.0.0/0, ::/0, 0.0.0.0/1 with
    // 128.0.0.0/1, a network that is any of these: a side that holds the whole internet of a
    // family.
    let internet = [true, false].map(|v4| plan.internet_set().intersect(&plan.family(v4)));
    let everywhere = |eps: &[crate::ir::Endpoint]| {
        eps.iter()
            .any(|e| matches!(e.target, EndpointRef::Internet | EndpointRef::Any))
            || {
                let set = plan.endpoints_set(eps);
                internet.iter().any(|i| !i.is_empty() && i.is_subset(&set))
            }
    };
    for flow in plan.flows.iter().filter(|f| f.action == Action::Allow) {
        let from_internet = everywhere(&flow.sources);
        let to_internet = everywhere(&flow.destinations);
        let any_service = flow.services.iter().any(|s| matches!(s, ServiceRef::Any));
        let dst = plan.endpoints_set(&flow.destinations);
        let span = flow.origin.span;
        if from_internet && to_internet {
            diags.push(
                Diagnostic::new(
                    &crate::codes::W082,
                    "this rule allows any address to reach any address",
                )
                .with_primary(span, "any to any")
                .with_help("name the sources and destinations this rule is for"),
            );
        } else if from_internet && any_service && dst.intersects(&internal) {
            diags.push(
                Diagnostic::new(
                    &crate::codes::W082,
                    "the internet may reach internal addresses on every port",
                )
                .with_primary(span, "internet to internal, any service")
                .with_help("name the services exposed, e.g. `: tcp/443`"),
            );
        }
        for s in &flow.services {
            let ranges = match s {
                ServiceRef::Named { service } => plan.services[*service].ports.clone(),
                ServiceRef::Ports { range } => vec![*range],
                ServiceRef::Any => continue,
            };
            for r in ranges {
                if r.proto != Proto::Icmp && (r.last - r.first) as u32 + 1 > 1024 {
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::W082,
                            format!(
                                "{}/{}-{} opens {} ports",
                                r.proto.name(),
                                r.first,
                                r.last,
                                (r.last - r.first) as u32 + 1
                            ),
                        )
                        .with_primary(span, "very wide port range")
                        .with_help("list the ports the service really uses"),
                    );
                }
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W082: crate::codes::Code = crate::codes::code!(
    "W082",
    "overbroad-rule",
    Warning,
    "a rule that allows far more than a service",
    "What it does: reports allows from `internet` to internal addresses on any port, allows\n\
         whose source and destination are both `internet`-wide, and port ranges wider than 1024\n\
         ports.\n\
         Why: such rules usually stand in for a missing, precise rule.\n\
         Example:\n    allow internet -> lb : any   # write the service: tcp/443"
);
