//! How an answer explains itself: the path, the enforcement points, the rules that permitted
//! or denied, an example packet, and the nearest rules when nothing matched.

use super::{Answer, Verdict};
use crate::check::PlanInfo;
use crate::ir::{Action, Plan};
use crate::reach::{Enforcer, PairOutcome};
use crate::space::{self, HBox, Set};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct RuleRef {
    pub at: String,
    pub text: String,
}

pub fn rule_ref(plan: &Plan, flow: usize) -> RuleRef {
    let f = &plan.flows[flow];
    RuleRef {
        at: f.origin.file_line(),
        text: f.text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[derive(Debug, Serialize)]
pub struct Packet {
    pub src: String,
    pub dst: String,
    pub service: String,
}

impl std::fmt::Display for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {} {}", self.src, self.dst, self.service)
    }
}

pub fn packet(b: &HBox) -> Option<Packet> {
    let (s, d, v) = b.sample()?;
    Some(Packet {
        src: space::key_addr(s).to_string(),
        dst: space::key_addr(d).to_string(),
        service: space::service_text(&Set::point(v)),
    })
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub services: String,
    pub example: Option<Packet>,
    pub rule: Option<RuleRef>,
}

/// Pairs that behave alike, shown once.
#[derive(Debug, Serialize)]
pub struct Group {
    pub verdict: Verdict,
    pub pairs: usize,
    pub examples: Vec<String>,
    pub path: Vec<String>,
    pub enforced_by: Vec<String>,
    /// What the enforcement points accept (reachable only when the group has a path and
    /// `reply_fails` is empty).
    pub permitted: Vec<Step>,
    pub denied: Vec<Step>,
    pub unmatched: Vec<Step>,
    /// Why the connection fails although the firewalls accept the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_fails: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub question: String,
    pub verdict: Verdict,
    pub source: String,
    pub destination: String,
    pub services: String,
    pub pairs: usize,
    /// Pairs with a path between them.
    pub pairs_routed: usize,
    pub pairs_permitted: usize,
    pub groups: Vec<Group>,
    pub near_misses: Vec<String>,
}

fn pair_verdict(p: &PairOutcome) -> Verdict {
    if p.fully_permitted() {
        Verdict::Yes
    } else if p.any_permitted() {
        Verdict::Partial
    } else {
        Verdict::No
    }
}

fn enforcer_text(plan: &Plan, e: &Enforcer) -> String {
    match *e {
        Enforcer::Router(r) => format!("router {}", plan.routers[r].name),
        Enforcer::Host(h) => {
            format!("host {} ({:?})", plan.hosts[h].name, plan.hosts[h].firewall).to_lowercase()
        }
    }
}

/// Segment names by subnet, made once per explanation.
type SegNames = std::collections::HashMap<Option<usize>, String>;

fn path_text(plan: &Plan, p: &PairOutcome, names: &mut SegNames) -> Vec<String> {
    let vrfs = plan.vlans.iter().any(|v| v.vrf != "default");
    let mut seg = |k: crate::space::Key| {
        let s = plan.subnet_of(k);
        names
            .entry(s)
            .or_insert_with(|| match s {
                Some(s) => {
                    let vlan = &plan.vlans[plan.subnets[s].vlan];
                    let vrf = if vrfs {
                        format!(" (vrf {})", vlan.vrf)
                    } else {
                        String::new()
                    };
                    format!("{} {}{vrf}", vlan.name, plan.subnets[s].net)
                }
                None => "outside the plan".to_string(),
            })
            .clone()
    };
    let (Some(s), Some(d)) = (p.src.first(), p.dst.first()) else {
        return Vec::new();
    };
    let (from, to) = (seg(s), seg(d));
    let crosses = p.path.as_ref().is_some_and(|r| !r.is_empty()) || from != to;
    let mut out = vec![from];
    for &r in p.path.iter().flatten() {
        out.push(format!("router {}", plan.routers[r].name));
    }
    if crosses {
        out.push(to);
    }
    out
}

