//! Small helpers about names shared by the front end and the checks.

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
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
