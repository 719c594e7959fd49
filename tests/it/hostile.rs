//! Hostile input: plan text never smuggles anything into a config, never crashes netc, never
//! writes outside --out; every error path has its code, message and exit status.

use super::targets::{files_of, have, write_tree};
use super::*;
use netc::targets::TargetKind;
use std::process::Command;

use super::run_netc as netc;

#[test]
fn plan_text_lands_only_in_comments_and_escaped_data() {
    let c = checked("fixtures/valid/hostile/plan.netc");
    assert!(!c.has_errors());
    let files = files_of(&c, TargetKind::all());
    let mut seen = 0;
    for f in &files {
        for line in f.contents.lines().filter(|l| l.contains("EVIL")) {
            seen += 1;
            let l = line.trim();
            let ext = f.path.extension().and_then(|e| e.to_str()).unwrap_or("");
            match ext {
                "nft" | "rules" | "sh" | "conf" => assert!(
                    l.starts_with('#'),
                    "{}: plan text outside a comment: {l}",
                    f.path.display()
                ),
                "xml" => assert!(
                    l.starts_with("<!--")
                        && l.ends_with("-->")
                        && !l[4..l.len() - 3].contains("--"),
                    "{}: {l}",
                    f.path.display()
                ),
                _ if f.path.starts_with("bind/zones") => assert!(
                    l.starts_with("@\tIN\tTXT\t\"") && l.ends_with('"'),
                    "{}: {l}",
                    f.path.display()
                ),
                _ => panic!(
                    "{}: plan text in an unexpected place: {l}",
                    f.path.display()
                ),
            }
        }
    }
    assert!(seen >= 4, "the hostile strings reach the comments ({seen})");
    // No string may be cut short: the escaped TXT reads back as the plan wrote it.
    let zone = files
        .iter()
        .find(|f| f.path.ends_with("db.example.com"))
        .unwrap();
    let txt = zone.contents.lines().find(|l| l.contains("TXT")).unwrap();
    assert!(
        txt.contains(
            r#""v=spf1 -all EVIL \" ; } $ORIGIN evil.example. \\ <!-- \195\188n\195\175""#
        ),
        "{txt}"
    );
}

