//! E094 nat-clash and W092 unused-nat: translations that contradict each other, and
//! translations no path uses.
//!
//! Two translations that take the same packet (two forwards of one public address and port,
//! a static translation and anything else on its public address, one public address on two
//! routers) leave what the internet reaches to the order of a ruleset: E094. A `nat source`
//! whose sources never leave by the router's upstream, or a forward to a host no path from the
//! router reaches, does nothing: W092.

use crate::diag::Diagnostic;
use crate::ir::{NatKind, Plan};
use crate::space::{self, Set};
use crate::topology::{Segment, Topology};

pub const E094: crate::codes::Code = crate::codes::code!(
    "E094",
    "nat-clash",
    Error,
    "two translations take the same packet",
    "What it does: reports two `nat forward` lines of one public address whose ports overlap, a\n\
         `nat static` whose public address another translation also uses, and one public address\n\
         translated by two routers.\n\
         Why: the packet would go where the first rule of a ruleset sends it; the plan would not\n\
         say which host the internet reaches.\n\
         Example:\n    nat forward 198.51.100.3 tcp/443 to web01\n    nat forward 198.51.100.3 tcp/400-500 to web02"
);

pub const W092: crate::codes::Code = crate::codes::code!(
    "W092",
    "unused-nat",
    Warning,
    "a translation no path uses",
    "What it does: reports a `nat source` none of whose sources leaves by the router's upstream\n\
         interface (their way out goes through another router, or there is none), and a forward or\n\
         static translation to an address no path from the router reaches.\n\
         Why: the line does nothing; the plan reads as if it did.\n\
         Example:\n    router border { upstream dev wan0 address 198.51.100.2/29  dmz  nat source lab masquerade }   # lab's way out is another router"
);

pub fn check(plan: &Plan, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    // (public key, services taken, router, nat) of every inbound translation, in plan order.
    let mut taken: Vec<(space::Key, Set, usize, usize)> = Vec::new();
    for (r, router) in plan.routers.iter().enumerate() {
        for (n, nat) in router.nats.iter().enumerate() {
            let (public, svc) = match nat.kind {
                NatKind::Forward {
                    public,
                    proto,
                    ports,
                    ..
                } => (public, space::service_set(proto, Some(ports))),
                NatKind::Static { public, .. } => (public, space::all_services()),
                NatKind::Source { .. } => continue,
            };
            let key = space::key(0, public);
            let clash = taken
                .iter()
                .find(|(k, s, r2, _)| *k == key && (s.intersects(&svc) || *r2 != r));
            if let Some(&(_, _, r2, n2)) = clash {
                let other = &plan.routers[r2].nats[n2];
                diags.push(
                    Diagnostic::new(&E094, format!("{public} is translated twice"))
                        .with_primary(nat.origin.span, "takes packets another translation takes")
                        .with_secondary(other.origin.span, "first translated here")
                        .with_help(if r2 != r {
                            "one router holds a public address: translate it on one router"
                                .to_string()
                        } else {
                            "give each forward its own public port, or its own public address"
                                .to_string()
                        }),
                );
                continue;
            }
            taken.push((key, svc, r, n));
        }
    }
    for (r, router) in plan.routers.iter().enumerate() {
        for nat in &router.nats {
            let unused = match &nat.kind {
                NatKind::Source { set, .. } => {
                    let leaves_here = Topology::split(plan, set).0.iter().any(|(s, _)| {
                        topology
                            .path(Segment::Subnet(*s), Segment::Upstream)
                            .is_some_and(|p| p.last() == Some(&r))
                    });
                    (!leaves_here).then(|| {
                        format!(
                            "none of these sources leaves by {}'s upstream: their way out is another router, or none",
                            router.name
                        )
                    })
                }
                NatKind::Forward { to_key, target, .. }
                | NatKind::Static { to_key, target, .. } => topology
                    .path_from_router(r, Topology::segment_of(plan, *to_key))
                    .is_none()
                    .then(|| format!("no path of the plan leads from {} to {target}", router.name)),
            };
            if let Some(why) = unused {
                diags.push(
                    Diagnostic::new(&W092, format!("this translation is never used: {why}"))
                        .with_primary(nat.origin.span, "no packet takes it")
                        .with_help("join the networks with a router of the plan, translate on the router the traffic takes, or remove the line"),
                );
            }
        }
    }
}
