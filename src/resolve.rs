//! Middle end: syntax trees to the resolved model. Names become indices, addresses are placed
//! in their subnets, defaults are filled in. What cannot be resolved is reported and left out,
//! so the model handed on is always consistent.

use crate::diag::{Diagnostic, Sources, Span};
use crate::ir::{self, *};
use crate::names::did_you_mean;
use crate::space;
use crate::syntax::ast::{self, AddrLit, Stmt};
use crate::syntax::Loaded;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vlan,
    Tier,
    Host,
    Vip,
    Service,
    Network,
    Router,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Vlan => "vlan",
            Kind::Tier => "tier",
            Kind::Host => "host",
            Kind::Vip => "vip",
            Kind::Service => "service",
            Kind::Network => "network",
            Kind::Router => "router",
        }
    }
}

const RESERVED: &[&str] = &["internet", "any"];

/// File names some systems reserve for devices; names become file names.
const DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Resolve every loaded file into one plan.
pub fn resolve(name: String, loaded: Loaded) -> (Plan, Vec<Diagnostic>) {
    let Loaded {
        sources,
        files,
        diags,
    } = loaded;
    let stmts: Vec<&Stmt> = files.iter().flat_map(|(_, f)| f.stmts.iter()).collect();
    let mut r = Resolver {
        sources: &sources,
        diags,
        symbols: HashMap::new(),
        counts: [0; 7],
        built: Default::default(),
        cabled: HashMap::new(),
        duplicated: Default::default(),
        rule_names: HashMap::new(),
        broken: files
            .iter()
            .flat_map(|(_, f)| f.broken_names.iter().cloned())
            .collect(),
        plan: Plan {
            label: name.clone(),
            name,
            vlans: Vec::new(),
            subnets: Vec::new(),
            tiers: Vec::new(),
            hosts: Vec::new(),
            vips: Vec::new(),
            services: Vec::new(),
            networks: Vec::new(),
            routers: Vec::new(),
            zones: Vec::new(),
            flows: Vec::new(),
            management: Vec::new(),
            switches: Vec::new(),
            sources: Sources::default(),
            tier_sets: Vec::new(),
            subnet_index: Vec::new(),
            domains: Default::default(),
        },
    };
    r.declare(&stmts);
    r.build(&stmts);
    let Resolver {
        mut plan, diags, ..
    } = r;
    plan.sources = sources;
    plan.freeze();
    (plan, diags)
}

struct Resolver<'a> {
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
    /// name -> (kind, index within its kind, declaring span)
    symbols: HashMap<String, (Kind, usize, Span)>,
    counts: [usize; 7],
    /// declaration ordinal -> index in the model, per kind (None: dropped for its errors)
    built: [Vec<Option<usize>>; 7],
    plan: Plan,
    /// (host, interface) -> (switch and port it is cabled to, where), across switches.
    cabled: HashMap<(usize, String), (String, Span)>,
    /// Names that statements with syntax errors declared: their uses stay quiet.
    broken: std::collections::HashSet<String>,
    /// Names declared twice (E010): a use of one that finds the other kind is that same
    /// mistake, not another.
    duplicated: std::collections::HashSet<String>,
    /// Rule names given so far (`name NAME` on a flow), with where.
    rule_names: HashMap<String, Span>,
}

impl<'a> Resolver<'a> {
    fn origin(&self, span: Span) -> Origin {
        Origin::new(span, self.sources)
    }

    fn declare(&mut self, stmts: &[&Stmt]) {
        let mut zones: HashMap<String, Span> = HashMap::new();
        let mut folded_names: HashMap<String, (String, Span)> = HashMap::new();
        for stmt in stmts {
            let (kind, ident) = match stmt {
                Stmt::Vlan(v) => (Kind::Vlan, &v.name),
                Stmt::Tier(t) => (Kind::Tier, &t.name),
                Stmt::Host(h) => (Kind::Host, &h.name),
                Stmt::Vip(v) => (Kind::Vip, &v.name),
                Stmt::Service(s) => (Kind::Service, &s.name),
                Stmt::Network(n) => (Kind::Network, &n.name),
                Stmt::Router(r) => (Kind::Router, &r.name),
                Stmt::Zone(z) => {
                    let key = z.name.name.trim_end_matches('.').to_ascii_lowercase();
                    if let Some(first) = zones.get(&key) {
                        self.diags.push(
                            Diagnostic::new(
                                &crate::codes::E010,
                                format!("zone `{key}` is declared twice"),
                            )
                            .with_primary(z.name.span, "declared again here")
                            .with_secondary(*first, "first declared here")
                            .with_help("merge the two zone blocks"),
                        );
                    } else {
                        zones.insert(key, z.name.span);
                    }
                    continue;
                }
                _ => continue,
            };
            if RESERVED.contains(&ident.name.as_str()) {
                self.diags.push(
                    Diagnostic::new(&crate::codes::E010, format!("`{}` is a built-in name", ident.name))
                        .with_primary(ident.span, "reserved")
                        .with_help("`internet` stands for every address and `any` for every service; pick another name"),
                );
                continue;
            }
            if let Some(&(other, _, first)) = self.symbols.get(&ident.name) {
                self.diags.push(
                    Diagnostic::new(&crate::codes::E010, format!("`{}` is declared twice", ident.name))
                        .with_primary(ident.span, format!("this {} is named `{}`", kind.name(), ident.name))
                        .with_secondary(first, format!("a {} of that name is declared here", other.name()))
                        .with_help(format!(
                            "names of VLANs, tiers, hosts, VIPs, services, networks and routers share one namespace \
                             (a rule's endpoint may name any of them); rename one, e.g. `{}-{}`",
                            ident.name,
                            if kind == Kind::Vlan || other == Kind::Vlan { "net" } else { "2" }
                        )),
                );
                self.duplicated.insert(ident.name.clone());
                // The duplicate is still built (so its own errors show) but under no name.
                self.counts[kind as usize] += 1;
                continue;
            }
            // Names become file names (nftables/hosts/<host>.nft): two names that differ only
            // by case would collide on a case-insensitive file system, and read alike.
            let folded = ident.name.to_ascii_lowercase();
            if let Some((other_name, other_span)) = folded_names.get(&folded) {
                self.diags.push(
                    Diagnostic::new(&crate::codes::E010, format!("`{}` and `{other_name}` differ only by case", ident.name))
                        .with_primary(ident.span, "this name")
                        .with_secondary(*other_span, "the other name")
                        .with_help("names are case-sensitive, but generated file names must not collide; rename one"),
                );
            }
            folded_names.insert(folded.clone(), (ident.name.clone(), ident.span));
            if DEVICE_NAMES.contains(&folded.as_str()) {
                self.invalid(
                    ident.span,
                    format!("`{}` is a reserved device name", ident.name),
                    "reserved on some systems",
                    "names become file names; pick another name",
                );
            }
            let idx = self.counts[kind as usize];
            self.counts[kind as usize] += 1;
            self.symbols
                .insert(ident.name.clone(), (kind, idx, ident.span));
        }
    }

