//! The reachability engine: which packets from X arrive at Y, exactly, and why.
//!
//! A packet is reachable when it has a path (same subnet, or subnets joined by routers of the
//! plan, within one routing domain: see `topology`), every enforcement point on it permits it,
//! and its reply can come back. Enforcement points are the routers crossed, the destination
//! host's firewall, and a router itself for packets to its own addresses (its input chain).
//! All of them apply the one policy of the plan (see `policy`), so a packet is permitted when
//! either the policy permits it or no enforcement point is on its way.
//!
//! Every source address counts: a multi-homed host can send from any of its addresses, and
//! the firewalls judge the packet by its address, so a host is one unit per address.
//!
//! Replies: the destination host answers through the interface on the source's subnet when it
//! has one, else through its default route (its first interface of the family: the tier's
//! first VLAN). The reply must have a path back, and it may only cross routers that saw the
//! request (a stateful firewall drops a reply it has no connection for).

use crate::ir::{EndpointRef, Plan};
use crate::policy::{Evaluation, Policy};
use crate::space::{self, HBox, Key, Set};
use crate::topology::{Segment, Topology};

/// A part of an endpoint that behaves as one: one address of a host, or the addresses of one
/// segment.
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
    /// A host's output filter (`egress filtered`), on what it sends.
    Egress(usize),
}

/// The answer for one source unit and one destination unit.
#[derive(Debug, Clone)]
pub struct PairOutcome {
    pub src_label: String,
    pub dst_label: String,
    pub src_host: Option<usize>,
    pub dst_host: Option<usize>,
    pub src: Set,
    pub dst: Set,
    /// Routers crossed, in order; `None` when no path exists.
    pub path: Option<Vec<usize>>,
    pub enforcers: Vec<Enforcer>,
    /// What the policy says, for the enforced part of the destination.
    pub eval: Evaluation,
    /// Packets permitted because no enforcement point is on their way.
    pub unenforced: Vec<HBox>,
    /// Pieces the enforcement points accept but whose replies cannot come back (moved out of
    /// `eval.permitted` and `unenforced`), with the reason of the first.
    pub reply_blocked: Vec<(HBox, Option<usize>)>,
    pub reply_fails: Option<String>,
    /// The translations the packets undergo on their way (`nat`), in words.
    pub notes: Vec<String>,
    /// The address packets to `dst` are translated to, if they are.
    pub translated_to: Option<Key>,
}

impl PairOutcome {
    /// Every piece the enforcement points accept, with the allow rule that permits it (None:
    /// nothing enforces), path or not: the configured access.
    pub fn accepted(&self) -> impl Iterator<Item = (&HBox, Option<usize>)> {
        self.forwardable()
            .chain(self.reply_blocked.iter().map(|(b, f)| (b, *f)))
    }

    fn forwardable(&self) -> impl Iterator<Item = (&HBox, Option<usize>)> {
        self.eval
            .permitted
            .iter()
            .map(|(b, f)| (b, Some(*f)))
            .chain(self.unenforced.iter().map(|b| (b, None)))
    }

    /// Every reachable piece: accepted, with a path, and with replies that come back.
    pub fn permitted(&self) -> impl Iterator<Item = (&HBox, Option<usize>)> {
        let ok = self.path.is_some();
        self.forwardable().filter(move |_| ok)
    }

    pub fn permitted_services(&self) -> Set {
        self.permitted()
            .fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc))
    }

    pub fn fully_permitted(&self) -> bool {
        self.path.is_some() && self.reply_blocked.is_empty() && self.eval.is_fully_permitted()
    }

    pub fn any_permitted(&self) -> bool {
        self.permitted().next().is_some()
    }
}

/// Split an address set by segment: one unit for each subnet it touches and one per family
/// for the rest (outside the plan).
fn by_segment(plan: &Plan, label: &str, set: &Set, external_only: bool) -> Vec<Unit> {
    let (parts, rest) = Topology::split(plan, set);
    let many_domains = plan.domains.count > 1;
    let mut units: Vec<Unit> = Vec::new();
    if !external_only {
        for (s, part) in parts {
            let vlan = &plan.vlans[plan.subnets[s].vlan];
            let vrf = if many_domains {
                format!(" (vrf {})", vlan.vrf)
            } else {
                String::new()
            };
            for addrs in plan.cut_by_routes(vec![part]) {
                units.push(Unit {
                    label: format!("{label} in {}{vrf}", vlan.name),
                    host: None,
                    addrs,
                });
            }
        }
    }
    // What is left is the internet (domain 0 outside every subnet); addresses of a domain that
    // fall in no subnet of it are nowhere and form no unit.
    for v4 in [true, false] {
        let part = rest.intersect(&plan.family(v4));
        if !part.is_empty() {
            let where_ = if external_only {
                String::new()
            } else {
                " outside the plan".to_string()
            };
            for addrs in plan.cut_by_routes(vec![part]) {
                units.push(Unit {
                    label: format!("{label}{where_}{}", if v4 { "" } else { " (IPv6)" }),
                    host: None,
                    addrs,
                });
            }
        }
    }
    units
}

