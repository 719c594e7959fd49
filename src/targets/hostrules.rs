//! What a host's firewall must do, independent of the firewall's syntax: for each flow that
//! matches the host's own addresses, the rule restricted to them. Denies come first (deny
//! wins), then allows, each in plan order; everything else is dropped. This is exactly the
//! plan's policy for packets to the host (see `policy`).

use crate::ir::{Action, EndpointRef, Plan, Proto};
use crate::space::{self, Set};
use std::collections::BTreeMap;

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
    /// The peer: where packets come from (`class_rules`), or where the host sends them
    /// (`egress_rules`).
    pub source: Source,
    /// The host's own addresses this rule is for (of the rule's family).
    pub dst: Set,
    /// `None`: every protocol and port.
    pub services: Option<Vec<(Proto, u16, u16)>>,
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
        // `_` is escaped by `clean`, so `_at_` cannot occur inside a name.
        EndpointRef::TierOn { tier, ref vlans } => format!(
            "tier_{}_at_{}",
            clean(&plan.tiers[tier].name),
            vlans
                .iter()
                .map(|&v| clean(&plan.vlans[v].name))
                .collect::<Vec<_>>()
                .join("_at_")
        ),
        EndpointRef::HostOn { host, ref vlans } => format!(
            "host_{}_at_{}",
            clean(&plan.hosts[host].name),
            vlans
                .iter()
                .map(|&v| clean(&plan.vlans[v].name))
                .collect::<Vec<_>>()
                .join("_at_")
        ),
        EndpointRef::Internet => "internet".into(),
        EndpointRef::Any => "any".into(),
        EndpointRef::Addresses { .. } => format!("addr_{}", clean(text)),
    }
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

/// What a matching packet gets, beyond the chain's default drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Accept,
    /// An allow the plan asks to log (the flow).
    LogAccept(usize),
    /// A deny the plan asks to log: logged, then dropped (unlogged denies fall to the
    /// default drop).
    LogDrop(usize),
    /// An unlogged deny, dropped explicitly: only where a chain must decide before another
    /// one (a router's `deny_H` chains); elsewhere unlogged denies fall to the default drop.
    Drop,
}

/// A piece of an atom pair's permitted (or logged-denied) space: services, plan rule, verdict.
pub type PairPiece = (Set, usize, Verdict);

