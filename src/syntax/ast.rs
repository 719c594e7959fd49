//! The syntax tree: what the user wrote, with a byte span on every node. Nothing is resolved
//! here: names are plain identifiers and addresses are as written.

use crate::diag::Span;
pub use crate::ir::{Action, FirewallKind, Platform, Proto, ZoneView};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// An address or a set of addresses as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrLit {
    Addr(IpAddr),
    Net(ipnet::IpNet),
    /// `10.10.0.11-30` or `10.10.0.11-10.10.0.30`.
    Range(IpAddr, IpAddr),
    /// `.1`: the last octet (IPv4) or the last group (IPv6, `::1` form) within the subnet.
    Suffix(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub lit: AddrLit,
    pub span: Span,
}

/// `tcp/5432`, `tcp/4040-4041`, `udp`, `icmp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub proto: Proto,
    pub ports: Option<(u16, u16)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceTerm {
    Named(Ident),
    Port(PortSpec),
    /// `any`: every protocol and port.
    Any(Span),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Named(Ident),
    Addr(Addr),
    /// `catalog@app-db`: a tier or host on one of its VLANs only.
    On {
        name: Ident,
        vlan: Ident,
    },
}

impl Endpoint {
    pub fn span(&self) -> Span {
        match self {
            Endpoint::Named(i) => i.span,
            Endpoint::Addr(a) => a.span,
            Endpoint::On { name, vlan } => name.span.to(vlan.span),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Include {
    pub path: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Vlan {
    pub id: u32,
    pub id_span: Span,
    pub name: Ident,
    pub mtu: Option<(u32, Span)>,
    pub vrf: Option<Ident>,
    pub subnets: Vec<SubnetDecl>,
    pub reserves: Vec<ReserveDecl>,
    pub pools: Vec<PoolDecl>,
    pub description: Option<String>,
    /// `names none`: hosts' addresses on this VLAN get no `HOST.VLAN.DOMAIN` name (and PTR).
    pub no_names: bool,
    /// `carries ssh, ping`: the only services rules should open on hosts here.
    pub carries: Option<(Vec<ServiceTerm>, Span)>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct SubnetDecl {
    pub net: Addr,
    pub gateway: Option<Addr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ReserveDecl {
    pub range: Addr,
    pub note: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct PoolDecl {
    pub range: Addr,
    pub tier: Ident,
    pub span: Span,
}

/// A VLAN a tier sits on, with the host interface name used there.
/// `route 10.20.0.0/16 via app-lb` or `route default via mgmt`: a tier's or host's route
/// through the gateway of one of its VLANs.
#[derive(Debug, Clone)]
pub struct RouteDecl {
    /// `None`: `default`.
    pub dest: Option<Addr>,
    pub via: Ident,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct TierVlan {
    pub vlan: Ident,
    pub dev: Option<Ident>,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub name: Ident,
    pub vlans: Vec<TierVlan>,
    /// `serve VLAN, ...`: where a rule naming the tier as a destination opens its services.
    pub serve: Vec<Ident>,
    pub routes: Vec<RouteDecl>,
    pub firewall: Option<(FirewallKind, Span)>,
    /// `egress filtered`: the tier's hosts send only what the plan allows from them.
    pub egress: Option<Span>,
    pub domain: Option<Ident>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct HostIface {
    pub vlan: Ident,
    pub addr: Addr,
    pub dev: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: Ident,
    pub tier: Ident,
    pub ifaces: Vec<HostIface>,
    pub routes: Vec<RouteDecl>,
    pub firewall: Option<(FirewallKind, Span)>,
    pub dns: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Check {
    Port(PortSpec),
    Script(String, Span),
}

#[derive(Debug, Clone)]
pub struct Vip {
    pub name: Ident,
    pub addr: Addr,
    pub members: Vec<Ident>,
    pub vrid: Option<(u32, Span)>,
    pub check: Option<Check>,
    pub nopreempt: bool,
    pub dns: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: Ident,
    pub ports: Vec<PortSpec>,
    /// Other services whose ports this one holds too (`service web http, https`).
    pub includes: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub name: Ident,
    pub addrs: Vec<Addr>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RouterIface {
    pub vlan: Ident,
    pub addr: Option<Addr>,
    pub dev: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Router {
    pub name: Ident,
    pub ifaces: Vec<RouterIface>,
    /// `upstream [dev IF] [address A/LEN, ...]`: where traffic from outside the plan enters.
    pub upstream: Option<Upstream>,
    /// `nat ...` lines: translations at the upstream interface.
    pub nats: Vec<NatDecl>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub dev: Option<Ident>,
    /// The router's own addresses on the upstream link, with the prefix it holds there.
    pub addrs: Vec<Addr>,
    pub span: Span,
}

impl NatDecl {
    pub fn span(&self) -> Span {
        match self {
            NatDecl::Source { span, .. }
            | NatDecl::Forward { span, .. }
            | NatDecl::Static { span, .. } => *span,
        }
    }
}

/// A translation at a router's upstream interface.
#[derive(Debug, Clone)]
pub enum NatDecl {
    /// `nat source ENDPOINTS to ADDRESS` or `nat source ENDPOINTS masquerade`.
    Source {
        sources: Vec<Endpoint>,
        to: Option<Addr>,
        span: Span,
    },
    /// `nat forward ADDRESS PROTO/PORT to TARGET [port N]`.
    Forward {
        public: Addr,
        port: PortSpec,
        to: Endpoint,
        to_port: Option<(u32, Span)>,
        span: Span,
    },
    /// `nat static ADDRESS to TARGET`: one-to-one, both ways.
    Static {
        public: Addr,
        to: Endpoint,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct RecordDecl {
    pub name: Ident,
    pub rtype: Ident,
    pub data: Vec<RecordData>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum RecordData {
    Word(Ident),
    Str(String, Span),
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub name: Ident,
    pub ttl: Option<(u32, Span)>,
    pub admin: Option<Ident>,
    pub nameservers: Vec<(Ident, Option<Addr>)>,
    pub records: Vec<RecordDecl>,
    /// `local-ok`: the plan acknowledges a `.local` zone.
    pub local_ok: bool,
    /// `serial date`: serials YYYYMMDDnn instead of 1, 2, 3...
    pub serial_date: bool,
    /// `view internal|external|both`: who is answered from the zone (default internal).
    pub view: ZoneView,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub action: Action,
    pub sources: Vec<Endpoint>,
    pub destinations: Vec<Endpoint>,
    pub services: Vec<ServiceTerm>,
    pub log: bool,
    pub comment: Option<String>,
    /// `name NAME`: the rule's identity in generated files (else derived from its text).
    pub name: Option<Ident>,
    pub span: Span,
}

/// `management bastion -> mgmt : ssh [except h1, h2]`
#[derive(Debug, Clone)]
pub struct Management {
    pub sources: Vec<Endpoint>,
    pub vlan: Ident,
    pub services: Vec<ServiceTerm>,
    pub except: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    Access,
    Trunk,
    /// An LACP port-channel with its member ports.
    Bond,
}

/// `access PORT vlan V`, `trunk PORT vlans V, V`, `bond PORT members P, P (vlans ... | host H dev D)`
#[derive(Debug, Clone)]
pub struct SwitchPort {
    pub kind: PortKind,
    pub name: (String, Span),
    pub members: Vec<(String, Span)>,
    pub vlans: Vec<Ident>,
    pub host: Option<(Ident, Ident)>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Switch {
    pub name: Ident,
    pub platform: (Platform, Span),
    /// `routes ROUTER`: this switch is that router (its SVIs carry the router's addresses).
    pub routes: Option<Ident>,
    /// `model NAME`: one of the models netc knows for the platform (`platform.rs`).
    pub model: Option<Ident>,
    pub ports: Vec<SwitchPort>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Include(Include),
    Vlan(Vlan),
    Tier(Tier),
    Host(Host),
    Vip(Vip),
    Service(Service),
    Network(Network),
    Router(Router),
    Zone(Zone),
    Flow(Flow),
    Management(Management),
    Switch(Switch),
}

/// One parsed file.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub stmts: Vec<Stmt>,
    /// Names that statements with syntax errors were declaring (`router core { ... broken`):
    /// their uses elsewhere are not reported as undefined (one error per mistake).
    pub broken_names: Vec<String>,
}
