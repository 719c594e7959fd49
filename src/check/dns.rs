//! The lowering of the plan's DNS: its records (explicit ones and those hosts, VIPs and name
//! servers publish), which the BIND target renders (it never decides what a zone holds by
//! itself). What cannot be lowered is reported here, once: E060 invalid-dns-name, W061
//! local-zone, E062 for records netc makes itself (PTRs) or that name another zone. The
//! checks on the finished records are files of their own: `dns_conflicts.rs` (E062),
//! `reverse_zones.rs` (E063), `dns_views.rs` (E065).

use crate::diag::{Diagnostic, Span};
use crate::ir::Plan;
use crate::names::{is_dns_label, is_hostname};
use serde::Serialize;

use std::net::IpAddr;

/// One record of a forward zone.
#[derive(Debug, Clone, Serialize)]
pub struct DnsRecord {
    pub zone: usize,
    /// The owner name relative to the zone (`@` for the apex).
    pub name: String,
    pub fqdn: String,
    pub rtype: String,
    pub data: Vec<String>,
    /// What put it there: `host pg01`, `vip pg-vip`, `zone datalyptica.local`.
    pub source: String,
    /// For address records, the address (PTRs are made from these).
    pub addr: Option<IpAddr>,
    #[serde(skip)]
    pub span: Span,
}

pub(crate) fn zone_for(plan: &Plan, fqdn: &str) -> Option<usize> {
    plan.zones
        .iter()
        .enumerate()
        .filter(|(_, z)| fqdn == z.name || fqdn.ends_with(&format!(".{}", z.name)))
        .max_by_key(|(_, z)| z.name.len())
        .map(|(i, _)| i)
}

/// A name is in a zone when it is the zone or ends with `.zone` (label by label:
/// `xexample.com` is not in `example.com`).
fn in_zone(fqdn: &str, zone: &str) -> bool {
    fqdn == zone
        || fqdn
            .strip_suffix(zone)
            .is_some_and(|head| head.ends_with('.') && head.len() > 1)
}

/// The owner name relative to its zone (the name must be in the zone, see `in_zone`).
fn relative(fqdn: &str, zone: &str) -> String {
    if fqdn == zone {
        "@".into()
    } else {
        fqdn[..fqdn.len() - zone.len() - 1].to_string()
    }
}