/// The host units of a tier or host on some VLANs (`catalog@app-db`, `serve`), and the VIPs
/// of the tier there.
fn scoped_units(plan: &Plan, target: &EndpointRef, with_vips: bool) -> Vec<Unit> {
    let set = plan.endpoint_set(target);
    let (hosts, tier): (Vec<usize>, Option<usize>) = match *target {
        EndpointRef::TierOn { tier, .. } => (plan.tiers[tier].hosts.clone(), Some(tier)),
        EndpointRef::HostOn { host, .. } => (vec![host], None),
        _ => (Vec::new(), None),
    };
    let mut units: Vec<Unit> = hosts
        .iter()
        .flat_map(|&h| host_units(plan, h))
        .filter(|u| u.addrs.intersects(&set))
        .collect();
    if let (true, Some(t)) = (with_vips, tier) {
        units.extend(tier_vips(plan, t).filter(|u| u.addrs.intersects(&set)));
    }
    units
}

/// The VIPs all of whose members are in tier `t` (part of the tier, as in rules).
fn tier_vips(plan: &Plan, t: usize) -> impl Iterator<Item = Unit> + '_ {
    plan.vips
        .iter()
        .enumerate()
        .filter(move |(_, vip)| {
            !vip.members.is_empty() && vip.members.iter().all(|&m| plan.hosts[m].tier == t)
        })
        .map(|(v, vip)| Unit {
            label: format!("vip {} {}", vip.name, vip.addr),
            host: None,
            addrs: Set::point(plan.vip_key(v)),
        })
}

pub fn src_units(plan: &Plan, target: &EndpointRef, text: &str) -> Vec<Unit> {
    match *target {
        EndpointRef::TierOn { .. } | EndpointRef::HostOn { .. } => {
            scoped_units(plan, target, false)
        }
        EndpointRef::Tier(t) => plan.tiers[t]
            .hosts
            .iter()
            .flat_map(|&h| host_units(plan, h))
            .collect(),
        EndpointRef::Host(h) => host_units(plan, h),
        EndpointRef::Internet => by_segment(plan, "internet", &arbitrary_internet(plan), true),
        _ => by_segment(plan, text, &plan.endpoint_set(target), false),
    }
}

/// `internet` as a query endpoint: an arbitrary address the internet routes, outside the plan's
/// subnets, outside every network the plan names (in rules `internet` also covers the named
/// networks) and outside the private ranges (RFC 1918, shared 100.64.0.0/10, ULA fc00::/7,
/// link-local), and outside the addresses routers hold upstream and translate: no packet from
/// the internet comes from those.
pub fn arbitrary_internet(plan: &Plan) -> Set {
    // The addresses routers hold upstream (and translate) are the plan's, not the internet's.
    let private = crate::nat::private_set().union(&Set::union_all(
        plan.routers
            .iter()
            .flat_map(|r| &r.upstream_addrs)
            .map(|n| Set::point(space::key(0, n.addr()))),
    ));
    let private = private.union(&crate::nat::public_addresses(plan));
    (0..plan.networks.len()).fold(plan.internet_set().difference(&private), |acc, n| {
        acc.difference(&plan.endpoint_set(&EndpointRef::Network(n)))
    })
}

pub fn dst_units(plan: &Plan, target: &EndpointRef, text: &str) -> Vec<Unit> {
    match *target {
        EndpointRef::Tier(t) => {
            let mut units: Vec<Unit> = plan.tiers[t]
                .hosts
                .iter()
                .flat_map(|&h| host_units(plan, h))
                .collect();
            units.extend(tier_vips(plan, t));
            units
        }
        EndpointRef::TierOn { .. } | EndpointRef::HostOn { .. } => scoped_units(plan, target, true),
        EndpointRef::Host(h) => host_units(plan, h),
        EndpointRef::Internet => by_segment(plan, "internet", &arbitrary_internet(plan), true),
        _ => by_segment(plan, text, &plan.endpoint_set(target), false),
    }
}

/// One unit per address of a host.
fn host_units(plan: &Plan, h: usize) -> Vec<Unit> {
    plan.hosts[h]
        .interfaces
        .iter()
        .map(|i| Unit {
            label: format!("{} {}", plan.hosts[h].name, i.addr),
            host: Some(h),
            addrs: Set::point(plan.iface_key(i)),
        })
        .collect()
}

/// A route the kernel of a host takes: the interface it leaves by (its address is the source
/// address the kernel picks), the next hop (`None`: the destination is on that interface's
/// subnet, or the subnet has no gateway and no router) and the prefix it matched.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    pub iface: &'a crate::ir::Interface,
    pub via: Option<std::net::IpAddr>,
    pub prefix_len: u8,
}

