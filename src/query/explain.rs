//! How an answer explains itself: the path, the enforcement points, the rules that permitted
//! or denied, an example packet, and the nearest rules when nothing matched.

use super::{Answer, Verdict};
use crate::check::PlanInfo;
use crate::ir::{Action, Plan};
use crate::reach::{Enforcer, PairOutcome};
use crate::space::{self, HBox, Services, Set};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A rule of the plan: its stable identity (from its text, see `Flow::id`), where it is
/// written, and its text.
#[derive(Debug, Serialize)]
pub struct RuleRef {
    pub id: String,
    pub file: String,
    pub line: usize,
    /// `file:line`, for people.
    pub at: String,
    pub text: String,
}

pub fn rule_ref(plan: &Plan, flow: usize) -> RuleRef {
    let f = &plan.flows[flow];
    RuleRef {
        id: f.id(),
        file: f.origin.file.clone(),
        line: f.origin.line,
        at: f.origin.file_line(),
        text: f.text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// One packet: addresses, protocol, and the destination port (none for ICMP).
#[derive(Debug, Serialize)]
pub struct Packet {
    pub src: String,
    pub dst: String,
    pub protocol: &'static str,
    pub port: Option<u16>,
}

impl std::fmt::Display for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {} {}", self.src, self.dst, self.protocol)?;
        match self.port {
            Some(p) => write!(f, "/{p}"),
            None => Ok(()),
        }
    }
}

/// An example packet of `b` that people recognise: to a host's address and from another
/// host's where the box holds them (`hosts`: every host address of the plan), else not a
/// network's first address where the box has others.
pub fn packet_preferring(b: &HBox, hosts: &Set) -> Option<Packet> {
    let pick = |set: &Set, avoid: &Set| {
        let on_hosts = set.intersect(hosts).difference(avoid);
        if !on_hosts.is_empty() {
            return on_hosts;
        }
        let rest = set.difference(avoid);
        let rest = if rest.is_empty() { set.clone() } else { rest };
        // The set's plain example (past 0.0.0.0/8 and ::), another one of the set when that
        // looks like a network address (x.x.x.0).
        match space::example(&rest) {
            Some(k) if k.lo & 0xff == 0 => {
                let others = rest.difference(&Set::point(k));
                match space::example(&others) {
                    Some(o) => Set::point(o),
                    None => Set::point(k),
                }
            }
            Some(k) => Set::point(k),
            None => rest,
        }
    };
    let dst = pick(&b.dst, &Set::empty());
    let src = pick(
        &b.src,
        &dst.ranges()
            .first()
            .map_or(Set::empty(), |&(k, _)| Set::point(k)),
    );
    packet(&HBox {
        src,
        dst,
        svc: b.svc.clone(),
    })
}

pub fn packet(b: &HBox) -> Option<Packet> {
    let (s, d, v) = b.sample()?;
    let (proto, port, _) = *space::service_pieces(&Set::point(v)).first()?;
    Some(Packet {
        src: space::key_addr(s).to_string(),
        dst: space::key_addr(d).to_string(),
        protocol: proto.name(),
        port: (proto != crate::ir::Proto::Icmp).then_some(port),
    })
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub services: Services,
    pub example: Option<Packet>,
    pub rule: Option<RuleRef>,
}

/// One side of a source/destination pair: a host's address, a VIP, or a network's part.
#[derive(Debug, Serialize)]
pub struct Side {
    pub label: String,
    /// The host, when the side is one host's address.
    pub host: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PairExample {
    pub src: Side,
    pub dst: Side,
}

/// A step of a path: a subnet (with its VLAN and VRF), a router, or outside the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Hop {
    Subnet {
        vlan: String,
        network: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        vrf: Option<String>,
    },
    Router {
        name: String,
    },
    Outside,
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hop::Subnet { vlan, network, vrf } => {
                write!(f, "{vlan} {network}")?;
                match vrf {
                    Some(v) => write!(f, " (vrf {v})"),
                    None => Ok(()),
                }
            }
            Hop::Router { name } => write!(f, "router {name}"),
            Hop::Outside => f.write_str("outside the plan"),
        }
    }
}

