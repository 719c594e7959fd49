//! W084 unreachable-access: an allow rule makes some enforcement point accept packets that no
//! path of the plan delivers (configured access that is not reachable: a VPN or a static
//! route the plan does not model would open it). W085 reply-fails: an allow rule permits
//! requests to a multi-homed host whose replies leave through another interface and cannot
//! come back (the connection fails).
//!
//! Both compare, per allow rule, the rule's packets split by (source segment, destination
//! segment) with the paths of the topology: the same definitions `reach` answers with.

use crate::diag::Diagnostic;
use crate::ir::{Action, Plan};
use crate::policy::Policy;
use crate::reach;
use crate::space::{self, Set};
use crate::topology::{Segment, Topology};
use rustc_hash::FxHashMap as HashMap;

/// An endpoint set cut by segment and family: (segment, [IPv4 part, IPv6 part]).
type Parts = Vec<(Segment, [Set; 2])>;

fn segments(plan: &Plan, set: &Set) -> Parts {
    let (parts, outside) = Topology::split(plan, set);
    let mut out: Vec<(Segment, Set)> = parts
        .into_iter()
        .map(|(s, part)| (Segment::Subnet(s), part))
        .collect();
    if !outside.is_empty() {
        out.push((Segment::Upstream, outside));
    }
    out.sort_by_key(|(s, _)| *s);
    let fams = [plan.family(true), plan.family(false)];
    // Cut by the plan's routes too: every host routes all of a part alike.
    out.into_iter()
        .flat_map(|(s, set)| {
            plan.cut_by_routes(vec![set])
                .into_iter()
                .map(move |p| (s, p))
        })
        .map(|(s, set)| (s, [set.intersect(&fams[0]), set.intersect(&fams[1])]))
        .collect()
}

/// The route cuts of the plan that hold a part (cut by them, it is in each wholly or not at
/// all): with its family and segment, what decides how every host routes to it.
fn route_signature(plan: &Plan, part: &Set) -> Vec<usize> {
    match space::example(part) {
        Some(d) => plan
            .route_cuts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.contains(d))
            .map(|(n, _)| n)
            .collect(),
        None => Vec::new(),
    }
}

/// An endpoint set's parts, and the number of each part's set (per family), shared by every
/// endpoint set with that part.
type Interned = (Parts, Vec<[usize; 2]>);

/// The number of an endpoint set, its parts made (and numbered in `part_ids`) the first time
/// it is seen.
fn intern<'a>(
    plan: &Plan,
    ids: &mut HashMap<&'a Set, usize>,
    parts: &mut Vec<Interned>,
    part_ids: &mut HashMap<Set, usize>,
    set: &'a Set,
) -> usize {
    *ids.entry(set).or_insert_with(|| {
        let cut = segments(plan, set);
        let numbers = cut
            .iter()
            .map(|(_, fam)| {
                [0, 1].map(|f| {
                    let n = part_ids.len();
                    *part_ids.entry(fam[f].clone()).or_insert(n)
                })
            })
            .collect();
        parts.push((cut, numbers));
        parts.len() - 1
    })
}

