//! E097 egress-without-firewall: a tier that filters egress (`egress filtered`) with a host
//! that runs no firewall of netc's (`firewall none`). netc writes the output filter into the
//! host's firewall (an nftables output chain, a firewalld policy from HOST, ufw `allow out`
//! rules); a host without one would send anything while the plan (and every answer of netc)
//! says it sends only what the rules allow.

use crate::diag::Diagnostic;
use crate::ir::{FirewallKind, Plan};

pub const E097: crate::codes::Code = crate::codes::code!(
    "E097",
    "egress-without-firewall",
    Error,
    "a tier filters egress on a host that runs no firewall of netc's",
    "What it does: reports each host of an `egress filtered` tier whose firewall is none.\n\
         Why: the output filter is written into the host's firewall; a host without one would\n\
         send anything while netc answers as if it did not.\n\
         Example:\n    tier app on app-net firewall none egress filtered"
);

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for tier in plan.tiers.iter().filter(|t| t.egress) {
        for &h in &tier.hosts {
            let host = &plan.hosts[h];
            if host.firewall != FirewallKind::None {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    &E097,
                    format!(
                        "tier `{}` filters egress, but host `{}` runs no firewall of netc's",
                        tier.name, host.name
                    ),
                )
                .with_primary(host.origin.span, "nothing would filter what this host sends")
                .with_secondary(tier.origin.span, "egress filtered here")
                .with_help("give the host a firewall (`firewall nftables`, `firewalld` or `ufw`), or move it to a tier that does not filter egress"),
            );
        }
    }
}