/// An enforcement point: a router, or a host with its firewall kind.
#[derive(Debug, Serialize)]
pub struct EnforcerRef {
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<String>,
}

impl std::fmt::Display for EnforcerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        match &self.firewall {
            Some(k) => write!(f, " ({k})"),
            None => Ok(()),
        }
    }
}

/// Pairs that behave alike, shown once. Lists are complete (text output shortens them).
#[derive(Debug, Serialize)]
pub struct Group {
    pub verdict: Verdict,
    pub pairs: usize,
    pub examples: Vec<PairExample>,
    /// False when no router of the plan joins the pairs' subnets (`path` is then empty).
    pub routed: bool,
    pub path: Vec<Hop>,
    pub enforced_by: Vec<EnforcerRef>,
    /// What the enforcement points accept (reachable only when the group has a path and
    /// `reply_fails` is empty).
    pub permitted: Vec<Step>,
    pub denied: Vec<Step>,
    pub unmatched: Vec<Step>,
    /// Why the connection fails although the firewalls accept the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_fails: Option<String>,
    /// The translations on the way (`nat`), in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub question: String,
    pub verdict: Verdict,
    pub source: String,
    pub destination: String,
    pub services: Services,
    pub pairs: usize,
    /// Pairs with a path between them.
    pub pairs_routed: usize,
    pub pairs_permitted: usize,
    pub groups: Vec<Group>,
    pub near_misses: Vec<NearMiss>,
    /// When no pair is left: why the source sends nothing there (its kernel picks another of
    /// the host's addresses for the destination).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_sent: Vec<String>,
    /// Which interfaces the destination stands for, when a tier's `serve` VLANs narrow it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_on: Option<String>,
}

/// An allow rule that matches two of the three dimensions of what was not permitted.
#[derive(Debug, Serialize)]
pub struct NearMiss {
    /// Which dimension the rule misses: `source`, `service` or `destination`.
    pub misses: &'static str,
    pub rule: RuleRef,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    /// The services of the rule (of those asked, where it misses the source or destination).
    pub services: Services,
    /// What the question asked in the dimension the rule misses.
    pub asked: String,
}

impl std::fmt::Display for NearMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (srcs, dsts, at) = (
            self.sources.join(", "),
            self.destinations.join(", "),
            &self.rule.at,
        );
        let (svc, asked) = (&self.services, &self.asked);
        match self.misses {
            "source" => write!(
                f,
                "{dsts} accepts {svc} from {srcs}; not from {asked} ({at})"
            ),
            "service" => write!(f, "{srcs} may reach {dsts} on {svc}, not on {asked} ({at})"),
            _ => write!(f, "{srcs} may reach {dsts} on {svc}; not {asked} ({at})"),
        }
    }
}

/// `items` shortened for people: at most `keep + 1` shown, the rest counted.
fn shortened<T: std::fmt::Display>(items: &[T], keep: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    if items.len() > keep + 1 {
        out.extend(items[..keep].iter().map(ToString::to_string));
        out.push(format!("and {} more", items.len() - keep));
    } else {
        out.extend(items.iter().map(ToString::to_string));
    }
    out.join(", ")
}

impl std::fmt::Display for PairExample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.src.label, self.dst.label)
    }
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

fn enforcer_ref(plan: &Plan, e: &Enforcer) -> EnforcerRef {
    match *e {
        Enforcer::Router(r) => EnforcerRef {
            kind: "router",
            name: plan.routers[r].name.clone(),
            firewall: None,
        },
        Enforcer::Host(h) => EnforcerRef {
            kind: "host",
            name: plan.hosts[h].name.clone(),
            firewall: Some(format!("{:?}", plan.hosts[h].firewall).to_lowercase()),
        },
        Enforcer::Egress(h) => EnforcerRef {
            kind: "egress of host",
            name: plan.hosts[h].name.clone(),
            firewall: Some(format!("{:?}", plan.hosts[h].firewall).to_lowercase()),
        },
    }
}

