//! BIND: a forward zone file per zone of the plan, reverse zones generated from the addresses
//! of hosts and VIPs, and a `named.conf` fragment declaring them all.
//!
//! Serials are deterministic yet increase when a zone changes: netc keeps `bind/serials` in the
//! output directory (zone, hash of the zone's content without its header and serial, serial),
//! and also reads the zone file already there. An unchanged zone keeps its serial; a changed
//! one gets the larger of the two previous serials plus one; a new zone starts at 1. So a lost
//! `bind/serials` never makes a serial go backwards while the zone files are there, and the
//! way netc was called (the plan's path) never changes a serial.

use super::{header, Context, OutputFile};
use crate::check::{DnsRecord, PlanInfo};
use crate::ir::Plan;
use crate::names::{reverse_name, reverse_prefix};
use crate::targets::RenderAll;
use askama::Template;
use sha2::Digest;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

pub struct Bind;

pub const SERIALS: &str = "bind/serials";

struct Rr {
    name: String,
    rtype: String,
    data: String,
}

#[derive(Template)]
#[template(path = "bind/zone.zone")]
struct ZoneView {
    header: String,
    origin: String,
    ttl: u32,
    primary: String,
    mailbox: String,
    serial: u32,
    records: Vec<Rr>,
}

struct ZoneDecl {
    name: String,
    /// `primary` or `secondary`.
    kind: &'static str,
    /// Statements between the type and the file: `primaries`, `allow-transfer`, `also-notify`.
    lines: Vec<String>,
    file: String,
}

#[derive(Template)]
#[template(path = "bind/named.conf")]
struct NamedView {
    header: String,
    /// Split horizon: `internal` and `external` views (else `internal` alone, no views).
    views: bool,
    /// The plan's subnets: the clients of the internal view.
    acl: Vec<String>,
    /// The external view's transfers are signed with the key `netc-external`.
    key: bool,
    internal: Vec<ZoneDecl>,
    external: Vec<ZoneDecl>,
}

/// A zone about to be written: its name, TTL, SOA parts and records (serial still open).
struct Pending {
    name: String,
    /// The external view's copy of the zone (`zones/external/`, serial key `external/NAME`).
    external: bool,
    /// Serials YYYYMMDDnn (the forward zone's `serial date`; reverse zones follow theirs).
    serial_date: bool,
    ttl: u32,
    primary: String,
    mailbox: String,
    records: Vec<Rr>,
    /// The forward zone whose name servers serve it (itself, or a reverse zone's first).
    forward: usize,
}

/// The name servers of a zone that are inside the plan (a glue address, or the address
/// records of the name), each with all its addresses (a dual-stack server has two), in the
/// zone's NS order; an address already taken by an earlier name server is not counted twice.
/// The first is the primary, the others are its secondaries. Name servers outside the plan
/// (a DNS provider's) are not netc's to configure.
fn zone_servers(
    plan: &Plan,
    dns: &[DnsRecord],
    zone: &crate::ir::Zone,
) -> Vec<(String, Vec<IpAddr>)> {
    let all: Vec<usize> = (0..plan.vlans.len()).collect();
    let mut out: Vec<(String, Vec<IpAddr>)> = Vec::new();
    for n in &zone.nameservers {
        let name = absolute(&n.name, &zone.name);
        let bare = name.trim_end_matches('.').to_string();
        let mut addrs: Vec<IpAddr> = match n.addr {
            Some(a) => vec![a],
            None => dns
                .iter()
                .filter(|r| r.fqdn == bare && (r.rtype == "A" || r.rtype == "AAAA"))
                .filter_map(|r| r.addr)
                .collect(),
        };
        addrs.retain(|&a| {
            plan.subnet_in_vlans(a, &all).is_some() && !out.iter().any(|o| o.1.contains(&a))
        });
        addrs.sort();
        addrs.dedup();
        if addrs.is_empty() {
            continue;
        }
        match out.iter_mut().find(|o| o.0 == bare) {
            Some(o) => {
                o.1.extend(addrs);
                o.1.sort();
            }
            None => out.push((bare, addrs)),
        }
    }
    out
}

