//! What a change of plan opens and closes, packet by packet.
//!
//! The two plans' access is compared as sets of packets, never by label: both plans' address
//! spaces are cut into the parts their engines evaluate as one (see `matrix::layout`), the two
//! cuts are refined into one, and on every common (source part, destination part) each plan's
//! reachable and configured access is computed and subtracted from the other's. Names only
//! label the rows that come out: a new name over addresses that already had access changes
//! nothing, and a host that moves to another tier shows only the packets whose fate changed.
//!
//! Two kinds of access are compared (see `docs/queries.md`): *reachable* (a path delivers it,
//! every enforcement point on it accepts it, its replies come back) and *configured* (some
//! enforcement point's ruleset accepts it, though no path of the plan delivers it: a route the
//! plan does not model would open it).
//!
//! Routing domains are matched by VRF name, so that numbering them differently is no change.
//! When the two plans have the same topology (subnets, routers, hosts, firewalls, VIPs), only
//! packets inside the boxes of rules that differ are compared: outside them both plans decide
//! every packet alike.

use super::explain::{packet_preferring, rule_ref, Packet, RuleRef};
use super::matrix::{layout, outcome, Access, Layout};
use crate::check::PlanInfo;
use crate::ir::Plan;
use crate::reach::Unit;
use crate::space::{self, all_services, subtract_all, HBox, Key, Services, Set};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Change {
    pub src: String,
    pub dst: String,
    pub services: Services,
    pub example: Option<Packet>,
    /// The rules responsible (of the new plan for opened access, of the old for closed).
    pub rules: Vec<RuleRef>,
    /// Access through no enforcement point.
    pub unenforced: bool,
    /// Configured access only: a firewall accepts it, but no path of the plan delivers it.
    pub configured_only: bool,
    /// The packets, in the keys of the plan the row is labelled by.
    #[serde(skip)]
    pub pieces: Vec<HBox>,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    pub opened: Vec<Change>,
    pub closed: Vec<Change>,
}

impl Diff {
    /// Opened access that the gate counts: reachable, or also configured-only ones.
    pub fn opens(&self, configured_too: bool) -> bool {
        self.opened
            .iter()
            .any(|c| configured_too || !c.configured_only)
    }
}

/// Everything besides the flows that decides what reaches what.
fn topology_fingerprint(plan: &Plan) -> String {
    let mut s = String::new();
    for sub in &plan.subnets {
        s.push_str(&format!(
            "s {} {:?} {}\n",
            sub.net, sub.gateway, plan.vlans[sub.vlan].vrf
        ));
    }
    for r in &plan.routers {
        let addrs: Vec<String> = r
            .interfaces
            .iter()
            .map(|i| format!("{}@{}", i.addr, plan.vlans[i.vlan].name))
            .collect();
        s.push_str(&format!(
            "r {} {} {:?} {:?}\n",
            r.name,
            addrs.join(","),
            r.upstream,
            r.upstream_addrs
        ));
        // Translations decide where packets go and which replies return.
        for n in &r.nats {
            let line = match &n.kind {
                crate::ir::NatKind::Source {
                    to,
                    masquerade,
                    set,
                    ..
                } => format!("source {:?} {to} {masquerade}", set.ranges()),
                crate::ir::NatKind::Forward {
                    public,
                    proto,
                    ports,
                    to,
                    to_port,
                    to_vlan,
                    ..
                } => format!("forward {public} {proto:?} {ports:?} {to}@{to_vlan} {to_port}"),
                crate::ir::NatKind::Static {
                    public,
                    to,
                    to_vlan,
                    ..
                } => format!("static {public} {to}@{to_vlan}"),
            };
            s.push_str(&format!("n {line}\n"));
        }
    }
    // Routes and egress filtering decide paths and enforcement points.
    let routes = |routes: &[crate::ir::Route]| -> String {
        routes
            .iter()
            .map(|r| format!("{}@{}>{}", r.net, plan.vlans[r.vlan].name, r.gateway))
            .collect::<Vec<_>>()
            .join(",")
    };
    for t in &plan.tiers {
        s.push_str(&format!(
            "t {} {} {}\n",
            t.name,
            t.egress,
            routes(&t.routes)
        ));
    }
    for h in &plan.hosts {
        let addrs: Vec<String> = h
            .interfaces
            .iter()
            .map(|i| format!("{}@{}", i.addr, plan.vlans[i.vlan].name))
            .collect();
        s.push_str(&format!(
            "h {} {} {:?} {} {}\n",
            h.name,
            plan.tiers[h.tier].name,
            h.firewall,
            addrs.join(","),
            routes(&h.routes)
        ));
    }
    for v in &plan.vips {
        let members: Vec<&str> = v
            .members
            .iter()
            .map(|&m| plan.hosts[m].name.as_str())
            .collect();
        s.push_str(&format!("v {} {} {}\n", v.name, v.addr, members.join(",")));
    }
    s
}