/// What the plan says about one atom pair, as disjoint (services, plan rule, verdict) pieces:
/// the permitted space (allows minus denies), and what logged denies match.
pub fn pair_pieces(plan: &Plan, rules: &crate::policy::PairRules) -> Vec<PairPiece> {
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

/// The names of the plan endpoints each atom belongs to (for comments), at most three each.
pub fn atom_names(plan: &Plan, policy: &crate::policy::Policy) -> BTreeMap<u32, Vec<String>> {
    let mut names: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for ep in plan
        .flows
        .iter()
        .flat_map(|f| f.sources.iter().chain(&f.destinations))
    {
        if !seen.insert(ep.text.clone()) {
            continue;
        }
        for a in policy.atoms.atoms_of(&plan.endpoint_set(&ep.target)) {
            let list = names.entry(a).or_default();
            if list.len() < 3 && !list.contains(&ep.text) {
                list.push(ep.text.clone());
            }
        }
    }
    names
}

/// What one peer atom may do at a host: (own address part, pieces) for each part.
type Row = Vec<(usize, Vec<PairPiece>)>;

/// A host's rules by source class: the source atoms that the policy treats alike toward
/// every address of the host form one class, and each class gets one rule per (own address
/// part, piece of permitted space), already allows minus denies (only logged denies appear,
/// as denies). Firewalls without interval maps (firewalld's ipsets, ufw) use these: one set
/// or rule group per class, never one per (plan rule, source endpoint).
pub fn class_rules(
    plan: &Plan,
    policy: &crate::policy::Policy,
    names: &BTreeMap<u32, Vec<String>>,
    host: usize,
) -> Vec<HostRule> {
    let domains = plan.host_domains(host);
    let visible = plan.visible(&domains);
    let mut parts = policy.atoms.split(&plan.host_local_set(host));
    parts.sort_unstable_by_key(|(_, p)| p.first());
    // For each source atom: (destination part index, pieces) of everything it may do here.
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    for (i, (da, _)) in parts.iter().enumerate() {
        for sa in policy.sources_of(*da) {
            if !policy.atoms.set(sa).intersects(&visible) {
                continue;
            }
            let pieces = pair_pieces(plan, &policy.pairs[&(sa, *da)]);
            if !pieces.is_empty() {
                rows.entry(sa).or_default().push((i, pieces));
            }
        }
    }
    let mut rules = rules_by_class(plan, policy, names, &visible, &parts, rows, "from");
    // Logged denies first, as the targets expect of deny rules.
    rules.sort_by_key(|r| r.action != Action::Deny);
    rules
}

/// What a host of an `egress filtered` tier may send, by destination class: the destination
/// atoms the policy treats alike from every interface address of the host form one class
/// (named `to_...`, in `source`: the peer of the rule), and each class gets one rule per (own
/// address part, piece of permitted space) with the host's addresses in `dst`. Only allows:
/// what the plan does not permit falls to the output filter's default drop (VIPs send
/// nothing: replies from a VIP are replies).
pub fn egress_rules(
    plan: &Plan,
    policy: &crate::policy::Policy,
    names: &BTreeMap<u32, Vec<String>>,
    host: usize,
) -> Vec<HostRule> {
    let visible = plan.visible(&plan.host_domains(host));
    let own = plan.host_set(host);
    let mut parts = policy.atoms.split(&own);
    parts.sort_unstable_by_key(|(_, p)| p.first());
    let index: BTreeMap<u32, usize> = parts
        .iter()
        .enumerate()
        .map(|(i, (a, _))| (*a, i))
        .collect();
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    let mut pairs: Vec<(u32, u32)> = policy
        .pairs
        .keys()
        .filter(|(sa, _)| index.contains_key(sa))
        .copied()
        .collect();
    pairs.sort_unstable_by_key(|&(sa, da)| (index[&sa], da));
    for (sa, da) in pairs {
        if !policy.atoms.set(da).intersects(&visible) {
            continue;
        }
        let pieces: Vec<PairPiece> = pair_pieces(plan, &policy.pairs[&(sa, da)])
            .into_iter()
            .filter(|p| matches!(p.2, Verdict::Accept | Verdict::LogAccept(_)))
            .map(|(svc, f, _)| (svc, f, Verdict::Accept))
            .collect();
        if !pieces.is_empty() {
            rows.entry(da).or_default().push((index[&sa], pieces));
        }
    }
    rules_by_class(plan, policy, names, &visible, &parts, rows, "to")
}

/// The rules of `rows` (peer atom -> what it may do with each own address part), one class of
/// peers per distinct row, named `{prefix}_ADDRESS_v4|v6` by where the class starts.
fn rules_by_class(
    plan: &Plan,
    policy: &crate::policy::Policy,
    names: &BTreeMap<u32, Vec<String>>,
    visible: &Set,
    parts: &[(u32, Set)],
    rows: BTreeMap<u32, Row>,
    prefix: &str,
) -> Vec<HostRule> {
    let mut classes: BTreeMap<Row, Vec<u32>> = BTreeMap::new();
    for (sa, row) in rows {
        classes.entry(row).or_default().push(sa);
    }
    let mut classes: Vec<(Set, Vec<u32>, Row)> = classes
        .into_iter()
        .map(|(row, atoms)| {
            let set = atoms
                .iter()
                .fold(Set::empty(), |acc, &a| acc.union(policy.atoms.set(a)))
                .intersect(visible);
            (set, atoms, row)
        })
        .collect();
    classes.sort_by_key(|(set, _, _)| set.first());
    let mut rules = Vec::new();
    for (set, atoms, row) in &classes {
        let Some(start) = set.first() else { continue };
        let mut text: Vec<String> = Vec::new();
        for a in atoms {
            for n in names.get(a).into_iter().flatten() {
                if text.len() < 3 && !text.contains(n) {
                    text.push(n.clone());
                }
            }
        }
        let label = space::key_addr(start).to_string().replace(['.', ':'], "_");
        let label = match space::key_domain(start) {
            0 => label,
            d => format!("d{d}_{label}"),
        };
        for v4 in [true, false] {
            let src = set.intersect(&plan.family(v4));
            if src.is_empty() {
                continue;
            }
            let source = Source {
                name: format!("{prefix}_{label}_{}", if v4 { "v4" } else { "v6" }),
                text: if text.is_empty() {
                    "addresses".to_string()
                } else {
                    text.join(", ")
                },
                set: src,
            };
            for (i, pieces) in row {
                let dst = parts[*i].1.intersect(&plan.family(v4));
                if dst.is_empty() {
                    continue;
                }
                for (svc, flow, verdict) in pieces {
                    rules.push(HostRule {
                        flow: *flow,
                        action: match verdict {
                            Verdict::LogDrop(_) | Verdict::Drop => Action::Deny,
                            _ => Action::Allow,
                        },
                        log: matches!(verdict, Verdict::LogAccept(_) | Verdict::LogDrop(_)),
                        v4,
                        source: source.clone(),
                        dst: dst.clone(),
                        services: (*svc != space::all_services())
                            .then(|| space::service_pieces(svc)),
                    });
                }
            }
        }
    }
    rules
}