/// What one server's named.conf fragment declares of a zone: the primary (the zone's first
/// name server inside the plan, or this configuration when it has none) lets the others
/// transfer it and notifies them; a secondary transfers it from the primary's addresses. The
/// external view's copy is transferred and notified with the key `netc-external`, which is
/// what puts those requests into the external view at either end.
fn declare(
    servers: &[(String, Vec<IpAddr>)],
    secondary: bool,
    external: bool,
    file: &str,
) -> ZoneDecl {
    let keyed = |a: &IpAddr| {
        if external {
            format!("{a} key \"netc-external\"")
        } else {
            a.to_string()
        }
    };
    let list = |items: Vec<String>| format!("{{ {}; }}", items.join("; "));
    if secondary {
        return ZoneDecl {
            name: String::new(),
            kind: "secondary",
            lines: servers
                .first()
                .map(|p| format!("primaries {}", list(p.1.iter().map(keyed).collect())))
                .into_iter()
                .collect(),
            file: format!(
                "secondary-{}{}",
                if external { "external-" } else { "" },
                file.rsplit('/').next().unwrap_or(file)
            ),
        };
    }
    let secondaries: Vec<&IpAddr> = servers.iter().skip(1).flat_map(|s| &s.1).collect();
    let mut lines = Vec::new();
    if !secondaries.is_empty() {
        lines.push(format!(
            "allow-transfer {}",
            list(if external {
                vec!["key \"netc-external\"".to_string()]
            } else {
                secondaries.iter().map(|a| a.to_string()).collect()
            })
        ));
        lines.push(format!(
            "also-notify {}",
            list(secondaries.iter().map(|a| keyed(a)).collect())
        ));
    }
    ZoneDecl {
        name: String::new(),
        kind: "primary",
        lines,
        file: file.to_string(),
    }
}

/// A secondary's addresses, and its zones of the internal and the external view.
type Secondary = (Vec<IpAddr>, Vec<ZoneDecl>, Vec<ZoneDecl>);

