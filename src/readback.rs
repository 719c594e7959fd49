//! Reading real rulesets back: what the kernel holds (`nft -j list ruleset`) as a model netc
//! can evaluate, and an exact comparison of it with the plan's policy at one enforcement
//! point.
//!
//! The reader models the nftables constructs a filter ruleset is made of: tables, base chains
//! with hooks, priorities and policies, regular chains, rules of matches and statements
//! (`accept`, `drop`, `reject`, `jump`, `goto`, `return`, `log` and `counter`), sets and
//! verdict maps with intervals and concatenations, anonymous sets, `ct state`, `iif`,
//! `meta l4proto`, `meta nfproto`, the packet mark (matched under a mask, and set as `meta mark
//! set meta mark & A | B`), address and port payloads. Anything else is an error that names the
//! construct and where it is (never silently skipped).
//!
//! The comparison is exact, not a sample: along each dimension (source, destination, protocol
//! and port) the boundaries of both sides (the plan's header boxes and every element of the
//! ruleset) cut the space into intervals on which both sides are constant, and one packet per
//! cell decides the cell. Packets are judged as the first packet of a connection (`ct state
//! new`) arriving on an interface other than `lo`.

use crate::space::{self, Key, Set};
use serde_json::Value;

mod iptables;
mod lab;
pub mod nat;
pub use lab::{
    find_nft_include, inline_blocks, load_firewalld_config, load_firewalld_in_namespace,
    load_in_namespace, load_ufw_in_namespace, private_bus_conf,
};
mod relation;
mod rule_index;
use std::collections::HashMap;
use std::sync::Arc;
mod symbolic;
pub use iptables::{from_iptables_save, from_iptables_save_output};
use std::collections::BTreeMap;
pub use symbolic::{Ranges, Svc};

#[derive(Debug)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rules of a chain a packet visits, in order (all, or those its address index names),
/// without collecting them.
enum RulesFor<'a> {
    All(std::slice::Iter<'a, Vec<Expr>>),
    Indexed(&'a [Vec<Expr>], std::vec::IntoIter<usize>),
}

impl<'a> Iterator for RulesFor<'a> {
    type Item = &'a [Expr];

    fn next(&mut self) -> Option<&'a [Expr]> {
        match self {
            RulesFor::All(it) => it.next().map(Vec::as_slice),
            RulesFor::Indexed(rules, it) => it.next().map(|i| rules[i].as_slice()),
        }
    }
}

/// (chain, mark in) -> (verdict, mark out).
type RunMemo = HashMap<(usize, u32), (Option<bool>, u32)>;

thread_local! {
    /// `Ruleset::run`'s outcomes for the packet being evaluated (cleared for each packet).
    static RUN_MEMO: std::cell::RefCell<RunMemo> =
        std::cell::RefCell::new(HashMap::new());
}

fn err<T>(msg: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError(msg.into()))
}

/// A packet as a ruleset sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    pub v4: bool,
    pub src: u128,
    pub dst: u128,
    /// IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, 112 vrrp).
    pub proto: u8,
    /// Destination port for TCP and UDP; ICMP echo request otherwise.
    pub dport: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Input,
    Forward,
    /// netdev ingress: every packet of the device, before anything else.
    Ingress,
    /// Before the routing decision: filter chains here (raw, mangle priorities) see every
    /// packet the host receives or the router forwards.
    Prerouting,
    /// After the forward decision, on routers.
    Postrouting,
    /// What a host sends: evaluated for hosts whose plan filters egress, when netc's own table
    /// holds an output chain (`inet netc output`); otherwise listed as not evaluated.
    Output,
    /// Hooks no packet the plan speaks of passes (output, without egress filtering), and
    /// chains that cannot decide an IP packet's verdict (arp, bridge): not evaluated, and
    /// listed as such.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Saddr(Option<bool>),
    Daddr(Option<bool>),
    L4proto,
    /// `th dport` (any transport protocol with ports).
    Dport,
    /// `tcp dport` / `udp dport`: the port of that protocol only (nft adds the protocol
    /// check as a dependency).
    DportOf(u8),
    IcmpType(bool),
    CtState,
    /// `ct status`: a new connection's status has no bit set (not DNATed, not expected...).
    CtStatus,
    /// The source port (iptables `--sport`): the packets compared come from port 40000.
    Sport,
    /// iptables `addrtype --dst-type`: a packet for the host is of type LOCAL (bit 2).
    DstType,
    /// The IPv6 hop limit / IPv4 TTL: the packets compared have 64.
    HopLimit,
    /// Something the packets compared never have (an IPv6 routing header).
    Never,
    Iif,
    /// The output interface: only `lo` is read (the packets compared never leave by it).
    Oif,
    NfProto,
    /// `meta protocol`: the ethertype, 0x0800 for IPv4 and 0x86dd for IPv6.
    EtherType,
    /// The reverse-path lookup `fib saddr . iif oif`: exists (1) for the plan's packets.
    FibOif,
    /// The packet mark under a mask (`meta mark & MASK`).
    Mark(u32),
}

#[derive(Debug, Clone)]
enum Right {
    Set(String),
    /// A named set, linked (see `Ruleset::link`).
    SetAt(usize),
    /// Each element: one inclusive range per dimension.
    Values(Vec<Vec<(u128, u128)>>),
}

#[derive(Debug, Clone)]
enum Verdict {
    Accept,
    Drop,
    Jump(String),
    Goto(String),
    /// Jumps and gotos, linked to the chain's index (see `Ruleset::link`).
    JumpAt(usize),
    GotoAt(usize),
    Return,
}

#[derive(Debug, Clone)]
enum Expr {
    Match {
        fields: Vec<Field>,
        negate: bool,
        right: Right,
    },
    Vmap {
        fields: Vec<Field>,
        map: VmapRef,
    },
    Verdict(Verdict),
    /// `meta mark set meta mark & AND | OR`.
    SetMark {
        and: u32,
        or: u32,
    },
}

#[derive(Debug, Clone)]
enum VmapRef {
    Named(String),
    /// A named map, linked (see `Ruleset::link`).
    At(usize),
    Inline(Vec<(Vec<(u128, u128)>, Verdict)>),
}

#[derive(Debug, Clone)]
struct Chain {
    hook: Option<(Hook, i64, bool)>,
    rules: Vec<Vec<Expr>>,
}

#[derive(Debug, Clone, Default)]
struct SetDef {
    elems: Vec<Vec<(u128, u128)>>,
    verdicts: Vec<Verdict>,
    /// Element indexes sorted by the start of their first dimension, and the largest end of
    /// that dimension up to each position: a lookup visits only elements whose first range
    /// can hold the value (sets of 100,000 elements are common).
    by_first: Vec<usize>,
    max_end: Vec<u128>,
}

impl SetDef {
    fn index(&mut self) {
        let mut order: Vec<usize> = (0..self.elems.len())
            .filter(|&i| !self.elems[i].is_empty())
            .collect();
        order.sort_by_key(|&i| self.elems[i][0].0);
        let mut max = 0u128;
        self.max_end = order
            .iter()
            .map(|&i| {
                max = max.max(self.elems[i][0].1);
                max
            })
            .collect();
        self.by_first = order;
    }

    /// The first element (in plan order of the ruleset) that holds `vals`.
    fn find(&self, vals: &[u128]) -> Option<usize> {
        let v = *vals.first()?;
        let end = self.by_first.partition_point(|&i| self.elems[i][0].0 <= v);
        let mut best: Option<usize> = None;
        for k in (0..end).rev() {
            if self.max_end[k] < v {
                break;
            }
            let i = self.by_first[k];
            if contains(&self.elems[i], vals) && best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        }
        best
    }
}

/// A base chain: its key, the chain, its priority and whether its policy drops.
type Base<'a> = (&'a (String, String, String), usize, i64, bool);

/// A whole ruleset, read from `nft -j list ruleset`.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    /// (family, table, chain) -> chain.
    chains: BTreeMap<(String, String, String), Chain>,
    sets: BTreeMap<(String, String, String), SetDef>,
    unmodelled: Vec<String>,
    /// The chains and sets with every name resolved to an index, for evaluation: no name is
    /// looked up per packet.
    linked: Vec<Chain>,
    linked_sets: Vec<SetDef>,
    chain_ids: std::collections::HashMap<(String, String, String), usize>,
    /// Per linked chain: its rules indexed by the address they start by matching, for long
    /// chains of one rule per address.
    rule_index: Vec<Option<rule_index::RuleIndex>>,
    /// An iptables reading without ip6tables-save output: IPv6 is "not given", not "accepts
    /// everything".
    ipv6_not_given: bool,
}

fn ip_value(s: &str) -> Option<(bool, u128)> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => Some((true, u32::from(a) as u128)),
        std::net::IpAddr::V6(a) => Some((false, u128::from(a))),
    }
}

fn proto_value(s: &str) -> Option<u128> {
    Some(match s {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "ipv6-icmp" | "icmpv6" => 58,
        "vrrp" => 112,
        _ => return s.parse().ok(),
    })
}