/// Where the two plans' rules may differ: the (source, destination) addresses of every rule
/// whose action and header box are not matched by a rule of the other plan. The policy is
/// allows minus denies, order-free, so outside these boxes both plans decide every packet
/// alike.
fn changed_region(a: &Plan, ia: &PlanInfo, b: &Plan, ib: &PlanInfo) -> (Set, Set) {
    let mut count: std::collections::HashMap<(bool, &HBox), i64> = std::collections::HashMap::new();
    for (plan, info, sign) in [(a, ia, 1), (b, ib, -1)] {
        for (f, flow) in plan.flows.iter().enumerate() {
            let key = (
                flow.action == crate::ir::Action::Allow,
                &info.policy.flow_boxes[f],
            );
            *count.entry(key).or_default() += sign;
        }
    }
    let (mut src, mut dst) = (Set::empty(), Set::empty());
    for ((_, b), n) in count {
        if n != 0 && !b.is_empty() {
            src = src.union(&b.src);
            dst = dst.union(&b.dst);
        }
    }
    (src, dst)
}

/// How the old plan's routing domains map onto the new plan's keys: by VRF name (domain 0,
/// which holds the internet, onto domain 0); a domain the new plan lacks, or one whose new
/// domain is already taken, gets a number of its own.
fn domain_map(old: &Plan, new: &Plan) -> Vec<u32> {
    let fresh = old.domains.count.max(new.domains.count);
    let mut map: Vec<u32> = Vec::new();
    for d in 0..old.domains.count {
        let to = if d == 0 {
            Some(0)
        } else {
            old.domains
                .vrfs
                .get(d as usize)
                .into_iter()
                .flatten()
                .find_map(|v| new.domain_of_vrf(v))
                .filter(|&t| t != 0 && !map.contains(&t))
        };
        map.push(to.unwrap_or(fresh + d));
    }
    map
}

/// A set with the domain of every key mapped by `map` (indexed by the key's domain; keys of a
/// domain not in `map` keep theirs).
fn rehome_set(set: &Set, map: &dyn Fn(u32) -> u32) -> Set {
    let mut out: Vec<(Key, Key)> = Vec::new();
    for &(lo, hi) in set.ranges() {
        // Split the range at every (domain, family) run it spans.
        let mut start = lo;
        loop {
            let end = if start.hi == hi.hi {
                hi
            } else {
                Key::new(start.hi, u128::MAX)
            };
            let d = space::key_domain(start);
            let to = map(d);
            let shift = |k: Key| Key::new((k.hi & 1) | ((to as u128) << 1), k.lo);
            out.push((shift(start), shift(end)));
            if end == hi {
                break;
            }
            start = Key::new(start.hi + 1, 0);
        }
    }
    Set::from_ranges(out)
}

/// The common refinement of two partitions (lists of disjoint sets): each piece with the index
/// of the part of each side that holds it (`None` when that side has no part there).
fn refine(a: &[Set], b: &[Set]) -> Vec<(Set, Option<usize>, Option<usize>)> {
    let side = |parts: &[Set]| {
        let mut r: Vec<(Key, Key, usize)> = parts
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.ranges().iter().map(move |&(lo, hi)| (lo, hi, i)))
            .collect();
        r.sort_unstable();
        r
    };
    let (ra, rb) = (side(a), side(b));
    let mut cuts: Vec<Key> = Vec::with_capacity(2 * (ra.len() + rb.len()));
    for &(lo, hi, _) in ra.iter().chain(&rb) {
        cuts.push(lo);
        if hi < Key::MAX {
            cuts.push(hi.succ());
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    type Sides = (Option<usize>, Option<usize>);
    let mut groups: BTreeMap<Sides, Vec<(Key, Key)>> = BTreeMap::new();
    let (mut ia, mut ib) = (0, 0);
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).map_or(Key::MAX, |c| c.pred());
        while ia < ra.len() && ra[ia].1 < start {
            ia += 1;
        }
        while ib < rb.len() && rb[ib].1 < start {
            ib += 1;
        }
        let pa = ra.get(ia).filter(|r| r.0 <= start).map(|r| r.2);
        let pb = rb.get(ib).filter(|r| r.0 <= start).map(|r| r.2);
        if pa.is_some() || pb.is_some() {
            groups.entry((pa, pb)).or_default().push((start, end));
        }
    }
    groups
        .into_iter()
        .map(|((pa, pb), r)| (Set::from_ranges(r), pa, pb))
        .collect()
}

