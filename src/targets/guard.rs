//! Well-formedness guards, applied to every generated file before it leaves netc: whatever a
//! plan says, a file that a tool would read differently from what netc meant is an internal
//! error (exit 2), never an output. Each format gets the check that closes its class of
//! injection: XML parsed back with only the elements and attributes netc writes, nft strings
//! checked against nft's lexer (no quote, backslash or `$` inside, one line each), zone owners
//! inside their zone and quotes balanced, shell and iptables lines without anything a shell
//! or `iptables-restore` would read as syntax, and no control characters anywhere.

use super::OutputFile;

fn fail(f: &OutputFile, line: usize, why: &str) -> Result<(), String> {
    Err(format!(
        "internal error: generated `{}` failed its guard at line {}: {why}",
        f.path.display(),
        line + 1
    ))
}

/// Check one generated file.
pub fn check(f: &OutputFile) -> Result<(), String> {
    // Control characters other than tab and newline, by bytes (every file passes here, and
    // host rulesets run to hundreds of megabytes): C0 controls and DEL are single bytes, C1
    // controls (U+0080-U+009F) are 0xC2 0x80-0x9F in UTF-8.
    let bytes = f.contents.as_bytes();
    // First a branch-free pass (it vectorizes) that only asks whether the file is printable
    // ASCII, tabs and newlines; only a file that is not gets the exact scan below.
    let plain = bytes.chunks(1 << 16).all(|chunk| {
        !chunk.iter().fold(false, |odd, &b| {
            odd | ((b < 0x20) & (b != b'\t') & (b != b'\n')) | (b >= 0x7f)
        })
    });
    let bad = if plain {
        None
    } else {
        bytes.iter().enumerate().position(|(i, &b)| {
            (b < 0x20 && b != b'\t' && b != b'\n')
                || b == 0x7f
                || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
        })
    };
    if let Some(at) = bad {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count();
        return fail(
            f,
            line,
            if bytes[at] == b'\r' {
                "a carriage return"
            } else {
                "a control character"
            },
        );
    }
    let path = f.path.to_string_lossy();
    let ext = f.path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "xml" => xml(f),
        "nft" => nft(f),
        "rules" => iptables(f),
        "sh" if path.starts_with("routes/") => dispatcher(f),
        "sh" => shell(f),
        "conf" if path.starts_with("keepalived/") => keepalived(f),
        "ip" if path.starts_with("routes/") => ip_batch(f),
        "yaml" if path.starts_with("routes/") => netplan(f),
        "junos" => quoted_lines(f, '"'),
        _ if path.starts_with("bind/zones/") => zone(f),
        "netc" if path.starts_with("bind/") => quoted_lines(f, '"'),
        _ => Ok(()),
    }
}

/// netplan route files: comments, and netc's lines only, with quoted device names, prefixes and
/// addresses that parse (nothing YAML would read as another key, anchor or document).
fn netplan(f: &OutputFile) -> Result<(), String> {
    let quoted = |s: &str| -> Option<String> {
        s.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .map(str::to_string)
    };
    let device = |d: &str| {
        !d.is_empty()
            && d.len() <= 15
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    for (n, line) in f.contents.lines().enumerate() {
        let ok = line.starts_with('#')
            || matches!(
                line,
                "network:"
                    | "  version: 2"
                    | "  ethernets:"
                    | "  bonds:"
                    | "  bridges:"
                    | "  vlans:"
                    | "      routes:"
            )
            || line
                .strip_prefix("    ")
                .and_then(|r| r.strip_suffix(':'))
                .and_then(quoted)
                .is_some_and(|d| device(&d))
            || line
                .strip_prefix("        - to: ")
                .and_then(quoted)
                .is_some_and(|p| p.parse::<ipnet::IpNet>().is_ok())
            || line
                .strip_prefix("          via: ")
                .and_then(quoted)
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok());
        if !ok {
            return fail(f, n, "a line that is not netc's netplan route");
        }
    }
    Ok(())
}

