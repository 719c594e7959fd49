//! `iptables-save` / `ip6tables-save` output read into the same model as nftables rulesets:
//! what ufw (and anything else on iptables) really loads, including ufw's stock before/after
//! chains. The `filter` table is read; other tables are named as not evaluated (they do not
//! decide whether a packet is accepted: NAT and mangle are outside the model). A match the
//! reader does not model is an error naming it and its rule.

use super::{err, Chain, Expr, Field, Hook, ReadError, Right, Ruleset, Verdict};

/// Words of a rule line, quotes removed (`--log-prefix "[UFW BLOCK] "` is one word).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn proto_number(p: &str) -> Option<u128> {
    Some(match p {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "ipv6-icmp" | "icmpv6" => 58,
        "vrrp" => 112,
        "esp" => 50,
        "ah" => 51,
        "gre" => 47,
        "sctp" => 132,
        n => n.parse().ok()?,
    })
}

/// `10.0.0.0/8`, `10.0.0.1`, `fe80::/10`: an inclusive range.
fn address(text: &str) -> Option<(u128, u128)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let (v4, a) = super::ip_value(addr)?;
    let bits: u32 = if v4 { 32 } else { 128 };
    let len = len.unwrap_or(bits).min(bits);
    let host = match bits - len {
        0 => 0,
        128 => u128::MAX,
        n => (1u128 << n) - 1,
    };
    Some((a & !host, a | host))
}

/// `80`, `1000:2000`, `80,443,8000:8080` (multiport): ranges.
fn ports(text: &str) -> Option<Vec<Vec<(u128, u128)>>> {
    text.split(',')
        .map(|p| {
            let (lo, hi) = match p.split_once(':') {
                Some((a, b)) => (a.parse::<u128>().ok()?, b.parse::<u128>().ok()?),
                None => {
                    let n = p.parse::<u128>().ok()?;
                    (n, n)
                }
            };
            Some(vec![(lo, hi)])
        })
        .collect()
}

/// Conntrack states as the bits `Field::CtState` uses (a new connection is 8).
const CT_STATES: &[(&str, u128)] = &[
    ("INVALID", 1),
    ("ESTABLISHED", 2),
    ("RELATED", 4),
    ("NEW", 8),
    ("UNTRACKED", 64),
];

/// Address types as the bits `Field::DstType` uses (a packet for the host is LOCAL, 2).
const ADDRESS_TYPES: &[(&str, u128)] = &[
    ("UNICAST", 1),
    ("LOCAL", 2),
    ("BROADCAST", 4),
    ("MULTICAST", 8),
    ("ANYCAST", 16),
];

fn push(
    exprs: &mut Vec<Expr>,
    fields: Vec<Field>,
    negate: &mut bool,
    right: Vec<Vec<(u128, u128)>>,
) {
    exprs.push(Expr::Match {
        fields,
        negate: std::mem::take(negate),
        right: Right::Values(right),
    });
}

