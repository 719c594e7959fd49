//! Translation at the border: which packets a router's `nat` lines translate, and the rule
//! that makes translation necessary. The internet routes only public addresses, so a packet
//! between a private address (RFC 1918, shared 100.64.0.0/10, link-local, ULA) and a public
//! one crosses the border only translated: a private source reaches a public destination when
//! the router it leaves by translates its source (`nat source`, `nat static`), and a public
//! source reaches a private host only through a public address a router forwards to it
//! (`nat forward`, `nat static`). Between two private or two public addresses nothing needs
//! translating. netc does no NAT66: a ULA address never reaches the internet.
//!
//! The reachability engine (`reach`) follows the translated packet; the nftables back end writes
//! the same translations (`targets/nftables.rs`).

use crate::ir::{NatKind, Plan, Proto};
use crate::space::{self, Key, Set};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Address ranges the internet does not route.
pub const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// The private ranges, in domain 0 (the internet's).
pub fn private_set() -> &'static Set {
    static SET: OnceLock<Set> = OnceLock::new();
    SET.get_or_init(|| {
        Set::union_all(
            PRIVATE
                .iter()
                .map(|n| space::net_set(0, &n.parse::<ipnet::IpNet>().expect("valid prefix"))),
        )
    })
}

/// Whether an address (of any domain) is one the internet does not route.
pub fn is_private(k: Key) -> bool {
    private_set().contains(space::rehome(k, 0))
}

/// The addresses of `set` the internet does not route (in whatever domains `set` spans).
pub fn private_part(set: &Set) -> Set {
    let (Some(&(first, _)), Some(&(_, last))) = (set.ranges().first(), set.ranges().last()) else {
        return Set::empty();
    };
    let private = private_set();
    let all = Set::union_all(
        (space::key_domain(first)..=space::key_domain(last)).map(|d| {
            Set::from_ranges(
                private
                    .ranges()
                    .iter()
                    .map(|&(a, b)| (space::rehome(a, d), space::rehome(b, d))),
            )
        }),
    );
    set.intersect(&all)
}

/// A translation of packets sent to a public address.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub router: usize,
    pub nat: usize,
    pub public: Key,
    pub to: Key,
    /// The services it takes, as sent (before translation).
    pub svc: Set,
    /// What it adds to the port.
    pub shift: i64,
}

impl Inbound {
    /// Services as sent, as they arrive.
    pub fn translate(&self, svc: &Set) -> Set {
        shift(svc, self.shift)
    }

    /// Services as they arrive, as they were sent.
    pub fn untranslate(&self, svc: &Set) -> Set {
        shift(svc, -self.shift)
    }

    /// "198.51.100.10 tcp/443 -> web01 172.16.10.20 tcp/8443 at border".
    pub fn describe(&self, plan: &Plan) -> String {
        let router = &plan.routers[self.router];
        let nat = &router.nats[self.nat];
        match &nat.kind {
            NatKind::Forward {
                public,
                proto,
                ports,
                to,
                to_port,
                target,
                ..
            } => {
                let span = |a: u16, b: u16| {
                    if a == b {
                        format!("{a}")
                    } else {
                        format!("{a}-{b}")
                    }
                };
                let last = i64::from(*to_port) + i64::from(ports.1) - i64::from(ports.0);
                let proto = proto.name();
                format!(
                    "{public} {proto}/{} -> {target} {to} {proto}/{} at {} (`nat forward`, {})",
                    span(ports.0, ports.1),
                    span(*to_port, last as u16),
                    router.name,
                    nat.origin.file_line()
                )
            }
            NatKind::Static {
                public, to, target, ..
            } => format!(
                "{public} -> {target} {to} at {} (`nat static`, {})",
                router.name,
                nat.origin.file_line()
            ),
            NatKind::Source { .. } => String::new(),
        }
    }
}

fn shift(svc: &Set, by: i64) -> Set {
    if by == 0 {
        return svc.clone();
    }
    Set::from_ranges(svc.ranges().iter().map(|&(a, b)| {
        let f = |k: Key| Key::from((k.lo as i128 + by as i128) as u128);
        (f(a), f(b))
    }))
}

/// The translations of packets sent to `public` (a domain-0 key), in plan order.
pub fn inbound(plan: &Plan, public: Key) -> Vec<Inbound> {
    let mut out = Vec::new();
    for (r, router) in plan.routers.iter().enumerate() {
        for (n, nat) in router.nats.iter().enumerate() {
            match nat.kind {
                NatKind::Forward {
                    public: p,
                    proto,
                    ports,
                    to_port,
                    to_key,
                    ..
                } if space::key(0, p) == public => out.push(Inbound {
                    router: r,
                    nat: n,
                    public,
                    to: to_key,
                    svc: space::service_set(proto, Some(ports)),
                    shift: i64::from(to_port) - i64::from(ports.0),
                }),
                NatKind::Static {
                    public: p, to_key, ..
                } if space::key(0, p) == public => out.push(Inbound {
                    router: r,
                    nat: n,
                    public,
                    to: to_key,
                    svc: space::all_services(),
                    shift: 0,
                }),
                _ => {}
            }
        }
    }
    out
}

