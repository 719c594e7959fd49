//! The whole permitted space of a plan, labelled by the plan's names: what the matrix, the
//! listings (`who-can-reach`, `what-can-reach`), the report and `diff` are made of.
//!
//! The address space is cut into *regions*, disjoint and together covering every address a
//! packet can have: each tier (its hosts' addresses and the VIPs all of whose members are in
//! it, as in rules), each other VIP, each router's own addresses,
//! each named network (the most specific first), what is left of each VLAN ("rest of VLAN x",
//! or "VLAN x" when no object covers any of it) and the internet. Every address is in exactly
//! one region, so the rows of a listing add up to the permitted space, no more and no less.
//!
//! Each region is cut further into *parts* that the engine evaluates as one: a source part is
//! the region's addresses on one segment (the packets take one path), a destination part one
//! address of a host or router (it has its own firewall and its own replies) or the region's
//! addresses on one segment.

use crate::check::PlanInfo;
use crate::ir::{EndpointRef, Plan};
use crate::reach::{self, PairOutcome, Unit};
use crate::space::{self, all_services, subtract_all, HBox, Services, Set};
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionKind {
    Tier,
    Vip,
    Router,
    Network,
    Vlan,
    Internet,
}

/// A named part of the address space.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub kind: RegionKind,
    pub set: Set,
}

/// A piece of a region the engine evaluates as one.
#[derive(Debug, Clone)]
pub struct Part {
    pub region: usize,
    pub unit: Unit,
}

/// The regions of a plan and their source and destination parts.
#[derive(Debug, Clone)]
pub struct Layout {
    pub regions: Vec<Region>,
    pub sources: Vec<Part>,
    pub destinations: Vec<Part>,
}

/// Cut the address space into the plan's regions (see the module doc).
pub fn regions(plan: &Plan) -> Vec<Region> {
    let mut covered = Set::empty();
    let mut out: Vec<Region> = Vec::new();
    fn push(covered: &mut Set, name: String, kind: RegionKind, set: Set, out: &mut Vec<Region>) {
        let set = set.difference(covered);
        if !set.is_empty() {
            *covered = covered.union(&set);
            out.push(Region { name, kind, set });
        }
    }
    // A tier is its hosts' addresses and the VIPs all of whose members are in it, as in rules.
    for (t, tier) in plan.tiers.iter().enumerate() {
        push(
            &mut covered,
            tier.name.clone(),
            RegionKind::Tier,
            plan.tier_set(t),
            &mut out,
        );
    }
    for (v, vip) in plan.vips.iter().enumerate() {
        push(
            &mut covered,
            vip.name.clone(),
            RegionKind::Vip,
            Set::point(plan.vip_key(v)),
            &mut out,
        );
    }
    // A router is its interfaces and the public addresses it translates.
    for (r, router) in plan.routers.iter().enumerate() {
        let publics =
            Set::from_ranges(router.nats.iter().filter_map(|n| n.kind.public()).map(|a| {
                let k = crate::space::key(0, a);
                (k, k)
            }));
        push(
            &mut covered,
            router.name.clone(),
            RegionKind::Router,
            plan.endpoint_set(&EndpointRef::Router(r)).union(&publics),
            &mut out,
        );
    }
    // Networks: the most specific first, so that a network inside another keeps its name.
    let reachable = plan.internal_set().union(&plan.internet_set());
    let mut nets: Vec<(u128, usize, Set)> = plan
        .networks
        .iter()
        .enumerate()
        .map(|(n, _)| {
            let set = plan
                .endpoint_set(&EndpointRef::Network(n))
                .intersect(&reachable);
            (set.size(), n, set)
        })
        .collect();
    nets.sort_by_key(|(size, n, _)| (*size, *n));
    for (_, n, set) in nets {
        push(
            &mut covered,
            plan.networks[n].name.clone(),
            RegionKind::Network,
            set,
            &mut out,
        );
    }
    for (v, vlan) in plan.vlans.iter().enumerate() {
        let whole = plan.endpoint_set(&EndpointRef::Vlan(v));
        let rest = whole.difference(&covered);
        let name = if rest == whole {
            format!("VLAN {}", vlan.name)
        } else {
            format!("rest of VLAN {}", vlan.name)
        };
        push(&mut covered, name, RegionKind::Vlan, rest, &mut out);
    }
    push(
        &mut covered,
        "internet".into(),
        RegionKind::Internet,
        plan.internet_set(),
        &mut out,
    );
    out
}

