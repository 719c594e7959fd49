//! The reachability engine: which packets from X arrive at Y, exactly, and why.
//!
//! X can reach Y when a packet from X's address to Y's address has a path (same subnet, or
//! subnets joined by routers of the plan) and every enforcement point on it permits the packet:
//! each router crossed and the destination host's firewall. All enforcement points apply the
//! one policy of the plan (see `policy`), so a packet is permitted when it has a path and either
//! the policy permits it or no enforcement point is on its way. A multi-homed host sends from
//! its interface on the destination's subnet when it has one, else from its first interface of
//! the destination's family (the tier's first VLAN carries the default route).

use crate::ir::{EndpointRef, FirewallKind, Plan};
use crate::policy::{Evaluation, Policy};
use crate::space::{self, HBox, Set};
use crate::topology::{Segment, Topology};

/// A part of an endpoint that behaves as one: one host, or the addresses of one segment.
#[derive(Debug, Clone)]
pub struct Unit {
    pub label: String,
    pub host: Option<usize>,
    pub addrs: Set,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcer {
    Router(usize),
    Host(usize),
}

/// The answer for one source unit and one destination unit.
#[derive(Debug, Clone)]
pub struct PairOutcome {
    pub src_label: String,
    pub dst_label: String,
    /// The source addresses the destination sees (after source address selection).
    pub src: Set,
    pub dst: Set,
    /// Routers crossed, in order; `None` when no path exists.
    pub path: Option<Vec<usize>>,
    pub enforcers: Vec<Enforcer>,
    /// What the policy says, for the enforced part of the destination.
    pub eval: Evaluation,
    /// Packets permitted because no enforcement point is on their way.
    pub unenforced: Vec<HBox>,
}

impl PairOutcome {
    /// Every permitted piece, with the allow rule that permits it (None: nothing enforces).
    pub fn permitted(&self) -> impl Iterator<Item = (&HBox, Option<usize>)> {
        self.eval
            .permitted
            .iter()
            .map(|(b, f)| (b, Some(*f)))
            .chain(self.unenforced.iter().map(|b| (b, None)))
    }

    pub fn permitted_services(&self) -> Set {
        self.permitted()
            .fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc))
    }

    pub fn fully_permitted(&self) -> bool {
        self.path.is_some() && self.eval.is_fully_permitted()
    }

    pub fn any_permitted(&self) -> bool {
        self.path.is_some() && self.permitted().next().is_some()
    }
}

fn family(v4: bool) -> Set {
    if v4 {
        space::v4_space()
    } else {
        Set::full().difference(&space::v4_space())
    }
}

/// Split an address set by segment: one unit for each subnet it touches and one for the rest
/// (outside the plan).
fn by_segment(plan: &Plan, label: &str, set: &Set, external_only: bool) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut rest = set.clone();
    let mut order: Vec<usize> = (0..plan.subnets.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(plan.subnets[s].net.prefix_len()));
    for s in order {
        let part = rest.intersect(&space::net_set(&plan.subnets[s].net));
        if part.is_empty() {
            continue;
        }
        rest = rest.difference(&part);
        if !external_only {
            units.push((
                s,
                Unit {
                    label: format!("{label} in {}", plan.vlans[plan.subnets[s].vlan].name),
                    host: None,
                    addrs: part,
                },
            ));
        }
    }
    units.sort_by_key(|(s, _)| *s);
    let mut units: Vec<Unit> = units.into_iter().map(|(_, u)| u).collect();
    for v4 in [true, false] {
        let part = rest.intersect(&family(v4));
        if !part.is_empty() {
            let where_ = if external_only {
                String::new()
            } else {
                " outside the plan".to_string()
            };
            units.push(Unit {
                label: format!("{label}{where_}{}", if v4 { "" } else { " (IPv6)" }),
                host: None,
                addrs: part,
            });
        }
    }
    units
}