/// Host `h`'s routes beyond its connected subnets, as its kernel holds them (and as the
/// `routes` target writes them): per family, the default route through its first interface
/// unless a `route default` replaces it, and every route of the host and its tier through an
/// interface on the route's VLAN (the first route of a prefix wins: the host's own before its
/// tier's).
pub fn route_table(plan: &Plan, h: usize) -> Vec<(ipnet::IpNet, Choice<'_>)> {
    let host = &plan.hosts[h];
    let mut table: Vec<(ipnet::IpNet, Choice)> = Vec::new();
    for v4 in [true, false] {
        let Some(first) = host.interfaces.iter().find(|i| i.addr.is_ipv4() == v4) else {
            continue;
        };
        let routes: Vec<&crate::ir::Route> = plan
            .routes_of(h)
            .filter(|r| r.net.addr().is_ipv4() == v4)
            .collect();
        // An explicit default route replaces the first interface's, if it can be taken.
        let usable = |r: &&&crate::ir::Route| {
            host.interfaces
                .iter()
                .any(|i| i.vlan == r.vlan && i.addr.is_ipv4() == v4)
        };
        if !routes
            .iter()
            .filter(usable)
            .any(|r| r.net.prefix_len() == 0)
        {
            let any: ipnet::IpNet = if v4 { "0.0.0.0/0" } else { "::/0" }
                .parse()
                .expect("valid prefix");
            let via = plan.next_hop(first.subnet);
            table.push((
                any,
                Choice {
                    iface: first,
                    via,
                    prefix_len: 0,
                },
            ));
        }
        for r in routes {
            if table.iter().any(|(n, _)| *n == r.net) {
                continue;
            }
            let Some(iface) = host
                .interfaces
                .iter()
                .find(|i| i.vlan == r.vlan && i.addr.is_ipv4() == v4)
            else {
                continue;
            };
            let via = Some(plan.next_hop(iface.subnet).unwrap_or(r.gateway));
            let prefix_len = r.net.prefix_len();
            table.push((
                r.net,
                Choice {
                    iface,
                    via,
                    prefix_len,
                },
            ));
        }
    }
    table
}

/// How host `h`'s kernel sends to `dst`: the longest prefix wins among its connected subnets
/// (first on a tie) and its `route_table` (the host's own routes, its tier's, the default).
/// Why host `h` does not send to `dst` from its address `addr`: the address its kernel picks
/// instead, in words ("lb01 sends to 10.20.10.11 from 10.20.1.11 (app-lb, its route), not
/// from 203.0.113.11"); `None` when the kernel picks `addr`.
pub fn picked_instead(plan: &Plan, h: usize, addr: Key, dst: Key) -> Option<String> {
    let host = &plan.hosts[h];
    match route_of(plan, h, dst) {
        Some(c) if plan.iface_key(c.iface) == addr => None,
        Some(c) => Some(format!(
            "{} sends to {} from {} ({}, {}), not from {}",
            host.name,
            space::key_addr(dst),
            c.iface.addr,
            plan.vlans[c.iface.vlan].name,
            match (c.via, c.prefix_len) {
                (_, 0) => "its default route",
                (None, _) => "its subnet",
                (Some(_), _) => "its route",
            },
            space::key_addr(addr)
        )),
        None => Some(format!("{} has no address of the family", host.name)),
    }
}

pub fn route_of(plan: &Plan, h: usize, dst: Key) -> Option<Choice<'_>> {
    let v4 = space::is_v4_key(dst);
    let host = &plan.hosts[h];
    // Connected: the most specific subnet holding `dst` (in its own domain).
    let mut best = plan.subnet_of(dst).and_then(|s| {
        host.interfaces
            .iter()
            .find(|i| i.subnet == s && i.addr.is_ipv4() == v4)
            .map(|iface| Choice {
                iface,
                via: None,
                prefix_len: plan.subnets[s].net.prefix_len(),
            })
    });
    // Without routes of its own the table is the default route alone (the hot case: no
    // table is built).
    if plan.routes_of(h).next().is_none() {
        if best.is_some() {
            return best;
        }
        let iface = host.interfaces.iter().find(|i| i.addr.is_ipv4() == v4)?;
        return Some(Choice {
            iface,
            via: plan.next_hop(iface.subnet),
            prefix_len: 0,
        });
    }
    let addr = space::key_addr(dst);
    for (net, choice) in route_table(plan, h) {
        let in_domain =
            net.prefix_len() == 0 || space::key(plan.vlan_domain(choice.iface.vlan), addr) == dst;
        if net.contains(&addr) && in_domain && best.is_none_or(|b| b.prefix_len < choice.prefix_len)
        {
            best = Some(choice);
        }
    }
    best
}

/// The interface host `h` answers a packet from `src` through (see `route_of`).
pub fn reply_interface(plan: &Plan, h: usize, src: Key) -> Option<&crate::ir::Interface> {
    route_of(plan, h, src).map(|c| c.iface)
}

