//! The resolved model of a plan. Every reference is an index that is known to be valid; every
//! object keeps the span of the plan text it came from. `ir` never imports `syntax`'s tree
//! types beyond the small shared enums (protocols, firewall kinds, actions).

use crate::diag::{Sources, Span};
use crate::space::{self, Key, Set};
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
    /// The plan's name in generated files: the last component of each root, whatever the
    /// spelling or working directory (`fixtures/datalyptica/`, `./fixtures/datalyptica` and an
    /// absolute path are all `datalyptica`), so that headers never change with how netc was
    /// called.
    #[serde(skip)]
    pub label: String,
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
    /// The address set of every route of the plan, each once, sorted; computed once the
    /// model is complete (see `cut_by_routes`).
    #[serde(skip)]
    pub route_cuts: Vec<Set>,
    /// Routing domains: VRFs joined by routers (see `Domains`).
    #[serde(skip)]
    pub domains: Domains,
    /// What lost part of itself to an error of the plan (a host's address outside its subnet,
    /// a subnet without a prefix length): checks that would only repeat that error stay
    /// silent about it (one error per mistake).
    #[serde(skip)]
    pub incomplete: Incomplete,
    /// Where each subnet's most specific addresses are: interval starts, each with the
    /// subnet that holds the keys from there to the next start (see `subnet_of`).
    #[serde(skip)]
    pub subnet_index: Vec<(Key, Option<usize>)>,
}

/// Routing domains. A packet stays in its VRF unless a router with interfaces in both joins
/// them; the VRFs so joined (transitively) form one routing domain, and an address's identity
/// is (domain, address). Domain 0 holds the default VRF (or, without one, the first VLAN's)
/// and every address outside the plan's subnets: the internet.
#[derive(Debug, Default, Clone)]
pub struct Domains {
    /// The domain of each VLAN.
    pub of_vlan: Vec<u32>,
    /// How many domains (at least 1).
    pub count: u32,
    /// The VRF names of each domain, sorted.
    pub vrfs: Vec<Vec<String>>,
    /// The subnets of each domain, in its keys.
    pub subnets: Vec<Set>,
    /// Domain 0's keys of addresses that are in a subnet of another domain but of none of
    /// domain 0: such an address means nothing in domain 0 (it is not the internet).
    pub foreign: Set,
}

#[derive(Debug, Serialize)]
pub struct SwitchPort {
    pub name: String,
    /// Member ports of an LACP port-channel (empty for a plain port).
    pub members: Vec<String>,
    pub vlans: Vec<usize>,
    /// Tagged (several VLANs, or declared `trunk`) or untagged in one VLAN.
    pub trunk: bool,
    /// The host cabled to this port (`host NAME dev DEV`), if any: ports without one are
    /// uplinks to other switches or routers.
    pub host: Option<usize>,
    /// The host interface cabled here (with `host`).
    #[serde(skip)]
    pub dev: Option<String>,
    #[serde(skip)]
    pub name_span: Span,
    pub description: String,
    pub origin: Origin,
}

/// See `Plan::incomplete`.
#[derive(Debug, Default, Clone)]
pub struct Incomplete {
    /// Tiers, hosts and VLANs that lost an address, an interface or a subnet to an error.
    pub names: std::collections::BTreeSet<String>,
    /// A host whose tier could not be resolved (any tier may be the one it was meant for).
    pub orphan_hosts: bool,
}

impl Incomplete {
    /// Whether an endpoint may stand for fewer addresses than its author wrote because of
    /// another error.
    pub fn covers(&self, plan: &Plan, target: &EndpointRef) -> bool {
        let name = match *target {
            EndpointRef::Tier(t) | EndpointRef::TierOn { tier: t, .. } => {
                if self.orphan_hosts {
                    return true;
                }
                &plan.tiers[t].name
            }
            EndpointRef::Host(h) | EndpointRef::HostOn { host: h, .. } => &plan.hosts[h].name,
            EndpointRef::Vlan(v) => &plan.vlans[v].name,
            _ => return false,
        };
        self.names.contains(name)
    }
}