pub fn src_units(plan: &Plan, target: &EndpointRef, text: &str) -> Vec<Unit> {
    match *target {
        EndpointRef::Tier(t) => plan.tiers[t]
            .hosts
            .iter()
            .map(|&h| host_unit(plan, h))
            .collect(),
        EndpointRef::Host(h) => vec![host_unit(plan, h)],
        EndpointRef::Internet => by_segment(plan, "internet", &arbitrary_internet(plan), true),
        _ => by_segment(plan, text, &plan.endpoint_set(target), false),
    }
}

/// `internet` as a query endpoint: an arbitrary address, outside the plan's subnets and outside
/// every network the plan names (in rules `internet` also covers the named networks).
pub fn arbitrary_internet(plan: &Plan) -> Set {
    (0..plan.networks.len()).fold(plan.endpoint_set(&EndpointRef::Internet), |acc, n| {
        acc.difference(&plan.endpoint_set(&EndpointRef::Network(n)))
    })
}

pub fn dst_units(plan: &Plan, target: &EndpointRef, text: &str) -> Vec<Unit> {
    let host_ifaces = |h: usize| {
        plan.hosts[h].interfaces.iter().map(move |i| Unit {
            label: format!("{} {}", plan.hosts[h].name, i.addr),
            host: Some(h),
            addrs: Set::point(space::addr_key(i.addr)),
        })
    };
    match *target {
        EndpointRef::Tier(t) => {
            let mut units: Vec<Unit> = plan.tiers[t]
                .hosts
                .iter()
                .flat_map(|&h| host_ifaces(h))
                .collect();
            for v in &plan.vips {
                if !v.members.is_empty() && v.members.iter().all(|&m| plan.hosts[m].tier == t) {
                    units.push(Unit {
                        label: format!("vip {} {}", v.name, v.addr),
                        host: None,
                        addrs: Set::point(space::addr_key(v.addr)),
                    });
                }
            }
            units
        }
        EndpointRef::Host(h) => host_ifaces(h).collect(),
        EndpointRef::Internet => by_segment(plan, "internet", &arbitrary_internet(plan), true),
        _ => by_segment(plan, text, &plan.endpoint_set(target), false),
    }
}

fn host_unit(plan: &Plan, h: usize) -> Unit {
    Unit {
        label: plan.hosts[h].name.clone(),
        host: Some(h),
        addrs: plan.host_set(h),
    }
}

/// The address host `h` sends from towards `dst` (a key), if it has one of that family.
pub fn source_address(plan: &Plan, h: usize, dst: u128) -> Option<u128> {
    let v4 = space::is_v4_key(dst);
    let dst_subnet = plan.subnet_of(dst);
    let ifaces = &plan.hosts[h].interfaces;
    ifaces
        .iter()
        .find(|i| Some(i.subnet) == dst_subnet)
        .or_else(|| ifaces.iter().find(|i| i.addr.is_ipv4() == v4))
        .map(|i| space::addr_key(i.addr))
}

