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

type PairKey = (String, Set, String, Set);

fn outcomes(
    plan: &Plan,
    info: &PlanInfo,
    src: &(String, EndpointRef),
    dst: &(String, EndpointRef),
) -> BTreeMap<PairKey, PairOutcome> {
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
    .map(|o| {
        (
            (
                o.src_label.clone(),
                o.src.clone(),
                o.dst_label.clone(),
                o.dst.clone(),
            ),
            o,
        )
    })
    .collect()
}

/// Access in plan A that plan B lacks.
fn changes(a: &Plan, ia: &PlanInfo, b: &Plan, ib: &PlanInfo, same_topology: bool) -> Vec<Change> {
    let eps_a = endpoints(a);
    let eps_b: BTreeMap<String, EndpointRef> = endpoints(b).into_iter().collect();
    let mut out = Vec::new();
    for s in &eps_a {
        for d in &eps_a {
            let (sa, da) = (a.endpoint_set(&s.1), a.endpoint_set(&d.1));
            let (sb, db) = (eps_b.get(&s.0), eps_b.get(&d.0));
            if same_topology {
                if let (Some(sb), Some(db)) = (sb, db) {
                    if b.endpoint_set(sb) == sa && b.endpoint_set(db) == da {
                        // Same addresses on both sides: compare the two policies on this cell.
                        let cell = HBox {
                            src: sa.clone(),
                            dst: da.clone(),
                            svc: all_services(),
                        };
                        if same_space(
                            &ia.policy.evaluate(&cell).permitted,
                            &ib.policy.evaluate(&cell).permitted,
                        ) {
                            continue;
                        }
                    }
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
                _ => BTreeMap::new(),
            };
            let mut rules: Vec<usize> = Vec::new();
            let mut pieces: Vec<HBox> = Vec::new();
            let mut unenforced = false;
            for (key, o) in &ours {
                let had = theirs
                    .get(key)
                    .map(|t| t.permitted_services())
                    .unwrap_or_default();
                let added = o.permitted_services().difference(&had);
                if added.is_empty() {
                    continue;
                }
                for (piece, rule) in o.permitted() {
                    let svc = piece.svc.intersect(&added);
                    if svc.is_empty() {
                        continue;
                    }
                    match rule {
                        Some(r) if !rules.contains(&r) => rules.push(r),
                        None => unenforced = true,
                        _ => {}
                    }
                    pieces.push(HBox {
                        svc,
                        ..piece.clone()
                    });
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
