//! Questions about a checked plan: `can X reach Y on S`, who can reach Y, the tier matrix,
//! and what a change of plan opens or closes. All answers come from `reach`, exactly.

pub mod diff;
pub mod explain;
pub mod matrix;

use crate::check::PlanInfo;
use crate::ir::{EndpointRef, Plan, ServiceRef};
use crate::reach::{self, PairOutcome, Unit};
use crate::space::{self, Set};
use crate::syntax::parser::{parse_addr, parse_port_spec};

/// A query that could not be understood (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An endpoint named in a query.
#[derive(Debug, Clone)]
pub struct Target {
    pub text: String,
    pub target: EndpointRef,
}

/// Resolve a name, DNS name, address or CIDR given on the command line.
pub fn resolve_target(plan: &Plan, info: &PlanInfo, text: &str) -> Result<Target, QueryError> {
    let t = |target| {
        Ok(Target {
            text: text.to_string(),
            target,
        })
    };
    if text == "internet" {
        return t(EndpointRef::Internet);
    }
    if text == "any" {
        return t(EndpointRef::Any);
    }
    if let Some(i) = plan.tiers.iter().position(|x| x.name == text) {
        return t(EndpointRef::Tier(i));
    }
    if let Some(i) = plan.hosts.iter().position(|x| x.name == text) {
        return t(EndpointRef::Host(i));
    }
    if let Some(i) = plan.vips.iter().position(|x| x.name == text) {
        return t(EndpointRef::Vip(i));
    }
    if let Some(i) = plan.networks.iter().position(|x| x.name == text) {
        return t(EndpointRef::Network(i));
    }
    if let Some(i) = plan.vlans.iter().position(|x| x.name == text) {
        return t(EndpointRef::Vlan(i));
    }
    if let Some(i) = plan.routers.iter().position(|x| x.name == text) {
        return t(EndpointRef::Router(i));
    }
    // `catalog@app-db`: a tier or host on one of its VLANs.
    if let Some((name, vlan_name)) = text.split_once('@') {
        let vlan = plan.vlans.iter().position(|x| x.name == vlan_name);
        let on = |vlans: Vec<usize>| vlan.filter(|v| vlans.contains(v));
        if let Some(i) = plan.tiers.iter().position(|x| x.name == name) {
            let own = plan.tiers[i].vlans.iter().map(|v| v.vlan).collect();
            if let Some(v) = on(own) {
                return t(EndpointRef::TierOn {
                    tier: i,
                    vlans: vec![v],
                });
            }
        } else if let Some(i) = plan.hosts.iter().position(|x| x.name == name) {
            let own = plan.hosts[i].interfaces.iter().map(|x| x.vlan).collect();
            if let Some(v) = on(own) {
                return t(EndpointRef::HostOn {
                    host: i,
                    vlans: vec![v],
                });
            }
        } else {
            return Err(QueryError(format!("`{name}` is no tier or host of the plan (`NAME@VLAN` names a tier or host on one of its VLANs)")));
        }
        return Err(QueryError(format!(
            "`{name}` has no address on a VLAN named `{vlan_name}`"
        )));
    }
    let fqdn = text.trim_end_matches('.').to_ascii_lowercase();
    if let Some(r) = info.dns.iter().find(|r| r.fqdn == fqdn && r.addr.is_some()) {
        let a = r.addr.expect("filtered");
        // A DNS name stands for what holds the address: a host or a VIP when there is one.
        if let Some(i) = plan.vips.iter().position(|v| v.addr == a) {
            return t(EndpointRef::Vip(i));
        }
        if let Some(i) = plan
            .hosts
            .iter()
            .position(|h| h.interfaces.iter().any(|x| x.addr == a))
        {
            return t(EndpointRef::Host(i));
        }
        return t(EndpointRef::Addresses {
            first: a,
            last: a,
            domain: None,
        });
    }
    // `VRF:ADDRESS`: an address in one VRF (IPv6 addresses have colons too, so the prefix
    // must name a VRF of the plan).
    let (domain, addr_text) = match text.split_once(':') {
        Some((vrf, rest)) if plan.vlans.iter().any(|v| v.vrf == vrf) => {
            (plan.domain_of_vrf(vrf), rest)
        }
        _ => (None, text),
    };
    if let Some(lit) = parse_addr(addr_text) {
        use crate::syntax::ast::AddrLit;
        let (first, last) = match lit {
            AddrLit::Addr(a) => (a, a),
            AddrLit::Net(n) => (n.network(), n.broadcast()),
            AddrLit::Range(a, b) => (a, b),
            AddrLit::Suffix(_) => {
                return Err(QueryError(format!("`{text}` is not a complete address")))
            }
        };
        if first.is_ipv4() != last.is_ipv4() {
            return Err(QueryError(format!("`{text}` mixes IPv4 and IPv6")));
        }
        if domain.is_none() && plan.domains.count > 1 {
            // The same address in two routing domains is two addresses: ask which one.
            let in_domains: Vec<u32> = (0..plan.domains.count)
                .filter(|&d| {
                    space::range_set(d, first, last).intersects(&plan.domains.subnets[d as usize])
                })
                .collect();
            let shared = in_domains.len() > 1;
            if shared {
                let vrfs: Vec<String> = in_domains
                    .iter()
                    .filter_map(|&d| plan.domains.vrfs.get(d as usize))
                    .filter_map(|v| v.first().cloned())
                    .map(|v| format!("`{v}:{addr_text}`"))
                    .collect();
                return Err(QueryError(format!(
                    "`{text}` is in more than one VRF: say which, as {}",
                    vrfs.join(" or ")
                )));
            }
        }
        return t(EndpointRef::Addresses {
            first,
            last,
            domain,
        });
    }
    let mut names: Vec<&str> = plan
        .tiers
        .iter()
        .map(|x| x.name.as_str())
        .chain(plan.hosts.iter().map(|x| x.name.as_str()))
        .chain(plan.vips.iter().map(|x| x.name.as_str()))
        .chain(plan.networks.iter().map(|x| x.name.as_str()))
        .collect();
    names.sort();
    let hint = crate::names::did_you_mean(text, names)
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Err(QueryError(format!("`{text}` is not a tier, host, VIP, network, VLAN, router, DNS name or address of the plan{hint}")))
}

