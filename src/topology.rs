//! Where packets go: segments (subnets, and `upstream` for everything outside the plan) joined
//! by routers. Paths are shortest in routers crossed, ties broken by declaration order.
//! A router's interface sits on its VLAN's subnet, so in that VLAN's VRF: segments of two
//! VRFs are joined only by a router with interfaces in both. The internet is never a transit:
//! a path may start or end upstream but does not cross it (packets from one site to another
//! over the internet would be two connections through two translations; `nat` translates only
//! between the internet and the plan).

use crate::ir::Plan;
use crate::space::Key;
use petgraph::graph::{NodeIndex, UnGraph};
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Subnet(usize),
    /// Everything outside the plan's subnets, reached through routers with `upstream`.
    Upstream,
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Segment,
    Router(usize),
}

/// Routers crossed between two segments, `None` when no path exists.
type PathCache = HashMap<(Segment, Segment), Option<Vec<usize>>>;

#[derive(Debug)]
pub struct Topology {
    graph: UnGraph<Node, ()>,
    segments: HashMap<Segment, NodeIndex>,
    upstream: NodeIndex,
    /// (address, host answering on it): interfaces, and VIPs for each member; sorted.
    owners: Vec<(Key, usize)>,
    /// (address, router): every router interface; sorted.
    router_owners: Vec<(Key, usize)>,
    /// (address, the host whose routing answers on it): interfaces, and a VIP's preferred
    /// master; sorted.
    answerers: Vec<(Key, usize)>,
    /// (address, host): every host interface; sorted.
    interfaces: Vec<(Key, usize)>,
    /// Every VIP address.
    vips: crate::space::Set,
    /// Host addresses that are their host's only address of their family: the kernel picks
    /// them for every destination of the family.
    only_choice: crate::space::Set,
    /// The interface addresses of hosts whose tier filters egress: what they send passes
    /// their output filter.
    egress: crate::space::Set,
    /// Those whose output filter also decides ICMP (not ufw's IPv6 addresses).
    egress_icmp: crate::space::Set,
    /// The router each subnet's gateway address belongs to, if any: packets leaving the
    /// subnet for another go there first.
    gateways: HashMap<Segment, usize>,
    router_nodes: Vec<NodeIndex>,
    /// Paths found so far (a query asks for the same pair of segments once per host pair).
    paths: std::sync::Mutex<PathCache>,
}