/// The address host `h` sends from towards `dst`, as the kernel picks it: the address of the
/// interface its route leaves by. A VIP is never picked (keepalived adds it after the
/// interface's own address).
pub fn source_address(plan: &Plan, h: usize, dst: Key) -> Option<Key> {
    reply_interface(plan, h, dst).map(|i| plan.iface_key(i))
}

/// The addresses of `set` a host sends from towards `dst`: every address that is not a
/// host's (a network, the internet), and of hosts' addresses only the one their kernel picks
/// for `dst`. VIP addresses send nothing (see `source_address`).
/// `set` and `dst` are of one family.
pub fn sending(plan: &Plan, topology: &Topology, set: &Set, dst: Key) -> Set {
    // A host's only address of the family is picked for every destination of the family:
    // only the others need their host's route.
    let multi = set.difference(topology.only_choices());
    let mut unused = Vec::new();
    for (addr, h) in topology.interfaces_in(&multi) {
        if source_address(plan, h, dst) != Some(addr) {
            unused.push((addr, addr));
        }
    }
    set.difference(&Set::from_ranges(unused))
        .difference(topology.vip_addresses())
}

/// Why the replies of host `h` to `src` cannot come back along a request that crossed
/// `forward`, if they cannot.
pub fn reply_problem(
    plan: &Plan,
    topology: &Topology,
    h: usize,
    src: Key,
    forward: &[usize],
) -> Option<String> {
    let host = &plan.hosts[h];
    let Some(out) = reply_interface(plan, h, src) else {
        return Some(format!(
            "{} has no address of the source's family",
            host.name
        ));
    };
    let (out_seg, src_seg) = (Segment::Subnet(out.subnet), Topology::segment_of(plan, src));
    let vlan = &plan.vlans[out.vlan].name;
    match topology.path(out_seg, src_seg) {
        None => Some(format!(
            "{} answers through {} ({vlan}, its default route), and no router of the plan leads from there back to {}",
            host.name,
            out.dev,
            match src_seg {
                Segment::Subnet(s) => format!("{} {}", plan.vlans[plan.subnets[s].vlan].name, plan.subnets[s].net),
                Segment::Upstream => "the internet".to_string(),
            }
        )),
        Some(back) => back.iter().find(|r| !forward.contains(r)).map(|&r| {
            format!(
                "{} answers through {} ({vlan}) and its reply crosses router {}, which did not see the request: a stateful firewall drops it",
                host.name, out.dev, plan.routers[r].name
            )
        }),
    }
}

/// Evaluate every packet from `src` to `dst` on `svc`: one outcome, or one per translation
/// when `dst` is a public address a router translates (plus one, without a path, for the
/// services it does not translate). Empty when the pair is meaningless: the same host, or
/// nothing of the destination's address family on the source side.
pub fn evaluate_pair(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: &Unit,
    dst: &Unit,
    svc: &Set,
) -> Vec<PairOutcome> {
    if src.host.is_some() && src.host == dst.host {
        return Vec::new();
    }
    // Destination units are cut at every public address of a translation (`Plan::nat_cuts`).
    if let [(a, b)] = dst.addrs.ranges() {
        if a == b {
            let ins = crate::nat::inbound(plan, *a);
            if !ins.is_empty() {
                return translated(plan, policy, topology, src, dst, svc, &ins);
            }
        }
    }
    evaluate_on(plan, policy, topology, src, dst, svc, None)
        .into_iter()
        .collect()
}

/// A packet sent to a public address and translated by `inbound`: the path it takes and the
/// source it leaves from.
struct Via<'a> {
    inbound: &'a crate::nat::Inbound,
    path: Option<Vec<usize>>,
    src_set: Set,
}

/// The routers a packet to a translated public address crosses: from the internet, the
/// translating router and on to the inside address; from inside, its way out must lead to
/// the translating router (hairpin), then on. `None` when it does not.
pub fn translated_path(
    plan: &Plan,
    topology: &Topology,
    src_seg: Segment,
    t: &crate::nat::Inbound,
) -> Option<Vec<usize>> {
    let mut path = if src_seg == Segment::Upstream {
        vec![t.router]
    } else {
        topology
            .path(src_seg, Segment::Upstream)
            .filter(|p| p.last() == Some(&t.router))?
    };
    path.extend(topology.path_from_router(t.router, Topology::segment_of(plan, t.to))?);
    Some(path)
}