impl RenderAll for Bind {
    fn reads_back(&self) -> &'static [&'static str] {
        &[SERIALS, "bind/zones", "bind/zones/external"]
    }

    fn render(&self, plan: &Plan, info: &PlanInfo, ctx: &Context) -> Vec<OutputFile> {
        let serials = ctx
            .previous
            .get(std::path::Path::new(SERIALS))
            .map(|t| parse_serials(t))
            .unwrap_or_default();
        use crate::check::dns_views::hidden_reason;
        let views = plan.zones.iter().any(|z| z.view.external());
        // What each view answers: the plan's clients every record of their zones, the
        // internet only the public records of its zones.
        let internal: Vec<DnsRecord> = info
            .dns
            .iter()
            .filter(|r| plan.zones[r.zone].view.internal())
            .cloned()
            .collect();
        let public: Vec<DnsRecord> = info
            .dns
            .iter()
            .filter(|r| {
                plan.zones[r.zone].view.external() && hidden_reason(plan, &info.dns, r).is_none()
            })
            .cloned()
            .collect();
        let mut zones: Vec<Pending> = Vec::new();
        for (external, dns) in [(false, &internal), (true, &public)] {
            for (z, zone) in plan.zones.iter().enumerate() {
                if (external && !zone.view.external()) || (!external && !zone.view.internal()) {
                    continue;
                }
                zones.push(forward_zone(zone, z, dns, external));
            }
        }
        let reverse = reverse_zones(plan, &internal, false);
        let mut files = rfc2317_parents(plan, &reverse);
        zones.extend(reverse);
        if views {
            zones.extend(reverse_zones(plan, &public, true));
        }
        let mut state = header(
            plan,
            "zone serials: netc reads this file back to keep serials increasing; commit it",
            "#",
        );
        state.push_str("# zone  content-hash  serial\n");
        let (mut decls, mut external_decls) = (Vec::new(), Vec::new());
        // Each secondary (by name): its addresses, and its zones of each view.
        let mut secondaries: BTreeMap<String, Secondary> = BTreeMap::new();
        let mut keyed = false;
        for z in zones {
            let render = |serial| {
                ZoneView {
                    header: header(plan, &format!("zone {}", z.name), ";"),
                    origin: format!("{}.", z.name),
                    ttl: z.ttl,
                    primary: z.primary.clone(),
                    mailbox: z.mailbox.clone(),
                    serial,
                    records: z
                        .records
                        .iter()
                        .map(|r| Rr {
                            name: r.name.clone(),
                            rtype: r.rtype.clone(),
                            data: r.data.clone(),
                        })
                        .collect(),
                }
                .render()
                .map(super::with_final_newline)
                .expect("template renders")
            };
            let key = if z.external {
                format!("external/{}", z.name)
            } else {
                z.name.clone()
            };
            let hash = content_hash(&render(0));
            // The zone as it is in the output directory, if it is: its serial is the floor,
            // so that a lost `bind/serials` never makes a serial smaller.
            let written = PathBuf::from(format!(
                "bind/zones/{}db.{}",
                if z.external { "external/" } else { "" },
                z.name
            ));
            let on_disk = ctx
                .previous
                .get(&written)
                .and_then(|text| file_serial(text).map(|s| (content_hash(text), s)));
            let serial = match (serials.get(&key), on_disk) {
                (_, Some((h, s))) if h == hash => s,
                (Some((h, s)), None) if *h == hash => *s,
                (state, disk) => {
                    let before = state.map_or(0, |x| x.1).max(disk.map_or(0, |x| x.1));
                    let next = before.saturating_add(1).max(1);
                    // YYYYMMDDnn: today's first, or the next after an earlier one today;
                    // never smaller than before (a counter that passed the date keeps going).
                    if z.serial_date && ctx.today > 0 {
                        next.max(ctx.today.saturating_mul(100))
                    } else {
                        next
                    }
                }
            };
            state.push_str(&format!("{key} {hash} {serial}\n"));
            let file = if z.external {
                format!("zones/external/db.{}", z.name)
            } else {
                format!("zones/db.{}", z.name)
            };
            let servers = zone_servers(plan, &info.dns, &plan.zones[z.forward]);
            let decl = ZoneDecl {
                name: z.name.clone(),
                ..declare(&servers, false, z.external, &file)
            };
            keyed |= z.external && servers.len() > 1;
            if z.external {
                external_decls.push(decl);
            } else {
                decls.push(decl);
            }
            for (name, addrs) in servers.iter().skip(1) {
                let entry = secondaries
                    .entry(name.clone())
                    .or_insert_with(|| (addrs.clone(), Vec::new(), Vec::new()));
                let decl = ZoneDecl {
                    name: z.name.clone(),
                    ..declare(&servers, true, z.external, &file)
                };
                if z.external {
                    entry.2.push(decl);
                } else {
                    entry.1.push(decl);
                }
            }
            files.push(OutputFile {
                path: PathBuf::from(format!("bind/{file}")),
                contents: render(serial),
            });
        }
        files.push(OutputFile {
            path: PathBuf::from(SERIALS),
            contents: state,
        });
        let mut acl: Vec<String> = plan
            .subnets
            .iter()
            .map(|s| s.net.trunc().to_string())
            .collect();
        acl.sort();
        acl.dedup();
        let named = NamedView {
            header: header(plan, "named.conf fragment of the primary; include it from named.conf, with `directory` set to this bind/ folder", "//"),
            views,
            acl: acl.clone(),
            key: keyed,
            internal: decls,
            external: external_decls,
        };
        files.push(OutputFile {
            path: PathBuf::from("bind/named.conf.netc"),
            contents: named
                .render()
                .map(super::with_final_newline)
                .expect("template renders"),
        });
        // One fragment per secondary, named by its name server name (a DNS name: letters,
        // digits, hyphens and dots only).
        for (name, (addrs, internal, external)) in secondaries {
            let addr = addrs
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            // The file is named by the server's name when it is a plain DNS name (the grammar
            // allows no other), else by its address.
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            let name = if plain {
                name.to_ascii_lowercase()
            } else {
                addrs[0].to_string().replace(':', "-")
            };
            let named = NamedView {
                header: header(
                    plan,
                    &format!("named.conf fragment of the secondary {name} ({addr}); include it from its named.conf, with `directory` set to a folder named may write in"),
                    "//",
                ),
                views,
                acl: acl.clone(),
                key: keyed,
                internal,
                external,
            };
            files.push(OutputFile {
                path: PathBuf::from(format!("bind/secondaries/{name}.conf")),
                contents: named
                    .render()
                    .map(super::with_final_newline)
                    .expect("template renders"),
            });
        }
        files
    }
}