/// A set split by segment: its part in each subnet, and its part in the internet per family.
/// Addresses of a domain outside its subnets are nowhere and belong to no part.
/// Each part is further cut by the plan's routes, so that every host routes all of a part
/// alike.
pub fn by_segment(plan: &Plan, set: &Set) -> Vec<Set> {
    let (parts, rest) = crate::topology::Topology::split(plan, set);
    let mut out: Vec<Set> = parts.into_iter().map(|(_, p)| p).collect();
    for v4 in [true, false] {
        let part = rest.intersect(&plan.family(v4));
        if !part.is_empty() {
            out.push(part);
        }
    }
    plan.cut_by_routes(out)
}

/// The regions and parts of a plan.
pub fn layout(plan: &Plan) -> Layout {
    let regions = regions(plan);
    let mut sources = Vec::new();
    let mut destinations = Vec::new();
    let unit = |label: &str, host: Option<usize>, addrs: Set| Unit {
        label: label.to_string(),
        host,
        addrs,
    };
    let owner: std::collections::HashMap<space::Key, usize> = plan
        .hosts
        .iter()
        .enumerate()
        .flat_map(|(h, host)| host.interfaces.iter().map(move |x| (plan.iface_key(x), h)))
        .collect();
    for (i, r) in regions.iter().enumerate() {
        let parts = by_segment(plan, &r.set);
        for part in &parts {
            sources.push(Part {
                region: i,
                unit: unit(&r.name, None, part.clone()),
            });
        }
        match r.kind {
            RegionKind::Tier | RegionKind::Router => {
                // One destination part per address: each has its own firewall and replies.
                for &(lo, hi) in r.set.ranges() {
                    let mut k = lo;
                    loop {
                        let host = owner.get(&k).copied();
                        destinations.push(Part {
                            region: i,
                            unit: unit(&r.name, host, Set::point(k)),
                        });
                        if k == hi {
                            break;
                        }
                        k = k.succ();
                    }
                }
            }
            _ => {
                for part in parts {
                    destinations.push(Part {
                        region: i,
                        unit: unit(&r.name, None, part),
                    });
                }
            }
        }
    }
    Layout {
        regions,
        sources,
        destinations,
    }
}

/// What one source unit may do to one destination unit: the engine's outcome, with the
/// destination host's own addresses (or the one destination address) taken out of the
/// source: a host reaching itself is not network access.
pub fn outcome(
    plan: &Plan,
    info: &PlanInfo,
    src: &Unit,
    dst: &Unit,
    svc: &Set,
) -> Vec<PairOutcome> {
    // The host's own addresses, or the one address of the destination.
    let own = match (dst.host, dst.addrs.ranges()) {
        (Some(h), _) => plan.host_set(h),
        (None, [(a, b)]) if a == b => dst.addrs.clone(),
        _ => Set::empty(),
    };
    let src: Cow<Unit> = if src.host.is_none() && src.addrs.intersects(&own) {
        let addrs = src.addrs.difference(&own);
        if addrs.is_empty() {
            return Vec::new();
        }
        Cow::Owned(Unit {
            addrs,
            ..src.clone()
        })
    } else {
        Cow::Borrowed(src)
    };
    reach::evaluate_pair(plan, &info.policy, &info.topology, &src, dst, svc)
}

/// The access of a set of outcomes: reachable pieces (with the rule that allows each, None
/// when nothing enforces), and pieces only configured (some firewall accepts them, but no
/// path delivers them or their replies cannot come back).
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub reachable: Vec<(HBox, Option<usize>)>,
    pub configured: Vec<(HBox, usize)>,
}