pub fn check(plan: &Plan, policy: &Policy, topology: &Topology, diags: &mut Vec<Diagnostic>) {
    // Each distinct endpoint set once: its number and its parts.
    let mut ids: HashMap<&Set, usize> = HashMap::default();
    let mut parts: Vec<Interned> = Vec::new();
    // Which hosts answer in which segment: only multi-homed ones can answer elsewhere.
    let multi: Vec<bool> = plan.hosts.iter().map(|h| h.interfaces.len() > 1).collect();
    // The first reply problem of a destination part, by (the part's addresses, the source
    // part's routing class: a reply is routed by its destination, see `route_signature`): it
    // depends on the rule only through the parts (keyed by the parts'
    // sets, not the rule's: a thousand rules between lists of a hundred tiers share their
    // parts, and the memo stays parts x parts, not rules x parts x parts).
    type ReplyKey = (usize, usize);
    let mut part_ids: HashMap<Set, usize> = HashMap::default();
    // Paths between segments, once each (the topology hands out a copy per call).
    let mut routes: HashMap<(Segment, Segment), Option<std::rc::Rc<Vec<usize>>>> =
        HashMap::default();
    let mut route = |a: Segment, b: Segment| {
        routes
            .entry((a, b))
            .or_insert_with(|| topology.path(a, b).map(std::rc::Rc::new))
            .clone()
    };
    let mut reply_memo: HashMap<ReplyKey, Option<(String, space::Key)>> = HashMap::default();
    // What a source part sends to a destination part (`reach::sending`), by the source part
    // and the destination part's routing class: every host routes all addresses of one
    // segment alike unless a route of the plan cuts it, so (family, segment, the route cuts
    // holding the part) decides which address a host sends from (many destination parts
    // share a class: tiers scattered over one subnet).
    let mut sending_memo: HashMap<(usize, usize), std::rc::Rc<Set>> = HashMap::default();
    let mut route_classes: HashMap<(usize, Segment, Vec<usize>), usize> = HashMap::default();
    let mut class_of_part: HashMap<usize, usize> = HashMap::default();
    // Whether replies leaving by a subnet fail, by (that subnet, request's segments).
    let mut fails_via: HashMap<(usize, Segment, Segment), bool> = HashMap::default();
    // The multi-homed answerers of a destination part, by (part, family).
    let mut multi_in: HashMap<(usize, usize), Vec<(space::Key, usize)>> = HashMap::default();
    // The inside addresses a router's `nat forward` or `nat static` publishes (the internet
    // reaches them through their public address) and those public addresses (translated, not
    // the internet's): the border rule (`reach::border_blocked`) applies to the rest.
    let published = crate::nat::public_addresses(plan).union(&Set::from_ranges(
        plan.routers
            .iter()
            .flat_map(|r| &r.nats)
            .filter_map(|n| match n.kind {
                crate::ir::NatKind::Forward { to_key, .. }
                | crate::ir::NatKind::Static { to_key, .. } => Some((to_key, to_key)),
                crate::ir::NatKind::Source { .. } => None,
            }),
    ));
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
        let src_id = intern(plan, &mut ids, &mut parts, &mut part_ids, &b.src);
        let dst_id = intern(plan, &mut ids, &mut parts, &mut part_ids, &b.dst);
        let ((src_parts, src_part_ids), (dst_parts, dst_part_ids)) =
            (&parts[src_id], &parts[dst_id]);
        // What each source part sends to each destination part: a host sends from the
        // address its kernel picks (`reach::sending`), so a tier's other addresses send
        // nothing there.
        let mut classes_of = |ps: &Parts, ids: &[[usize; 2]]| -> Vec<[usize; 2]> {
            ps.iter()
                .enumerate()
                .map(|(j, (seg, fam))| {
                    [0, 1].map(|f| {
                        *class_of_part.entry(ids[j][f]).or_insert_with(|| {
                            let n = route_classes.len();
                            *route_classes
                                .entry((f, *seg, route_signature(plan, &fam[f])))
                                .or_insert(n)
                        })
                    })
                })
                .collect()
        };
        let classes = classes_of(dst_parts, dst_part_ids);
        let src_classes = classes_of(src_parts, src_part_ids);
        let sends: Vec<Vec<[std::rc::Rc<Set>; 2]>> = src_parts
            .iter()
            .enumerate()
            .map(|(i, (_, sfam))| {
                dst_parts
                    .iter()
                    .enumerate()
                    .map(|(j, (_, dfam))| {
                        [0, 1].map(|f| {
                            // An empty part has a class of its own making (every empty set is
                            // one part, classed where first seen): never memoised, or its
                            // nothing would stand for a real part of that class.
                            if sfam[f].is_empty() || dfam[f].is_empty() {
                                return std::rc::Rc::new(Set::empty());
                            }
                            sending_memo
                                .entry((src_part_ids[i][f], classes[j][f]))
                                .or_insert_with(|| {
                                    std::rc::Rc::new(match space::example(&dfam[f]) {
                                        Some(d) => reach::sending(plan, topology, &sfam[f], d),
                                        None => Set::empty(),
                                    })
                                })
                                .clone()
                        })
                    })
                    .collect()
            })
            .collect();
        let mut unreachable: Option<(Set, Set, Vec<String>)> = None;
        // A destination part that only unpicked source addresses have a path to: (source
        // part, destination part, family).
        let mut unpicked: Vec<(usize, usize, usize)> = Vec::new();
        // (why, sources, destination, whether it is the border rule)
        let mut reply: Option<(String, Set, Set, bool)> = None;
        // A part of the rule is unreachable when a source segment reaches none of the rule's
        // destination segments, or a destination segment is reached from none of its source
        // segments (of the family). Tiers on several VLANs always have address pairs without
        // a path; those alone are no finding.
        let mut src_ok = vec![[false; 2]; src_parts.len()];
        let mut dst_ok = vec![[false; 2]; dst_parts.len()];
        for (i, (ss, sfam)) in src_parts.iter().enumerate() {
            for (j, (ds, dfam)) in dst_parts.iter().enumerate() {
                for f in 0..2 {
                    if sfam[f].is_empty() || dfam[f].is_empty() {
                        continue;
                    }
                    let routed = !(*ss == Segment::Upstream && *ds == Segment::Upstream)
                        && route(*ss, *ds).is_some();
                    if routed && !sends[i][j][f].is_empty() {
                        src_ok[i][f] = true;
                        dst_ok[j][f] = true;
                    } else if routed {
                        unpicked.push((i, j, f));
                    }
                }
            }
        }
        let outside = src_parts.iter().all(|(s, _)| *s == Segment::Upstream);
        for (i, (ss, sfam)) in src_parts.iter().enumerate() {
            for (j, (ds, dfam)) in dst_parts.iter().enumerate() {
                if *ss == Segment::Upstream && *ds == Segment::Upstream {
                    continue;
                }
                for f in 0..2 {
                    let (sset, dset) = (&sends[i][j][f], &dfam[f]);
                    if sfam[f].is_empty() || sset.is_empty() || dset.is_empty() {
                        continue;
                    }
                    match route(*ss, *ds) {
                        None => {
                            if unreachable.is_some() {
                                continue;
                            }
                            // Hosts on several VLANs send from the address that has a path,
                            // so only outside sources (the internet, networks) count as
                            // stranded, or a rule that delivers nothing of the family.
                            let nothing = src_ok.iter().all(|o| !o[f]);
                            let stranded = nothing
                                || (*ss == Segment::Upstream && !src_ok[i][f])
                                || (outside && !dst_ok[j][f]);
                            if !stranded {
                                continue;
                            }
                            // Who would accept it: the managed hosts of the destination and
                            // the routers of its domain that see both ends.
                            let mut who: Vec<String> = Vec::new();
                            for (_, h) in topology.owners_in(dset) {
                                let host = &plan.hosts[h];
                                if host.firewall.managed()
                                    && plan.visible(&plan.host_domains(h)).intersects(sset)
                                {
                                    let w = format!("host {}", host.name);
                                    if !who.contains(&w) {
                                        who.push(w);
                                    }
                                }
                            }
                            for (r, vis) in router_visible.iter().enumerate() {
                                if vis.intersects(sset) && vis.intersects(dset) {
                                    who.push(format!("router {}", plan.routers[r].name));
                                }
                            }
                            unreachable = Some(((**sset).clone(), dset.clone(), who));
                        }
                        Some(forward) => {
                            if reply.is_some() {
                                continue;
                            }
                            // Private and public addresses meet at the border only translated.
                            if let Some((s, d, why)) = reach::border_blocked(
                                plan,
                                sset,
                                &dset.difference(&published),
                                *ss,
                                *ds,
                                Some(&forward),
                            ) {
                                let d = Set::point(space::example(&d).unwrap_or_default());
                                reply = Some((why, s, d, true));
                                continue;
                            }
                            let Some(src_key) = space::example(sset) else {
                                continue;
                            };
                            let part = dst_part_ids[j][f];
                            let found =
                                reply_memo
                                    .entry((part, src_classes[i][f]))
                                    .or_insert_with(|| {
                                        let hosts =
                                            multi_in.entry((part, f)).or_insert_with(|| {
                                                topology
                                                    .answerers_in(dset)
                                                    .filter(|&(_, h)| multi[h])
                                                    .collect()
                                            });
                                        // A host answers through the interface its route to the
                                        // source leaves by (the source part routes alike: it is
                                        // cut by the plan's routes), so whether replies fail is
                                        // asked once per (that subnet, request's segments).
                                        let src_subnet = match ss {
                                            Segment::Subnet(s) => Some(*s),
                                            Segment::Upstream => None,
                                        };
                                        hosts.iter().find_map(|(addr, h)| {
                                            let out = reach::reply_interface(plan, *h, src_key)
                                                .map(|i| i.subnet);
                                            if out.is_some() && out == src_subnet {
                                                return None;
                                            }
                                            let fails = match out {
                                                None => true,
                                                Some(o) => *fails_via
                                                    .entry((o, *ss, *ds))
                                                    .or_insert_with(|| {
                                                        match topology.path(Segment::Subnet(o), *ss)
                                                        {
                                                            None => true,
                                                            Some(back) => back
                                                                .iter()
                                                                .any(|r| !forward.contains(r)),
                                                        }
                                                    }),
                                            };
                                            if !fails {
                                                return None;
                                            }
                                            reach::reply_problem(
                                                plan, topology, *h, src_key, &forward,
                                            )
                                            .map(|why| (why, *addr))
                                        })
                                    });
                            if let Some((why, addr)) = found {
                                reply =
                                    Some((why.clone(), (**sset).clone(), Set::point(*addr), false));
                            }
                        }
                    }
                }
            }
        }
        // A destination part that no source part reaches from an address its hosts send from,
        // while another address of theirs has a path: the kernel never picks that one.
        let unpicked = unpicked.into_iter().find(|&(_, j, f)| !dst_ok[j][f]);
        if let Some((i, j, f)) = unpicked {
            let (sset, dset) = (&src_parts[i].1[f], &dst_parts[j].1[f]);
            let d = topology
                .interfaces_in(dset)
                .next()
                .map(|x| x.0)
                .or_else(|| space::example(dset));
            let found = d
                .zip(topology.interfaces_in(sset).next())
                .and_then(|(d, (addr, h))| {
                    reach::picked_instead(plan, h, addr, d).map(|why| (why, addr, h))
                });
            if let Some((why, addr, h)) = found {
                let host = &plan.hosts[h];
                // The VLAN of the address that has a path: the route to give the tier.
                let via = host
                    .interfaces
                    .iter()
                    .find(|i| plan.iface_key(i) == addr)
                    .map_or("VLAN", |i| plan.vlans[i.vlan].name.as_str());
                diags.push(
                    Diagnostic::new(
                        &crate::codes::W084,
                        format!("this rule can only be used from an address the kernel does not pick: {why}, and only {} has a path", space::key_addr(addr)),
                    )
                    .with_primary(flow.origin.span, "allowed from an address no packet leaves from")
                    .with_help(format!(
                        "give the tier a route through the VLAN that leads there (`route PREFIX via {via}` on the tier)"
                    )),
                );
                continue;
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
                Diagnostic::new(&crate::codes::W084, message)
                .with_primary(flow.origin.span, "accepted, but not reachable")
                .with_help("join the subnets with a router of the plan if the path exists (a VPN, a static route), or narrow the rule to what can arrive"),
            );
        }
        if let Some((why, s, d, border)) = reply {
            let example = match (space::example(&s), d.first()) {
                (Some(a), Some(b)) => {
                    format!(" (e.g. {} -> {})", space::key_addr(a), space::key_addr(b))
                }
                _ => String::new(),
            };
            diags.push(
                Diagnostic::new(
                    &crate::codes::W085,
                    format!("connections this rule permits cannot complete{example}: {why}"),
                )
                .with_primary(flow.origin.span, "the request passes, the reply does not")
                .with_help(if border {
                    "translate at the router that leads to the internet (`nat source` for inside clients, `nat forward` or `nat static` for inside servers), or narrow the rule to public addresses"
                } else {
                    "give the tier a route back through the VLAN the clients come through (`route PREFIX via VLAN`), put that VLAN first in the tier's list (it carries the default route), or give the path back through a router of the plan"
                }),
            );
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W084: crate::codes::Code = crate::codes::code!("W084", "unreachable-access", Warning, "a rule makes a firewall accept what no path delivers",
        "What it does: reports an allow rule whose packets some enforcement point accepts (a\n\
         host's firewall, a router's ruleset) although no path of the plan carries them: the\n\
         subnets are joined by no router, or sit in VRFs that no router joins.\n\
         Why: the access is configured but not reachable; a route the plan does not model (a VPN,\n\
         a static route) opens it, and no gate counts it as reachable.\n\
         Example:\n    network admins 198.51.100.0/28\n    allow admins -> catalog : postgres   # no router brings admins to catalog");
pub const W085: crate::codes::Code = crate::codes::code!("W085", "reply-fails", Warning, "a multi-homed host answers through an interface that leads nowhere",
        "What it does: reports an allow rule whose requests reach a host with several interfaces\n\
         that answers through another one (its default route: the tier's first VLAN), from where\n\
         no router leads back, or only through a router that did not see the request.\n\
         Why: the firewalls accept the request but the connection never completes; stateful\n\
         firewalls drop replies they have no connection for.\n\
         Example:\n    tier lb on app, dmz   # default route on app\n    allow internet -> lb : https   # arrives on dmz, answered through app");