/// Services given as `postgres`, `tcp/5432`, `icmp`, `any`, comma separated.
pub fn resolve_services(plan: &Plan, text: &str) -> Result<(Set, String), QueryError> {
    let mut set = Set::empty();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let s = if part == "any" {
            plan.service_ref_set(&ServiceRef::Any)
        } else if let Some(i) = plan.services.iter().position(|s| s.name == part) {
            plan.service_ref_set(&ServiceRef::Named { service: i })
        } else if let Some(p) =
            parse_port_spec(part, crate::diag::Span::new(crate::diag::FileId(0), 0, 0))
        {
            space::service_set(p.proto, p.ports)
        } else {
            let names = plan.services.iter().map(|s| s.name.as_str());
            let hint = crate::names::did_you_mean(part, names)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(QueryError(format!(
                "`{part}` is not a service of the plan nor a protocol/port{hint}"
            )));
        };
        set = set.union(&s);
    }
    if set.is_empty() {
        return Err(QueryError("no service given".into()));
    }
    Ok((set.clone(), space::service_text(&set)))
}

/// `can SRC reach DST [on SERVICES]`, as people ask it: any case, a trailing `?`, `DST:PORT`,
/// and services written `5432`, `port 5432`, `tcp 5432`, `5432/tcp`, `tcp/5432 and tcp/22`
/// (a bare port is TCP; the answer's question line shows how it was read).
pub fn parse_question(q: &str) -> Result<(String, String, Option<String>), QueryError> {
    let words: Vec<&str> = q.trim().trim_end_matches('?').split_whitespace().collect();
    let bad = || {
        QueryError(format!(
            "cannot read `{}`: ask `can SRC reach DST on SERVICE`, e.g. `can app reach db on tcp/5432` or `can 10.0.0.5 reach db01 on postgres, ssh` (SRC and DST: tiers, hosts, VIPs, networks, VLANs, routers, addresses or `internet`, comma lists allowed; SERVICE: names, tcp/PORT, udp/PORT, icmp or any)",
            crate::diag::printable(q)
        ))
    };
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    match words.first() {
        Some(w) if is(w, "can") => {}
        Some(w) if is(w, "who") || is(w, "what") => {
            return Err(QueryError(format!(
                "`{}` is a listing: run `netc who-can-reach PLAN DST [--on SERVICE]` or `netc what-can-reach PLAN SRC`",
                crate::diag::printable(q)
            )))
        }
        _ => return Err(bad()),
    }
    let rest = &words[1..];
    let reach_at = rest.iter().position(|w| is(w, "reach")).ok_or_else(bad)?;
    let on_at = rest
        .iter()
        .enumerate()
        .position(|(i, w)| i > reach_at && is(w, "on"));
    let src = rest[..reach_at].join(" ");
    let mut dst = match on_at {
        Some(o) => rest[reach_at + 1..o].join(" "),
        None => rest[reach_at + 1..].join(" "),
    };
    let mut svc = on_at.map(|o| services_as_written(&rest[o + 1..]));
    // `db01:5432` (not an IPv6 address): the port of the destination.
    if svc.is_none() && !dst.contains(' ') && dst.matches(':').count() == 1 {
        if let Some((host, port)) = dst.clone().split_once(':') {
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                dst = host.to_string();
                svc = Some(format!("tcp/{port}"));
            }
        }
    }
    if src.is_empty() || dst.is_empty() || svc.as_deref() == Some("") {
        return Err(bad());
    }
    Ok((src, dst, svc))
}

