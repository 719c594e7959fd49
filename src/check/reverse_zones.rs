//! E063 reverse-zone: a subnet whose named addresses need a reverse zone netc cannot
//! generate, or a zone of the plan that is the reverse zone netc writes.

use super::dns::DnsRecord;
use crate::diag::Diagnostic;
use crate::ir::Plan;

/// Subnets whose named addresses need a reverse zone netc cannot generate.
pub fn check(plan: &Plan, records: &[DnsRecord], diags: &mut Vec<Diagnostic>) {
    let mut flagged = Vec::new();
    for r in records {
        let Some(addr) = r.addr else { continue };
        let all: Vec<usize> = (0..plan.vlans.len()).collect();
        let Some(s) = plan.subnet_in_vlans(addr, &all) else {
            continue;
        };
        let net = plan.subnets[s].net;
        let bad = match net {
            ipnet::IpNet::V4(n) => n.prefix_len() < 16,
            ipnet::IpNet::V6(n) => n.prefix_len() % 4 != 0 || n.prefix_len() < 16,
        };
        // A zone of the plan with the name of a reverse zone netc writes: two zone files of one
        // name (netc's PTRs and the plan's records) would collide.
        if !bad && (r.source.starts_with("host ") || r.source.starts_with("vip ")) {
            let prefix = crate::names::reverse_prefix(addr, net.prefix_len());
            let (zone, _) = crate::names::reverse_name(addr, prefix);
            if let Some(z) = plan.zones.iter().find(|z| z.name == zone) {
                if !flagged.contains(&s) {
                    flagged.push(s);
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::E063,
                            format!("zone `{zone}` is the reverse zone netc generates for {net}"),
                        )
                        .with_primary(z.origin.span, "declared here too")
                        .with_secondary(plan.subnets[s].origin.span, "its PTRs come from this subnet's hosts and VIPs")
                        .with_help("remove the zone from the plan: netc writes it, one PTR per named address"),
                    );
                }
            }
        }
        if bad && !flagged.contains(&s) {
            flagged.push(s);
            diags.push(
                Diagnostic::new(&crate::codes::E063, format!("netc cannot generate the reverse zone of {net}"))
                    .with_primary(plan.subnets[s].origin.span, "too large for a generated reverse zone")
                    .with_help("IPv4 subnets need a prefix of /16 or longer, IPv6 a multiple of 4 of /16 or longer; split the subnet"),
            );
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E063: crate::codes::Code = crate::codes::code!("E063", "reverse-zone", Error, "a subnet cannot get a reverse zone as declared",
        "What it does: reports subnets whose reverse zone netc cannot generate (prefixes shorter\n\
         than /16 for IPv4, or not on a nibble boundary for IPv6).\n\
         Why: PTR records for them would be incomplete.\n\
         Example:\n    vlan 30 big { subnet 10.0.0.0/8 }   # split it, or serve the reverse zone by hand");