/// One value of a set element or a match, as an inclusive range.
fn scalar(v: &Value, where_: &str) -> Result<(u128, u128), ReadError> {
    match v {
        // `exists` / `missing` (fib results).
        Value::Bool(b) => Ok((u128::from(*b), u128::from(*b))),
        Value::Number(n) => {
            let x = n.as_u64().map(u128::from);
            x.map(|x| (x, x))
                .ok_or_else(|| ReadError(format!("{where_}: number {n}")))
        }
        Value::String(s) => {
            if let Some((_, a)) = ip_value(s) {
                return Ok((a, a));
            }
            if let Some(p) = proto_value(s) {
                return Ok((p, p));
            }
            Ok(match s.as_str() {
                // ct states as bits: new 8, established 2, related 4, invalid 1, untracked 64.
                "invalid" => (1, 1),
                "established" => (2, 2),
                "related" => (4, 4),
                "new" => (8, 8),
                "untracked" => (64, 64),
                // ct status bits (a new connection has none of them).
                "expected" => (1, 1),
                "seen-reply" => (2, 2),
                "assured" => (4, 4),
                "confirmed" => (8, 8),
                "snat" => (16, 16),
                "dnat" => (32, 32),
                "dying" => (512, 512),
                // ICMPv6 type names (a match on `icmpv6 type` reads them in this context).
                "ip" if where_.ends_with(" ethertype") => (0x0800, 0x0800),
                "ip6" if where_.ends_with(" ethertype") => (0x86dd, 0x86dd),
                "arp" if where_.ends_with(" ethertype") => (0x0806, 0x0806),
                "echo-request" if where_.ends_with(" icmpv6") => (128, 128),
                "echo-reply" if where_.ends_with(" icmpv6") => (129, 129),
                "destination-unreachable" if where_.ends_with(" icmpv6") => (1, 1),
                "time-exceeded" if where_.ends_with(" icmpv6") => (3, 3),
                "parameter-problem" if where_.ends_with(" icmpv6") => (4, 4),
                "packet-too-big" => (2, 2),
                "mld-listener-query" => (130, 130),
                "mld-listener-report" => (131, 131),
                "mld-listener-done" | "mld-listener-reduction" => (132, 132),
                "nd-router-solicit" => (133, 133),
                "nd-router-advert" => (134, 134),
                "nd-neighbor-solicit" => (135, 135),
                "nd-neighbor-advert" => (136, 136),
                "nd-redirect" => (137, 137),
                "router-renumbering" => (138, 138),
                "ind-neighbor-solicit" => (141, 141),
                "ind-neighbor-advert" => (142, 142),
                "mld2-listener-report" => (143, 143),
                // ICMP type names.
                "echo-request" => (8, 8),
                "echo-reply" => (0, 0),
                "destination-unreachable" => (3, 3),
                "source-quench" => (4, 4),
                "redirect" => (5, 5),
                "router-advertisement" => (9, 9),
                "router-solicitation" => (10, 10),
                "time-exceeded" => (11, 11),
                "parameter-problem" => (12, 12),
                "timestamp-request" => (13, 13),
                "timestamp-reply" => (14, 14),
                "info-request" => (15, 15),
                "info-reply" => (16, 16),
                "address-mask-request" => (17, 17),
                "address-mask-reply" => (18, 18),
                "ipv4" => (2, 2),
                "ipv6" => (10, 10),
                // An interface name: only `lo` matters (packets arrive on other interfaces).
                "lo" => (u128::MAX, u128::MAX),
                _ if where_.contains("iif") => (u128::MAX - 1, u128::MAX - 1),
                _ => return err(format!("{where_}: value `{s}` is not modelled")),
            })
        }
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr = p.get("addr").and_then(Value::as_str).unwrap_or("");
                let len = p.get("len").and_then(Value::as_u64).unwrap_or(0) as u32;
                let (v4, a) =
                    ip_value(addr).ok_or_else(|| ReadError(format!("{where_}: prefix {addr}")))?;
                let bits: u32 = if v4 { 32 } else { 128 };
                let host = match bits.saturating_sub(len) {
                    0 => 0,
                    128 => u128::MAX,
                    n => (1u128 << n) - 1,
                };
                return Ok((a & !host, a | host));
            }
            if let Some(Value::Array(r)) = o.get("range") {
                if r.len() == 2 {
                    let (a, _) = scalar(&r[0], where_)?;
                    let (_, b) = scalar(&r[1], where_)?;
                    return Ok((a, b));
                }
            }
            err(format!("{where_}: value {v} is not modelled"))
        }
        _ => err(format!("{where_}: value {v} is not modelled")),
    }
}

/// A set element: its value (maybe a concatenation), unwrapped from `{"elem": ...}`.
fn element(v: &Value, where_: &str) -> Result<Vec<(u128, u128)>, ReadError> {
    let v = v.get("elem").and_then(|e| e.get("val")).unwrap_or(v);
    match v.get("concat") {
        Some(Value::Array(parts)) => parts.iter().map(|p| scalar(p, where_)).collect(),
        _ => Ok(vec![scalar(v, where_)?]),
    }
}