/// Router `r`'s routes beyond its connected subnets: each subnet of its routing domain that
/// it is not on, and (when it has no upstream of its own) the default route of each family
/// towards the internet, through the next router on the way `Topology::path_from_router`
/// finds, at that router's address on a subnet both are on. What the `routes` target writes
/// for routers and the packet labs load (routers in series need them).
pub fn router_route_table<'a>(
    plan: &'a Plan,
    topology: &Topology,
    r: usize,
) -> Vec<(ipnet::IpNet, std::net::IpAddr, &'a str)> {
    let router = &plan.routers[r];
    let subnet_of = |vlan: usize, addr: std::net::IpAddr| plan.subnet_in_vlans(addr, &[vlan]);
    let connected: Vec<usize> = router
        .interfaces
        .iter()
        .filter_map(|i| subnet_of(i.vlan, i.addr))
        .collect();
    let hop = |seg: Segment, v4: bool| -> Option<(std::net::IpAddr, &'a str)> {
        let next = *topology.path_from_router(r, seg)?.first()?;
        router
            .interfaces
            .iter()
            .filter(|i| i.addr.is_ipv4() == v4)
            .find_map(|i| {
                let s = subnet_of(i.vlan, i.addr)?;
                plan.routers[next]
                    .interfaces
                    .iter()
                    .find(|j| j.addr.is_ipv4() == v4 && subnet_of(j.vlan, j.addr) == Some(s))
                    .map(|j| (j.addr, i.dev.as_str()))
            })
    };
    let mut out = Vec::new();
    for (s, subnet) in plan.subnets.iter().enumerate() {
        if connected.contains(&s) || plan.vlan_domain(subnet.vlan) != plan.router_domain(r) {
            continue;
        }
        if let Some((via, dev)) = hop(Segment::Subnet(s), subnet.net.addr().is_ipv4()) {
            out.push((subnet.net, via, dev));
        }
    }
    if router.upstream.is_none() {
        for (v4, default) in [(true, "0.0.0.0/0"), (false, "::/0")] {
            if let Some((via, dev)) = hop(Segment::Upstream, v4) {
                out.push((default.parse().expect("a prefix"), via, dev));
            }
        }
    }
    out
}

/// Why host `h`'s replies to `src` skip router `r`, which translated the request, if they do.
pub fn reply_skips(
    plan: &Plan,
    topology: &Topology,
    h: usize,
    src: Key,
    r: usize,
) -> Option<String> {
    let out = reply_interface(plan, h, src)?;
    let back = topology.path(Segment::Subnet(out.subnet), Topology::segment_of(plan, src))?;
    (!back.contains(&r)).then(|| {
        format!(
            "{} answers {} directly through {}, not through router {}, which translated the request: the client drops a reply from an address it did not call",
            plan.hosts[h].name,
            space::key_addr(src),
            out.dev,
            plan.routers[r].name
        )
    })
}

/// Why packets between a private and a public address cannot cross the border untranslated:
/// the sources and destinations concerned (within `src` and `dst`), and the reason. A private
/// source reaches the internet only when the router it leaves by translates it; the internet
/// reaches a private address only through a public address a router forwards to it.
pub fn border_blocked(
    plan: &Plan,
    src: &Set,
    dst: &Set,
    src_seg: Segment,
    dst_seg: Segment,
    path: Option<&Vec<usize>>,
) -> Option<(Set, Set, String)> {
    use crate::nat;
    match (src_seg, dst_seg) {
        (Segment::Upstream, Segment::Upstream) => None,
        (_, Segment::Upstream) => {
            let exit = *path?.last()?;
            let public = dst.difference(&nat::private_part(dst));
            let bad = nat::private_part(src).difference(&plan.routers[exit].translated);
            let first = bad.first()?;
            (!public.is_empty()).then(|| {
                (
                    bad,
                    public,
                    format!(
                        "{} is a private address and router {} does not translate it: replies from the internet cannot come back ({})",
                        space::key_addr(first),
                        plan.routers[exit].name,
                        if space::is_v4_key(first) {
                            format!("add `nat source` on {}", plan.routers[exit].name)
                        } else {
                            "netc does no NAT66: give the host a global IPv6 address".to_string()
                        }
                    ),
                )
            })
        }
        (Segment::Upstream, _) => {
            let public = src.difference(&nat::private_part(src));
            let private = nat::private_part(dst);
            let first = private.first()?;
            (!public.is_empty()).then(|| {
                (
                    public,
                    private,
                    format!(
                        "the internet does not route {}, a private address: only a public address a router translates to it (`nat forward`, `nat static`) reaches it",
                        space::key_addr(first)
                    ),
                )
            })
        }
        _ => None,
    }
}

/// The part of `b` in `src` × `dst`, and the rest of `b` (up to two boxes).
fn cut_box(b: HBox, src: &Set, dst: &Set) -> (HBox, Vec<HBox>) {
    let inside = HBox {
        src: b.src.intersect(src),
        dst: b.dst.intersect(dst),
        svc: b.svc.clone(),
    };
    let rest = [
        HBox {
            src: b.src.difference(src),
            dst: b.dst.clone(),
            svc: b.svc.clone(),
        },
        HBox {
            src: b.src.intersect(src),
            dst: b.dst.difference(dst),
            svc: b.svc,
        },
    ]
    .into_iter()
    .filter(|x| !x.is_empty())
    .collect();
    (inside, rest)
}