pub fn explain(plan: &Plan, info: &PlanInfo, answer: &Answer) -> Explanation {
    // Group by behaviour: verdict, path, rules.
    type Key = (
        u8,
        Vec<String>,
        Vec<usize>,
        Vec<usize>,
        bool,
        bool,
        Option<String>,
    );
    let mut groups: BTreeMap<Key, Vec<&PairOutcome>> = BTreeMap::new();
    let mut names = SegNames::new();
    for p in &answer.pairs {
        let v = pair_verdict(p);
        let mut permitted: Vec<usize> = p.accepted().filter_map(|(_, f)| f).collect();
        permitted.sort();
        permitted.dedup();
        let mut denied: Vec<usize> = p.eval.denied.iter().map(|(_, f)| *f).collect();
        denied.sort();
        denied.dedup();
        let key = (
            v as u8,
            path_text(plan, p, &mut names),
            permitted,
            denied,
            !p.unenforced.is_empty(),
            p.path.is_none(),
            p.reply_fails.clone(),
        );
        groups.entry(key).or_default().push(p);
    }
    let mut out_groups = Vec::new();
    for ((_, _, permitted_rules, denied_rules, _, _, reply_fails), pairs) in &groups {
        let first = pairs[0];
        let mut enforced: Vec<String> = pairs
            .iter()
            .flat_map(|p| p.enforcers.iter().map(|e| enforcer_text(plan, e)))
            .collect();
        enforced.sort();
        enforced.dedup();
        if enforced.len() > 4 {
            let n = enforced.len();
            enforced.truncate(3);
            enforced.push(format!("and {} more", n - 3));
        }
        let mut permitted = Vec::new();
        for &rule in permitted_rules {
            let boxes: Vec<&HBox> = pairs
                .iter()
                .flat_map(|p| {
                    p.accepted()
                        .filter(|(_, f)| *f == Some(rule))
                        .map(|(b, _)| b)
                })
                .collect();
            let svc = boxes.iter().fold(Set::empty(), |a, b| a.union(&b.svc));
            permitted.push(Step {
                services: space::service_text(&svc),
                example: boxes.first().and_then(|b| packet(b)),
                rule: Some(rule_ref(plan, rule)),
            });
        }
        let open: Vec<&HBox> = pairs
            .iter()
            .flat_map(|p| p.accepted().filter(|(_, f)| f.is_none()).map(|(b, _)| b))
            .collect();
        if !open.is_empty() {
            let svc = open.iter().fold(Set::empty(), |a, b| a.union(&b.svc));
            permitted.push(Step {
                services: space::service_text(&svc),
                example: open.first().and_then(|b| packet(b)),
                rule: None,
            });
        }
        let mut denied = Vec::new();
        for &rule in denied_rules {
            let boxes: Vec<&HBox> = pairs
                .iter()
                .flat_map(|p| {
                    p.eval
                        .denied
                        .iter()
                        .filter(|(_, f)| *f == rule)
                        .map(|(b, _)| b)
                })
                .collect();
            let svc = boxes.iter().fold(Set::empty(), |a, b| a.union(&b.svc));
            denied.push(Step {
                services: space::service_text(&svc),
                example: boxes.first().and_then(|b| packet(b)),
                rule: Some(rule_ref(plan, rule)),
            });
        }
        let unmatched_boxes: Vec<&HBox> =
            pairs.iter().flat_map(|p| p.eval.unmatched.iter()).collect();
        let mut unmatched = Vec::new();
        if !unmatched_boxes.is_empty() {
            let svc = unmatched_boxes
                .iter()
                .fold(Set::empty(), |a, b| a.union(&b.svc));
            unmatched.push(Step {
                services: space::service_text(&svc),
                example: unmatched_boxes.first().and_then(|b| packet(b)),
                rule: None,
            });
        }
        let mut examples: Vec<String> = pairs
            .iter()
            .take(3)
            .map(|p| format!("{} -> {}", p.src_label, p.dst_label))
            .collect();
        if pairs.len() > 3 {
            examples.push(format!("and {} more", pairs.len() - 3));
        }
        let path = if first.path.is_none() {
            vec!["no path: no router of the plan joins these subnets".to_string()]
        } else {
            path_text(plan, first, &mut names)
        };
        out_groups.push(Group {
            verdict: pair_verdict(first),
            pairs: pairs.len(),
            examples,
            path,
            enforced_by: enforced,
            permitted,
            denied,
            unmatched,
            reply_fails: reply_fails.clone(),
        });
    }
    Explanation {
        question: answer.question.clone(),
        verdict: answer.verdict,
        source: answer.src.text.clone(),
        destination: answer.dst.text.clone(),
        services: answer.services_text.clone(),
        pairs: answer.pairs.len(),
        pairs_routed: answer.pairs.iter().filter(|p| p.path.is_some()).count(),
        pairs_permitted: answer.pairs.iter().filter(|p| p.fully_permitted()).count(),
        groups: out_groups,
        near_misses: near_misses(plan, info, answer),
    }
}