fn owner_ok(name: &str) -> bool {
    // Owner names may start with `*` (wildcard) and use `_` labels (SRV, TXT conventions).
    name == "@"
        || name.split('.').enumerate().all(|(i, l)| {
            (i == 0 && l == "*") || is_dns_label(l) || (l.starts_with('_') && is_dns_label(&l[1..]))
        })
}

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) -> Vec<DnsRecord> {
    let mut records = Vec::new();
    for zone in &plan.zones {
        if !is_hostname(&zone.name) {
            diags.push(
                Diagnostic::new(
                    &crate::codes::E060,
                    format!("zone name `{}` is not a valid DNS name", zone.name),
                )
                .with_primary(zone.origin.span, "invalid zone name")
                .with_help("labels use letters, digits and inner hyphens, 63 bytes at most"),
            );
        }
        if (zone.name == "local" || zone.name.ends_with(".local")) && !zone.local_ok {
            diags.push(
                Diagnostic::new(&crate::codes::W061, format!("zone `{}` is under .local, which is reserved for multicast DNS", zone.name))
                    .with_primary(zone.origin.span, ".local zone")
                    .with_help("prefer a name under a domain you own (e.g. internal.example.com); write `local-ok` in the zone to acknowledge"),
            );
        }
    }
    let add_address = |records: &mut Vec<DnsRecord>,
                       diags: &mut Vec<Diagnostic>,
                       fqdn: &str,
                       addr: IpAddr,
                       source: String,
                       span: Span| {
        if !is_hostname(fqdn) {
            diags.push(
                Diagnostic::new(
                    &crate::codes::E060,
                    format!("`{fqdn}` is not a valid hostname"),
                )
                .with_primary(span, "invalid DNS name")
                .with_help(
                    "labels use letters, digits and inner hyphens (no `_`), 63 bytes at most",
                ),
            );
            return;
        }
        let Some(zone) = zone_for(plan, fqdn) else {
            diags.push(
                Diagnostic::new(
                    &crate::codes::E062,
                    format!("`{fqdn}` is in no zone of the plan"),
                )
                .with_primary(span, "no zone for this name")
                .with_help("declare the zone (`zone example.com`) or fix the name"),
            );
            return;
        };
        records.push(DnsRecord {
            zone,
            name: relative(fqdn, &plan.zones[zone].name),
            fqdn: fqdn.to_string(),
            rtype: if addr.is_ipv4() { "A" } else { "AAAA" }.to_string(),
            data: vec![addr.to_string()],
            source,
            addr: Some(addr),
            span,
        });
    };
    for host in &plan.hosts {
        for name in &host.dns_names {
            // A host's name points at its primary address of each family.
            for v4 in [true, false] {
                if let Some(i) = host.interfaces.iter().find(|i| i.addr.is_ipv4() == v4) {
                    add_address(
                        &mut records,
                        diags,
                        name,
                        i.addr,
                        format!("host {}", host.name),
                        host.origin.span,
                    );
                }
            }
        }
        // Every other interface address gets a name of its own, `HOST.VLAN.DOMAIN` (DOMAIN:
        // what follows the host's first name), so that every address the host has answers a
        // reverse lookup; VLAN names that are not DNS labels are skipped.
        let Some((first_label, domain)) = host.dns_names.first().and_then(|n| n.split_once('.'))
        else {
            continue;
        };
        for (k, i) in host.interfaces.iter().enumerate() {
            let primary = host
                .interfaces
                .iter()
                .position(|j| j.addr.is_ipv4() == i.addr.is_ipv4())
                == Some(k);
            let vlan = plan.vlans[i.vlan].name.to_ascii_lowercase();
            if primary
                || plan.vlans[i.vlan].no_names
                || !is_dns_label(&vlan)
                || zone_for(plan, domain).is_none()
            {
                continue;
            }
            add_address(
                &mut records,
                diags,
                &format!("{first_label}.{vlan}.{domain}"),
                i.addr,
                format!("host {} interface {}", host.name, i.dev),
                host.origin.span,
            );
        }
    }
    for vip in &plan.vips {
        for name in &vip.dns_names {
            add_address(
                &mut records,
                diags,
                name,
                vip.addr,
                format!("vip {}", vip.name),
                vip.origin.span,
            );
        }
    }
    for (z, zone) in plan.zones.iter().enumerate() {
        for ns in &zone.nameservers {
            let fqdn = absolute(&ns.name, &zone.name);
            if !is_hostname(&fqdn) {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E060,
                        format!("name server `{}` is not a valid hostname", ns.name),
                    )
                    .with_primary(zone.origin.span, "in this zone")
                    .with_help("write the name server's host name"),
                );
            }
            if let Some(addr) = ns.addr {
                if zone_for(plan, &fqdn) == Some(z) {
                    add_address(
                        &mut records,
                        diags,
                        &fqdn,
                        addr,
                        format!("name server of {}", zone.name),
                        zone.origin.span,
                    );
                }
            }
        }
        for r in &zone.records {
            let fqdn = if r.name == "@" {
                zone.name.clone()
            } else {
                absolute(&r.name, &zone.name)
            };
            if !in_zone(&fqdn, &zone.name) || !owner_ok(&relative(&fqdn, &zone.name)) {
                diags.push(
                    Diagnostic::new(&crate::codes::E060, format!("record name `{}` is not valid in zone `{}`", r.name, zone.name))
                        .with_primary(r.origin.span, "invalid owner name")
                        .with_help("write a name relative to the zone (www, _ldap._tcp) or @ for the zone itself"),
                );
                continue;
            }
            let mut ok = true;
            let addr = match r.rtype.as_str() {
                "A" | "AAAA" => match r.data[0].parse::<IpAddr>() {
                    Ok(a) if a.is_ipv4() == (r.rtype == "A") => Some(a),
                    _ => {
                        ok = false;
                        diags.push(
                            Diagnostic::new(
                                &crate::codes::E062,
                                format!(
                                    "`{}` is not an {} address",
                                    r.data[0],
                                    if r.rtype == "A" { "IPv4" } else { "IPv6" }
                                ),
                            )
                            .with_primary(r.origin.span, "bad record data")
                            .with_help("A takes an IPv4 address, AAAA an IPv6 address"),
                        );
                        None
                    }
                },
                "CNAME" | "NS" | "MX" | "SRV" => {
                    let target = r.data.last().cloned().unwrap_or_default();
                    let numbers_ok = r.data[..r.data.len() - 1].iter().all(|n| {
                        // Plain decimal digits only: Rust would read `+10`, BIND refuses it.
                        !n.is_empty()
                            && n.len() <= 5
                            && n.bytes().all(|b| b.is_ascii_digit())
                            && n.parse::<u16>().is_ok()
                    });
                    if !is_hostname(&target) || !numbers_ok {
                        ok = false;
                        diags.push(
                            Diagnostic::new(&crate::codes::E060, format!("{} record data `{}` is not valid", r.rtype, r.data.join(" ")))
                                .with_primary(r.origin.span, "bad record data")
                                .with_help("targets are host names; MX takes `PREFERENCE TARGET`, SRV `PRIORITY WEIGHT PORT TARGET`"),
                        );
                    }
                    None
                }
                "PTR" => {
                    ok = false;
                    diags.push(
                        Diagnostic::new(&crate::codes::E062, "PTR records are generated from the plan's addresses")
                            .with_primary(r.origin.span, "explicit PTR")
                            .with_help("give the host or VIP a DNS name; netc writes the matching PTR in the reverse zone"),
                    );
                    None
                }
                _ => None,
            };
            if ok {
                records.push(DnsRecord {
                    zone: z,
                    name: relative(&fqdn, &zone.name),
                    fqdn,
                    rtype: r.rtype.clone(),
                    data: r.data.clone(),
                    source: format!("zone {}", zone.name),
                    addr,
                    span: r.origin.span,
                });
            }
        }
    }
    for (z, zone) in plan.zones.iter().enumerate() {
        // The SOA mailbox: `local@domain` (or a name already in DNS form).
        let admin_ok = match zone.admin.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !local.starts_with('.')
                    && !local.ends_with('.')
                    && !local.contains("..")
                    && local
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
                    && is_hostname(domain.trim_end_matches('.'))
            }
            None => is_hostname(zone.admin.trim_end_matches('.')),
        };
        if !admin_ok {
            diags.push(
                Diagnostic::new(&crate::codes::E060, format!("`{}` is not a mailbox for the zone's SOA", zone.admin))
                    .with_primary(zone.origin.span, "in this zone")
                    .with_help("write `admin hostmaster@example.com` (BIND refuses a zone whose SOA names no mailbox)"),
            );
        }
        // A name server inside its own zone needs an address there, or BIND refuses the zone.
        for ns in &zone.nameservers {
            let fqdn = absolute(&ns.name, &zone.name);
            let inside = zone_for(plan, &fqdn) == Some(z);
            let has_address = records
                .iter()
                .any(|r| r.fqdn == fqdn && (r.rtype == "A" || r.rtype == "AAAA"));
            if inside && !has_address {
                diags.push(
                    Diagnostic::new(
                        &crate::codes::E060,
                        format!("name server `{fqdn}` is inside zone `{}` but has no address in it", zone.name),
                    )
                    .with_primary(zone.origin.span, "in this zone")
                    .with_help(format!(
                        "give it an address (`ns {} 192.0.2.53`), a record, or a host with `dns {fqdn}`: BIND refuses a zone whose in-zone name server has no A or AAAA record",
                        ns.name
                    )),
                );
            }
        }
    }
    super::dns_conflicts::check(&records, diags);
    super::reverse_zones::check(plan, &records, diags);
    super::dns_views::check(plan, &records, diags);
    records.sort_by(|a, b| {
        (a.zone, &a.name, &a.rtype, &a.data).cmp(&(b.zone, &b.name, &b.rtype, &b.data))
    });
    records
}