/// The outcomes of packets to a public address some router translates: one per translation
/// (evaluated on the translated packet, reported as sent), and one without a path for the
/// services none translates.
fn translated(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: &Unit,
    dst: &Unit,
    svc: &Set,
    ins: &[crate::nat::Inbound],
) -> Vec<PairOutcome> {
    let public = dst.addrs.first().expect("a point");
    let src_set = sending(
        plan,
        topology,
        &src.addrs.intersect(&plan.family(space::is_v4_key(public))),
        public,
    );
    let Some(src_first) = src_set.first() else {
        return Vec::new();
    };
    let src_seg = Topology::segment_of(plan, src_first);
    let mut out = Vec::new();
    let mut rest = svc.clone();
    for t in ins {
        let part = svc.intersect(&t.svc);
        if part.is_empty() {
            continue;
        }
        rest = rest.difference(&part);
        let inside = Unit {
            label: dst.label.clone(),
            host: None,
            addrs: Set::point(t.to),
        };
        let via = Via {
            inbound: t,
            path: translated_path(plan, topology, src_seg, t),
            src_set: src_set.clone(),
        };
        let Some(mut o) = evaluate_on(
            plan,
            policy,
            topology,
            src,
            &inside,
            &t.translate(&part),
            Some(&via),
        ) else {
            continue;
        };
        // Reported as sent: to the public address, on the public ports.
        let back = |b: &mut HBox| {
            b.dst = dst.addrs.clone();
            b.svc = t.untranslate(&b.svc);
        };
        o.eval.permitted.iter_mut().for_each(|(b, _)| back(b));
        o.eval.denied.iter_mut().for_each(|(b, _)| back(b));
        o.eval.unmatched.iter_mut().for_each(back);
        o.unenforced.iter_mut().for_each(back);
        o.reply_blocked.iter_mut().for_each(|(b, _)| back(b));
        o.dst = dst.addrs.clone();
        o.translated_to = Some(t.to);
        o.notes
            .insert(0, format!("translated: {}", t.describe(plan)));
        out.push(o);
    }
    if !rest.is_empty() {
        let names: Vec<String> = ins.iter().map(|t| t.describe(plan)).collect();
        out.push(PairOutcome {
            src_label: src.label.clone(),
            dst_label: dst.label.clone(),
            src_host: src.host,
            dst_host: None,
            src: src_set,
            dst: dst.addrs.clone(),
            path: None,
            enforcers: Vec::new(),
            eval: Evaluation::default(),
            unenforced: Vec::new(),
            reply_blocked: Vec::new(),
            reply_fails: None,
            translated_to: None,
            notes: vec![format!(
                "nothing answers {} on the other services: its router translates only {}",
                space::key_addr(public),
                names.join("; ")
            )],
        });
    }
    out
}

