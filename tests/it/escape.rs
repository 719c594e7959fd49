//! Nothing escapes, round three: what netc reads (plan directory links, verify's inputs,
//! sizes, XML from outside), what it runs (time limits, `diff --git`, cleanup after a kill),
//! what it lets through (files planted under `--out`, hidden text). Each test fails without
//! its fix.

use super::run_netc as netc;
use super::targets::{can_netns, have};
use super::*;
use std::process::Command;

fn fresh(name: &str) -> PathBuf {
    let dir = root().join("target/it-escape").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SMALL: &str = "vlan 11 web-net { subnet 10.99.1.0/24 gateway .1 }\n\
    vlan 12 db-net { subnet 10.99.3.0/24 gateway .1 }\n\
    router gw { web-net dev r-web  db-net dev r-db }\n\
    tier web on web-net dev eth0 firewall nftables\n\
    tier db on db-net dev eth0 firewall firewalld\n\
    host web1 in web { web-net 10.99.1.10 }\n\
    host db1 in db { db-net 10.99.3.10 }\n\
    service pg tcp/5432\n\
    allow web -> db : pg\n\
    allow db -> web : tcp/8080\n";

/// A secret where CI keeps its token: it must never appear in any output.
const SECRET: &str = "ghp_SECRETTOKEN0123456789";

#[test]
fn a_plan_directory_entry_linking_outside_is_never_read() {
    let base = fresh("links");
    let plan = base.join("plan");
    std::fs::create_dir_all(&plan).unwrap();
    std::fs::write(plan.join("a.netc"), SMALL).unwrap();
    std::fs::write(
        base.join("config"),
        format!("[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../config", plan.join("zz.netc")).unwrap();
    std::os::unix::fs::symlink("/proc/self/status", plan.join("zy.netc")).unwrap();
    // A link that stays inside the plan's directory is an ordinary file of the plan.
    std::fs::write(plan.join("inner.txt"), "service ssh tcp/22\n").unwrap();
    std::os::unix::fs::symlink("inner.txt", plan.join("b.netc")).unwrap();
    for format in ["human", "json", "sarif"] {
        let (code, out, err) = netc(&["check", plan.to_str().unwrap(), "--format", format]);
        assert_eq!(code, 1, "{format}: {out}{err}");
        let all = format!("{out}{err}");
        assert!(
            !all.contains(SECRET) && !all.contains("extraheader"),
            "{all}"
        );
        assert!(!all.contains("VmRSS") && !all.contains("Uid:"), "{all}");
        assert!(all.contains("E003"), "{all}");
        assert_eq!(all.matches("leads outside").count(), 2, "{all}");
    }
    let (code, _, err) = netc(&["report", plan.to_str().unwrap(), "-o", "-"]);
    assert!(!err.contains(SECRET));
    let (_, out, _) = netc(&["report", plan.to_str().unwrap(), "-o", "-"]);
    assert!(!out.contains(SECRET) && code != 0);
    // Without the outside links the plan (with its inside link) is clean.
    std::fs::remove_file(plan.join("zz.netc")).unwrap();
    std::fs::remove_file(plan.join("zy.netc")).unwrap();
    let (code, out, err) = netc(&["check", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(format!("{out}{err}").contains("2 tiers"), "{out}{err}");
}

#[test]
fn control_characters_and_bidi_controls_are_e004_and_names_are_printed_escaped() {
    for (what, text) in [
        (
            "escape",
            "allow web -> db : pg # \u{1b}[2K\u{1b}[1Gharmless\n",
        ),
        ("backspace", "allow web -> db : pg # x\u{8}\u{8}\n"),
        ("bidi", "allow web -> db : pg # \u{202e}gnp\u{2066}\n"),
        ("c1", "allow web -> db : pg # \u{9b}2K\n"),
        ("vertical-tab", "allow web -> db : pg\u{b}\n"),
    ] {
        let dir = fresh(&format!("ctl-{what}"));
        std::fs::write(dir.join("plan.netc"), format!("{SMALL}{text}")).unwrap();
        let (code, out, err) = netc(&["check", dir.to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {err}");
        assert!(err.contains("E004"), "{what}: {err}");
        // The excerpt never prints the raw bytes.
        for c in ['\u{1b}', '\u{8}', '\u{202e}', '\u{9b}', '\u{b}'] {
            assert!(!err.contains(c) && !out.contains(c), "{what}: {err:?}");
        }
    }
    // Tabs and CR LF line ends stay fine.
    let dir = fresh("ctl-ok");
    std::fs::write(
        dir.join("plan.netc"),
        SMALL.replace('\n', "\r\n").replace("allow ", "allow\t"),
    )
    .unwrap();
    let (code, _, err) = netc(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // A plan file whose name holds ESC, CR and LF: printed escaped, never raw, so it cannot
    // forge a summary line or start a CI workflow command.
    let dir = fresh("ctl-name");
    let name = "a\u{1b}[2K\r\n::error::forged\u{202e}.netc";
    std::fs::write(
        dir.join(name),
        format!("{SMALL}allow web -> nowhere : pg\n"),
    )
    .unwrap();
    for format in ["human", "json"] {
        let (code, out, err) = netc(&["check", dir.to_str().unwrap(), "--format", format]);
        assert_eq!(code, 1, "{err}");
        let all = format!("{out}{err}");
        assert!(!all.contains('\u{1b}') && !all.contains('\r'), "{all:?}");
        assert!(!all.contains('\u{202e}'), "{all:?}");
        assert!(
            !all.lines().any(|l| l.trim_start().starts_with("::error::")),
            "{all}"
        );
        assert!(all.contains("::error::forged"), "{all}");
    }
}

/// Compile SMALL, shared blocks, under `target/it-escape/NAME/out`.
fn compiled(name: &str) -> (PathBuf, PathBuf) {
    let dir = fresh(name);
    std::fs::write(dir.join("plan.netc"), SMALL).unwrap();
    let out = dir.join("out");
    let (code, _, err) = netc(&[
        "compile",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nft-blocks",
        "shared",
    ]);
    assert_eq!(code, 0, "{err}");
    (dir, out)
}

#[test]
fn verify_refuses_every_include_nft_would_read() {
    if !have("nft") || !can_netns() {
        return;
    }
    let (dir, out) = compiled("includes");
    let (code, o, e) = netc(&[
        "verify",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{o}{e}");
    let secret = fresh("includes-secret").join("secret");
    std::fs::write(&secret, format!("# {SECRET}\nnot nft {SECRET}\n")).unwrap();
    let host = out.join("nftables/hosts/web1.nft");
    let original = std::fs::read_to_string(&host).unwrap();
    let block = out.join("nftables/blocks/sources.nft");
    let block_text = std::fs::read_to_string(&block).unwrap();
    let s = secret.display().to_string();
    for (file, text) in [
        (
            &host,
            format!("table inet netc; include \"{s}\"\n{original}"),
        ),
        (&host, format!("{original}\nINCLUDE \"{s}\"\n")),
        (
            &host,
            format!("{original}\ntable inet x {{ include \"{s}*\" }}\n"),
        ),
        (
            &host,
            original.replace("include \"./blocks/", "include \"blocks/"),
        ),
        (&block, format!("{block_text}\ninclude \"{s}\"\n")),
    ] {
        std::fs::write(file, &text).unwrap();
        let (code, o, e) = netc(&[
            "verify",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{o}{e}");
        assert!(e.contains("an include netc does not write"), "{e}");
        assert!(!o.contains(SECRET) && !e.contains(SECRET), "{o}{e}");
        std::fs::write(&host, &original).unwrap();
        std::fs::write(&block, &block_text).unwrap();
    }
    // A FIFO where a block belongs: refused, never waited on.
    std::fs::remove_file(&block).unwrap();
    let made = Command::new("mkfifo").arg(&block).status().unwrap();
    assert!(made.success());
    let (code, _, e) = netc(&[
        "verify",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn files_planted_under_out_are_differences_removed_and_never_equal() {
    if !have("nft") || !have("firewalld") || !can_netns() {
        return;
    }
    let (dir, out) = compiled("planted");
    let planted = out.join("firewalld/db1/zones/public.xml");
    std::fs::write(
        &planted,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\"><short>x</short></zone>\n",
    )
    .unwrap();
    let (code, o, _) = netc(&[
        "compile",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nft-blocks",
        "shared",
        "--check",
    ]);
    assert_eq!(code, 1, "{o}");
    assert!(o.contains("firewalld/db1/zones/public.xml"), "{o}");
    let (code, o, e) = netc(&[
        "verify",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{o}{e}");
    assert!(o.contains("public.xml: not written by netc"), "{o}");
    let (code, o, _) = netc(&[
        "verify",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["equal"], false);
    assert_eq!(
        v["not_written_by_netc"][0],
        "firewalld/db1/zones/public.xml"
    );
    // What the reader did not evaluate is said, per ruleset (firewalld's output chains).
    let db1 = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["file"] == "firewalld/db1")
        .unwrap();
    assert!(
        db1["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("on hook output")),
        "{db1}"
    );
    // A compile removes it.
    let (code, _, e) = netc(&[
        "compile",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nft-blocks",
        "shared",
    ]);
    assert_eq!(code, 0, "{e}");
    assert!(!planted.exists());
}

#[test]
fn xml_with_a_doctype_is_refused_before_any_tool_reads_it() {
    if !have("firewalld") || !can_netns() {
        return;
    }
    let dir = fresh("doctype");
    std::fs::write(dir.join("plan.netc"), SMALL).unwrap();
    let copy = dir.join("etc-firewalld");
    std::fs::create_dir_all(copy.join("zones")).unwrap();
    let lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE zone [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>\n<zone><short>&d;</short></zone>\n";
    std::fs::write(copy.join("zones/netc.xml"), lol).unwrap();
    let t = std::time::Instant::now();
    let (code, _, e) = netc(&[
        "drift",
        dir.to_str().unwrap(),
        "--host",
        "db1",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("DOCTYPE"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn inputs_netc_did_not_write_are_capped() {
    let dir = fresh("caps");
    std::fs::write(dir.join("plan.netc"), SMALL).unwrap();
    // A sparse file of 1 GiB: refused from its size, before any memory is spent.
    let big = dir.join("ruleset.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap();
    let (code, _, e) = netc(&[
        "drift",
        dir.to_str().unwrap(),
        "--host",
        "web1",
        big.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("R004") && e.contains("--max-input-bytes"), "{e}");
    // The flag raises (or lowers) the cap.
    std::fs::write(&big, "{\"nftables\": []}").unwrap();
    let (code, _, e) = netc(&[
        "drift",
        dir.to_str().unwrap(),
        "--host",
        "web1",
        big.to_str().unwrap(),
        "--max-input-bytes",
        "4",
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("R004"), "{e}");
    // Files under --out are read through the same cap (`--check` compares them).
    let out = dir.join("out");
    let (code, _, e) = netc(&[
        "compile",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{e}");
    let (code, o, e) = netc(&[
        "compile",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--check",
        "--max-input-bytes",
        "100",
    ]);
    assert_eq!(code, 1, "{o}{e}");
    assert!(o.contains("R004"), "{o}");
    // Standard input too.
    let mut child = Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["drift", dir.to_str().unwrap(), "--host", "web1", "-"])
        .args(["--max-input-bytes", "1000"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&vec![b' '; 100_000]);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("R004"));
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn diff_git_takes_a_revision_never_an_option_and_escapes_it() {
    if !have("git") || !have("tar") {
        return;
    }
    let repo = fresh("git");
    let plan = repo.join("plan");
    std::fs::create_dir_all(&plan).unwrap();
    std::fs::write(plan.join("plan.netc"), SMALL).unwrap();
    git(&repo, &["init", "-q", "-b", "master"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    for branch in ["x<svg/onload=alert(1)>", "y\"z"] {
        git(&repo, &["branch", branch]);
    }
    std::fs::write(
        plan.join("plan.netc"),
        format!("{SMALL}service ssh tcp/22\nallow web -> db : ssh\n"),
    )
    .unwrap();
    // `-o FILE` would make `git archive` write (truncate) any file.
    let victim = repo.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let opt = format!("--git=-o{}", victim.display());
    let (code, _, e) = netc(&["diff", &opt, plan.to_str().unwrap()]);
    assert_eq!(code, 2, "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(e.contains("names no commit"), "{e}");
    // A branch that does not exist: netc's own error, no tar noise.
    let (code, _, e) = netc(&["diff", "--git", "main", plan.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        e.contains("`main` names no commit") && !e.contains("tar"),
        "{e}"
    );
    // Hostile but legal branch names: never live markup, never broken JSON.
    let (code, html, e) = netc(&[
        "diff",
        "--git",
        "x<svg/onload=alert(1)>",
        plan.to_str().unwrap(),
        "--format",
        "html",
    ]);
    assert_eq!(code, 0, "{e}");
    assert!(!html.contains("<svg/onload"), "{html}");
    let (code, json, e) = netc(&[
        "diff",
        "--git",
        "y\"z",
        plan.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{e}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert!(v.is_object());
    let (code, text, e) = netc(&["diff", "--git", "master", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{e}");
    assert!(!text.contains("netc-git-"), "{text}");
}

#[test]
fn graphviz_noise_never_reaches_the_user() {
    if !have("dot") {
        return;
    }
    // `dot` that fails loudly: its stderr is not passed through.
    let e = netc::report::svg("digraph { a -> b [label=<<b>unclosed>] }").unwrap_err();
    assert!(!e.contains("syntax error"), "{e}");
    assert!(e.contains("Graphviz"), "{e}");
}

/// Processes and namespaces of netc: none may be left after netc is killed.
fn leftovers(pid: u32) -> Vec<String> {
    let mut left = Vec::new();
    let tag = format!("-{pid}-");
    if let Ok(entries) = std::fs::read_dir("/run/netns") {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("netc-") && n.contains(&tag) {
                left.push(format!("namespace {n}"));
            }
        }
    }
    for e in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("netc-") && n.contains(&tag) {
            left.push(format!("directory {n}"));
        }
    }
    // Processes whose command line names the killed run's temporary files or namespace.
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&tag) && cmd.contains("netc-") {
            left.push(format!("process {cmd}"));
        }
    }
    left
}

#[test]
fn a_killed_verify_leaves_nothing_behind() {
    if !have("nft") || !have("firewalld") || !can_netns() {
        return;
    }
    let (dir, out) = compiled("killed");
    // SIGTERM at several moments: netc cleans up itself.
    for (signal, wait_ms) in [
        ("TERM", 150),
        ("TERM", 700),
        ("INT", 1500),
        ("KILL", 300),
        ("KILL", 1200),
        ("KILL", 2500),
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_netc"))
            .args([
                "verify",
                dir.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
        let mut child = child;
        let _ = child.wait();
        // Children die with netc (parent-death signal); give the kernel a moment.
        std::thread::sleep(std::time::Duration::from_millis(300));
        if signal != "KILL" {
            assert!(
                leftovers(pid).is_empty(),
                "{signal} at {wait_ms} ms: {:?}",
                leftovers(pid)
            );
        } else {
            // No process survives a SIGKILL; what only the file system keeps (a namespace's
            // mount, a directory) is swept by the next run.
            let procs: Vec<String> = leftovers(pid)
                .into_iter()
                .filter(|l| l.starts_with("process"))
                .collect();
            assert!(procs.is_empty(), "KILL at {wait_ms} ms: {procs:?}");
            let swept = netc::exec::sweep_stale();
            let _ = swept;
            assert!(
                leftovers(pid).is_empty(),
                "KILL at {wait_ms} ms: {:?}",
                leftovers(pid)
            );
        }
    }
}

/// A plan of 4,000 one-address networks, each with a flow to a tier: every command that would
/// evaluate all 16 million region pairs (matrix, graph, report) stops first with R005, and
/// the report still has everything else.
#[test]
fn a_matrix_too_large_to_evaluate_is_a_coded_error_found_first() {
    let mut plan = String::from(SMALL);
    for i in 0..4000 {
        plan.push_str(&format!("network n{i} 172.16.{}.{}/32\n", i >> 8, i & 255));
    }
    for i in 0..4000 {
        plan.push_str(&format!("allow n{i} -> db : pg\n"));
    }
    let dir = fresh("matrix-limit");
    std::fs::write(dir.join("plan.netc"), plan).unwrap();
    let p = dir.to_str().unwrap();
    for args in [vec!["matrix", p], vec!["graph", p, "--format", "dot"]] {
        let (code, _, e) = netc(&args);
        assert_eq!(code, 2, "{args:?}: {e}");
        assert!(e.contains("[R005]"), "{e}");
    }
    let (code, o, e) = netc(&["matrix", p, "--format", "json"]);
    assert_eq!(code, 2);
    assert!(o.contains("R005") && o.contains("netc-error/1"), "{o}{e}");
    let (code, html, e) = netc(&["report", p, "-o", "-"]);
    assert_eq!(code, 0, "{e}");
    assert!(
        html.contains("No matrix: [R005]") && html.contains("10.99.3.10"),
        "{e}"
    );
    // Listings of one region still answer.
    let (code, o, e) = netc(&["who-can-reach", p, "db"]);
    assert_eq!(code, 0, "{e}");
    assert!(o.contains("n3999"), "{o}");
}

/// The resource cases of the first round, in other shapes: a service of 64,000 port specs
/// (one sort, not 64,000 merges), rules between lists of a hundred tiers (the reply check's
/// memo is kept per destination part, not per rule), and a compile past the memory limit
/// (R006, nothing changed). Times are in docs/reliability.md; here the outcomes.
#[test]
fn resource_cases_finish_or_stop_with_a_coded_error() {
    let dir = fresh("resources");
    let ports: Vec<String> = (0..64_000u32)
        .map(|i| {
            format!(
                "{}/{}",
                if i % 2 == 1 { "tcp" } else { "udp" },
                (i * 7919) % 65535 + 1
            )
        })
        .collect();
    std::fs::write(
        dir.join("ports.netc"),
        format!(
            "{SMALL}service big {}\nallow web -> db : big\n",
            ports.join(", ")
        ),
    )
    .unwrap();
    let (code, out, e) = netc(&["check", dir.join("ports.netc").to_str().unwrap()]);
    assert_eq!(code, 0, "{e}");
    assert!(format!("{out}{e}").contains("3 flows"), "{out}{e}");
    // 120 tiers, each on its VLAN behind one router, and 300 rules from 40 tiers to 40.
    let mut plan = String::new();
    let t = 120;
    for i in 0..t {
        plan.push_str(&format!(
            "vlan {} v{i} {{ subnet 10.{}.{}.0/24 gateway .1 }}\n",
            100 + i,
            i / 200,
            i % 200
        ));
    }
    plan.push_str("router gw {");
    for i in 0..t {
        plan.push_str(&format!(" v{i} dev r{i}"));
    }
    plan.push_str(" }\n");
    for i in 0..t {
        plan.push_str(&format!("tier t{i} on v{i} dev eth0 firewall firewalld\nhost h{i} in t{i} {{ v{i} 10.{}.{}.10 }}\n", i / 200, i % 200));
    }
    plan.push_str("service s tcp/1000, tcp/1002, tcp/1004, tcp/1006, tcp/1008\n");
    let mut x: u64 = 7;
    let mut pick = || {
        (0..40)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("t{}", (x >> 33) % t)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for _ in 0..300 {
        let (a, b) = (pick(), pick());
        plan.push_str(&format!("allow {a} -> {b} : s\n"));
    }
    let p = dir.join("dense");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("plan.netc"), &plan).unwrap();
    let (code, _, e) = netc(&["check", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{e}");
    // Past the memory limit: R006, and the output directory is as it was.
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (code, _, e) = netc(&[
        "compile",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-memory",
        "30000000",
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("[R006]") && e.contains("--max-memory"), "{e}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}
