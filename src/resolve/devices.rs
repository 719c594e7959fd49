//! Devices: routers and their interfaces, switches and their ports (cabling, bonds, trunks).

use super::*;

pub const E093: crate::codes::Code = crate::codes::code!(
    "E093",
    "nat-address",
    Error,
    "a translation uses an address the router does not hold upstream",
    "What it does: reports a `nat` line whose public address (or `masquerade`) is not in a prefix\n\
         of the router's `upstream ... address`, and a `nat` line on a router without `upstream`.\n\
         Why: replies to a translated address come back only if the router holds it.\n\
         Example:\n    router border {\n      upstream dev eth0 address 198.51.100.2/29\n      nat forward 203.0.113.10 tcp/443 to web01   # not in 198.51.100.0/29\n    }"
);

pub const E095: crate::codes::Code = crate::codes::code!(
    "E095",
    "nat-target",
    Error,
    "a translation sends to an address the plan does not have",
    "What it does: reports `nat forward` and `nat static` whose target is not one IPv4 address\n\
         of a host or VIP of the plan (an unknown address, a tier, a host with several addresses).\n\
         Why: netc follows the translated packet to the host that answers; without one it cannot\n\
         say what the forward opens.\n\
         Example:\n    nat forward 198.51.100.10 tcp/443 to 172.16.10.99   # no host has it"
);

pub const E096: crate::codes::Code = crate::codes::code!(
    "E096",
    "nat66",
    Error,
    "an IPv6 translation",
    "What it does: reports a `nat` line with an IPv6 public address or an inside target with no\n\
         IPv4 address.\n\
         Why: netc does no NAT66. IPv6 hosts are reached by their own global addresses; a ULA\n\
         address never reaches the internet.\n\
         Example:\n    nat forward 2001:db8::10 tcp/443 to web01"
);