/// Evaluate every packet from `src` to `dst` on `svc`. `None` when the pair is meaningless:
/// the same host, or nothing of the destination's address family on the source side.
pub fn evaluate_pair(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: &Unit,
    dst: &Unit,
    svc: &Set,
) -> Option<PairOutcome> {
    if src.host.is_some() && src.host == dst.host {
        return None;
    }
    let dst_first = dst.addrs.first()?;
    let src_set = match src.host {
        Some(h) => Set::point(source_address(plan, h, dst_first)?),
        None => src.addrs.intersect(&family(space::is_v4_key(dst_first))),
    };
    let src_first = src_set.first()?;
    let (src_seg, dst_seg) = (
        Topology::segment_of(plan, src_first),
        Topology::segment_of(plan, dst_first),
    );
    let path = if src_seg == Segment::Upstream && dst_seg == Segment::Upstream {
        None
    } else {
        topology.path(src_seg, dst_seg)
    };
    let mut enforcers: Vec<Enforcer> = path
        .iter()
        .flatten()
        .map(|&r| Enforcer::Router(r))
        .collect();
    // Who answers on the destination addresses, and which of those addresses a firewall guards.
    // ufw's stock before.rules accept ICMP echo from anywhere, before any user rule.
    let mut managed = Vec::new();
    let mut icmp_open = Vec::new();
    for (addr, h) in topology.owners_in(&dst.addrs) {
        let fw = plan.hosts[h].firewall;
        if fw == FirewallKind::None {
            continue;
        }
        if !enforcers.contains(&Enforcer::Host(h)) {
            enforcers.push(Enforcer::Host(h));
        }
        managed.push((addr, addr));
        if fw == FirewallKind::Ufw {
            icmp_open.push((addr, addr));
        }
    }
    let (managed, icmp_open) = (Set::from_ranges(managed), Set::from_ranges(icmp_open));
    let query = HBox {
        src: src_set.clone(),
        dst: dst.addrs.clone(),
        svc: svc.clone(),
    };
    let mut outcome = PairOutcome {
        src_label: src.label.clone(),
        dst_label: dst.label.clone(),
        src: src_set,
        dst: dst.addrs.clone(),
        path: path.clone(),
        enforcers,
        eval: Evaluation::default(),
        unenforced: Vec::new(),
    };
    match path {
        None => outcome.eval.unmatched = vec![query],
        Some(routers) if !routers.is_empty() => outcome.eval = policy.evaluate(&query),
        Some(_) => {
            let icmp = space::service_set(crate::ir::Proto::Icmp, None);
            let ufw = dst.addrs.intersect(&managed).intersect(&icmp_open);
            let enforced = dst.addrs.intersect(&managed).difference(&ufw);
            let open = dst.addrs.difference(&managed);
            let mut boxes = vec![
                HBox {
                    dst: enforced,
                    ..query.clone()
                },
                HBox {
                    dst: ufw.clone(),
                    svc: svc.difference(&icmp),
                    ..query.clone()
                },
            ];
            boxes.retain(|b| !b.is_empty());
            for b in boxes {
                let e = policy.evaluate(&b);
                outcome.eval.permitted.extend(e.permitted);
                outcome.eval.denied.extend(e.denied);
                outcome.eval.unmatched.extend(e.unmatched);
            }
            for b in [
                HBox {
                    dst: open,
                    ..query.clone()
                },
                HBox {
                    dst: ufw,
                    svc: svc.intersect(&icmp),
                    ..query
                },
            ] {
                if !b.is_empty() {
                    outcome.unenforced.push(b);
                }
            }
        }
    }
    Some(outcome)
}

/// Every pair outcome between two endpoints.
pub fn evaluate(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: &[Unit],
    dst: &[Unit],
    svc: &Set,
) -> Vec<PairOutcome> {
    let mut out = Vec::new();
    for s in src {
        for d in dst {
            out.extend(evaluate_pair(plan, policy, topology, s, d, svc));
        }
    }
    out
}

/// The per-packet reference: is this one packet permitted? Used to check the engine.
pub fn packet_permitted(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: u128,
    dst: u128,
    svc: u128,
) -> bool {
    let (a, b) = (
        Topology::segment_of(plan, src),
        Topology::segment_of(plan, dst),
    );
    if a == Segment::Upstream && b == Segment::Upstream {
        return false;
    }
    let Some(routers) = topology.path(a, b) else {
        return false;
    };
    let is_icmp = space::service_set(crate::ir::Proto::Icmp, None).contains(svc);
    let enforced = !routers.is_empty()
        || plan.hosts.iter().enumerate().any(|(h, host)| {
            host.firewall != FirewallKind::None
                && !(is_icmp && host.firewall == FirewallKind::Ufw)
                && plan.host_local_set(h).contains(dst)
        });
    !enforced || policy.permits(src, dst, svc)
}