/// One plan's side of the comparison, in the new plan's keys.
struct Side<'a> {
    plan: &'a Plan,
    info: &'a PlanInfo,
    layout: Layout,
    /// From the new plan's keys to this plan's (identity for the new plan).
    back: Box<dyn Fn(&Set) -> Set + 'a>,
    /// From this plan's keys to the new plan's.
    forth: Box<dyn Fn(&Set) -> Set + 'a>,
}

impl Side<'_> {
    fn access(&self, src: &Set, dst: &Set, src_part: usize, dst_part: usize) -> Access {
        let s = &self.layout.sources[src_part].unit;
        let d = &self.layout.destinations[dst_part].unit;
        let su = Unit {
            addrs: (self.back)(src),
            ..s.clone()
        };
        let du = Unit {
            addrs: (self.back)(dst),
            ..d.clone()
        };
        let mut access = Access::default();
        for o in outcome(self.plan, self.info, &su, &du, &all_services()) {
            access.add(&o);
        }
        let forth = |b: &HBox| HBox {
            src: (self.forth)(&b.src),
            dst: (self.forth)(&b.dst),
            svc: b.svc.clone(),
        };
        Access {
            reachable: access
                .reachable
                .iter()
                .map(|(b, f)| (forth(b), *f))
                .collect(),
            configured: access
                .configured
                .iter()
                .map(|(b, f)| (forth(b), *f))
                .collect(),
        }
    }
}

#[derive(Default)]
struct Row {
    pieces: Vec<HBox>,
    rules: Vec<usize>,
    unenforced: bool,
}

/// `ours` minus `theirs`, piece by piece, into `rows` under `key`.
fn subtract_into(
    rows: &mut BTreeMap<(usize, usize, bool), Row>,
    key: (usize, usize, bool),
    ours: impl Iterator<Item = (HBox, Option<usize>)>,
    theirs: &[HBox],
) {
    for (piece, rule) in ours {
        let left = subtract_all(vec![piece], theirs.iter());
        if left.is_empty() {
            continue;
        }
        let row = rows.entry(key).or_default();
        match rule {
            Some(r) if !row.rules.contains(&r) => row.rules.push(r),
            None => row.unenforced = true,
            _ => {}
        }
        row.pieces.extend(left);
    }
}

fn changes(side: &Side, rows: BTreeMap<(usize, usize, bool), Row>) -> Vec<Change> {
    // Examples name host addresses where the row has them, else an address people read as
    // what the region is (the internet by a public one).
    let hosts = Set::union_all((0..side.plan.hosts.len()).map(|h| side.plan.host_set(h)));
    rows.into_iter()
        .map(|((s, d, configured_only), mut row)| {
            let svc = row
                .pieces
                .iter()
                .fold(Set::empty(), |acc, p| acc.union(&p.svc));
            row.rules.sort_unstable();
            let regions = &side.layout.regions;
            let pieces: Vec<HBox> = row
                .pieces
                .iter()
                .map(|p| HBox {
                    src: (side.back)(&p.src),
                    dst: (side.back)(&p.dst),
                    svc: p.svc.clone(),
                })
                .collect();
            Change {
                src: regions[s].name.clone(),
                dst: regions[d].name.clone(),
                services: Services(svc),
                example: pieces
                    .iter()
                    .find(|b| space::ordinary_example(&b.src).is_some())
                    .or(pieces.first())
                    .and_then(|b| packet_preferring(b, &hosts)),
                rules: row.rules.iter().map(|&r| rule_ref(side.plan, r)).collect(),
                unenforced: row.unenforced,
                configured_only,
                pieces,
            }
        })
        .collect()
}

pub fn diff(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo) -> Diff {
    diff_with(old, old_info, new, new_info, true)
}

/// The same, comparing every packet of both plans (what the shortcut of `diff` is tested
/// against).
pub fn diff_exhaustive(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo) -> Diff {
    diff_with(old, old_info, new, new_info, false)
}