impl Access {
    pub fn add(&mut self, o: &PairOutcome) {
        self.reachable
            .extend(o.permitted().map(|(b, f)| (b.clone(), f)));
        if o.path.is_none() {
            self.configured
                .extend(o.eval.permitted.iter().map(|(b, f)| (b.clone(), *f)));
        }
        self.configured.extend(
            o.reply_blocked
                .iter()
                .filter_map(|(b, f)| f.map(|f| (b.clone(), f))),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.reachable.is_empty() && self.configured.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub src: String,
    pub dst: String,
    /// Reachable services.
    pub services: Services,
    /// Some addresses of the cell lack some of these services.
    pub partial: bool,
    /// Some of it crosses no firewall netc manages (same subnet, unmanaged destination).
    pub unfiltered: bool,
    /// Services some firewall of the plan accepts here but that no path delivers (or whose
    /// replies cannot come back): configured, not reachable.
    pub configured_only: Services,
    #[serde(skip)]
    pub permitted: Vec<(HBox, Option<usize>)>,
    #[serde(skip)]
    pub configured: Vec<(HBox, usize)>,
    #[serde(skip)]
    pub service_set: Set,
}

/// A cell from the outcomes of its unit pairs.
fn make_cell(src: &str, dst: &str, outcomes: &[PairOutcome]) -> Cell {
    let mut access = Access::default();
    for o in outcomes {
        access.add(o);
    }
    let services = access
        .reachable
        .iter()
        .fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc));
    // Partial: some routed pair does not get every service of the cell on all its addresses.
    let partial = !services.is_empty()
        && outcomes.iter().filter(|o| o.path.is_some()).any(|o| {
            let whole = HBox {
                src: o.src.clone(),
                dst: o.dst.clone(),
                svc: services.clone(),
            };
            !subtract_all(vec![whole], o.permitted().map(|(b, _)| b)).is_empty()
        });
    let configured = access
        .configured
        .iter()
        .fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc))
        .difference(&services);
    Cell {
        src: src.to_string(),
        dst: dst.to_string(),
        services: Services(services.clone()),
        partial,
        unfiltered: access.reachable.iter().any(|(_, rule)| rule.is_none()),
        configured_only: Services(configured),
        permitted: access.reachable,
        configured: access.configured,
        service_set: services,
    }
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.configured.is_empty()
    }
}

/// Every cell with something reachable or configured, rows then columns in region order.
/// The most (source part, destination part) pairs a matrix evaluates (about a second of
/// work): 4,000 one-address networks make 16 million, 19 s.
pub const MAX_PAIRS: usize = 1_000_000;

/// A matrix too large to evaluate, found from its size before any work (R005).
#[derive(Debug, Clone, Copy)]
pub struct TooLarge {
    pub pairs: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[R005] the matrix would evaluate {} (source part, destination part) pairs, more than its limit of {MAX_PAIRS}: ask `netc who-can-reach` or `netc what-can-reach` about one region instead",
            self.pairs
        )
    }
}

/// The region by region matrix, or [`TooLarge`] when it has more than [`MAX_PAIRS`] pairs
/// to evaluate.
pub fn matrix(plan: &Plan, info: &PlanInfo) -> Result<Vec<Cell>, TooLarge> {
    let l = layout(plan);
    let pairs = l.sources.len().saturating_mul(l.destinations.len());
    if pairs > MAX_PAIRS {
        return Err(TooLarge { pairs });
    }
    Ok(matrix_of(plan, info, &l))
}