/// NetworkManager dispatcher route scripts: the template's fixed lines, and per device a
/// quoted case label and `ip route replace` lines whose prefix and address parse and whose
/// device is that interface name (nothing the shell would expand or run otherwise).
fn dispatcher(f: &OutputFile) -> Result<(), String> {
    const TEMPLATE: &str = include_str!("../../targets/routes/nm-dispatcher.sh");
    let fixed: Vec<&str> = TEMPLATE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains("{{") && !l.contains("{%"))
        .collect();
    let device = |d: &str| {
        !d.is_empty()
            && d.len() <= 15
            && !d.starts_with('-')
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    let mut dev: Option<String> = None;
    for (n, line) in f.contents.lines().enumerate() {
        if line.starts_with('#') || fixed.contains(&line) {
            continue;
        }
        if let Some(d) = line.strip_prefix('"').and_then(|r| r.strip_suffix("\")")) {
            if !device(d) {
                return fail(f, n, "a case label that is not an interface name");
            }
            dev = Some(d.to_string());
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let ok = matches!(words.as_slice(),
            ["\tip", "route", "replace", net, "via", gw, "dev", d]
                if net.parse::<ipnet::IpNet>().is_ok()
                    && gw.parse::<std::net::IpAddr>().is_ok()
                    && dev.as_deref() == Some(*d));
        if !ok {
            return fail(f, n, "a line that is not netc's route script");
        }
    }
    Ok(())
}

/// `ip -batch` route files: comments, and `route replace PREFIX via ADDRESS dev NAME` lines
/// whose prefix and address parse and whose device is an interface name (nothing `ip` would
/// read as another option or command).
fn ip_batch(f: &OutputFile) -> Result<(), String> {
    for (n, line) in f.contents.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let ok = matches!(words.as_slice(),
            ["route", "replace", net, "via", gw, "dev", dev]
                if net.parse::<ipnet::IpNet>().is_ok()
                    && gw.parse::<std::net::IpAddr>().is_ok()
                    && !dev.is_empty()
                    && dev.len() <= 15
                    && dev.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
                    && !dev.starts_with('-'));
        if !ok {
            return fail(f, n, "a line that is not a route");
        }
    }
    Ok(())
}

/// firewalld XML: well-formed, no DOCTYPE or entities, only netc's elements and attributes.
/// A position's line, computed when shown.
struct LineAt<'a>(&'a str, usize);

impl LineAt<'_> {
    fn get(&self) -> usize {
        let end = self.1.min(self.0.len());
        self.0.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }
}

