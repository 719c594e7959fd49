//! What a change of plan opens and closes, tier by tier and service by service.

use super::explain::{packet, rule_ref, Packet, RuleRef};
use super::matrix::{cell, endpoints};
use crate::check::PlanInfo;
use crate::ir::Plan;
use crate::space::{self, all_services, subtract_all, HBox, Set};
use serde::Serialize;

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

fn changes(plan_a: &Plan, info_a: &PlanInfo, plan_b: &Plan, info_b: &PlanInfo) -> Vec<Change> {
    // Access in A that B lacks, per (src, dst) named in A.
    let eps_a = endpoints(plan_a);
    let eps_b = endpoints(plan_b);
    let mut out = Vec::new();
    for s in &eps_a {
        for d in &eps_a {
            let ca = cell(plan_a, info_a, s, d, &all_services());
            if ca.permitted.is_empty() {
                continue;
            }
            let other: Vec<HBox> = match (
                eps_b.iter().find(|e| e.0 == s.0),
                eps_b.iter().find(|e| e.0 == d.0),
            ) {
                (Some(sb), Some(db)) => cell(plan_b, info_b, sb, db, &all_services())
                    .permitted
                    .into_iter()
                    .map(|(b, _)| b)
                    .collect(),
                _ => Vec::new(),
            };
            let mut rules: Vec<usize> = Vec::new();
            let mut pieces: Vec<HBox> = Vec::new();
            let mut unenforced = false;
            for (b, rule) in &ca.permitted {
                let rest = subtract_all(vec![b.clone()], other.iter());
                if rest.is_empty() {
                    continue;
                }
                match rule {
                    Some(r) if !rules.contains(r) => rules.push(*r),
                    None => unenforced = true,
                    _ => {}
                }
                pieces.extend(rest);
            }
            if pieces.is_empty() {
                continue;
            }
            let svc = pieces.iter().fold(Set::empty(), |a, b| a.union(&b.svc));
            rules.sort();
            out.push(Change {
                src: s.0.clone(),
                dst: d.0.clone(),
                services: space::service_text(&svc),
                example: pieces.first().and_then(packet),
                rules: rules.into_iter().map(|r| rule_ref(plan_a, r)).collect(),
                unenforced,
            });
        }
    }
    out
}

pub fn diff(old: &Plan, old_info: &PlanInfo, new: &Plan, new_info: &PlanInfo) -> Diff {
    Diff {
        opened: changes(new, new_info, old, old_info),
        closed: changes(old, old_info, new, new_info),
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