/// One `-A CHAIN ...` line as expressions: its matches, then its verdict.
fn rule(
    ws: &[String],
    v4: bool,
    where_: &str,
    is_chain: &dyn Fn(&str) -> bool,
) -> Result<Vec<Expr>, ReadError> {
    let mut exprs = Vec::new();
    let mut i = 0;
    let mut negate = false;
    let mut proto: Option<u128> = None;
    let bad = |what: &str| err(format!("{where_}: {what} is not modelled"));
    let value = |i: usize| -> Result<&str, ReadError> {
        ws.get(i)
            .map(String::as_str)
            .ok_or_else(|| ReadError(format!("{where_}: `{}` without a value", ws[i - 1])))
    };
    while i < ws.len() {
        let w = ws[i].as_str();
        match w {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-p" | "--protocol" => {
                let p = proto_number(value(i + 1)?)
                    .ok_or_else(|| ReadError(format!("{where_}: protocol {}", ws[i + 1])))?;
                proto = Some(p);
                push(
                    &mut exprs,
                    vec![Field::L4proto],
                    &mut negate,
                    vec![vec![(p, p)]],
                );
                i += 2;
            }
            "-s" | "--source" | "-d" | "--destination" => {
                let r = address(value(i + 1)?)
                    .ok_or_else(|| ReadError(format!("{where_}: address {}", ws[i + 1])))?;
                let f = if w.starts_with("-s") || w == "--source" {
                    Field::Saddr(Some(v4))
                } else {
                    Field::Daddr(Some(v4))
                };
                push(&mut exprs, vec![f], &mut negate, vec![vec![r]]);
                i += 2;
            }
            "-i" | "--in-interface" => {
                let name = value(i + 1)?;
                let v = if name == "lo" {
                    u128::MAX
                } else {
                    u128::MAX - 1
                };
                push(
                    &mut exprs,
                    vec![Field::Iif],
                    &mut negate,
                    vec![vec![(v, v)]],
                );
                i += 2;
            }
            "-o" | "--out-interface" => {
                // A packet arriving for the host has no outgoing interface: `-o X` never
                // matches it, `! -o X` always does (and the `!` is this match's, not the
                // next one's).
                if !std::mem::take(&mut negate) {
                    exprs.push(Expr::Match {
                        fields: vec![Field::Never],
                        negate: false,
                        right: Right::Values(vec![vec![(1, 1)]]),
                    });
                }
                i += 2;
            }
            "-m" | "--match" => {
                let m = value(i + 1)?;
                match m {
                    "tcp" | "udp" | "icmp" | "icmp6" | "multiport" | "conntrack" | "state"
                    | "addrtype" | "limit" | "comment" | "hl" => {}
                    // `-m rt` matches packets with a routing header, whatever its options:
                    // the packets compared carry none.
                    "rt" => exprs.push(Expr::Match {
                        fields: vec![Field::Never],
                        negate: false,
                        right: Right::Values(vec![vec![(1, 1)]]),
                    }),
                    other => return bad(&format!("match `-m {other}`")),
                }
                i += 2;
            }
            "--dport" | "--dports" | "--destination-port" | "--destination-ports" => {
                let r = ports(value(i + 1)?)
                    .ok_or_else(|| ReadError(format!("{where_}: ports {}", ws[i + 1])))?;
                let f = match proto {
                    Some(p @ (6 | 17)) => Field::DportOf(p as u8),
                    _ => Field::Dport,
                };
                push(&mut exprs, vec![f], &mut negate, r);
                i += 2;
            }
            "--sport" | "--sports" | "--source-port" | "--source-ports" => {
                let r = ports(value(i + 1)?)
                    .ok_or_else(|| ReadError(format!("{where_}: ports {}", ws[i + 1])))?;
                push(&mut exprs, vec![Field::Sport], &mut negate, r);
                i += 2;
            }
            "--icmp-type" | "--icmpv6-type" => {
                let t = value(i + 1)?;
                let t = t.split('/').next().unwrap_or(t);
                let n: u128 = t
                    .parse()
                    .map_err(|_| ReadError(format!("{where_}: ICMP type {t}")))?;
                push(
                    &mut exprs,
                    vec![Field::IcmpType(w == "--icmp-type")],
                    &mut negate,
                    vec![vec![(n, n)]],
                );
                i += 2;
            }
            "--ctstate" | "--state" | "--dst-type" => {
                // Lists of names, read as bitmasks (see `Field::CtState`, `Field::DstType`).
                let (field, names, what): (Field, &[(&str, u128)], &str) = if w == "--dst-type" {
                    (Field::DstType, ADDRESS_TYPES, "address type")
                } else {
                    (Field::CtState, CT_STATES, "conntrack state")
                };
                let mut bits = 0u128;
                for s in value(i + 1)?.split(',') {
                    match names.iter().find(|(n, _)| *n == s) {
                        Some((_, b)) => bits |= b,
                        None => return bad(&format!("{what} {s}")),
                    }
                }
                push(
                    &mut exprs,
                    vec![field],
                    &mut negate,
                    vec![vec![(bits, bits)]],
                );
                i += 2;
            }
            "--hl-eq" => {
                let n: u128 = value(i + 1)?
                    .parse()
                    .map_err(|_| ReadError(format!("{where_}: hop limit")))?;
                push(
                    &mut exprs,
                    vec![Field::HopLimit],
                    &mut negate,
                    vec![vec![(n, n)]],
                );
                i += 2;
            }
            "--rt-type" => {
                // A routing header of this type: the packets compared carry none.
                push(
                    &mut exprs,
                    vec![Field::Never],
                    &mut negate,
                    vec![vec![(1, 1)]],
                );
                i += 2;
            }
            // Rate limits are read as always matching (they only thin out logging in ufw);
            // comments and log options change no verdict.
            "--limit" | "--limit-burst" | "--comment" | "--log-prefix" | "--log-level"
            | "--reject-with" => i += 2,
            "--log-tcp-sequence" | "--log-tcp-options" | "--log-ip-options" | "--log-uid" => i += 1,
            "-j" | "--jump" | "-g" | "--goto" => {
                let target = value(i + 1)?;
                let verdict = match target {
                    "ACCEPT" => Some(Verdict::Accept),
                    "DROP" | "REJECT" => Some(Verdict::Drop),
                    "RETURN" => Some(Verdict::Return),
                    "LOG" | "NFLOG" => None,
                    // A user chain the save declares, whatever its case (`BLACKLIST`).
                    t if is_chain(t) && (w.starts_with("-g") || w == "--goto") => {
                        Some(Verdict::Goto(t.into()))
                    }
                    t if is_chain(t) => Some(Verdict::Jump(t.into())),
                    t if t.chars().all(|c| c.is_ascii_uppercase()) => {
                        return bad(&format!("target {t}"))
                    }
                    t if w.starts_with("-g") || w == "--goto" => Some(Verdict::Goto(t.into())),
                    t => Some(Verdict::Jump(t.into())),
                };
                if let Some(v) = verdict {
                    exprs.push(Expr::Verdict(v));
                }
                i += 2;
            }
            other => return bad(&format!("option `{other}`")),
        }
    }
    Ok(exprs)
}

