//! Middle end: syntax trees to the resolved model. Names become indices, addresses are placed
//! in their subnets, defaults are filled in. What cannot be resolved is reported and left out,
//! so the model handed on is always consistent.
//!
//! The passes, in order (`Resolver::build`):
//!
//! 1. `declare` (here): every name of every file enters the symbol table (`Symbol`: kind,
//!    declaring span, model index once built); names declared twice, built-in names, names
//!    that differ only by case and device names are reported here, once; switches and zones
//!    have namespaces of their own (`declare_switch`, the zone arm).
//! 2. VLANs, then tiers (they name VLANs), then the VLANs' pools (they name tiers), then hosts
//!    (tiers and VLANs), then VIPs (hosts) and their VRRP ids: `addresses.rs`. Each object,
//!    once built, is bound to its name (`bind`), so later passes find its index.
//! 3. Services, networks (`rules.rs`), routers (`devices.rs`).
//! 4. In statement order: zones (`zones.rs`), allow/deny and management rules (`rules.rs`),
//!    switches (`devices.rs`): they name everything above.
//!
//! An object dropped for its own errors stays unbound: uses of its name resolve to nothing,
//! silently (the one error was its own).

use crate::diag::{Diagnostic, Sources, Span};
use crate::ir::{self, *};
use crate::names::did_you_mean;
use crate::space;
use crate::syntax::ast::{self, AddrLit, Stmt};
use crate::syntax::Loaded;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

pub(crate) mod addresses;
pub mod check_program;
pub(crate) mod devices;
pub(crate) mod rules;
pub(crate) mod zones;

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
        duplicated: Default::default(),
        refused_switches: Default::default(),
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
            route_cuts: Vec::new(),
            subnet_index: Vec::new(),
            domains: Default::default(),
            incomplete: Default::default(),
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

/// A declared name: its kind, where it is declared, and its index in the model once built
/// (None before, and for ever when the object is dropped for its own errors: a use of it
/// then resolves to nothing, silently).
#[derive(Debug, Clone, Copy)]
struct Symbol {
    kind: Kind,
    span: Span,
    index: Option<usize>,
}

