//! Split-horizon DNS: what the external view of a zone may publish, and E065
//! internal-in-external.
//!
//! A zone answers the plan's own clients (`view internal`, the default), the internet's
//! (`view external`), or both. The external view never carries an internal address
//! (RFC 1918, shared 100.64/10, loopback, link-local, IPv6 ULA and link-local) or a name of a
//! zone only the plan's clients see (or under `.local`). For a `view both` zone that part is
//! left out of the external copy: internal answers inside, public ones outside. For a zone
//! that is external only, it is a mistake: E065.

use super::DnsRecord;
use crate::diag::Diagnostic;
use crate::ir::Plan;
use std::net::IpAddr;

/// An address the internet must never be told about.
pub fn internal_addr(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            v.is_loopback()
                || v.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether the internet may be told this name: not under `.local`, and not in a zone only
/// the plan's clients see.
pub fn public_name(plan: &Plan, fqdn: &str) -> bool {
    let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
    if name == "local" || name.ends_with(".local") {
        return false;
    }
    super::dns::zone_for(plan, &name).is_none_or(|z| plan.zones[z].view.external())
}

/// Why the external view may not carry a record of `dns` (the plan's records; `None`: it
/// may). A name a record points to (CNAME, MX, SRV, NS) must be public, and when the plan
/// gives it addresses, one of them must be public: else the record would dangle outside and
/// still name what is inside.
pub fn hidden_reason(plan: &Plan, dns: &[DnsRecord], r: &DnsRecord) -> Option<String> {
    if let Some(why) = leak(plan, r) {
        return Some(why);
    }
    let name = target(plan, r)?;
    let addrs: Vec<std::net::IpAddr> = dns
        .iter()
        .filter(|x| x.fqdn.eq_ignore_ascii_case(&name))
        .filter_map(|x| x.addr)
        .collect();
    (!addrs.is_empty() && addrs.iter().all(|a| internal_addr(*a)))
        .then(|| format!("the name {name}, which has internal addresses only"))
}

/// The name a record points to (CNAME, MX, SRV, NS, PTR), absolute, without its final dot.
fn target(plan: &Plan, r: &DnsRecord) -> Option<String> {
    let t = match r.rtype.as_str() {
        "CNAME" | "NS" | "PTR" | "MX" | "SRV" => r.data.last(),
        _ => None,
    }?;
    let t = super::dns::absolute(t, &plan.zones[r.zone].name);
    Some(t.trim_end_matches('.').to_string())
}

/// What a record itself would tell the internet that is internal: its address, or the name
/// it points to.
fn leak(plan: &Plan, r: &DnsRecord) -> Option<String> {
    if let Some(a) = r.addr.filter(|a| internal_addr(*a)) {
        return Some(format!("the internal address {a}"));
    }
    let name = target(plan, r)?;
    (!public_name(plan, &name)).then(|| format!("the internal name {name}"))
}

/// E065: a zone the internet alone is answered from publishes something internal, or has a
/// name server with an internal address or name.
pub fn check(plan: &Plan, dns: &[DnsRecord], diags: &mut Vec<Diagnostic>) {
    for (z, zone) in plan.zones.iter().enumerate() {
        if !zone.view.external() {
            continue;
        }
        // The external copy needs its name servers: public names, public glue.
        for ns in &zone.nameservers {
            if let Some(a) = ns.addr.filter(|a| internal_addr(*a)) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E065,
                        format!(
                            "the zone `{}` is published to the internet, but its name server {} has the internal address {a}",
                            zone.name, ns.name
                        ),
                    )
                    .with_primary(zone.origin.span, "in this zone")
                    .with_help("give the zone's public copy a name server with a public address"),
                );
            }
        }
        for ns in &zone.nameservers {
            let fqdn = super::dns::absolute(&ns.name, &zone.name);
            if !public_name(plan, &fqdn) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E065,
                        format!(
                            "the external zone `{}` names the internal name server {}",
                            zone.name,
                            fqdn.trim_end_matches('.')
                        ),
                    )
                    .with_primary(zone.origin.span, "in this zone")
                    .with_help("the internet cannot resolve that name: give the zone a name server in a public zone"),
                );
            }
        }
        if zone.view != crate::syntax::ast::ZoneView::External {
            continue; // `view both`: the internal part stays in the internal view
        }
        for r in dns
            .iter()
            .filter(|r| r.zone == z && !r.source.starts_with("name server of "))
        {
            // The record's own leak: a name that dangles because its addresses are internal
            // is those addresses' mistake, reported at them.
            if let Some(why) = leak(plan, r) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E065,
                        format!(
                            "the external zone `{}` would publish {why} to the internet",
                            zone.name
                        ),
                    )
                    .with_primary(r.span, format!("{} {}", r.rtype, r.data.join(" ")))
                    .with_help(
                        "make the zone `view both` (the plan's clients get every answer, the \
                         internet only the public ones), or publish a public address",
                    ),
                );
            }
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E065: crate::codes::Code = crate::codes::code!("E065", "internal-in-external-zone", Error, "a zone the internet is answered from publishes an internal address or name",
        "What it does: reports, in a zone with `view external`, a record whose address is internal\n\
         (RFC 1918, 100.64/10, loopback, link-local, IPv6 ULA) or that points to a name of a zone\n\
         only the plan's clients see (or under .local), and name servers with such names.\n\
         Why: split-horizon DNS exists so that internal names and addresses never reach the\n\
         internet; an external zone that carries them leaks the inside of the network.\n\
         Example:\n    zone example.com { view external  record db a 10.20.10.11 }   # use `view both`");