/// Read `iptables-save` output (IPv4) and `ip6tables-save` output (IPv6) as one ruleset, of
/// families `ip` and `ip6`, table `filter`.
pub fn from_iptables_save(v4: &str, v6: &str) -> Result<Ruleset, ReadError> {
    from_iptables_save_output(v4, v6, false)
}

/// `from_iptables_save`, evaluating the OUTPUT chain too when `output` (a host of an `egress
/// filtered` tier).
pub fn from_iptables_save_output(v4: &str, v6: &str, output: bool) -> Result<Ruleset, ReadError> {
    let mut rs = Ruleset::default();
    if !v4.lines().any(|l| l.trim() == "*filter") {
        return err("neither `nft -j list ruleset` nor `iptables-save` output (no *filter table)");
    }
    // A dump of the other family in the wrong place: its rules would be read as nothing.
    let has_v6 = |t: &str| {
        t.lines().any(|l| {
            l.starts_with(":ufw6-")
                || l.split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|w| matches!(w[0], "-s" | "-d") && w[1].contains(':'))
        })
    };
    let has_v4 = |t: &str| {
        t.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| {
                    matches!(w[0], "-s" | "-d")
                        && w[1]
                            .split('/')
                            .next()
                            .is_some_and(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
                })
        })
    };
    if has_v6(v4) {
        return err("the IPv4 file holds IPv6 rules (is it ip6tables-save output?): give it as the second file, RULESET6");
    }
    if has_v4(v6) {
        return err("the IPv6 file holds IPv4 rules (is it iptables-save output?): give iptables-save output first");
    }
    if v6.trim().is_empty() {
        rs.ipv6_not_given = true;
        rs.unmodelled
            .push("IPv6: not given (no ip6tables-save output): IPv6 is not compared".to_string());
    }
    for (text, family) in [(v4, "ip"), (v6, "ip6")] {
        let mut table: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let where_ = format!("{family} line {}", n + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(t) = line.strip_prefix('*') {
                table = Some(t.to_string());
                if t != "filter" {
                    rs.unmodelled.push(format!(
                        "{family} table {t} (not a filter table: not evaluated)"
                    ));
                }
                continue;
            }
            if line == "COMMIT" {
                table = None;
                continue;
            }
            match table.as_deref() {
                None => {
                    return err(format!(
                        "{where_}: `{line}` is outside a table: not iptables-save output"
                    ))
                }
                Some("filter") => {}
                Some(_) => continue,
            }
            if let Some(decl) = line.strip_prefix(':') {
                let mut parts = decl.split_whitespace();
                let name = parts.next().unwrap_or("").to_string();
                let policy = parts.next().unwrap_or("-");
                let hook = match name.as_str() {
                    "INPUT" => Some((Hook::Input, 0, policy == "DROP")),
                    "FORWARD" => Some((Hook::Forward, 0, policy == "DROP")),
                    "OUTPUT" if output => Some((Hook::Output, 0, policy == "DROP")),
                    "OUTPUT" => Some((Hook::Other, 0, policy == "DROP")),
                    _ => None,
                };
                rs.chains.insert(
                    (family.to_string(), "filter".to_string(), name),
                    Chain {
                        hook,
                        rules: Vec::new(),
                    },
                );
                continue;
            }
            let ws = words(line);
            if ws.first().map(String::as_str) != Some("-A") || ws.len() < 2 {
                return err(format!("{where_}: `{line}` is not modelled"));
            }
            let is_chain = |t: &str| {
                rs.chains
                    .contains_key(&(family.to_string(), "filter".to_string(), t.to_string()))
            };
            let exprs = rule(&ws[2..], family == "ip", &where_, &is_chain)?;
            match rs
                .chains
                .get_mut(&(family.to_string(), "filter".to_string(), ws[1].clone()))
            {
                Some(c) => c.rules.push(exprs),
                None => return err(format!("{where_}: chain {} is not declared", ws[1])),
            }
        }
    }
    rs.link()?;
    Ok(rs)
}
