//! Devices: routers and their interfaces, switches and their ports (cabling, bonds, trunks).

use super::*;

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
        self.bind(&r.name, self.plan.routers.len());
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