struct Resolver<'a> {
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
    /// Every declared name (a name declared twice keeps its first declaration).
    symbols: HashMap<String, Symbol>,
    plan: Plan,
    /// Switches refused by `declare_switch` (a device name): not built.
    refused_switches: std::collections::HashSet<Span>,
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

    /// Names become file names: a name some systems reserve for a device is refused (E013).
    /// Whether it was.
    fn device_name(&mut self, ident: &ast::Ident) -> bool {
        let reserved = DEVICE_NAMES.contains(&ident.name.to_ascii_lowercase().as_str());
        if reserved {
            self.invalid(
                ident.span,
                format!("`{}` is a reserved device name", ident.name),
                "reserved on some systems",
                "names become file names; pick another name",
            );
        }
        reserved
    }

    /// Switches have a namespace of their own (a switch may be named after the router it
    /// is): their names become file names (`switches/NAME.PLATFORM`), so a device name is
    /// refused (the switch is not built) and two names that differ only by case collide.
    fn declare_switch(
        &mut self,
        ident: &ast::Ident,
        switches: &mut HashMap<String, (String, Span)>,
    ) {
        let folded = ident.name.to_ascii_lowercase();
        if self.device_name(ident) {
            self.refused_switches.insert(ident.span);
            return;
        }
        if let Some((first, span)) = switches.get(&folded) {
            let message = if *first == ident.name {
                format!("switch `{}` is declared twice", ident.name)
            } else {
                format!(
                    "switches `{first}` and `{}` differ only by case",
                    ident.name
                )
            };
            self.diags.push(
                Diagnostic::new(&crate::codes::E010, message)
                    .with_primary(ident.span, "declared again")
                    .with_secondary(*span, "first declared here")
                    .with_help("merge the two declarations or rename one; each switch gets one config file"),
            );
            return;
        }
        switches.insert(folded, (ident.name.clone(), ident.span));
    }

    fn declare(&mut self, stmts: &[&Stmt]) {
        let mut zones: HashMap<String, Span> = HashMap::new();
        let mut folded_names: HashMap<String, (String, Span)> = HashMap::new();
        let mut switches: HashMap<String, (String, Span)> = HashMap::new();
        for stmt in stmts {
            let (kind, ident) = match stmt {
                Stmt::Switch(sw) => {
                    self.declare_switch(&sw.name, &mut switches);
                    continue;
                }
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
            if let Some(&Symbol {
                kind: other,
                span: first,
                ..
            }) = self.symbols.get(&ident.name)
            {
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
            self.device_name(ident);
            self.symbols.insert(
                ident.name.clone(),
                Symbol {
                    kind,
                    span: ident.span,
                    index: None,
                },
            );
        }
    }

    /// Look a name up, expecting one of `kinds`.
    fn lookup(&mut self, ident: &ast::Ident, kinds: &[Kind], what: &str) -> Option<(Kind, usize)> {
        match self.symbols.get(&ident.name) {
            // Objects dropped for their own errors resolve to nothing, silently.
            Some(&Symbol { kind, index, .. }) if kinds.contains(&kind) => {
                index.map(|idx| (kind, idx))
            }
            // The name is declared twice, as this kind too: E010 said so.
            Some(_) if self.duplicated.contains(&ident.name) => None,
            Some(&Symbol {
                kind, span: decl, ..
            }) => {
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
                    .filter(|(_, sym)| kinds.contains(&sym.kind))
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

    fn invalid(&mut self, span: Span, message: String, label: &str, help: &str) {
        self.diags.push(
            Diagnostic::new(&crate::codes::E013, message)
                .with_primary(span, label)
                .with_help(help),
        );
    }

    /// The object declared by `ident` is built at `index` of its kind: uses of the name find
    /// it from now on. (A second declaration of a name is built under no name.)
    fn bind(&mut self, ident: &ast::Ident, index: usize) {
        if let Some(sym) = self.symbols.get_mut(&ident.name) {
            if sym.span == ident.span {
                sym.index = Some(index);
            }
        }
    }

    fn build(&mut self, stmts: &[&Stmt]) {
        // Objects are built kind by kind, each kind after the kinds its statements name.
        let mut vlans = Vec::new();
        for s in stmts {
            if let Stmt::Vlan(v) = s {
                let idx = self.vlan(v);
                vlans.push((v, idx));
            }
        }
        for s in stmts {
            if let Stmt::Tier(t) = s {
                self.tier(t);
            }
        }
        for (v, idx) in &vlans {
            self.pools(v, *idx);
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
        let mut services = Vec::new();
        for s in stmts {
            if let Stmt::Service(v) = s {
                services.push((self.plan.services.len(), v));
                self.service(v);
            }
        }
        self.service_includes(&services);
        for (v, idx) in &vlans {
            self.carries(v, *idx);
        }
        // A tier that says nothing offers its services on its VLANs that carry anything (no
        // `carries`): a rule to it opens no management or storage interface.
        let closed: Vec<usize> = vlans
            .iter()
            .filter(|(v, _)| v.carries.is_some())
            .map(|(_, idx)| *idx)
            .collect();
        for tier in &mut self.plan.tiers {
            if tier.serve.is_empty() {
                let open: Vec<usize> = tier
                    .vlans
                    .iter()
                    .map(|v| v.vlan)
                    .filter(|v| !closed.contains(v))
                    .collect();
                if !open.is_empty() && open.len() < tier.vlans.len() {
                    tier.serve = open;
                    tier.serve.sort_unstable();
                    tier.serve.dedup();
                }
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
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E011: crate::codes::Code = crate::codes::code!(
    "E011",
    "undefined-name",
    Error,
    "a name is used but never declared",
    "What it does: reports a reference to a name that no declaration has, with the closest\n\
         declared name as a suggestion.\n\
         Why: a typo in a flow would otherwise silently open or close nothing.\n\
         Example:\n    allow processing -> catalgo : postgres   # did you mean `catalog`?"
);
pub const E012: crate::codes::Code = crate::codes::code!(
    "E012",
    "wrong-kind",
    Error,
    "a name refers to the wrong kind of object",
    "What it does: reports a reference whose target exists but is not of the kind expected\n\
         there (a host `in` a VIP, a service used as a flow source).\n\
         Why: the statement has no meaning with that object.\n\
         Example:\n    host pg01 in pg-vip   # `in` takes a tier"
);
