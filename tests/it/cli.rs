//! The command line: exit statuses and output formats.

use super::{checked, root, run_netc};

use super::run_netc as netc;

#[test]
fn check_exit_statuses() {
    let (code, out, _) = netc(&["check", "fixtures/datalyptica"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors"), "{out}");
    let (code, _, err) = netc(&[
        "check",
        "fixtures/invalid/E030-overlapping-subnets/plan.netc",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("netc::E030::overlapping-subnets"), "{err}");
    let (code, _, err) = netc(&["check", "fixtures/no-such-plan.netc"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    let (code, _, _) = netc(&["check", "--frobnicate", "x"]);
    assert_eq!(code, 2);
    let (code, out, _) = netc(&[
        "check",
        "--format",
        "json",
        "fixtures/invalid/W070-unused/plan.netc",
    ]);
    assert_eq!(code, 0, "warnings do not fail");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "netc-check/1");
    assert_eq!(v["diagnostics"][0]["severity"], "warning");
}

#[test]
fn query_exit_statuses() {
    let (code, out, _) = netc(&[
        "query",
        "fixtures/datalyptica",
        "can processing reach catalog on postgres",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("YES"));
    let (code, out, _) = netc(&[
        "query",
        "fixtures/datalyptica",
        "can internet reach catalog on postgres",
    ]);
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = netc(&["query", "fixtures/datalyptica", "can nobody reach catalog"]);
    assert_eq!(code, 2);
    assert!(err.contains("`nobody` is not"), "{err}");
    let (code, out, _) = netc(&[
        "query",
        "--format",
        "json",
        "fixtures/datalyptica",
        "can admins reach bastion on ssh",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "yes");
    assert_eq!(
        v["groups"][0]["permitted"][0]["rule"]["at"],
        "fixtures/datalyptica/flows.netc:6"
    );
}

#[test]
fn listings_and_matrix_formats() {
    let (code, out, _) = netc(&[
        "who-can-reach",
        "fixtures/datalyptica",
        "pg-vip",
        "--on",
        "postgres",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("processing -> pg-vip") && !out.contains("streaming -> pg-vip"),
        "{out}"
    );
    let (code, out, _) = netc(&[
        "what-can-reach",
        "fixtures/datalyptica",
        "--from",
        "internet",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "internet -> lb  tcp/443  (partly)",
        "the VIP, not the members' own addresses"
    );
    let (_, out, _) = netc(&["matrix", "fixtures/datalyptica", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "netc-matrix/1");
    assert!(v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["src"] == "monitoring" && c["dst"] == "bastion"));
}

#[test]
fn diff_gate() {
    let (code, out, _) = netc(&[
        "diff",
        "fixtures/datalyptica",
        "fixtures/datalyptica",
        "--fail-on-new-access",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "no change in access\n");
}

#[test]
fn explain_codes() {
    let (code, out, _) = netc(&["explain", "E030"]);
    assert_eq!(code, 0);
    assert!(out.contains("overlapping-subnets") && out.contains("Example"));
    let (code, _, _) = netc(&["explain", "overlapping-subnets"]);
    assert_eq!(code, 0);
    let (code, _, err) = netc(&["explain", "E999"]);
    assert_eq!(code, 2);
    assert!(err.contains("no diagnostic code"));
    let (_, out, _) = netc(&["explain"]);
    assert_eq!(out.lines().count(), netc::codes::ALL.len());
}

/// `netc generate` (the benchmarks' plans): deterministic, clean of errors for every host
/// firewall, and with `--infra` work for every target, which the real tools accept.
#[test]
fn generated_plans_check_and_compile_for_every_target() {
    let args = |seed: &str, fw: &str| {
        [
            "generate",
            "--vlans",
            "6",
            "--tiers",
            "12",
            "--hosts",
            "60",
            "--services",
            "20",
            "--flows",
            "300",
            "--seed",
            seed,
            "--host-firewall",
            fw,
            "--infra",
        ]
        .map(String::from)
    };
    let gen = |seed: &str, fw: &str| {
        let a = args(seed, fw);
        let (code, out, err) = netc(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{err}");
        out
    };
    assert_eq!(gen("3", "nftables"), gen("3", "nftables"));
    assert_ne!(gen("3", "nftables"), gen("4", "nftables"));
    for fw in ["nftables", "firewalld", "ufw", "none"] {
        let text = gen("3", fw);
        let c = netc::check_text("gen.netc", &text);
        assert!(!c.has_errors(), "{fw}: the generated plan has errors");
        assert_eq!((c.plan.vips.len(), c.plan.zones.len()), (12, 1), "{fw}");
    }
    let dir = super::root().join("target/it-generate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("gen.netc");
    std::fs::write(&plan, gen("3", "nftables")).unwrap();
    let out = dir.join("out");
    let (code, _, err) = netc(&[
        "compile",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let count = |sub: &str, ext: &str| {
        walk(&out.join(sub))
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .count()
    };
    assert_eq!(count("nftables/hosts", ".nft"), 60);
    assert_eq!(
        count("keepalived", "keepalived.conf"),
        24,
        "two members per VIP"
    );
    assert_eq!(
        count("switches", ".ios") + count("switches", ".eos") + count("switches", ".junos"),
        6
    );
    assert!(count("bind/zones", "db.gen.example") == 1);
    use super::targets::{have, run};
    use std::process::Command;
    if have("nft") && have("unshare") {
        for f in ["nftables/routers/core.nft", "nftables/hosts/h0.nft"] {
            let (ok, msg) = run(Command::new("unshare")
                .args(["-rn", "nft", "-c", "-f"])
                .arg(out.join(f)));
            assert!(ok, "{f}: {msg}");
        }
    }
    if have("named-checkzone") {
        let (ok, msg) = run(Command::new("named-checkzone")
            .args(["-k", "fail", "-n", "fail", "gen.example"])
            .arg(out.join("bind/zones/db.gen.example")));
        assert!(ok, "{msg}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// One table of exit statuses for every command: 0 yes / clean / no change, 1 no / findings /
/// changes, 2 could not run or the plan has errors (as grep and diff do).
#[test]
fn every_command_follows_one_table_of_exit_statuses() {
    let bad = "fixtures/invalid/E030-overlapping-subnets/plan.netc";
    let good = "fixtures/valid/three-tiers/plan.netc";
    let d = "fixtures/datalyptica";
    let out = root().join("target/it-exit-statuses");
    let _ = std::fs::remove_dir_all(&out);
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["check", good], 0),
        (&["check", bad], 1),
        (&["check", d], 0),
        (&["check", "-D", "warnings", d], 0),
        (
            &[
                "check",
                "-D",
                "warnings",
                "fixtures/invalid/W092-unused-nat/plan.netc",
            ],
            1,
        ),
        (&["check", "--deny-warnings", good], 0),
        (&["check", "no/such/plan.netc"], 2),
        (&["query", d, "can processing reach catalog on postgres"], 0),
        (&["query", d, "can internet reach catalog on postgres"], 1),
        (&["query", bad, "can a reach b"], 2),
        (&["query", d, "can nosuch reach catalog"], 2),
        (&["who-can-reach", d, "catalog", "--on", "postgres"], 0),
        (&["who-can-reach", d, "bastion", "--on", "tcp/1"], 1),
        (&["who-can-reach", bad, "x"], 2),
        (&["what-can-reach", d, "--from", "internet"], 0),
        (&["matrix", d], 0),
        (&["matrix", bad], 2),
        (&["diff", d, d], 0),
        (&["diff", d, d, "--exit-code"], 0),
        (&["diff", good, d, "--exit-code"], 1),
        (&["diff", good, d, "--fail-on-new-access"], 1),
        (&["diff", bad, d], 2),
        (&["export", bad, "--format", "json"], 2),
        (&["compile", bad, "--out", o], 2),
        (&["compile", "--out", o], 2),
        (&["compile", good, "--out", o], 0),
        (&["compile", good, "--out", o, "--check"], 0),
        (&["compile", d, "--out", o, "--check"], 1),
        (&["explain", "E030"], 0),
        (&["explain", "E999"], 2),
        (&["explain", "E999", "--format", "json"], 2),
        (&["report", good, "-o", "-"], 0),
        (&["report", bad, "-o", "-"], 1),
        (&["graph", good], 0),
        (&["graph", bad], 2),
        (&["verify", bad, "--out", o], 2),
        (&["drift", bad, "--host", "x", "-"], 2),
        (&["drift", good, "--host", "no-such-host", "-"], 2),
        (&["check", "--in", d, good], 2),
        (&["check", "--in", d, "fixtures/datalyptica/flows.netc"], 0),
    ];
    for (args, want) in cases {
        let (code, _, err) = run_netc(args);
        assert_eq!(code, *want, "netc {}: {err}", args.join(" "));
    }
    assert!(!out.join("nftables").exists() || out.join(".netc-manifest").exists());
}

#[test]
fn a_closed_pipe_ends_netc_quietly() {
    let out = root().join("target/it-pipe-empty");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} compile fixtures/datalyptica --out {} --check | head -1",
            env!("CARGO_BIN_EXE_netc"),
            out.display()
        ))
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
}

#[test]
fn compile_reports_what_it_wrote_and_removed_as_json() {
    let base = root().join("target/it-compile-json");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let plan = base.join("plan.netc");
    let text =
        std::fs::read_to_string(root().join("fixtures/valid/three-tiers/plan.netc")).unwrap();
    std::fs::write(&plan, &text).unwrap();
    let out = base.join("out");
    let run = || {
        let (code, stdout, err) = netc(&[
            "compile",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let first = run();
    assert_eq!(first["schema"], "netc-compile/1");
    assert_eq!(
        first["written"].as_array().unwrap().len(),
        first["files"].as_u64().unwrap() as usize
    );
    let again = run();
    assert!(
        again["written"].as_array().unwrap().is_empty()
            && again["removed"].as_array().unwrap().is_empty()
    );
    // A host taken out of nftables: its file is removed, and said so.
    std::fs::write(
        &plan,
        text.replace(
            "tier web on web-net dev eth0 firewall nftables",
            "tier web on web-net dev eth0 firewall none",
        ),
    )
    .unwrap();
    let third = run();
    assert_eq!(
        third["removed"],
        serde_json::json!(["nftables/hosts/web1.nft"]),
        "{third}"
    );
    // And a report to standard output.
    let (code, html, _) = netc(&["report", plan.to_str().unwrap(), "-o", "-"]);
    assert_eq!(code, 0);
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn diff_against_a_git_revision_needs_no_second_checkout() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let repo = root().join("target/it-diff-git");
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(repo.join("net")).unwrap();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    let plan = repo.join("net/plan.netc");
    let text =
        std::fs::read_to_string(root().join("fixtures/valid/three-tiers/plan.netc")).unwrap();
    std::fs::write(&plan, &text).unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    let p = plan.to_str().unwrap();
    let (code, out, err) = netc(&["diff", "--git", "HEAD", p, "--fail-on-new-access"]);
    assert_eq!((code, out.as_str()), (0, "no change in access\n"), "{err}");
    std::fs::write(&plan, format!("{text}allow web -> db : tcp/6000\n")).unwrap();
    let (code, out, err) = netc(&["diff", "--git", "HEAD", p, "--fail-on-new-access"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("+ web -> db: tcp/6000"), "{out}");
    let (code, _, err) = netc(&["diff", "--git", "no-such-rev", p]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn check_can_say_only_which_files_differ() {
    let out = root().join("target/it-check-stat");
    let _ = std::fs::remove_dir_all(&out);
    let o = out.to_str().unwrap();
    let plan = "fixtures/valid/three-tiers/plan.netc";
    assert_eq!(netc(&["compile", plan, "--out", o]).0, 0);
    let f = out.join("nftables/hosts/db1.nft");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("tcp . 5432 comment", "tcp . 5433 comment")).unwrap();
    let (code, stat, _) = netc(&["compile", plan, "--out", o, "--check", "--stat"]);
    assert_eq!(
        (code, stat.as_str()),
        (1, "nftables/hosts/db1.nft  +1 -1\n1 files differ\n")
    );
    let (code, names, _) = netc(&["compile", plan, "--out", o, "--check", "--name-only"]);
    assert_eq!((code, names.as_str()), (1, "nftables/hosts/db1.nft\n"));
    assert_eq!(
        netc(&["compile", plan, "--out", o, "--stat"]).0,
        2,
        "--stat needs --check"
    );
}

/// Shell completions and the man page come from the clap definition: bash loads the script
/// and registers `netc`; groff renders the page without a warning, with a section for every
/// command and its options.
#[test]
fn completions_and_man_page_are_generated_from_the_command_line() {
    let (code, bash, err) = run_netc(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    let dir = root().join("target/it-completions");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("netc.bash");
    std::fs::write(&script, &bash).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p netc", script.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("netc"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (code, text, _) = run_netc(&["completions", shell]);
        assert!(code == 0 && text.contains("compile"), "{shell}");
    }
    let (code, page, err) = run_netc(&["man"]);
    assert_eq!(code, 0, "{err}");
    for section in [
        "NETC CHECK",
        "NETC COMPILE",
        "NETC VERIFY",
        "NETC DIFF",
        "NETC QUERY",
    ] {
        assert!(page.contains(&format!(".SH \"{section}\"")), "{section}");
    }
    assert!(page.contains("max\\-output\\-bytes"), "{page}");
    // One page: its commands are sections of it, not pages that do not exist.
    for section in [
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
        ".SH VERSION",
    ] {
        assert!(page.contains(section), "{section}");
    }
    assert!(!page.contains("netc\\-check(1)"), "{page}");
    if super::targets::have("groff") {
        let path = dir.join("netc.1");
        std::fs::write(&path, &page).unwrap();
        let out = std::process::Command::new("groff")
            .args(["-man", "-ww", "-Tutf8", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The pre-commit hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit (from PyPI,
/// in target/pyenv) in a scratch repository with a split plan: a clean plan passes, a plan
/// with an undefined name fails with the code.
#[test]
fn the_pre_commit_hook_checks_the_plan() {
    let Some(pre_commit) = super::targets::pyenv("pre-commit") else {
        return;
    };
    let base = root().join("target/it-pre-commit");
    let _ = std::fs::remove_dir_all(&base);
    let (hooks, project) = (base.join("hooks"), base.join("project"));
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::create_dir_all(project.join("network/plan")).unwrap();
    let git = |dir: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new("git")
            .args([
                "-c",
                "user.email=ci@example.com",
                "-c",
                "user.name=ci",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "."]);
    git(&hooks, &["commit", "-qm", "hooks"]);
    let rev = git(&hooks, &["rev-parse", "HEAD"]);
    std::fs::write(
        project.join("network/plan/net.netc"),
        "vlan 20 app { subnet 192.0.2.0/24 gateway .1 }\nrouter edge { app upstream }\nservice https tcp/443\n",
    )
    .unwrap();
    std::fs::write(
        project.join("network/plan/hosts.netc"),
        "tier web on app\nhost web01 in web { app 192.0.2.11 }\nallow internet -> web : https\n",
    )
    .unwrap();
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: netc-check\n        args: [network/plan]\n      - id: netc-check-files\n        args: [--in, network/plan]\n        files: ^network/plan/\n",
            hooks.display()
        ),
    )
    .unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_netc"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = || {
        std::process::Command::new(&pre_commit)
            .args(["run", "--all-files"])
            .current_dir(&project)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", base.join("cache"))
            .output()
            .unwrap()
    };
    let ok = run();
    let text =
        String::from_utf8_lossy(&ok.stdout).to_string() + &String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{text}");
    // Both hooks ran: the plan hook and the one given the files.
    assert!(
        text.contains("netc check (the plan of the changed files)") && text.contains("Passed"),
        "{text}"
    );
    std::fs::write(
        project.join("network/plan/hosts.netc"),
        "tier web on app\nhost web01 in web { app 192.0.2.11 }\nallow internet -> webb : https\n",
    )
    .unwrap();
    git(&project, &["add", "."]);
    let bad = run();
    let text =
        String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && text.contains("E011"), "{text}");
    // Both hooks fail, each with the error once (the files hook checks the whole plan).
    assert_eq!(text.matches("E011").count(), 2, "{text}");
    let _ = std::fs::remove_dir_all(&base);
}

/// `netc check --format sarif` is a SARIF 2.1.0 log that the SARIF schema (Microsoft's, from
/// the SARIF SDK's npm package; see .ci/run) accepts, for every invalid fixture and
/// Datalyptica: one result per diagnostic, at the line of its primary label.
#[test]
fn check_writes_sarif_that_the_sarif_schema_accepts() {
    let (Some(python), Some(schema)) = (
        super::targets::pyenv("python"),
        super::targets::required(root().join("target/sarif-2.1.0.json")),
    ) else {
        return;
    };
    let dir = root().join("target/it-sarif");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut plans: Vec<String> = std::fs::read_dir(root().join("fixtures/invalid"))
        .unwrap()
        .map(|e| {
            format!(
                "fixtures/invalid/{}/plan.netc",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    plans.sort();
    plans.push("fixtures/datalyptica".into());
    let mut files = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        if !root().join(plan).exists() {
            continue;
        }
        let (code, text, err) = run_netc(&["check", plan, "--format", "sarif"]);
        assert!(code <= 1, "{plan}: {err}");
        let log: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
        let c = checked(plan);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), c.diags.len(), "{plan}");
        for (r, d) in results.iter().zip(&c.diags) {
            assert_eq!(r["ruleId"], d.code);
            if let Some(l) = &d.primary {
                let at = c.plan.sources.location(l.span);
                let region = &r["locations"][0]["physicalLocation"]["region"];
                assert_eq!(region["startLine"], at.line as u64, "{plan}");
            }
        }
        let file = dir.join(format!("{i}.sarif"));
        std::fs::write(&file, &text).unwrap();
        files.push(file);
    }
    // `netc diff --format sarif`: one result per opened or closed access, opened ones at the
    // lines of the new plan's rules that open them.
    let pairs = [
        (
            "fixtures/valid/three-tiers",
            "fixtures/valid/three-tiers-mixed",
        ),
        (
            "fixtures/valid/three-tiers-mixed",
            "fixtures/valid/three-tiers",
        ),
        ("fixtures/valid/three-tiers", "fixtures/valid/dual-stack"),
    ];
    let mut counts = (0, 0);
    for (i, (old, new)) in pairs.iter().enumerate() {
        let (code, text, err) = run_netc(&["diff", old, new, "--format", "sarif"]);
        assert_eq!(code, 0, "{err}");
        let (_, json, _) = run_netc(&["diff", old, new, "--format", "json"]);
        let d: serde_json::Value = serde_json::from_str(&json).unwrap();
        let log: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
        let results = log["runs"][0]["results"].as_array().unwrap();
        let (opened, closed) = (
            d["opened"].as_array().unwrap(),
            d["closed"].as_array().unwrap(),
        );
        assert_eq!(results.len(), opened.len() + closed.len());
        counts.0 += opened.len();
        counts.1 += closed.len();
        for (r, c) in results.iter().zip(opened) {
            assert_eq!(r["ruleId"], "opened-access");
            assert!(!r["locations"].as_array().unwrap().is_empty());
            for (loc, rule) in r["locations"]
                .as_array()
                .unwrap()
                .iter()
                .zip(c["rules"].as_array().unwrap())
            {
                assert_eq!(loc["physicalLocation"]["region"]["startLine"], rule["line"]);
                assert_eq!(
                    loc["physicalLocation"]["artifactLocation"]["uri"],
                    rule["file"]
                );
            }
        }
        let file = dir.join(format!("diff{i}.sarif"));
        std::fs::write(&file, &text).unwrap();
        files.push(file);
    }
    assert!(counts.0 > 0 && counts.1 > 0, "{counts:?}");
    let script = "import json, sys, jsonschema\nschema = json.load(open(sys.argv[1]))\nfor f in sys.argv[2:]:\n    jsonschema.validate(json.load(open(f)), schema)\nprint(len(sys.argv) - 2)\n";
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(files.len() > 40, "{}", files.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every JSON document netc prints names its schema, and the schema in `docs/schemas`
/// accepts it: each command with `--format json`, on every valid fixture, Datalyptica and a
/// scattered generated plan, errors and could-not-run answers included. Every schema file is
/// used at least once, and a document with a field the schema does not know is refused.
#[test]
fn json_documents_match_their_schemas() {
    let Some(python) = super::targets::pyenv("python") else {
        return;
    };
    let dir = root().join("target/it-json-schemas");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let generated = dir.join("scattered.netc");
    let (_, text, _) = netc(&[
        "generate",
        "--hosts",
        "120",
        "--vlans",
        "4",
        "--tiers",
        "8",
        "--flows",
        "60",
        "--layout",
        "scattered",
        "--infra",
    ]);
    std::fs::write(&generated, text).unwrap();
    let mut plans: Vec<String> = std::fs::read_dir(root().join("fixtures/valid"))
        .unwrap()
        .map(|e| {
            format!(
                "fixtures/valid/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    plans.sort();
    plans.push("fixtures/datalyptica".into());
    plans.push(generated.display().to_string());
    let mut docs: Vec<(String, String)> = Vec::new();
    let mut run = |name: String, args: &[&str], want: &[i32]| {
        let (code, out, err) = netc(args);
        assert!(want.contains(&code), "{args:?}: exit {code}: {err}");
        docs.push((name, out));
    };
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();
    for (i, plan) in plans.iter().enumerate() {
        let p = plan.as_str();
        let c = checked(p);
        let tier = c.plan.tiers.first().map(|t| t.name.clone()).unwrap();
        let last = c.plan.tiers.last().map(|t| t.name.clone()).unwrap();
        run(format!("check{i}"), &["check", p, "--format", "json"], &[0]);
        run(format!("export{i}"), &["export", p], &[0]);
        let q = format!("can {tier} reach {last} on tcp/22");
        run(
            format!("query{i}"),
            &["query", p, &q, "--format", "json"],
            &[0, 1],
        );
        let q = format!("can internet reach {last}");
        run(
            format!("queryany{i}"),
            &["query", p, &q, "--format", "json"],
            &[0, 1],
        );
        run(
            format!("who{i}"),
            &["who-can-reach", p, &last, "--format", "json"],
            &[0, 1],
        );
        run(
            format!("what{i}"),
            &["what-can-reach", p, "--from", &tier, "--format", "json"],
            &[0, 1],
        );
        run(
            format!("matrix{i}"),
            &["matrix", p, "--format", "json"],
            &[0],
        );
        run(
            format!("diff{i}"),
            &["diff", "fixtures/valid/three-tiers", p, "--format", "json"],
            &[0],
        );
        let _ = std::fs::remove_dir_all(&out_dir);
        run(
            format!("compile{i}"),
            &["compile", p, "--out", out, "--format", "json"],
            &[0],
        );
        run(
            format!("compilecheck{i}"),
            &["compile", p, "--out", out, "--check", "--format", "json"],
            &[0],
        );
        let router = c.plan.routers.first().map(|r| r.name.clone());
        if let Some(r) = router {
            let empty = dir.join("empty.json");
            std::fs::write(&empty, r#"{"nftables": []}"#).unwrap();
            let e = empty.to_str().unwrap();
            run(
                format!("drift{i}"),
                &["drift", p, "--host", &r, e, "--format", "json"],
                &[1],
            );
        }
    }
    if super::targets::can_netns() {
        let _ = std::fs::remove_dir_all(&out_dir);
        let p = "fixtures/valid/three-tiers";
        netc(&["compile", p, "--out", out]);
        run(
            "verify".into(),
            &["verify", p, "--out", out, "--format", "json"],
            &[0],
        );
    } else {
        assert!(
            std::env::var_os("NETC_REQUIRE_TOOLS").is_none(),
            "netns needed"
        );
    }
    run("explain".into(), &["explain", "--format", "json"], &[0]);
    run(
        "explain1".into(),
        &["explain", "W081", "--format", "json"],
        &[0],
    );
    run(
        "explain2".into(),
        &["explain", "W999", "--format", "json"],
        &[2],
    );
    let bad = "fixtures/invalid/E030-overlapping-subnets/plan.netc";
    run("checkbad".into(), &["check", bad, "--format", "json"], &[1]);
    for cmd in ["query", "matrix", "who-can-reach", "diff"] {
        let args: Vec<&str> = match cmd {
            "query" => vec![cmd, bad, "can a reach b", "--format", "json"],
            "matrix" => vec![cmd, bad, "--format", "json"],
            "who-can-reach" => vec![cmd, bad, "x", "--format", "json"],
            _ => vec![cmd, bad, "fixtures/datalyptica", "--format", "json"],
        };
        run(format!("bad-{cmd}"), &args, &[2]);
    }
    run(
        "badquestion".into(),
        &["query", "fixtures/datalyptica", "what?", "--format", "json"],
        &[2],
    );
    run(
        "badname".into(),
        &[
            "query",
            "fixtures/datalyptica",
            "can nobody reach lb",
            "--format",
            "json",
        ],
        &[2],
    );
    let mut files = Vec::new();
    for (name, text) in &docs {
        let v: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            v["schema"].as_str().is_some_and(|s| s.starts_with("netc-")),
            "{name}"
        );
        let f = dir.join(format!("{name}.json"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let validate = |files: &[std::path::PathBuf]| {
        std::process::Command::new(&python)
            .arg(root().join("tests/validate_json.py"))
            .arg(root().join("docs/schemas"))
            .args(files)
            .output()
            .unwrap()
    };
    let o = validate(&files);
    let used = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{used}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for schema in std::fs::read_dir(root().join("docs/schemas")).unwrap() {
        let n = schema
            .unwrap()
            .file_name()
            .to_string_lossy()
            .replace(".schema.json", "/1");
        assert!(
            n == "common/1" || used.lines().any(|l| l == n),
            "{n} is never exercised"
        );
    }
    // A field the schema does not describe is refused (the schemas are closed).
    let mut v: serde_json::Value = serde_json::from_str(&docs[2].1).unwrap();
    v["groups"][0]["surprise"] = serde_json::json!(1);
    let f = dir.join("mutated.json");
    std::fs::write(&f, v.to_string()).unwrap();
    assert!(!validate(&[f]).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netc check --in PLAN FILE...` checks the whole plan the files belong to (as a pre-commit
/// hook passes changed files); a file outside it is refused; a file of a split plan checked
/// alone gets a note that names the plan.
#[test]
fn check_in_a_plan_takes_its_files() {
    let (code, out, _) = netc(&[
        "check",
        "--in",
        "fixtures/datalyptica",
        "fixtures/datalyptica/flows.netc",
        "fixtures/datalyptica/hosts.netc",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("fixtures/datalyptica: 0 errors"), "{out}");
    let (code, _, err) = netc(&[
        "check",
        "--in",
        "fixtures/datalyptica",
        "fixtures/valid/vip-pair/plan.netc",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is not a file of the plan fixtures/datalyptica"),
        "{err}"
    );
    let (code, _, err) = netc(&["check", "fixtures/datalyptica/flows.netc"]);
    assert_eq!(code, 1);
    assert!(
        err.trim_end()
            .ends_with("`netc check --in fixtures/datalyptica fixtures/datalyptica/flows.netc`)"),
        "{err}"
    );
}

/// Diagnostics on a terminal wrap to the terminal's width (read from the terminal, `COLUMNS`
/// unset); `script` gives the command a 60-column pseudo-terminal.
#[test]
fn diagnostics_wrap_to_the_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("NETC_REQUIRE_TOOLS").is_none(),
            "script (util-linux) is needed"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_netc");
    let plan = root().join("fixtures/invalid/E010-duplicate-name/plan.netc");
    let o = std::process::Command::new("script")
        .args([
            "-qc",
            &format!("stty cols 60; {bin} check {}", plan.display()),
            "/dev/null",
        ])
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("E010"), "{text}");
    let widest = text
        .lines()
        .filter(|l| !l.contains("plan.netc:") && !l.contains("errors,"))
        .map(|l| l.trim_end().chars().count())
        .max()
        .unwrap();
    assert!(widest <= 60, "a line of {widest} columns:\n{text}");
    assert!(widest > 40, "{text}");
}

/// Every argument and option of every command says what it takes with an example.
#[test]
fn every_argument_has_an_example() {
    use clap::CommandFactory;
    let cli = netc::cli::Cli::command();
    let mut missing = Vec::new();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version" | "include_from") {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default()
                + &arg
                    .get_long_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
            if !help.contains("e.g.") {
                missing.push(format!("{} {id}", sub.get_name()));
            }
        }
    }
    assert!(missing.is_empty(), "without an example: {missing:#?}");
}

/// The side-by-side bench's converter (benches/to_aerleon.py) runs at a tiny size in every
/// test run, so it cannot rot again (it once indexed hosts by position after `export` had
/// switched to names): a generated plan, exported, converted, compiled by Aerleon's aclgen,
/// and Aerleon's nftables file accepted by `nft -c`.
#[test]
fn the_aerleon_bench_converter_still_converts() {
    let (Some(aclgen), Some(python)) = (
        super::targets::pyenv("aclgen"),
        super::targets::pyenv("python"),
    ) else {
        return;
    };
    if !super::targets::have("nft") || !super::targets::have("unshare") {
        return;
    }
    let dir = root().join("target/it-aerleon");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, plan, err) = netc(&[
        "generate",
        "--flows",
        "60",
        "--hosts",
        "12",
        "--tiers",
        "4",
        "--vlans",
        "2",
        "--services",
        "8",
        "--host-firewall",
        "none",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("plan.netc"), plan).unwrap();
    let (code, export, err) = netc(&["export", dir.join("plan.netc").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut child = std::process::Command::new(&python)
        .arg(root().join("benches/to_aerleon.py"))
        .arg(dir.join("aerleon"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(export.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let aer = dir.join("aerleon");
    std::fs::create_dir_all(aer.join("out")).unwrap();
    let o = std::process::Command::new(&aclgen)
        .current_dir(&aer)
        .args([
            "--base_directory",
            ".",
            "--definitions_directory",
            "def",
            "--output_directory",
            "out",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::read_dir(aer.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "nft"))
        .expect("aclgen wrote an nftables file");
    let text = std::fs::read_to_string(&file).unwrap();
    // One chain per plan rule, each jumped to from the filter.
    let flows = std::fs::read_to_string(dir.join("plan.netc"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("allow ") || l.starts_with("deny "))
        .count();
    assert!(flows > 0);
    for i in 0..flows {
        assert!(
            text.contains(&format!("jump f{i}-")),
            "rule {i} is missing:\n{text}"
        );
    }
    let o = std::process::Command::new("unshare")
        .args(["-rn", "nft", "-c", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Text answers wrap to `COLUMNS` (or the terminal), continuation lines indented; piped with
/// no `COLUMNS` they stay one line per fact, for grep.
#[test]
fn answers_wrap_to_columns_and_not_in_pipes() {
    let q = [
        "query",
        "fixtures/datalyptica",
        "can lb01 reach 10.20.10.11 on tcp/8080",
    ];
    let (_, piped, _) = run_netc(&q);
    assert!(piped.lines().any(|l| l.chars().count() > 100), "{piped}");
    for args in [
        &q[..],
        &["who-can-reach", "fixtures/datalyptica", "pg01"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(args)
            .current_dir(super::root())
            .env("COLUMNS", "60")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 60 || !line.trim().contains(' '),
                "{line:?} in\n{text}"
            );
        }
        // Nothing is lost: the same words in the same order.
        let (_, plain, _) = run_netc(args);
        let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&text), words(&plain));
    }
}

/// In a plan split over files, a mistake with a location in another file reads as one error:
/// the other location is shown as advice, without a code.
#[test]
fn a_second_location_in_another_file_is_not_a_second_error() {
    let dir = super::root().join(format!("target/it-split-e010-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.netc"),
        "vlan 10 app { subnet 10.0.0.0/24 }\ntier web on app\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.netc"), "tier web on app\n").unwrap();
    let (code, _, err) = run_netc(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.matches("netc::E010").count(), 1, "{err}");
    assert!(!err.contains("Error:"), "{err}");
    assert!(
        err.contains("a tier of that name is declared here") && err.contains("a.netc:2:6"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