/// A forward zone with the records `dns` gives it, for the internal or the external view.
fn forward_zone(zone: &crate::ir::Zone, z: usize, dns: &[DnsRecord], external: bool) -> Pending {
    let (ns, mut records) = apex_ns(zone);
    for r in dns.iter().filter(|r| r.zone == z) {
        records.push(Rr {
            name: r.name.clone(),
            rtype: r.rtype.clone(),
            data: record_data(r),
        });
    }
    Pending {
        name: zone.name.clone(),
        external,
        serial_date: zone.serial_date,
        ttl: zone.ttl,
        primary: ns
            .first()
            .cloned()
            .unwrap_or_else(|| format!("ns.{}.", zone.name)),
        mailbox: mailbox(&zone.admin),
        records,
        forward: z,
    }
}

/// A zone's name servers as absolute names, and its apex NS records.
fn apex_ns(zone: &crate::ir::Zone) -> (Vec<String>, Vec<Rr>) {
    let ns: Vec<String> = zone
        .nameservers
        .iter()
        .map(|n| absolute(&n.name, &zone.name))
        .collect();
    let records = ns
        .iter()
        .map(|n| Rr {
            name: "@".into(),
            rtype: "NS".into(),
            data: n.clone(),
        })
        .collect();
    (ns, records)
}

