//! The resolved model of a plan. Every reference is an index that is known to be valid; every
//! object keeps the span of the plan text it came from. `ir` never imports `syntax`'s tree
//! types beyond the small shared enums (protocols, firewall kinds, actions).

use crate::diag::{Sources, Span};
use crate::space::{self, Set};
pub use crate::syntax::ast::{Action, FirewallKind, Platform, Proto};
use serde::Serialize;
use std::net::IpAddr;

/// Where an object was declared.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    #[serde(skip)]
    pub span: Span,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Origin {
    pub fn new(span: Span, sources: &Sources) -> Origin {
        let loc = sources.location(span);
        Origin {
            span,
            file: loc.file,
            line: loc.line,
            column: loc.column,
        }
    }

    pub fn file_line(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Serialize)]
pub struct Plan {
    /// The plan's name: its root file or directory as given.
    pub name: String,
    pub vlans: Vec<Vlan>,
    pub subnets: Vec<Subnet>,
    pub tiers: Vec<Tier>,
    pub hosts: Vec<Host>,
    pub vips: Vec<Vip>,
    pub services: Vec<Service>,
    pub networks: Vec<Network>,
    pub routers: Vec<Router>,
    pub zones: Vec<Zone>,
    pub flows: Vec<Flow>,
    pub management: Vec<Management>,
    pub switches: Vec<Switch>,
    #[serde(skip)]
    pub sources: Sources,
    /// Each tier's address set, computed once the model is complete (see `tier_set`).
    #[serde(skip)]
    pub tier_sets: Vec<Set>,
}