pub fn matrix_of(plan: &Plan, info: &PlanInfo, l: &Layout) -> Vec<Cell> {
    let svc = all_services();
    let n = l.regions.len();
    let mut cells = Vec::new();
    // One source region at a time (its parts are consecutive), so that only one row of
    // outcomes is ever held.
    let mut at = 0;
    while at < l.sources.len() {
        let region = l.sources[at].region;
        let end = at + l.sources[at..].partition_point(|p| p.region == region);
        let mut row: Vec<Vec<PairOutcome>> = vec![Vec::new(); n];
        for s in &l.sources[at..end] {
            for d in &l.destinations {
                for o in outcome(plan, info, &s.unit, &d.unit, &svc) {
                    // Routed pairs count for `partial` even when they get nothing.
                    if o.path.is_some()
                        || !o.eval.permitted.is_empty()
                        || !o.reply_blocked.is_empty()
                    {
                        row[d.region].push(o);
                    }
                }
            }
        }
        for (j, os) in row.iter().enumerate() {
            let c = make_cell(&l.regions[region].name, &l.regions[j].name, os);
            if !c.is_empty() {
                cells.push(c);
            }
        }
        at = end;
    }
    cells
}

/// Who can reach `dst` (as a query names it): one row per source region.
pub fn who_can_reach(
    plan: &Plan,
    info: &PlanInfo,
    dst: &EndpointRef,
    text: &str,
    svc: &Set,
) -> Vec<Cell> {
    listing(
        plan,
        info,
        &reach::dst_units(plan, dst, text),
        text,
        svc,
        true,
    )
}

/// What `src` (as a query names it) can reach: one row per destination region.
pub fn what_can_reach(
    plan: &Plan,
    info: &PlanInfo,
    src: &EndpointRef,
    text: &str,
    svc: &Set,
) -> Vec<Cell> {
    listing(
        plan,
        info,
        &reach::src_units(plan, src, text),
        text,
        svc,
        false,
    )
}

/// One endpoint's units against every region: as the destination (`fixed_is_dst`), rows are
/// source regions; as the source, rows are destination regions.
fn listing(
    plan: &Plan,
    info: &PlanInfo,
    fixed: &[Unit],
    text: &str,
    svc: &Set,
    fixed_is_dst: bool,
) -> Vec<Cell> {
    let l = layout(plan);
    let others = if fixed_is_dst {
        &l.sources
    } else {
        &l.destinations
    };
    let mut rows: Vec<Vec<PairOutcome>> = vec![Vec::new(); l.regions.len()];
    for o in others {
        for f in fixed {
            let (s, d) = if fixed_is_dst {
                (&o.unit, f)
            } else {
                (f, &o.unit)
            };
            rows[o.region].extend(outcome(plan, info, s, d, svc));
        }
    }
    rows.iter()
        .enumerate()
        .map(|(i, os)| {
            let region = &l.regions[i].name;
            if fixed_is_dst {
                make_cell(region, text, os)
            } else {
                make_cell(text, region, os)
            }
        })
        .filter(|c| !c.is_empty())
        .collect()
}

pub fn text(cells: &[Cell]) -> String {
    let width = cells
        .iter()
        .map(|c| c.src.len() + c.dst.len() + 4)
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for c in cells {
        let head = format!("{} -> {}", c.src, c.dst);
        let services = c.services.to_string();
        let partly = if c.partial { "  (partly)" } else { "" };
        let open = if c.unfiltered {
            "  (no firewall on the path)"
        } else {
            ""
        };
        let configured = if c.configured_only.is_empty() {
            String::new()
        } else {
            format!("  (configured, not reachable: {})", c.configured_only)
        };
        s.push_str(&format!(
            "{head:<width$}  {services}{partly}{open}{configured}\n"
        ));
    }
    s
}

pub fn csv(cells: &[Cell]) -> String {
    let quote = |x: &str| format!("\"{}\"", x.replace('"', "\"\""));
    let mut s = String::from("source,destination,services,partial,unfiltered,configured_only\n");
    for c in cells {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            quote(&c.src),
            quote(&c.dst),
            quote(&c.services.to_string()),
            c.partial,
            c.unfiltered,
            quote(&if c.configured_only.is_empty() {
                String::new()
            } else {
                c.configured_only.to_string()
            }),
        ));
    }
    s
}
