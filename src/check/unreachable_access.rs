//! W084 unreachable-access: an allow rule makes some enforcement point accept packets that no
//! path of the plan delivers (configured access that is not reachable: a VPN or a static
//! route the plan does not model would open it). W085 reply-fails: an allow rule permits
//! requests to a multi-homed host whose replies leave through another interface and cannot
//! come back (the connection fails).
//!
//! Both compare, per allow rule, the rule's packets split by (source segment, destination
//! segment) with the paths of the topology: the same definitions `reach` answers with.

use crate::diag::Diagnostic;
use crate::ir::{Action, FirewallKind, Plan};
use crate::policy::Policy;
use crate::reach;
use crate::space::{self, Set};
use crate::topology::{Segment, Topology};
use std::collections::HashMap;

/// An endpoint set cut by segment: (segment, the part of the set in it).
fn segments(plan: &Plan, set: &Set) -> Vec<(Segment, Set)> {
    let (parts, outside) = Topology::split(plan, set);
    let mut out: Vec<(Segment, Set)> = parts
        .into_iter()
        .map(|(s, part)| (Segment::Subnet(s), part))
        .collect();
    if !outside.is_empty() {
        out.push((Segment::Upstream, outside));
    }
    out.sort_by_key(|(s, _)| *s);
    out
}

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    let mut memo: HashMap<&Set, Vec<(Segment, Set)>> = HashMap::new();
    // Which hosts answer in which segment: only multi-homed ones can answer elsewhere.
    let multi: Vec<bool> = plan.hosts.iter().map(|h| h.interfaces.len() > 1).collect();
    let mut reply_memo: HashMap<(usize, Segment, Segment), Option<String>> = HashMap::new();
    // What each router can receive, once.
    let router_visible: Vec<Set> = (0..plan.routers.len())
        .map(|r| plan.visible(&[plan.router_domain(r)]))
        .collect();
    for (f, flow) in plan.flows.iter().enumerate() {
        if flow.action != Action::Allow {
            continue;
        }
        let b = &policy.flow_boxes[f];
        if b.is_empty() {
            continue;
        }
        let src_parts = memo
            .entry(&b.src)
            .or_insert_with(|| segments(plan, &b.src))
            .clone();
        let dst_parts = memo
            .entry(&b.dst)
            .or_insert_with(|| segments(plan, &b.dst))
            .clone();
        let mut unreachable: Option<(Set, Set, Vec<String>)> = None;
        let mut reply: Option<(String, Set, Set)> = None;
        // A part of the rule is unreachable when a source segment reaches none of the rule's
        // destination segments, or a destination segment is reached from none of its source
        // segments (of the family). Tiers on several VLANs always have address pairs without
        // a path; those alone are no finding.
        let mut src_ok = vec![[false; 2]; src_parts.len()];
        let mut dst_ok = vec![[false; 2]; dst_parts.len()];
        for (i, (ss, sset)) in src_parts.iter().enumerate() {
            for (j, (ds, dset)) in dst_parts.iter().enumerate() {
                for (f, v4) in [true, false].into_iter().enumerate() {
                    let fam = plan.family(v4);
                    if !sset.intersects(&fam) || !dset.intersects(&fam) {
                        continue;
                    }
                    let routed = !(*ss == Segment::Upstream && *ds == Segment::Upstream)
                        && topology.path(*ss, *ds).is_some();
                    if routed {
                        src_ok[i][f] = true;
                        dst_ok[j][f] = true;
                    }
                }
            }
        }
        for (i, (ss, sset)) in src_parts.iter().enumerate() {
            for (j, (ds, dset)) in dst_parts.iter().enumerate() {
                if *ss == Segment::Upstream && *ds == Segment::Upstream {
                    continue;
                }
                for (f, v4) in [true, false].into_iter().enumerate() {
                    let fam = plan.family(v4);
                    let (sset, dset) = (sset.intersect(&fam), dset.intersect(&fam));
                    if sset.is_empty() || dset.is_empty() {
                        continue;
                    }
                    match topology.path(*ss, *ds) {
                        None => {
                            // Who would accept it: the managed hosts of the destination and
                            // the routers of its domain that see both ends.
                            let mut who: Vec<String> = Vec::new();
                            for (_, h) in topology.owners_in(&dset) {
                                let host = &plan.hosts[h];
                                if host.firewall != FirewallKind::None
                                    && plan.visible(&plan.host_domains(h)).intersects(&sset)
                                {
                                    let w = format!("host {}", host.name);
                                    if !who.contains(&w) {
                                        who.push(w);
                                    }
                                }
                            }
                            for (r, vis) in router_visible.iter().enumerate() {
                                if vis.intersects(&sset) && vis.intersects(&dset) {
                                    who.push(format!("router {}", plan.routers[r].name));
                                }
                            }
                            // Hosts on several VLANs send from the address that has a path,
                            // so only outside sources (the internet, networks) count as
                            // stranded, or a rule that delivers nothing of the family.
                            let nothing = src_ok.iter().all(|o| !o[f]);
                            let outside = src_parts.iter().all(|(s, _)| *s == Segment::Upstream);
                            let stranded = nothing
                                || (*ss == Segment::Upstream && !src_ok[i][f])
                                || (outside && !dst_ok[j][f]);
                            if stranded && unreachable.is_none() {
                                unreachable = Some((sset.clone(), dset.clone(), who));
                            }
                        }
                        Some(forward) => {
                            if reply.is_some() {
                                continue;
                            }
                            let Some(src_key) = space::example(&sset) else {
                                continue;
                            };
                            for (addr, h) in topology.answerers_in(&dset) {
                                if !multi[h] {
                                    continue;
                                }
                                let why = reply_memo
                                    .entry((h, *ss, *ds))
                                    .or_insert_with(|| {
                                        reach::reply_problem(plan, topology, h, src_key, &forward)
                                    })
                                    .clone();
                                if let Some(why) = why {
                                    reply = Some((why, sset.clone(), Set::point(addr)));
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some((s, d, who)) = unreachable {
            let example = match (space::example(&s), space::example(&d)) {
                (Some(a), Some(b)) => {
                    format!(" (e.g. {} -> {})", space::key_addr(a), space::key_addr(b))
                }
                _ => String::new(),
            };
            let message = if who.is_empty() {
                format!("no path of the plan delivers packets this rule allows, and no firewall would see them{example}: the rule has no effect there")
            } else {
                format!(
                    "this rule makes {} accept packets that no path of the plan delivers{example}",
                    super::list(&who)
                )
            };
            diags.push(
                Diagnostic::warning("W084", message)
                .with_primary(flow.origin.span, "accepted, but not reachable")
                .with_help("join the subnets with a router of the plan if the path exists (a VPN, a static route), or narrow the rule to what can arrive"),
            );
        }
        if let Some((why, s, d)) = reply {
            let example = match (space::example(&s), d.first()) {
                (Some(a), Some(b)) => {
                    format!(" (e.g. {} -> {})", space::key_addr(a), space::key_addr(b))
                }
                _ => String::new(),
            };
            diags.push(
                Diagnostic::warning(
                    "W085",
                    format!("connections this rule permits cannot complete{example}: {why}"),
                )
                .with_primary(flow.origin.span, "the request passes, the reply does not")
                .with_help("put the VLAN the clients come through first in the tier's list (it carries the default route), or give the path back through a router of the plan"),
            );
        }
    }
}
