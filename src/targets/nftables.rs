//! nftables: one table `inet netc`, replaced atomically in one transaction (`table` +
//! `delete table` + the new table in one file), never touching other tables.
//!
//! Hosts filter input: one rule per (plan rule, source) with named interval sets for sources.
//! Routers filter forwarding (and their own input) with one lookup in a concatenated interval
//! set of (source, destination, protocol, port): the per-packet cost does not grow with the
//! number of flows. The set's elements are the plan's permitted space (allows minus denies),
//! computed exactly, each element commented with the plan rule it comes from.

use super::hostrules;
use super::{flow_ref, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{FirewallKind, Plan, Proto};
use crate::space::{self, Set};
use askama::Template;
use std::path::PathBuf;

pub struct Nftables;

impl Target for Nftables {
    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::output::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Nftables);
        if hosts.is_empty() && plan.routers.is_empty() {
            return Ok(());
        }
        let prep = Prepared::new(plan, info);
        // Routers first: every router enforces the whole policy, so their rulesets share one
        // body, made once and dropped before the hosts are made.
        // Routers of one routing domain share one body.
        for domain in 0..plan.domains.count {
            let routers: Vec<usize> = (0..plan.routers.len())
                .filter(|&r| plan.router_domain(r) == domain)
                .collect();
            if routers.is_empty() {
                continue;
            }
            let body = RouterBody::new(plan, info, &prep, domain);
            for r in routers {
                sink(OutputFile {
                    path: PathBuf::from(format!("nftables/routers/{}.nft", plan.routers[r].name)),
                    contents: router_ruleset(plan, &body, r),
                })?;
            }
        }
        let blocks = HostBlocks::new(plan, info, &prep, &hosts);
        super::stream_hosts(
            &hosts,
            |_, h| {
                vec![OutputFile {
                    path: PathBuf::from(format!("nftables/hosts/{}.nft", plan.hosts[h].name)),
                    contents: host_ruleset(plan, info, &blocks, h),
                }]
            },
            sink,
        )
    }
}

struct RuleView {
    comment: String,
    text: String,
}

/// A set's address ranges as nft writes them, without domains: callers restrict the set to
/// what the enforcement point can receive first (`Plan::visible`).
fn ranges(set: &Set) -> Vec<String> {
    space::range_texts(set)
}

/// What a host's firewall needs beyond the plan: the policy's pieces grouped by destination
/// atom, rendered once per atom and shared by every host with an address in it.
pub struct HostBlocks {
    /// By (destination atom, the domains the host can receive from).
    blocks: std::collections::HashMap<(u32, Vec<u32>), String>,
}

impl HostBlocks {
    /// The blocks of every destination atom the given hosts have an address in.
    pub fn new(plan: &Plan, info: &PlanInfo, prep: &Prepared, hosts: &[usize]) -> HostBlocks {
        let policy = &info.policy;
        let by_dst = policy.sources_by_destination();
        let mut needed: Vec<(u32, Vec<u32>)> = hosts
            .iter()
            .flat_map(|&h| {
                let domains = plan.host_domains(h);
                policy
                    .atoms
                    .atoms_of(&plan.host_local_set(h))
                    .into_iter()
                    .map(move |a| (a, domains.clone()))
            })
            .filter(|(da, _)| by_dst.contains_key(da))
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let blocks = super::par_map(&needed, |_, (da, domains)| {
            let visible = plan.visible(domains);
            let others: Vec<u32> = by_dst[da]
                .iter()
                .copied()
                .filter(|&sa| policy.atoms.set(sa).intersects(&visible))
                .collect();
            let groups = chain_groups(plan, info, &others, |sa| (sa, *da));
            (
                (*da, domains.clone()),
                atom_block(plan, info, prep, Side::Host, *da, &groups, &visible),
            )
        });
        HostBlocks {
            blocks: blocks
                .into_iter()
                .filter_map(|(da, b)| b.map(|b| (da, b)))
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "nftables/host.nft")]
struct HostView<'a> {
    header: String,
    maps: Vec<AddrMap>,
    blocks: Vec<&'a str>,
    vrrp: Vec<RuleView>,
}

