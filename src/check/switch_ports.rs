//! E064 switch-config, for cabling: every physical port once per switch (as a port of its own
//! or as a member of one bond), and every host NIC on one port of one switch.

use crate::diag::{Diagnostic, Span};
use crate::ir::Plan;
use std::collections::HashMap;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // (host, interface) -> (switch and port it is cabled to, where), across switches.
    let mut cabled: HashMap<(usize, &str), (String, Span)> = HashMap::new();
    for sw in &plan.switches {
        // Physical port -> the port (or bond) that uses it first.
        let mut used: HashMap<String, (usize, &str)> = HashMap::new();
        for (i, port) in sw.ports.iter().enumerate() {
            // One NIC, one cable: the same host interface on two ports (of this switch or
            // another) is a plan that cannot be wired.
            if let (Some(host), Some(dev)) = (port.host, port.dev.as_deref()) {
                let here = format!("{} {}", sw.name, port.name);
                let name = &plan.hosts[host].name;
                match cabled.get(&(host, dev)) {
                    Some((there, span)) => diags.push(
                        Diagnostic::new(
                            &crate::codes::E064,
                            format!("`{name} {dev}` is cabled twice: to {there} and to {here}"),
                        )
                        .with_primary(port.name_span, "cabled again")
                        .with_secondary(*span, "first cabled here")
                        .with_help("a NIC has one cable: remove one of the ports, or bond two NICs (`bond ... members`) on one switch"),
                    ),
                    None => {
                        cabled.insert((host, dev), (here, port.name_span));
                    }
                }
            }
            // Trunk-then-bond, bond-then-trunk, two bonds sharing a member (names compared
            // as the devices do, without case). A port in error claims none of its names.
            let mine: Vec<String> = std::iter::once(&port.name)
                .chain(&port.members)
                .map(|n| n.to_ascii_lowercase())
                .collect();
            // A member listed twice in one bond (or a bond that names itself as a member).
            if let Some(k) = (1..mine.len()).find(|&k| mine[..k].contains(&mine[k])) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E064,
                        format!("`{}` lists port `{}` twice", port.name, port.members[k - 1]),
                    )
                    .with_primary(port.origin.span, "repeated member")
                    .with_help("list each member port of a bond once"),
                );
                continue;
            }
            match mine.iter().find_map(|n| used.get(n.as_str()).map(|&(f, s)| (f, s))) {
                Some((first, shared)) => diags.push(
                    Diagnostic::new(
                        &crate::codes::E064,
                        format!("port `{shared}` is used twice on switch `{}`", sw.name),
                    )
                    .with_primary(port.name_span, "used again here")
                    .with_secondary(sw.ports[first].origin.span, "first used here")
                    .with_help("each physical port is one port, or a member of one bond: Junos refuses a member that is also a trunk, and EOS configures it twice"),
                ),
                None => {
                    let names = std::iter::once(&port.name).chain(&port.members);
                    for (key, name) in mine.into_iter().zip(names) {
                        used.entry(key).or_insert((i, name.as_str()));
                    }
                }
            }
        }
    }
}
