//! E040 vrid-range: an explicit VRRP router id outside 1-255.

use crate::diag::Diagnostic;
use crate::ir::Plan;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for vip in &plan.vips {
        if let Some((n, span)) = vip.vrid_given {
            if !(1..=255).contains(&n) {
                diags.push(
                    Diagnostic::new(&E040, format!("VRRP router id {n} is outside 1-255"))
                        .with_primary(span, "not a VRRP id")
                        .with_help("VRRP ids are 1-255; leave `vrid` out to have one assigned"),
                );
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E040: crate::codes::Code = crate::codes::code!(
    "E040",
    "vrid-range",
    Error,
    "a VRRP router id is outside 1-255",
    "What it does: reports explicit `vrid` values outside 1-255.\n\
         Why: VRRP ids are one byte and 0 is invalid; keepalived refuses them.\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, pg02 vrid 300"
);