/// A host's ruleset: its own addresses, by destination atom, jump to the chain of that
/// atom (one verdict-map lookup), where one concatenated-set lookup on (source, protocol,
/// port) decides, as on routers.
pub fn host_ruleset(plan: &Plan, info: &PlanInfo, blocks: &HostBlocks, h: usize) -> String {
    let host = &plan.hosts[h];
    let mut used: Vec<&str> = Vec::new();
    let mut map = VerdictMap::default();
    let domains = plan.host_domains(h);
    let mut parts = info.policy.atoms.split(&plan.host_local_set(h));
    parts.sort_unstable_by_key(|(a, _)| atom_start(info, *a));
    for (da, part) in parts {
        let Some(block) = blocks.blocks.get(&(da, domains.clone())) else {
            continue;
        };
        map.add(plan, &part, &format!("to_{}", atom_label(info, da)));
        used.push(block);
    }
    let maps = map.maps("dst", "daddr");
    let mut vrrp = Vec::new();
    for v in hostrules::vrrp_peers(plan, h) {
        let (ip, peers, local) = (
            if v.v4 { "ip" } else { "ip6" },
            ranges(&v.peers),
            ranges(&v.local),
        );
        let group = if v.v4 { "224.0.0.18" } else { "ff02::12" };
        vrrp.push(RuleView {
            comment: format!("VRRP between the members of vip {}", plan.vips[v.vip].name),
            text: format!(
                "{ip} saddr {{ {} }} {ip} daddr {{ {}, {group} }} meta l4proto vrrp accept comment \"netc: vip {}\"",
                peers.join(", "),
                local.join(", "),
                plan.vips[v.vip].name
            ),
        });
    }
    HostView {
        header: header(
            plan,
            &format!(
                "nftables input filter of host {}, tier {}",
                host.name, plan.tiers[host.tier].name
            ),
            "#",
        ),
        maps,
        blocks: used,
        vrrp,
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders")
}

/// What the host and router rulesets share, worked out once per compile.
pub struct Prepared {
    /// The names of the endpoints each atom belongs to (for comments).
    names: std::collections::BTreeMap<u32, Vec<String>>,
    /// ` comment "FILE:LINE"` for each flow.
    comments: Vec<String>,
}

/// A piece of an atom pair's permitted (or logged-denied) space: services, plan rule, verdict.
type PairPiece = (Set, usize, Verdict);

impl Prepared {
    pub fn new(plan: &Plan, info: &PlanInfo) -> Prepared {
        Prepared {
            names: atom_names(plan, info),
            comments: (0..plan.flows.len())
                .map(|f| format!(" comment \"{}\"", flow_ref(plan, f)))
                .collect(),
        }
    }
}

/// The pieces of one atom's chain, grouped by the atom at the other end (`others`, put in
/// address order), `pair` giving the (source, destination) atom pair of each. They live only
/// while the chain is made: a table of every pair's pieces is large on large plans.
fn chain_groups(
    plan: &Plan,
    info: &PlanInfo,
    others: &[u32],
    pair: impl Fn(u32) -> (u32, u32),
) -> Vec<(u32, Vec<PairPiece>)> {
    let mut others = others.to_vec();
    others.sort_unstable_by_key(|&a| atom_start(info, a));
    others
        .into_iter()
        .map(|o| (o, pair_pieces(plan, &info.policy.pairs[&pair(o)])))
        .collect()
}

/// Where an atom starts: its lowest address (atoms are disjoint, so this names one).
fn atom_start(info: &PlanInfo, atom: u32) -> space::Key {
    info.policy.atoms.set(atom).first().unwrap_or_default()
}

/// An atom's name in chains and sets: the address it starts at (`10_20_10_11`,
/// `fd00_98_3__10`, `0` for the one that starts at `::`). Stable when other parts of the
/// plan change, unlike the atom's number.
fn atom_label(info: &PlanInfo, atom: u32) -> String {
    let k = atom_start(info, atom);
    let addr = if k.lo == 0 && !space::is_v4_key(k) {
        "0".to_string()
    } else {
        space::key_addr(k).to_string().replace(['.', ':'], "_")
    };
    // Atoms of another routing domain than 0 (a VRF that shares addresses with domain 0):
    // the domain in the name keeps names distinct.
    match space::key_domain(k) {
        0 => addr,
        d => format!("d{d}_{addr}"),
    }
}

/// What a matching packet gets.
/// Logged rules get sets of their own so that the log prefix names the plan rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Accept,
    /// An allow the plan asks to log (the flow).
    LogAccept(usize),
    /// A deny the plan asks to log: logged, then dropped (unlogged denies fall to the
    /// chain's drop policy).
    LogDrop(usize),
}

