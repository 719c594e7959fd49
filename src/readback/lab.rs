//! The namespace lab: rulesets and configurations loaded by the real `nft`, firewalld and ufw
//! in private network namespaces, and read back. Every command goes through `crate::exec`
//! (time limits, nothing outlives netc); every file copied in is read through
//! `output::read_safe` (no link followed, size capped) and XML with a DOCTYPE is refused.

use super::{err, ReadError};
use crate::exec::{self, Daemon, Namespace, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long loading or listing one ruleset may take (a 20,000-host router loads in ~3 s).
const NFT_LIMIT: Duration = Duration::from_secs(300);
/// How long a daemon may take to start, and a configuration check to run.
const DAEMON_LIMIT: Duration = Duration::from_secs(60);

fn ran(what: &str, r: Result<exec::Output, exec::ExecError>) -> Result<exec::Output, ReadError> {
    r.map_err(|e| ReadError(format!("{what}: {e}")))
}

/// Load an nftables ruleset into a fresh private network namespace with the real `nft`, list
/// it back as JSON, and remove the namespace (also when anything fails).
pub fn load_in_namespace(ruleset: &[u8], _n: usize) -> Result<String, ReadError> {
    let ns = Namespace::new("verify").map_err(ReadError)?;
    let o = ran(
        "nft -f",
        exec::run(
            ns.command("nft").args(["-f", "-"]),
            Some(ruleset),
            NFT_LIMIT,
        ),
    )?;
    if !o.success() {
        return err(format!("the kernel refused the ruleset: {}", o.said()));
    }
    list_ruleset(&ns)
}

fn list_ruleset(ns: &Namespace) -> Result<String, ReadError> {
    let o = ran(
        "nft -j list ruleset",
        exec::run(
            ns.command("nft").args(["-j", "list", "ruleset"]),
            None,
            NFT_LIMIT,
        ),
    )?;
    if !o.success() {
        return err(format!("nft -j list ruleset: {}", o.said()));
    }
    String::from_utf8(o.stdout).map_err(|e| ReadError(e.to_string()))
}

/// A configuration for a private dbus-daemon system bus listening on the socket `bus`: the
/// machine's system.conf without its user, fork and pid file, its policies included.
pub fn private_bus_conf(bus: &Path) -> Result<String, ReadError> {
    let system = std::fs::read_to_string("/usr/share/dbus-1/system.conf")
        .map_err(|e| ReadError(format!("dbus-daemon's system.conf: {e}")))?;
    let mut conf = system
        .replace("<user>messagebus</user>", "")
        .replace("<fork/>", "")
        .replace("<pidfile>/run/dbus/pid</pidfile>", "")
        .replace(
            "<includedir>system.d</includedir>",
            "<includedir>/usr/share/dbus-1/system.d</includedir>",
        );
    match (conf.find("<listen>"), conf.find("</listen>")) {
        (Some(a), Some(b)) => conf.replace_range(
            a..b + "</listen>".len(),
            &format!("<listen>unix:path={}</listen>", bus.display()),
        ),
        _ => return err("dbus-daemon's system.conf has no <listen> element"),
    }
    Ok(conf)
}

/// What the real firewalld makes of a host's compiled configuration (`firewalld/HOST/` under
/// `out`: zones, ipsets, services): `load_firewalld_config` of that directory.
pub fn load_firewalld_in_namespace(out: &Path, host: &str, n: usize) -> Result<String, ReadError> {
    load_firewalld_config(out, &Path::new("firewalld").join(host), n)
}

/// XML that declares a DOCTYPE (and with it entities, which can expand without bound: a
/// 400-byte "billion laughs" keeps firewall-offline-cmd busy for minutes), or that is not
/// well-formed, is refused before any tool reads it (parsed with quick-xml, which expands no
/// entity).
pub fn refuse_doctype(file: &Path, text: &[u8]) -> Result<(), ReadError> {
    use quick_xml::events::Event;
    let shown = || crate::diag::printable_path(file);
    let mut r = quick_xml::Reader::from_reader(text);
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Eof) => return Ok(()),
            Ok(Event::DocType(_)) => {
                return err(format!(
                    "{}: declares a DOCTYPE: refused (its entities can expand without bound)",
                    shown()
                ))
            }
            Ok(_) => {}
            Err(e) => {
                return err(format!(
                    "{}: not well-formed XML at byte {}: {e}",
                    shown(),
                    r.buffer_position()
                ))
            }
        }
        buf.clear();
    }
}

