//! Addresses: VLANs and their subnets, pools and reserved ranges, tiers, hosts and their
//! interfaces, VIPs and their VRRP ids and health checks. Every address is placed in a subnet
//! of its VLAN or reported.

use super::*;

impl Resolver<'_> {
    /// A VIP's health check: `tcp/PORT` (a connection), `icmp` (a ping), or a command of plain
    /// words run without a shell (keepalived runs it as root: no shell syntax, no relative
    /// program, nothing cut short).
    pub(super) fn health_check(&mut self, c: &ast::Check) -> Option<HealthCheck> {
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
                if problem.is_none() {
                    if let Some((message, label, help)) = super::check_program::refusal(&words) {
                        self.invalid(*span, message, label, &help);
                        return None;
                    }
                }
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

    pub(super) fn vlan(&mut self, v: &ast::Vlan) -> usize {
        let idx = self.plan.vlans.len();
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
                    self.plan.incomplete.names.insert(v.name.name.clone());
                    continue;
                }
            };
            // Reported once; the subnet stands as the network it evidently means, so its
            // addresses are not reported again as outside it.
            let net = if net.trunc() != net {
                self.invalid(
                    s.net.span,
                    format!("subnet {net} has host bits set"),
                    "not a network address",
                    &format!("did you mean {}?", net.trunc()),
                );
                net.trunc()
            } else {
                net
            };
            let gateway = s
                .gateway
                .as_ref()
                .and_then(|g| self.addr_in(g, &[net], "gateway"));
            subnets.push(self.plan.subnets.len());
            self.plan.subnets.push(Subnet {
                vlan: idx,
                net,
                gateway,
                gateway_written: s.gateway.is_some(),
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
        self.bind(&v.name, idx);
        self.plan.vlans.push(Vlan {
            name: v.name.name.clone(),
            id: v.id,
            id_span: v.id_span,
            mtu: v.mtu.map(|m| m.0),
            mtu_span: v.mtu.map(|m| m.1),
            vrf: v
                .vrf
                .as_ref()
                .map_or_else(|| "default".to_string(), |i| i.name.clone()),
            description: v.description.clone(),
            no_names: v.no_names,
            subnets,
            pools: Vec::new(),
            reserved,
            carries: None,
            origin: self.origin(v.span),
        });
        idx
    }

    pub(super) fn pools(&mut self, v: &ast::Vlan, idx: usize) {
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
    pub(super) fn addr_in(
        &mut self,
        a: &ast::Addr,
        nets: &[ipnet::IpNet],
        what: &str,
    ) -> Option<IpAddr> {
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

    pub(super) fn range_in(
        &mut self,
        a: &ast::Addr,
        nets: &[ipnet::IpNet],
    ) -> Option<(IpAddr, IpAddr)> {
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

    pub(super) fn tier(&mut self, t: &ast::Tier) {
        let mut vlans = Vec::new();
        for tv in &t.vlans {
            if let Some((_, vlan)) = self.lookup(&tv.vlan, &[Kind::Vlan], "a VLAN") {
                vlans.push(TierVlan {
                    vlan,
                    dev: tv.dev.as_ref().map(|d| d.name.clone()),
                });
            }
        }
        let own: Vec<usize> = vlans.iter().map(|v| v.vlan).collect();
        let what = format!("tier `{}`", t.name.name);
        let mut serve = Vec::new();
        for v in &t.serve {
            if let Some(vlan) = self.own_vlan(v, &own, &what, "serve") {
                if !serve.contains(&vlan) {
                    serve.push(vlan);
                }
            }
        }
        serve.sort_unstable();
        let routes = t
            .routes
            .iter()
            .flat_map(|r| self.route(r, &own, &what))
            .collect();
        self.bind(&t.name, self.plan.tiers.len());
        self.plan.tiers.push(Tier {
            name: t.name.name.clone(),
            vlans,
            serve,
            routes,
            firewall: t.firewall.map_or(FirewallKind::Nftables, |f| f.0),
            egress: t.egress.is_some(),
            domain: t
                .domain
                .as_ref()
                .map(|d| d.name.trim_end_matches('.').to_ascii_lowercase()),
            description: t.description.clone(),
            hosts: Vec::new(),
            origin: self.origin(t.span),
        });
    }

    pub(super) fn host(&mut self, h: &ast::Host) {
        let idx = self.plan.hosts.len();
        let tier = self.lookup(&h.tier, &[Kind::Tier], "a tier").map(|t| t.1);
        if tier.is_none() {
            self.plan.incomplete.orphan_hosts = true;
        }
        // The host and its tier lose an interface to an error of its own.
        let lose = |r: &mut Self| {
            r.plan.incomplete.names.insert(h.name.name.clone());
            if let Some(t) = tier {
                let name = r.plan.tiers[t].name.clone();
                r.plan.incomplete.names.insert(name);
            }
        };
        let mut interfaces: Vec<(usize, Interface)> = Vec::new();
        for (i, iface) in h.ifaces.iter().enumerate() {
            let Some((_, vlan)) = self.lookup(&iface.vlan, &[Kind::Vlan], "a VLAN") else {
                lose(self);
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
                lose(self);
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
            return;
        };
        let own: Vec<usize> = interfaces.iter().map(|i| i.vlan).collect();
        let routes = h
            .routes
            .iter()
            .flat_map(|r| self.route(r, &own, &format!("host `{}`", h.name.name)))
            .collect();
        self.plan.tiers[tier].hosts.push(idx);
        self.bind(&h.name, idx);
        self.plan.hosts.push(Host {
            name: h.name.name.clone(),
            tier,
            routes,
            interfaces,
            declares_interfaces: !h.ifaces.is_empty(),
            name_span: h.name.span,
            firewall,
            dns_names,
            origin: self.origin(h.span),
        });
    }

    /// A VLAN named by a tier's or host's `serve` or `route`, or by `NAME@VLAN`: one of
    /// `own` (E036 otherwise).
    pub(super) fn own_vlan(
        &mut self,
        v: &ast::Ident,
        own: &[usize],
        what: &str,
        usage: &str,
    ) -> Option<usize> {
        let (_, vlan) = self.lookup(v, &[Kind::Vlan], "a VLAN")?;
        if own.contains(&vlan) {
            return Some(vlan);
        }
        let names: Vec<&str> = own
            .iter()
            .map(|&x| self.plan.vlans[x].name.as_str())
            .collect();
        self.diags.push(
            Diagnostic::new(&E036, format!("{what} is not on VLAN `{}`", v.name))
                .with_primary(v.span, format!("{usage}: not a VLAN of {what}"))
                .with_help(if names.is_empty() {
                    format!("{what} has no VLAN")
                } else {
                    format!("its VLANs: {}", names.join(", "))
                }),
        );
        None
    }

    /// One route of a tier or host (`route default` is one per family the VLAN has a gateway
    /// of), through the gateway of one of its VLANs `own`.
    pub(super) fn route(&mut self, r: &ast::RouteDecl, own: &[usize], what: &str) -> Vec<Route> {
        let Some(vlan) = self.own_vlan(&r.via, own, what, "route") else {
            return Vec::new();
        };
        let nets: Vec<ipnet::IpNet> = match &r.dest {
            None => vec![
                "0.0.0.0/0".parse().expect("valid"),
                "::/0".parse().expect("valid"),
            ],
            Some(a) => match &a.lit {
                AddrLit::Net(n) if n.trunc() == *n => vec![*n],
                AddrLit::Net(n) => {
                    self.invalid(
                        a.span,
                        format!("`{n}` has host bits set"),
                        "not a network prefix",
                        &format!("write `{}`", n.trunc()),
                    );
                    return Vec::new();
                }
                AddrLit::Addr(x) => vec![ipnet::IpNet::from(*x)],
                _ => {
                    self.invalid(
                        a.span,
                        "a route's destination is a prefix".into(),
                        "not a prefix",
                        "write a prefix like 10.20.0.0/16, or `default`",
                    );
                    return Vec::new();
                }
            },
        };
        let mut out = Vec::new();
        for net in nets {
            let v4 = net.addr().is_ipv4();
            let family = || {
                self.plan.vlans[vlan]
                    .subnets
                    .iter()
                    .map(|&s| &self.plan.subnets[s])
                    .filter(move |s| s.net.addr().is_ipv4() == v4)
            };
            let gateway = family().find_map(|s| s.gateway);
            // A gateway written but refused was reported where it is written.
            let refused = family().any(|s| s.gateway_written);
            match gateway {
                Some(gateway) => out.push(Route {
                    net,
                    vlan,
                    gateway,
                    origin: self.origin(r.span),
                }),
                // `route default` takes the families that have a gateway.
                None if r.dest.is_none() || refused => {}
                None => self.diags.push(
                    Diagnostic::new(
                        &E092,
                        format!(
                            "VLAN `{}` has no IPv{} gateway to route {net} through",
                            r.via.name,
                            if v4 { 4 } else { 6 }
                        ),
                    )
                    .with_primary(r.via.span, "no gateway of this family")
                    .with_help("give the VLAN's subnet a gateway (`subnet ... gateway .1`), or route through another VLAN"),
                ),
            }
        }
        let written = self.plan.vlans[vlan]
            .subnets
            .iter()
            .any(|&s| self.plan.subnets[s].gateway_written);
        if out.is_empty() && r.dest.is_none() && !written {
            self.diags.push(
                Diagnostic::new(&E092, format!("VLAN `{}` has no gateway", r.via.name))
                    .with_primary(r.via.span, "no gateway to route through")
                    .with_help("give the VLAN's subnet a gateway (`subnet ... gateway .1`)"),
            );
        }
        out
    }

    pub(super) fn vip(&mut self, v: &ast::Vip) {
        let all: Vec<(usize, ipnet::IpNet)> = self
            .plan
            .subnets
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.net))
            .collect();
        let nets: Vec<ipnet::IpNet> = all.iter().map(|n| n.1).collect();
        let addr = self.addr_in(&v.addr, &nets, &format!("address of vip `{}`", v.name.name));
        // Every member as listed (check `vip_members` reports repeats); the VIP's members
        // once each, in priority order.
        let listed: Vec<(usize, Span)> = v
            .members
            .iter()
            .filter_map(|m| {
                self.lookup(m, &[Kind::Host], "a host")
                    .map(|(_, h)| (h, m.span))
            })
            .collect();
        let mut members: Vec<usize> = Vec::new();
        for &(h, _) in &listed {
            if !members.contains(&h) {
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
        let placed = found.map(|s| (self.plan.subnets[s].vlan, s));
        let explicit = v.vrid.filter(|(n, _)| (1..=255).contains(n));
        let (Some(addr), Some((vlan, subnet))) = (addr, placed) else {
            return;
        };
        self.bind(&v.name, self.plan.vips.len());
        self.plan.vips.push(Vip {
            name: v.name.name.clone(),
            addr,
            vlan,
            subnet,
            members,
            listed,
            vrid: explicit.map_or(0, |(n, _)| n as u8),
            vrid_explicit: explicit.is_some(),
            vrid_given: v.vrid,
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
    pub(super) fn assign_vrids(&mut self) {
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
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E031: crate::codes::Code = crate::codes::code!("E031", "address-outside-subnet", Error, "an address is not in a subnet of its VLAN",
        "What it does: reports a host, VIP, router, gateway, pool or reserved address that is not\n\
         inside a subnet of the VLAN it is declared on (for VIPs: any subnet of the plan).\n\
         Why: the device could not use it; the address is a typo or on the wrong VLAN.\n\
         Example:\n    host pg01 in catalog { app-catalog 10.20.11.11 }   # app-catalog is 10.20.10.0/24");

pub const E036: crate::codes::Code = crate::codes::code!(
    "E036",
    "not-on-vlan",
    Error,
    "a tier or host is named on a VLAN it has no address on",
    "What it does: reports `NAME@VLAN` in a rule, a tier's `serve VLAN` and a `route ... via\n\
         VLAN` whose VLAN is not one of the tier's (or host's).\n\
         Why: the endpoint would hold no address, or the route no interface to leave by.\n\
         Example:\n    allow processing -> catalog@storage : postgres   # catalog is on app-catalog, mgmt"
);

pub const E092: crate::codes::Code = crate::codes::code!(
    "E092",
    "route-without-gateway",
    Error,
    "a route goes through a VLAN with no gateway of its family",
    "What it does: reports `route PREFIX via VLAN` where the VLAN's subnets declare no gateway of\n\
         the prefix's family (for `route default`: of any family).\n\
         Why: the host's kernel needs a next hop on that VLAN.\n\
         Example:\n    vlan 30 storage { subnet 10.30.0.0/24 }\n    tier db on app-db, storage route 10.40.0.0/16 via storage   # add `gateway .254`"
);
