//! What a change of plan opens and closes, tier by tier and service by service.
//!
//! Two steps per (source, destination) cell of the matrix: when the two plans have the same
//! topology (subnets, routers, hosts, firewalls, VIPs) and the cell's endpoints stand for the
//! same addresses, the cell's policy is compared in header space, atom pair by atom pair,
//! which is cheap; only cells whose policy differs (or every cell, when the topology changed)
//! are compared packet path by packet path, host pair by host pair.

use super::explain::{packet, rule_ref, Packet, RuleRef};
use super::matrix::endpoints;
use crate::check::PlanInfo;
use crate::ir::{EndpointRef, Plan};
use crate::reach::{self, PairOutcome};
use crate::space::{self, all_services, subtract_all, HBox, Set};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Change {
    pub src: String,
    pub dst: String,
    pub services: String,
    pub example: Option<Packet>,
    /// The rules responsible (of the new plan for opened access, of the old for closed).
    pub rules: Vec<RuleRef>,
    /// Access through no enforcement point.
    pub unenforced: bool,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    pub opened: Vec<Change>,
    pub closed: Vec<Change>,
}

/// Everything besides the flows that decides what reaches what.
fn topology_fingerprint(plan: &Plan) -> String {
    let mut s = String::new();
    for sub in &plan.subnets {
        s.push_str(&format!("s {} {:?}\n", sub.net, sub.gateway));
    }
    for r in &plan.routers {
        let addrs: Vec<String> = r.interfaces.iter().map(|i| i.addr.to_string()).collect();
        s.push_str(&format!(
            "r {} {} {:?}\n",
            r.name,
            addrs.join(","),
            r.upstream
        ));
    }
    for h in &plan.hosts {
        let addrs: Vec<String> = h.interfaces.iter().map(|i| i.addr.to_string()).collect();
        s.push_str(&format!(
            "h {} {} {:?} {}\n",
            h.name,
            plan.tiers[h.tier].name,
            h.firewall,
            addrs.join(",")
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

fn same_space(a: &[(HBox, usize)], b: &[(HBox, usize)]) -> bool {
    let (ab, bb): (Vec<HBox>, Vec<HBox>) = (
        a.iter().map(|x| x.0.clone()).collect(),
        b.iter().map(|x| x.0.clone()).collect(),
    );
    subtract_all(ab.clone(), bb.iter()).is_empty() && subtract_all(bb, ab.iter()).is_empty()
}

/// The outcomes of a cell that have a path.
fn outcomes(
    plan: &Plan,
    info: &PlanInfo,
    src: &(String, EndpointRef),
    dst: &(String, EndpointRef),
) -> Vec<PairOutcome> {
    let su = reach::src_units(plan, &src.1, &src.0);
    let du = reach::dst_units(plan, &dst.1, &dst.0);
    reach::evaluate(
        plan,
        &info.policy,
        &info.topology,
        &su,
        &du,
        &all_services(),
    )
    .into_iter()
    .filter(|o| o.path.is_some())
    .collect()
}

/// The addresses an endpoint stands for in a cell (`internet` as a query endpoint leaves out
/// the networks the plan names).
fn cell_set(plan: &Plan, e: &EndpointRef) -> Set {
    match e {
        EndpointRef::Internet => reach::arbitrary_internet(plan),
        _ => plan.endpoint_set(e),
    }
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

/// Access in plan A that plan B lacks.
fn changes(a: &Plan, ia: &PlanInfo, b: &Plan, ib: &PlanInfo, same_topology: bool) -> Vec<Change> {
    let eps_a = endpoints(a);
    let eps_b: BTreeMap<String, EndpointRef> = endpoints(b).into_iter().collect();
    // Per endpoint: its addresses in A, whether B has it with the same addresses, and whether
    // it touches the region where the rules differ as a source or as a destination.
    let (region_src, region_dst) = changed_region(a, ia, b, ib);
    let sets_a: Vec<Set> = eps_a.iter().map(|e| cell_set(a, &e.1)).collect();
    let same_set: Vec<bool> = eps_a
        .iter()
        .zip(&sets_a)
        .map(|(e, set)| eps_b.get(&e.0).is_some_and(|r| cell_set(b, r) == *set))
        .collect();
    let src_hit: Vec<bool> = sets_a.iter().map(|s| s.intersects(&region_src)).collect();
    let dst_hit: Vec<bool> = sets_a.iter().map(|s| s.intersects(&region_dst)).collect();
    let mut out = Vec::new();
    for (i, s) in eps_a.iter().enumerate() {
        for (j, d) in eps_a.iter().enumerate() {
            let (sa, da) = (&sets_a[i], &sets_a[j]);
            let (sb, db) = (eps_b.get(&s.0), eps_b.get(&d.0));
            if same_topology && same_set[i] && same_set[j] {
                // Same addresses on both sides: no rule differs on this cell...
                if !(src_hit[i] && dst_hit[j]) {
                    continue;
                }
                let cell = HBox {
                    src: sa.clone(),
                    dst: da.clone(),
                    svc: all_services(),
                };
                // ...or the two policies permit the same space on it.
                if same_space(
                    &ia.policy.evaluate(&cell).permitted,
                    &ib.policy.evaluate(&cell).permitted,
                ) {
                    continue;
                }
            }
            let ours = outcomes(a, ia, s, d);
            let theirs = match (sb, db) {
                (Some(sb), Some(db)) => outcomes(
                    b,
                    ib,
                    &(s.0.clone(), sb.clone()),
                    &(d.0.clone(), db.clone()),
                ),
                _ => Vec::new(),
            };
            // What B permits, by (source unit, destination unit) label: A's pieces minus
            // B's, in header space, so that a unit whose addresses changed shows only the
            // packets that changed.
            let mut had: BTreeMap<(&str, &str), Vec<HBox>> = BTreeMap::new();
            for t in &theirs {
                had.entry((t.src_label.as_str(), t.dst_label.as_str()))
                    .or_default()
                    .extend(t.permitted().map(|(p, _)| p.clone()));
            }
            let mut rules: Vec<usize> = Vec::new();
            let mut pieces: Vec<HBox> = Vec::new();
            let mut unenforced = false;
            for o in &ours {
                let before = had
                    .get(&(o.src_label.as_str(), o.dst_label.as_str()))
                    .map_or(&[][..], Vec::as_slice);
                for (piece, rule) in o.permitted() {
                    let added = subtract_all(vec![piece.clone()], before.iter());
                    if added.is_empty() {
                        continue;
                    }
                    match rule {
                        Some(r) if !rules.contains(&r) => rules.push(r),
                        None => unenforced = true,
                        _ => {}
                    }
                    pieces.extend(added);
                }
            }
            if pieces.is_empty() {
                continue;
            }
            let svc = pieces.iter().fold(Set::empty(), |acc, p| acc.union(&p.svc));
            rules.sort_unstable();
            out.push(Change {
                src: s.0.clone(),
                dst: d.0.clone(),
                services: space::service_text(&svc),
                example: pieces.first().and_then(packet),
                rules: rules.into_iter().map(|r| rule_ref(a, r)).collect(),
                unenforced,
            });
        }
    }
    out
}

pub fn diff(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo) -> Diff {
    let same = topology_fingerprint(old) == topology_fingerprint(new);
    diff_with(old, old_info, new, new_info, same)
}

/// The same, comparing every cell packet path by packet path, as when the topology changed
/// (what the shortcuts of `diff` are tested against).
pub fn diff_exhaustive(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo) -> Diff {
    diff_with(old, old_info, new, new_info, false)
}

fn diff_with(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo, same: bool) -> Diff {
    Diff {
        opened: changes(new, new_info, old, old_info, same),
        closed: changes(old, old_info, new, new_info, same),
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
            s.push_str(&format!("{sign} {} -> {}: {}\n", c.src, c.dst, c.services));
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