/// Services as people write them after `on`, in netc's form: `5432` and `port 5432` are
/// tcp/5432, `tcp 5432` and `5432/tcp` are tcp/5432, `and` separates like a comma.
fn services_as_written(words: &[&str]) -> String {
    let port = |w: &str| {
        !w.is_empty()
            && w.split('-').count() <= 2
            && w.split('-')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let proto = |w: &str| {
        ["tcp", "udp"]
            .iter()
            .find(|p| w.eq_ignore_ascii_case(p))
            .copied()
    };
    let tokens: Vec<String> = words
        .iter()
        .flat_map(|w| w.split(','))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let w = tokens[i].as_str();
        if w.eq_ignore_ascii_case("and")
            || w.eq_ignore_ascii_case("port")
            || w.eq_ignore_ascii_case("ports")
        {
            i += 1;
            continue;
        }
        if let (Some(p), Some(next)) = (proto(w), tokens.get(i + 1)) {
            if port(next) {
                out.push(format!("{p}/{next}"));
                i += 2;
                continue;
            }
        }
        if let Some((n, p)) = w.split_once('/') {
            if port(n) {
                if let Some(p) = proto(p) {
                    out.push(format!("{p}/{n}"));
                    i += 1;
                    continue;
                }
            }
        }
        if port(w) {
            out.push(format!("tcp/{w}"));
        } else {
            out.push(w.to_string());
        }
        i += 1;
    }
    out.join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Yes,
    Partial,
    No,
}

/// The full answer to one `can` question.
pub struct Answer {
    pub question: String,
    pub src: Target,
    pub dst: Target,
    pub services: Set,
    pub services_text: String,
    pub pairs: Vec<PairOutcome>,
    pub verdict: Verdict,
}

pub fn ask(
    plan: &Plan,
    info: &PlanInfo,
    src: &str,
    dst: &str,
    services: Option<&str>,
) -> Result<Answer, QueryError> {
    let src = resolve_target(plan, info, src)?;
    let mut dst = resolve_target(plan, info, dst)?;
    // A tier or host as a destination means what rules mean by it: its `serve` VLANs.
    dst.target = plan.served(&dst.target);
    let (services, services_text) = resolve_services(plan, services.unwrap_or("any"))?;
    let src_units: Vec<Unit> = reach::src_units(plan, &src.target, &src.text);
    let dst_units: Vec<Unit> = reach::dst_units(plan, &dst.target, &dst.text);
    // A question between ends of no common address family cannot be asked: say so.
    let families = |units: &[Unit]| {
        [true, false].map(|v4| {
            let fam = plan.family(v4);
            units.iter().any(|u| u.addrs.intersects(&fam))
        })
    };
    let (sf, df) = (families(&src_units), families(&dst_units));
    if !(sf[0] && df[0] || sf[1] && df[1]) {
        let has = |f: [bool; 2]| match f {
            [true, true] => "IPv4 and IPv6 addresses",
            [true, false] => "only IPv4 addresses",
            [false, true] => "only IPv6 addresses",
            [false, false] => "no address",
        };
        return Err(QueryError(format!(
            "`{}` has {} and `{}` {}: no packet goes from one to the other, so the question cannot be asked",
            src.text,
            has(sf),
            dst.text,
            has(df)
        )));
    }
    let pairs = reach::evaluate(
        plan,
        &info.policy,
        &info.topology,
        &src_units,
        &dst_units,
        &services,
    );
    // Pairs without any path (a management address seen from outside) do not count against
    // the verdict: X reaches Y when what can be routed is permitted.
    let routed: Vec<&PairOutcome> = pairs.iter().filter(|p| p.path.is_some()).collect();
    let any = routed.iter().any(|p| p.any_permitted());
    let all = !routed.is_empty() && routed.iter().all(|p| p.fully_permitted());
    let verdict = if all {
        Verdict::Yes
    } else if any {
        Verdict::Partial
    } else {
        Verdict::No
    };
    let question = format!("can {} reach {} on {}", src.text, dst.text, services_text);
    Ok(Answer {
        question,
        src,
        dst,
        services,
        services_text,
        pairs,
        verdict,
    })
}