/// Allow rules that match two of the three dimensions of what was not permitted.
fn near_misses(plan: &Plan, info: &PlanInfo, answer: &Answer) -> Vec<String> {
    let missing: Vec<&HBox> = answer
        .pairs
        .iter()
        .filter(|p| p.path.is_some())
        .flat_map(|p| p.eval.unmatched.iter())
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let src = missing.iter().fold(Set::empty(), |a, b| a.union(&b.src));
    let dst = missing.iter().fold(Set::empty(), |a, b| a.union(&b.dst));
    let svc = missing.iter().fold(Set::empty(), |a, b| a.union(&b.svc));
    // A near miss matches the destination or the source: only those flows, in plan order.
    let policy = &info.policy;
    let mut candidates = policy.flows_to(&dst);
    candidates.extend(policy.flows_from(&src));
    candidates.sort_unstable();
    candidates.dedup();
    let mut out = Vec::new();
    for f in candidates {
        let flow = &plan.flows[f];
        if flow.action != Action::Allow {
            continue;
        }
        let b = &policy.flow_boxes[f];
        let (s, d, v) = (
            b.src.intersects(&src),
            b.dst.intersects(&dst),
            b.svc.intersects(&svc),
        );
        if !matches!(
            (s, d, v),
            (false, true, true) | (true, true, false) | (true, false, true)
        ) {
            continue;
        }
        let srcs: Vec<&str> = flow.sources.iter().map(|e| e.text.as_str()).collect();
        let dsts: Vec<&str> = flow.destinations.iter().map(|e| e.text.as_str()).collect();
        let at = flow.origin.file_line();
        let line = match (s, d, v) {
            (false, true, true) => format!(
                "{} accepts {} from {}; not from {} ({at})",
                dsts.join(", "),
                space::service_text(&b.svc.intersect(&svc)),
                srcs.join(", "),
                answer.src.text
            ),
            (true, true, false) => format!(
                "{} may reach {} on {}, not on {} ({at})",
                srcs.join(", "),
                dsts.join(", "),
                space::service_text(&b.svc),
                answer.services_text
            ),
            (true, false, true) => format!(
                "{} may reach {} on {}; not {} ({at})",
                srcs.join(", "),
                dsts.join(", "),
                space::service_text(&b.svc.intersect(&svc)),
                answer.dst.text
            ),
            _ => continue,
        };
        out.push(line);
        if out.len() == 5 {
            break;
        }
    }
    out
}

pub fn human(e: &Explanation) -> String {
    let mut s = String::new();
    let verdict = match e.verdict {
        Verdict::Yes => "YES",
        Verdict::Partial => "PARTLY",
        Verdict::No => "NO",
    };
    let _ = writeln!(s, "{}?  {verdict}", e.question);
    let _ = write!(
        s,
        "  {} of {} routed source/destination pairs fully permitted",
        e.pairs_permitted, e.pairs_routed
    );
    let unrouted = e.pairs - e.pairs_routed;
    if unrouted > 0 {
        let _ = write!(
            s,
            "; {unrouted} pair{} without a path",
            if unrouted == 1 { "" } else { "s" }
        );
    }
    s.push('\n');
    for g in &e.groups {
        let v = match g.verdict {
            Verdict::Yes => "permitted",
            Verdict::Partial => "partly permitted",
            Verdict::No => "not permitted",
        };
        let _ = writeln!(
            s,
            "\n  {v}: {} pair{}: {}",
            g.pairs,
            if g.pairs == 1 { "" } else { "s" },
            g.examples.join(", ")
        );
        let _ = writeln!(s, "    path: {}", g.path.join(" -> "));
        if !g.enforced_by.is_empty() {
            let _ = writeln!(s, "    enforced by: {}", g.enforced_by.join(", "));
        }
        let no_path = g.path.first().is_some_and(|x| x.starts_with("no path"));
        if let Some(why) = &g.reply_fails {
            let _ = writeln!(s, "    replies cannot come back: {why}");
        }
        let but = if no_path {
            " (configured, but no path of the plan delivers it)"
        } else if g.reply_fails.is_some() {
            " (the request passes, the connection fails)"
        } else {
            ""
        };
        for p in &g.permitted {
            match &p.rule {
                Some(r) if !but.is_empty() => {
                    let _ = writeln!(
                        s,
                        "    accepted {} by {}  {}{but}",
                        p.services, r.at, r.text
                    );
                }
                Some(r) => {
                    let _ = writeln!(s, "    allowed {} by {}  {}", p.services, r.at, r.text);
                }
                None if no_path => {}
                None => {
                    let _ = writeln!(
                        s,
                        "    open on {}: no firewall netc manages is on the path",
                        p.services
                    );
                }
            }
            if let Some(x) = &p.example {
                let _ = writeln!(s, "      e.g. {x}");
            }
        }
        for p in &g.denied {
            if let Some(r) = &p.rule {
                let _ = writeln!(s, "    denied {} by {}  {}", p.services, r.at, r.text);
            }
            if let Some(x) = &p.example {
                let _ = writeln!(s, "      e.g. {x}");
            }
        }
        for p in &g.unmatched {
            let why = if g.path.first().is_some_and(|x| x.starts_with("no path")) {
                "unroutable"
            } else {
                "no rule allows"
            };
            let _ = writeln!(s, "    {why} {}", p.services);
            if let Some(x) = &p.example {
                let _ = writeln!(s, "      e.g. {x}");
            }
        }
    }
    if !e.near_misses.is_empty() {
        let _ = writeln!(s, "\n  nearest rules:");
        for n in &e.near_misses {
            let _ = writeln!(s, "    {n}");
        }
    }
    s
}
