//! nftables: one table `inet netc`, replaced atomically in one transaction (`table` +
//! `delete table` + the new table in one file), never touching other tables.
//!
//! Hosts filter input: one rule per (plan rule, source) with named interval sets for sources.
//! Routers filter forwarding (and their own input) with one lookup in a concatenated interval
//! set of (source, destination, protocol, port): the per-packet cost does not grow with the
//! number of flows. The set's elements are the plan's permitted space (allows minus denies),
//! computed exactly, each element commented with the plan rule it comes from.

use super::hostrules::{self, host_rules, HostRule};
use super::{flow_ref, flow_text, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Action, FirewallKind, Plan, Proto};
use crate::space::{self, Set};
use askama::Template;
use std::path::PathBuf;

pub struct Nftables;

impl Target for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn render(&self, plan: &Plan, info: &PlanInfo, ctx: &Context) -> Vec<OutputFile> {
        super::collect(|sink| self.render_each(plan, info, ctx, sink))
    }

    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::output::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Nftables);
        super::stream_hosts(
            &hosts,
            |cache, h| {
                vec![OutputFile {
                    path: PathBuf::from(format!("nftables/hosts/{}.nft", plan.hosts[h].name)),
                    contents: host_ruleset(plan, info, cache, h),
                }]
            },
            sink,
        )?;
        for (r, router) in plan.routers.iter().enumerate() {
            sink(OutputFile {
                path: PathBuf::from(format!("nftables/routers/{}.nft", router.name)),
                contents: router_ruleset(plan, info, r),
            })?;
        }
        Ok(())
    }
}

struct SetView {
    name: String,
    kind: &'static str,
    comment: String,
    elements: Vec<String>,
}

struct RuleView {
    comment: String,
    text: String,
}

#[derive(Template)]
#[template(path = "nftables/host.nft")]
struct HostView {
    header: String,
    sets: Vec<SetView>,
    rules: Vec<RuleView>,
}

fn ranges(set: &Set) -> Vec<String> {
    set.ranges()
        .iter()
        .map(|&(lo, hi)| space::range_text(lo, hi))
        .collect()
}

fn addr_match(v4: bool, dir: &str) -> String {
    format!("{} {dir}", if v4 { "ip" } else { "ip6" })
}