impl Topology {
    pub fn new(plan: &Plan) -> Topology {
        let mut graph = UnGraph::new_undirected();
        let mut router_nodes = Vec::new();
        let mut segments = HashMap::default();
        for s in 0..plan.subnets.len() {
            segments.insert(Segment::Subnet(s), graph.add_node(Node::Segment));
        }
        segments.insert(Segment::Upstream, graph.add_node(Node::Segment));
        for (r, router) in plan.routers.iter().enumerate() {
            let node = graph.add_node(Node::Router(r));
            router_nodes.push(node);
            let mut joined: Vec<Segment> = router
                .interfaces
                .iter()
                .filter_map(|i| plan.subnet_in_vlans(i.addr, &[i.vlan]).map(Segment::Subnet))
                .collect();
            if router.upstream.is_some() {
                joined.push(Segment::Upstream);
            }
            joined.sort();
            joined.dedup();
            for seg in joined {
                graph.add_edge(node, segments[&seg], ());
            }
        }
        let mut owners: Vec<(Key, usize)> = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            owners.extend(host.interfaces.iter().map(|i| (plan.iface_key(i), h)));
        }
        for (v, vip) in plan.vips.iter().enumerate() {
            owners.extend(vip.members.iter().map(|&m| (plan.vip_key(v), m)));
        }
        owners.sort_unstable();
        owners.dedup();
        let mut router_owners: Vec<(Key, usize)> = Vec::new();
        for (r, router) in plan.routers.iter().enumerate() {
            router_owners.extend(
                router
                    .interfaces
                    .iter()
                    .map(|i| (plan.key_in(i.vlan, i.addr), r)),
            );
        }
        router_owners.sort_unstable();
        router_owners.dedup();
        let mut answerers: Vec<(Key, usize)> = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            answerers.extend(host.interfaces.iter().map(|i| (plan.iface_key(i), h)));
        }
        for (v, vip) in plan.vips.iter().enumerate() {
            if let Some(&m) = vip.members.first() {
                answerers.push((plan.vip_key(v), m));
            }
        }
        answerers.sort_unstable();
        answerers.dedup_by_key(|x| x.0);
        let upstream = segments[&Segment::Upstream];
        let mut interfaces: Vec<(Key, usize)> = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            interfaces.extend(host.interfaces.iter().map(|i| (plan.iface_key(i), h)));
        }
        interfaces.sort_unstable();
        let only_choice = crate::space::Set::from_ranges(plan.hosts.iter().flat_map(|host| {
            host.interfaces
                .iter()
                .filter(|i| {
                    host.interfaces
                        .iter()
                        .filter(|j| j.addr.is_ipv4() == i.addr.is_ipv4())
                        .count()
                        == 1
                })
                .map(|i| {
                    let k = plan.iface_key(i);
                    (k, k)
                })
        }));
        // Hosts without a firewall of netc's get no output filter (E097 refuses them).
        let egress_hosts = || {
            plan.hosts
                .iter()
                .filter(|h| plan.tiers[h.tier].egress && h.firewall.managed())
        };
        let egress =
            crate::space::Set::from_ranges(egress_hosts().flat_map(|h| &h.interfaces).map(|i| {
                let k = plan.iface_key(i);
                (k, k)
            }));
        // ufw's stock before6.rules send ICMPv6 echo (and errors) anywhere before its user
        // rules: ICMPv6 from a ufw host is not filtered by them.
        let egress_icmp = egress.difference(&crate::space::Set::from_ranges(
            egress_hosts()
                .filter(|h| h.firewall.stock_accepts_icmp_echo())
                .flat_map(|h| &h.interfaces)
                .filter(|i| !i.addr.is_ipv4())
                .map(|i| {
                    let k = plan.iface_key(i);
                    (k, k)
                }),
        ));
        let vips = crate::space::Set::from_ranges((0..plan.vips.len()).map(|v| {
            let k = plan.vip_key(v);
            (k, k)
        }));
        // A subnet's gateway is the router that holds its address (the first one, when two
        // routers claim it: check `duplicate_address` reports that).
        let mut gateways = HashMap::default();
        for (s, subnet) in plan.subnets.iter().enumerate() {
            if let Some(gw) = plan.next_hop(s) {
                let k = plan.key_in(subnet.vlan, gw);
                let i = router_owners.partition_point(|&(a, _)| a < k);
                if let Some(&(a, r)) = router_owners.get(i) {
                    if a == k {
                        gateways.insert(Segment::Subnet(s), r);
                    }
                }
            }
        }
        Topology {
            graph,
            segments,
            upstream,
            owners,
            router_owners,
            answerers,
            interfaces,
            vips,
            only_choice,
            egress,
            egress_icmp,
            gateways,
            router_nodes,
            paths: Default::default(),
        }
    }

    /// The (address, router) pairs whose address is in `set`: packets to a router itself.
    pub fn routers_in<'a>(
        &'a self,
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (Key, usize)> + 'a {
        Self::in_set(&self.router_owners, set)
    }

    /// The (address, host) pairs whose address is in `set`, the host being the one whose
    /// routing answers packets to the address.
    pub fn answerers_in<'a>(
        &'a self,
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (Key, usize)> + 'a {
        Self::in_set(&self.answerers, set)
    }

    fn in_set<'a>(
        list: &'a [(Key, usize)],
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (Key, usize)> + 'a {
        set.ranges().iter().flat_map(move |&(lo, hi)| {
            let start = list.partition_point(|&(a, _)| a < lo);
            list[start..]
                .iter()
                .take_while(move |&&(a, _)| a <= hi)
                .copied()
        })
    }

    /// The (address, host) pairs of host interfaces whose address is in `set`.
    pub fn interfaces_in<'a>(
        &'a self,
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (Key, usize)> + 'a {
        Self::in_set(&self.interfaces, set)
    }

    /// Every VIP address.
    pub fn vip_addresses(&self) -> &crate::space::Set {
        &self.vips
    }

    /// Host addresses that are their host's only address of their family.
    pub fn only_choices(&self) -> &crate::space::Set {
        &self.only_choice
    }

    /// The addresses of hosts that filter egress (`egress filtered`).
    pub fn egress(&self) -> &crate::space::Set {
        &self.egress
    }

    /// The addresses of hosts whose output filter decides the packets of a service: for
    /// ICMP, not a ufw host's IPv6 addresses (its stock rules send ICMPv6 echo anywhere).
    pub fn egress_for(&self, icmp: bool) -> &crate::space::Set {
        if icmp {
            &self.egress_icmp
        } else {
            &self.egress
        }
    }

    /// The router a subnet's gateway address belongs to.
    pub fn gateway(&self, seg: Segment) -> Option<usize> {
        self.gateways.get(&seg).copied()
    }

    /// The (address, host) pairs whose address is in `set`.
    pub fn owners_in<'a>(
        &'a self,
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (Key, usize)> + 'a {
        Self::in_set(&self.owners, set)
    }

    /// A set cut by segment: its part in each subnet (the most specific subnet first, then
    /// in subnet order; returned in subnet order), and what is left of it in the internet.
    /// Addresses of a domain outside its subnets are nowhere and are in neither.
    pub fn split(
        plan: &Plan,
        set: &crate::space::Set,
    ) -> (Vec<(usize, crate::space::Set)>, crate::space::Set) {
        let mut parts = Vec::new();
        let mut rest = set.clone();
        let mut order: Vec<usize> = (0..plan.subnets.len()).collect();
        order.sort_by_key(|&s| (std::cmp::Reverse(plan.subnets[s].net.prefix_len()), s));
        for s in order {
            if rest.is_empty() {
                break;
            }
            let part = rest.intersect(&plan.subnet_set(s));
            if !part.is_empty() {
                rest = rest.difference(&part);
                parts.push((s, part));
            }
        }
        parts.sort_by_key(|(s, _)| *s);
        (parts, rest.intersect(&plan.internet_set()))
    }

    pub fn segment_of(plan: &Plan, addr: Key) -> Segment {
        plan.subnet_of(addr)
            .map_or(Segment::Upstream, Segment::Subnet)
    }

    /// The routers a packet crosses after router `r` on its way to segment `b` (shortest, never
    /// through the internet unless `b` is it); `None` when none leads there.
    pub fn path_from_router(&self, r: usize, b: Segment) -> Option<Vec<usize>> {
        let to = self.segments[&b];
        let upstream = self.upstream;
        let graph =
            petgraph::visit::NodeFiltered::from_fn(&self.graph, |n| n != upstream || n == to);
        let (_, nodes) =
            petgraph::algo::astar(&graph, self.router_nodes[r], |n| n == to, |_| 1, |_| 0)?;
        Some(
            nodes
                .into_iter()
                .skip(1)
                .filter_map(|n| match self.graph[n] {
                    Node::Router(r) => Some(r),
                    Node::Segment => None,
                })
                .collect(),
        )
    }

    /// The routers a packet crosses from segment `a` to segment `b`, in order; `None` when no
    /// router of the plan joins them. A packet leaving a subnet goes to the subnet's gateway
    /// first when a router holds the gateway's address (a host's routes all lead there), then
    /// on the shortest way (ties broken by declaration order); from a subnet whose gateway no
    /// router holds, and from the internet, on the shortest way. Replies take their own way
    /// back, so the way from `b` to `a` need not be this one reversed (`reach::reply_problem`
    /// says when a stateful router then drops the reply).
    pub fn path(&self, a: Segment, b: Segment) -> Option<Vec<usize>> {
        if a == b {
            return Some(Vec::new());
        }
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        paths
            .entry((a, b))
            .or_insert_with(|| {
                let to = self.segments[&b];
                let upstream = self.upstream;
                let (from, first) = match self.gateways.get(&a) {
                    Some(&r) => (self.router_nodes[r], Some(self.segments[&a])),
                    None => (self.segments[&a], None),
                };
                // The internet is an end, never a transit.
                let graph = petgraph::visit::NodeFiltered::from_fn(&self.graph, |n| {
                    n != upstream || Some(n) == first || self.segments[&a] == n || n == to
                });
                let (_, nodes) = petgraph::algo::astar(&graph, from, |n| n == to, |_| 1, |_| 0)?;
                Some(
                    nodes
                        .into_iter()
                        .filter_map(|n| match self.graph[n] {
                            Node::Router(r) => Some(r),
                            Node::Segment => None,
                        })
                        .collect(),
                )
            })
            .clone()
    }
}
