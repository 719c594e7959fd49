//! firewalld: per host, one zone `netc` bound to the host's interfaces with target DROP, one
//! ipset per source class (the source atoms the plan treats alike toward the host, see
//! `hostrules::class_rules`), a service per port set of more than one piece
//! (`services/netc-HASH.xml`), and rich rules for the permitted space (allows minus denies,
//! so no unlogged deny needs a rule). Rich rules are ordered by priority only; logged denies
//! get a negative priority (they run before anything else of the zone) and allows priority 0,
//! and since the pieces are disjoint, no order between them changes a verdict.

use super::hostrules::{self, atom_names, class_rules};
use super::{flow_text, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Action, FirewallKind, Plan, Proto};
use crate::space;
use askama::Template;
use std::path::PathBuf;

pub struct Firewalld;

/// One port piece of a rule: protocol, first and last port.
type Piece = (Proto, u16, u16);

/// ipset names are limited to 31 bytes by the kernel.
pub const MAX_IPSET_NAME: usize = 31;

impl Target for Firewalld {
    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::targets::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Firewalld);
        if hosts.is_empty() {
            return Ok(());
        }
        let names = atom_names(plan, &info.policy);
        super::stream_hosts(&hosts, |h| Ok(host_files(plan, info, &names, h)), sink)
    }
}

/// The zone and ipsets of one host.
fn host_files(
    plan: &Plan,
    info: &PlanInfo,
    names: &std::collections::BTreeMap<u32, Vec<String>>,
    h: usize,
) -> Vec<OutputFile> {
    let mut files = Vec::new();
    let host = &plan.hosts[h];
    let dir = format!("firewalld/{}", host.name);
    let rules = class_rules(plan, &info.policy, names, h);
    for s in hostrules::sources(&rules) {
        files.push(ipset_file(plan, &dir, &host.name, &s));
    }
    let mut services: std::collections::BTreeMap<String, Vec<(Proto, u16, u16)>> =
        std::collections::BTreeMap::new();
    let views = rich_rules(plan, &rules, &mut services, false);
    // `egress filtered`: a policy from the host itself (firewalld's HOST zone) to anywhere,
    // target DROP, with a rich rule per (own address, destination class, service).
    let egress = plan.tiers[host.tier].egress.then(|| {
        let rules = hostrules::egress_rules(plan, &info.policy, names, h);
        for s in hostrules::sources(&rules) {
            files.push(ipset_file(plan, &dir, &host.name, &s));
        }
        rich_rules(plan, &rules, &mut services, true)
    });
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
                vip: xml_comment(&plan.vips[v.vip].name),
            });
        }
    }
    for (name, ports) in &services {
        let view = ServiceView {
            header: xml_comment(
                header(
                    plan,
                    &format!("firewalld service of host {}", host.name),
                    "",
                )
                .trim_end(),
            ),
            short: name.clone(),
            description: xml_chars(&short_text(&space::service_text(&space::Set::from_ranges(
                ports.iter().flat_map(|&(p, lo, hi)| {
                    space::service_set(p, Some((lo, hi))).ranges().to_vec()
                }),
            )))),
            ports: ports
                .iter()
                .map(|&(p, lo, hi)| (crate::space::port_text(lo, hi), p.name()))
                .collect(),
        };
        files.push(xml_file(format!("{dir}/services/{name}.xml"), &view));
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
    files.push(xml_file(format!("{dir}/zones/netc.xml"), &zone));
    if let Some(rules) = egress {
        let policy = PolicyView {
            header: xml_comment(
                header(
                    plan,
                    &format!("firewalld egress policy of host {}", host.name),
                    "",
                )
                .trim_end(),
            ),
            description: xml_chars(&super::safe_text(&format!(
                "netc: what host {} may send (tier {} filters egress)",
                host.name, plan.tiers[host.tier].name
            ))),
            rules,
        };
        files.push(xml_file(format!("{dir}/policies/netc-egress.xml"), &policy));
    }
    files
}

