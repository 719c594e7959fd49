//! E097 egress-not-nftables: a tier that filters egress (`egress filtered`) with a host whose
//! firewall is not nftables. Only netc's nftables rulesets write an output filter; a firewalld,
//! ufw or unmanaged host would send anything while the plan (and every answer of netc) says it
//! sends only what the rules allow.

use crate::diag::Diagnostic;
use crate::ir::{FirewallKind, Plan};

pub const E097: crate::codes::Code = crate::codes::code!(
    "E097",
    "egress-not-nftables",
    Error,
    "a tier filters egress on a host netc writes no output filter for",
    "What it does: reports each host of an `egress filtered` tier whose firewall is firewalld,\n\
         ufw or none.\n\
         Why: netc writes output filters for nftables hosts only; the others would send anything\n\
         while netc answers as if they did not.\n\
         Example:\n    tier app on app-net firewall ufw egress filtered"
);

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for tier in plan.tiers.iter().filter(|t| t.egress) {
        for &h in &tier.hosts {
            let host = &plan.hosts[h];
            if host.firewall == FirewallKind::Nftables {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    &E097,
                    format!(
                        "tier `{}` filters egress, but host `{}` has firewall {}",
                        tier.name,
                        host.name,
                        host.firewall.name()
                    ),
                )
                .with_primary(host.origin.span, "netc writes no output filter for this host")
                .with_secondary(tier.origin.span, "egress filtered here")
                .with_help("give the host `firewall nftables`, or move it to a tier that does not filter egress"),
            );
        }
    }
}
