//! Where packets go: segments (subnets, and `upstream` for everything outside the plan) joined
//! by routers. Paths are shortest in routers crossed, ties broken by declaration order.

use crate::ir::Plan;
use crate::space;
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::HashMap;

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
    /// (address, host answering on it): interfaces, and VIPs for each member; sorted.
    owners: Vec<(u128, usize)>,
    /// Paths found so far (a query asks for the same pair of segments once per host pair).
    paths: std::sync::Mutex<PathCache>,
}

impl Topology {
    pub fn new(plan: &Plan) -> Topology {
        let mut graph = UnGraph::new_undirected();
        let mut segments = HashMap::new();
        for s in 0..plan.subnets.len() {
            segments.insert(Segment::Subnet(s), graph.add_node(Node::Segment));
        }
        segments.insert(Segment::Upstream, graph.add_node(Node::Segment));
        for (r, router) in plan.routers.iter().enumerate() {
            let node = graph.add_node(Node::Router(r));
            let mut joined: Vec<Segment> = router
                .interfaces
                .iter()
                .filter_map(|i| plan.subnet_of(space::addr_key(i.addr)).map(Segment::Subnet))
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
        let mut owners: Vec<(u128, usize)> = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            owners.extend(host.interfaces.iter().map(|i| (space::addr_key(i.addr), h)));
        }
        for vip in &plan.vips {
            owners.extend(vip.members.iter().map(|&m| (space::addr_key(vip.addr), m)));
        }
        owners.sort_unstable();
        owners.dedup();
        Topology {
            graph,
            segments,
            owners,
            paths: Default::default(),
        }
    }

    /// The (address, host) pairs whose address is in `set`.
    pub fn owners_in<'a>(
        &'a self,
        set: &'a crate::space::Set,
    ) -> impl Iterator<Item = (u128, usize)> + 'a {
        set.ranges().iter().flat_map(move |&(lo, hi)| {
            let start = self.owners.partition_point(|&(a, _)| a < lo);
            self.owners[start..]
                .iter()
                .take_while(move |&&(a, _)| a <= hi)
                .copied()
        })
    }

    pub fn segment_of(plan: &Plan, addr: u128) -> Segment {
        plan.subnet_of(addr)
            .map_or(Segment::Upstream, Segment::Subnet)
    }

    /// The routers a packet crosses from segment `a` to segment `b`, in order; `None` when no
    /// router of the plan joins them.
    pub fn path(&self, a: Segment, b: Segment) -> Option<Vec<usize>> {
        if a == b {
            return Some(Vec::new());
        }
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        paths
            .entry((a, b))
            .or_insert_with(|| {
                let (from, to) = (self.segments[&a], self.segments[&b]);
                let (_, nodes) =
                    petgraph::algo::astar(&self.graph, from, |n| n == to, |_| 1, |_| 0)?;
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

    /// The routers that touch a segment.
    pub fn routers_on(&self, seg: Segment) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors(self.segments[&seg])
            .filter_map(|n| match self.graph[n] {
                Node::Router(r) => Some(r),
                Node::Segment => None,
            })
            .collect();
        out.sort();
        out
    }
}
