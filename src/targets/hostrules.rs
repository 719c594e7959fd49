//! What a host's firewall must do, independent of the firewall's syntax: for each flow that
//! matches the host's own addresses, the rule restricted to them. Denies come first (deny
//! wins), then allows, each in plan order; everything else is dropped. This is exactly the
//! plan's policy for packets to the host (see `policy`).

use crate::ir::{Action, EndpointRef, Plan, Proto};
use crate::space::{self, Set};

/// A named source of a rule (a tier, a network...), or literal addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// `tier_processing`, `net_admins`, `internet`, or `addr_10_0_0_0_24`.
    pub name: String,
    pub text: String,
    pub set: Set,
}

#[derive(Debug, Clone)]
pub struct HostRule {
    pub flow: usize,
    pub action: Action,
    pub log: bool,
    pub v4: bool,
    pub source: Source,
    /// The host's addresses this rule is for (of the rule's family).
    pub dst: Set,
    /// `None`: every protocol and port.
    pub services: Option<Vec<(Proto, u16, u16)>>,
}

pub fn family(plan: &Plan, v4: bool) -> Set {
    plan.family(v4)
}

/// A name for an endpoint, usable as an identifier in every target.
pub fn source_name(plan: &Plan, target: &EndpointRef, text: &str) -> String {
    // Injective: letters and digits stay, every other byte becomes `_XX` (hex), so `pub-web`
    // and `pub_web` never share a name.
    let clean = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("_{b:02x}"));
                }
            }
        }
        out
    };
    match *target {
        EndpointRef::Tier(i) => format!("tier_{}", clean(&plan.tiers[i].name)),
        EndpointRef::Host(i) => format!("host_{}", clean(&plan.hosts[i].name)),
        EndpointRef::Vip(i) => format!("vip_{}", clean(&plan.vips[i].name)),
        EndpointRef::Network(i) => format!("net_{}", clean(&plan.networks[i].name)),
        EndpointRef::Vlan(i) => format!("vlan_{}", clean(&plan.vlans[i].name)),
        EndpointRef::Router(i) => format!("router_{}", clean(&plan.routers[i].name)),
        EndpointRef::Internet => "internet".into(),
        EndpointRef::Addresses { .. } => format!("addr_{}", clean(text)),
    }
}

/// Source sets by endpoint and family, computed once per render.
#[derive(Default)]
pub struct SourceCache {
    sources: std::collections::HashMap<(String, bool, Vec<u32>), Option<Source>>,
}

impl SourceCache {
    /// The part of an endpoint of one family that a host in `domains` can receive from.
    pub fn source(
        &mut self,
        plan: &Plan,
        ep: &crate::ir::Endpoint,
        v4: bool,
        domains: &[u32],
    ) -> Option<Source> {
        self.sources
            .entry((ep.text.clone(), v4, domains.to_vec()))
            .or_insert_with(|| {
                let set = plan
                    .endpoint_set(&ep.target)
                    .intersect(&family(plan, v4))
                    .intersect(&plan.visible(domains));
                (!set.is_empty()).then(|| Source {
                    name: format!(
                        "{}_{}",
                        source_name(plan, &ep.target, &ep.text),
                        if v4 { "v4" } else { "v6" }
                    ),
                    text: ep.text.clone(),
                    set,
                })
            })
            .clone()
    }
}

pub fn host_rules(
    plan: &Plan,
    policy: &crate::policy::Policy,
    cache: &mut SourceCache,
    host: usize,
) -> Vec<HostRule> {
    let local = plan.host_local_set(host);
    let domains = plan.host_domains(host);
    // Only the flows that reach into the host's addresses, found through the policy's index.
    let candidates = policy.flows_to(&local);
    let mut rules = Vec::new();
    for action in [Action::Deny, Action::Allow] {
        for (f, flow) in candidates
            .iter()
            .map(|&f| (f, &plan.flows[f]))
            .filter(|(_, f)| f.action == action)
        {
            let b = &policy.flow_boxes[f];
            let dst = b.dst.intersect(&local);
            if dst.is_empty() {
                continue;
            }
            let services = (b.svc != space::all_services()).then(|| space::service_pieces(&b.svc));
            for ep in &flow.sources {
                for v4 in [true, false] {
                    let dst = dst.intersect(&family(plan, v4));
                    if dst.is_empty() {
                        continue;
                    }
                    let Some(source) = cache.source(plan, ep, v4, &domains) else {
                        continue;
                    };
                    rules.push(HostRule {
                        flow: f,
                        action,
                        log: flow.log,
                        v4,
                        source,
                        dst,
                        services: services.clone(),
                    });
                }
            }
        }
    }
    rules
}

/// The distinct sources of a list of rules, by name, sorted.
pub fn sources(rules: &[HostRule]) -> Vec<Source> {
    let mut out: Vec<Source> = rules.iter().map(|r| r.source.clone()).collect();
    out.sort();
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// VRRP (IP protocol 112) a host must accept for the VIPs it shares: from the other members,
/// on the VIP's VLAN. It is not part of the plan's flows (netc's policy speaks of TCP, UDP and
/// ICMP), but without it every member of a VIP would declare itself master.
#[derive(Debug, Clone)]
pub struct Vrrp {
    pub vip: usize,
    pub v4: bool,
    pub peers: Set,
    pub local: Set,
}

pub fn vrrp_peers(plan: &Plan, host: usize) -> Vec<Vrrp> {
    let mut out = Vec::new();
    for (v, vip) in plan
        .vips
        .iter()
        .enumerate()
        .filter(|(_, v)| v.members.contains(&host))
    {
        let v4 = vip.addr.is_ipv4();
        let on_vlan = |h: usize| {
            plan.hosts[h]
                .interfaces
                .iter()
                .find(|i| i.vlan == vip.vlan && i.addr.is_ipv4() == v4)
                .map(|i| plan.iface_key(i))
        };
        let Some(local) = on_vlan(host) else { continue };
        let peers = Set::from_ranges(
            vip.members
                .iter()
                .filter(|&&m| m != host)
                .filter_map(|&m| on_vlan(m))
                .map(|k| (k, k)),
        );
        if !peers.is_empty() {
            out.push(Vrrp {
                vip: v,
                v4,
                peers,
                local: Set::point(local),
            });
        }
    }
    out
}