/// The ipset file of one class of peers.
fn ipset_file(plan: &Plan, dir: &str, host: &str, s: &hostrules::Source) -> OutputFile {
    let name = ipset_name(&s.name);
    let view = IpsetView {
        header: xml_comment(
            header(plan, &format!("firewalld ipset of host {host}"), "").trim_end(),
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
    xml_file(format!("{dir}/ipsets/{name}.xml"), &view)
}

/// One file of the host's configuration, rendered.
fn xml_file(path: String, view: &impl Template) -> OutputFile {
    OutputFile {
        path: PathBuf::from(path),
        contents: view
            .render()
            .map(super::with_final_newline)
            .expect("template renders"),
    }
}

/// The rich rules of host rules: in the zone (`egress` false) the peer class is the source
/// ipset and the host's address the destination; in the egress policy the other way round.
/// Port sets of more than one piece become one firewalld service each (added to `services`),
/// so that a rule is one rich rule per address, not one per port (a service of 400 ports
/// times 1,500 sources would be 600,000 rules).
fn rich_rules(
    plan: &Plan,
    rules: &[hostrules::HostRule],
    services: &mut std::collections::BTreeMap<String, Vec<Piece>>,
    egress: bool,
) -> Vec<RichRule> {
    let mut views = Vec::new();
    for r in rules {
        let (service, pieces): (Option<String>, Vec<Option<Piece>>) = match &r.services {
            None => (None, vec![None]),
            Some(p) => {
                let ports: Vec<Piece> = p.iter().copied().filter(|x| x.0 != Proto::Icmp).collect();
                let icmp = p.iter().copied().filter(|x| x.0 == Proto::Icmp).map(Some);
                if ports.len() >= 2 {
                    let name = service_name(&ports);
                    services.entry(name.clone()).or_insert(ports);
                    (Some(name), icmp.collect())
                } else {
                    (None, p.iter().map(|&x| Some(x)).collect())
                }
            }
        };
        for own in space::set_cidrs(&r.dst) {
            let own = if own.prefix_len() == own.max_prefix_len() {
                own.addr().to_string()
            } else {
                own.to_string()
            };
            let (source, destination) = if egress {
                (Peer::Address(own), Peer::Ipset(ipset_name(&r.source.name)))
            } else {
                (Peer::Ipset(ipset_name(&r.source.name)), Peer::Address(own))
            };
            // One rich rule: what every rule of this plan rule shares, and what matches.
            let rule = |service: Option<String>,
                        port: Option<(String, &'static str)>,
                        protocol: Option<&'static str>| RichRule {
                comment: xml_comment(&format!(
                    "{}  {}",
                    plan.flows[r.flow].id(),
                    short_text(&flow_text(plan, r.flow))
                )),
                family: if r.v4 { "ipv4" } else { "ipv6" },
                priority: if r.action == Action::Deny { -100 } else { 0 },
                source: source.clone(),
                destination: destination.clone(),
                service,
                port: port.as_ref().map(|p| p.0.clone()),
                port_protocol: port.map(|p| p.1),
                protocol,
                log: r.log.then(|| format!("netc {} ", plan.flows[r.flow].id())),
                verdict: if r.action == Action::Allow {
                    "accept"
                } else {
                    "drop"
                },
            };
            if let Some(name) = &service {
                views.push(rule(Some(name.clone()), None, None));
            }
            for svc in &pieces {
                let (port, protocol) = match *svc {
                    None => (None, None),
                    Some((Proto::Icmp, _, _)) => {
                        (None, Some(if r.v4 { "icmp" } else { "ipv6-icmp" }))
                    }
                    Some((p, 0, 65535)) => (None, Some(p.name())),
                    Some((p, lo, hi)) => (Some((crate::space::port_text(lo, hi), p.name())), None),
                };
                views.push(rule(None, port, protocol));
            }
        }
    }
    views
}

/// A rich rule's source or destination.
#[derive(Clone)]
enum Peer {
    Ipset(String),
    Address(String),
}

impl Peer {
    /// The element's attribute: `ipset="NAME"` or `address="ADDR"` (names and addresses are
    /// made of letters, digits, `-`, `.`, `:` and `/`: nothing to escape).
    fn attribute(&self) -> String {
        match self {
            Peer::Ipset(n) => format!("ipset=\"{n}\""),
            Peer::Address(a) => format!("address=\"{a}\""),
        }
    }
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
    source: Peer,
    destination: Peer,
    /// A generated service holding the rule's ports.
    service: Option<String>,
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

/// The egress policy of a host of an `egress filtered` tier.
#[derive(Template)]
#[template(path = "firewalld/policy.xml")]
struct PolicyView {
    header: String,
    description: String,
    rules: Vec<RichRule>,
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

/// A firewalld service holding a rule's ports.
#[derive(Template)]
#[template(path = "firewalld/service.xml")]
struct ServiceView {
    header: String,
    short: String,
    description: String,
    ports: Vec<(String, &'static str)>,
}

/// The name of the service for a port set: its content's hash, so equal sets share one.
fn service_name(ports: &[(Proto, u16, u16)]) -> String {
    use sha2::Digest;
    let text: String = ports
        .iter()
        .map(|(p, lo, hi)| format!("{}/{lo}-{hi},", p.name()))
        .collect();
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("netc-{hex}")
}

/// A flow's text for a comment, at most 160 characters.
fn short_text(text: &str) -> String {
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{} ...", &text[..at]),
        None => text.to_string(),
    }
}
