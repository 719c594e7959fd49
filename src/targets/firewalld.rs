//! firewalld: per host, one zone `netc` bound to the host's interfaces with target DROP, one
//! ipset per source, and rich rules. Rich rules are ordered by priority only, so the plan's
//! meaning (deny wins whatever the order) is kept by giving every deny a negative priority
//! (they run before anything else of the zone) and every allow priority 0.

use super::hostrules::{self, host_rules};
use super::{flow_ref, flow_text, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Action, FirewallKind, Plan, Proto};
use crate::space;
use askama::Template;
use std::path::PathBuf;

pub struct Firewalld;

/// ipset names are limited to 31 bytes by the kernel.
pub const MAX_IPSET_NAME: usize = 31;

impl Target for Firewalld {
    fn name(&self) -> &'static str {
        "firewalld"
    }

    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::output::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Firewalld);
        super::stream_hosts(&hosts, |cache, h| host_files(plan, info, cache, h), sink)
    }
}

/// The zone and ipsets of one host.
fn host_files(
    plan: &Plan,
    info: &PlanInfo,
    cache: &mut hostrules::SourceCache,
    h: usize,
) -> Vec<OutputFile> {
    let mut files = Vec::new();
    let host = &plan.hosts[h];
    let dir = format!("firewalld/{}", host.name);
    let rules = host_rules(plan, &info.policy, cache, h);
    for s in hostrules::sources(&rules) {
        let name = ipset_name(&s.name);
        let view = IpsetView {
            header: xml_comment(
                header(plan, &format!("firewalld ipset of host {}", host.name), "").trim_end(),
            ),
            short: name.clone(),
            description: xml_chars(&super::safe_text(&s.text)),
            inet6: !s.name.ends_with("_v4"),
            entries: space::set_cidrs(&s.set)
                .into_iter()
                .flat_map(|n| {
                    // firewalld refuses a /0 entry in a hash:net ipset: two halves instead.
                    match n.to_string().as_str() {
                        "0.0.0.0/0" => vec!["0.0.0.0/1".to_string(), "128.0.0.0/1".to_string()],
                        "::/0" => vec!["::/1".to_string(), "8000::/1".to_string()],
                        t => vec![t.to_string()],
                    }
                })
                .collect(),
        };
        files.push(OutputFile {
            path: PathBuf::from(format!("{dir}/ipsets/{name}.xml")),
            contents: view
                .render()
                .map(super::with_final_newline)
                .expect("template renders"),
        });
    }
    let mut views = Vec::new();
    for r in &rules {
        let pieces: Vec<Option<(Proto, u16, u16)>> = match &r.services {
            None => vec![None],
            Some(p) => p.iter().map(|&x| Some(x)).collect(),
        };
        for dst in space::set_cidrs(&r.dst) {
            for svc in &pieces {
                let (port, protocol) = match *svc {
                    None => (None, None),
                    Some((Proto::Icmp, _, _)) => {
                        (None, Some(if r.v4 { "icmp" } else { "ipv6-icmp" }))
                    }
                    Some((p, 0, 65535)) => (None, Some(p.name())),
                    Some((p, lo, hi)) => (
                        Some((
                            if lo == hi {
                                lo.to_string()
                            } else {
                                format!("{lo}-{hi}")
                            },
                            p.name(),
                        )),
                        None,
                    ),
                };
                views.push(RichRule {
                    comment: xml_comment(&format!(
                        "{}  {}",
                        flow_ref(plan, r.flow),
                        flow_text(plan, r.flow)
                    )),
                    family: if r.v4 { "ipv4" } else { "ipv6" },
                    priority: if r.action == Action::Deny { -100 } else { 0 },
                    ipset: ipset_name(&r.source.name),
                    destination: if dst.prefix_len() == dst.max_prefix_len() {
                        dst.addr().to_string()
                    } else {
                        dst.to_string()
                    },
                    port: port.as_ref().map(|p| p.0.clone()),
                    port_protocol: port.map(|p| p.1),
                    protocol,
                    log: r.log.then(|| {
                        format!(
                            "netc {} ",
                            super::quoted_ascii(&plan.flows[r.flow].origin.file_line(), 100)
                        )
                    }),
                    verdict: if r.action == Action::Allow {
                        "accept"
                    } else {
                        "drop"
                    },
                });
            }
        }
    }
    let mut vrrp = Vec::new();
    for v in hostrules::vrrp_peers(plan, h) {
        for peer in space::set_cidrs(&v.peers) {
            // The whole block: `10.20.10.14/31` holds two peers.
            let source = if peer.prefix_len() == peer.max_prefix_len() {
                peer.addr().to_string()
            } else {
                peer.to_string()
            };
            vrrp.push(VrrpRule {
                family: if v.v4 { "ipv4" } else { "ipv6" },
                source,
                vip: plan.vips[v.vip].name.clone(),
            });
        }
    }
    let mut interfaces: Vec<String> = host.interfaces.iter().map(|i| i.dev.clone()).collect();
    interfaces.sort();
    interfaces.dedup();
    let zone = ZoneView {
        header: xml_comment(
            header(
                plan,
                &format!(
                    "firewalld zone of host {}, tier {}",
                    host.name, plan.tiers[host.tier].name
                ),
                "",
            )
            .trim_end(),
        ),
        description: xml_chars(&super::safe_text(&format!(
            "netc: the plan's flows to host {}",
            host.name
        ))),
        interfaces,
        rules: views,
        vrrp,
    };
    files.push(OutputFile {
        path: PathBuf::from(format!("{dir}/zones/netc.xml")),
        contents: zone
            .render()
            .map(super::with_final_newline)
            .expect("template renders"),
    });
    files
}

/// `netc-` and the source name, shortened with a stable hash when too long.
pub fn ipset_name(source: &str) -> String {
    let full = format!("netc-{}", source.replace('_', "-"));
    if full.len() <= MAX_IPSET_NAME {
        return full;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(full.as_bytes());
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    // Source names are ASCII (see `hostrules::source_name`), so any byte is a boundary.
    format!("{}-{tag}", &full[..MAX_IPSET_NAME - 9])
}

/// Only the characters XML 1.0 allows (a U+FFFF makes the file ill-formed, and firewalld then
/// falls back to its stock configuration).
pub fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        })
        .collect()
}

/// Text inside `<!-- -->`: no `--`, no line ends or control characters, only XML characters
/// (askama does not escape comments).
fn xml_comment(s: &str) -> String {
    let mut out = xml_chars(&super::safe_text(s));
    while out.contains("--") {
        out = out.replace("--", "- -");
    }
    out.trim_end_matches('-').to_string()
}

struct RichRule {
    comment: String,
    family: &'static str,
    priority: i32,
    ipset: String,
    destination: String,
    port: Option<String>,
    port_protocol: Option<&'static str>,
    protocol: Option<&'static str>,
    log: Option<String>,
    verdict: &'static str,
}

struct VrrpRule {
    family: &'static str,
    source: String,
    vip: String,
}

#[derive(Template)]
#[template(path = "firewalld/zone.xml")]
struct ZoneView {
    header: String,
    description: String,
    interfaces: Vec<String>,
    rules: Vec<RichRule>,
    vrrp: Vec<VrrpRule>,
}

#[derive(Template)]
#[template(path = "firewalld/ipset.xml")]
struct IpsetView {
    header: String,
    short: String,
    description: String,
    inet6: bool,
    entries: Vec<String>,
}