/// `tcp dport { 5432, 4040-4041 }` per protocol, or `meta l4proto icmp`.
fn service_matches(v4: bool, services: &Option<Vec<(Proto, u16, u16)>>) -> Vec<String> {
    let Some(pieces) = services else {
        return vec![String::new()];
    };
    let mut out = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        let ports: Vec<String> = pieces
            .iter()
            .filter(|p| p.0 == proto)
            .map(|&(_, lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect();
        match ports.as_slice() {
            [] => {}
            [all] if all == "0-65535" => out.push(format!("meta l4proto {}", proto.name())),
            [one] => out.push(format!("{} dport {one}", proto.name())),
            many => out.push(format!("{} dport {{ {} }}", proto.name(), many.join(", "))),
        }
    }
    if pieces.iter().any(|p| p.0 == Proto::Icmp) {
        out.push(format!(
            "meta l4proto {}",
            if v4 { "icmp" } else { "ipv6-icmp" }
        ));
    }
    out
}

fn verdict(plan: &Plan, rule_flow: usize, action: Action, log: bool) -> String {
    let v = if action == Action::Allow {
        "accept"
    } else {
        "drop"
    };
    if log {
        format!(
            "log prefix \"netc {} \" {v}",
            super::quoted_ascii(&plan.flows[rule_flow].origin.file_line(), 100)
        )
    } else {
        v.to_string()
    }
}

pub fn host_ruleset(
    plan: &Plan,
    info: &PlanInfo,
    cache: &mut hostrules::SourceCache,
    h: usize,
) -> String {
    let host = &plan.hosts[h];
    let rules: Vec<HostRule> = host_rules(plan, &info.policy, cache, h);
    let sets = hostrules::sources(&rules)
        .into_iter()
        .map(|s| SetView {
            kind: if s.name.ends_with("_v4") {
                "ipv4_addr"
            } else {
                "ipv6_addr"
            },
            comment: super::quoted_ascii(&s.text, 100),
            name: s.name,
            elements: ranges(&s.set),
        })
        .collect();
    let mut views = Vec::new();
    let mut last_flow = None;
    for r in &rules {
        let dst = ranges(&r.dst);
        let dst = if dst.len() == 1 {
            dst[0].clone()
        } else {
            format!("{{ {} }}", dst.join(", "))
        };
        for svc in service_matches(r.v4, &r.services) {
            let parts = [
                format!("{} @{}", addr_match(r.v4, "saddr"), r.source.name),
                format!("{} {dst}", addr_match(r.v4, "daddr")),
                svc,
            ];
            let matches: Vec<&str> = parts
                .iter()
                .map(String::as_str)
                .filter(|p| !p.is_empty())
                .collect();
            // The plan rule's text once, above the first rule it produces.
            let first = last_flow != Some(r.flow);
            last_flow = Some(r.flow);
            views.push(RuleView {
                comment: if first {
                    flow_text(plan, r.flow)
                } else {
                    String::new()
                },
                text: format!(
                    "{} {} comment \"{}\"",
                    matches.join(" "),
                    verdict(plan, r.flow, r.action, r.log),
                    flow_ref(plan, r.flow)
                ),
            });
        }
    }
    for v in hostrules::vrrp_peers(plan, h) {
        let (ip, peers, local) = (
            if v.v4 { "ip" } else { "ip6" },
            ranges(&v.peers),
            ranges(&v.local),
        );
        let group = if v.v4 { "224.0.0.18" } else { "ff02::12" };
        views.push(RuleView {
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
        sets,
        rules: views,
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders")
}

struct ConcatSet {
    name: String,
    kind: String,
    elements: Vec<String>,
}

/// What sources of one atom may reach: a chain with its lookups.
struct FromChain {
    name: String,
    comment: String,
    lookups: Vec<String>,
}

struct SrcMap {
    name: String,
    kind: &'static str,
    elements: Vec<String>,
    lookup: String,
}

#[derive(Template)]
#[template(path = "nftables/router.nft")]
struct RouterView {
    header: String,
    maps: Vec<SrcMap>,
    sets: Vec<ConcatSet>,
    chains: Vec<FromChain>,
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
pub fn router_ruleset(plan: &Plan, info: &PlanInfo, r: usize) -> String {
    let router = &plan.routers[r];
    let policy = &info.policy;
    let names = atom_names(plan, info);
    // Permitted pieces grouped by source atom, in atom order.
    let mut by_src: std::collections::BTreeMap<u32, Vec<(u32, &Set, usize)>> =
        std::collections::BTreeMap::new();
    let mut keys: Vec<&(u32, u32)> = policy.pairs.keys().collect();
    keys.sort();
    let all = space::all_services();
    let mut permitted: Vec<((u32, u32), Set, usize)> = Vec::new();
    for k in keys {
        for (svc, flow) in crate::policy::Policy::evaluate_pair(&policy.pairs[k], &all).0 {
            permitted.push((*k, svc, flow));
        }
    }
    for ((sa, da), svc, flow) in &permitted {
        by_src.entry(*sa).or_default().push((*da, svc, *flow));
    }
    let mut sets = Vec::new();
    let mut chains = Vec::new();
    let mut map_elements: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (sa, pieces) in &by_src {
        let chain = format!("from_{sa}");
        let mut lookups = Vec::new();
        for (f, v4) in [true, false].into_iter().enumerate() {
            let fam = hostrules::family(v4);
            let src = policy.atoms.set(*sa).intersect(&fam);
            if src.is_empty() {
                continue;
            }
            map_elements[f].extend(
                ranges(&src)
                    .into_iter()
                    .map(|r| format!("{r} : jump {chain}")),
            );
            let (ip, addr, icmp, tag) = if v4 {
                ("ip", "ipv4_addr", "icmp", "v4")
            } else {
                ("ip6", "ipv6_addr", "ipv6-icmp", "v6")
            };
            for log in [true, false] {
                let mut ports = Vec::new();
                let mut icmps = Vec::new();
                for (da, svc, flow) in pieces.iter().filter(|p| plan.flows[p.2].log == log) {
                    let dst = policy.atoms.set(*da).intersect(&fam);
                    let comment = format!(" comment \"{}\"", flow_ref(plan, *flow));
                    for d in ranges(&dst) {
                        for (proto, lo, hi) in space::service_pieces(svc) {
                            if proto == Proto::Icmp {
                                icmps.push(format!("{d}{comment}"));
                            } else {
                                let port = if lo == hi {
                                    lo.to_string()
                                } else {
                                    format!("{lo}-{hi}")
                                };
                                ports.push(format!("{d} . {} . {port}{comment}", proto.name()));
                            }
                        }
                    }
                }
                let verdict = if log {
                    "log prefix \"netc \" accept"
                } else {
                    "accept"
                };
                let suffix = format!("{sa}_{}{tag}", if log { "log_" } else { "" });
                if !ports.is_empty() {
                    sets.push(ConcatSet {
                        name: format!("to_{suffix}"),
                        kind: format!("{addr} . inet_proto . inet_service"),
                        elements: ports,
                    });
                    lookups.push(format!(
                        "{ip} daddr . meta l4proto . th dport @to_{suffix} {verdict}"
                    ));
                }
                if !icmps.is_empty() {
                    sets.push(ConcatSet {
                        name: format!("icmp_{suffix}"),
                        kind: addr.to_string(),
                        elements: icmps,
                    });
                    lookups.push(format!(
                        "meta l4proto {icmp} {ip} daddr @icmp_{suffix} {verdict}"
                    ));
                }
            }
        }
        let who = names
            .get(sa)
            .map_or_else(|| "addresses".to_string(), |n| n.join(", "));
        chains.push(FromChain {
            name: chain,
            comment: super::safe_text(&format!("sources in {who}")),
            lookups,
        });
    }
    let [v4, v6] = map_elements;
    let maps = vec![
        SrcMap {
            name: "src_v4".into(),
            kind: "ipv4_addr",
            elements: v4,
            lookup: "ip saddr vmap @src_v4".into(),
        },
        SrcMap {
            name: "src_v6".into(),
            kind: "ipv6_addr",
            elements: v6,
            lookup: "ip6 saddr vmap @src_v6".into(),
        },
    ];
    RouterView {
        header: header(
            plan,
            &format!("nftables forward filter of router {}", router.name),
            "#",
        ),
        maps,
        sets,
        chains,
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders")
}
