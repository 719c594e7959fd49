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

    fn render(&self, plan: &Plan, info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        let mut files = Vec::new();
        for (h, host) in plan
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.firewall == FirewallKind::Nftables)
        {
            files.push(OutputFile {
                path: PathBuf::from(format!("nftables/hosts/{}.nft", host.name)),
                contents: host_ruleset(plan, info, h),
            });
        }
        for (r, router) in plan.routers.iter().enumerate() {
            files.push(OutputFile {
                path: PathBuf::from(format!("nftables/routers/{}.nft", router.name)),
                contents: router_ruleset(plan, info, r),
            });
        }
        files
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

pub fn host_ruleset(plan: &Plan, info: &PlanInfo, h: usize) -> String {
    let host = &plan.hosts[h];
    let rules: Vec<HostRule> = host_rules(plan, &info.policy, h);
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
            views.push(RuleView {
                comment: flow_text(plan, r.flow),
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

#[derive(Template)]
#[template(path = "nftables/router.nft")]
struct RouterView {
    header: String,
    sets: Vec<ConcatSet>,
    lookups: Vec<String>,
}

pub fn router_ruleset(plan: &Plan, info: &PlanInfo, r: usize) -> String {
    let router = &plan.routers[r];
    let pieces = info.policy.permitted_space();
    let mut sets = Vec::new();
    let mut lookups = Vec::new();
    for v4 in [true, false] {
        let fam = hostrules::family(v4);
        let (ip, addr, icmp) = if v4 {
            ("ip", "ipv4_addr", "icmp")
        } else {
            ("ip6", "ipv6_addr", "ipv6-icmp")
        };
        for log in [true, false] {
            let suffix = format!(
                "{}{}",
                if log { "log_" } else { "" },
                if v4 { "v4" } else { "v6" }
            );
            let mut ports: Vec<(String, String)> = Vec::new();
            let mut icmps: Vec<(String, String)> = Vec::new();
            for (b, flow) in &pieces {
                if plan.flows[*flow].log != log {
                    continue;
                }
                let (src, dst) = (b.src.intersect(&fam), b.dst.intersect(&fam));
                if src.is_empty() || dst.is_empty() {
                    continue;
                }
                let comment = format!(" comment \"{}\"", flow_ref(plan, *flow));
                for s in ranges(&src) {
                    for d in ranges(&dst) {
                        for (proto, lo, hi) in space::service_pieces(&b.svc) {
                            if proto == Proto::Icmp {
                                icmps.push((format!("{s} . {d}"), comment.clone()));
                            } else {
                                let port = if lo == hi {
                                    lo.to_string()
                                } else {
                                    format!("{lo}-{hi}")
                                };
                                ports.push((
                                    format!("{s} . {d} . {} . {port}", proto.name()),
                                    comment.clone(),
                                ));
                            }
                        }
                    }
                }
            }
            // Logged flows get their own sets, looked up first, so they are logged once.
            if log && ports.is_empty() && icmps.is_empty() {
                continue;
            }
            let verdict = if log {
                "log prefix \"netc \" accept"
            } else {
                "accept"
            };
            sets.push(ConcatSet {
                name: format!("flows_{suffix}"),
                kind: format!("{addr} . {addr} . inet_proto . inet_service"),
                elements: ports.into_iter().map(|(e, c)| e + &c).collect(),
            });
            lookups.push(format!(
                "{ip} saddr . {ip} daddr . meta l4proto . th dport @flows_{suffix} {verdict}"
            ));
            sets.push(ConcatSet {
                name: format!("icmp_{suffix}"),
                kind: format!("{addr} . {addr}"),
                elements: icmps.into_iter().map(|(e, c)| e + &c).collect(),
            });
            lookups.push(format!(
                "meta l4proto {icmp} {ip} saddr . {ip} daddr @icmp_{suffix} {verdict}"
            ));
        }
    }
    RouterView {
        header: header(
            plan,
            &format!("nftables forward filter of router {}", router.name),
            "#",
        ),
        sets,
        lookups,
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders")
}