impl Resolver<'_> {
    pub(super) fn router(&mut self, r: &ast::Router) {
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
                    // A gateway written but refused was reported where it is written.
                    let written = self.plan.vlans[vlan]
                        .subnets
                        .iter()
                        .any(|&s| self.plan.subnets[s].gateway_written);
                    if gateways.is_empty() && !written {
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
        let upstream_addrs: Vec<ipnet::IpNet> = r
            .upstream
            .iter()
            .flat_map(|u| &u.addrs)
            .filter_map(|a| match a.lit {
                AddrLit::Addr(addr) => Some(ipnet::IpNet::from(addr)),
                AddrLit::Net(net) => Some(net),
                _ => {
                    self.invalid(
                        a.span,
                        "an upstream address is one address with its prefix".into(),
                        "expected ADDRESS/LEN",
                        "write the router's address on the upstream link with the prefix it holds there, like 198.51.100.2/29",
                    );
                    None
                }
            })
            .collect();
        let mut router = Router {
            name: r.name.name.clone(),
            interfaces,
            upstream: r.upstream.as_ref().map(|u| {
                u.dev
                    .as_ref()
                    .map_or_else(|| "upstream".to_string(), |d| d.name.clone())
            }),
            upstream_addrs,
            nats: Vec::new(),
            translated: crate::space::Set::empty(),
            origin: self.origin(r.span),
        };
        for n in &r.nats {
            if let Some(kind) = self.nat(r, &router, n) {
                router.nats.push(Nat {
                    kind,
                    origin: self.origin(n.span()),
                });
            }
        }
        self.bind(&r.name, self.plan.routers.len());
        self.plan.routers.push(router);
    }

    /// One `nat` line of router `r`, or None after reporting why it cannot be built.
    fn nat(&mut self, r: &ast::Router, router: &Router, n: &ast::NatDecl) -> Option<NatKind> {
        if r.upstream.is_none() {
            self.diags.push(
                Diagnostic::new(
                    &E093,
                    format!("router `{}` translates but has no upstream", r.name.name),
                )
                .with_primary(n.span(), "no upstream interface to translate at")
                .with_help("netc translates at the upstream interface: add `upstream dev IF address A/LEN`"),
            );
            return None;
        }
        match n {
            ast::NatDecl::Source { sources, to, span } => {
                let sources: Vec<Endpoint> =
                    sources.iter().filter_map(|e| self.endpoint(e)).collect();
                let (to, masquerade) = match to {
                    Some(a) => (self.public_addr(r, router, a, "source translation")?, false),
                    None => match router.upstream_addrs.iter().find(|n| n.addr().is_ipv4()) {
                        Some(net) => (net.addr(), true),
                        None => {
                            self.diags.push(
                                Diagnostic::new(
                                    &E093,
                                    format!("router `{}` masquerades but netc does not know its upstream address", r.name.name),
                                )
                                .with_primary(*span, "no IPv4 upstream address")
                                .with_help("write the address the router holds upstream: `upstream dev eth0 address 198.51.100.2/29`"),
                            );
                            return None;
                        }
                    },
                };
                Some(NatKind::Source {
                    sources,
                    to,
                    masquerade,
                    set: crate::space::Set::empty(),
                })
            }
            ast::NatDecl::Forward {
                public,
                port,
                to,
                to_port,
                ..
            } => {
                let public = self.public_addr(r, router, public, "forward");
                let ports = match (port.proto, port.ports) {
                    (Proto::Tcp | Proto::Udp, Some(p)) => Some(p),
                    _ => {
                        self.invalid(
                            port.span,
                            "a forward takes tcp or udp ports".into(),
                            "expected tcp/PORT or udp/PORT",
                            "write the public port, like tcp/443 or udp/51820; `nat static` translates every protocol",
                        );
                        None
                    }
                };
                let target = self.nat_target(to);
                let to_port = match (ports, to_port) {
                    (Some((lo, hi)), Some((p, span))) => {
                        if lo != hi && *p != u32::from(lo) {
                            self.invalid(
                                *span,
                                "a forward of a port range keeps its ports".into(),
                                "a range cannot move",
                                "forward the range to the same ports (leave `port` out), or forward each port on its own line",
                            );
                            None
                        } else if *p == 0 || u64::from(*p) + u64::from(hi - lo) > 65535 {
                            self.invalid(
                                *span,
                                format!("port {p} cannot take {} ports", hi - lo + 1),
                                "outside 1-65535",
                                "the inside ports are the public ones moved to start here; pick a port that fits",
                            );
                            None
                        } else {
                            Some(*p as u16)
                        }
                    }
                    (Some((lo, _)), None) => Some(lo),
                    _ => None,
                };
                let (public, ports, (to_addr, to_vlan), to_port) =
                    (public?, ports?, target?, to_port?);
                Some(NatKind::Forward {
                    public,
                    proto: port.proto,
                    ports,
                    to: to_addr,
                    to_port,
                    target: self.sources.text(to.span()).to_string(),
                    to_vlan,
                    to_key: crate::space::Key::MIN,
                })
            }
            ast::NatDecl::Static { public, to, .. } => {
                let public = self.public_addr(r, router, public, "static translation");
                let target = self.nat_target(to);
                let (public, (to_addr, to_vlan)) = (public?, target?);
                Some(NatKind::Static {
                    public,
                    to: to_addr,
                    target: self.sources.text(to.span()).to_string(),
                    to_vlan,
                    to_key: crate::space::Key::MIN,
                })
            }
        }
    }

    /// A translation's public address: one IPv4 address in a prefix of the router's upstream.
    fn public_addr(
        &mut self,
        r: &ast::Router,
        router: &Router,
        a: &ast::Addr,
        what: &str,
    ) -> Option<IpAddr> {
        let AddrLit::Addr(addr) = a.lit else {
            self.invalid(
                a.span,
                format!("the {what}'s public address must be one address"),
                "expected an address",
                "write a single address, without prefix or range",
            );
            return None;
        };
        if addr.is_ipv6() {
            self.diags.push(
                Diagnostic::new(&E096, format!("netc does no NAT66: {addr} is IPv6"))
                    .with_primary(a.span, "an IPv6 translation")
                    .with_help("give inside hosts global IPv6 addresses and allow what the internet may reach; translations are IPv4 only"),
            );
            return None;
        }
        if !router.upstream_addrs.iter().any(|n| n.contains(&addr)) {
            let held: Vec<String> = router
                .upstream_addrs
                .iter()
                .map(|n| n.to_string())
                .collect();
            self.diags.push(
                Diagnostic::new(
                    &E093,
                    format!("{addr} is not an address router `{}` holds upstream", r.name.name),
                )
                .with_primary(a.span, "not on the upstream interface")
                .with_help(if held.is_empty() {
                    "write the prefix the router holds upstream: `upstream dev eth0 address 198.51.100.2/29`".to_string()
                } else {
                    format!("the router holds {} upstream; use an address there, or add its prefix to `upstream ... address`", held.join(", "))
                }),
            );
            return None;
        }
        Some(addr)
    }

    /// What a forward or static translation sends to: one IPv4 address of a host or VIP of the
    /// plan, with its VLAN.
    fn nat_target(&mut self, e: &ast::Endpoint) -> Option<(IpAddr, usize)> {
        let resolved = self.endpoint(e)?;
        let ifaces_of = |plan: &Plan, h: usize, vlans: Option<&[usize]>| -> Vec<(IpAddr, usize)> {
            plan.hosts[h]
                .interfaces
                .iter()
                .filter(|i| i.addr.is_ipv4() && vlans.is_none_or(|v| v.contains(&i.vlan)))
                .map(|i| (i.addr, i.vlan))
                .collect()
        };
        let found: Vec<(IpAddr, usize)> = match &resolved.target {
            EndpointRef::Host(h) => ifaces_of(&self.plan, *h, None),
            EndpointRef::HostOn { host, vlans } => ifaces_of(&self.plan, *host, Some(vlans)),
            EndpointRef::Vip(v) => {
                let vip = &self.plan.vips[*v];
                if vip.addr.is_ipv4() {
                    vec![(vip.addr, vip.vlan)]
                } else {
                    Vec::new()
                }
            }
            EndpointRef::Addresses { first, last, .. } if first == last => {
                let a = *first;
                let mut hits: Vec<(IpAddr, usize)> = self
                    .plan
                    .hosts
                    .iter()
                    .flat_map(|h| &h.interfaces)
                    .filter(|i| i.addr == a)
                    .map(|i| (i.addr, i.vlan))
                    .chain(
                        self.plan
                            .vips
                            .iter()
                            .filter(|v| v.addr == a)
                            .map(|v| (v.addr, v.vlan)),
                    )
                    .collect();
                hits.dedup();
                if hits.is_empty() {
                    self.diags.push(
                        Diagnostic::new(&E095, format!("no host or VIP of the plan has {a}"))
                            .with_primary(e.span(), "not an address of the plan")
                            .with_help("a translation sends to a host or VIP of the plan: name it, or give a host this address"),
                    );
                    return None;
                }
                hits
            }
            _ => {
                self.diags.push(
                    Diagnostic::new(
                        &E095,
                        format!("`{}` is not one host, VIP or address", resolved.text),
                    )
                    .with_primary(e.span(), "a translation needs one inside address")
                    .with_help("name a host (HOST or HOST@VLAN), a VIP or one address"),
                );
                return None;
            }
        };
        match found.as_slice() {
            [one] => Some(*one),
            [] => {
                self.diags.push(
                    Diagnostic::new(&E096, format!("`{}` has no IPv4 address", resolved.text))
                        .with_primary(e.span(), "IPv6 only")
                        .with_help("netc does no NAT66: translate to an IPv4 host, or publish the host's own IPv6 address"),
                );
                None
            }
            _ => {
                self.diags.push(
                    Diagnostic::new(
                        &E095,
                        format!("`{}` has several IPv4 addresses", resolved.text),
                    )
                    .with_primary(e.span(), "which one?")
                    .with_help("write HOST@VLAN for the address on one VLAN"),
                );
                None
            }
        }
    }

    pub(super) fn switch(&mut self, sw: &ast::Switch) {
        // A device name (`declare_switch` said so) would be a file name some systems refuse.
        if self.refused_switches.contains(&sw.name.span) {
            return;
        }
        let routes = sw
            .routes
            .as_ref()
            .and_then(|r| self.lookup(r, &[Kind::Router], "a router").map(|x| x.1));
        let platform = sw.platform.0;
        let model = sw.model.as_ref().and_then(|m| {
            let found = platform.model(&m.name);
            if found.is_none() {
                let known: Vec<&str> = platform.models().map(|m| m.name).collect();
                self.invalid(
                    m.span,
                    format!("netc knows no {} model `{}`", platform.name(), m.name),
                    "unknown model",
                    &if known.is_empty() {
                        format!(
                            "netc knows no {} models: leave `model` out",
                            platform.name()
                        )
                    } else {
                        format!(
                            "known {} models: {}; or leave `model` out (no port or model checks)",
                            platform.name(),
                            known.join(", ")
                        )
                    },
                );
            }
            found
        });
        let mut ports: Vec<SwitchPort> = Vec::new();
        for p in &sw.ports {
            let mut vlans = Vec::new();
            let mut description = p.name.0.clone();
            let mut cabled_host = None;
            let mut cabled_dev = None;
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
                    cabled_dev = Some(dev.name.clone());
                }
            }
            if vlans.is_empty() {
                continue;
            }
            vlans.sort_by_key(|&v| self.plan.vlans[v].id);
            ports.push(SwitchPort {
                name: p.name.0.clone(),
                members: p.members.iter().map(|m| m.0.clone()).collect(),
                trunk: p.kind == ast::PortKind::Trunk || vlans.len() > 1,
                vlans,
                host: cabled_host,
                dev: cabled_dev,
                name_span: p.name.1,
                description,
                origin: self.origin(p.span),
            });
        }
        self.plan.switches.push(Switch {
            name: sw.name.name.clone(),
            platform,
            model,
            routes,
            ports,
            origin: self.origin(sw.span),
        });
    }
}