    /// Look a name up, expecting one of `kinds`.
    fn lookup(&mut self, ident: &ast::Ident, kinds: &[Kind], what: &str) -> Option<(Kind, usize)> {
        match self.symbols.get(&ident.name) {
            Some(&(kind, ordinal, _)) if kinds.contains(&kind) => {
                // Objects dropped for their own errors resolve to nothing, silently.
                self.built[kind as usize]
                    .get(ordinal)
                    .copied()
                    .flatten()
                    .map(|idx| (kind, idx))
            }
            // The name is declared twice, as this kind too: E010 said so.
            Some(_) if self.duplicated.contains(&ident.name) => None,
            Some(&(kind, _, decl)) => {
                let expected: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E012,
                        format!("`{}` is a {}, not {what}", ident.name, kind.name()),
                    )
                    .with_primary(ident.span, format!("expected {}", expected.join(" or ")))
                    .with_secondary(decl, format!("`{}` is declared here", ident.name))
                    .with_help(format!("use the name of a {}", expected.join(" or "))),
                );
                None
            }
            // Declared by a statement that already has a syntax error: that is the mistake.
            None if self.broken.contains(&ident.name) => None,
            None => {
                let candidates: Vec<&str> = self
                    .symbols
                    .iter()
                    .filter(|(_, (k, _, _))| kinds.contains(k))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let mut sorted = candidates;
                sorted.sort();
                let help = match did_you_mean(&ident.name, sorted.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "declare it, or check the spelling against the plan's {}s",
                        kinds[0].name()
                    ),
                };
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E011,
                        format!("`{}` is not defined", ident.name),
                    )
                    .with_primary(ident.span, {
                        let bare = what
                            .strip_prefix("an ")
                            .or_else(|| what.strip_prefix("a "))
                            .unwrap_or(what);
                        format!("no {bare} of this name")
                    })
                    .with_help(help),
                );
                None
            }
        }
    }

    /// A VIP's health check: `tcp/PORT` (a connection), `icmp` (a ping), or a command of plain
    /// words run without a shell (keepalived runs it as root: no shell syntax, no relative
    /// program, nothing cut short).
    fn health_check(&mut self, c: &ast::Check) -> Option<HealthCheck> {
        const HELP: &str = "a check is `tcp/PORT`, `icmp`, or a command: an absolute program path and plain arguments (letters, digits and _ . / : = , + @ % -), run by keepalived without a shell";
        match c {
            ast::Check::Port(p) => match (p.proto, p.ports) {
                (Proto::Tcp, Some((lo, hi))) if lo == hi => Some(HealthCheck::Port {
                    proto: Proto::Tcp,
                    port: Some(lo),
                }),
                (Proto::Icmp, _) => Some(HealthCheck::Port {
                    proto: Proto::Icmp,
                    port: None,
                }),
                (Proto::Tcp, None) => {
                    self.invalid(
                        p.span,
                        "a TCP check needs a port".into(),
                        "which port?",
                        HELP,
                    );
                    None
                }
                (Proto::Tcp, Some(_)) => {
                    self.invalid(
                        p.span,
                        "a TCP check connects to one port, not a range".into(),
                        "a range",
                        HELP,
                    );
                    None
                }
                _ => {
                    self.invalid(
                        p.span,
                        "a UDP service cannot be checked by connecting to it".into(),
                        "keepalived cannot tell whether this answers",
                        "write a check command that asks the service (for DNS: `check \"/usr/bin/dig +time=1 @127.0.0.1 example.com\"`)",
                    );
                    None
                }
            },
            ast::Check::Script(text, span) => {
                let plain = |w: &str| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_./:=,+@%-".contains(&b))
                };
                let words: Vec<&str> = text.split(' ').collect();
                let problem = if text.len() > 200 {
                    Some("a check command longer than 200 bytes")
                } else if !words.iter().all(|w| plain(w)) {
                    Some("a check command with characters a shell or keepalived would interpret")
                } else if !words[0].starts_with('/') || words[0].split('/').any(|p| p == "..") {
                    Some("a check command must start with the program's absolute path")
                } else {
                    None
                };
                match problem {
                    Some(message) => {
                        self.invalid(*span, message.into(), "not a plain command", HELP);
                        None
                    }
                    None => Some(HealthCheck::Script {
                        command: text.clone(),
                    }),
                }
            }
        }
    }

    fn invalid(&mut self, span: Span, message: String, label: &str, help: &str) {
        self.diags.push(
            Diagnostic::new(&crate::codes::E013, message)
                .with_primary(span, label)
                .with_help(help),
        );
    }

    fn build(&mut self, stmts: &[&Stmt]) {
        // Objects are built kind by kind so that every index matches the declaration order the
        // symbol table assigned.
        for s in stmts {
            if let Stmt::Vlan(v) = s {
                self.vlan(v);
            }
        }
        for s in stmts {
            if let Stmt::Tier(t) = s {
                self.tier(t);
            }
        }
        for s in stmts {
            if let Stmt::Vlan(v) = s {
                self.pools(v);
            }
        }
        for s in stmts {
            if let Stmt::Host(h) = s {
                self.host(h);
            }
        }
        for s in stmts {
            if let Stmt::Vip(v) = s {
                self.vip(v);
            }
        }
        self.assign_vrids();
        for s in stmts {
            if let Stmt::Service(v) = s {
                self.service(v);
            }
        }
        for s in stmts {
            if let Stmt::Network(n) = s {
                self.network(n);
            }
        }
        for s in stmts {
            if let Stmt::Router(r) = s {
                self.router(r);
            }
        }
        for s in stmts {
            match s {
                Stmt::Zone(z) => self.zone(z),
                Stmt::Flow(f) => self.flow(f),
                Stmt::Management(m) => self.management(m),
                Stmt::Switch(sw) => self.switch(sw),
                _ => {}
            }
        }
    }

    fn vlan(&mut self, v: &ast::Vlan) {
        let idx = self.plan.vlans.len();
        if !(1..=4094).contains(&v.id) {
            self.diags.push(
                Diagnostic::new(
                    &crate::codes::E020,
                    format!("VLAN id {} is outside 1-4094", v.id),
                )
                .with_primary(v.id_span, "not a VLAN id")
                .with_help("802.1Q VLAN ids are 1-4094"),
            );
        } else if v.id == 1 || (1002..=1005).contains(&v.id) {
            self.diags.push(
                Diagnostic::new(&crate::codes::E020, format!("VLAN id {} is reserved", v.id))
                    .with_primary(v.id_span, "reserved on switches")
                    .with_help("VLAN 1 is the default VLAN and 1002-1005 are reserved on Cisco IOS; pick another id"),
            );
        }
        if let Some((mtu, span)) = v.mtu {
            if !(576..=9216).contains(&mtu) {
                self.invalid(
                    span,
                    format!("MTU {mtu} is outside 576-9216"),
                    "not a usable MTU",
                    "use 1500, or 9000 for jumbo frames",
                );
            }
        }
        let mut subnets = Vec::new();
        for s in &v.subnets {
            let net = match s.net.lit {
                AddrLit::Net(net) => net,
                _ => {
                    self.invalid(
                        s.net.span,
                        "a subnet needs a prefix length".into(),
                        "expected CIDR",
                        "write it as 10.20.10.0/24",
                    );
                    continue;
                }
            };
            if net.trunc() != net {
                self.invalid(
                    s.net.span,
                    format!("subnet {net} has host bits set"),
                    "not a network address",
                    &format!("did you mean {}?", net.trunc()),
                );
                continue;
            }
            let gateway = s
                .gateway
                .as_ref()
                .and_then(|g| self.addr_in(g, &[net], "gateway"));
            subnets.push(self.plan.subnets.len());
            self.plan.subnets.push(Subnet {
                vlan: idx,
                net,
                gateway,
                origin: self.origin(s.span),
            });
        }
        let nets: Vec<ipnet::IpNet> = subnets.iter().map(|&s| self.plan.subnets[s].net).collect();
        let mut reserved = Vec::new();
        for r in &v.reserves {
            if let Some((first, last)) = self.range_in(&r.range, &nets) {
                reserved.push(Reserved {
                    first,
                    last,
                    note: r.note.clone(),
                    origin: self.origin(r.span),
                });
            }
        }
        self.built[Kind::Vlan as usize].push(Some(idx));
        self.plan.vlans.push(Vlan {
            name: v.name.name.clone(),
            id: v.id.min(u16::MAX as u32) as u16,
            mtu: v.mtu.map(|m| m.0),
            vrf: v
                .vrf
                .as_ref()
                .map_or_else(|| "default".to_string(), |i| i.name.clone()),
            description: v.description.clone(),
            no_names: v.no_names,
            subnets,
            pools: Vec::new(),
            reserved,
            origin: self.origin(v.span),
        });
    }

    fn pools(&mut self, v: &ast::Vlan) {
        let Some(idx) = self.plan.vlans.iter().position(|x| x.origin.span == v.span) else {
            return;
        };
        let nets: Vec<ipnet::IpNet> = self.plan.vlans[idx]
            .subnets
            .iter()
            .map(|&s| self.plan.subnets[s].net)
            .collect();
        for p in &v.pools {
            let tier = self.lookup(&p.tier, &[Kind::Tier], "a tier");
            let range = self.range_in(&p.range, &nets);
            if let (Some((_, tier)), Some((first, last))) = (tier, range) {
                let origin = self.origin(p.span);
                self.plan.vlans[idx].pools.push(Pool {
                    tier,
                    first,
                    last,
                    origin,
                });
            }
        }
    }

    /// A single address inside one of `nets` (a `.N` shorthand is taken within the first
    /// subnet of the right family).
    fn addr_in(&mut self, a: &ast::Addr, nets: &[ipnet::IpNet], what: &str) -> Option<IpAddr> {
        let addr = match a.lit {
            AddrLit::Addr(addr) => addr,
            AddrLit::Suffix(n) => {
                let Some(net) = nets.first() else {
                    self.invalid(
                        a.span,
                        format!("`.{n}` needs a subnet to be relative to"),
                        "no subnet",
                        "write the full address",
                    );
                    return None;
                };
                let base = space::key(0, net.network());
                let k = space::Key::new(base.hi, base.lo.saturating_add(n as u128));
                if !space::net_set(0, net).contains(k) {
                    self.invalid(
                        a.span,
                        format!("`.{n}` is outside {net}"),
                        "too large for the subnet",
                        "write the full address",
                    );
                    return None;
                }
                space::key_addr(k)
            }
            _ => {
                self.invalid(
                    a.span,
                    format!("the {what} must be one address"),
                    "expected an address",
                    "write a single address, without prefix or range",
                );
                return None;
            }
        };
        if !nets.iter().any(|n| n.contains(&addr)) {
            let list: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
            self.diags.push(
                Diagnostic::new(
                    &crate::codes::E031,
                    format!("{what} {addr} is outside its subnet"),
                )
                .with_primary(
                    a.span,
                    if list.is_empty() {
                        "the VLAN has no subnet".to_string()
                    } else {
                        format!("not in {}", list.join(", "))
                    },
                )
                .with_help("check the address, or put it on the VLAN whose subnet contains it"),
            );
            return None;
        }
        Some(addr)
    }

    fn range_in(&mut self, a: &ast::Addr, nets: &[ipnet::IpNet]) -> Option<(IpAddr, IpAddr)> {
        let (first, last) = match a.lit {
            AddrLit::Addr(x) => (x, x),
            AddrLit::Range(x, y) => (x, y),
            AddrLit::Net(n) => (n.network(), n.broadcast()),
            AddrLit::Suffix(_) => {
                self.invalid(
                    a.span,
                    "a range needs full addresses".into(),
                    "expected a range",
                    "write 10.10.0.11-30",
                );
                return None;
            }
        };
        if !nets.iter().any(|n| n.contains(&first) && n.contains(&last)) {
            self.diags.push(
                Diagnostic::new(
                    &crate::codes::E031,
                    format!("range {first}-{last} is outside the VLAN's subnets"),
                )
                .with_primary(a.span, "not inside one subnet of this VLAN")
                .with_help("pools and reserved ranges must lie inside a subnet of their VLAN"),
            );
            return None;
        }
        Some((first, last))
    }

    fn tier(&mut self, t: &ast::Tier) {
        let mut vlans = Vec::new();
        for tv in &t.vlans {
            if let Some((_, vlan)) = self.lookup(&tv.vlan, &[Kind::Vlan], "a VLAN") {
                vlans.push(TierVlan {
                    vlan,
                    dev: tv.dev.as_ref().map(|d| d.name.clone()),
                });
            }
        }
        self.built[Kind::Tier as usize].push(Some(self.plan.tiers.len()));
        self.plan.tiers.push(Tier {
            name: t.name.name.clone(),
            vlans,
            firewall: t.firewall.map_or(FirewallKind::Nftables, |f| f.0),
            domain: t
                .domain
                .as_ref()
                .map(|d| d.name.trim_end_matches('.').to_ascii_lowercase()),
            description: t.description.clone(),
            hosts: Vec::new(),
            origin: self.origin(t.span),
        });
    }

    fn host(&mut self, h: &ast::Host) {
        let idx = self.plan.hosts.len();
        let tier = self.lookup(&h.tier, &[Kind::Tier], "a tier").map(|t| t.1);
        let mut interfaces: Vec<(usize, Interface)> = Vec::new();
        for (i, iface) in h.ifaces.iter().enumerate() {
            let Some((_, vlan)) = self.lookup(&iface.vlan, &[Kind::Vlan], "a VLAN") else {
                continue;
            };
            let nets: Vec<(usize, ipnet::IpNet)> = self.plan.vlans[vlan]
                .subnets
                .iter()
                .map(|&s| (s, self.plan.subnets[s].net))
                .collect();
            let only: Vec<ipnet::IpNet> = nets.iter().map(|n| n.1).collect();
            let what = format!("address of `{}` on `{}`", h.name.name, iface.vlan.name);
            let Some(addr) = self.addr_in(&iface.addr, &only, &what) else {
                continue;
            };
            let subnet = nets
                .iter()
                .find(|n| n.1.contains(&addr))
                .map(|n| n.0)
                .expect("addr_in checked");
            if let Some((_, prev)) = interfaces
                .iter()
                .find(|(_, p)| p.vlan == vlan && p.addr.is_ipv4() == addr.is_ipv4())
            {
                let prev_span = prev.origin.span;
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E013,
                        format!(
                            "host `{}` has two addresses on `{}`",
                            h.name.name, iface.vlan.name
                        ),
                    )
                    .with_primary(iface.span, "second interface")
                    .with_secondary(prev_span, "first interface")
                    .with_help(
                        "one address of each family per VLAN; use a VIP for a floating address",
                    ),
                );
                continue;
            }
            let tier_pos = tier.and_then(|t| {
                self.plan.tiers[t]
                    .vlans
                    .iter()
                    .position(|tv| tv.vlan == vlan)
            });
            let dev = iface
                .dev
                .as_ref()
                .map(|d| d.name.clone())
                .or_else(|| {
                    tier.and_then(|t| {
                        tier_pos.and_then(|p| self.plan.tiers[t].vlans[p].dev.clone())
                    })
                })
                .unwrap_or_else(|| format!("eth{}", tier_pos.unwrap_or(i)));
            let order = tier_pos.unwrap_or(1000 + i);
            interfaces.push((
                order,
                Interface {
                    vlan,
                    subnet,
                    addr,
                    dev,
                    origin: self.origin(iface.span),
                },
            ));
        }
        interfaces.sort_by_key(|(order, i)| (*order, i.addr.is_ipv6()));
        let interfaces: Vec<Interface> = interfaces.into_iter().map(|(_, i)| i).collect();
        if interfaces.is_empty() && h.ifaces.is_empty() {
            self.diags.push(
                Diagnostic::new(&crate::codes::E091, format!("host `{}` has no interface", h.name.name))
                    .with_primary(h.name.span, "no address on any VLAN")
                    .with_help("give the host an address on each VLAN of its tier: `{ mgmt 10.10.0.31 app 10.20.10.11 }`"),
            );
        }
        let mut dns_names: Vec<String> = h
            .dns
            .iter()
            .map(|d| d.name.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        if let Some(domain) = tier.and_then(|t| self.plan.tiers[t].domain.clone()) {
            let name = format!("{}.{domain}", h.name.name.to_ascii_lowercase());
            if !dns_names.contains(&name) {
                dns_names.insert(0, name);
            }
        }
        let firewall = h
            .firewall
            .map(|f| f.0)
            .or_else(|| tier.map(|t| self.plan.tiers[t].firewall))
            .unwrap_or(FirewallKind::Nftables);
        let Some(tier) = tier else {
            self.built[Kind::Host as usize].push(None);
            return;
        };
        self.plan.tiers[tier].hosts.push(idx);
        self.built[Kind::Host as usize].push(Some(idx));
        self.plan.hosts.push(Host {
            name: h.name.name.clone(),
            tier,
            interfaces,
            firewall,
            dns_names,
            origin: self.origin(h.span),
        });
    }

    fn vip(&mut self, v: &ast::Vip) {
        let all: Vec<(usize, ipnet::IpNet)> = self
            .plan
            .subnets
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.net))
            .collect();
        let nets: Vec<ipnet::IpNet> = all.iter().map(|n| n.1).collect();
        let addr = self.addr_in(&v.addr, &nets, &format!("address of vip `{}`", v.name.name));
        let mut members = Vec::new();
        for m in &v.members {
            if let Some((_, h)) = self.lookup(m, &[Kind::Host], "a host") {
                if members.contains(&h) {
                    self.diags.push(
                        Diagnostic::new(
                            &crate::codes::E042,
                            format!("`{}` is listed twice", m.name),
                        )
                        .with_primary(m.span, "repeated member")
                        .with_help("list each member once, in priority order"),
                    );
                    continue;
                }
                members.push(h);
            }
        }
        let check = v.check.as_ref().and_then(|c| self.health_check(c));
        // The VIP's subnet: among its members' VLANs first (the same prefix may exist in
        // several VRFs), else the most specific subnet holding the address.
        let member_vlans: Vec<usize> = members
            .iter()
            .flat_map(|&m| self.plan.hosts[m].interfaces.iter().map(|i| i.vlan))
            .collect();
        let all_vlans: Vec<usize> = (0..self.plan.vlans.len()).collect();
        let found = addr.and_then(|a| {
            self.plan
                .subnet_in_vlans(a, &member_vlans)
                .or_else(|| self.plan.subnet_in_vlans(a, &all_vlans))
        });
        let (vlan, subnet) = match found {
            Some(s) => (self.plan.subnets[s].vlan, s),
            None => (usize::MAX, usize::MAX),
        };
        if vlan != usize::MAX {
            for (m, ident) in members.iter().zip(&v.members) {
                if !self.plan.hosts[*m]
                    .interfaces
                    .iter()
                    .any(|i| i.vlan == vlan)
                {
                    let vname = self.plan.vlans[vlan].name.clone();
                    self.diags.push(
                        Diagnostic::new(
                            &crate::codes::E042,
                            format!("`{}` has no interface on `{vname}`", ident.name),
                        )
                        .with_primary(ident.span, format!("cannot hold an address of `{vname}`"))
                        .with_secondary(self.plan.hosts[*m].origin.span, "host declared here")
                        .with_help(format!(
                            "give `{}` an address on `{vname}`, or remove it from the VIP",
                            ident.name
                        )),
                    );
                }
            }
        }
        if let Some((n, span)) = v.vrid {
            if !(1..=255).contains(&n) {
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E040,
                        format!("VRRP router id {n} is outside 1-255"),
                    )
                    .with_primary(span, "not a VRRP id")
                    .with_help("VRRP ids are 1-255; leave `vrid` out to have one assigned"),
                );
            }
        }
        let explicit = v.vrid.filter(|(n, _)| (1..=255).contains(n));
        let Some(addr) = addr.filter(|_| vlan != usize::MAX) else {
            self.built[Kind::Vip as usize].push(None);
            return;
        };
        self.built[Kind::Vip as usize].push(Some(self.plan.vips.len()));
        self.plan.vips.push(Vip {
            name: v.name.name.clone(),
            addr,
            vlan,
            subnet,
            members,
            vrid: explicit.map_or(0, |(n, _)| n as u8),
            vrid_explicit: explicit.is_some(),
            check,
            preempt: !v.nopreempt,
            dns_names: v
                .dns
                .iter()
                .map(|d| d.name.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            origin: self.origin(v.span),
        });
    }

    /// VRRP ids for VIPs without one: the last byte of the address, moved up past ids already
    /// taken on the VLAN. Stable when VIPs are added: an id only moves on a collision.
    fn assign_vrids(&mut self) {
        let mut used: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        for v in self.plan.vips.iter().filter(|v| v.vrid_explicit) {
            used.entry(v.vlan).or_default().push(v.vrid);
        }
        let mut auto: Vec<usize> = (0..self.plan.vips.len())
            .filter(|&i| !self.plan.vips[i].vrid_explicit)
            .collect();
        auto.sort_by_key(|&i| {
            (
                space::key(0, self.plan.vips[i].addr),
                self.plan.vips[i].name.clone(),
            )
        });
        for i in auto {
            let vip = &self.plan.vips[i];
            let last = match vip.addr {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(a) => a.octets()[15],
            };
            let taken = used.entry(vip.vlan).or_default();
            let mut id = last.max(1);
            for _ in 0..255 {
                if !taken.contains(&id) {
                    break;
                }
                id = if id == 255 { 1 } else { id + 1 };
            }
            taken.push(id);
            self.plan.vips[i].vrid = id;
        }
    }

    fn service(&mut self, s: &ast::Service) {
        let ports = s.ports.iter().map(port_range).collect();
        self.built[Kind::Service as usize].push(Some(self.plan.services.len()));
        self.plan.services.push(Service {
            name: s.name.name.clone(),
            ports,
            origin: self.origin(s.span),
        });
    }

    fn network(&mut self, n: &ast::Network) {
        let mut ranges = Vec::new();
        for a in &n.addrs {
            match literal_range(&a.lit) {
                Some(r) => ranges.push(r),
                None => self.invalid(
                    a.span,
                    "a network needs full addresses".into(),
                    "relative address",
                    "write 198.51.100.0/24 or 10.30.0.1-10",
                ),
            }
        }
        self.built[Kind::Network as usize].push(Some(self.plan.networks.len()));
        self.plan.networks.push(Network {
            name: n.name.name.clone(),
            ranges,
            description: n.description.clone(),
            origin: self.origin(n.span),
        });
    }

    fn router(&mut self, r: &ast::Router) {
        let mut interfaces = Vec::new();
        for (i, iface) in r.ifaces.iter().enumerate() {
            let Some((_, vlan)) = self.lookup(&iface.vlan, &[Kind::Vlan], "a VLAN") else {
                continue;
            };
            let nets: Vec<ipnet::IpNet> = self.plan.vlans[vlan]
                .subnets
                .iter()
                .map(|&s| self.plan.subnets[s].net)
                .collect();
            let dev = iface
                .dev
                .as_ref()
                .map_or_else(|| format!("eth{i}"), |d| d.name.clone());
            match &iface.addr {
                Some(a) => {
                    if let Some(addr) =
                        self.addr_in(a, &nets, &format!("address of router `{}`", r.name.name))
                    {
                        interfaces.push(RouterInterface { vlan, addr, dev });
                    }
                }
                None => {
                    let gateways: Vec<IpAddr> = self.plan.vlans[vlan]
                        .subnets
                        .iter()
                        .filter_map(|&s| self.plan.subnets[s].gateway)
                        .collect();
                    if gateways.is_empty() {
                        self.diags.push(
                            Diagnostic::new(
                                &crate::codes::E091,
                                format!(
                                    "router `{}` has no address on `{}`",
                                    r.name.name, iface.vlan.name
                                ),
                            )
                            .with_primary(
                                iface.span,
                                "no address given and the VLAN declares no gateway",
                            )
                            .with_help(format!(
                                "write `{} ADDRESS`, or add `gateway .1` to the VLAN's subnet",
                                iface.vlan.name
                            )),
                        );
                    }
                    for addr in gateways {
                        interfaces.push(RouterInterface {
                            vlan,
                            addr,
                            dev: dev.clone(),
                        });
                    }
                }
            }
        }
        self.built[Kind::Router as usize].push(Some(self.plan.routers.len()));
        self.plan.routers.push(Router {
            name: r.name.name.clone(),
            interfaces,
            upstream: r.upstream.as_ref().map(|(dev, _)| {
                dev.as_ref()
                    .map_or_else(|| "upstream".to_string(), |d| d.name.clone())
            }),
            origin: self.origin(r.span),
        });
    }

    fn zone(&mut self, z: &ast::Zone) {
        let name = z.name.name.trim_end_matches('.').to_ascii_lowercase();
        let records = z
            .records
            .iter()
            .map(|r| Record {
                name: r.name.name.clone(),
                rtype: r.rtype.name.to_ascii_uppercase(),
                data: r
                    .data
                    .iter()
                    .map(|d| match d {
                        ast::RecordData::Word(w) => w.name.clone(),
                        ast::RecordData::Str(s, _) => s.clone(),
                    })
                    .collect(),
                origin: self.origin(r.span),
            })
            .collect();
        let nameservers = z
            .nameservers
            .iter()
            .filter_map(|(ns, addr)| {
                let addr = match addr.as_ref().map(|a| &a.lit) {
                    None => None,
                    Some(AddrLit::Addr(a)) => Some(*a),
                    Some(_) => {
                        let span = addr.as_ref().map_or(ns.span, |a| a.span);
                        self.invalid(
                            span,
                            "a name server address must be one address".into(),
                            "expected an address",
                            "write 10.10.0.5",
                        );
                        return None;
                    }
                };
                Some(NameServer {
                    name: ns.name.clone(),
                    addr,
                })
            })
            .collect();
        self.plan.zones.push(Zone {
            admin: z
                .admin
                .as_ref()
                .map_or_else(|| format!("hostmaster@{name}"), |a| a.name.clone()),
            name,
            ttl: z.ttl.map_or(3600, |t| t.0),
            nameservers,
            records,
            local_ok: z.local_ok,
            serial_date: z.serial_date,
            view: z.view,
            origin: self.origin(z.span),
        });
    }

    fn endpoint(&mut self, e: &ast::Endpoint) -> Option<Endpoint> {
        let target = match e {
            ast::Endpoint::Named(i) if i.name == "internet" => EndpointRef::Internet,
            ast::Endpoint::Named(i) if i.name == "any" => EndpointRef::Any,
            ast::Endpoint::Named(i) => {
                let kinds = [
                    Kind::Tier,
                    Kind::Host,
                    Kind::Vip,
                    Kind::Network,
                    Kind::Vlan,
                    Kind::Router,
                ];
                match self.lookup(i, &kinds, "a tier, host, VIP, network, VLAN or router")? {
                    (Kind::Tier, x) => EndpointRef::Tier(x),
                    (Kind::Host, x) => EndpointRef::Host(x),
                    (Kind::Vip, x) => EndpointRef::Vip(x),
                    (Kind::Network, x) => EndpointRef::Network(x),
                    (Kind::Vlan, x) => EndpointRef::Vlan(x),
                    (_, x) => EndpointRef::Router(x),
                }
            }
            ast::Endpoint::Addr(a) => match literal_range(&a.lit) {
                Some((first, last)) => EndpointRef::Addresses {
                    first,
                    last,
                    domain: None,
                },
                None => {
                    self.invalid(
                        a.span,
                        "a flow address must be complete".into(),
                        "relative address",
                        "write the full address or CIDR",
                    );
                    return None;
                }
            },
        };
        Some(Endpoint {
            target,
            text: self.sources.text(e.span()).to_string(),
            span: e.span(),
        })
    }

    fn service_ref(&mut self, s: &ast::ServiceTerm) -> Option<ServiceRef> {
        match s {
            ast::ServiceTerm::Any(_) => Some(ServiceRef::Any),
            ast::ServiceTerm::Port(p) => Some(ServiceRef::Ports {
                range: port_range(p),
            }),
            ast::ServiceTerm::Named(i) => self
                .lookup(i, &[Kind::Service], "a service")
                .map(|(_, x)| ServiceRef::Named { service: x }),
        }
    }

    fn flow(&mut self, f: &ast::Flow) {
        let sources: Vec<Endpoint> = f.sources.iter().filter_map(|e| self.endpoint(e)).collect();
        let destinations: Vec<Endpoint> = f
            .destinations
            .iter()
            .filter_map(|e| self.endpoint(e))
            .collect();
        let services: Vec<ServiceRef> = f
            .services
            .iter()
            .filter_map(|s| self.service_ref(s))
            .collect();
        if sources.len() != f.sources.len()
            || destinations.len() != f.destinations.len()
            || services.len() != f.services.len()
        {
            // Already reported; a partial rule would mean something the author did not write.
            return;
        }
        if let Some(n) = &f.name {
            let derived = n.name.len() == 9
                && n.name.starts_with('r')
                && n.name[1..]
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if derived {
                self.diags.push(
                    Diagnostic::new(&crate::codes::E010, format!("`{}` has the form of a derived rule identity", n.name))
                        .with_primary(n.span, "r and 8 hex digits")
                        .with_help("netc names unnamed rules r<8 hex digits> from their text; pick a name of another form"),
                );
                return;
            }
            if let Some(first) = self.rule_names.get(&n.name) {
                self.diags.push(
                    Diagnostic::new(&crate::codes::E010, format!("the rule name `{}` is given twice", n.name))
                        .with_primary(n.span, "given again here")
                        .with_secondary(*first, "first given here")
                        .with_help("a rule's name is its identity in the generated files: give each rule its own"),
                );
                return;
            }
            self.rule_names.insert(n.name.clone(), n.span);
        }
        self.plan.flows.push(Flow {
            action: f.action,
            sources,
            destinations,
            services,
            log: f.log,
            comment: f.comment.clone(),
            name: f.name.as_ref().map(|n| n.name.clone()),
            text: self.sources.text(f.span).to_string(),
            origin: self.origin(f.span),
        });
    }

    fn management(&mut self, m: &ast::Management) {
        let sources: Vec<Endpoint> = m.sources.iter().filter_map(|e| self.endpoint(e)).collect();
        let services: Vec<ServiceRef> = m
            .services
            .iter()
            .filter_map(|s| self.service_ref(s))
            .collect();
        let vlan = self.lookup(&m.vlan, &[Kind::Vlan], "a VLAN");
        let except: Vec<usize> = m
            .except
            .iter()
            .filter_map(|h| self.lookup(h, &[Kind::Host], "a host").map(|x| x.1))
            .collect();
        let Some((_, vlan)) = vlan else { return };
        if sources.len() != m.sources.len() || services.len() != m.services.len() {
            return;
        }
        self.plan.management.push(ir::Management {
            sources,
            vlan,
            services,
            except,
            origin: self.origin(m.span),
        });
    }
}