/// What the real firewalld makes of a configuration directory (`rel` under `base`, laid out
/// as `/etc/firewalld`: zones, policies, ipsets, services, helpers, icmptypes and, when it
/// has one, its own `firewalld.conf`; else the machine's): the configuration is checked with
/// `firewall-offline-cmd --check-config` (firewalld silently falls back to its stock
/// configuration when its own is bad), then firewalld runs in a private network namespace on
/// a private D-Bus with it as its whole system configuration, and the nftables ruleset it
/// loads is listed as JSON. Every construct firewalld knows (rich rules and their priorities,
/// zone targets, policies, services) is thus given the meaning firewalld gives it. Files are
/// read through real directories only (`output::read_safe`: a link is refused, not followed,
/// and the size is capped); XML with a DOCTYPE is refused; the copy lives in a private
/// temporary directory that is removed afterwards, as are the namespace and the processes.
pub fn load_firewalld_config(base: &Path, rel: &Path, _n: usize) -> Result<String, ReadError> {
    let dir = TempDir::new("fw").map_err(|e| ReadError(format!("temporary directory: {e}")))?;
    let tmp = dir.path();
    let sys = tmp.join("system-config");
    for sub in [
        "zones",
        "ipsets",
        "services",
        "policies",
        "helpers",
        "icmptypes",
    ] {
        std::fs::create_dir_all(sys.join(sub)).map_err(|e| ReadError(e.to_string()))?;
        let dir = base.join(rel).join(sub);
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() {
            return err(format!("{}: not a directory", dir.display()));
        }
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)
            .map_err(|e| ReadError(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for name in names {
            let file = rel.join(sub).join(&name);
            let text = crate::output::read_safe(base, &file)
                .map_err(|e| ReadError(e.0))?
                .ok_or_else(|| ReadError(format!("{}: vanished", file.display())))?;
            refuse_doctype(&file, &text)?;
            std::fs::write(sys.join(sub).join(&name), text)
                .map_err(|e| ReadError(e.to_string()))?;
        }
    }
    let own =
        crate::output::read_safe(base, &rel.join("firewalld.conf")).map_err(|e| ReadError(e.0))?;
    let conf = match own {
        Some(conf) => conf,
        None => std::fs::read("/etc/firewalld/firewalld.conf").map_err(|e| {
            ReadError(format!(
                "/etc/firewalld/firewalld.conf: {e} (is firewalld installed?)"
            ))
        })?,
    };
    std::fs::write(sys.join("firewalld.conf"), conf).map_err(|e| ReadError(e.to_string()))?;
    let check = ran(
        "firewall-offline-cmd",
        exec::run(
            Command::new("firewall-offline-cmd")
                .arg("--system-config")
                .arg(&sys)
                .arg("--check-config"),
            None,
            DAEMON_LIMIT,
        ),
    )?;
    if !check.success() || !check.stdout.is_empty() || !check.stderr.is_empty() {
        return err(format!(
            "firewall-offline-cmd --check-config refuses {}: {}",
            rel.display(),
            check.said()
        ));
    }
    // A private system bus for firewalld.
    let bus = tmp.join("bus");
    std::fs::write(tmp.join("bus.conf"), private_bus_conf(&bus)?)
        .map_err(|e| ReadError(e.to_string()))?;
    let ns = Namespace::new("fw").map_err(ReadError)?;
    let address = format!("unix:path={}", bus.display());
    let with_bus = |mut c: Command| {
        c.env("DBUS_SYSTEM_BUS_ADDRESS", &address);
        c
    };
    let bus_conf = format!("--config-file={}", tmp.join("bus.conf").display());
    let _dbus = Daemon::spawn(with_bus(ns.command("dbus-daemon")).args([
        bus_conf.as_str(),
        "--nofork",
        "--nopidfile",
    ]))
    .map_err(|e| ReadError(e.to_string()))?;
    wait("dbus-daemon", &|| bus.exists())?;
    let _firewalld = Daemon::spawn(
        with_bus(ns.command("firewalld"))
            .args(["--nofork", "--nopid", "--system-config"])
            .arg(&sys),
    )
    .map_err(|e| ReadError(e.to_string()))?;
    wait("firewalld", &|| {
        exec::run(
            with_bus(ns.command("firewall-cmd")).arg("--state"),
            None,
            Duration::from_secs(10),
        )
        .is_ok_and(|o| o.success())
    })?;
    list_ruleset(&ns)
}

fn wait(what: &str, done: &dyn Fn() -> bool) -> Result<(), ReadError> {
    let deadline = std::time::Instant::now() + DAEMON_LIMIT;
    while !done() {
        if std::time::Instant::now() > deadline {
            return err(format!(
                "[{}] {what} did not start within {} s",
                exec::R001,
                DAEMON_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// What the real ufw loads from a host's compiled rules (`ufw/HOST/user.rules` and
/// `user6.rules` under `out`, with the machine's stock `/etc/ufw` files around them): ufw is
/// enabled in a private network namespace on a private copy of its configuration, and the
/// kernel's rules are listed with `iptables-save` and `ip6tables-save`. The copy and the
/// namespace are removed afterwards.
pub fn load_ufw_in_namespace(
    out: &Path,
    host: &str,
    _n: usize,
) -> Result<(String, String), ReadError> {
    if !Path::new("/etc/ufw").is_dir() {
        return err("/etc/ufw is missing (is ufw installed?)");
    }
    let dir = TempDir::new("ufw").map_err(|e| ReadError(format!("temporary directory: {e}")))?;
    let tmp = dir.path();
    let etc = tmp.join("etc");
    let step = |what: &str, c: &mut Command| -> Result<String, ReadError> {
        let o = ran(what, exec::run(c, None, DAEMON_LIMIT))?;
        if !o.success() {
            return err(format!("{what}: {}", o.said()));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    std::fs::create_dir_all(etc.join("default")).map_err(|e| ReadError(e.to_string()))?;
    std::fs::create_dir_all(tmp.join("lib/ufw")).map_err(|e| ReadError(e.to_string()))?;
    step(
        "cp /etc/ufw",
        Command::new("cp")
            .args(["-r", "/etc/ufw"])
            .arg(etc.join("ufw")),
    )?;
    step(
        "cp /etc/default/ufw",
        Command::new("cp")
            .arg("/etc/default/ufw")
            .arg(etc.join("default/ufw")),
    )?;
    for f in ["user.rules", "user6.rules"] {
        let rel = Path::new("ufw").join(host).join(f);
        let text = crate::output::read_safe(out, &rel)
            .map_err(|e| ReadError(e.0))?
            .ok_or_else(|| ReadError(format!("{} is missing", rel.display())))?;
        std::fs::write(etc.join("ufw").join(f), text).map_err(|e| ReadError(e.to_string()))?;
    }
    step("chmod", Command::new("chmod").args(["-R", "go-w"]).arg(tmp))?;
    let ns = Namespace::new("ufw").map_err(ReadError)?;
    let datadir = format!("--datadir={}", tmp.display());
    step(
        "ufw enable",
        ns.command("ufw")
            .args(["--rootdir=/", datadir.as_str(), "--force", "enable"]),
    )?;
    let v4 = step("iptables-save", &mut ns.command("iptables-save"))?;
    let v6 = step("ip6tables-save", &mut ns.command("ip6tables-save"))?;
    Ok((v4, v6))
}

/// A host file of `--nft-blocks shared` with its `include "./blocks/NAME.nft"` lines replaced
/// by those files of `OUT/nftables/blocks/`, read as every file under `--out` is (no link
/// followed, nothing outside, size capped): `nft` never opens a file itself. Any other
/// `include` nft would read, anywhere in the host file or in a block (after a `;`, inside a
/// table, in any case), is refused.
pub fn inline_blocks(out: &Path, text: &[u8]) -> Result<Vec<u8>, String> {
    let mut result = Vec::with_capacity(text.len());
    let own = format!("include \"./{}/", crate::targets::nftables::BLOCKS_DIR);
    for line in text.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.trim_ascii();
        let name = std::str::from_utf8(trimmed)
            .ok()
            .and_then(|t| t.strip_prefix(own.as_str()))
            .and_then(|t| t.strip_suffix(".nft\""))
            .filter(|n| {
                !n.is_empty()
                    && !n.starts_with('.')
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            });
        let Some(name) = name else {
            result.extend_from_slice(line);
            continue;
        };
        let rel = std::path::PathBuf::from(format!(
            "nftables/{}",
            crate::targets::nftables::block_path(name)
        ));
        let block = crate::output::read_safe(out, &rel)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} is missing", rel.display()))?;
        result.extend_from_slice(&block);
        if !block.ends_with(b"\n") {
            result.push(b'\n');
        }
    }
    if let Some(at) = find_nft_include(&result) {
        let line = result[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(format!(
            "an include netc does not write (line {line} once its blocks are read in): refused, nft would open a file netc did not choose"
        ));
    }
    Ok(result)
}

/// Where nft's scanner would read the keyword `include` in `text`: outside comments (`#` to
/// the end of the line) and quoted strings (nft's have no escapes), as a whole word, in any
/// case (stricter than nft, which is case-sensitive).
pub fn find_nft_include(text: &[u8]) -> Option<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b"_./-@$\\".contains(&b);
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'#' => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += 1;
                }
                i += 1;
            }
            b if word(b) => {
                let start = i;
                while i < text.len() && word(text[i]) {
                    i += 1;
                }
                if text[start..i].eq_ignore_ascii_case(b"include") {
                    return Some(start);
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_include_nft_would_read_is_found() {
        for text in [
            "include \"/etc/shadow\"",
            "table inet netc; include \"/etc/shadow\"",
            "table inet netc {\n\tchain c {\n\t\tINCLUDE \"/x\"\n\t}\n}",
            "table inet netc{include\"/etc/*\"}",
            "  # comment\n\tinclude \"/proc/self/environ\"",
        ] {
            assert!(find_nft_include(text.as_bytes()).is_some(), "{text}");
        }
        for text in [
            "# include \"/etc/shadow\"",
            "tcp dport 22 accept comment \"include /etc/shadow\"",
            "chain to_include { }",
            "set include-me { }",
            "jump @include",
        ] {
            assert!(find_nft_include(text.as_bytes()).is_none(), "{text}");
        }
    }
}