/// Segment hops by subnet, made once per explanation.
type SegNames = std::collections::HashMap<Option<usize>, Hop>;

fn path_hops(plan: &Plan, p: &PairOutcome, names: &mut SegNames) -> Vec<Hop> {
    let vrfs = plan.vlans.iter().any(|v| v.vrf != "default");
    let mut seg = |k: crate::space::Key| {
        let s = plan.subnet_of(k);
        names
            .entry(s)
            .or_insert_with(|| match s {
                Some(s) => {
                    let vlan = &plan.vlans[plan.subnets[s].vlan];
                    Hop::Subnet {
                        vlan: vlan.name.clone(),
                        network: plan.subnets[s].net.to_string(),
                        vrf: vrfs.then(|| vlan.vrf.clone()),
                    }
                }
                None => Hop::Outside,
            })
            .clone()
    };
    let (Some(s), Some(d)) = (p.src.first(), p.dst.first()) else {
        return Vec::new();
    };
    let (from, to) = (seg(s), seg(p.translated_to.unwrap_or(d)));
    let crosses = p.path.as_ref().is_some_and(|r| !r.is_empty()) || from != to;
    let mut out = vec![from];
    for &r in p.path.iter().flatten() {
        out.push(Hop::Router {
            name: plan.routers[r].name.clone(),
        });
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
        Vec<Hop>,
        Vec<usize>,
        Vec<usize>,
        bool,
        bool,
        Option<String>,
        Vec<String>,
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
            path_hops(plan, p, &mut names),
            permitted,
            denied,
            !p.unenforced.is_empty(),
            p.path.is_none(),
            p.reply_fails.clone(),
            p.notes.clone(),
        );
        groups.entry(key).or_default().push(p);
    }
    let mut out_groups = Vec::new();
    let hosts = Set::union_all((0..plan.hosts.len()).map(|h| plan.host_set(h)));
    let packet = |b: &HBox| packet_preferring(b, &hosts);
    for ((_, _, permitted_rules, denied_rules, _, _, reply_fails, notes), pairs) in &groups {
        let first = pairs[0];
        let mut points: Vec<Enforcer> = pairs
            .iter()
            .flat_map(|p| p.enforcers.iter().copied())
            .collect();
        points.sort_by_key(|e| match *e {
            Enforcer::Egress(h) => (0, plan.hosts[h].name.as_str()),
            Enforcer::Host(h) => (1, plan.hosts[h].name.as_str()),
            Enforcer::Router(r) => (2, plan.routers[r].name.as_str()),
        });
        points.dedup();
        let enforced: Vec<EnforcerRef> = points.iter().map(|e| enforcer_ref(plan, e)).collect();
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
                services: Services(svc),
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
                services: Services(svc),
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
                services: Services(svc),
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
                services: Services(svc),
                example: unmatched_boxes.first().and_then(|b| packet(b)),
                rule: None,
            });
        }
        let side = |label: &str, host: Option<usize>| Side {
            label: label.to_string(),
            host: host.map(|h| plan.hosts[h].name.clone()),
        };
        let examples: Vec<PairExample> = pairs
            .iter()
            .map(|p| PairExample {
                src: side(&p.src_label, p.src_host),
                dst: side(&p.dst_label, p.dst_host),
            })
            .collect();
        let routed = first.path.is_some();
        let path = if routed {
            path_hops(plan, first, &mut names)
        } else {
            Vec::new()
        };
        out_groups.push(Group {
            verdict: pair_verdict(first),
            pairs: pairs.len(),
            examples,
            routed,
            path,
            enforced_by: enforced,
            permitted,
            denied,
            unmatched,
            reply_fails: reply_fails.clone(),
            translations: notes.clone(),
        });
    }
    Explanation {
        question: answer.question.clone(),
        verdict: answer.verdict,
        source: answer.src.text.clone(),
        destination: answer.dst.text.clone(),
        services: Services(answer.services.clone()),
        pairs: answer.pairs.len(),
        pairs_routed: answer.pairs.iter().filter(|p| p.path.is_some()).count(),
        pairs_permitted: answer.pairs.iter().filter(|p| p.fully_permitted()).count(),
        groups: out_groups,
        near_misses: near_misses(plan, info, answer),
        not_sent: not_sent(plan, info, answer),
        served_on: match &answer.dst.target {
            crate::ir::EndpointRef::TierOn { vlans, .. }
            | crate::ir::EndpointRef::HostOn { vlans, .. }
                if !answer.dst.text.contains('@') =>
            {
                let names: Vec<&str> = vlans.iter().map(|&v| plan.vlans[v].name.as_str()).collect();
                Some(format!(
                    "{} serves on {} (`serve`, or its VLANs without `carries`); ask `{}@VLAN` for another interface",
                    answer.dst.text,
                    names.join(", "),
                    answer.dst.text
                ))
            }
            _ => None,
        },
    }
}