/// One outcome: packets from `src` to `dst` on `svc`, directly, or (`via`) as translated from
/// a public address.
fn evaluate_on(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: &Unit,
    dst: &Unit,
    svc: &Set,
    via: Option<&Via>,
) -> Option<PairOutcome> {
    if src.host.is_some() && src.host == dst.host {
        return None;
    }
    let dst_first = dst.addrs.first()?;
    let src_set = match via {
        Some(v) => v.src_set.clone(),
        None => {
            let src_set = src
                .addrs
                .intersect(&plan.family(space::is_v4_key(dst_first)));
            // Hosts send from the address their kernel picks for the destination
            // (destination units are cut so that every address of one routes alike:
            // `route_cuts`).
            sending(plan, topology, &src_set, dst_first)
        }
    };
    let src_first = src_set.first()?;
    let (src_seg, dst_seg) = (
        Topology::segment_of(plan, src_first),
        Topology::segment_of(plan, dst_first),
    );
    let path = match via {
        Some(v) => v.path.clone(),
        None if src_seg == Segment::Upstream && dst_seg == Segment::Upstream => None,
        None => topology.path(src_seg, dst_seg),
    };
    let mut enforcers: Vec<Enforcer> = path
        .iter()
        .flatten()
        .map(|&r| Enforcer::Router(r))
        .collect();
    // Who answers on the destination addresses, and which of those addresses a firewall guards.
    // ufw's stock before.rules accept ICMP echo from anywhere, before any user rule. A router's
    // own addresses are guarded by its input chain.
    // A VIP's members all guard its address: ICMP echo is open only when every guarding
    // member is on ufw.
    let mut managed = Vec::new();
    let mut icmp_open = Vec::new();
    let mut icmp_closed = Vec::new();
    for (addr, h) in topology.owners_in(&dst.addrs) {
        let fw = plan.hosts[h].firewall;
        if !fw.managed() {
            continue;
        }
        if !enforcers.contains(&Enforcer::Host(h)) {
            enforcers.push(Enforcer::Host(h));
        }
        managed.push((addr, addr));
        if fw.stock_accepts_icmp_echo() {
            icmp_open.push((addr, addr));
        } else {
            icmp_closed.push((addr, addr));
        }
    }
    let icmp_open: Vec<(Key, Key)> = Set::from_ranges(icmp_open)
        .difference(&Set::from_ranges(icmp_closed))
        .ranges()
        .to_vec();
    for (addr, r) in topology.routers_in(&dst.addrs) {
        if !enforcers.contains(&Enforcer::Router(r)) {
            enforcers.push(Enforcer::Router(r));
        }
        managed.push((addr, addr));
    }
    let (managed, icmp_open) = (Set::from_ranges(managed), Set::from_ranges(icmp_open));
    // Destination addresses whose replies cannot come back, with the first reason.
    let mut reply_fails = None;
    let mut blocked = Vec::new();
    if let Some(forward) = &path {
        for (addr, h) in topology.answerers_in(&dst.addrs) {
            let why = reply_problem(plan, topology, h, src_first, forward).or_else(|| {
                via.and_then(|v| reply_skips(plan, topology, h, src_first, v.inbound.router))
            });
            if let Some(why) = why {
                reply_fails.get_or_insert(why);
                blocked.push((addr, addr));
            }
        }
    }
    let blocked = Set::from_ranges(blocked);
    // Private and public addresses meet at the border only translated.
    let border = match via {
        Some(_) => None,
        None => border_blocked(plan, &src_set, &dst.addrs, src_seg, dst_seg, path.as_ref()),
    };
    let mut notes = Vec::new();
    if let (None, Segment::Upstream, Some(exit)) =
        (via, dst_seg, path.as_ref().and_then(|p| p.last()))
    {
        if let Some((n, to)) = crate::nat::source_translation(plan, *exit, src_first) {
            let router = &plan.routers[*exit];
            if crate::nat::is_private(src_first) && !crate::nat::is_private(dst_first) {
                notes.push(format!(
                    "source-translated to {to} at {} ({})",
                    router.name,
                    router.nats[n].origin.file_line()
                ));
            }
        }
    }
    let query = HBox {
        src: src_set.clone(),
        dst: dst.addrs.clone(),
        svc: svc.clone(),
    };
    let mut outcome = PairOutcome {
        src_label: src.label.clone(),
        dst_label: dst.label.clone(),
        src_host: src.host,
        dst_host: dst.host,
        src: src_set.clone(),
        dst: dst.addrs.clone(),
        path: path.clone(),
        enforcers,
        eval: Evaluation::default(),
        unenforced: Vec::new(),
        reply_blocked: Vec::new(),
        reply_fails,
        notes,
        translated_to: None,
    };
    let routed = path.as_ref().is_some_and(|r| !r.is_empty());
    let icmp = space::service_set(crate::ir::Proto::Icmp, None);
    let (enforced, ufw, open) = if routed {
        (dst.addrs.clone(), Set::empty(), Set::empty())
    } else {
        let ufw = dst.addrs.intersect(&icmp_open);
        (
            dst.addrs.intersect(&managed).difference(&ufw),
            ufw,
            dst.addrs.difference(&managed),
        )
    };
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
    // What a host that filters egress sends passes its output filter: the policy decides it
    // even where nothing on the way or at the destination does (ICMP aside where the host's
    // stock rules send it: `Topology::egress_for`).
    let egress = src_set.intersect(topology.egress());
    let egress_icmp = src_set.intersect(topology.egress_for(true));
    // Said in the answer: a ufw host's own rules send ICMPv6 echo whatever the plan says.
    if svc.intersects(&icmp) {
        for (_, h) in topology.interfaces_in(&egress.difference(&egress_icmp)) {
            let note = format!(
                "{} sends ICMPv6 echo anywhere: ufw's stock before6.rules accept it before netc's output rules",
                plan.hosts[h].name
            );
            if !outcome.notes.contains(&note) {
                outcome.notes.push(note);
            }
        }
    }
    let shown = if svc.difference(&icmp).is_empty() {
        &egress_icmp
    } else {
        &egress
    };
    for (_, h) in topology.interfaces_in(shown) {
        if !outcome.enforcers.contains(&Enforcer::Egress(h)) {
            outcome.enforcers.push(Enforcer::Egress(h));
        }
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
        // One cut unless ICMP is filtered from fewer of the sources.
        let parts = if egress == egress_icmp {
            vec![(b, &egress)]
        } else {
            vec![
                (
                    HBox {
                        svc: b.svc.difference(&icmp),
                        ..b.clone()
                    },
                    &egress,
                ),
                (
                    HBox {
                        svc: b.svc.intersect(&icmp),
                        ..b
                    },
                    &egress_icmp,
                ),
            ]
        };
        for (part, filter) in parts {
            if part.is_empty() {
                continue;
            }
            let (filtered, rest) = cut_box(part, filter, &dst.addrs);
            if !filtered.is_empty() {
                let e = policy.evaluate(&filtered);
                outcome.eval.permitted.extend(e.permitted);
                outcome.eval.denied.extend(e.denied);
                outcome.eval.unmatched.extend(e.unmatched);
            }
            outcome.unenforced.extend(rest);
        }
    }
    let all_src = src_set.clone();
    let mut cuts: Vec<(Set, Set)> = Vec::new();
    if !blocked.is_empty() {
        cuts.push((all_src, blocked));
    }
    if let Some((s, d, why)) = border {
        outcome.reply_fails.get_or_insert(why);
        cuts.push((s, d));
    }
    for (cut_src, cut_dst) in &cuts {
        let mut kept = Vec::new();
        for (b, f) in std::mem::take(&mut outcome.eval.permitted) {
            let (i, o) = cut_box(b, cut_src, cut_dst);
            if !i.is_empty() {
                outcome.reply_blocked.push((i, Some(f)));
            }
            kept.extend(o.into_iter().map(|o| (o, f)));
        }
        outcome.eval.permitted = kept;
        let mut kept = Vec::new();
        for b in std::mem::take(&mut outcome.unenforced) {
            let (i, o) = cut_box(b, cut_src, cut_dst);
            if !i.is_empty() {
                outcome.reply_blocked.push((i, None));
            }
            kept.extend(o);
        }
        outcome.unenforced = kept;
    }
    if outcome.path.is_none() {
        // Nothing arrives: what the firewalls would accept stays visible (configured access),
        // but none of it is reachable.
        outcome.eval.unmatched.clear();
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

/// The per-packet reference: is this one packet reachable? Used to check the engine.
pub fn packet_permitted(
    plan: &Plan,
    policy: &Policy,
    topology: &Topology,
    src: Key,
    dst: Key,
    svc: Key,
) -> bool {
    if space::is_v4_key(src) != space::is_v4_key(dst) {
        return false;
    }
    let (a, b) = (
        Topology::segment_of(plan, src),
        Topology::segment_of(plan, dst),
    );
    // An address of a domain outside its subnets is nowhere.
    let nowhere = |k: Key| {
        Topology::segment_of(plan, k) == Segment::Upstream && !plan.internet_set().contains(k)
    };
    if nowhere(src) || nowhere(dst) {
        return false;
    }
    // A host sends only from the address its kernel picks.
    if !sending(plan, topology, &Set::point(src), dst).contains(src) {
        return false;
    }
    // A public address a router translates: the translated packet decides.
    let ins = crate::nat::inbound(plan, dst);
    if !ins.is_empty() {
        let Some(t) = ins.iter().find(|t| t.svc.contains(svc)) else {
            return false;
        };
        let Some(routers) = translated_path(plan, topology, a, t) else {
            return false;
        };
        let (to, to_svc) = (
            t.to,
            t.translate(&Set::point(svc)).first().expect("a point"),
        );
        let answering = topology
            .answerers_in(&Set::point(to))
            .next()
            .map(|(_, h)| h);
        if let Some(h) = answering {
            if reply_problem(plan, topology, h, src, &routers).is_some()
                || reply_skips(plan, topology, h, src, t.router).is_some()
            {
                return false;
            }
        }
        return policy.permits(src, to, to_svc);
    }
    // The internet is never a transit.
    if a == Segment::Upstream && b == Segment::Upstream {
        return false;
    }
    let Some(routers) = topology.path(a, b) else {
        return false;
    };
    if border_blocked(
        plan,
        &Set::point(src),
        &Set::point(dst),
        a,
        b,
        Some(&routers),
    )
    .is_some()
    {
        return false;
    }
    let is_icmp = space::service_set(crate::ir::Proto::Icmp, None).contains(svc);
    let router_owned = plan.routers.iter().any(|router| {
        router
            .interfaces
            .iter()
            .any(|i| plan.key_in(i.vlan, i.addr) == dst)
    });
    let enforced = !routers.is_empty()
        || router_owned
        || topology.egress_for(is_icmp).contains(src)
        || plan.hosts.iter().enumerate().any(|(h, host)| {
            host.firewall.managed()
                && !(is_icmp && host.firewall.stock_accepts_icmp_echo())
                && plan.host_local_set(h).contains(dst)
        });
    // The host that answers: the one with the address, or a VIP's preferred master.
    let answering = plan
        .hosts
        .iter()
        .position(|h| h.interfaces.iter().any(|i| plan.iface_key(i) == dst))
        .or_else(|| {
            (0..plan.vips.len())
                .find(|&v| plan.vip_key(v) == dst)
                .and_then(|v| plan.vips[v].members.first().copied())
        });
    if let Some(h) = answering {
        if reply_problem(plan, topology, h, src, &routers).is_some() {
            return false;
        }
    }
    !enforced || policy.permits(src, dst, svc)
}
