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

#[derive(Debug)]
pub struct Topology {
    graph: UnGraph<Node, ()>,
    segments: HashMap<Segment, NodeIndex>,
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
        Topology { graph, segments }
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
        let (from, to) = (self.segments[&a], self.segments[&b]);
        let (_, nodes) = petgraph::algo::astar(&self.graph, from, |n| n == to, |_| 1, |_| 0)?;
        Some(
            nodes
                .into_iter()
                .filter_map(|n| match self.graph[n] {
                    Node::Router(r) => Some(r),
                    Node::Segment => None,
                })
                .collect(),
        )
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