/// Allow rules that match two of the three dimensions of what was not permitted.
/// When the question has no pair at all: for each source address of a host, the address its
/// kernel picks for the destination instead (a program that binds the asked address is not
/// what netc answers for; the answer says so rather than a bare NO).
fn not_sent(plan: &Plan, info: &PlanInfo, answer: &Answer) -> Vec<String> {
    if !answer.pairs.is_empty() {
        return Vec::new();
    }
    let srcs = crate::reach::src_units(plan, &answer.src.target, &answer.src.text);
    let dsts = crate::reach::dst_units(plan, &answer.dst.target, &answer.dst.text);
    let mut out: Vec<String> = Vec::new();
    for s in &srcs {
        for (addr, h) in info.topology.interfaces_in(&s.addrs) {
            let fam = plan.family(crate::space::is_v4_key(addr));
            for d in &dsts {
                let part = d.addrs.intersect(&fam);
                let Some(dk) = info
                    .topology
                    .interfaces_in(&part)
                    .next()
                    .map(|x| x.0)
                    .or_else(|| crate::space::example(&part))
                else {
                    continue;
                };
                if let Some(why) = crate::reach::picked_instead(plan, h, addr, dk) {
                    let line = format!(
                        "{why}: no packet of this question leaves the host (a program that binds {} is not what netc answers for)",
                        crate::space::key_addr(addr)
                    );
                    if out.len() < 5 && !out.contains(&line) {
                        out.push(line);
                    }
                }
            }
        }
    }
    out
}

fn near_misses(plan: &Plan, info: &PlanInfo, answer: &Answer) -> Vec<NearMiss> {
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
        let (misses, services, asked) = match (s, d, v) {
            (false, true, true) => ("source", b.svc.intersect(&svc), &answer.src.text),
            (true, true, false) => ("service", b.svc.clone(), &answer.services_text),
            _ => ("destination", b.svc.intersect(&svc), &answer.dst.text),
        };
        out.push(NearMiss {
            misses,
            rule: rule_ref(plan, f),
            sources: flow.sources.iter().map(|e| e.text.clone()).collect(),
            destinations: flow.destinations.iter().map(|e| e.text.clone()).collect(),
            services: Services(services),
            asked: asked.clone(),
        });
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
    for why in &e.not_sent {
        let _ = writeln!(s, "  not sent: {why}");
    }
    if let Some(on) = &e.served_on {
        let _ = writeln!(s, "  {on}");
    }
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
            shortened(&g.examples, 3)
        );
        let path: Vec<String> = g.path.iter().map(ToString::to_string).collect();
        let path = if g.routed {
            path.join(" -> ")
        } else {
            "no path: no router of the plan joins these subnets".to_string()
        };
        let _ = writeln!(s, "    path: {path}");
        if !g.enforced_by.is_empty() {
            let _ = writeln!(s, "    enforced by: {}", shortened(&g.enforced_by, 3));
        }
        let no_path = !g.routed;
        for t in &g.translations {
            let _ = writeln!(s, "    {t}");
        }
        if let Some(why) = &g.reply_fails {
            let _ = writeln!(s, "    the connection fails: {why}");
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
            let why = if no_path {
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