/// The hash of a zone file's meaning: without its header comment and with its serial as 0,
/// so that neither how netc was called nor the serial itself changes it.
pub fn content_hash(text: &str) -> String {
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with(';'))
        .map(|l| {
            if l.trim_end().ends_with("; serial (see bind/serials)") {
                "\t\t0\t; serial (see bind/serials)".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    sha2::Sha256::digest(body.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The serial of a zone file netc wrote.
pub fn file_serial(text: &str) -> Option<u32> {
    text.lines()
        .find(|l| l.trim_end().ends_with("; serial (see bind/serials)"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Read `bind/serials` back.
pub fn parse_serials(text: &str) -> BTreeMap<String, (String, u32)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (zone, hash, serial) = (parts.next()?, parts.next()?, parts.next()?.parse().ok()?);
            Some((zone.to_string(), (hash.to_string(), serial)))
        })
        .collect()
}

fn absolute(name: &str, zone: &str) -> String {
    if name.ends_with('.') {
        name.to_ascii_lowercase()
    } else if name == zone || name.ends_with(&format!(".{zone}")) {
        format!("{}.", name.to_ascii_lowercase())
    } else {
        format!("{}.{zone}.", name.to_ascii_lowercase())
    }
}

/// `hostmaster@example.com` as an SOA mailbox: `hostmaster.example.com.` (dots of the local
/// part escaped).
fn mailbox(admin: &str) -> String {
    match admin.split_once('@') {
        Some((local, domain)) => format!(
            "{}.{}.",
            local.replace('.', "\\."),
            domain.trim_end_matches('.')
        ),
        None => format!("{}.", admin.trim_end_matches('.')),
    }
}

/// Zone-file text for a record's data: TXT strings quoted and escaped, names as written.
fn record_data(r: &DnsRecord) -> String {
    if r.rtype == "TXT" {
        r.data
            .iter()
            .flat_map(|s| txt_chunks(s))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        r.data.join(" ")
    }
}

/// A TXT string as quoted character-strings of at most 255 bytes, with `"`, `\`, and every
/// byte outside printable ASCII written as `\DDD`: nothing in it can end the string or line.
fn txt_chunks(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    for chunk in bytes.chunks(255) {
        let mut q = String::from("\"");
        for &b in chunk {
            match b {
                b'"' | b'\\' => q.push_str(&format!("\\{}", b as char)),
                0x20..=0x7e => q.push(b as char),
                _ => q.push_str(&format!("\\{b:03}")),
            }
        }
        q.push('"');
        out.push(q);
    }
    if out.is_empty() {
        out.push("\"\"".into());
    }
    out
}

/// PTR records for every host address (its names, and `HOST.VLAN.DOMAIN` for its other
/// interfaces), every VIP name and every name server with an address, grouped into zones: IPv4 /24 zones (one /16 zone
/// for a /16 subnet), IPv6 zones at the subnet's nibble boundary. Subnets netc cannot serve
/// this way are refused by the reverse-zone check (E063) before this runs.
fn reverse_zones(plan: &Plan, dns: &[DnsRecord], external: bool) -> Vec<Pending> {
    let mut zones: BTreeMap<String, (Vec<(String, String)>, usize)> = BTreeMap::new();
    let mut seen: Vec<IpAddr> = Vec::new();
    for r in dns.iter().filter(|r| {
        r.source.starts_with("host ")
            || r.source.starts_with("vip ")
            || r.source.starts_with("name server of ")
    }) {
        let Some(addr) = r.addr else { continue };
        if seen.contains(&addr) {
            continue; // one PTR per address: the first name (hosts' primary names come first)
        }
        seen.push(addr);
        let all: Vec<usize> = (0..plan.vlans.len()).collect();
        let prefix = plan
            .subnet_in_vlans(addr, &all)
            .map_or(24, |s| plan.subnets[s].net.prefix_len());
        let prefix = reverse_prefix(addr, prefix);
        let (zone, owner) = reverse_name(addr, prefix);
        let entry = zones.entry(zone).or_insert_with(|| (Vec::new(), r.zone));
        entry.0.push((owner, format!("{}.", r.fqdn)));
    }
    zones
        .into_iter()
        .map(|(name, (mut ptrs, forward))| {
            ptrs.sort_by_key(|p| natural(&p.0));
            let fz = &plan.zones[forward];
            let (ns, mut records) = apex_ns(fz);
            records.extend(ptrs.into_iter().map(|(owner, target)| Rr {
                name: owner,
                rtype: "PTR".into(),
                data: target,
            }));
            Pending {
                name,
                external,
                serial_date: fz.serial_date,
                ttl: fz.ttl,
                primary: ns.first().cloned().unwrap_or_default(),
                mailbox: mailbox(&fz.admin),
                records,
                forward,
            }
        })
        .collect()
}

/// For each classless (RFC 2317) reverse zone, what the administrator of its parent /24 zone
/// must add: an NS delegation and a CNAME for every address of the block, in
/// `bind/rfc2317/PARENT.txt` (zone-file lines, relative to the parent).
fn rfc2317_parents(plan: &Plan, reverse: &[Pending]) -> Vec<OutputFile> {
    let mut parents: BTreeMap<String, String> = BTreeMap::new();
    for z in reverse {
        let Some((label, parent)) = z.name.split_once('.') else {
            continue;
        };
        let Some((first, prefix)) = label.split_once('-') else {
            continue;
        };
        let (Ok(first), Ok(prefix)) = (first.parse::<u16>(), prefix.parse::<u16>()) else {
            continue;
        };
        let text = parents.entry(parent.to_string()).or_insert_with(|| {
            format!(
                "{}; Add these lines to zone {parent} (RFC 2317 classless delegation).\n",
                header(
                    plan,
                    &format!("delegation of classless reverse zones in {parent}"),
                    ";"
                )
            )
        });
        for r in z.records.iter().filter(|r| r.rtype == "NS") {
            text.push_str(&format!("{label}\tIN\tNS\t{}\n", r.data));
        }
        let size = 1u16 << (32 - prefix.min(32));
        for a in first..first + size {
            text.push_str(&format!("{a}\tIN\tCNAME\t{a}.{}.\n", z.name));
        }
    }
    parents
        .into_iter()
        .map(|(parent, contents)| OutputFile {
            path: PathBuf::from(format!("bind/rfc2317/{parent}.txt")),
            contents,
        })
        .collect()
}

/// Sort key: numeric labels by value.
fn natural(s: &str) -> Vec<(u32, String)> {
    s.split('.')
        .rev()
        .map(|l| (l.parse().unwrap_or(u32::MAX), l.to_string()))
        .collect()
}