impl Verdict {
    /// The set-name part of a logged rule: its stable identity, not its position.
    fn tag(self, plan: &Plan) -> String {
        match self {
            Verdict::Accept => String::new(),
            Verdict::LogAccept(f) => format!("log_{}_", plan.flows[f].id()),
            Verdict::LogDrop(f) => format!("deny_{}_", plan.flows[f].id()),
        }
    }

    fn text(self, plan: &Plan) -> String {
        let prefix = |f: usize| plan.flows[f].id();
        match self {
            Verdict::Accept => "accept".into(),
            Verdict::LogAccept(f) => format!("log prefix \"netc {} \" accept", prefix(f)),
            Verdict::LogDrop(f) => format!("log prefix \"netc deny {} \" drop", prefix(f)),
        }
    }
}

/// What the plan says about one atom pair, as disjoint (services, plan rule, verdict) pieces:
/// the permitted space (allows minus denies), and what logged denies match.
fn pair_pieces(plan: &Plan, rules: &crate::policy::PairRules) -> Vec<PairPiece> {
    let (permitted, _, _) = crate::policy::Policy::evaluate_pair(rules, &space::all_services());
    let mut out: Vec<PairPiece> = permitted
        .into_iter()
        .map(|(svc, f)| {
            let v = if plan.flows[f].log {
                Verdict::LogAccept(f)
            } else {
                Verdict::Accept
            };
            (svc, f, v)
        })
        .collect();
    let mut taken = Set::empty();
    for (f, svc) in &rules.denies {
        let fresh = svc.difference(&taken);
        if fresh.is_empty() {
            continue;
        }
        taken = taken.union(&fresh);
        if plan.flows[*f].log {
            out.push((fresh, *f, Verdict::LogDrop(*f)));
        }
    }
    out
}

/// Which end of the packet an atom's chain is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A router's chain per source atom: elements are destinations.
    Router,
    /// A host's chain per destination atom: elements are sources.
    Host,
}

#[derive(Template)]
#[template(path = "nftables/block.nft")]
struct BlockView {
    sets: Vec<ConcatSet>,
    chain: FromChain,
}