fn diff_with(
    old: &Plan,
    old_info: &PlanInfo,
    new: &Plan,
    new_info: &PlanInfo,
    shortcut: bool,
) -> Diff {
    let map = domain_map(old, new);
    let identity = map.iter().enumerate().all(|(d, &t)| d as u32 == t)
        && old.domains.count == new.domains.count;
    let fwd = map.clone();
    let forth = move |d: u32| fwd.get(d as usize).copied().unwrap_or(d);
    let inverse: BTreeMap<u32, u32> = map
        .iter()
        .enumerate()
        .map(|(d, &t)| (t, d as u32))
        .collect();
    let back = move |d: u32| inverse.get(&d).copied().unwrap_or(u32::MAX >> 2);
    let old_side = Side {
        plan: old,
        info: old_info,
        layout: layout(old),
        back: Box::new(move |s| rehome_set(s, &back)),
        forth: Box::new(move |s| rehome_set(s, &forth)),
    };
    let new_side = Side {
        plan: new,
        info: new_info,
        layout: layout(new),
        back: Box::new(|s: &Set| s.clone()),
        forth: Box::new(|s: &Set| s.clone()),
    };
    // Only the packets the differing rules cover, when nothing else differs.
    let region = (shortcut && identity && topology_fingerprint(old) == topology_fingerprint(new))
        .then(|| changed_region(old, old_info, new, new_info));
    let parts = |side: &Side, src: bool| -> Vec<Set> {
        let list = if src {
            &side.layout.sources
        } else {
            &side.layout.destinations
        };
        list.iter().map(|p| (side.forth)(&p.unit.addrs)).collect()
    };
    let mut srcs = refine(&parts(&old_side, true), &parts(&new_side, true));
    let mut dsts = refine(&parts(&old_side, false), &parts(&new_side, false));
    if let Some((rs, rd)) = &region {
        for (list, within) in [(&mut srcs, rs), (&mut dsts, rd)] {
            list.retain_mut(|(set, _, _)| {
                *set = set.intersect(within);
                !set.is_empty()
            });
        }
    }
    let mut opened: BTreeMap<(usize, usize, bool), Row> = BTreeMap::new();
    let mut closed: BTreeMap<(usize, usize, bool), Row> = BTreeMap::new();
    let region_of = |side: &Side, s: usize, d: usize| {
        (
            side.layout.sources[s].region,
            side.layout.destinations[d].region,
        )
    };
    for (sset, so, sn) in &srcs {
        for (dset, d_old, d_new) in &dsts {
            let a = match (so, d_old) {
                (Some(s), Some(d)) => old_side.access(sset, dset, *s, *d),
                _ => Access::default(),
            };
            let b = match (sn, d_new) {
                (Some(s), Some(d)) => new_side.access(sset, dset, *s, *d),
                _ => Access::default(),
            };
            if a.is_empty() && b.is_empty() {
                continue;
            }
            let boxes = |acc: &Access, configured: bool| -> Vec<HBox> {
                let mut v: Vec<HBox> = acc.reachable.iter().map(|(b, _)| b.clone()).collect();
                if configured {
                    v.extend(acc.configured.iter().map(|(b, _)| b.clone()));
                }
                v
            };
            // Opened: the new plan's access minus the old's, labelled by the new plan's
            // regions; closed: the reverse. Configured-only access is measured against both
            // kinds of the other side.
            for (rows, side, parts, ours, theirs) in [
                (&mut opened, &new_side, (sn, d_new), &b, &a),
                (&mut closed, &old_side, (so, d_old), &a, &b),
            ] {
                let (Some(s), Some(d)) = parts else { continue };
                let (rs, rd) = region_of(side, *s, *d);
                subtract_into(
                    rows,
                    (rs, rd, false),
                    ours.reachable.iter().cloned(),
                    &boxes(theirs, false),
                );
                subtract_into(
                    rows,
                    (rs, rd, true),
                    ours.configured.iter().map(|(x, f)| (x.clone(), Some(*f))),
                    &boxes(theirs, true),
                );
            }
        }
    }
    Diff {
        opened: changes(&new_side, opened),
        closed: changes(&old_side, closed),
    }
}

pub fn human(d: &Diff) -> String {
    let mut s = String::new();
    if d.opened.is_empty() && d.closed.is_empty() {
        s.push_str("no change in access\n");
        return s;
    }
    for (sign, list) in [("+", &d.opened), ("-", &d.closed)] {
        for c in list.iter() {
            let kind = if c.configured_only {
                "  (configured only: a firewall accepts it, no path of the plan delivers it)"
            } else {
                ""
            };
            s.push_str(&format!(
                "{sign} {} -> {}: {}{kind}\n",
                c.src, c.dst, c.services
            ));
            if let Some(p) = &c.example {
                s.push_str(&format!("    e.g. {p}\n"));
            }
            for r in &c.rules {
                s.push_str(&format!(
                    "    {} {}  {}\n",
                    if sign == "+" {
                        "allowed by"
                    } else {
                        "was allowed by"
                    },
                    r.at,
                    r.text
                ));
            }
            if c.unenforced {
                s.push_str("    (no firewall netc manages is on the path)\n");
            }
        }
    }
    s.push_str(&format!(
        "{} opened, {} closed\n",
        d.opened.len(),
        d.closed.len()
    ));
    s
}
