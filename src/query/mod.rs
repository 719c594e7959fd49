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

/// `can SRC reach DST [on SERVICES]`
pub fn parse_question(q: &str) -> Result<(String, String, Option<String>), QueryError> {
    let words: Vec<&str> = q.split_whitespace().collect();
    let bad = || {
        QueryError(format!(
            "cannot read `{q}`: ask `can SRC reach DST on SERVICE`"
        ))
    };
    let rest = match words.first() {
        Some(&"can") => &words[1..],
        _ => return Err(bad()),
    };
    let reach_at = rest.iter().position(|w| *w == "reach").ok_or_else(bad)?;
    let on_at = rest.iter().position(|w| *w == "on");
    let src = rest[..reach_at].join(" ");
    let dst = match on_at {
        Some(o) if o > reach_at => rest[reach_at + 1..o].join(" "),
        _ => rest[reach_at + 1..].join(" "),
    };
    let svc = on_at
        .filter(|&o| o > reach_at)
        .map(|o| rest[o + 1..].join(" "));
    if src.is_empty() || dst.is_empty() || svc.as_deref() == Some("") {
        return Err(bad());
    }
    Ok((
        src,
        dst.trim_end_matches('?').to_string(),
        svc.map(|s| s.trim_end_matches('?').to_string()),
    ))
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
    let dst = resolve_target(plan, info, dst)?;
    let (services, services_text) = resolve_services(plan, services.unwrap_or("any"))?;
    let src_units: Vec<Unit> = reach::src_units(plan, &src.target, &src.text);
    let dst_units: Vec<Unit> = reach::dst_units(plan, &dst.target, &dst.text);
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