/// The sets and the chain of one atom: for each family and verdict, one concatenated set of
/// (other address . protocol . port) and one of ICMP addresses, each element commented with
/// the plan rule it comes from, grouped under the names of the other end. `None` when the
/// plan permits nothing for the atom.
fn atom_block(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    side: Side,
    atom: u32,
    groups: &[(u32, Vec<PairPiece>)],
    visible: &Set,
) -> Option<String> {
    let policy = &info.policy;
    let (chain, set_prefix, other, who) = match side {
        Side::Router => (
            format!("from_{}", atom_label(info, atom)),
            "to",
            "daddr",
            "sources in",
        ),
        Side::Host => (
            format!("to_{}", atom_label(info, atom)),
            "from",
            "saddr",
            "addresses of",
        ),
    };
    let mut sets = Vec::new();
    let mut lookups = Vec::new();
    for v4 in [true, false] {
        let fam = hostrules::family(plan, v4).intersect(visible);
        if policy.atoms.set(atom).intersect(&fam).is_empty() {
            continue;
        }
        let (ip, addr, icmp, tag) = if v4 {
            ("ip", "ipv4_addr", "icmp", "v4")
        } else {
            ("ip6", "ipv6_addr", "ipv6-icmp", "v6")
        };
        // The other atoms' addresses of this family, once each.
        let addrs: Vec<Vec<String>> = groups
            .iter()
            .map(|(oa, _)| ranges(&policy.atoms.set(*oa).intersect(&fam)))
            .collect();
        let mut verdicts: Vec<Verdict> = groups
            .iter()
            .flat_map(|(_, list)| list.iter().map(|p| p.2))
            .collect();
        verdicts.sort_unstable();
        verdicts.dedup();
        for verdict in verdicts {
            // Element lines, written straight into one text per set (hundreds of thousands
            // of elements on a large router: no string of its own for each).
            use std::fmt::Write;
            let mut ports = String::new();
            let mut icmps = String::new();
            for ((oa, list), addrs) in groups.iter().zip(&addrs) {
                if addrs.is_empty() {
                    continue;
                }
                // A `# names` line above the first element of this atom in each set.
                let mut named = [false, false];
                let name = |text: &mut String, done: &mut bool| {
                    if !*done {
                        *done = true;
                        let _ = writeln!(
                            text,
                            "\t\t\t# {}",
                            super::safe_text(
                                &prep
                                    .names
                                    .get(oa)
                                    .map_or_else(|| "addresses".to_string(), |n| n.join(", "))
                            )
                        );
                    }
                };
                for (svc, flow, _) in list.iter().filter(|p| p.2 == verdict) {
                    let comment = &prep.comments[*flow];
                    for (proto, lo, hi) in space::service_pieces(svc) {
                        if proto == Proto::Icmp {
                            name(&mut icmps, &mut named[1]);
                            for a in addrs {
                                let _ = writeln!(icmps, "\t\t\t{a}{comment},");
                            }
                        } else {
                            name(&mut ports, &mut named[0]);
                            let port = if lo == hi {
                                lo.to_string()
                            } else {
                                format!("{lo}-{hi}")
                            };
                            for a in addrs {
                                let _ = writeln!(
                                    ports,
                                    "\t\t\t{a} . {} . {port}{comment},",
                                    proto.name()
                                );
                            }
                        }
                    }
                }
            }
            let suffix = format!("{}_{}{tag}", atom_label(info, atom), verdict.tag(plan));
            let verdict = verdict.text(plan);
            if !ports.is_empty() {
                sets.push(ConcatSet {
                    name: format!("{set_prefix}_{suffix}"),
                    kind: format!("{addr} . inet_proto . inet_service"),
                    elements: ports,
                });
                lookups.push(format!(
                    "{ip} {other} . meta l4proto . th dport @{set_prefix}_{suffix} {verdict}"
                ));
            }
            if !icmps.is_empty() {
                sets.push(ConcatSet {
                    name: format!("icmp_{suffix}"),
                    kind: addr.to_string(),
                    elements: icmps,
                });
                lookups.push(format!(
                    "meta l4proto {icmp} {ip} {other} @icmp_{suffix} {verdict}"
                ));
            }
        }
    }
    if lookups.is_empty() {
        return None;
    }
    let of = prep
        .names
        .get(&atom)
        .map_or_else(|| "addresses".to_string(), |n| n.join(", "));
    BlockView {
        sets,
        chain: FromChain {
            name: chain,
            comment: super::safe_text(&format!("{who} {of}")),
            lookups,
        },
    }
    .render()
    .ok()
    .map(|mut s| {
        // Without the template's blank lines at either end, trimmed in place.
        s.truncate(s.trim_end_matches('\n').len());
        let lead = s.len() - s.trim_start_matches('\n').len();
        s.drain(..lead);
        s
    })
}

struct ConcatSet {
    name: String,
    kind: String,
    /// One element (or `# names` comment) a line, indented, each line ending in a newline.
    elements: String,
}

/// What sources of one atom may reach: a chain with its lookups.
struct FromChain {
    name: String,
    comment: String,
    lookups: Vec<String>,
}

struct AddrMap {
    name: String,
    kind: &'static str,
    elements: Vec<String>,
    lookup: String,
}

/// The elements of an interval verdict map per family: address ranges jumping to chains.
#[derive(Default)]
struct VerdictMap {
    elements: [Vec<String>; 2],
}

impl VerdictMap {
    fn add(&mut self, plan: &Plan, addrs: &Set, chain: &str) {
        for (f, v4) in [true, false].into_iter().enumerate() {
            self.elements[f].extend(
                ranges(&addrs.intersect(&hostrules::family(plan, v4)))
                    .into_iter()
                    .map(|r| format!("{r} : jump {chain}")),
            );
        }
    }

    /// `{name}_v4` and `{name}_v6`, looked up by `ip {dir} vmap` and `ip6 {dir} vmap`.
    fn maps(self, name: &str, dir: &str) -> Vec<AddrMap> {
        let [v4, v6] = self.elements;
        vec![
            AddrMap {
                name: format!("{name}_v4"),
                kind: "ipv4_addr",
                elements: v4,
                lookup: format!("ip {dir} vmap @{name}_v4"),
            },
            AddrMap {
                name: format!("{name}_v6"),
                kind: "ipv6_addr",
                elements: v6,
                lookup: format!("ip6 {dir} vmap @{name}_v6"),
            },
        ]
    }
}