/// Every public address some router translates packets to.
pub fn public_addresses(plan: &Plan) -> Set {
    Set::from_ranges(
        plan.routers
            .iter()
            .flat_map(|r| &r.nats)
            .filter_map(|n| n.kind.public())
            .map(|a| {
                let k = space::key(0, a);
                (k, k)
            }),
    )
}

/// The address router `r` gives packets from `src` leaving by its upstream interface, with the
/// line that says so: a static translation of `src` first, then the first `nat source` that
/// names it.
pub fn source_translation(plan: &Plan, r: usize, src: Key) -> Option<(usize, IpAddr)> {
    let router = &plan.routers[r];
    router
        .nats
        .iter()
        .enumerate()
        .find_map(|(n, nat)| match nat.kind {
            NatKind::Static { public, to_key, .. } if to_key == src => Some((n, public)),
            _ => None,
        })
        .or_else(|| {
            router
                .nats
                .iter()
                .enumerate()
                .find_map(|(n, nat)| match &nat.kind {
                    NatKind::Source { set, to, .. } if set.contains(src) => Some((n, *to)),
                    _ => None,
                })
        })
}

/// The IPv4 ranges of a `nat source` set as rulesets write them (`10.60.10.0/24`), without
/// domains.
pub fn source_texts(set: &Set) -> Vec<String> {
    space::project(set)
        .into_iter()
        .filter(|&(v4, _, _)| v4)
        .map(|(_, a, b)| space::raw_range_text(true, a, b))
        .collect()
}

/// Every source a router's translations take (computed by `Plan::freeze`).
pub fn translated_sources(router: &crate::ir::Router) -> Set {
    Set::union_all(router.nats.iter().map(|nat| match &nat.kind {
        NatKind::Static { to_key, .. } => Set::point(*to_key),
        NatKind::Source { set, .. } => set.clone(),
        NatKind::Forward { .. } => Set::empty(),
    }))
}

/// One rule of a router's translations, as a ruleset holds it. The nftables back end writes
/// these rules and `readback::nat` reads them back; both take them from `rules`.
#[derive(Debug, Clone)]
pub enum Rule<'a> {
    /// Packets to `public` (on `ports` of a protocol, or all of them) go to `to` (on port
    /// `to_port`: a single forwarded port; a range keeps its ports).
    Dnat {
        public: IpAddr,
        ports: Option<(Proto, (u16, u16))>,
        to: IpAddr,
        to_port: Option<u16>,
        /// What the rule is, in words (its comment).
        label: String,
    },
    /// Packets from `sources` (ranges as rulesets write them) leaving by `dev` leave from `to`
    /// (`None`: masquerade, the interface's address). `one`: a single address, written as such.
    Snat {
        dev: &'a str,
        sources: Vec<String>,
        one: bool,
        to: Option<IpAddr>,
        label: String,
    },
}

/// Router `r`'s translation rules in ruleset order: the destination rules (prerouting), then
/// the source rules (postrouting: static translations first, then `nat source` lines in plan
/// order, as `source_translation` decides).
pub fn rules(plan: &Plan, r: usize) -> (Vec<Rule<'_>>, Vec<Rule<'_>>) {
    let router = &plan.routers[r];
    let dev = router.upstream.as_deref().unwrap_or("upstream");
    let (mut dnat, mut statics, mut sources) = (Vec::new(), Vec::new(), Vec::new());
    for nat in &router.nats {
        match &nat.kind {
            NatKind::Forward {
                public,
                proto,
                ports,
                to,
                to_port,
                ..
            } => dnat.push(Rule::Dnat {
                public: *public,
                ports: Some((*proto, *ports)),
                to: *to,
                to_port: (ports.0 == ports.1).then_some(*to_port),
                label: format!(
                    "nat forward {public} {}/{}",
                    proto.name(),
                    if ports.0 == ports.1 {
                        ports.0.to_string()
                    } else {
                        format!("{}-{}", ports.0, ports.1)
                    }
                ),
            }),
            NatKind::Static { public, to, .. } => {
                let label = format!("nat static {public}");
                dnat.push(Rule::Dnat {
                    public: *public,
                    ports: None,
                    to: *to,
                    to_port: None,
                    label: label.clone(),
                });
                statics.push(Rule::Snat {
                    dev,
                    sources: vec![to.to_string()],
                    one: true,
                    to: Some(*public),
                    label,
                });
            }
            NatKind::Source {
                set,
                to,
                masquerade,
                ..
            } => {
                let texts = source_texts(set);
                if texts.is_empty() {
                    continue;
                }
                sources.push(Rule::Snat {
                    dev,
                    sources: texts,
                    one: false,
                    to: (!masquerade).then_some(*to),
                    label: format!(
                        "nat source {}",
                        if *masquerade {
                            "masquerade".to_string()
                        } else {
                            to.to_string()
                        }
                    ),
                });
            }
        }
    }
    statics.extend(sources);
    (dnat, statics)
}