pub(crate) fn absolute(name: &str, zone: &str) -> String {
    match name.strip_suffix('.') {
        Some(abs) => abs.to_ascii_lowercase(),
        None if name.contains('.') && in_zone(&name.to_ascii_lowercase(), zone) => {
            name.to_ascii_lowercase()
        }
        None => format!("{}.{zone}", name.to_ascii_lowercase()),
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E060: crate::codes::Code = crate::codes::code!(
    "E060",
    "invalid-dns-name",
    Error,
    "a DNS name is not a valid hostname",
    "What it does: reports zone names, host and VIP names and record names and targets that\n\
         are not valid hostnames (RFC 1123 labels of letters, digits and inner hyphens, at most\n\
         63 bytes a label and 253 a name).\n\
         Why: BIND rejects or rewrites such names; resolvers may not look them up.\n\
         Example:\n    host pg_01 in catalog   # `_` is not allowed in a hostname label"
);
pub const W061: crate::codes::Code = crate::codes::code!(
    "W061",
    "local-zone",
    Warning,
    "a zone under .local",
    "What it does: warns about zones named `local` or ending in `.local`.\n\
         Why: `.local` is reserved for multicast DNS (RFC 6762); many resolvers never send such\n\
         names to a DNS server. Acknowledge with `local-ok` inside the zone when this is known.\n\
         Example:\n    zone datalyptica.local { local-ok }"
);
