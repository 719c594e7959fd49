//! E064 switch-config, for a switch whose `model` is given: every physical port is a port of
//! that model (type, stack or chassis member, module, number, QSFP lane), and a VLAN it routes
//! has an MTU the model's VLAN interfaces take. The models' facts live in `platform.rs`.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for sw in &plan.switches {
        let Some(model) = sw.model else {
            continue;
        };
        for port in &sw.ports {
            // An aggregate's own name is not a front-panel port; its members are.
            let physical: Vec<&String> = if port.members.is_empty() {
                vec![&port.name]
            } else {
                port.members.iter().collect()
            };
            for name in physical {
                if let Some(problem) = model.port_problem(name) {
                    diags.push(
                        Diagnostic::new(&crate::codes::E064, problem)
                            .with_primary(port.name_span, format!("not a port of a {}", model.name))
                            .with_secondary(sw.origin.span, format!("`{}` is a {}", sw.name, model.name))
                            .with_help("name the port as the model's front panel does (docs/language.md lists each model's ports), or fix `model`"),
                    );
                }
            }
        }
        // Frames: a model with one global jumbo setting takes no VLAN MTU above it.
        if let Some(max) = model.system_jumbo {
            let carried = sw.ports.iter().flat_map(|p| p.vlans.iter().copied());
            let what = format!("carries frames of at most {max} bytes (`system mtu jumbo`)");
            mtu_above(plan, sw, carried, max, &what, "carries", diags);
        }
        // Routed VLANs: the model's VLAN interfaces (SVIs) take at most `max_l3_mtu`.
        if let (Some(r), Some(max)) = (sw.routes, model.max_l3_mtu) {
            let routed = plan.routers[r].interfaces.iter().map(|i| i.vlan);
            let what = format!("routes VLANs with an MTU of at most {max}");
            mtu_above(plan, sw, routed, max, &what, "routes", diags);
        }
    }
}

/// One E064 per VLAN of `vlans` (once each) whose MTU is above `max`.
fn mtu_above(
    plan: &Plan,
    sw: &crate::ir::Switch,
    vlans: impl Iterator<Item = usize>,
    max: u32,
    what: &str,
    verb: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(model) = sw.model else {
        return;
    };
    let mut vlans: Vec<usize> = vlans.collect();
    vlans.sort_unstable();
    vlans.dedup();
    for v in vlans {
        let vlan = &plan.vlans[v];
        if let Some(mtu) = vlan.mtu.filter(|&m| m > max) {
            diags.push(
                Diagnostic::new(
                    &crate::codes::E064,
                    format!("a {} {what}; `{}` asks for {mtu}", model.name, vlan.name),
                )
                .with_primary(
                    vlan.mtu_span.unwrap_or(vlan.origin.span),
                    format!("more than the {} takes", model.name),
                )
                .with_secondary(
                    sw.origin.span,
                    format!("`{}` {verb} `{}`", sw.name, vlan.name),
                )
                .with_help(format!(
                    "lower the VLAN's MTU to {max}, or move the VLAN to another switch"
                )),
            );
        }
    }
}