#[derive(Debug, Serialize)]
pub struct Switch {
    pub name: String,
    pub platform: Platform,
    /// `model NAME`, when the plan says which (its ports and defaults: `platform.rs`).
    #[serde(skip)]
    pub model: Option<&'static crate::platform::Model>,
    pub routes: Option<usize>,
    pub ports: Vec<SwitchPort>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Vlan {
    pub name: String,
    /// As written (check `vlan_id` says whether it is a usable 802.1Q id).
    pub id: u32,
    #[serde(skip)]
    pub id_span: Span,
    /// As written (check `mtu_range` says whether a device takes it).
    pub mtu: Option<u32>,
    #[serde(skip)]
    pub mtu_span: Option<Span>,
    pub vrf: String,
    pub description: Option<String>,
    /// `names none`: no `HOST.VLAN.DOMAIN` names (or PTRs) for host addresses here.
    pub no_names: bool,
    pub subnets: Vec<usize>,
    pub pools: Vec<Pool>,
    pub reserved: Vec<Reserved>,
    /// `carries`: the only services rules should open on hosts of this VLAN (check
    /// `closed_vlan`); a tier's rules do not open its services here unless it says `serve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carries: Option<Carries>,
    pub origin: Origin,
}

#[derive(Debug, Serialize)]
pub struct Carries {
    pub services: Vec<ServiceRef>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Serialize)]
pub struct Subnet {
    pub vlan: usize,
    pub net: ipnet::IpNet,
    pub gateway: Option<IpAddr>,
    /// The plan writes a gateway, resolved or not (a rejected one was reported: what needs a
    /// gateway says nothing more).
    #[serde(skip)]
    pub gateway_written: bool,
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

/// A route of a tier or host: `net` through the gateway of its VLAN `vlan` (`route default`
/// is one route per family the VLAN has a gateway of). The first VLAN of a tier carries the
/// default route unless a `route default` says otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub net: ipnet::IpNet,
    pub vlan: usize,
    pub gateway: IpAddr,
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
    /// `serve`: the VLANs where a rule naming the tier (or one of its hosts) as a destination
    /// opens its services; empty = every VLAN of the tier.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub serve: Vec<usize>,
    /// Routes of every host of the tier (a host's own routes come first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    pub firewall: FirewallKind,
    /// `egress filtered`: the tier's hosts send only what the plan allows from them (their
    /// output filter is an enforcement point).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub egress: bool,
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
    /// Whether the plan gives the host any interface statement (resolved or not): check
    /// `host_without_interface` reports only hosts that declare none.
    #[serde(skip)]
    pub declares_interfaces: bool,
    #[serde(skip)]
    pub name_span: Span,
    pub firewall: FirewallKind,
    pub dns_names: Vec<String>,
    /// The host's own routes (`Plan::routes_of`: every route it has).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
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
    /// Every member as the plan lists it, repeats included, with where (check `vip_members`).
    #[serde(skip)]
    pub listed: Vec<(usize, Span)>,
    pub vrid: u8,
    pub vrid_explicit: bool,
    /// The `vrid` as written, in range or not (check `vrid_range`).
    #[serde(skip)]
    pub vrid_given: Option<(u32, Span)>,
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
    /// Its own ports and those of the services it includes (already expanded).
    pub ports: Vec<PortRange>,
    /// The services it names (`service web http, https`), by index.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<usize>,
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
    /// The router's own addresses on the upstream link, each with the prefix it holds there
    /// (`upstream address 198.51.100.2/29`): what its translations may use.
    pub upstream_addrs: Vec<ipnet::IpNet>,
    /// Translations at the upstream interface, in plan order.
    pub nats: Vec<Nat>,
    /// Every source the translations take (filled by `Plan::freeze`).
    #[serde(skip)]
    pub translated: Set,
    pub origin: Origin,
}