#[derive(Debug, Serialize)]
pub struct SwitchPort {
    pub name: String,
    /// Member ports of an LACP port-channel (empty for a plain port).
    pub members: Vec<String>,
    pub vlans: Vec<usize>,
    /// Tagged (several VLANs, or declared `trunk`) or untagged in one VLAN.
    pub trunk: bool,
    pub description: String,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Switch {
    pub name: String,
    pub platform: Platform,
    pub routes: Option<usize>,
    pub ports: Vec<SwitchPort>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Vlan {
    pub name: String,
    pub id: u16,
    pub mtu: Option<u32>,
    pub vrf: String,
    pub description: Option<String>,
    pub subnets: Vec<usize>,
    pub pools: Vec<Pool>,
    pub reserved: Vec<Reserved>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Subnet {
    pub vlan: usize,
    pub net: ipnet::IpNet,
    pub gateway: Option<IpAddr>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Pool {
    pub tier: usize,
    pub first: IpAddr,
    pub last: IpAddr,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Reserved {
    pub first: IpAddr,
    pub last: IpAddr,
    pub note: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct TierVlan {
    pub vlan: usize,
    pub dev: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Tier {
    pub name: String,
    pub vlans: Vec<TierVlan>,
    pub firewall: FirewallKind,
    pub domain: Option<String>,
    pub description: Option<String>,
    pub hosts: Vec<usize>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub vlan: usize,
    pub subnet: usize,
    pub addr: IpAddr,
    pub dev: String,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Host {
    pub name: String,
    pub tier: usize,
    /// In the order of the tier's VLANs; the first one carries the default route.
    pub interfaces: Vec<Interface>,
    pub firewall: FirewallKind,
    pub dns_names: Vec<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HealthCheck {
    Port { proto: Proto, port: Option<u16> },
    Script { command: String },
}

#[derive(Debug, Serialize)]
pub struct Vip {
    pub name: String,
    pub addr: IpAddr,
    pub vlan: usize,
    pub subnet: usize,
    /// In priority order: the first is the preferred master.
    pub members: Vec<usize>,
    pub vrid: u8,
    pub vrid_explicit: bool,
    pub check: Option<HealthCheck>,
    pub preempt: bool,
    pub dns_names: Vec<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub proto: Proto,
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn set(&self) -> Set {
        space::service_set(
            self.proto,
            Some((self.first, self.last)).filter(|_| self.proto != Proto::Icmp),
        )
    }
}

#[derive(Debug, Serialize)]
pub struct Service {
    pub name: String,
    pub ports: Vec<PortRange>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Network {
    pub name: String,
    pub ranges: Vec<(IpAddr, IpAddr)>,
    pub description: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct RouterInterface {
    pub vlan: usize,
    pub addr: IpAddr,
    pub dev: String,
}

#[derive(Debug, Serialize)]
pub struct Router {
    pub name: String,
    pub interfaces: Vec<RouterInterface>,
    /// The interface towards everything outside the plan, if this router has one.
    pub upstream: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct NameServer {
    pub name: String,
    pub addr: Option<IpAddr>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Relative to the zone (`@` for the apex) or absolute with a final dot.
    pub name: String,
    pub rtype: String,
    pub data: Vec<String>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Zone {
    pub name: String,
    pub ttl: u32,
    pub admin: String,
    pub nameservers: Vec<NameServer>,
    pub records: Vec<Record>,
    pub local_ok: bool,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "ref", rename_all = "lowercase")]
pub enum EndpointRef {
    Tier(usize),
    Host(usize),
    Vip(usize),
    Network(usize),
    Vlan(usize),
    Router(usize),
    Internet,
    Addresses { first: IpAddr, last: IpAddr },
}

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub target: EndpointRef,
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceRef {
    Named { service: usize },
    Ports { range: PortRange },
    Any,
}

#[derive(Debug, Serialize)]
pub struct Flow {
    pub action: Action,
    pub sources: Vec<Endpoint>,
    pub destinations: Vec<Endpoint>,
    pub services: Vec<ServiceRef>,
    pub log: bool,
    pub comment: Option<String>,
    /// The rule as written, on its line(s).
    pub text: String,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Management {
    pub sources: Vec<Endpoint>,
    pub vlan: usize,
    pub services: Vec<ServiceRef>,
    pub except: Vec<usize>,
    pub origin: Origin,
}

impl Plan {
    /// The address set an endpoint stands for.
    pub fn endpoint_set(&self, target: &EndpointRef) -> Set {
        match *target {
            EndpointRef::Tier(t) => self.tier_set(t),
            EndpointRef::Host(h) => self.host_set(h),
            EndpointRef::Vip(v) => Set::point(space::addr_key(self.vips[v].addr)),
            EndpointRef::Network(n) => Set::from_ranges(
                self.networks[n]
                    .ranges
                    .iter()
                    .map(|&(a, b)| (space::addr_key(a), space::addr_key(b))),
            ),
            EndpointRef::Vlan(v) => self.vlans[v].subnets.iter().fold(Set::empty(), |acc, &s| {
                acc.union(&space::net_set(&self.subnets[s].net))
            }),
            EndpointRef::Router(r) => Set::from_ranges(
                self.routers[r]
                    .interfaces
                    .iter()
                    .map(|i| (space::addr_key(i.addr), space::addr_key(i.addr))),
            ),
            EndpointRef::Internet => Set::full().difference(&self.internal_set()),
            EndpointRef::Addresses { first, last } => space::range_set(first, last),
        }
    }

    pub fn host_set(&self, host: usize) -> Set {
        Set::from_ranges(self.hosts[host].interfaces.iter().map(|i| {
            let k = space::addr_key(i.addr);
            (k, k)
        }))
    }

    /// A tier's addresses: its hosts' interfaces and the VIPs all of whose members are in it.
    pub fn tier_set(&self, tier: usize) -> Set {
        match self.tier_sets.get(tier) {
            Some(set) => set.clone(),
            None => self.compute_tier_set(tier),
        }
    }

    /// Fill `tier_sets`; the model must not change afterwards.
    pub fn freeze(&mut self) {
        self.tier_sets = (0..self.tiers.len())
            .map(|t| self.compute_tier_set(t))
            .collect();
    }

    fn compute_tier_set(&self, tier: usize) -> Set {
        let mut keys: Vec<(u128, u128)> = Vec::new();
        for &h in &self.tiers[tier].hosts {
            for i in &self.hosts[h].interfaces {
                let k = space::addr_key(i.addr);
                keys.push((k, k));
            }
        }
        for vip in &self.vips {
            if !vip.members.is_empty() && vip.members.iter().all(|&m| self.hosts[m].tier == tier) {
                let k = space::addr_key(vip.addr);
                keys.push((k, k));
            }
        }
        Set::from_ranges(keys)
    }

    pub fn service_ref_set(&self, svc: &ServiceRef) -> Set {
        match svc {
            ServiceRef::Named { service } => self.services[*service]
                .ports
                .iter()
                .fold(Set::empty(), |acc, p| acc.union(&p.set())),
            ServiceRef::Ports { range } => range.set(),
            ServiceRef::Any => space::all_services(),
        }
    }

    pub fn endpoints_set(&self, eps: &[Endpoint]) -> Set {
        eps.iter().fold(Set::empty(), |acc, e| {
            acc.union(&self.endpoint_set(&e.target))
        })
    }

    pub fn services_set(&self, svcs: &[ServiceRef]) -> Set {
        svcs.iter()
            .fold(Set::empty(), |acc, s| acc.union(&self.service_ref_set(s)))
    }

    /// Every address a host answers on: its interfaces and the VIPs it may hold.
    pub fn host_local_set(&self, host: usize) -> Set {
        let mut set = self.host_set(host);
        for vip in &self.vips {
            if vip.members.contains(&host) {
                set = set.union(&Set::point(space::addr_key(vip.addr)));
            }
        }
        set
    }

    /// A name for the thing at `addr`, if the plan has one (host, VIP, router, network).
    pub fn describe_addr(&self, k: u128) -> String {
        for host in &self.hosts {
            if host.interfaces.iter().any(|i| space::addr_key(i.addr) == k) {
                return format!("{} ({})", host.name, self.tiers[host.tier].name);
            }
        }
        if let Some(vip) = self.vips.iter().find(|v| space::addr_key(v.addr) == k) {
            return format!("vip {}", vip.name);
        }
        if let Some(r) = self
            .routers
            .iter()
            .find(|r| r.interfaces.iter().any(|i| space::addr_key(i.addr) == k))
        {
            return format!("router {}", r.name);
        }
        for n in &self.networks {
            if n.ranges
                .iter()
                .any(|&(a, b)| (space::addr_key(a)..=space::addr_key(b)).contains(&k))
            {
                return format!("network {}", n.name);
            }
        }
        match self.subnet_of(k) {
            Some(s) => format!("vlan {}", self.vlans[self.subnets[s].vlan].name),
            None => "internet".into(),
        }
    }

    /// The subnet an address belongs to (the most specific one).
    pub fn subnet_of(&self, k: u128) -> Option<usize> {
        self.subnets
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                (space::addr_key(s.net.network())..=space::addr_key(s.net.broadcast())).contains(&k)
            })
            .max_by_key(|(_, s)| s.net.prefix_len())
            .map(|(i, _)| i)
    }

    /// Every address inside a subnet of the plan.
    pub fn internal_set(&self) -> Set {
        self.subnets
            .iter()
            .fold(Set::empty(), |acc, s| acc.union(&space::net_set(&s.net)))
    }

    pub fn flow_box(&self, flow: &Flow) -> space::HBox {
        space::HBox {
            src: self.endpoints_set(&flow.sources),
            dst: self.endpoints_set(&flow.destinations),
            svc: self.services_set(&flow.services),
        }
    }
}
