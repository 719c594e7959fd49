//! E062 dns-conflict: a name with a CNAME and other data, or records of one name and type
//! that disagree, among the plan's lowered DNS records (`dns.rs`).

use super::dns::DnsRecord;
use super::list;
use crate::diag::Diagnostic;
use std::collections::BTreeMap;

/// Conflicting records of one name.
pub fn check(records: &[DnsRecord], diags: &mut Vec<Diagnostic>) {
    let mut by_name: BTreeMap<&str, Vec<&DnsRecord>> = BTreeMap::new();
    for r in records {
        by_name.entry(&r.fqdn).or_default().push(r);
    }
    for (name, rs) in by_name {
        if let Some(cname) = rs.iter().find(|r| r.rtype == "CNAME") {
            if let Some(other) = rs.iter().find(|r| !std::ptr::eq(**r, *cname)) {
                diags.push(
                    Diagnostic::new(&crate::codes::E062, format!("`{name}` has a CNAME and other data"))
                        .with_primary(cname.span, "CNAME")
                        .with_secondary(other.span, format!("{} from {}", other.rtype, other.source))
                        .with_help("a name with a CNAME can have no other record (RFC 1034); rename one of them"),
                );
            }
            continue;
        }
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[..i] {
                if a.rtype != b.rtype {
                    continue;
                }
                if a.data == b.data {
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::E062,
                            format!(
                                "`{name}` {} {} is declared twice",
                                a.rtype,
                                a.data.join(" ")
                            ),
                        )
                        .with_primary(a.span, format!("from {}", a.source))
                        .with_secondary(b.span, format!("from {}", b.source))
                        .with_help("BIND merges duplicates silently; keep one"),
                    );
                } else if a.source != b.source && a.addr.is_some() {
                    diags.push(
                        Diagnostic::new(
                            &crate::codes::E062,
                            format!("`{name}` points at {} and {}", b.data[0], a.data[0]),
                        )
                        .with_primary(a.span, format!("{} says {}", a.source, a.data[0]))
                        .with_secondary(b.span, format!("{} says {}", b.source, b.data[0]))
                        .with_help(format!(
                            "one name, one owner: {}",
                            list(&[a.source.clone(), b.source.clone()]) + " cannot share it"
                        )),
                    );
                }
            }
        }
    }
}