fn xml(f: &OutputFile) -> Result<(), String> {
    use quick_xml::events::Event;
    const ALLOWED: &[(&str, &[&str])] = &[
        ("zone", &["target"]),
        ("policy", &["target", "priority"]),
        ("ingress-zone", &["name"]),
        ("egress-zone", &["name"]),
        ("icmp-type", &["name"]),
        ("ipset", &["type"]),
        ("service", &["name"]),
        ("short", &[]),
        ("description", &[]),
        ("interface", &["name"]),
        ("rule", &["family", "priority"]),
        ("source", &["ipset", "address"]),
        ("destination", &["ipset", "address"]),
        ("port", &["port", "protocol"]),
        ("protocol", &["value"]),
        ("log", &["prefix", "level"]),
        ("accept", &[]),
        ("drop", &[]),
        ("reject", &[]),
        ("entry", &[]),
        ("option", &["name", "value"]),
    ];
    let mut r = quick_xml::Reader::from_str(&f.contents);
    loop {
        let at = r.buffer_position() as usize;
        // Counted only when a check fails (counting at every event is quadratic).
        let line = LineAt(&f.contents, at);
        match r.read_event() {
            Err(e) => return fail(f, line.get(), &format!("not well-formed XML: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::DocType(_)) => return fail(f, line.get(), "a DOCTYPE"),
            Ok(Event::PI(_)) => return fail(f, line.get(), "a processing instruction"),
            Ok(Event::CData(_)) => return fail(f, line.get(), "a CDATA section"),
            Ok(Event::Comment(c)) => {
                let text = String::from_utf8_lossy(&c);
                if text.contains("--") {
                    return fail(f, line.get(), "`--` inside a comment");
                }
            }
            Ok(Event::Text(t)) => {
                let raw = String::from_utf8_lossy(&t);
                if raw.contains('&')
                    && raw.split('&').skip(1).any(|rest| {
                        let numeric = rest
                            .strip_prefix("#x")
                            .map(|r| (r, 16))
                            .or_else(|| rest.strip_prefix('#').map(|r| (r, 10)))
                            .and_then(|(r, radix)| r.split_once(';').map(|(n, _)| (n, radix)))
                            .is_some_and(|(n, radix)| {
                                !n.is_empty() && u32::from_str_radix(n, radix).is_ok()
                            });
                        !numeric
                            && !["amp;", "lt;", "gt;", "quot;", "apos;"]
                                .iter()
                                .any(|e| rest.starts_with(e))
                    })
                {
                    return fail(f, line.get(), "an entity reference");
                }
            }
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let Some((_, attrs)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
                    return fail(
                        f,
                        line.get(),
                        &format!("an element netc does not write: <{name}>"),
                    );
                };
                for a in e.attributes() {
                    let a = match a {
                        Ok(a) => a,
                        Err(e) => return fail(f, line.get(), &format!("a bad attribute: {e}")),
                    };
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    if !attrs.contains(&key.as_str()) {
                        return fail(f, line.get(), &format!("attribute `{key}` on <{name}>"));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// nftables: every quoted string is plain (nft's lexer ends a string at `"`, and expands
/// `$` variables); comments are whole lines.
fn nft(f: &OutputFile) -> Result<(), String> {
    for (i, line) in f.contents.lines().enumerate() {
        let code = line.trim_start().as_bytes();
        if code.first() == Some(&b'#') {
            continue;
        }
        // Most lines have none of these bytes: skip them without the state machine.
        if !code.iter().any(|b| matches!(b, b'"' | b'#' | b'\\' | b'$')) {
            continue;
        }
        // Outside strings, a `#` would start a comment and hide the rest of the rule (all the
        // bytes looked at are ASCII, so bytes are characters here).
        let mut in_string = false;
        for &c in code {
            match c {
                b'"' => in_string = !in_string,
                b'\\' | b'$' if in_string => return fail(f, i, "`\\` or `$` in a string"),
                b'#' if !in_string => return fail(f, i, "a `#` inside a rule"),
                _ => {}
            }
        }
        if in_string {
            return fail(f, i, "an unterminated string");
        }
    }
    Ok(())
}

/// ufw's user.rules (iptables-restore input): no quotes or shell syntax except the LOG
/// prefixes netc writes.
fn iptables(f: &OutputFile) -> Result<(), String> {
    for (i, line) in f.contents.lines().enumerate() {
        if line.starts_with('#') && !line.starts_with("### tuple ###") {
            continue;
        }
        let rest = line
            .replace("--log-prefix \"[UFW BLOCK] \"", "")
            .replace("--log-prefix \"[UFW ALLOW] \"", "")
            .replace("--log-prefix \"[UFW LIMIT BLOCK] \"", "");
        if rest
            .chars()
            .any(|c| matches!(c, '"' | '\'' | '`' | '$' | ';' | '|' | '&' | '<' | '>'))
        {
            return fail(f, i, "a quote or shell syntax in an iptables line");
        }
    }
    Ok(())
}

/// netc-ufw.sh: fixed text. Every line that is not a comment is the template's own line, in
/// order (the plan reaches only comment lines: the header and the host's name).
fn shell(f: &OutputFile) -> Result<(), String> {
    const TEMPLATE: &str = include_str!("../../targets/ufw/netc-ufw.sh");
    // The one value a code line takes from the plan: the default outgoing policy.
    let code = |t: &'static str| {
        t.lines()
            .filter(|l| !l.starts_with('#') && (!l.contains("{{") || l.contains("{{ outgoing }}")))
            .collect::<Vec<_>>()
    };
    let expected = code(TEMPLATE);
    let mut at = 0;
    for (i, line) in f.contents.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let matches = expected.get(at).is_some_and(|e| {
            *e == line
                || (e.contains("{{ outgoing }}")
                    && ["deny", "allow"]
                        .iter()
                        .any(|v| e.replace("{{ outgoing }}", v) == line))
        });
        if !matches {
            return fail(f, i, "a line that is not netc's installer");
        }
        at += 1;
    }
    if at != expected.len() {
        return fail(f, 0, "netc's installer, cut short");
    }
    Ok(())
}

/// keepalived.conf: strings are plain, a check script is a plain command or netc's own TCP
/// check.
fn keepalived(f: &OutputFile) -> Result<(), String> {
    for (i, line) in f.contents.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with('#') || code.starts_with('!') {
            continue;
        }
        if let Some(script) = code.strip_prefix("script ") {
            let inner = script
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or("\u{0}");
            let builtin = inner
                .strip_prefix("/bin/bash -c '</dev/tcp/")
                .and_then(|s| s.strip_suffix('\''))
                .is_some_and(|s| {
                    s.chars()
                        .all(|c| c.is_ascii_hexdigit() || "./:".contains(c))
                });
            let plain = inner.starts_with('/')
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b" _./:=,+@%-".contains(&b));
            if !(builtin || plain) {
                return fail(f, i, "a check script that is not a plain command");
            }
            continue;
        }
        if code.contains('"') || code.contains('\'') {
            return fail(f, i, "a quote outside a script");
        }
    }
    Ok(())
}

/// Lines whose quoted strings hold no quote or backslash.
fn quoted_lines(f: &OutputFile, quote: char) -> Result<(), String> {
    for (i, line) in f.contents.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with('#') || code.starts_with("//") || code.starts_with("/*") {
            continue;
        }
        if code.matches(quote).count() % 2 != 0 || code.contains('\\') {
            return fail(f, i, "an unbalanced quote or a backslash");
        }
    }
    Ok(())
}

/// A BIND zone file: every owner is `@`, a name relative to the origin, or an absolute name
/// inside it; TXT strings balanced; the SOA mailbox a name.
fn zone(f: &OutputFile) -> Result<(), String> {
    let mut origin = String::new();
    let mut in_soa = false;
    for (i, line) in f.contents.lines().enumerate() {
        if line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        if let Some(o) = line.strip_prefix("$ORIGIN ") {
            origin = o.trim().to_ascii_lowercase();
            continue;
        }
        if line.starts_with("$TTL ") {
            continue;
        }
        if in_soa {
            if line.trim_start().starts_with(')') {
                in_soa = false;
            }
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            return fail(
                f,
                i,
                "a record without an owner (BIND would reuse the previous one)",
            );
        }
        let owner = line.split_whitespace().next().unwrap_or("");
        let ok_chars = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_*.-".contains(&b))
                && !s.contains("..")
        };
        let inside = owner == "@"
            || (ok_chars(owner) && !owner.ends_with('.'))
            || (ok_chars(owner)
                && owner.ends_with('.')
                && (owner.eq_ignore_ascii_case(&origin)
                    || owner.to_ascii_lowercase().ends_with(&format!(".{origin}"))));
        if !inside {
            return fail(f, i, &format!("owner `{owner}` outside zone {origin}"));
        }
        if line.contains("\tSOA\t") && line.trim_end().ends_with('(') {
            in_soa = true;
        }
        // TXT strings: quotes balanced once escapes are taken out.
        let unescaped = line.replace("\\\\", "").replace("\\\"", "");
        if unescaped.matches('"').count() % 2 != 0 {
            return fail(f, i, "an unbalanced quote");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(path: &str, contents: &str) -> OutputFile {
        OutputFile {
            path: PathBuf::from(path),
            contents: contents.to_string(),
        }
    }

    #[test]
    fn each_guard_catches_its_injection() {
        let bad = [
            // The firewalld DOCTYPE that inverted every source, and an attribute netc never writes.
            ("firewalld/h/zones/netc.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE zone [<!ATTLIST source invert CDATA \"true\">]>\n<zone/>\n"),
            ("firewalld/h/zones/netc.xml", "<zone target=\"DROP\"><rule><source ipset=\"x\" invert=\"true\"/></rule></zone>\n"),
            ("firewalld/h/zones/netc.xml", "<zone><!-- a -- b --></zone>\n"),
            ("firewalld/h/zones/netc.xml", "<zone><description>&xxe;</description></zone>\n"),
            ("nftables/hosts/h.nft", "table inet netc {\n\tchain c { log prefix \"$evil\" drop }\n}\n"),
            ("nftables/hosts/h.nft", "table inet netc {\n\tchain c { ip saddr 1.2.3.4 # hidden accept\n}\n"),
            ("nftables/hosts/h.nft", "table inet netc {\n\tchain c { comment \"open\n}\n"),
            ("ufw/h/user.rules", "-A ufw-user-input -s 1.2.3.4 -j ACCEPT; rm -rf /\n"),
            ("ufw/h/netc-ufw.sh", "ufw allow from any to any comment 'x'\\''$(id)'\n"),
            ("ufw/h/netc-ufw.sh", "rm -rf /\n"),
            // Route scripts and netplan files: only routes, only through interface names.
            ("routes/h.nm-dispatcher.sh", "case \"$1\" in\n\"eth0\")\n\tip route replace 10.0.0.0/8 via 10.0.0.1 dev eth0; rm -rf /\n"),
            ("routes/h.nm-dispatcher.sh", "\"$(id)\")\n"),
            ("routes/h.nm-dispatcher.sh", "\"eth0\")\n\tip route replace 10.0.0.0/8 via 10.0.0.1 dev eth1\n"),
            ("routes/h.netplan.yaml", "network:\n  version: 2\n  ethernets:\n    \"eth0\":\n      routes:\n        - to: \"10.0.0.0/8\"\n          via: \"10.0.0.1\"\n          table: 7\n"),
            ("routes/h.netplan.yaml", "network:\n  ethernets:\n    eth0: &a {}\n"),
            ("ufw/h/netc-ufw.sh", "#!/bin/sh\n# x\nset -u\n"),
            ("keepalived/h/keepalived.conf", "vrrp_script c {\n\tscript \"/bin/sh -c id>/tmp/x\"\n}\n"),
            ("bind/zones/db.example.com", "$ORIGIN example.com.\nxexample.com.\tIN\tA\t6.6.6.6\n"),
            ("bind/zones/db.example.com", "$ORIGIN example.com.\n\tIN\tA\t6.6.6.6\n"),
            ("bind/zones/db.example.com", "$ORIGIN example.com.\n@\tIN\tTXT\t\"a\\\" b\n"),
            ("switches/tor.junos", "description \"a\" b\";\n"),
            ("switches/tor.ios", "description a\r hidden\n"),
        ];
        for (path, text) in bad {
            assert!(check(&file(path, text)).is_err(), "{path}: {text:?} passed");
        }
        let good = [
            ("firewalld/h/zones/netc.xml", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- header -->\n<zone target=\"DROP\">\n  <description>the plan&#x27;s &amp; more</description>\n</zone>\n"),
            ("nftables/hosts/h.nft", "#!/usr/sbin/nft -f\n# a comment with \"quotes\" and $x\ntable inet netc {\n\tchain c { log prefix \"netc deny a.netc:3 \" drop }\n}\n"),
            ("bind/zones/db.example.com", "; header\n$ORIGIN example.com.\n$TTL 3600\n@\tIN\tSOA\tns1.example.com. hostmaster.example.com. (\n\t\t1\t; serial\n\t\t)\nwww\tIN\tTXT\t\"a \\\" b\"\nmail.example.com.\tIN\tA\t10.0.0.1\n"),
        ];
        for (path, text) in good {
            assert!(
                check(&file(path, text)).is_ok(),
                "{path}: {:?}",
                check(&file(path, text))
            );
        }
    }
}

#[cfg(test)]
mod byte_scan_tests {
    use super::*;

    fn file(path: &str, text: &str) -> OutputFile {
        OutputFile {
            path: std::path::PathBuf::from(path),
            contents: text.to_string(),
        }
    }

    #[test]
    fn control_characters_are_refused_by_bytes() {
        for bad in ["a\u{1b}[2J", "a\r\nb", "a\u{85}b", "a\u{7f}", "a\u{0}"] {
            assert!(check(&file("x.txt", bad)).is_err(), "{bad:?}");
        }
        for good in ["tab\there\n", "é ü — ✓\n", "\u{a0}\n"] {
            assert!(check(&file("x.txt", good)).is_ok(), "{good:?}");
        }
        assert!(check(&file("a.nft", "add rule x # hidden\n")).is_err());
        assert!(check(&file("a.nft", "comment \"a$b\"\n")).is_err());
        assert!(check(&file("a.nft", "comment \"open\n")).is_err());
        assert!(check(&file(
            "a.nft",
            "  # a comment line \"\n ip saddr 10.0.0.1 accept\n"
        ))
        .is_ok());
    }
}
