//! Rules: services, networks, endpoints, and the allow, deny and management statements.

use super::*;

impl Resolver<'_> {
    pub(super) fn service(&mut self, s: &ast::Service) {
        let ports = s.ports.iter().map(port_range).collect();
        self.bind(&s.name, self.plan.services.len());
        self.plan.services.push(Service {
            name: s.name.name.clone(),
            ports,
            includes: Vec::new(),
            origin: self.origin(s.span),
        });
    }

    /// Services made of services: each holds its own ports and, to any depth, those of the
    /// services it names (`service web http, https`). A name that leads back to the service
    /// is E014, at that name; the rest of the service stands.
    pub(super) fn service_includes(&mut self, services: &[(usize, &ast::Service)]) {
        let n = self.plan.services.len();
        let mut edges: Vec<Vec<(usize, crate::diag::Span)>> = vec![Vec::new(); n];
        for &(idx, s) in services {
            for i in &s.includes {
                if let Some((_, j)) = self.lookup(i, &[Kind::Service], "a service") {
                    edges[idx].push((j, i.span));
                }
            }
        }
        // Depth first, in declaration order: 0 unseen, 1 on the path, 2 done.
        let mut state = vec![0u8; n];
        let mut order: Vec<usize> = Vec::new();
        fn visit(
            r: &mut Resolver<'_>,
            v: usize,
            edges: &mut [Vec<(usize, crate::diag::Span)>],
            state: &mut [u8],
            path: &mut Vec<usize>,
            order: &mut Vec<usize>,
        ) {
            state[v] = 1;
            path.push(v);
            let mut k = 0;
            while k < edges[v].len() {
                let (w, span) = edges[v][k];
                if state[w] == 1 {
                    let at = path.iter().position(|&x| x == w).unwrap_or(0);
                    let mut names: Vec<&str> = path[at..]
                        .iter()
                        .map(|&x| r.plan.services[x].name.as_str())
                        .collect();
                    names.push(&r.plan.services[w].name);
                    let message = format!(
                        "service `{}` includes itself: {}",
                        r.plan.services[w].name,
                        names.join(" -> ")
                    );
                    r.diags.push(
                        Diagnostic::new(&E014, message)
                            .with_primary(span, "leads back here")
                            .with_help("a service may hold other services' ports, but not its own: remove this name"),
                    );
                    edges[v].remove(k);
                    continue;
                }
                if state[w] == 0 {
                    visit(r, w, edges, state, path, order);
                }
                k += 1;
            }
            path.pop();
            state[v] = 2;
            order.push(v);
        }
        for v in 0..n {
            if state[v] == 0 {
                visit(self, v, &mut edges, &mut state, &mut Vec::new(), &mut order);
            }
        }
        // Children before parents: each service's ports once its parts are complete.
        for v in order {
            let mut ports = self.plan.services[v].ports.clone();
            for &(w, _) in &edges[v] {
                for p in self.plan.services[w].ports.clone() {
                    if !ports.contains(&p) {
                        ports.push(p);
                    }
                }
            }
            self.plan.services[v].ports = ports;
            self.plan.services[v].includes = edges[v].iter().map(|e| e.0).collect();
        }
    }

    pub(super) fn network(&mut self, n: &ast::Network) {
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
        self.bind(&n.name, self.plan.networks.len());
        self.plan.networks.push(Network {
            name: n.name.name.clone(),
            ranges,
            description: n.description.clone(),
            origin: self.origin(n.span),
        });
    }

    pub(super) fn endpoint(&mut self, e: &ast::Endpoint) -> Option<Endpoint> {
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
            ast::Endpoint::On { name, vlan } => {
                let (kind, x) = self.lookup(name, &[Kind::Tier, Kind::Host], "a tier or host")?;
                let (own, what): (Vec<usize>, String) = match kind {
                    Kind::Tier => (
                        self.plan.tiers[x].vlans.iter().map(|v| v.vlan).collect(),
                        format!("tier `{}`", name.name),
                    ),
                    _ => (
                        self.plan.hosts[x]
                            .interfaces
                            .iter()
                            .map(|i| i.vlan)
                            .collect(),
                        format!("host `{}`", name.name),
                    ),
                };
                let v = self.own_vlan(vlan, &own, &what, "here")?;
                match kind {
                    Kind::Tier => EndpointRef::TierOn {
                        tier: x,
                        vlans: vec![v],
                    },
                    _ => EndpointRef::HostOn {
                        host: x,
                        vlans: vec![v],
                    },
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

    pub(super) fn service_ref(&mut self, s: &ast::ServiceTerm) -> Option<ServiceRef> {
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

    pub(super) fn flow(&mut self, f: &ast::Flow) {
        let sources: Vec<Endpoint> = f.sources.iter().filter_map(|e| self.endpoint(e)).collect();
        // A tier (or host) named as a destination offers its services on its `serve` VLANs.
        let mut destinations: Vec<Endpoint> = f
            .destinations
            .iter()
            .filter_map(|e| self.endpoint(e))
            .collect();
        for e in &mut destinations {
            e.target = self.plan.served(&e.target);
        }
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

    /// A VLAN's `carries` list, once services are built.
    pub(super) fn carries(&mut self, v: &ast::Vlan, idx: usize) {
        let Some((terms, span)) = &v.carries else {
            return;
        };
        let services: Vec<ServiceRef> = terms.iter().filter_map(|t| self.service_ref(t)).collect();
        if services.len() == terms.len() {
            self.plan.vlans[idx].carries = Some(ir::Carries {
                services,
                span: *span,
            });
        }
    }

    pub(super) fn management(&mut self, m: &ast::Management) {
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

pub(super) fn port_range(p: &ast::PortSpec) -> PortRange {
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

pub(super) fn literal_range(lit: &AddrLit) -> Option<(IpAddr, IpAddr)> {
    match *lit {
        AddrLit::Addr(a) => Some((a, a)),
        AddrLit::Net(n) => Some((n.network(), n.broadcast())),
        AddrLit::Range(a, b) => Some((a, b)),
        AddrLit::Suffix(_) => None,
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E014: crate::codes::Code = crate::codes::code!(
    "E014",
    "service-cycle",
    Error,
    "a service includes itself",
    "What it does: reports a service that names, directly or through other services, itself.\n\
         Why: a service made of services holds their ports; one made of itself has no meaning.\n\
         Example:\n    service web http, https, web-all\n    service web-all web, tcp/8080"
);
