//! W087 deny-removes-nothing: a `deny` that no `allow` overlaps. Deny only takes away what
//! allows permit (default deny does the rest), so such a rule changes no packet's fate: it
//! is a leftover, or it was written against the wrong tier, service or address.

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::space::Set;

/// The denies that remove nothing (flow indices, plan order).
pub fn removes_nothing(policy: &Policy) -> Vec<usize> {
    let mut out = Vec::new();
    for (flow, _) in &policy.denies {
        let useless = policy.flow_pairs[*flow].iter().all(|p| {
            let rules = &policy.pairs[p];
            let denied = rules
                .denies
                .iter()
                .filter(|(f, _)| f == flow)
                .fold(Set::empty(), |acc, (_, s)| acc.union(s));
            !rules.allows.iter().any(|(_, s)| s.intersects(&denied))
        });
        if useless {
            out.push(*flow);
        }
    }
    out
}

/// Report `useless`, the result of [`removes_nothing`].
pub fn check(plan: &Plan, useless: &[usize], diags: &mut Vec<Diagnostic>) {
    for &flow in useless {
        diags.push(
            Diagnostic::new(
                &crate::codes::W087,
                "this deny removes nothing: no allow rule permits any packet it matches",
            )
            .with_primary(plan.flows[flow].origin.span, "matches nothing allowed")
            .with_help(
                "packets no allow matches are dropped anyway; remove the deny, or check that it \
                 names the tier, service or address that is meant",
            ),
        );
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W087: crate::codes::Code = crate::codes::code!("W087", "deny-removes-nothing", Warning, "a deny rule that no allow rule overlaps",
        "What it does: reports a `deny` none of whose packets any `allow` permits.\n\
         Why: in netc a deny only takes away what allows permit (everything else is dropped by\n\
         default), so the rule changes nothing; it is a leftover, or it names the wrong tier,\n\
         service or address.\n\
         Example:\n    allow web -> db : postgres\n    deny web -> db : tcp/80   # nothing allows tcp/80 anyway");
