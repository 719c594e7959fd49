//! Small helpers about names shared by the front end, the checks and the targets (typo
//! hints, DNS labels, reverse-zone names).

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        // Optimal string alignment: a swap of two neighbours (`teir`) is one edit.
        .map(|c| (strsim::osa_distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// A DNS label as hostnames allow it (RFC 1123): letters, digits, inner hyphens, 1-63 bytes.
pub fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A hostname: dot-separated DNS labels, at most 253 bytes; a final dot is allowed.
pub fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// The prefix of the reverse zone netc writes for an address of a subnet of `subnet_prefix`
/// bits: IPv4 /16 for a /16, classless (RFC 2317) for longer than /24, else /24; IPv6 the
/// subnet's own nibble boundary.
pub fn reverse_prefix(addr: std::net::IpAddr, subnet_prefix: u8) -> u8 {
    match addr {
        std::net::IpAddr::V4(_) if subnet_prefix == 16 => 16,
        std::net::IpAddr::V4(_) if subnet_prefix > 24 => subnet_prefix,
        std::net::IpAddr::V4(_) => 24,
        std::net::IpAddr::V6(_) => subnet_prefix,
    }
}

/// The reverse zone an address belongs to, and the owner name inside it. IPv4 prefixes longer
/// than /24 get an RFC 2317 zone named `FIRST-PREFIX.C.B.A.in-addr.arpa` (192.0.2.64/26:
/// `64-26.2.0.192.in-addr.arpa`), which the parent /24's zone delegates with CNAMEs.
pub fn reverse_name(addr: std::net::IpAddr, prefix: u8) -> (String, String) {
    match addr {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            if prefix > 24 {
                let size = 1u16 << (32 - u16::from(prefix.min(32)));
                let first = u16::from(o[3]) & !(size - 1);
                (
                    format!("{first}-{prefix}.{}.{}.{}.in-addr.arpa", o[2], o[1], o[0]),
                    o[3].to_string(),
                )
            } else if prefix == 16 {
                (
                    format!("{}.{}.in-addr.arpa", o[1], o[0]),
                    format!("{}.{}", o[3], o[2]),
                )
            } else {
                (
                    format!("{}.{}.{}.in-addr.arpa", o[2], o[1], o[0]),
                    o[3].to_string(),
                )
            }
        }
        std::net::IpAddr::V6(a) => {
            let nibbles: Vec<String> = a
                .octets()
                .iter()
                .flat_map(|b| [b >> 4, b & 0xf])
                .map(|n| format!("{n:x}"))
                .collect();
            let keep = (prefix / 4) as usize;
            let zone: Vec<&str> = nibbles[..keep].iter().rev().map(String::as_str).collect();
            let owner: Vec<&str> = nibbles[keep..].iter().rev().map(String::as_str).collect();
            (format!("{}.ip6.arpa", zone.join(".")), owner.join("."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("catalgo", ["catalog", "query"]),
            Some("catalog")
        );
        assert_eq!(did_you_mean("zzz", ["catalog", "query"]), None);
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("pg01.catalog.datalyptica.local"));
        assert!(!is_hostname("pg_01.example.com"));
        assert!(!is_hostname("-a.example.com"));
        assert!(!is_hostname("a..b"));
    }
}