#[derive(Template)]
#[template(path = "nftables/router.nft")]
struct RouterView<'a> {
    header: String,
    maps: &'a [AddrMap],
    blocks: &'a [String],
}

/// The names of the plan endpoints each atom belongs to (for comments), at most three each.
fn atom_names(plan: &Plan, info: &PlanInfo) -> std::collections::BTreeMap<u32, Vec<String>> {
    let mut names: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for ep in plan
        .flows
        .iter()
        .flat_map(|f| f.sources.iter().chain(&f.destinations))
    {
        if !seen.insert(ep.text.clone()) {
            continue;
        }
        for a in info.policy.atoms.atoms_of(&plan.endpoint_set(&ep.target)) {
            let list = names.entry(a).or_default();
            if list.len() < 3 && !list.contains(&ep.text) {
                list.push(ep.text.clone());
            }
        }
    }
    names
}

/// A router's ruleset. Forwarding (and the router's own input) classifies each packet by its
/// source address with one interval verdict map (`ip saddr vmap`), jumping to the chain of
/// that source's atom, where one concatenated-set lookup (`ip daddr . meta l4proto . th
/// dport`) decides. Two lookups per packet whatever the number of flows, and the sets grow
/// with the destinations and services each source may reach, never with a product of
/// source and destination ranges.
/// What every router of one routing domain holds: the source verdict maps and the chains of
/// the source atoms, restricted to what the domain's routers can receive (its addresses and
/// the internet's).
struct RouterBody {
    maps: Vec<AddrMap>,
    blocks: Vec<String>,
}

impl RouterBody {
    fn new(plan: &Plan, info: &PlanInfo, prep: &Prepared, domain: u32) -> RouterBody {
        let policy = &info.policy;
        let visible = plan.visible(&[domain]);
        // Destinations by source atom, sources in address order (atom numbers change when
        // the plan does; where an atom starts changes only when that atom does).
        let mut by_src: std::collections::BTreeMap<(space::Key, u32), Vec<u32>> =
            std::collections::BTreeMap::new();
        for &(sa, da) in policy.pairs.keys() {
            if !policy.atoms.set(sa).intersects(&visible)
                || !policy.atoms.set(da).intersects(&visible)
            {
                continue;
            }
            by_src
                .entry((atom_start(info, sa), sa))
                .or_default()
                .push(da);
        }
        let by_src: Vec<(u32, Vec<u32>)> = by_src.into_iter().map(|((_, sa), d)| (sa, d)).collect();
        // The chains of the source atoms, made on every core.
        let made = super::par_map(&by_src, |_, (sa, dsts)| {
            let groups = chain_groups(plan, info, dsts, |da| (*sa, da));
            atom_block(plan, info, prep, Side::Router, *sa, &groups, &visible)
        });
        let mut blocks = Vec::new();
        let mut map = VerdictMap::default();
        for ((sa, _), block) in by_src.iter().zip(made) {
            let Some(block) = block else {
                continue;
            };
            map.add(
                plan,
                &policy.atoms.set(*sa).intersect(&visible),
                &format!("from_{}", atom_label(info, *sa)),
            );
            blocks.push(block);
        }
        let maps = map.maps("src", "saddr");
        RouterBody { maps, blocks }
    }
}

fn router_ruleset(plan: &Plan, body: &RouterBody, r: usize) -> String {
    // Sized up front: a large router's ruleset is tens of megabytes, and a growing string
    // would hold its old and new buffers at once at every doubling.
    let size = body.blocks.iter().map(|b| b.len() + 2).sum::<usize>()
        + body
            .maps
            .iter()
            .flat_map(|m| &m.elements)
            .map(|e| e.len() + 5)
            .sum::<usize>()
        + 8192;
    let mut out = String::with_capacity(size);
    RouterView {
        header: header(
            plan,
            &format!("nftables forward filter of router {}", plan.routers[r].name),
            "#",
        ),
        maps: &body.maps,
        blocks: &body.blocks,
    }
    .render_into(&mut out)
    .expect("template renders");
    super::with_final_newline(out)
}