fn verdict(v: &Value, where_: &str) -> Result<Option<Verdict>, ReadError> {
    let Some(o) = v.as_object() else {
        return Ok(None);
    };
    let target = |k: &str| {
        o.get(k)
            .and_then(|t| t.get("target"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(if o.contains_key("accept") {
        Some(Verdict::Accept)
    } else if o.contains_key("drop") || o.contains_key("reject") {
        Some(Verdict::Drop)
    } else if o.contains_key("return") {
        Some(Verdict::Return)
    } else if let Some(t) = target("jump") {
        Some(Verdict::Jump(t))
    } else if let Some(t) = target("goto") {
        Some(Verdict::Goto(t))
    } else if o.contains_key("jump") || o.contains_key("goto") {
        return err(format!("{where_}: a jump without a target"));
    } else {
        None
    })
}

fn field(v: &Value, _family: &str, where_: &str) -> Result<Vec<Field>, ReadError> {
    if let Some(Value::Array(parts)) = v.get("concat") {
        let mut out = Vec::new();
        for p in parts {
            out.extend(field(p, _family, where_)?);
        }
        return Ok(out);
    }
    if let Some(p) = v.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let name = p.get("field").and_then(Value::as_str).unwrap_or("");
        let fam = match proto {
            "ip" => Some(true),
            "ip6" => Some(false),
            _ => None,
        };
        return Ok(vec![match (proto, name) {
            ("ip" | "ip6", "saddr") => Field::Saddr(fam),
            ("ip" | "ip6", "daddr") => Field::Daddr(fam),
            ("th", "dport") => Field::Dport,
            ("tcp", "dport") => Field::DportOf(6),
            ("udp", "dport") => Field::DportOf(17),
            ("icmp", "type") => Field::IcmpType(true),
            ("icmpv6", "type") => Field::IcmpType(false),
            _ => return err(format!("{where_}: payload {proto} {name} is not modelled")),
        }]);
    }
    if let Some(Value::Array(pair)) = v.get("&") {
        if let ([m, mask], true) = (pair.as_slice(), pair.len() == 2) {
            if is_meta_mark(m) {
                if let Some(mask) = mask.as_u64().and_then(|x| u32::try_from(x).ok()) {
                    return Ok(vec![Field::Mark(mask)]);
                }
            }
        }
        return err(format!("{where_}: match on {v} is not modelled"));
    }
    if let Some(f) = v.get("fib") {
        // The reverse-path filter (`fib saddr . iif oif missing drop`, firewalld's
        // rpfilter): the plan's packets come from sources routed back through the interface
        // they arrive on, so the output interface exists (listed as an assumption).
        let flags: Vec<&str> = f
            .get("flags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if f.get("result").and_then(Value::as_str) == Some("oif")
            && flags.contains(&"saddr")
            && flags.contains(&"iif")
        {
            return Ok(vec![Field::FibOif]);
        }
        return err(format!("{where_}: match on {v} is not modelled"));
    }
    if let Some(m) = v.get("meta") {
        let key = m.get("key").and_then(Value::as_str).unwrap_or("");
        return Ok(vec![match key {
            "mark" => Field::Mark(u32::MAX),
            "l4proto" => Field::L4proto,
            // The ethertype (0x0800, 0x86dd), not the layer-4 protocol.
            "protocol" => Field::EtherType,
            "iif" | "iifname" => Field::Iif,
            "oif" | "oifname" => Field::Oif,
            "nfproto" => Field::NfProto,
            _ => return err(format!("{where_}: meta {key} is not modelled")),
        }]);
    }
    if let Some(c) = v.get("ct") {
        match c.get("key").and_then(Value::as_str) {
            Some("state") => return Ok(vec![Field::CtState]),
            Some("status") => return Ok(vec![Field::CtStatus]),
            _ => {}
        }
    }
    err(format!("{where_}: match on {v} is not modelled"))
}

impl Ruleset {
    /// Read `nft -j list ruleset` output. The output hook is evaluated only where netc's own
    /// output chain (`inet netc output`) is in the ruleset.
    pub fn from_json(text: &str) -> Result<Ruleset, ReadError> {
        Self::from_json_output(text, false)
    }

    /// `from_json`, evaluating the output hook's filter chains too when `output` (a host of an
    /// `egress filtered` tier: what it sends is the plan's too).
    pub fn from_json_output(text: &str, output: bool) -> Result<Ruleset, ReadError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ReadError(e.to_string()))?;
        let items = v
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or_else(|| ReadError("not `nft -j list ruleset` output".into()))?;
        let mut rs = Ruleset::default();
        let key = |o: &Value, name_key: &str| {
            (
                o.get("family")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                o.get("table")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                o.get(name_key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        let mut rules: Vec<(Value, String)> = Vec::new();
        let mut broken: Vec<(String, String)> = Vec::new();
        // Tables whose flags say dormant: the kernel evaluates none of their chains.
        let mut dormant: Vec<(String, String)> = Vec::new();
        // NAT chains before the routing decision: a rule there may send the plan's packets
        // elsewhere (DNAT, redirect), which is not modelled: refused when it has rules.
        let mut nat_before: Vec<(String, String, String)> = Vec::new();
        // Sets and maps the reader cannot model: an error only if an evaluated rule uses one.
        let mut broken_sets: Vec<((String, String, String), String)> = Vec::new();
        // netc's own output chain (egress filtering): only then is the output hook evaluated.
        let netc_output = output
            || items.iter().any(|i| {
                i.get("chain").is_some_and(|c| {
                    key(c, "name") == ("inet".into(), "netc".into(), "output".into())
                        && c.get("hook").and_then(Value::as_str) == Some("output")
                })
            });
        for item in items {
            if let Some(t) = item.get("table") {
                let flags = t.get("flags");
                let has = |f: &str| match flags {
                    Some(Value::String(s)) => s == f,
                    Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(f)),
                    _ => false,
                };
                let name = t.get("name").and_then(Value::as_str).unwrap_or("");
                if flags.is_some() && !has("dormant") && !has("owner") && !has("persist") {
                    // nft 1.0.6 prints a table's flags as the table's name.
                    rs.unmodelled.push(format!(
                        "table {} {name} has flags this nft does not print (nft 1.0.6 prints the table's name): evaluated as active; if `nft list table` says dormant, the kernel evaluates none of its chains",
                        t.get("family").and_then(Value::as_str).unwrap_or("")
                    ));
                }
                if has("dormant") {
                    let k = key(t, "name");
                    rs.unmodelled.push(format!(
                        "table {} {} is dormant: the kernel evaluates none of its chains (ignored)",
                        k.0, k.2
                    ));
                    dormant.push((k.0, k.2));
                }
            } else if let Some(c) = item.get("chain") {
                let k = key(c, "name");
                let family = k.0.as_str();
                let ip_family = matches!(family, "ip" | "ip6" | "inet");
                let hook = match c.get("hook").and_then(Value::as_str) {
                    None => None,
                    Some(_) if dormant.contains(&(k.0.clone(), k.1.clone())) => {
                        Some((Hook::Other, 0, false))
                    }
                    Some(h) => {
                        let typ = c.get("type").and_then(Value::as_str).unwrap_or("?");
                        let mut kind = match (h, family) {
                            ("input", _) if ip_family => Hook::Input,
                            ("forward", _) if ip_family => Hook::Forward,
                            ("prerouting", _) if ip_family => Hook::Prerouting,
                            ("postrouting", _) if ip_family => Hook::Postrouting,
                            ("output", _) if ip_family && netc_output && typ == "filter" => {
                                Hook::Output
                            }
                            ("ingress", "netdev") => Hook::Ingress,
                            _ => {
                                rs.unmodelled.push(format!(
                                    "chain {family} {} {} on hook {h}: no packet the plan speaks of passes it as an IP packet (ignored)",
                                    k.1, k.2
                                ));
                                Hook::Other
                            }
                        };
                        let prio = c.get("prio").and_then(Value::as_i64).unwrap_or(0);
                        let drop = c.get("policy").and_then(Value::as_str) == Some("drop");
                        match (kind, typ) {
                            (Hook::Other, _) | (_, "filter") => {}
                            (Hook::Prerouting, "nat") => {
                                nat_before.push(k.clone());
                                kind = Hook::Other;
                            }
                            (Hook::Postrouting, "nat") => {
                                rs.unmodelled.push(format!(
                                    "chain {family} {} {} (nat, postrouting): source NAT after the forward decision changes no verdict (ignored)",
                                    k.1, k.2
                                ));
                                kind = Hook::Other;
                            }
                            _ => {
                                return err(format!(
                                    "chain {:?}: a {typ} chain on the {h} hook is not modelled",
                                    k
                                ));
                            }
                        }
                        Some((kind, prio, drop))
                    }
                };
                rs.chains.insert(
                    key(c, "name"),
                    Chain {
                        hook,
                        rules: Vec::new(),
                    },
                );
            } else if let Some(s) = item.get("set").or_else(|| item.get("map")) {
                let k = key(s, "name");
                let where_ = format!("set {} {} {}", k.0, k.1, k.2);
                let mut def = SetDef::default();
                let is_map = item.get("map").is_some();
                if is_map && s.get("map").and_then(Value::as_str) != Some("verdict") {
                    return err(format!("{where_}: a data map is not modelled"));
                }
                for e in s
                    .get("elem")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if is_map {
                        let pair = e
                            .as_array()
                            .filter(|p| p.len() == 2)
                            .ok_or_else(|| ReadError(format!("{where_}: map element {e}")))?;
                        def.elems.push(element(&pair[0], &where_)?);
                        def.verdicts
                            .push(verdict(&pair[1], &where_)?.ok_or_else(|| {
                                ReadError(format!("{where_}: map element without a verdict"))
                            })?);
                    } else {
                        match element(e, &where_) {
                            Ok(v) => def.elems.push(v),
                            Err(e) => {
                                broken_sets.push((k.clone(), e.0));
                                break;
                            }
                        }
                    }
                }
                def.index();
                rs.sets.insert(k, def);
            } else if let Some(r) = item.get("rule") {
                let k = key(r, "chain");
                rules.push((r.clone(), format!("{} {} {}", k.0, k.1, k.2)));
            }
        }
        for (r, chain_name) in rules {
            let family = r
                .get("family")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let where_ = format!(
                "rule {} of chain {chain_name}",
                r.get("handle").and_then(Value::as_u64).unwrap_or(0)
            );
            // A rule the reader cannot model is an error only if a packet can reach it (a
            // chain of the input or forward hooks, or one they jump to); elsewhere (a NAT
            // chain of Docker's) it is named in `unmodelled` and not evaluated.
            let exprs = match parse_rule(&r, &family, &where_) {
                Ok(e) => e,
                Err(e) => {
                    broken.push((chain_name.clone(), e.0));
                    Vec::new()
                }
            };
            let parts: Vec<&str> = chain_name.splitn(3, ' ').collect();
            let k = (
                parts[0].to_string(),
                parts.get(1).unwrap_or(&"").to_string(),
                parts.get(2).unwrap_or(&"").to_string(),
            );
            match rs.chains.get_mut(&k) {
                Some(c) => c.rules.push(exprs),
                None => return err(format!("{where_}: the chain is not in the ruleset")),
            }
        }
        // Chains a packet of the evaluated hooks can reach, and chains the NAT chains before
        // routing can reach.
        let closure = |mut reach: Vec<(String, String, String)>| {
            let mut i = 0;
            while i < reach.len() {
                let k = reach[i].clone();
                let mut targets: Vec<String> = Vec::new();
                if let Some(c) = rs.chains.get(&k) {
                    for rule in &c.rules {
                        for e in rule {
                            match e {
                                Expr::Verdict(Verdict::Jump(t) | Verdict::Goto(t)) => {
                                    targets.push(t.clone())
                                }
                                Expr::Vmap { map, .. } => {
                                    let verdicts: Vec<Verdict> = match map {
                                        VmapRef::Named(n) => rs
                                            .set(&k.0, &k.1, n)
                                            .map(|s| s.verdicts.clone())
                                            .unwrap_or_default(),
                                        VmapRef::Inline(items) => {
                                            items.iter().map(|x| x.1.clone()).collect()
                                        }
                                        // Only linked chains have these, after this pass.
                                        VmapRef::At(_) => Vec::new(),
                                    };
                                    for v in verdicts {
                                        if let Verdict::Jump(t) | Verdict::Goto(t) = v {
                                            targets.push(t);
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                for t in targets {
                    let tk = (k.0.clone(), k.1.clone(), t);
                    if !reach.contains(&tk) {
                        reach.push(tk);
                    }
                }
                i += 1;
            }
            reach
        };
        let reach = closure(
            rs.chains
                .iter()
                .filter(|(_, c)| c.hook.is_some_and(|h| h.0 != Hook::Other))
                .map(|(k, _)| k.clone())
                .collect(),
        );
        // A NAT chain before routing that reaches a statement the reader does not model
        // (`dnat`, `redirect`, through its jumps): the plan's packets may go elsewhere.
        // A NAT chain of only matches and jumps to empty chains (firewalld's) translates
        // nothing.
        for k in nat_before {
            let n = rs.chains.get(&k).map_or(0, |c| c.rules.len());
            let from_nat = closure(vec![k.clone()]);
            let translating = broken.iter().find(|(chain, _)| {
                let parts: Vec<&str> = chain.splitn(3, ' ').collect();
                let ck = (
                    parts[0].to_string(),
                    parts.get(1).unwrap_or(&"").to_string(),
                    parts.get(2).unwrap_or(&"").to_string(),
                );
                from_nat.contains(&ck)
            });
            if let (true, Some((chain, e))) = (n > 0, translating) {
                return err(format!(
                    "chain {} {} {} (nat, prerouting) can reach {chain} ({e}): address translation before the routing decision (DNAT, redirect) can send the plan's packets elsewhere, which is not modelled",
                    k.0, k.1, k.2
                ));
            }
        }
        for (set, e) in broken_sets {
            let used = reach.iter().any(|k| {
                k.0 == set.0
                    && k.1 == set.1
                    && rs.chains.get(k).is_some_and(|c| {
                        c.rules.iter().flatten().any(|e| match e {
                            Expr::Match {
                                right: Right::Set(n),
                                ..
                            } => *n == set.2,
                            Expr::Vmap {
                                map: VmapRef::Named(n),
                                ..
                            } => *n == set.2,
                            _ => false,
                        })
                    })
            });
            if used {
                return err(e);
            }
            rs.unmodelled.push(format!(
                "{e} (set {} {} {} is used by no evaluated chain: ignored)",
                set.0, set.1, set.2
            ));
        }
        for (chain, e) in broken {
            let parts: Vec<&str> = chain.splitn(3, ' ').collect();
            let k = (
                parts[0].to_string(),
                parts.get(1).unwrap_or(&"").to_string(),
                parts.get(2).unwrap_or(&"").to_string(),
            );
            if reach.contains(&k) {
                return err(e);
            }
            rs.unmodelled.push(format!(
                "{e} (chain {chain} is on no path a packet the plan speaks of takes: not evaluated)"
            ));
        }
        rs.link()?;
        Ok(rs)
    }

    /// nft 1.0.6 (Debian 12) lists the first element of every netlink dump message after the
    /// first with its host-endian fields (`meta mark`) byte-swapped: the kernel holds
    /// `0xb7d20000 . tcp . 10513` (`nft get element` finds it) and the listing says
    /// `0x0000d2b7 . tcp . 10513`, about one element in 700. Where a set is matched with `meta
    /// mark & MASK` at a position, an element value with bits outside MASK can never match
    /// there; when its byte swap lies inside MASK, it is that misprint and is read as the swap.
    /// (A mark matched whole cannot be told apart, and is read as listed.)
    fn repair_swapped_marks(&mut self) {
        let mut uses: Vec<((String, String, String), usize, u32)> = Vec::new();
        for (k, c) in &self.chains {
            for rule in &c.rules {
                for e in rule {
                    let (fields, name) = match e {
                        Expr::Match {
                            fields,
                            right: Right::Set(n),
                            ..
                        } => (fields, n),
                        Expr::Vmap {
                            fields,
                            map: VmapRef::Named(n),
                        } => (fields, n),
                        _ => continue,
                    };
                    for (pos, f) in fields.iter().enumerate() {
                        if let Field::Mark(mask) = *f {
                            if mask != u32::MAX {
                                uses.push(((k.0.clone(), k.1.clone(), name.clone()), pos, mask));
                            }
                        }
                    }
                }
            }
        }
        for (set, pos, mask) in uses {
            let Some(def) = self.sets.get_mut(&set) else {
                continue;
            };
            let mut changed = false;
            for e in &mut def.elems {
                let Some(r) = e.get_mut(pos) else { continue };
                let Ok(v) = u32::try_from(r.0) else { continue };
                if r.0 == r.1 && v & !mask != 0 && v.swap_bytes() & !mask == 0 {
                    let swapped = u128::from(v.swap_bytes());
                    *r = (swapped, swapped);
                    changed = true;
                }
            }
            if changed {
                def.index();
            }
        }
    }

    /// Resolve every set, map and chain name of the chains to an index, and refuse what the
    /// kernel refuses: jumps in a loop, or nested deeper than its jump stack. (That bound also
    /// bounds every walk; and walks memoise a chain's outcome, so chains that jump twice to
    /// the next one cost one walk each, not 2^depth.)
    fn link(&mut self) -> Result<(), ReadError> {
        self.repair_swapped_marks();
        let set_ids: std::collections::HashMap<&(String, String, String), usize> =
            self.sets.keys().enumerate().map(|(i, k)| (k, i)).collect();
        let chain_ids: std::collections::HashMap<(String, String, String), usize> = self
            .chains
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let key = |f: &str, t: &str, n: &str| (f.to_string(), t.to_string(), n.to_string());
        let verdict = |f: &str, t: &str, v: &Verdict| match v {
            Verdict::Jump(n) => chain_ids
                .get(&key(f, t, n))
                .map_or(v.clone(), |&i| Verdict::JumpAt(i)),
            Verdict::Goto(n) => chain_ids
                .get(&key(f, t, n))
                .map_or(v.clone(), |&i| Verdict::GotoAt(i)),
            _ => v.clone(),
        };
        self.linked_sets = self
            .sets
            .iter()
            .map(|(k, s)| SetDef {
                verdicts: s.verdicts.iter().map(|v| verdict(&k.0, &k.1, v)).collect(),
                ..s.clone()
            })
            .collect();
        self.linked = self
            .chains
            .iter()
            .map(|(k, c)| Chain {
                hook: c.hook,
                rules: c
                    .rules
                    .iter()
                    .map(|rule| {
                        rule.iter()
                            .map(|e| match e {
                                Expr::Match {
                                    fields,
                                    negate,
                                    right: Right::Set(n),
                                } => Expr::Match {
                                    fields: fields.clone(),
                                    negate: *negate,
                                    right: set_ids
                                        .get(&key(&k.0, &k.1, n))
                                        .map_or(Right::Values(Vec::new()), |&i| Right::SetAt(i)),
                                },
                                Expr::Vmap {
                                    fields,
                                    map: VmapRef::Named(n),
                                } => Expr::Vmap {
                                    fields: fields.clone(),
                                    map: set_ids
                                        .get(&key(&k.0, &k.1, n))
                                        .map_or(VmapRef::Inline(Vec::new()), |&i| VmapRef::At(i)),
                                },
                                Expr::Vmap {
                                    fields,
                                    map: VmapRef::Inline(items),
                                } => Expr::Vmap {
                                    fields: fields.clone(),
                                    map: VmapRef::Inline(
                                        items
                                            .iter()
                                            .map(|(e, v)| (e.clone(), verdict(&k.0, &k.1, v)))
                                            .collect(),
                                    ),
                                },
                                Expr::Verdict(v) => Expr::Verdict(verdict(&k.0, &k.1, v)),
                                other => other.clone(),
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect();
        self.chain_ids = chain_ids;
        self.rule_index = self
            .linked
            .iter()
            .map(|c| rule_index::RuleIndex::build(&c.rules))
            .collect();
        self.check_depth()
    }

    /// The same ruleset walked rule by rule (no address index): the slow path the index is
    /// tested against.
    #[doc(hidden)]
    pub fn without_rule_index(mut self) -> Ruleset {
        self.rule_index = vec![None; self.linked.len()];
        self
    }

    /// The rules of a linked chain that can match packet `p` (all of them, but for a chain
    /// indexed by address).
    fn rules_for(&self, chain: usize, p: &Packet) -> RulesFor<'_> {
        let rules = &self.linked[chain].rules;
        match self.rule_index.get(chain).and_then(Option::as_ref) {
            Some(ix) => RulesFor::Indexed(rules, ix.candidates(p).into_iter()),
            None => RulesFor::All(rules.iter()),
        }
    }

    /// The kernel's jump stack (NFT_JUMP_STACK_SIZE): no chain may be reached through more
    /// jumps than this, and jumps may not loop.
    const MAX_JUMP_DEPTH: usize = 16;

    fn check_depth(&self) -> Result<(), ReadError> {
        // Depth below each chain (memoised), with loops found by the chains on the stack.
        fn below(
            rs: &Ruleset,
            c: usize,
            memo: &mut Vec<Option<usize>>,
            on: &mut Vec<bool>,
        ) -> Result<usize, ReadError> {
            if let Some(d) = memo[c] {
                return Ok(d);
            }
            if on[c] {
                return err("chains jump to each other in a loop: the kernel refuses this ruleset");
            }
            on[c] = true;
            let mut deepest = 0;
            let targets = rs.linked[c].rules.iter().flatten().flat_map(|e| {
                let mut t: Vec<usize> = Vec::new();
                match e {
                    Expr::Verdict(Verdict::JumpAt(x) | Verdict::GotoAt(x)) => t.push(*x),
                    Expr::Vmap {
                        map: VmapRef::Inline(items),
                        ..
                    } => t.extend(items.iter().filter_map(|(_, v)| match v {
                        Verdict::JumpAt(x) | Verdict::GotoAt(x) => Some(*x),
                        _ => None,
                    })),
                    Expr::Vmap {
                        map: VmapRef::At(s),
                        ..
                    } => t.extend(rs.linked_sets[*s].verdicts.iter().filter_map(|v| match v {
                        Verdict::JumpAt(x) | Verdict::GotoAt(x) => Some(*x),
                        _ => None,
                    })),
                    _ => {}
                }
                t
            });
            let mut seen = std::collections::HashSet::new();
            for t in targets {
                if seen.insert(t) {
                    deepest = deepest.max(1 + below(rs, t, memo, on)?);
                }
            }
            on[c] = false;
            memo[c] = Some(deepest);
            Ok(deepest)
        }
        let n = self.linked.len();
        let (mut memo, mut on) = (vec![None; n], vec![false; n]);
        for c in 0..n {
            let d = below(self, c, &mut memo, &mut on)?;
            if d > Self::MAX_JUMP_DEPTH {
                return err(format!(
                    "chains jump {d} levels deep, more than the kernel's {} (NFT_JUMP_STACK_SIZE): not a ruleset the kernel can hold",
                    Self::MAX_JUMP_DEPTH
                ));
            }
        }
        Ok(())
    }

    /// Whether the relation walk (`relation.rs`, every pair at once) models this ruleset's
    /// `hook` for IPv4, so that `verify` does not fall back to walking pair by pair.
    pub fn relation_walks(&self, hook: Hook) -> bool {
        self.accepted_relation(
            &self.bases(hook),
            true,
            Ranges::range(0, u128::from(u32::MAX)),
            Ranges::range(0, u128::from(u32::MAX)),
        )
        .is_some()
    }

    /// The elements of a named set or map as read (one inclusive range per dimension), e.g.
    /// to see what a live ruleset holds.
    pub fn set_elements(
        &self,
        family: &str,
        table: &str,
        name: &str,
    ) -> Option<&[Vec<(u128, u128)>]> {
        self.set(family, table, name).map(|s| s.elems.as_slice())
    }

    /// Rules the reader could not model, on chains no filtered packet reaches.
    pub fn unmodelled(&self) -> &[String] {
        &self.unmodelled
    }

    /// Whether a packet passes every base chain of `hook` (accept in one base chain passes
    /// it on to the next; a drop anywhere is final; no chain on the hook: accepted).
    pub fn accepts(&self, hook: Hook, p: &Packet) -> bool {
        self.accepts_with(&self.bases(hook), p)
    }

    /// The base chains of a hook, in priority order, with their linked index.
    /// The base chains a packet deciding on `hook` passes, in the order the kernel runs them:
    /// netdev ingress, prerouting (every priority: raw, mangle, filter), then the hook's own
    /// (input, or forward and postrouting), each by priority.
    fn bases(&self, hook: Hook) -> Vec<Base<'_>> {
        let stages: &[Hook] = match hook {
            Hook::Input => &[Hook::Ingress, Hook::Prerouting, Hook::Input],
            Hook::Output => &[Hook::Output, Hook::Postrouting],
            Hook::Forward => &[
                Hook::Ingress,
                Hook::Prerouting,
                Hook::Forward,
                Hook::Postrouting,
            ],
            other => return self.bases_on(other),
        };
        stages.iter().flat_map(|&h| self.bases_on(h)).collect()
    }

    fn bases_on(&self, hook: Hook) -> Vec<Base<'_>> {
        let mut bases: Vec<Base<'_>> = self
            .chains
            .iter()
            .filter_map(|(k, c)| {
                c.hook
                    .filter(|h| h.0 == hook)
                    .map(|(_, prio, drop)| (k, self.chain_ids[k], prio, drop))
            })
            .collect();
        bases.sort_by_key(|b| (b.2, b.0.clone()));
        bases
    }

    /// The base chain that drops a packet on `hook` (family, table, chain), if one does.
    pub fn dropped_by(&self, hook: Hook, p: &Packet) -> Option<(String, String, String)> {
        self.first_drop(&self.bases(hook), p).cloned()
    }

    /// Tables other than netc's own `inet netc`, as `family name`.
    pub fn foreign_tables(&self) -> Vec<String> {
        let mut t: Vec<String> = self
            .chains
            .keys()
            .filter(|k| !(k.0 == "inet" && k.1 == "netc"))
            .map(|k| format!("{} {}", k.0, k.1))
            .collect();
        t.dedup();
        t
    }

    fn accepts_with(&self, bases: &[Base<'_>], p: &Packet) -> bool {
        self.first_drop(bases, p).is_none()
    }

    /// The first base chain (in priority order) that drops the packet: accept in one base
    /// chain passes it on to the next, a drop anywhere is final.
    fn first_drop<'a>(
        &self,
        bases: &[Base<'a>],
        p: &Packet,
    ) -> Option<&'a (String, String, String)> {
        // The packet's mark, as the chains set it (it enters with none).
        let mut mark = 0u32;
        RUN_MEMO.with(|m| m.borrow_mut().clear());
        for &(k, chain, _, policy_drop) in bases {
            if !applies(&k.0, p.v4) {
                continue;
            }
            match self.run(chain, p, 0, &mut mark) {
                Some(false) => return Some(k),
                None if policy_drop => return Some(k),
                _ => {}
            }
        }
        None
    }

    /// The verdict of a (linked) chain: Some(accept?) or None (fell through / returned).
    /// For one packet a chain entered with one mark always ends the same way: memoised.
    fn run(&self, chain: usize, p: &Packet, depth: usize, mark: &mut u32) -> Option<bool> {
        let key = (chain, *mark);
        if let Some((r, m)) = RUN_MEMO.with(|memo| memo.borrow().get(&key).copied()) {
            *mark = m;
            return r;
        }
        let r = self.run_uncached(chain, p, depth, mark);
        RUN_MEMO.with(|memo| memo.borrow_mut().insert(key, (r, *mark)));
        r
    }

    fn run_uncached(&self, chain: usize, p: &Packet, depth: usize, mark: &mut u32) -> Option<bool> {
        if depth > 64 {
            return Some(false);
        }
        let mut buf = [0u128; 8];
        for rule in self.rules_for(chain, p) {
            for e in rule {
                match e {
                    Expr::Match {
                        fields,
                        negate,
                        right,
                    } => {
                        let Some(n) = values(fields, p, *mark, &mut buf) else {
                            break;
                        };
                        let vals = &buf[..n];
                        let hit = match right {
                            // A bitmask: the packet's state is one of the listed ones.
                            _ if matches!(
                                fields.as_slice(),
                                [Field::CtState | Field::CtStatus | Field::DstType]
                            ) =>
                            {
                                self.elements(right).iter().any(|e| e[0].0 & vals[0] != 0)
                            }
                            Right::SetAt(i) => self.linked_sets[*i].find(vals).is_some(),
                            Right::Values(v) => v.iter().any(|e| contains(e, vals)),
                            Right::Set(_) => false,
                        };
                        if hit == *negate {
                            break;
                        }
                    }
                    Expr::SetMark { and, or } => *mark = (*mark & and) | or,
                    Expr::Vmap { fields, map } => {
                        let Some(n) = values(fields, p, *mark, &mut buf) else {
                            break;
                        };
                        let vals = &buf[..n];
                        let found = match map {
                            VmapRef::At(i) => {
                                let s = &self.linked_sets[*i];
                                s.find(vals).map(|k| &s.verdicts[k])
                            }
                            VmapRef::Inline(items) => items
                                .iter()
                                .find(|(e, _)| contains(e, vals))
                                .map(|(_, v)| v),
                            VmapRef::Named(_) => None,
                        };
                        match found {
                            None => break,
                            Some(v) => {
                                if let Some(r) = self.verdict(v, p, depth, mark) {
                                    return r;
                                }
                            }
                        }
                    }
                    Expr::Verdict(v) => {
                        if let Some(r) = self.verdict(v, p, depth, mark) {
                            return r;
                        }
                    }
                }
            }
        }
        None
    }

    /// Apply a verdict: Some(result of the base chain) when it ends the evaluation there,
    /// None to go on with the next statement or rule.
    fn verdict(
        &self,
        v: &Verdict,
        p: &Packet,
        depth: usize,
        mark: &mut u32,
    ) -> Option<Option<bool>> {
        match v {
            Verdict::Accept => Some(Some(true)),
            Verdict::Drop => Some(Some(false)),
            Verdict::Return => Some(None),
            // A jump to a chain the ruleset does not have: nothing happens.
            Verdict::Jump(_) | Verdict::Goto(_) => None,
            Verdict::JumpAt(c) | Verdict::GotoAt(c) => {
                match self.run(*c, p, depth + 1, mark) {
                    Some(r) => Some(Some(r)),
                    // A goto that falls through ends the calling chain too.
                    None if matches!(v, Verdict::GotoAt(_)) => Some(None),
                    None => None,
                }
            }
        }
    }

    /// The elements a match's right side holds (a linked set's, or literal values; none for
    /// a set the ruleset does not have).
    fn elements<'s>(&'s self, right: &'s Right) -> &'s [Vec<(u128, u128)>] {
        match right {
            Right::SetAt(i) => &self.linked_sets[*i].elems,
            Right::Values(v) => v,
            Right::Set(_) => &[],
        }
    }

    fn set(&self, family: &str, table: &str, name: &str) -> Option<&SetDef> {
        self.sets
            .get(&(family.to_string(), table.to_string(), name.to_string()))
    }

    /// Every range any element or literal of the ruleset holds, in any position.
    fn components(&self) -> Vec<(u128, u128)> {
        let mut out: Vec<(u128, u128)> = Vec::new();
        for s in self.sets.values() {
            for e in &s.elems {
                out.extend(e.iter().copied());
            }
        }
        for c in self.chains.values() {
            for rule in &c.rules {
                for e in rule {
                    if let Expr::Match {
                        right: Right::Values(v),
                        ..
                    } = e
                    {
                        for e in v {
                            out.extend(e.iter().copied());
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every boundary the ruleset draws, per dimension: (IPv4 addresses, IPv6 addresses,
    /// protocols, ports) as interval starts.
    pub fn boundaries(&self) -> [Vec<u128>; 4] {
        let mut b: [Vec<u128>; 4] = Default::default();
        // Without the sets' types, every component's ends go into every dimension that could
        // hold it: harmless, cells only get finer.
        for (lo, hi) in self.components() {
            let dims = [true, true, hi <= 255, hi <= 65535];
            for (dim, fits) in dims.into_iter().enumerate() {
                if fits {
                    b[dim].push(lo);
                    if hi < u128::MAX {
                        b[dim].push(hi + 1);
                    }
                }
            }
        }
        b
    }
}

/// Whether a table of `family` sees packets of the family (`inet` sees both).
fn applies(family: &str, v4: bool) -> bool {
    match family {
        // A netdev ingress chain sees every packet of its device, of either family.
        "inet" | "netdev" => true,
        "ip" => v4,
        "ip6" => !v4,
        _ => false,
    }
}

fn contains(e: &[(u128, u128)], vals: &[u128]) -> bool {
    e.len() == vals.len() && e.iter().zip(vals).all(|(&(lo, hi), &v)| lo <= v && v <= hi)
}

/// The packet's values for a match's fields, into `out`, and how many; None when a field does
/// not apply (an IPv6 field of an IPv4 packet, a port of an ICMP packet) or there are more
/// than `out` holds.
fn values(fields: &[Field], p: &Packet, mark: u32, out: &mut [u128; 8]) -> Option<usize> {
    if fields.len() > out.len() {
        return None;
    }
    for (slot, f) in out.iter_mut().zip(fields) {
        *slot = match *f {
            Field::Saddr(fam) => (fam.is_none_or(|v4| v4 == p.v4)).then_some(p.src)?,
            Field::Daddr(fam) => (fam.is_none_or(|v4| v4 == p.v4)).then_some(p.dst)?,
            Field::L4proto => u128::from(p.proto),
            Field::Dport => matches!(p.proto, 6 | 17).then_some(u128::from(p.dport))?,
            Field::DportOf(proto) => (p.proto == proto).then_some(u128::from(p.dport))?,
            Field::CtStatus => 0,
            Field::Sport => (matches!(p.proto, 6 | 17)).then_some(40000)?,
            Field::DstType => 2,
            Field::HopLimit => 64,
            Field::Never => 0,
            Field::IcmpType(v4) => {
                (matches!(p.proto, 1 | 58) && v4 == p.v4).then_some(if v4 { 8 } else { 128 })?
            }
            Field::CtState => 8,
            Field::Iif | Field::Oif => u128::MAX - 1,
            Field::FibOif => 1,
            Field::EtherType => {
                if p.v4 {
                    0x0800
                } else {
                    0x86dd
                }
            }
            Field::NfProto => {
                if p.v4 {
                    2
                } else {
                    10
                }
            }
            Field::Mark(mask) => u128::from(mark & mask),
        };
    }
    Some(fields.len())
}

/// A packet on which two sides disagree.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub src: String,
    pub dst: String,
    pub service: String,
    /// The service as data: the protocol and the destination port (none for ICMP).
    pub protocol: &'static str,
    pub port: Option<u16>,
    /// What the ruleset does with it.
    pub ruleset_accepts: bool,
    /// The table and chain that drop it, when the ruleset drops it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_by: Option<String>,
}

/// Compare a ruleset's `hook` with `expected` for every packet from `sources` to
/// `destinations` (both of one family, as plain addresses), on every service: exact.
/// `plan_ranges` are the address ranges the expected side depends on (its rules' sources and
/// destinations, the domains' spaces). Addresses that belong to the same ranges of both sides
/// (the ruleset's elements and literals, the plan's ranges) cannot be told apart by either
/// side, so one address of each such class is evaluated, and each (source, destination) pair
/// of classes is walked through the ruleset once, symbolically over the services
/// (`symbolic.rs`): the whole set of services it accepts, compared with the plan's. A
/// difference is reported once per maximal range of services on which the sides disagree
/// the same way, with its first service as the example. The pairs are shared out among the
/// machine's cores. At most `limit` differences are returned, in destination-then-source
/// order (the same whatever the number of cores).
#[allow(clippy::too_many_arguments)]
pub fn compare(
    rs: &Ruleset,
    hook: Hook,
    v4: bool,
    sources: &[(u128, u128)],
    destinations: &[(u128, u128)],
    plan_ranges: &[(u128, u128)],
    expected: &(dyn Fn(u128, u128) -> Set + Sync),
    limit: usize,
) -> Vec<Difference> {
    let (src_reps, dst_reps) = representatives(rs, v4, sources, destinations, plan_ranges);
    let bases = rs.bases(hook);
    let chunk = |dsts: &[u128]| -> Vec<Difference> {
        let mut out = Vec::new();
        for &d in dsts {
            for &s in &src_reps {
                let pair = Packet {
                    v4,
                    src: s,
                    dst: d,
                    proto: 0,
                    dport: 0,
                };
                let got = rs.accepted_services_with(&bases, &pair);
                let want = plan_services(&expected(s, d), v4);
                if pair_differences(rs, hook, &pair, &got, &want, &mut out, limit) {
                    return out;
                }
            }
        }
        out
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = dst_reps.len().div_ceil(cores.max(1)).max(64);
    let found: Vec<Vec<Difference>> = std::thread::scope(|scope| {
        let handles: Vec<_> = dst_reps
            .chunks(per)
            .map(|part| scope.spawn(move || chunk(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a comparison thread does not panic"))
            .collect()
    });
    found.into_iter().flatten().take(limit).collect()
}

/// One address of each class of sources and of destinations: addresses that belong to the
/// same ranges of both sides (the ruleset's elements and literals, the plan's ranges).
fn representatives(
    rs: &Ruleset,
    v4: bool,
    sources: &[(u128, u128)],
    destinations: &[(u128, u128)],
    plan_ranges: &[(u128, u128)],
) -> (Vec<u128>, Vec<u128>) {
    let [b4, b6, _, _] = rs.boundaries();
    let mut cuts: Vec<u128> = if v4 { b4 } else { b6 }
        .into_iter()
        .chain(
            plan_ranges
                .iter()
                .flat_map(|&(lo, hi)| [lo, hi.saturating_add(1)]),
        )
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut components = rs.components();
    components.extend_from_slice(plan_ranges);
    components.sort_unstable();
    components.dedup();
    let sigs = Signatures::new(&components);
    let classes = |ranges: &[(u128, u128)]| -> Vec<u128> {
        let mut seen = std::collections::HashSet::new();
        let mut reps = Vec::new();
        for &(lo, hi) in ranges {
            let from = cuts.partition_point(|&c| c <= lo);
            let to = cuts.partition_point(|&c| c <= hi);
            for v in std::iter::once(lo).chain(cuts[from..to].iter().copied()) {
                if seen.insert(sigs.at(v)) {
                    reps.push(v);
                }
            }
        }
        reps
    };
    (classes(sources), classes(destinations))
}

/// The differences of one pair (`pair`'s addresses and family): one per maximal range of
/// services on which `got` and `want` disagree the same way, its first service the example.
/// True when `out` holds `limit`.
fn pair_differences(
    rs: &Ruleset,
    hook: Hook,
    pair: &Packet,
    got: &Svc,
    want: &Svc,
    out: &mut Vec<Difference>,
    limit: usize,
) -> bool {
    if got == want {
        return false;
    }
    let v4 = pair.v4;
    let mut ranges: Vec<((u32, u32), bool)> = got
        .subtract(want)
        .0
        .into_iter()
        .map(|r| (r, true))
        .chain(want.subtract(got).0.into_iter().map(|r| (r, false)))
        .collect();
    ranges.sort_unstable();
    for ((lo, _), accepts) in ranges {
        let (proto, port) = ((lo >> 16) as u8, (lo & 0xffff) as u16);
        let p = Packet {
            proto,
            dport: port,
            ..*pair
        };
        let icmp = matches!(proto, 1 | 58);
        let key = if icmp {
            space::service_set(crate::ir::Proto::Icmp, None)
                .first()
                .expect("icmp has a key")
        } else {
            Key::from(u128::from(lo))
        };
        out.push(Difference {
            src: space::raw_range_text(v4, pair.src, pair.src),
            dst: space::raw_range_text(v4, pair.dst, pair.dst),
            service: space::service_text(&Set::point(key)),
            protocol: match proto {
                6 => "tcp",
                17 => "udp",
                _ => "icmp",
            },
            port: (!icmp).then_some(port),
            ruleset_accepts: accepts,
            dropped_by: (!accepts)
                .then(|| rs.dropped_by(hook, &p))
                .flatten()
                .map(|k| format!("table {} {} chain {}", k.0, k.1, k.2)),
        });
        if out.len() >= limit {
            return true;
        }
    }
    false
}

/// The same comparison as `compare`, by one relation walk (`relation.rs`): the packets the
/// ruleset accepts, as pieces, against the plan's atom pairs that have rules. Both sides are
/// sparse: a pair of classes is visited only when one side accepts something for it, so the
/// cost follows the ruleset's elements and the plan's rule pairs, not (source classes ×
/// destination classes). `key` gives the plan's key of an address; the plan's side is the
/// policy alone (no stock rules). None when the ruleset has something the relation walk does
/// not model; the caller then uses `compare`.
#[allow(clippy::too_many_arguments)]
fn compare_relation(
    rs: &Ruleset,
    hook: Hook,
    v4: bool,
    sources: &[(u128, u128)],
    destinations: &[(u128, u128)],
    plan_ranges: &[(u128, u128)],
    key: &dyn Fn(u128) -> Option<Key>,
    policy: &crate::policy::Policy,
    limit: usize,
) -> Option<Vec<Difference>> {
    let bases = rs.bases(hook);
    let pieces = rs.accepted_relation(
        &bases,
        v4,
        Ranges::from_unsorted(sources.to_vec()),
        Ranges::from_unsorted(destinations.to_vec()),
    )?;
    let (src_reps, dst_reps) = representatives(rs, v4, sources, destinations, plan_ranges);
    let sorted = |reps: &[u128]| {
        let mut v: Vec<(u128, usize)> = reps.iter().copied().zip(0..).collect();
        v.sort_unstable();
        v
    };
    let (ss, ds) = (sorted(&src_reps), sorted(&dst_reps));
    let inside = |sorted: &[(u128, usize)], set: &relation::Addrs| -> Vec<usize> {
        let mut out = Vec::new();
        for &(lo, hi) in &set.0 {
            let from = sorted.partition_point(|r| r.0 < lo);
            out.extend(sorted[from..].iter().take_while(|r| r.0 <= hi).map(|r| r.1));
        }
        out
    };
    let atom_of =
        |a: u128| key(a).and_then(|k| policy.atoms.atoms_of(&Set::point(k)).first().copied());
    // Representatives that lie in the same pieces' sets and the same atom of the plan cannot
    // be told apart by either side: one class each (a tier's scattered hosts are one class).
    // `classes(reps, sets)`: for each rep its class, and each class's first rep.
    let classes = |reps: &[u128], sorted: &[(u128, usize)], sets: &[&Arc<relation::Addrs>]| {
        let mut member: Vec<Vec<usize>> = vec![Vec::new(); reps.len()];
        let mut seen: HashMap<*const relation::Addrs, usize> = HashMap::new();
        for set in sets {
            let next = seen.len();
            let id = *seen.entry(Arc::as_ptr(set)).or_insert(next);
            if id == next {
                for r in inside(sorted, set) {
                    member[r].push(id);
                }
            }
        }
        let mut class_of = vec![0usize; reps.len()];
        let mut first: Vec<usize> = Vec::new();
        let mut ids: HashMap<(Vec<usize>, Option<u32>), usize> = HashMap::new();
        for (r, m) in member.into_iter().enumerate() {
            let next = first.len();
            let c = *ids.entry((m, atom_of(reps[r]))).or_insert(next);
            if c == next {
                first.push(r);
            }
            class_of[r] = c;
        }
        (class_of, first)
    };
    let (src_class, src_first) = classes(
        &src_reps,
        &ss,
        &pieces.iter().map(|p| &p.0).collect::<Vec<_>>(),
    );
    let (dst_class, dst_first) = classes(
        &dst_reps,
        &ds,
        &pieces.iter().map(|p| &p.1).collect::<Vec<_>>(),
    );
    let class_set = |sorted: &[(u128, usize)], set: &relation::Addrs, class_of: &[usize]| {
        let mut c: Vec<usize> = inside(sorted, set)
            .into_iter()
            .map(|r| class_of[r])
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    // (destination class, source class) -> services, on each side.
    let mut got: HashMap<(usize, usize), Svc> = HashMap::new();
    let mut src_memo: HashMap<*const relation::Addrs, Vec<usize>> = HashMap::new();
    let mut dst_memo: HashMap<*const relation::Addrs, Vec<usize>> = HashMap::new();
    for (src, dst, svc) in &pieces {
        let srcs = src_memo
            .entry(Arc::as_ptr(src))
            .or_insert_with(|| class_set(&ss, src, &src_class))
            .clone();
        let dsts = dst_memo
            .entry(Arc::as_ptr(dst))
            .or_insert_with(|| class_set(&ds, dst, &dst_class));
        for &d in dsts.iter() {
            for &s in &srcs {
                let cell = got.entry((d, s)).or_default();
                *cell = cell.union(svc);
            }
        }
    }
    let by_atom = |first: &[usize], reps: &[u128]| {
        let mut m: HashMap<u32, Vec<usize>> = HashMap::new();
        for (c, &r) in first.iter().enumerate() {
            if let Some(atom) = atom_of(reps[r]) {
                m.entry(atom).or_default().push(c);
            }
        }
        m
    };
    let (src_atoms, dst_atoms) = (
        by_atom(&src_first, &src_reps),
        by_atom(&dst_first, &dst_reps),
    );
    let all = space::all_services();
    let mut want: HashMap<(usize, usize), Svc> = HashMap::new();
    for (&(sa, da), rules) in &policy.pairs {
        let (Some(srcs), Some(dsts)) = (src_atoms.get(&sa), dst_atoms.get(&da)) else {
            continue;
        };
        let (permitted, _, _) = crate::policy::Policy::evaluate_pair(rules, &all);
        let set = permitted
            .iter()
            .fold(Set::empty(), |acc, (s, _)| acc.union(s));
        let svc = plan_services(&set, v4);
        if svc.is_empty() {
            continue;
        }
        for &d in dsts {
            for &s in srcs {
                want.insert((d, s), svc.clone());
            }
        }
    }
    let mut cells: Vec<(usize, usize)> = got.keys().chain(want.keys()).copied().collect();
    cells.sort_unstable();
    cells.dedup();
    let empty = Svc::empty();
    let mut out = Vec::new();
    for (d, s) in cells {
        let pair = Packet {
            v4,
            src: src_reps[src_first[s]],
            dst: dst_reps[dst_first[d]],
            proto: 0,
            dport: 0,
        };
        let (g, w) = (
            got.get(&(d, s)).unwrap_or(&empty),
            want.get(&(d, s)).unwrap_or(&empty),
        );
        if pair_differences(rs, hook, &pair, g, w, &mut out, limit) {
            break;
        }
    }
    Some(out)
}

/// The plan's services as the ruleset side sees them: TCP and UDP ports as they are, ICMP as
/// the one echo request point of the family.
fn plan_services(plan: &Set, v4: bool) -> Svc {
    let tcp_udp = Ranges(vec![
        (6 << 16, (6 << 16) | 0xffff),
        (17 << 16, (17 << 16) | 0xffff),
    ]);
    let as_u32 =
        |k: Key| -> Option<u32> { (k.hi == 0).then(|| u32::try_from(k.lo).ok()).flatten() };
    let mut mine = Vec::new();
    for &(lo, hi) in plan.ranges() {
        if let Some(lo) = as_u32(lo) {
            mine.push((lo, as_u32(hi).unwrap_or(u32::MAX)));
        }
    }
    let mut out = Ranges(mine).intersect(&tcp_udp);
    if plan.intersects(&space::service_set(crate::ir::Proto::Icmp, None)) {
        let icmp: u32 = if v4 { 1 } else { 58 };
        out = out.union(&Ranges(vec![(icmp << 16, icmp << 16)]));
    }
    out
}

/// Membership signatures of addresses in a list of ranges, by one sweep: each range has a
/// 128-bit value (splitmix64 of its index, fixed), an address's signature is the XOR of the
/// values of the ranges that hold it. Two addresses with different memberships get equal
/// signatures with probability 2^-128.
struct Signatures {
    at: Vec<u128>,
    sig: Vec<u128>,
}

impl Signatures {
    fn new(ranges: &[(u128, u128)]) -> Signatures {
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        let mut events: Vec<(u128, u128)> = Vec::with_capacity(ranges.len() * 2);
        for (i, &(lo, hi)) in ranges.iter().enumerate() {
            let i = i as u64;
            let h = (u128::from(mix(2 * i)) << 64) | u128::from(mix(2 * i + 1));
            events.push((lo, h));
            if hi < u128::MAX {
                events.push((hi + 1, h));
            }
        }
        events.sort_unstable_by_key(|e| e.0);
        let (mut at, mut sig) = (Vec::new(), Vec::new());
        let mut cur = 0u128;
        for (pos, h) in events {
            cur ^= h;
            if at.last() == Some(&pos) {
                *sig.last_mut().expect("same length") = cur;
            } else {
                at.push(pos);
                sig.push(cur);
            }
        }
        Signatures { at, sig }
    }

    fn at(&self, v: u128) -> u128 {
        match self.at.partition_point(|&p| p <= v) {
            0 => 0,
            k => self.sig[k - 1],
        }
    }
}

/// An enforcement point of the plan whose nftables ruleset is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Host(usize),
    Router(usize),
}

/// The plan's address ranges of one family, projected: every rule's sources and
/// destinations, and the domains' spaces (the plan's policy is a function of membership in
/// them).
fn plan_cuts(
    plan: &crate::ir::Plan,
    info: &crate::check::PlanInfo,
    visible: &Set,
    v4: bool,
) -> Vec<(u128, u128)> {
    let mut addrs = Vec::new();
    let domain_sets = (0..plan.domains.count).map(space::domain_space);
    let sets = info
        .policy
        .flow_boxes
        .iter()
        .flat_map(|b| [b.src.clone(), b.dst.clone()])
        .chain(domain_sets.map(|d| d.intersect(visible)))
        .chain([visible.clone()]);
    for set in sets {
        for (fam, lo, hi) in space::project(&set) {
            if fam == v4 {
                addrs.push((lo, hi));
            }
        }
    }
    addrs.sort_unstable();
    addrs.dedup();
    addrs
}

/// The plan's key for a plain address as an enforcement point in `domains` receives it.
fn key_for(
    plan: &crate::ir::Plan,
    visible: &Set,
    domains: &[u32],
    v4: bool,
    a: u128,
) -> Option<Key> {
    let addr = if v4 {
        std::net::IpAddr::V4(std::net::Ipv4Addr::from(a as u32))
    } else {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(a))
    };
    // An address of one of the point's domains' subnets, else the internet's, else (an
    // address that is nowhere) the first domain's.
    let inside = domains.iter().map(|&d| space::key(d, addr)).find(|&k| {
        plan.domains
            .subnets
            .get(space::key_domain(k) as usize)
            .is_some_and(|s| s.contains(k))
    });
    let internet = Some(space::key(0, addr)).filter(|&k| plan.internet_set().contains(k));
    inside.or(internet).or_else(|| {
        domains
            .iter()
            .map(|&d| space::key(d, addr))
            .find(|k| visible.contains(*k))
    })
}

/// Compare the ruleset of one enforcement point with the plan: for a host, its input hook
/// for every packet to its own addresses (and VIPs); for a router, its forward hook for every
/// packet it can receive, and its input hook for packets to its own addresses. Returns the
/// differences (at most `limit`), each with what the plan says.
pub fn verify(
    plan: &crate::ir::Plan,
    info: &crate::check::PlanInfo,
    point: Point,
    rs: &Ruleset,
    limit: usize,
) -> Vec<(Difference, String)> {
    verify_with(plan, info, point, rs, limit, true)
}

/// `verify` by the pair walk alone (no relation walk for routers): the slow path the fast
/// one is tested against.
pub fn verify_pairwise(
    plan: &crate::ir::Plan,
    info: &crate::check::PlanInfo,
    point: Point,
    rs: &Ruleset,
    limit: usize,
) -> Vec<(Difference, String)> {
    verify_with(plan, info, point, rs, limit, false)
}

fn verify_with(
    plan: &crate::ir::Plan,
    info: &crate::check::PlanInfo,
    point: Point,
    rs: &Ruleset,
    limit: usize,
    relation: bool,
) -> Vec<(Difference, String)> {
    let domains = match point {
        Point::Host(h) => plan.host_domains(h),
        Point::Router(r) => vec![plan.router_domain(r)],
    };
    let visible = plan.visible(&domains);
    let stock_echo =
        matches!(point, Point::Host(h) if plan.hosts[h].firewall.stock_accepts_icmp_echo());
    let mut out = Vec::new();
    for v4 in [true, false] {
        if !v4 && rs.ipv6_not_given {
            // No ip6tables-save output was given: IPv6 is not compared (and says so).
            continue;
        }
        let addr_cuts = plan_cuts(plan, info, &visible, v4);
        let seen: Vec<(u128, u128)> = space::project(&visible)
            .into_iter()
            .filter(|p| p.0 == v4)
            .map(|p| (p.1, p.2))
            .collect();
        let own = |set: &Set| -> Vec<(u128, u128)> {
            space::project(set)
                .into_iter()
                .filter(|p| p.0 == v4)
                .map(|p| (p.1, p.2))
                .collect()
        };
        // `stock`: the host's stock rules accept ICMP echo here (ufw's before.rules on input,
        // and its before6.rules on output), as netc's answers say (see docs/targets.md).
        let expected_with = |stock: bool, s: u128, d: u128| -> Set {
            match (
                key_for(plan, &visible, &domains, v4, s),
                key_for(plan, &visible, &domains, v4, d),
            ) {
                (Some(sk), Some(dk)) => {
                    let e = info.policy.evaluate(&space::HBox {
                        src: Set::point(sk),
                        dst: Set::point(dk),
                        svc: space::all_services(),
                    });
                    let permitted = e
                        .permitted
                        .iter()
                        .fold(Set::empty(), |acc, (b, _)| acc.union(&b.svc));
                    if stock {
                        permitted.union(&space::service_set(crate::ir::Proto::Icmp, None))
                    } else {
                        permitted
                    }
                }
                _ => Set::empty(),
            }
        };
        // (hook, sources, destinations)
        type Run = (Hook, Vec<(u128, u128)>, Vec<(u128, u128)>);
        let mut runs: Vec<Run> = Vec::new();
        match point {
            Point::Host(h) => {
                runs.push((Hook::Input, seen.clone(), own(&plan.host_local_set(h))));
                // A host that filters egress: what it sends from its interface addresses.
                if plan.tiers[plan.hosts[h].tier].egress {
                    runs.push((Hook::Output, own(&plan.host_set(h)), seen.clone()));
                }
            }
            Point::Router(r) => {
                runs.push((Hook::Forward, seen.clone(), seen.clone()));
                runs.push((
                    Hook::Input,
                    seen.clone(),
                    own(&plan.endpoint_set(&crate::ir::EndpointRef::Router(r))),
                ));
            }
        }
        for (hook, srcs, dsts) in runs {
            if dsts.is_empty() || srcs.is_empty() {
                continue;
            }
            let stock = stock_echo && (hook == Hook::Input || !v4);
            let expected = |s: u128, d: u128| expected_with(stock, s, d);
            let left = limit.saturating_sub(out.len());
            let key = |a: u128| key_for(plan, &visible, &domains, v4, a);
            let fast = match point {
                Point::Router(_) if relation => compare_relation(
                    rs,
                    hook,
                    v4,
                    &srcs,
                    &dsts,
                    &addr_cuts,
                    &key,
                    &info.policy,
                    left,
                ),
                _ => None,
            };
            let found = fast.unwrap_or_else(|| {
                compare(rs, hook, v4, &srcs, &dsts, &addr_cuts, &expected, left)
            });
            for d in found {
                let why = plan_reason(plan, info, &visible, &domains, v4, &d);
                out.push((d, why));
            }
            if out.len() >= limit {
                return out;
            }
        }
    }
    out
}

/// What the plan says of a difference's packet: the allow that permits it, or why not.
fn plan_reason(
    plan: &crate::ir::Plan,
    info: &crate::check::PlanInfo,
    visible: &Set,
    domains: &[u32],
    v4: bool,
    d: &Difference,
) -> String {
    let parse = |t: &str| ip_value(t).map(|x| x.1).unwrap_or(0);
    let (Some(s), Some(dst)) = (
        key_for(plan, visible, domains, v4, parse(&d.src)),
        key_for(plan, visible, domains, v4, parse(&d.dst)),
    ) else {
        return "the plan has no such addresses here".into();
    };
    // The service as data (tcp/0, which no question may name, included).
    let proto = match d.protocol {
        "tcp" => Some(crate::ir::Proto::Tcp),
        "udp" => Some(crate::ir::Proto::Udp),
        "icmp" | "icmpv6" => Some(crate::ir::Proto::Icmp),
        _ => None,
    };
    let svc = match (proto, crate::query::resolve_services(plan, &d.service)) {
        (Some(p), _) => space::service_set(p, d.port.map(|x| (x, x))),
        (None, Ok((svc, _))) => svc,
        (None, Err(_)) => {
            return format!(
                "no rule of the plan names {} (a protocol netc's rules do not speak of)",
                d.service
            )
        }
    };
    let e = info.policy.evaluate(&space::HBox {
        src: Set::point(s),
        dst: Set::point(dst),
        svc,
    });
    let rule = |f: usize| {
        format!(
            "{}  {}",
            plan.flows[f].origin.file_line(),
            plan.flows[f]
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    if let Some((_, f)) = e.permitted.first() {
        format!("the plan allows it: {}", rule(*f))
    } else if let Some((_, f)) = e.denied.first() {
        format!("the plan denies it: {}", rule(*f))
    } else {
        "no rule of the plan allows it".into()
    }
}

fn is_meta_mark(v: &Value) -> bool {
    v.get("meta")
        .and_then(|m| m.get("key"))
        .and_then(Value::as_str)
        == Some("mark")
}

/// The value of `meta mark set VALUE` as (and, or) masks: a number, `meta mark & A`,
/// `meta mark | B` or `(meta mark & A) | B`.
fn mark_value(v: &Value) -> Option<(u32, u32)> {
    let num = |v: &Value| v.as_u64().and_then(|x| u32::try_from(x).ok());
    if let Some(n) = num(v) {
        return Some((0, n));
    }
    if is_meta_mark(v) {
        return Some((u32::MAX, 0));
    }
    let pair = |k: &str| -> Option<(Value, u32)> {
        let p = v.get(k)?.as_array()?;
        (p.len() == 2).then(|| Some((p[0].clone(), num(&p[1])?)))?
    };
    if let Some((inner, a)) = pair("&") {
        let (and, or) = mark_value(&inner)?;
        return Some((and & a, or & a));
    }
    if let Some((inner, b)) = pair("|") {
        let (and, or) = mark_value(&inner)?;
        return Some((and & !b, or | b));
    }
    None
}

/// One rule's expressions.
fn parse_rule(r: &Value, family: &str, where_: &str) -> Result<Vec<Expr>, ReadError> {
    let mut exprs = Vec::new();
    for e in r
        .get("expr")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(m) = e.get("match") {
            let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
            let negate = match op {
                "==" | "in" => false,
                "!=" => true,
                _ => return err(format!("{where_}: operator `{op}` is not modelled")),
            };
            let fields = field(m.get("left").unwrap_or(&Value::Null), family, where_)?;
            // Interface names are read as "some interface other than lo", ICMPv6 type names
            // as ICMPv6 types (see `scalar`).
            let w = if fields.contains(&Field::Iif) {
                format!("{where_} iif")
            } else if fields.contains(&Field::Oif) {
                format!("{where_} oif")
            } else if fields.contains(&Field::EtherType) {
                format!("{where_} ethertype")
            } else if fields.contains(&Field::IcmpType(false)) {
                format!("{where_} icmpv6")
            } else {
                where_.to_string()
            };
            let right = match m.get("right") {
                Some(Value::String(s)) if s.starts_with('@') => Right::Set(s[1..].to_string()),
                Some(Value::Array(vals)) => Right::Values(
                    vals.iter()
                        .map(|v| element(v, &w))
                        .collect::<Result<_, _>>()?,
                ),
                Some(v) if v.get("set").is_some() => Right::Values(
                    v["set"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| element(x, &w))
                        .collect::<Result<_, _>>()?,
                ),
                Some(v) => Right::Values(vec![element(v, &w)?]),
                None => return err(format!("{where_}: a match without a value")),
            };
            exprs.push(Expr::Match {
                fields,
                negate,
                right,
            });
        } else if let Some(vm) = e.get("vmap") {
            let fields = field(vm.get("key").unwrap_or(&Value::Null), family, where_)?;
            let map = match vm.get("data") {
                Some(Value::String(s)) if s.starts_with('@') => VmapRef::Named(s[1..].to_string()),
                Some(d) if d.get("set").is_some() => {
                    let mut items = Vec::new();
                    for p in d["set"].as_array().into_iter().flatten() {
                        let pair = p
                            .as_array()
                            .filter(|p| p.len() == 2)
                            .ok_or_else(|| ReadError(format!("{where_}: vmap element {p}")))?;
                        let v = verdict(&pair[1], where_)?.ok_or_else(|| {
                            ReadError(format!("{where_}: vmap element without a verdict"))
                        })?;
                        items.push((element(&pair[0], where_)?, v));
                    }
                    VmapRef::Inline(items)
                }
                _ => return err(format!("{where_}: vmap {vm} is not modelled")),
            };
            exprs.push(Expr::Vmap { fields, map });
        } else if let Some(v) = verdict(e, where_)? {
            exprs.push(Expr::Verdict(v));
        } else if let Some(m) = e.get("mangle") {
            let key = m.get("key").unwrap_or(&Value::Null);
            match (is_meta_mark(key), m.get("value").and_then(mark_value)) {
                (true, Some((and, or))) => exprs.push(Expr::SetMark { and, or }),
                _ => return err(format!("{where_}: statement {e} is not modelled")),
            }
        } else if e.get("log").is_some() || e.get("counter").is_some() {
            // Statements that do not change the verdict.
        } else {
            return err(format!("{where_}: statement {e} is not modelled"));
        }
    }
    Ok(exprs)
}