#[test]
fn hostile_configs_pass_the_real_tools_and_mean_the_plan() {
    let c = checked("fixtures/valid/hostile/plan.netc");
    let files = files_of(&c, TargetKind::all());
    let dir = root().join("target/it-hostile");
    write_tree(&dir, &files);
    if have("nft") && have("unshare") {
        let out = Command::new("unshare")
            .args(["-rn", "nft", "-c", "-f"])
            .arg(dir.join("nftables/hosts/web1.nft"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Exactly the rules of the plan: the host's rules for its own flows, plus VRRP.
        let text = std::fs::read_to_string(dir.join("nftables/hosts/web1.nft")).unwrap();
        let rules = text
            .lines()
            .filter(|l| {
                let l = l.trim();
                (l.ends_with('"') || l.ends_with("\",")) && l.contains(" comment \"")
            })
            .count();
        assert_eq!(
            rules, 3,
            "two sources (set elements) of the logged flow and one VRRP rule:\n{text}"
        );
    }
    if have("named-checkzone") {
        let out = Command::new("named-checkzone")
            .args(["-D", "-o", "-", "-k", "fail", "-i", "local", "example.com"])
            .arg(dir.join("bind/zones/db.example.com"))
            .output()
            .unwrap();
        let dump = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // SOA, NS, the name server's glue, the TXT, the CNAME, the VIP and web1 (the only host
        // whose tier has a domain): nothing more.
        let records: Vec<&str> = dump.lines().filter(|l| l.contains(" IN ")).collect();
        assert_eq!(records.len(), 7, "{dump}");
        assert!(
            records.iter().all(|l| l.starts_with("example.com.")
                || l.starts_with("ns1.")
                || l.starts_with("v.")
                || l.starts_with("web1.")
                || l.starts_with("www.")),
            "the $ORIGIN in the TXT stayed inside it:\n{dump}"
        );
    }
    if have("firewall-offline-cmd") {
        let host = dir.join("firewalld/fw1");
        for sub in ["services", "policies", "helpers", "icmptypes"] {
            std::fs::create_dir_all(host.join(sub)).unwrap();
        }
        std::fs::copy("/etc/firewalld/firewalld.conf", host.join("firewalld.conf")).unwrap();
        let out = Command::new("firewall-offline-cmd")
            .arg("--system-config")
            .arg(&host)
            .arg("--check-config")
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let xml = std::fs::read_to_string(host.join("zones/netc.xml")).unwrap();
        assert_eq!(
            xml.matches("<rule ").count(),
            4,
            "two sources of the logged flow, the ssh rule and VRRP:\n{xml}"
        );
    }
    if have("iptables-restore") {
        let out = Command::new("unshare")
            .args(["-rn", "iptables-restore", "--test"])
            .arg(dir.join("ufw/uf1/user.rules"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn names_never_leave_the_output_directory() {
    // Names are letters, digits, `-` and `_`: nothing else parses as a name.
    for bad in [
        "host ../etc in t",
        "host a/b in t",
        "tier .hidden",
        "tier /abs",
    ] {
        let c = netc::check_text("bad.netc", bad);
        assert!(
            c.diags.iter().any(|d| d.code == "E001"),
            "{bad}: {:?}",
            c.diags
        );
    }
    // Names that differ only by case would collide on some file systems.
    let c = netc::check_text("case.netc", "vlan 10 a { subnet 10.0.0.0/24 }\ntier t on a\nhost Web in t { a 10.0.0.1 }\nhost web in t { a 10.0.0.2 }\n");
    let d = c
        .diags
        .iter()
        .find(|d| d.code == "E010")
        .expect("case collision reported");
    assert!(d.message.contains("differ only by case"), "{}", d.message);
    let c = netc::check_text(
        "dev.netc",
        "vlan 10 a { subnet 10.0.0.0/24 }\ntier t on a\nhost con in t { a 10.0.0.1 }\n",
    );
    assert!(c
        .diags
        .iter()
        .any(|d| d.code == "E013" && d.message.contains("reserved device name")));
    // The writer refuses anything but plain relative paths, whatever produced them.
    for path in ["../x", "/etc/passwd", "a/../../b", "", "NUL.txt"] {
        let f = netc::targets::OutputFile {
            path: PathBuf::from(path),
            contents: String::new(),
        };
        assert!(netc::output::validate(&[f]).is_err(), "{path}");
    }
}

#[test]
fn unusable_output_directories_are_clear_errors() {
    let (code, _, err) = netc(&[
        "compile",
        "fixtures/valid/three-tiers/plan.netc",
        "--out",
        "/proc/netc-cannot-write-here",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: /proc/netc-cannot-write-here"),
        "{err}"
    );
    let (code, _, err) = netc(&[
        "compile",
        "fixtures/valid/three-tiers/plan.netc",
        "--out",
        "Cargo.toml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("exists and is not a directory"), "{err}");
}

fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/it-limits").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn limits_are_errors_with_codes() {
    // A line far longer than any plan needs: one error, quickly.
    let dir = scratch("long");
    let plan = dir.join("plan.netc");
    std::fs::write(&plan, format!("vlan 10 {}\n", "a".repeat(2_000_000))).unwrap();
    let (code, _, err) = netc(&["check", plan.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("netc::E001::syntax"),
        "{}",
        &err[..err.len().min(500)]
    );
    // A file over the size limit.
    let big = dir.join("big.netc");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(netc::syntax::load::MAX_FILE_BYTES + 1).unwrap();
    let (code, _, err) = netc(&["check", big.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is larger than 16 MiB"), "{err}");
    std::fs::write(&plan, "include \"big.netc\"\n").unwrap();
    let (code, _, err) = netc(&["check", plan.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("E003") && err.contains("is larger than 16 MiB"),
        "{err}"
    );
    // Includes nested deeper than the limit.
    let dir = scratch("deep");
    for i in 0..40 {
        std::fs::write(
            dir.join(format!("f{i}.netc")),
            format!("include \"f{}.netc\"\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(dir.join("f40.netc"), "").unwrap();
    let (code, _, err) = netc(&["check", dir.join("f0.netc").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("E003") && err.contains("nest deeper than 32"),
        "{err}"
    );
    // An include of a FIFO and of a directory inside the plan's directory.
    let dir = scratch("device");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let fifo = dir.join("pipe.netc");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(
        dir.join("plan.netc"),
        "include \"pipe.netc\"\ninclude \"sub\"\n",
    )
    .unwrap();
    let (code, _, err) = netc(&["check", dir.join("plan.netc").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not a regular file") && err.contains("is a directory"),
        "{err}"
    );
    // A NUL byte and invalid UTF-8.
    let dir = scratch("binary");
    std::fs::write(dir.join("nul.netc"), b"vlan 10 a\0\n").unwrap();
    let (code, _, err) = netc(&["check", dir.join("nul.netc").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("E004") && err.contains("NUL byte"), "{err}");
    std::fs::write(dir.join("latin1.netc"), b"# caf\xe9\n").unwrap();
    let (code, _, err) = netc(&["check", dir.join("latin1.netc").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("E004") && err.contains("not valid UTF-8"),
        "{err}"
    );
    // A missing plan and a directory without plans are usage errors.
    let (code, _, err) = netc(&["check", "no/such/plan.netc"]);
    assert_eq!((code, err.contains("no such file")), (2, true), "{err}");
    let empty = scratch("empty");
    let (code, _, err) = netc(&["check", empty.to_str().unwrap()]);
    assert_eq!((code, err.contains("no .netc files")), (2, true), "{err}");
}

#[test]
fn a_large_plan_checks() {
    // 2,000 hosts, 500 flows. How fast is measured in benches/, not here.
    let mut text = String::from("vlan 10 a { subnet 10.0.0.0/16 }\n");
    for t in 0..50 {
        text.push_str(&format!("tier t{t} on a\n"));
        for h in 0..40 {
            text.push_str(&format!(
                "host h{t}x{h} in t{t} {{ a 10.0.{t}.{} }}\n",
                h + 1
            ));
        }
    }
    text.push_str("service s tcp/1000-1010\n");
    for f in 0..500 {
        text.push_str(&format!("allow t{} -> t{} : s\n", f % 50, (f * 7) % 50));
    }
    let c = netc::check_text("large.netc", &text);
    assert!(!c.has_errors());
    assert_eq!(c.plan.hosts.len(), 2000);
}

#[test]
fn an_error_while_streaming_replaces_nothing() {
    use netc::output::Staged;
    use netc::targets::OutputFile;
    let out = scratch("staged");
    let file = |path: &str, text: &str| OutputFile {
        path: PathBuf::from(path),
        contents: text.into(),
    };
    netc::output::write(&out, &[file("kept.txt", "old")]).unwrap();
    let mut staged = Staged::begin(&out).unwrap();
    staged
        .add(OutputFile {
            path: PathBuf::from("kept.txt"),
            contents: "new".into(),
        })
        .unwrap();
    staged
        .add(OutputFile {
            path: PathBuf::from("dir/new.txt"),
            contents: "new".into(),
        })
        .unwrap();
    let err = staged
        .add(OutputFile {
            path: PathBuf::from("../escape.txt"),
            contents: String::new(),
        })
        .unwrap_err();
    assert!(err.0.contains("not a plain relative path"));
    staged.abort();
    assert_eq!(
        std::fs::read_to_string(out.join("kept.txt")).unwrap(),
        "old"
    );
    assert!(!out.join("dir/new.txt").exists());
    let staging_left = |dir: &std::path::Path| {
        std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("netc-stage"))
    };
    assert!(!staging_left(&out));
    // The same files committed replace the old one and leave no staging behind.
    let mut staged = Staged::begin(&out).unwrap();
    staged
        .add(OutputFile {
            path: PathBuf::from("kept.txt"),
            contents: "new".into(),
        })
        .unwrap();
    assert_eq!(staged.commit().unwrap(), 1);
    assert_eq!(
        std::fs::read_to_string(out.join("kept.txt")).unwrap(),
        "new"
    );
    assert!(!staging_left(&out));
}

#[test]
fn includes_stay_under_the_plan_directory() {
    let base = scratch("include-root");
    let plan_dir = base.join("plan");
    std::fs::create_dir_all(&plan_dir).unwrap();
    let elsewhere = base.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(
        elsewhere.join("extra.netc"),
        "vlan 99 x { subnet 10.99.0.0/24 }\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(elsewhere.join("extra.netc"), plan_dir.join("link.netc")).unwrap();
    std::fs::write(
        plan_dir.join("main.netc"),
        format!(
            "vlan 10 a {{ subnet 10.0.0.0/24 }}\ninclude \"/proc/self/environ\"\ninclude \"/proc/kmsg\"\ninclude \"../elsewhere/extra.netc\"\ninclude \"{}\"\n",
            elsewhere.join("extra.netc").display()
        ),
    )
    .unwrap();
    let main = plan_dir.join("main.netc");
    let main = main.to_str().unwrap();
    // The environment's secrets must never be echoed.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["check", main])
        .env("NETC_TEST_SECRET", "hunter2-secret-value")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("E003::include-error").count(), 4, "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // A link inside the plan's directory to a file outside it is outside too.
    std::fs::write(plan_dir.join("main.netc"), "include \"link.netc\"\n").unwrap();
    let (code, _, err) = netc(&["check", main]);
    assert_eq!(code, 1);
    assert!(err.contains("is outside the plan's directory"), "{err}");
    // Unless the command line says so.
    let (code, _, err) = netc(&["check", main, "--include-from", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // A binary file inside the plan is never quoted.
    std::fs::write(plan_dir.join("blob.netc"), b"TOKEN=hunter2\0\xff").unwrap();
    std::fs::write(plan_dir.join("main.netc"), "include \"blob.netc\"\n").unwrap();
    let (code, _, err) = netc(&["check", main]);
    assert_eq!(code, 1);
    assert!(err.contains("E004") && !err.contains("hunter2"), "{err}");
}

#[test]
fn floods_of_errors_are_bounded() {
    // 16 MiB of junk lines: reading stops after 200 syntax errors, with one error saying so.
    let dir = scratch("junk");
    let junk = "@@@ junk\n".repeat(1_500_000);
    std::fs::write(dir.join("junk.netc"), &junk).unwrap();
    let (code, out, _) = netc(&[
        "check",
        dir.join("junk.netc").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = v["diagnostics"].as_array().unwrap().len();
    assert_eq!(
        n,
        netc::syntax::parser::MAX_SYNTAX_ERRORS + 1,
        "{n} diagnostics"
    );
    assert!(out.contains("the rest of it is not read"));
    // 60,000 undefined names on one 470 KB line: every one in JSON, 250 shown to people, and
    // each quotes a window of the line, not the whole line.
    let names: Vec<String> = (0..60_000).map(|i| format!("z{i}")).collect();
    let text = format!(
        "vlan 10 a {{ subnet 10.0.0.0/24 }}\ntier t on a\nhost h in t {{ a 10.0.0.5 }}\nallow t -> {} : tcp/1\n",
        names.join(", ")
    );
    std::fs::write(dir.join("many.netc"), &text).unwrap();
    let many = dir.join("many.netc");
    let (code, _, err) = netc(&["check", many.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("... and 59750 more diagnostics not shown"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    assert!(err.len() < 400_000, "{} bytes of diagnostics", err.len());
    let (_, json, _) = netc(&["check", many.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 60_000);
    assert_eq!(v["errors"], 60_000);
}

/// Text for a netc string literal from hostile characters: quotes and backslashes escaped as
/// the language wants, everything else as it comes.
fn literal(chars: &[char]) -> String {
    chars
        .iter()
        .map(|&c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c => c.to_string(),
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, .. proptest::prelude::ProptestConfig::default() })]

    /// Hostile text in every free-text place of a plan, compiled to every target: each file
    /// passes its format's guard (XML parsed back, nft strings, zone owners, shell and
    /// iptables lines), or the plan is refused with a diagnostic. Never a guard failure.
    #[test]
    fn hostile_text_never_bends_a_generated_file(
        texts in proptest::collection::vec(
            proptest::collection::vec(proptest::sample::select(vec![
                '"', '\\', '\'', '$', '#', ';', '{', '}', '<', '>', '&', '-', '!', '`', '|', '*',
                '%', '\t', ' ', 'a', 'Z', '0', 'é', '\u{fffe}', '\u{ffff}', '\u{feff}', '\u{2028}',
                '\u{1f600}', '[', ']', '(', ')', '=', '@', ':', '/', '.', ',', '?',
            ]), 0..24),
            6,
        )
    ) {
        let t: Vec<String> = texts.iter().map(|c| literal(c)).collect();
        let plan = format!(
            "vlan 21 app \"{}\" {{ subnet 10.0.0.0/24 gateway .1 }}\n\
             tier web on app dev eth0 firewall nftables domain example.com \"{}\"\n\
             tier fw on app dev eth0 firewall firewalld \"{}\"\n\
             tier uf on app dev eth0 firewall ufw\n\
             host web1 in web {{ app 10.0.0.11 }}\n\
             host fw1 in fw {{ app 10.0.0.12 }}\n\
             host uf1 in uf {{ app 10.0.0.13 }}\n\
             vip v 10.0.0.100 for web1, fw1 check tcp/80 dns v.example.com\n\
             network ext 192.0.2.0/24 \"{}\"\n\
             service http tcp/80, tcp/8080\n\
             zone example.com {{\n  ns ns1 10.0.0.2\n  record @ txt \"{}\"\n}}\n\
             switch sw1 junos {{ access ge-0/0/1 host web1 dev eth0 }}\n\
             allow ext, web -> web, fw, uf : http log \"{}\"\n",
            t[0], t[1], t[2], t[3], t[4], t[5]
        );
        let c = netc::check_text("hostile.netc", &plan);
        if let Some(info) = c.info.as_ref() {
            let r = netc::targets::render_each(
                &c.plan,
                info,
                netc::targets::TargetKind::all(),
                &netc::targets::Context::default(),
                &mut |_f| Ok(()),
            );
            proptest::prop_assert!(r.is_ok(), "{:?}\nplan:\n{}", r.err(), plan);
        }
    }
}

#[test]
fn a_plan_has_a_total_size_limit() {
    // Five files of 15 MiB each: every one under the file limit, the plan over its total.
    let dir = scratch("total");
    let chunk = format!("# {}\n", "x".repeat(1023)).repeat(15 * 1024);
    for i in 0..5 {
        std::fs::write(dir.join(format!("p{i}.netc")), &chunk).unwrap();
    }
    let (code, _, err) = netc(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("larger than 64 MiB in all"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file of a plan, handed to the real tool that consumes it: `nft -c`, firewalld's
/// `--check-config`, `iptables-restore --test` (and ip6), `named-checkzone`. Any refusal or
/// output is returned as a failure.
fn real_tools_accept(dir: &Path, files: &[netc::targets::OutputFile]) -> Result<(), String> {
    let run = |cmd: &mut Command| -> Result<(), String> {
        let o = cmd.output().map_err(|e| e.to_string())?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        if o.status.success() && said.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("{cmd:?}: {said}"))
        }
    };
    let conf = [
        "/etc/firewalld/firewalld.conf",
        "/usr/lib/firewalld/firewalld.conf",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .ok_or("firewalld.conf")?;
    let mut firewalld_hosts = std::collections::BTreeSet::new();
    for f in files {
        let path = dir.join(&f.path);
        let s = f.path.to_string_lossy();
        if s.ends_with(".nft") {
            run(Command::new("unshare")
                .args(["-rn", "nft", "-c", "-f"])
                .arg(&path))?;
        } else if s.starts_with("firewalld/") {
            firewalld_hosts.insert(f.path.iter().nth(1).unwrap().to_owned());
        } else if s.ends_with("user.rules") {
            run(Command::new("unshare")
                .args(["-rn", "iptables-restore", "--test"])
                .arg(&path))?;
        } else if s.ends_with("user6.rules") {
            run(Command::new("unshare")
                .args(["-rn", "ip6tables-restore", "--test"])
                .arg(&path))?;
        } else if let Some(zone) = s
            .strip_prefix("bind/zones/")
            .and_then(|z| z.rsplit('/').next())
            .and_then(|z| z.strip_prefix("db."))
        {
            run(Command::new("named-checkzone")
                .args([
                    "-k", "fail", "-n", "fail", "-m", "fail", "-M", "fail", "-S", "fail",
                ])
                .args(["-i", "local", "-q", zone])
                .arg(&path))?;
        }
    }
    for host in firewalld_hosts {
        let h = dir.join("firewalld").join(host);
        for sub in ["services", "policies", "helpers", "icmptypes", "ipsets"] {
            std::fs::create_dir_all(h.join(sub)).unwrap();
        }
        std::fs::copy(conf, h.join("firewalld.conf")).unwrap();
        run(Command::new("firewall-offline-cmd")
            .arg("--system-config")
            .arg(&h)
            .arg("--check-config"))?;
    }
    Ok(())
}

fn name_of(chars: &[char]) -> String {
    let mut s = String::from("n");
    s.extend(chars);
    s
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, .. proptest::prelude::ProptestConfig::default() })]

    /// A plan that checks clean compiles, and every file it compiles to passes the real tool
    /// that consumes it. Names are random over their whole alphabet (`v--ip`, `a_-`), record
    /// numbers over what people type (`+10`, `010`, `65536`). Found by this test's first
    /// shape: a VIP named `v--ip` on firewalld hosts checked clean and then failed its guard,
    /// an MX preference `"+10"` checked clean and BIND refused the zone.
    #[test]
    fn a_plan_that_checks_clean_compiles_and_every_tool_accepts_it(
        names in proptest::collection::vec(
            proptest::collection::vec(proptest::sample::select(vec!['a', 'z', '0', '9', '-', '_']), 0..6),
            6,
        ),
        pref in proptest::sample::select(vec!["10", "+10", "010", "0", "65535", "65536", "-1", "1e1", ""]),
    ) {
        if !have("nft") || !have("firewall-offline-cmd") || !have("named-checkzone") || !have("iptables-restore") {
            return Ok(());
        }
        let n: Vec<String> = names.iter().map(|c| name_of(c)).collect();
        let plan = format!(
            "vlan 21 {net} {{ subnet 10.0.0.0/24 gateway .1 }}\n\
             tier {web} on {net} dev eth0 firewall nftables domain example.com\n\
             tier fw on {net} dev eth0 firewall firewalld\n\
             tier uf on {net} dev eth0 firewall ufw\n\
             host web1 in {web} {{ {net} 10.0.0.11 }}\n\
             host {fw1} in fw {{ {net} 10.0.0.12 }}\n\
             host uf1 in uf {{ {net} 10.0.0.13 }}\n\
             vip {vip} 10.0.0.100 for web1, {fw1} check tcp/80\n\
             network {ext} 192.0.2.0/24\n\
             service {svc} tcp/80, tcp/8080\n\
             zone example.com {{\n  ns ns1 10.0.0.2\n  record mail mx \"{pref}\" web1\n}}\n\
             allow {ext}, {web} -> {web}, fw, uf, {vip} : {svc}\n",
            net = n[0], web = n[1], fw1 = n[2], vip = n[3], ext = n[4], svc = n[5],
        );
        let c = netc::check_text("names.netc", &plan);
        if let Some(info) = c.info.as_ref().filter(|_| !c.has_errors()) {
            let files = netc::targets::render(
                &c.plan,
                info,
                netc::targets::TargetKind::all(),
                &netc::targets::Context::default(),
            );
            proptest::prop_assert!(files.is_ok(), "{:?}\nplan:\n{}", files.err(), plan);
            let files = files.unwrap();
            let dir = root().join(format!("target/it-names-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            netc::output::write(&dir, &files).unwrap();
            let r = real_tools_accept(&dir, &files);
            let _ = std::fs::remove_dir_all(&dir);
            proptest::prop_assert!(r.is_ok(), "{}\nplan:\n{}", r.unwrap_err(), plan);
        }
    }
}