impl Resolver<'_> {
    fn switch(&mut self, sw: &ast::Switch) {
        // Switch names become file names (switches/NAME.ios), as host names do.
        if DEVICE_NAMES.contains(&sw.name.name.to_ascii_lowercase().as_str()) {
            self.invalid(
                sw.name.span,
                format!("`{}` is a reserved device name", sw.name.name),
                "reserved on some systems",
                "names become file names; pick another name",
            );
            return;
        }
        let routes = sw
            .routes
            .as_ref()
            .and_then(|r| self.lookup(r, &[Kind::Router], "a router").map(|x| x.1));
        let mut ports: Vec<SwitchPort> = Vec::new();
        for p in &sw.ports {
            let mut vlans = Vec::new();
            let mut description = p.name.0.clone();
            let mut cabled_host = None;
            for v in &p.vlans {
                if let Some((_, i)) = self.lookup(v, &[Kind::Vlan], "a VLAN") {
                    vlans.push(i);
                }
            }
            if let Some((h, dev)) = &p.host {
                if let Some((_, host)) = self.lookup(h, &[Kind::Host], "a host") {
                    vlans = self.plan.hosts[host]
                        .interfaces
                        .iter()
                        .filter(|i| i.dev == dev.name)
                        .map(|i| i.vlan)
                        .collect();
                    vlans.dedup();
                    if vlans.is_empty() {
                        self.diags.push(
                            Diagnostic::new(&crate::codes::E064, format!("host `{}` has no interface `{}`", h.name, dev.name))
                                .with_primary(dev.span, "no such interface on this host")
                                .with_secondary(self.plan.hosts[host].origin.span, "the host")
                                .with_help("name the interface the host uses on this port (see its tier's `on ... dev`)"),
                        );
                        continue;
                    }
                    description = format!("{} {}", h.name, dev.name);
                    cabled_host = Some(host);
                    // One NIC, one cable: the same host interface on two ports (of this switch
                    // or another) is a plan that cannot be wired.
                    let key = (host, dev.name.clone());
                    let here = format!("{} {}", sw.name.name, p.name.0);
                    match self.cabled.get(&key) {
                        Some((there, span)) => {
                            let span = *span;
                            self.diags.push(
                                Diagnostic::new(
                                    &crate::codes::E064,
                                    format!(
                                        "`{} {}` is cabled twice: to {there} and to {here}",
                                        h.name, dev.name
                                    ),
                                )
                                .with_primary(p.name.1, "cabled again")
                                .with_secondary(span, "first cabled here")
                                .with_help("a NIC has one cable: remove one of the ports, or bond two NICs (`bond ... members`) on one switch"),
                            );
                        }
                        None => {
                            self.cabled.insert(key, (here, p.name.1));
                        }
                    }
                }
            }
            if vlans.is_empty() {
                continue;
            }
            // Every physical port once: as a port of its own or as a member of one bond
            // (trunk-then-bond, bond-then-trunk, two bonds sharing a member).
            let mine: Vec<&str> = std::iter::once(p.name.0.as_str())
                .chain(p.members.iter().map(|m| m.0.as_str()))
                .collect();
            if let Some((prev, shared)) = ports.iter().find_map(|q| {
                std::iter::once(q.name.as_str())
                    .chain(q.members.iter().map(String::as_str))
                    .find(|n| mine.iter().any(|m| m.eq_ignore_ascii_case(n)))
                    .map(|n| (q, n.to_string()))
            }) {
                let prev_span = prev.origin.span;
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E064,
                        format!(
                            "port `{shared}` is used twice on switch `{}`",
                            sw.name.name
                        ),
                    )
                    .with_primary(p.name.1, "used again here")
                    .with_secondary(prev_span, "first used here")
                    .with_help("each physical port is one port, or a member of one bond: Junos refuses a member that is also a trunk, and EOS configures it twice"),
                );
                continue;
            }
            vlans.sort_by_key(|&v| self.plan.vlans[v].id);
            ports.push(SwitchPort {
                name: p.name.0.clone(),
                members: p.members.iter().map(|m| m.0.clone()).collect(),
                trunk: p.kind == ast::PortKind::Trunk || vlans.len() > 1,
                vlans,
                host: cabled_host,
                description,
                origin: self.origin(p.span),
            });
        }
        self.plan.switches.push(Switch {
            name: sw.name.name.clone(),
            platform: sw.platform.0,
            routes,
            ports,
            origin: self.origin(sw.span),
        });
    }
}

fn port_range(p: &ast::PortSpec) -> PortRange {
    let (first, last) = match (p.proto, p.ports) {
        (ast::Proto::Icmp, _) => (0, 0),
        (_, Some(r)) => r,
        (_, None) => (0, 65535),
    };
    PortRange {
        proto: p.proto,
        first,
        last,
    }
}

fn literal_range(lit: &AddrLit) -> Option<(IpAddr, IpAddr)> {
    match *lit {
        AddrLit::Addr(a) => Some((a, a)),
        AddrLit::Net(n) => Some((n.network(), n.broadcast())),
        AddrLit::Range(a, b) => Some((a, b)),
        AddrLit::Suffix(_) => None,
    }
}