/// One translation of a router (IPv4 only: netc does no NAT66).
#[derive(Debug, Clone, Serialize)]
pub struct Nat {
    #[serde(flatten)]
    pub kind: NatKind,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NatKind {
    /// Packets from `sources` leaving by the upstream interface leave from `to`
    /// (`masquerade`: the upstream interface's own address).
    Source {
        sources: Vec<Endpoint>,
        to: IpAddr,
        masquerade: bool,
        /// Every address of `sources` (filled by `Plan::freeze`).
        #[serde(skip)]
        set: Set,
    },
    /// Packets to `public` on `proto` `ports` go to `to`, their port moved by the same offset
    /// to start at `to_port`.
    Forward {
        public: IpAddr,
        proto: Proto,
        ports: (u16, u16),
        to: IpAddr,
        to_port: u16,
        /// The host, VIP or address as written.
        target: String,
        #[serde(skip)]
        to_vlan: usize,
        /// Filled by `Plan::freeze`.
        #[serde(skip)]
        to_key: Key,
    },
    /// One-to-one: packets to `public` go to `to`, and `to` leaves as `public`.
    Static {
        public: IpAddr,
        to: IpAddr,
        target: String,
        #[serde(skip)]
        to_vlan: usize,
        /// Filled by `Plan::freeze`.
        #[serde(skip)]
        to_key: Key,
    },
}

impl NatKind {
    /// The public address packets from outside are sent to (forward and static).
    pub fn public(&self) -> Option<IpAddr> {
        match *self {
            NatKind::Forward { public, .. } | NatKind::Static { public, .. } => Some(public),
            NatKind::Source { .. } => None,
        }
    }
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
    /// Serials YYYYMMDDnn (`serial date`) instead of a counter.
    pub serial_date: bool,
    /// Who is answered from the zone: the plan's clients, the internet's, or both.
    pub view: ZoneView,
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
    /// A tier on some of its VLANs only: `catalog@app-db`, or a tier named as a destination
    /// with `serve` VLANs.
    TierOn {
        tier: usize,
        vlans: Vec<usize>,
    },
    /// A host on some of its VLANs only.
    HostOn {
        host: usize,
        vlans: Vec<usize>,
    },
    Internet,
    /// Every address: the internet and all of the plan's subnets.
    Any,
    /// Addresses; in one domain when `domain` says so (a query's `corp:10.0.0.5`), else
    /// wherever they are (see `Plan::literal_set`).
    Addresses {
        first: IpAddr,
        last: IpAddr,
        #[serde(skip_serializing_if = "Option::is_none")]
        domain: Option<u32>,
    },
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

impl ServiceRef {
    /// As a plan writes it: `postgres`, `tcp/5432`, `tcp/80-89`, `icmp`, `any`.
    pub fn name(&self, plan: &Plan) -> String {
        match self {
            ServiceRef::Named { service } => plan.services[*service].name.clone(),
            ServiceRef::Ports { range } => match (range.proto, range.first, range.last) {
                (Proto::Icmp, _, _) => "icmp".into(),
                (p, 0, 65535) => p.name().into(),
                (p, a, b) if a == b => format!("{}/{a}", p.name()),
                (p, a, b) => format!("{}/{a}-{b}", p.name()),
            },
            ServiceRef::Any => "any".into(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Flow {
    pub action: Action,
    pub sources: Vec<Endpoint>,
    pub destinations: Vec<Endpoint>,
    pub services: Vec<ServiceRef>,
    pub log: bool,
    pub comment: Option<String>,
    /// `name NAME` of the rule, its identity when given.
    pub name: Option<String>,
    /// The rule as written, on its line(s).
    pub text: String,
    pub origin: Origin,
}

impl Flow {
    /// A stable identity for generated files: the rule's `name` when it has one, else
    /// derived from the rule's own text (whitespace normalised), not its position, so
    /// inserting a line above changes nothing.
    pub fn id(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        use sha2::Digest;
        let text = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let d = sha2::Sha256::digest(text.as_bytes());
        format!("r{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
    }
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
            EndpointRef::TierOn { tier, ref vlans } => {
                self.tier_set(tier).intersect(&self.vlans_set(vlans))
            }
            EndpointRef::HostOn { host, ref vlans } => {
                self.host_set(host).intersect(&self.vlans_set(vlans))
            }
            EndpointRef::Vip(v) => Set::point(self.vip_key(v)),
            EndpointRef::Network(n) => self.networks[n]
                .ranges
                .iter()
                .fold(Set::empty(), |acc, &(a, b)| {
                    acc.union(&self.literal_set(a, b))
                }),
            EndpointRef::Vlan(v) => self.vlans[v]
                .subnets
                .iter()
                .fold(Set::empty(), |acc, &s| acc.union(&self.subnet_set(s))),
            EndpointRef::Router(r) => Set::from_ranges(
                self.routers[r]
                    .interfaces
                    .iter()
                    .map(|i| self.key_in(i.vlan, i.addr))
                    .map(|k| (k, k)),
            ),
            EndpointRef::Internet => self.internet_set(),
            EndpointRef::Any => self.any_set(),
            EndpointRef::Addresses {
                first,
                last,
                domain: None,
            } => self.literal_set(first, last),
            EndpointRef::Addresses {
                first,
                last,
                domain: Some(d),
            } => space::range_set(d, first, last),
        }
    }

    /// A destination as rules and questions mean it: a tier (or one of its hosts) offers its
    /// services on its `serve` VLANs only.
    pub fn served(&self, target: &EndpointRef) -> EndpointRef {
        match *target {
            EndpointRef::Tier(t) if !self.tiers[t].serve.is_empty() => EndpointRef::TierOn {
                tier: t,
                vlans: self.tiers[t].serve.clone(),
            },
            EndpointRef::Host(h) if !self.tiers[self.hosts[h].tier].serve.is_empty() => {
                EndpointRef::HostOn {
                    host: h,
                    vlans: self.tiers[self.hosts[h].tier].serve.clone(),
                }
            }
            ref other => other.clone(),
        }
    }

    /// Where hosts of a subnet send what leaves it: its gateway, or else the first router
    /// interface on it.
    pub fn next_hop(&self, subnet: usize) -> Option<IpAddr> {
        let sn = &self.subnets[subnet];
        sn.gateway.or_else(|| {
            self.routers
                .iter()
                .flat_map(|r| &r.interfaces)
                .find(|i| i.vlan == sn.vlan && sn.net.contains(&i.addr))
                .map(|i| i.addr)
        })
    }

    /// Every route of host `h`: its own, then its tier's.
    pub fn routes_of(&self, h: usize) -> impl Iterator<Item = &Route> {
        let host = &self.hosts[h];
        host.routes.iter().chain(&self.tiers[host.tier].routes)
    }

    /// The address sets of every route of the plan's tiers and hosts, each once, sorted: a
    /// destination cut by them (and by subnets) is routed alike by every host.
    fn compute_route_cuts(&self) -> Vec<Set> {
        let mut cuts: Vec<Set> = self
            .tiers
            .iter()
            .flat_map(|t| &t.routes)
            .chain(self.hosts.iter().flat_map(|h| &h.routes))
            .map(|r| space::net_set(self.vlan_domain(r.vlan), &r.net))
            .collect();
        cuts.sort_by_key(|s| s.ranges().to_vec());
        cuts.dedup();
        cuts
    }

    /// `parts` cut further by the plan's routes (`route_cuts`).
    pub fn cut_by_routes(&self, parts: Vec<Set>) -> Vec<Set> {
        let mut out = parts;
        for cut in &self.route_cuts {
            out = out
                .into_iter()
                .flat_map(|p| {
                    let (inside, outside) = (p.intersect(cut), p.difference(cut));
                    [inside, outside].into_iter().filter(|x| !x.is_empty())
                })
                .collect();
        }
        out
    }

    /// Every address of some VLANs.
    pub fn vlans_set(&self, vlans: &[usize]) -> Set {
        Set::union_all(
            vlans
                .iter()
                .map(|&v| self.endpoint_set(&EndpointRef::Vlan(v))),
        )
    }

    /// The domain of a VLAN (0 before the model is frozen).
    pub fn vlan_domain(&self, vlan: usize) -> u32 {
        self.domains.of_vlan.get(vlan).copied().unwrap_or(0)
    }

    /// The key of an address on a VLAN.
    pub fn key_in(&self, vlan: usize, addr: IpAddr) -> Key {
        space::key(self.vlan_domain(vlan), addr)
    }

    pub fn vip_key(&self, vip: usize) -> Key {
        self.key_in(self.vips[vip].vlan, self.vips[vip].addr)
    }

    pub fn iface_key(&self, iface: &Interface) -> Key {
        self.key_in(iface.vlan, iface.addr)
    }

    /// A subnet's addresses, in its VLAN's domain.
    pub fn subnet_set(&self, s: usize) -> Set {
        space::net_set(self.vlan_domain(self.subnets[s].vlan), &self.subnets[s].net)
    }

    /// Every address of every domain.
    pub fn universe(&self) -> Set {
        space::universe(self.domains.count)
    }

    /// Every address of one family, in every domain.
    pub fn family(&self, v4: bool) -> Set {
        space::family_space(self.domains.count, v4)
    }

    /// An address range written without a VRF: wherever it is. The parts inside subnets of a
    /// domain are that domain's addresses; the rest is domain 0's (the default VRF or the
    /// internet).
    pub fn literal_set(&self, first: IpAddr, last: IpAddr) -> Set {
        let mut set = space::range_set(0, first, last).difference(&self.domains.foreign);
        for d in 1..self.domains.count {
            let part =
                space::range_set(d, first, last).intersect(&self.domains.subnets[d as usize]);
            set = set.union(&part);
        }
        set
    }

    /// `internet` in rules: every address outside every subnet of the plan.
    pub fn internet_set(&self) -> Set {
        space::universe(1)
            .difference(&self.domains.subnets.first().cloned().unwrap_or_default())
            .difference(&self.domains.foreign)
    }

    /// `any`: every address, the internet's and every subnet's of every VRF.
    pub fn any_set(&self) -> Set {
        self.domains
            .subnets
            .iter()
            .fold(self.internet_set(), |acc, s| acc.union(s))
    }

    pub fn host_set(&self, host: usize) -> Set {
        Set::from_ranges(self.hosts[host].interfaces.iter().map(|i| {
            let k = self.iface_key(i);
            (k, k)
        }))
    }

    /// The domains a host has interfaces in, sorted.
    pub fn host_domains(&self, host: usize) -> Vec<u32> {
        let mut d: Vec<u32> = self.hosts[host]
            .interfaces
            .iter()
            .map(|i| self.vlan_domain(i.vlan))
            .collect();
        d.sort_unstable();
        d.dedup();
        d
    }

    /// The domains a router has interfaces in (one, once the plan is checked: a router joins
    /// its VRFs into one domain).
    pub fn router_domain(&self, router: usize) -> u32 {
        self.routers[router]
            .interfaces
            .first()
            .map_or(0, |i| self.vlan_domain(i.vlan))
    }

    /// What an enforcement point in `domains` can receive: the addresses of those domains
    /// and the internet. Its rulesets match addresses without domains, so they are the
    /// plan's sets intersected with this (which checks make sure has no address twice).
    pub fn visible(&self, domains: &[u32]) -> Set {
        let mut set = self.internet_set();
        for &d in domains {
            set = set.union(&space::domain_space(d));
        }
        if domains.contains(&0) {
            set = set.difference(&self.domains.foreign);
        }
        set
    }

    /// A tier's addresses: its hosts' interfaces and the VIPs all of whose members are in it.
    pub fn tier_set(&self, tier: usize) -> Set {
        match self.tier_sets.get(tier) {
            Some(set) => set.clone(),
            None => self.compute_tier_set(tier),
        }
    }

    /// Fill `domains`, `tier_sets` and `route_cuts`; the model must not change afterwards.
    pub fn freeze(&mut self) {
        self.domains = self.compute_domains();
        self.tier_sets = (0..self.tiers.len())
            .map(|t| self.compute_tier_set(t))
            .collect();
        self.subnet_index = self.compute_subnet_index();
        self.freeze_nats();
        self.route_cuts = self.compute_route_cuts();
        self.route_cuts.extend(self.nat_cuts());
    }

    /// The keys and address sets of translations (they need the domains and tier sets).
    fn freeze_nats(&mut self) {
        let mut routers = std::mem::take(&mut self.routers);
        for nat in routers.iter_mut().flat_map(|r| r.nats.iter_mut()) {
            match &mut nat.kind {
                NatKind::Source { sources, set, .. } => {
                    *set = Set::union_all(sources.iter().map(|e| self.endpoint_set(&e.target)))
                        .intersect(&self.family(true));
                }
                NatKind::Forward {
                    to,
                    to_vlan,
                    to_key,
                    ..
                }
                | NatKind::Static {
                    to,
                    to_vlan,
                    to_key,
                    ..
                } => *to_key = self.key_in(*to_vlan, *to),
            }
        }
        for r in &mut routers {
            r.translated = crate::nat::translated_sources(r);
        }
        self.routers = routers;
    }

    /// Destination cuts for translation: every public address of a forward or static NAT (its
    /// packets are translated, its neighbours' are not), and, when the plan translates, the
    /// ranges the internet does not route (a private source needs a translation to reach a
    /// public address, and none to reach a private one: see `nat`).
    fn nat_cuts(&self) -> Vec<Set> {
        let publics: Vec<Set> = self
            .routers
            .iter()
            .flat_map(|r| &r.nats)
            .filter_map(|n| n.kind.public())
            .map(|a| Set::point(space::key(0, a)))
            .collect();
        let mut cuts = vec![crate::nat::private_set().clone()];
        cuts.extend(publics);
        cuts.sort_by_key(|s| s.ranges().to_vec());
        cuts.dedup();
        cuts
    }

    /// Subnets painted onto the key space from the least specific to the most (ties: the
    /// later subnet wins, as in a linear search for the longest prefix).
    fn compute_subnet_index(&self) -> Vec<(Key, Option<usize>)> {
        let mut order: Vec<usize> = (0..self.subnets.len()).collect();
        order.sort_by_key(|&s| (self.subnets[s].net.prefix_len(), s));
        let mut map: std::collections::BTreeMap<Key, Option<usize>> =
            std::collections::BTreeMap::from([(Key::MIN, None)]);
        for s in order {
            let set = space::net_set(self.vlan_domain(self.subnets[s].vlan), &self.subnets[s].net);
            let Some(&(lo, hi)) = set.ranges().first() else {
                continue;
            };
            let after = (hi < Key::MAX).then(|| {
                let next = hi.succ();
                (
                    next,
                    *map.range(..=next).next_back().expect("MIN is mapped").1,
                )
            });
            let inside: Vec<Key> = map.range(lo..=hi).map(|(k, _)| *k).collect();
            for k in inside {
                map.remove(&k);
            }
            map.insert(lo, Some(s));
            if let Some((next, v)) = after {
                map.entry(next).or_insert(v);
            }
        }
        map.into_iter().collect()
    }

    fn compute_domains(&self) -> Domains {
        // Union-find over VRF names, joined by routers' interfaces.
        let mut vrfs: Vec<&str> = self.vlans.iter().map(|v| v.vrf.as_str()).collect();
        vrfs.sort_unstable();
        vrfs.dedup();
        let index = |name: &str| vrfs.binary_search(&name).expect("every VRF is listed");
        let mut parent: Vec<usize> = (0..vrfs.len()).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for r in &self.routers {
            let mut joined = r
                .interfaces
                .iter()
                .filter_map(|i| self.vlans.get(i.vlan))
                .map(|v| index(&v.vrf));
            if let Some(first) = joined.next() {
                for other in joined {
                    let (a, b) = (root(&mut parent, first), root(&mut parent, other));
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
        // Domain 0: the default VRF's, else the first VLAN's; then in order of first VLAN.
        let mut order: Vec<usize> = Vec::new();
        if let Ok(d) = vrfs.binary_search(&"default") {
            order.push(root(&mut parent, d));
        }
        for v in &self.vlans {
            let r = root(&mut parent, index(&v.vrf));
            if !order.contains(&r) {
                order.push(r);
            }
        }
        let domain_of_root = |r: usize| order.iter().position(|&x| x == r).unwrap_or(0) as u32;
        let of_vlan: Vec<u32> = self
            .vlans
            .iter()
            .map(|v| domain_of_root(root(&mut parent, index(&v.vrf))))
            .collect();
        let count = (order.len() as u32).max(1);
        let mut names: Vec<Vec<String>> = vec![Vec::new(); count as usize];
        for (i, name) in vrfs.iter().enumerate() {
            let d = domain_of_root(root(&mut parent, i)) as usize;
            names[d].push(name.to_string());
        }
        let mut subnets = vec![Set::empty(); count as usize];
        for s in &self.subnets {
            let d = of_vlan.get(s.vlan).copied().unwrap_or(0);
            subnets[d as usize] = subnets[d as usize].union(&space::net_set(d, &s.net));
        }
        let mut foreign = Set::empty();
        for d in 1..count {
            for &(lo, hi) in subnets[d as usize].ranges() {
                foreign = foreign.union(&Set::range(space::rehome(lo, 0), space::rehome(hi, 0)));
            }
        }
        let foreign = foreign.difference(&subnets[0]);
        Domains {
            of_vlan,
            count,
            vrfs: names,
            subnets,
            foreign,
        }
    }

    /// The domain whose VRFs include `vrf`.
    pub fn domain_of_vrf(&self, vrf: &str) -> Option<u32> {
        self.domains
            .vrfs
            .iter()
            .position(|names| names.iter().any(|n| n == vrf))
            .map(|d| d as u32)
    }

    /// A domain's name for people: its VRFs joined by `+`.
    pub fn domain_name(&self, d: u32) -> String {
        self.domains
            .vrfs
            .get(d as usize)
            .filter(|v| !v.is_empty())
            .map_or_else(|| "default".to_string(), |v| v.join("+"))
    }

    fn compute_tier_set(&self, tier: usize) -> Set {
        let mut keys: Vec<(Key, Key)> = Vec::new();
        for &h in &self.tiers[tier].hosts {
            for i in &self.hosts[h].interfaces {
                let k = self.iface_key(i);
                keys.push((k, k));
            }
        }
        for (v, vip) in self.vips.iter().enumerate() {
            if !vip.members.is_empty() && vip.members.iter().all(|&m| self.hosts[m].tier == tier) {
                let k = self.vip_key(v);
                keys.push((k, k));
            }
        }
        Set::from_ranges(keys)
    }

    pub fn service_ref_set(&self, svc: &ServiceRef) -> Set {
        match svc {
            ServiceRef::Named { service } => {
                Set::union_all(self.services[*service].ports.iter().map(|p| p.set()))
            }
            ServiceRef::Ports { range } => range.set(),
            ServiceRef::Any => space::all_services(),
        }
    }

    pub fn endpoints_set(&self, eps: &[Endpoint]) -> Set {
        Set::union_all(eps.iter().map(|e| self.endpoint_set(&e.target)))
    }

    pub fn services_set(&self, svcs: &[ServiceRef]) -> Set {
        Set::union_all(svcs.iter().map(|s| self.service_ref_set(s)))
    }

    /// Every address a host answers on: its interfaces and the VIPs it may hold.
    pub fn host_local_set(&self, host: usize) -> Set {
        let mut set = self.host_set(host);
        for (v, vip) in self.vips.iter().enumerate() {
            if vip.members.contains(&host) {
                set = set.union(&Set::point(self.vip_key(v)));
            }
        }
        set
    }

    /// The subnet an address belongs to (the most specific one).
    pub fn subnet_of(&self, k: Key) -> Option<usize> {
        if !self.subnet_index.is_empty() {
            let i = self.subnet_index.partition_point(|(start, _)| *start <= k);
            return self.subnet_index[i - 1].1;
        }
        let (d, addr) = (space::key_domain(k), space::key_addr(k));
        self.subnets
            .iter()
            .enumerate()
            .filter(|(_, s)| self.vlan_domain(s.vlan) == d && s.net.contains(&addr))
            .max_by_key(|(_, s)| s.net.prefix_len())
            .map(|(i, _)| i)
    }

    /// The subnet of `addr` among the subnets of `vlans` (the most specific one).
    pub fn subnet_in_vlans(&self, addr: IpAddr, vlans: &[usize]) -> Option<usize> {
        vlans
            .iter()
            .flat_map(|&v| self.vlans[v].subnets.iter().copied())
            .filter(|&s| self.subnets[s].net.contains(&addr))
            .max_by_key(|&s| self.subnets[s].net.prefix_len())
    }

    /// Every address inside a subnet of the plan, in every domain.
    pub fn internal_set(&self) -> Set {
        self.domains
            .subnets
            .iter()
            .fold(Set::empty(), |acc, s| acc.union(s))
    }

    pub fn flow_box(&self, flow: &Flow) -> space::HBox {
        space::HBox {
            src: self.endpoints_set(&flow.sources),
            dst: self.endpoints_set(&flow.destinations),
            svc: self.services_set(&flow.services),
        }
    }
}

// ---- the small enums the model and the syntax tree share (the model owns them) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallKind {
    Nftables,
    Firewalld,
    Ufw,
    /// The host runs no firewall that netc manages.
    None,
}

impl FirewallKind {
    pub const ALL: [FirewallKind; 4] = [
        FirewallKind::Nftables,
        FirewallKind::Firewalld,
        FirewallKind::Ufw,
        FirewallKind::None,
    ];

    /// The word the plan writes (`firewall ufw`).
    pub fn name(self) -> &'static str {
        match self {
            FirewallKind::Nftables => "nftables",
            FirewallKind::Firewalld => "firewalld",
            FirewallKind::Ufw => "ufw",
            FirewallKind::None => "none",
        }
    }

    pub fn from_name(word: &str) -> Option<FirewallKind> {
        Self::ALL.into_iter().find(|k| k.name() == word)
    }

    /// Whether netc writes this host's firewall (and the host enforces the plan).
    pub fn managed(self) -> bool {
        self != FirewallKind::None
    }

    /// Stock rules netc cannot change: ufw's `before.rules` accept ICMP echo requests from
    /// anywhere, before any user rule (so netc's answers, `verify` and the packet labs say so
    /// for ufw hosts; docs/targets.md).
    pub fn stock_accepts_icmp_echo(self) -> bool {
        self == FirewallKind::Ufw
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Ios,
    Eos,
    Junos,
    /// Linux with ifupdown2 (a VLAN-aware bridge), as on Cumulus-style switches.
    Linux,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Ios,
        Platform::Eos,
        Platform::Junos,
        Platform::Linux,
    ];

    pub fn from_name(word: &str) -> Option<Platform> {
        Self::ALL.into_iter().find(|p| p.name() == word)
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Eos => "eos",
            Platform::Junos => "junos",
            Platform::Linux => "linux",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Deny,
}

/// The clients a zone answers: the plan's own (`internal`, the default), the internet's
/// (`external`), or both, the internet getting only the public part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneView {
    #[default]
    Internal,
    External,
    Both,
}

impl ZoneView {
    pub fn internal(self) -> bool {
        self != ZoneView::External
    }

    pub fn external(self) -> bool {
        self != ZoneView::Internal
    }
}
