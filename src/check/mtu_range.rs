//! E013 invalid-value, for MTUs: a VLAN MTU no device of the plan takes.

use crate::diag::Diagnostic;
use crate::ir::Plan;

/// The MTUs netc writes: IPv4's minimum datagram size up to the largest jumbo frame the
/// platforms it configures accept (IOS `system mtu jumbo`, EOS and Junos 9216).
pub const MTU: std::ops::RangeInclusive<u32> = 576..=9216;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for vlan in &plan.vlans {
        let (Some(mtu), Some(span)) = (vlan.mtu, vlan.mtu_span) else {
            continue;
        };
        if !MTU.contains(&mtu) {
            diags.push(
                Diagnostic::new(
                    &crate::codes::E013,
                    format!("MTU {mtu} is outside {}-{}", MTU.start(), MTU.end()),
                )
                .with_primary(span, "not a usable MTU")
                .with_help("use 1500, or 9000 for jumbo frames"),
            );
        }
    }
}
